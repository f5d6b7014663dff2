"""deploy/compose.yaml: the services, their start order and health checks, pinned images, known settings."""

from __future__ import annotations

import re
from pathlib import Path

from tests.unit.deploy.files import (
    DEPLOY, DOCKERFILE, K8S, command_exists, compose, default_of, is_bunker_service, load_one, services,
    setting_names, walk,
)


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


def test_compose_worker_check_reads_its_health_endpoint_not_the_process() -> None:
    # With a port, `bunker-healthcheck worker` asks the worker's /readyz; without, it could only see the process.
    env = services()["worker"]["environment"]
    assert int(env["BUNKER_WORKER_HEALTH_PORT"]) > 0
    assert "ports" not in services()["worker"], "the health port is for the check inside the container"


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
