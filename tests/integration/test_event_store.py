"""The event store: idempotent ordered appends, concurrency check, hash chain, read model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.events import EventType, event
from domain.status import OpenTask, StatusSnapshot
from store import event_store
from store.migrate import migrate

T0 = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)


def ev(n: int, type_: EventType = EventType.DEADLINE_REMINDER):
    return event(type_, "system", T0 + timedelta(hours=n), n=n, text="逾期提醒")


async def test_append_is_idempotent_when_an_activity_retries(pool):
    first = await event_store.append(pool, "S-idem", 1, [ev(1), ev(2)])
    again = await event_store.append(pool, "S-idem", 1, [ev(1), ev(2)])
    assert (first, again) == (2, 0)
    stored = await event_store.read_stream(pool, "S-idem")
    assert [e.version for e in stored] == [1, 2]
    assert stored[0].article == "ALL 42" and stored[0].payload == {"n": 1, "text": "逾期提醒"}


async def test_a_different_event_at_a_taken_version_is_a_conflict(pool):
    await event_store.append(pool, "S-conflict", 1, [ev(1)])
    with pytest.raises(event_store.ConcurrencyConflict):
        await event_store.append(pool, "S-conflict", 1, [ev(9)])
    with pytest.raises(event_store.ConcurrencyConflict):
        await event_store.append(pool, "S-conflict", 5, [ev(5)])  # would leave a gap


async def test_global_positions_follow_append_order_across_streams(pool):
    await event_store.append(pool, "S-a", 1, [ev(1)])
    await event_store.append(pool, "S-b", 1, [ev(1)])
    await event_store.append(pool, "S-a", 2, [ev(2)])
    tail = [e for e in await event_store.read_all(pool) if e.stream_id in ("S-a", "S-b")]
    assert [(e.stream_id, e.version) for e in tail] == [("S-a", 1), ("S-b", 1), ("S-a", 2)]
    assert [e.position for e in tail] == sorted(e.position for e in tail)


async def test_the_store_refuses_updates_and_deletes(pool):
    await event_store.append(pool, "S-ro", 1, [ev(1)])
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("UPDATE events SET actor = 'x' WHERE stream_id = 'S-ro'")
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("DELETE FROM events WHERE stream_id = 'S-ro'")


async def test_audit_finds_the_first_tampered_row(pool):
    await event_store.append(pool, "S-tamper", 1, [ev(1), ev(2), ev(3)])
    checked, broken = await event_store.verify(pool, "S-tamper")
    assert (checked, broken) == (3, None)
    # A database administrator bypasses the trigger and edits the payload of version 2.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        await conn.execute("""UPDATE events SET payload = '{"n": 99}' WHERE stream_id = 'S-tamper' AND version = 2""")
        await conn.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
    _, broken = await event_store.verify(pool, "S-tamper")
    assert broken is not None and (broken.version, broken.reason) == (2, "content does not match its hash")


async def test_read_model_and_inbox_follow_the_newest_version_only(pool):
    task = OpenTask(task_id="S-rm/decide", body="municipal_gov", kind="decide", label="decide")
    await event_store.append(pool, "S-rm", 1, [ev(1)], StatusSnapshot(status="decision", tasks=[task]))
    await event_store.append(pool, "S-rm", 2, [ev(2)], StatusSnapshot(status="approved"))
    # A retried older append must not bring the old status (or its task) back.
    await event_store.append(pool, "S-rm", 1, [ev(1)], StatusSnapshot(status="decision", tasks=[task]))
    row = await pool.fetchrow("SELECT status, version FROM permits WHERE stream_id = 'S-rm'")
    assert (row["status"], row["version"]) == ("approved", 2)
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id = 'S-rm'") == 0


async def test_migrations_run_twice_apply_nothing_the_second_time(pool):
    async with pool.acquire() as conn:
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 1
