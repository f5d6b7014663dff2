"""The production deployment files (deploy/, docs/operations.md), checked by structure.

Nothing here starts a container or a cluster (there is neither on a developer's machine or in CI): the
files are parsed and held to what the program and the operations page rely on — services and start
order, health checks and probes, security contexts, the custom search attributes Temporal must know,
the settings the program reads, and no password written in any file.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
import typer
import yaml
from pydantic import AliasChoices

from bunker.cli import app as cli_app
from bunker.settings import Settings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
HEALTHCHECK = DEPLOY / "healthcheck.py"
OPERATIONS = ROOT / "docs" / "operations.md"

# Keys of the k8s/ directory that are not kustomize resources.
NOT_RESOURCES = {"kustomization.yaml", "temporal-values.yaml", "secret.example.yaml"}
# ConfigMap keys read by the search-attributes job, not by the program.
JOB_ONLY_SETTINGS = {"TEMPORAL_NAMESPACE_RETENTION"}


# ------------------------------------------------------------------------------------------- helpers
def load_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def load_one(path: Path) -> Any:
    docs = load_all(path)
    assert len(docs) == 1, f"{path.name}: expected one YAML document, found {len(docs)}"
    return docs[0]


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """Every (path, key, value) of a parsed YAML tree; list items have their index as key."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", k, v
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield f"{path}[{i}]", i, v
            yield from walk(v, f"{path}[{i}]")


def cli_root() -> Any:
    """The `bunker` command as typer builds it (typer 0.29 vendors click: test for groups by shape)."""
    return typer.main.get_command(cli_app)


def is_group(cmd: Any) -> bool:
    return isinstance(getattr(cmd, "commands", None), dict)


def command_exists(words: list[str]) -> bool:
    """`words` (after `bunker`) start with an existing command (and sub-command, for a group)."""
    cmd = cli_root()
    for word in words:
        if not is_group(cmd):
            return True
        if word not in cmd.commands:
            return False
        cmd = cmd.commands[word]
    return not is_group(cmd)


def setting_names() -> set[str]:
    """The environment variables bunker.settings.Settings reads."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def expected_search_attributes() -> dict[str, str]:
    """NAME -> `temporal` CLI type of every key in workflows.search_attributes.ALL (the single source,
    which also configures the dev server)."""

    def cli_type(key) -> str:  # INDEXED_VALUE_TYPE_KEYWORD_LIST -> KeywordList
        raw = key.indexed_value_type.name.removeprefix("INDEXED_VALUE_TYPE_")
        return "".join(part.capitalize() for part in raw.split("_"))

    expected = {key.name: cli_type(key) for key in search_attributes.ALL}
    assert len(expected) == len(search_attributes.ALL), "a name is used twice"
    args = search_attributes.dev_server_args()
    assert dict(a.split("=", 1) for a in args[1::2]) == expected, "the dev server registers other types"
    return expected


ENSURE = re.compile(r"^\s*ensure\s+(\w+)\s+(\w+)\s*$", re.MULTILINE)


def registered_by(script: str) -> dict[str, str]:
    found = ENSURE.findall(script)
    assert len(found) == len(dict(found)), "an attribute is registered twice"
    return dict(found)


def compose() -> dict:
    return load_one(COMPOSE)


def services() -> dict[str, dict]:
    return compose()["services"]


def default_of(value: str) -> str:
    """A compose value with `${VAR:-default}` replaced by its default (what runs without overrides)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def is_bunker_service(svc: dict) -> bool:
    return "build" in svc


def k8s_docs() -> list[tuple[str, dict]]:
    kust = load_one(K8S / "kustomization.yaml")
    return [(name, doc) for name in kust["resources"] for doc in load_all(K8S / name)]


def k8s_kind(kind: str) -> list[tuple[str, dict]]:
    return [(f, d) for f, d in k8s_docs() if d["kind"] == kind]


def pod_spec(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def configmap() -> dict:
    return load_one(K8S / "configmap.yaml")


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not buf):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


