"""Every deployment file: it parses, the expected ones exist, and none holds a password or credentials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.deploy.files import (
    DEPLOY, K8S, OPERATIONS, ROOT, cli_root, command_exists, compose, is_group, load_all, load_one, setting_names,
    walk, yaml_files,
)


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
