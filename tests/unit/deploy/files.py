"""What the deploy tests share: where the files are, how to parse them, what the program reads.

Nothing here starts a container or a cluster (there is neither on a developer's machine or in CI): the
files are parsed and held to what the program and the operations page rely on — services and start
order, health checks and probes, security contexts, the custom search attributes Temporal must know,
the settings the program reads, and no password written in any file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import typer
import yaml
from pydantic import AliasChoices

from bunker.cli import app as cli_app
from bunker.settings import Settings
from workflows import search_attributes

ROOT = Path(__file__).resolve().parents[3]
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


def workloads() -> list[tuple[str, dict]]:
    return [(d["metadata"]["name"], d) for _, d in k8s_docs() if d["kind"] in {"Deployment", "Job"}]


def deployment(name: str) -> dict:
    (found,) = [d for _, d in k8s_kind("Deployment") if d["metadata"]["name"] == name]
    return found


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