# ------------------------------------------------------------------------------------ every file
def test_the_cli_can_be_introspected() -> None:
    root = cli_root()
    assert is_group(root) and {"worker", "gateway", "migrate"} <= set(root.commands)
    assert not command_exists(["no-such-command"]) and not command_exists(["audit", "no-such-command"])
    assert not command_exists(["audit"]), "a group alone is not a command"


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    assert all(isinstance(d, dict) for d in docs)


def test_the_expected_files_exist() -> None:
    for name in ["Dockerfile", "Dockerfile.dockerignore", "healthcheck.py", "compose.yaml", "env.example",
                 "k8s/temporal-values.yaml", "k8s/namespace.yaml", "k8s/configmap.yaml",
                 "k8s/secret.example.yaml", "k8s/worker.yaml", "k8s/gateway.yaml", "k8s/migrate-job.yaml",
                 "k8s/search-attributes-job.yaml", "k8s/kustomization.yaml"]:
        assert (DEPLOY / name).is_file(), name
    assert OPERATIONS.is_file()


# ---------------------------------------------------------------------------------------- secrets
PASSWORD_KEY = re.compile(r"(?i)(^|_)(password|passwd|pwd)$")
REQUIRED_INTERPOLATION = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")
PLACEHOLDER = re.compile(r"CHANGE_ME|<[^<>]+>|…")
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:(\$\{[^}]*\}|[^\s@'\"/]+)@")


def secret_files() -> list[Path]:
    # deploy/.env is the operator's real, git-ignored password file: not ours to check
    files = [p for p in DEPLOY.rglob("*") if p.is_file() and p.name not in {".gitignore", ".env"}
             and "__pycache__" not in p.parts]
    return sorted(files) + [OPERATIONS]


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_no_password_value_in_yaml(path: Path) -> None:
    for doc in load_all(path):
        for where, key, value in walk(doc):
            if isinstance(key, str) and PASSWORD_KEY.search(key) and value not in (None, ""):
                assert isinstance(value, str) and (REQUIRED_INTERPOLATION.match(value) or PLACEHOLDER.search(value)), (
                    f"{path.name}{where}: a password must come from `${{VAR:?…}}` or be a placeholder, "
                    f"not {value!r}")


@pytest.mark.parametrize("path", secret_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_credentials_in_any_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "PRIVATE KEY-----" not in text
    for m in URL_CREDENTIALS.finditer(text):
        password = m.group(1)
        assert password.startswith("${") or PLACEHOLDER.search(password), (
            f"{path.name}: credentials in a URL: {m.group(0)!r}")
    for line in text.splitlines():
        m = re.match(r"^\s*#?\s*([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m and PASSWORD_KEY.search(m.group(1)):
            assert m.group(2).strip() in {"", "''", '""'} or PLACEHOLDER.search(m.group(2)), (
                f"{path.name}: {m.group(1)} has a value")


def test_the_secret_example_is_a_placeholder_and_not_applied() -> None:
    secret = load_one(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert all("CHANGE_ME" in v for v in secret["stringData"].values())
    assert set(secret["stringData"]) <= setting_names()
    assert "kubectl" in (K8S / "secret.example.yaml").read_text(encoding="utf-8")
    assert "secret.example.yaml" not in load_one(K8S / "kustomization.yaml")["resources"]


def test_the_real_env_file_is_git_ignored() -> None:
    assert ".env" in (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    required = {name for _, _, value in walk(compose()) if isinstance(value, str)
                for name in re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", value)}
    assert required == {"APP_DB_PASSWORD", "TEMPORAL_DB_PASSWORD"}
    for name in required:
        assert re.search(rf"^{name}=$", example, re.MULTILINE), f"env.example lacks {name}="


# ---------------------------------------------------------------------------------------- compose
COMPOSE_SERVICES = {"temporal", "temporal-ui", "temporal-db", "app-db", "worker", "gateway", "migrate",
                    "search-attributes"}
SERVING = {"temporal", "temporal-ui", "temporal-db", "app-db", "gateway", "worker"}


def test_compose_has_every_service() -> None:
    assert COMPOSE_SERVICES <= set(services())


def test_compose_serving_services_have_health_checks() -> None:
    for name in SERVING:
        check = services()[name].get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}


def test_compose_bunker_health_checks_match_their_role() -> None:
    for name in ("worker", "gateway"):
        svc = services()[name]
        assert svc["healthcheck"]["test"] == ["CMD", "bunker-healthcheck", svc["command"][0]]


def test_compose_one_shot_jobs_do_not_restart() -> None:
    for name in ("temporal-schema", "search-attributes", "migrate"):
        assert services()[name]["restart"] == "no", name


def test_compose_depends_on_conditions() -> None:
    svcs = services()
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        assert isinstance(deps, dict), f"{name}: depends_on needs conditions (long form)"
        for dep, spec in deps.items():
            assert dep in svcs, f"{name} depends on unknown {dep}"
            if svcs[dep].get("restart") == "no":
                assert spec["condition"] == "service_completed_successfully", f"{name} -> {dep}"
            else:
                assert spec["condition"] == "service_healthy", f"{name} -> {dep}"
                assert svcs[dep].get("healthcheck", {}).get("test"), f"{name} waits on {dep}, which has no check"
    edges = {
        "temporal-schema": {"temporal-db"},
        "temporal": {"temporal-schema"},
        "temporal-ui": {"temporal"},
        "search-attributes": {"temporal"},
        "migrate": {"app-db"},
        "worker": {"temporal", "search-attributes", "migrate"},
        "gateway": {"temporal", "search-attributes", "migrate"},
    }
    for name, needs in edges.items():
        assert needs <= set(svcs[name].get("depends_on", {})), f"{name} must wait for {needs}"


def test_compose_workers_and_gateway() -> None:
    svcs = services()
    assert svcs["worker"]["deploy"]["replicas"] == 2
    assert "container_name" not in svcs["worker"], "replicas cannot share a container name"
    assert any(str(p).endswith(":8000") for p in svcs["gateway"]["ports"])


def test_compose_bunker_services_run_existing_commands_with_known_settings() -> None:
    known = setting_names()
    ours = {name: svc for name, svc in services().items() if is_bunker_service(svc)}
    assert set(ours) == {"migrate", "worker", "gateway"}
    for name, svc in ours.items():
        assert svc["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (DEPLOY / svc["build"]["context"] / svc["build"]["dockerfile"]).resolve() == DOCKERFILE
        assert svc["command"] == [name]
        assert command_exists(svc["command"]), f"`bunker {name}` is not a command"
        env = svc["environment"]
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
        assert re.fullmatch(r"postgresql://bunker:\$\{APP_DB_PASSWORD:\?[^}]*\}@app-db:5432/bunker",
                            env["DATABASE_URL"])
        assert svc["read_only"] is True and "/tmp" in svc["tmpfs"]


def test_compose_images_are_pinned() -> None:
    for name, svc in services().items():
        image = default_of(svc["image"])
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest" and "/" not in tag, f"{name}: unpinned image {image}"


def test_compose_named_volumes_and_bind_mounts_exist() -> None:
    doc = compose()
    declared = set(doc.get("volumes") or {})
    for name, svc in doc["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared, f"{name}: volume {source} is not declared"
    for db in ("temporal-db", "app-db"):
        data = [v for v in doc["services"][db]["volumes"] if v.endswith(":/var/lib/postgresql/data")]
        assert data and data[0].split(":")[0] in declared, f"{db} must keep its data in a named volume"


def test_compose_temporal_uses_postgres_and_the_dynamic_config_file() -> None:
    temporal = services()["temporal"]
    env = temporal["environment"]
    assert env["DB"] == "postgres12"
    assert env["POSTGRES_SEEDS"] == "temporal-db"
    assert services()["temporal-db"]["environment"]["POSTGRES_USER"] == env["POSTGRES_USER"]
    path = env["DYNAMIC_CONFIG_FILE_PATH"]
    mounts = [v.split(":") for v in temporal["volumes"]]
    host = next(DEPLOY / src / Path(path).relative_to(dst) for src, dst, *_ in mounts if path.startswith(dst + "/"))
    assert host.is_file(), f"{path} is not mounted from deploy/"
    helm = load_one(K8S / "temporal-values.yaml")["server"]["dynamicConfig"]
    assert load_one(host) == helm, "compose and Helm dynamic config differ"
    assert load_one(host)["frontend.enableUpdateWorkflowExecution"][0]["value"] is True


INTERPOLATION = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?[-?+][^}]*)?\}")


def test_compose_dollar_signs_are_escaped_or_valid_interpolations() -> None:
    for where, _, value in walk(compose()):
        if isinstance(value, str):
            rest = INTERPOLATION.sub("", value.replace("$$", ""))
            assert "$" not in rest, f"compose.yaml{where}: a lone `$` (write `$$` for the shell)"


# ------------------------------------------------------------------------------- search attributes
def compose_search_attribute_script() -> str:
    svc = services()["search-attributes"]
    assert svc["image"].startswith("temporalio/admin-tools:")
    assert svc["entrypoint"] == ["/bin/sh", "-c"]
    command = svc["command"]
    return (command[0] if isinstance(command, list) else command).replace("$$", "$")


def k8s_search_attribute_script() -> str:
    (job,) = [d for f, d in k8s_kind("Job") if d["metadata"]["name"] == "bunker-search-attributes"]
    (container,) = pod_spec(job)["containers"]
    assert container["image"].startswith("temporalio/admin-tools:")
    assert container["command"] == ["/bin/sh", "-c"]
    return container["args"][0]


def test_compose_job_registers_every_search_attribute() -> None:
    assert registered_by(compose_search_attribute_script()) == expected_search_attributes()


def test_k8s_job_registers_every_search_attribute() -> None:
    assert registered_by(k8s_search_attribute_script()) == expected_search_attributes()


def test_both_jobs_run_the_same_tolerant_script() -> None:
    script = k8s_search_attribute_script()
    assert compose_search_attribute_script().rstrip() == script.rstrip()
    assert "temporal operator search-attribute create" in script
    assert "temporal operator search-attribute list" in script  # the fallback for an existing attribute
    assert "temporal operator namespace create" in script
    # Kubernetes expands $(VAR) and turns $$ into $ in args: the script must use neither.
    assert "$$" not in script
    assert not re.search(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", script)


# ------------------------------------------------------------------------------------- kubernetes
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
            if container.get("ports"):
                assert container.get("readinessProbe"), f"{name}: serves but has no readiness probe"


def test_k8s_worker_probe_is_a_process_check() -> None:
    (worker,) = [d for _, d in k8s_kind("Deployment") if d["metadata"]["name"] == "bunker-worker"]
    (container,) = pod_spec(worker)["containers"]
    assert container["args"] == ["worker"]
    assert container["livenessProbe"]["exec"]["command"] == ["bunker-healthcheck", "worker"]


def test_k8s_gateway_probes_and_service() -> None:
    (gateway,) = [d for _, d in k8s_kind("Deployment") if d["metadata"]["name"] == "bunker-gateway"]
    (container,) = pod_spec(gateway)["containers"]
    assert container["args"] == ["gateway"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["readinessProbe"]["httpGet"]["port"] in ports
    assert ports["http"] == int(configmap()["data"]["BUNKER_GATEWAY_PORT"])
    (service,) = [d for _, d in k8s_kind("Service")]
    assert service["spec"]["selector"].items() <= gateway["spec"]["template"]["metadata"]["labels"].items()
    assert all(p["targetPort"] in ports or p["targetPort"] in ports.values() for p in service["spec"]["ports"])


def workloads() -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], d) for _, d in k8s_docs() if d["kind"] in {"Deployment", "Job"}]


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


# ------------------------------------------------------------------------------------- Dockerfile
def test_dockerfile_base_and_install() -> None:
    instructions = dockerfile_instructions()
    args = {}
    for word, rest in instructions:
        if word == "FROM":
            break
        if word == "ARG" and "=" in rest:
            k, v = rest.split("=", 1)
            args[k] = v
    for word, rest in instructions:
        if word == "FROM":
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
            assert image.startswith("python:3.11-slim"), image
    runs = " ".join(rest for word, rest in instructions if word == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs)


def test_dockerfile_runs_as_non_root() -> None:
    users = [rest for word, rest in final_stage() if word == "USER"]
    assert users, "the final stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert not user.isdigit() or int(user) != 0


def test_dockerfile_healthcheck_entrypoint_and_command() -> None:
    stage = dict((word, rest) for word, rest in final_stage())
    healthcheck = stage["HEALTHCHECK"]
    exec_form = json.loads(healthcheck[healthcheck.index("CMD") + 3:].strip())
    assert exec_form == ["bunker-healthcheck", "gateway"]
    assert json.loads(stage["ENTRYPOINT"]) == ["bunker"]
    assert "bunker" in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    command = json.loads(stage["CMD"])
    assert command == ["gateway"] and command_exists(command)
    env = " ".join(rest for word, rest in final_stage() if word == "ENV")
    port = re.search(r"BUNKER_GATEWAY_PORT=(\d+)", env).group(1)
    assert stage["EXPOSE"].split()[0] == port
    assert "BUNKER_GATEWAY_HOST=0.0.0.0" in env
    assert set(re.findall(r"(BUNKER_\w+)=", env)) <= setting_names()


def test_dockerfile_copies_every_package_and_the_context_allows_it() -> None:
    copies = []
    for word, rest in dockerfile_instructions():
        if word == "COPY" and "--from" not in rest:
            parts = [p for p in rest.split() if not p.startswith("--")]
            copies += parts[:-1]
    for source in copies:
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= {c.rstrip("/") for c in copies}, "the Dockerfile misses a package pyproject installs"
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split("\n")
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert ignore[[i for i, line in enumerate(ignore) if line and not line.startswith("#")][0]] == "*"
    for source in copies:
        assert source.rstrip("/") in allowed, f"Dockerfile.dockerignore excludes COPY {source}"


# ------------------------------------------------------------------------------ the health check
def run_healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def fake_gateway():
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(state["status"] if self.path == "/healthz" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], state
    server.shutdown()
    server.server_close()


def test_healthcheck_gateway_asks_healthz(fake_gateway) -> None:
    port, state = fake_gateway
    assert run_healthcheck("gateway", BUNKER_GATEWAY_PORT=str(port)).returncode == 0
    state["status"] = 503
    result = run_healthcheck("gateway", BUNKER_GATEWAY_PORT=str(port))
    assert result.returncode == 1 and "503" in result.stderr


def test_healthcheck_gateway_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert run_healthcheck("gateway", BUNKER_GATEWAY_PORT=str(port), BUNKER_HEALTHCHECK_TIMEOUT="2").returncode == 1


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_healthcheck_worker_checks_the_process() -> None:
    sleeper = "import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", sleeper, "worker"])
    other = subprocess.Popen([sys.executable, "-c", sleeper, "gateway"])
    try:
        assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(worker.pid)).returncode == 0
        assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(other.pid)).returncode == 1
    finally:
        worker.kill()
        other.kill()
        worker.wait()
        other.wait()
    assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(worker.pid)).returncode == 1


