"""deploy/k8s/: the kustomization, deployments and their probes, jobs, security contexts, resources, the
ConfigMap's settings, and Temporal's Helm values."""

from __future__ import annotations

from bunker.settings import Settings
from gateway.app import Resources, create_app
from tests.unit.deploy.files import (
    K8S, NOT_RESOURCES, JOB_ONLY_SETTINGS, command_exists, configmap, deployment, k8s_docs, k8s_kind, load_one,
    pod_spec, setting_names, workloads,
)
from workers.health import WorkerState, health_app


def test_kustomization_lists_every_manifest_and_only_existing_files() -> None:
    resources = load_one(K8S / "kustomization.yaml")["resources"]
    assert len(resources) == len(set(resources))
    for name in resources:
        assert (K8S / name).is_file(), name
    manifests = {p.name for p in K8S.glob("*.yaml")} - NOT_RESOURCES
    assert set(resources) == manifests


def test_k8s_documents_have_kind_and_name() -> None:
    for f, doc in k8s_docs():
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), f


def test_k8s_deployments() -> None:
    deployments = {d["metadata"]["name"]: d for _, d in k8s_kind("Deployment")}
    assert set(deployments) == {"bunker-worker", "bunker-gateway"}
    assert deployments["bunker-worker"]["spec"]["replicas"] == 2
    for name, dep in deployments.items():
        assert dep["spec"]["replicas"] >= 2, name
        labels = dep["spec"]["template"]["metadata"]["labels"]
        assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        for container in pod_spec(dep)["containers"]:
            assert container.get("livenessProbe"), f"{name}: no liveness probe"
            assert container.get("readinessProbe"), f"{name}: no readiness probe"


def probe_paths(container: dict) -> dict[str, tuple[str, int]]:
    """kind of probe -> (path, container port) of its httpGet."""
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    out = {}
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in container:
            get = container[kind]["httpGet"]
            out[kind] = (get["path"], ports[get["port"]] if isinstance(get["port"], str) else get["port"])
    return out


def test_k8s_liveness_asks_only_the_process_and_readiness_the_servers() -> None:
    """Liveness restarts: it must not fail for an outage of Temporal or PostgreSQL, which a restart does not
    cure (/livez asks nothing else). Readiness is what depends on them."""
    for name in ("bunker-worker", "bunker-gateway"):
        (container,) = pod_spec(deployment(name))["containers"]
        paths = probe_paths(container)
        assert paths["livenessProbe"][0] == "/livez", name
        assert paths["readinessProbe"][0] == "/readyz", name
        assert paths.get("startupProbe", ("/livez",))[0] == "/livez", name
        liveness = container["livenessProbe"]
        assert liveness["timeoutSeconds"] >= 2 and liveness["failureThreshold"] >= 3, name


def test_k8s_worker_probes_its_health_endpoint() -> None:
    (container,) = pod_spec(deployment("bunker-worker"))["containers"]
    assert container["args"] == ["worker"]
    data = configmap()["data"]
    port = int(data["BUNKER_WORKER_HEALTH_PORT"])
    assert port and data["BUNKER_WORKER_HEALTH_HOST"] == "0.0.0.0"  # the kubelet probes the pod's IP
    assert {p for _, p in probe_paths(container).values()} == {port}
    assert [p["name"] for p in container["ports"]] == ["health"]


