"""Append-only event store on PostgreSQL (asyncpg), with the permit read model beside it.

Appends are idempotent: a retried activity re-sends the same events for the same versions, and an
identical row already stored is taken as success. A *different* event at a taken version is a real
conflict (two writers on one stream) and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Sequence

import asyncpg
from pydantic_core import to_jsonable_python

from domain.events import DomainEvent
from domain.status import StatusSnapshot
from store.chain import canonical_json, row_hash


class ConcurrencyConflict(RuntimeError):
    """Another event already holds this (stream, version): the writer's view of the stream is stale."""


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream_id: str
    version: int
    event_type: str
    article: str
    actor: str
    payload: dict[str, Any]
    occurred_at: datetime
    recorded_at: datetime
    prev_hash: bytes | None
    hash: bytes


@dataclass(frozen=True)
class BrokenLink:
    stream_id: str
    version: int
    position: int
    reason: str


_COLUMNS = "position, stream_id, version, event_type, article, actor, payload, occurred_at, recorded_at, prev_hash, hash"


def _stored(r: asyncpg.Record) -> StoredEvent:
    return StoredEvent(**dict(r))


async def append(
    pool: asyncpg.Pool,
    stream_id: str,
    first_version: int,
    events: Sequence[DomainEvent],
    snapshot: StatusSnapshot | None = None,
) -> int:
    """Store `events` as versions first_version, first_version+1, …; returns how many were new."""
    new_rows: list[tuple] = []
    async with pool.acquire() as conn, conn.transaction():
        # One writer per stream at a time (a retried append may overlap the attempt it retries); other
        # streams go on in parallel.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", stream_id)
        last = await conn.fetchrow(
            "SELECT version, hash FROM events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1", stream_id
        )
        last_version, prev = (last["version"], last["hash"]) if last else (0, None)
        for offset, ev in enumerate(events):
            version = first_version + offset
            payload = to_jsonable_python(ev.data)
            if version <= last_version:
                await _check_same(conn, stream_id, version, ev, payload)
                continue
            if version != last_version + 1:
                raise ConcurrencyConflict(f"{stream_id}: version {version} would leave a gap after {last_version}")
            recorded_at = datetime.now(UTC)
            h = row_hash(
                prev, stream_id=stream_id, version=version, event_type=ev.type.value, article=ev.article,
                actor=ev.actor, payload=payload, occurred_at=ev.occurred_at, recorded_at=recorded_at,
            )
            new_rows.append((stream_id, version, ev.type.value, ev.article, ev.actor, payload,
                             ev.occurred_at, recorded_at, prev, h))
            last_version, prev = version, h
        if snapshot is not None and events:
            # The snapshot belongs to the last event of *this* request, which may be an old retry.
            await _project(conn, stream_id, first_version + len(events) - 1, snapshot)
        if new_rows:
            # Position order must equal commit order, or a reader tailing by position could skip an event
            # that commits late. The exclusive lock serialises the inserts of all streams (readers are not
            # blocked); it is taken last, so it is held only for the insert and the commit.
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            await conn.executemany(
                """INSERT INTO events (stream_id, version, event_type, article, actor, payload,
                                       occurred_at, recorded_at, prev_hash, hash)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
                new_rows,
            )
    return len(new_rows)


async def _check_same(conn: asyncpg.Connection, stream_id: str, version: int, ev: DomainEvent, payload: Any) -> None:
    row = await conn.fetchrow(
        "SELECT event_type, payload, occurred_at FROM events WHERE stream_id = $1 AND version = $2",
        stream_id, version,
    )
    same = (
        row is not None
        and row["event_type"] == ev.type.value
        and row["occurred_at"] == ev.occurred_at
        and canonical_json(row["payload"]) == canonical_json(payload)
    )
    if not same:
        raise ConcurrencyConflict(f"{stream_id}: version {version} already holds a different event")


async def _project(conn: asyncpg.Connection, stream_id: str, version: int, s: StatusSnapshot) -> None:
    # The version guard makes a replayed snapshot a no-op and keeps an older one from winning.
    await conn.execute(
        """INSERT INTO permits AS p (stream_id, version, kind, status, stage, enterprise_name, credit_code,
               district, permit_number, policy_version, workflow_id, next_deadline_at, next_deadline_label,
               next_deadline_provisional, pending, valid_from, valid_until, dormant, dormant_since, updated_at)
           VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19, now())
           ON CONFLICT (stream_id) DO UPDATE SET
               version = EXCLUDED.version, kind = EXCLUDED.kind, status = EXCLUDED.status,
               stage = EXCLUDED.stage, enterprise_name = EXCLUDED.enterprise_name,
               credit_code = EXCLUDED.credit_code, district = EXCLUDED.district,
               permit_number = EXCLUDED.permit_number, policy_version = EXCLUDED.policy_version,
               workflow_id = EXCLUDED.workflow_id, next_deadline_at = EXCLUDED.next_deadline_at,
               next_deadline_label = EXCLUDED.next_deadline_label,
               next_deadline_provisional = EXCLUDED.next_deadline_provisional, pending = EXCLUDED.pending,
               valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until,
               dormant = EXCLUDED.dormant, dormant_since = EXCLUDED.dormant_since, updated_at = now()
           WHERE p.version <= EXCLUDED.version""",
        stream_id, version, s.kind, s.status, s.stage, s.enterprise_name, s.credit_code, s.district,
        s.permit_number, s.policy_version, s.workflow_id, s.next_deadline_at, s.next_deadline_label,
        s.next_deadline_provisional, s.pending, s.valid_from, s.valid_until, s.dormant, s.dormant_since,
    )
    if await conn.fetchval("SELECT version FROM permits WHERE stream_id = $1", stream_id) != version:
        return  # a newer snapshot already stands
    # The inbox is the workflow's open steps as of this version: closed ones go, open ones are upserted
    # (keeping the moment each opened, which deadline oversight measures from).
    await conn.execute("DELETE FROM tasks WHERE stream_id = $1 AND NOT (task_id = ANY($2::text[]))",
                       stream_id, [t.task_id for t in s.tasks])
    await conn.executemany(
        """INSERT INTO tasks (task_id, stream_id, body, kind, label, due_date, ends_at, provisional)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (task_id) DO UPDATE SET body = EXCLUDED.body, kind = EXCLUDED.kind, label = EXCLUDED.label,
               due_date = EXCLUDED.due_date, ends_at = EXCLUDED.ends_at, provisional = EXCLUDED.provisional""",
        [(t.task_id, stream_id, t.body, t.kind, t.label, t.due_date, t.ends_at, t.provisional) for t in s.tasks],
    )


async def read_stream(pool: asyncpg.Pool, stream_id: str) -> list[StoredEvent]:
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM events WHERE stream_id = $1 ORDER BY version", stream_id)
    return [_stored(r) for r in rows]


async def read_all(pool: asyncpg.Pool, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2", after_position, limit
    )
    return [_stored(r) for r in rows]


async def verify(pool: asyncpg.Pool, stream_id: str | None = None) -> tuple[int, BrokenLink | None]:
    """Walk the chains (one stream, or all); returns (events checked, first broken link or None)."""
    checked = 0
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        where, args = ("WHERE stream_id = $1", [stream_id]) if stream_id else ("", [])
        cursor = conn.cursor(f"SELECT {_COLUMNS} FROM events {where} ORDER BY stream_id, version", *args)
        current, prev, expected = None, None, 1
        async for r in cursor:
            ev = _stored(r)
            if ev.stream_id != current:
                current, prev, expected = ev.stream_id, None, 1
            checked += 1
            if ev.version != expected:
                return checked, BrokenLink(ev.stream_id, ev.version, ev.position, f"expected version {expected}")
            if ev.prev_hash != prev:
                return checked, BrokenLink(ev.stream_id, ev.version, ev.position, "previous-hash link broken")
            h = row_hash(
                prev, stream_id=ev.stream_id, version=ev.version, event_type=ev.event_type, article=ev.article,
                actor=ev.actor, payload=ev.payload, occurred_at=ev.occurred_at, recorded_at=ev.recorded_at,
            )
            if h != ev.hash:
                return checked, BrokenLink(ev.stream_id, ev.version, ev.position, "content does not match its hash")
            prev, expected = ev.hash, expected + 1
    return checked, None
