"""docs/operations.md names only commands and files that exist, and covers what operators need."""

from __future__ import annotations

import re

from tests.unit.deploy.files import OPERATIONS, ROOT, cli_root, command_exists, is_group


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
