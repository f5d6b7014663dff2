"""deploy/Dockerfile and its .dockerignore: base, install, user, health check, entrypoint and command."""

from __future__ import annotations

import json
import re
import tomllib

from tests.unit.deploy.files import (
    DEPLOY, ROOT, command_exists, dockerfile_instructions, final_stage, setting_names,
)


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
    health_port = re.search(r"BUNKER_WORKER_HEALTH_PORT=(\d+)", env).group(1)
    assert health_port in stage["EXPOSE"].split() and health_port != port
    assert "BUNKER_WORKER_HEALTH_HOST=0.0.0.0" in env
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
