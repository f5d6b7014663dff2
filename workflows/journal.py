"""Recording what a workflow decided: events to the store, read model, search attributes, UI details.

Every domain event goes through `Journal.record`, which numbers it in the stream and appends it through
an activity (idempotent on retry). The lock keeps appends in version order even when an update handler
and the main procedure record at the same moment.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Callable

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair

with workflow.unsafe.imports_passed_through():
    from activities.event_log import AppendEvents
    from domain.events import DomainEvent, EventType, event
    from domain.status import StatusSnapshot

# Appends retry until the database is back: losing a decided event is never an option.
STORE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


class Journal:
    def __init__(
        self,
        stream_id: str,
        snapshot: Callable[[], StatusSnapshot],
        search_attributes: Callable[[], list[SearchAttributePair]],
        details: Callable[[], str],
        version: int = 0,
    ) -> None:
        self.stream_id = stream_id
        self.version = version
        self._snapshot = snapshot
        self._search_attributes = search_attributes
        self._details = details
        self._lock = asyncio.Lock()

    @property
    def busy(self) -> bool:
        """An append is in flight: the run must not continue as new before it lands."""
        return self._lock.locked()

    async def record(self, type_: EventType, actor: str, article: str | None = None, **data) -> DomainEvent:
        ev = event(type_, actor, workflow.now(), article=article, **data)
        async with self._lock:
            first = self.version + 1
            self.version = first
            # An ordinary activity, never a local one: its input is fixed in history before it runs, so a
            # retry writes the very same event. A local activity's input is recorded only when its workflow
            # task completes; if that task is lost (server restart), the retried task may decide the event
            # anew (another instant, another order of updates) and find its version taken by the first one.
            await workflow.execute_activity(
                "append_events",
                AppendEvents(stream_id=self.stream_id, first_version=first, events=[ev], snapshot=self._snapshot()),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
                summary=f"record {type_.value} (Art. {ev.article})",
            )
        self.refresh()
        return ev

    def refresh(self) -> None:
        """Search attributes and Web UI details follow every recorded change."""
        workflow.upsert_search_attributes(self._search_attributes())
        workflow.set_current_details(self._details())
