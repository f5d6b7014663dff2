"""Workers for the campaign tests: the production worker's workflows and activities (workers/worker.py),
with the campaign's batch activity `inspect_permits` registered, left out (a worker of an older release),
or stood in for."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from activities.inspection import InspectionActivities
from workers.logging_interceptor import LogContextInterceptor
from workers.worker import WORKFLOWS, activities

BATCH = "inspect_permits"


def name(fn: Callable) -> str:
    return activity._Definition.must_from_callable(fn).name


def campaign_worker(client: Client, pool: asyncpg.Pool, queue: str, reports_dir: Path, *, batches: bool = True,
                    inspect_permits: Callable | None = None) -> Worker:
    acts = [a for a in activities(pool, client, reports_dir) if name(a) != BATCH]
    if inspect_permits is not None:
        acts.append(inspect_permits)
    elif batches:
        acts.append(InspectionActivities(pool, client, reports_dir).inspect_permits)
    return Worker(client, task_queue=queue, workflows=WORKFLOWS, activities=acts,
                  activity_executor=ThreadPoolExecutor(4), interceptors=[LogContextInterceptor()])


async def activities_scheduled(client: Client, handle: WorkflowHandle) -> dict[str, int]:
    """Activities the campaign's runs scheduled, by type (its continue-as-new chain from the first run)."""
    from collections import Counter

    from temporalio.api.enums.v1 import EventType

    kinds: Counter = Counter()
    run_id = handle.first_execution_run_id or handle.result_run_id  # the run it started
    while run_id:
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                kinds[e.activity_task_scheduled_event_attributes.activity_type.name] += 1
        last = history.events[-1]
        run_id = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                  if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW else None)
    return dict(kinds)


async def start_permits(env, client: Client, pool: asyncpg.Pool, queue: str, n: int) -> list[str]:
    """`n` permits in force, each of an enterprise of its own."""
    from tests.integration.supervision_helpers import enterprise_app, start_permit

    return [(await start_permit(env, client, pool, queue, enterprise_app(100 + i)))[0] for i in range(n)]


async def inspected_once(client: Client, pool: asyncpg.Pool, permits: list[str], year: int) -> None:
    """Each permit has one InspectionRecorded and its roster entry delivered; their workflows end here."""
    from tests.integration.supervision_helpers import count_events

    for stream_id in permits:
        assert await count_events(pool, stream_id, "InspectionRecorded") == 1, stream_id
        await client.get_workflow_handle(f"application/{stream_id}").terminate("test done")
    rows = await pool.fetch("SELECT status FROM inspections WHERE year = $1 AND stream_id = ANY($2::text[])",
                            year, permits)
    assert len(rows) == len(permits) and {r["status"] for r in rows} == {"delivered"}