def test_k8s_gateway_probes_and_service() -> None:
    gateway = deployment("bunker-gateway")
    (container,) = pod_spec(gateway)["containers"]
    assert container["args"] == ["gateway"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == int(configmap()["data"]["BUNKER_GATEWAY_PORT"])
    assert {p for _, p in probe_paths(container).values()} == {ports["http"]}
    assert "startupProbe" in container  # it listens only once Temporal and PostgreSQL were reached
    (service,) = [d for _, d in k8s_kind("Service")]
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    assert all(p["targetPort"] in ports or p["targetPort"] in ports.values() for p in service["spec"]["ports"])


def test_k8s_probe_paths_are_served_by_the_role_they_probe() -> None:
    gateway_paths = set(create_app(Resources(settings=Settings())).openapi()["paths"])
    worker_paths = {r.path for r in health_app(WorkerState(task_queue="q")).routes}
    served = {"bunker-gateway": gateway_paths, "bunker-worker": worker_paths}
    for name, paths in served.items():
        (container,) = pod_spec(deployment(name))["containers"]
        for kind, (path, _) in probe_paths(container).items():
            assert path in paths, f"{name}: {kind} asks {path}, which the {name} does not serve"


def test_k8s_workloads_run_as_non_root_with_a_read_only_root() -> None:
    for name, doc in workloads():
        spec = pod_spec(doc)
        pod = spec.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True, name
        assert pod.get("runAsUser", 0) != 0, name
        assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        mounts_tmp = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert any(m["mountPath"] == "/tmp" and m["name"] in mounts_tmp
                       for m in container.get("volumeMounts", [])), f"{name}: no writable /tmp"


def test_k8s_workloads_have_resources() -> None:
    for name, doc in workloads():
        for container in pod_spec(doc)["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name


def test_k8s_bunker_containers_run_existing_commands_with_known_settings() -> None:
    kust = load_one(K8S / "kustomization.yaml")
    images = {i["name"]: i for i in kust["images"]}
    assert images["bunker"]["newTag"] and images["bunker"]["newTag"] != "latest"
    config_names = {d["metadata"]["name"] for _, d in k8s_kind("ConfigMap")}
    secret_name = load_one(K8S / "secret.example.yaml")["metadata"]["name"]
    data = configmap()["data"]
    assert set(data) <= setting_names() | JOB_ONLY_SETTINGS, set(data) - setting_names() - JOB_ONLY_SETTINGS
    assert data["TEMPORAL_ADDRESS"] and data["BUNKER_GATEWAY_HOST"] == "0.0.0.0"
    ours = [(n, c, pod_spec(d)) for n, d in workloads() for c in pod_spec(d)["containers"] if c["image"] == "bunker"]
    assert {n for n, *_ in ours} == {"bunker-worker", "bunker-gateway", "bunker-migrate"}
    for name, container, _ in ours:
        assert command_exists(container["args"]), f"{name}: `bunker {' '.join(container['args'])}`"
        refs = container["envFrom"]
        assert {r["configMapRef"]["name"] for r in refs if "configMapRef" in r} <= config_names
        assert {r["secretRef"]["name"] for r in refs if "secretRef" in r} == {secret_name}
    for name, doc in workloads():
        for container in pod_spec(doc)["containers"]:
            image = container["image"]
            if image not in images:
                repo, _, tag = image.rpartition(":")
                assert repo and tag and tag != "latest", f"{name}: unpinned image {image}"
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("configMapKeyRef")
                if ref:
                    assert ref["name"] in config_names and ref["key"] in data, f"{name}: {ref}"


def test_k8s_jobs() -> None:
    jobs = {d["metadata"]["name"]: d for _, d in k8s_kind("Job")}
    assert set(jobs) == {"bunker-migrate", "bunker-search-attributes"}
    (migrate,) = pod_spec(jobs["bunker-migrate"])["containers"]
    assert migrate["args"] == ["migrate"]
    for name, job in jobs.items():
        assert pod_spec(job)["restartPolicy"] in {"Never", "OnFailure"}, name
        assert job["spec"]["backoffLimit"] >= 1, name


def test_temporal_helm_values() -> None:
    values = load_one(K8S / "temporal-values.yaml")
    # chart >= 1.0 has no sub-charts and fails on these top-level keys: Elasticsearch stays off by absence
    assert not {"elasticsearch", "cassandra", "mysql", "postgresql", "prometheus", "grafana"} & set(values)
    persistence = values["server"]["config"]["persistence"]
    stores = persistence["datastores"]
    assert set(stores) == {persistence["defaultStore"], persistence["visibilityStore"]}
    for name, store in stores.items():
        assert set(store) == {"sql"}, f"{name}: only SQL (no elasticsearch)"
        sql = store["sql"]
        assert sql["pluginName"] == "postgres12", name
        assert "password" not in sql and sql["existingSecret"], f"{name}: password from a Secret"
        assert sql["manageSchema"] is True
    assert {s["sql"]["databaseName"] for s in stores.values()} == {"temporal", "temporal_visibility"}
    assert values["web"]["enabled"] is True
    assert values["admintools"]["enabled"] is True
    namespaces = values["server"]["config"]["namespaces"]
    assert namespaces["create"] is True
    assert configmap()["data"]["TEMPORAL_NAMESPACE"] in {n["name"] for n in namespaces["namespace"]}
