"""Activity: append a workflow's decided events to the event store (idempotent on retry)."""

from __future__ import annotations

import asyncpg
import structlog
from pydantic import BaseModel
from temporalio import activity

from domain.events import DomainEvent
from domain.status import StatusSnapshot
from store import event_store


class AppendEvents(BaseModel):
    stream_id: str
    first_version: int
    events: list[DomainEvent]
    snapshot: StatusSnapshot | None = None


class EventLogActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="append_events")
    async def append_events(self, req: AppendEvents) -> int:
        new = await event_store.append(self._pool, req.stream_id, req.first_version, req.events, req.snapshot)
        structlog.get_logger().info("events appended", types=[e.type.value for e in req.events], new=new)
        return new
