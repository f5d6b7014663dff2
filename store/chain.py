"""The hash chain that makes tampering with a stored event evident.

Each row's hash covers its own content and the previous row's hash in the same stream, so changing,
removing or reordering any row breaks every link after it. Canonical JSON (sorted keys, no spaces,
UTC timestamps with microseconds) makes the hash independent of how PostgreSQL hands the row back.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def row_hash(
    prev_hash: bytes | None,
    *,
    stream_id: str,
    version: int,
    event_type: str,
    article: str,
    actor: str,
    payload: Any,
    occurred_at: datetime,
    recorded_at: datetime,
) -> bytes:
    body = canonical_json(
        {
            "stream_id": stream_id,
            "version": version,
            "event_type": event_type,
            "article": article,
            "actor": actor,
            "payload": payload,
            "occurred_at": _ts(occurred_at),
            "recorded_at": _ts(recorded_at),
        }
    )
    return hashlib.sha256((prev_hash or b"") + body.encode("utf-8")).digest()
