"""Text the store can keep: PostgreSQL refuses the NUL character (U+0000) in text and jsonb.

The gateway refuses it at the edge (gateway/nul.py); this is the same rule for every other way in (the
CLI's files, scenarios, a Temporal client sending an update), checked where the models are validated, so
a NUL never reaches a workflow whose events could then not be recorded.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Where `value` (raw input: dicts, lists, strings) holds a NUL, as dotted paths ('enterprise.name')."""
    if isinstance(value, str):
        return [path or "(value)"] if NUL in value else []
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            key = str(k)
            here = f"{path}.{key}" if path else key
            if NUL in key:
                found.append(here)
            found += nul_paths(v, here)
        return found
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in nul_paths(v, f"{path}.{i}" if path else str(i))]
    return []


def refuse_nul(data: Any) -> Any:
    """A `model_validator(mode="before")`: raw input with a NUL anywhere is refused, naming where."""
    paths = nul_paths(data)
    if paths:
        raise ValueError(f"the NUL character (U+0000) cannot be stored; found in {', '.join(paths[:5])}")
    return data
