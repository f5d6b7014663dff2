"""Text the store can keep: PostgreSQL refuses the NUL character (U+0000) in text and jsonb, and text that
is not valid UTF-8 (a lone surrogate, which JSON can spell as "\ud800").

The gateway refuses NUL at the edge (gateway/nul.py); this is the same rule for every other way in (the
CLI's files, scenarios, a Temporal client sending an update), checked where the models are validated, so
such text never reaches a workflow whose events could then not be recorded.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"


def storable(text: str) -> bool:
    if NUL in text:
        return False
    try:
        text.encode("utf-8")  # C speed; fails only on a lone surrogate
    except UnicodeEncodeError:
        return False
    return True


def nul_paths(value: Any, path: str = "") -> list[str]:
    """Where `value` (raw input: dicts, lists, strings) holds text the store cannot keep (a NUL, a lone
    surrogate), as dotted paths ('enterprise.name')."""
    if isinstance(value, str):
        return [] if storable(value) else [path or "(value)"]
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            key = str(k)
            here = f"{path}.{key}" if path else key
            if not storable(key):
                found.append(here)
            found += nul_paths(v, here)
        return found
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in nul_paths(v, f"{path}.{i}" if path else str(i))]
    return []


def refuse_nul(data: Any) -> Any:
    """A `model_validator(mode="before")`: raw input with a NUL (or a lone surrogate) anywhere is refused,
    naming where."""
    paths = nul_paths(data)
    if paths:
        raise ValueError("the NUL character (U+0000) and lone surrogates (U+D800-U+DFFF) cannot be stored; "
                         f"found in {', '.join(paths[:5])}")
    return data