def test_healthcheck_usage_is_unhealthy_not_reserved() -> None:
    assert run_healthcheck().returncode == 1  # Docker reserves exit status 2


# ------------------------------------------------------------------------------ operations page
def test_operations_page_names_existing_commands() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    uses = re.findall(r"(?:^|`|--\s|\$\s)bunker[ \t]+([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*))?", text, re.MULTILINE)
    assert len(uses) >= 8
    for first, second in uses:
        words = [first] + ([second] if second else [])
        group = cli_root().commands.get(first)
        assert group is not None, f"operations.md: `bunker {first}` is not a command"
        if is_group(group):
            assert command_exists(words), f"operations.md: `bunker {' '.join(words)}` is not a command"
    for needed in ["bunker worker", "bunker gateway", "bunker migrate", "bunker holidays load",
                   "bunker principals add", "bunker principals revoke", "bunker audit verify",
                   "workflow.patched", "workflow.deprecate_patch", "BUNKER_RECORD_HISTORIES=1 make test",
                   "pg_dump"]:
        assert needed in text, needed


def test_operations_page_names_existing_files() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    for path in set(re.findall(r"\b((?:deploy|docs|tests|store|workflows)/[\w./-]*[\w/])", text)):
        if path == "deploy/.env" or path.startswith("deploy/bunker-"):
            continue  # made by the operator from deploy/env.example; `kubectl … deploy/NAME`
        assert (ROOT / path).exists(), f"operations.md names {path}, which does not exist"
