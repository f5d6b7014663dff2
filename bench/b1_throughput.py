"""1. Licensing throughput with automatic agency responders, against a trivial workflow that runs the same
number of no-op activities, on the same Temporal server (file persistence, as `make dev` runs it), with
the same in-process worker set-up and the same concurrency.

The issue's reference runs ordinary activities. A lifecycle's calendar and ledger reads are local
activities (workflows/short_calls.py), so a second reference runs the same numbers of each kind: it
shows what is left of a lifecycle's cost beyond its activities (the agencies' updates, the hand-over).

A lifecycle: the application is submitted through the service layer (bunker/services.py), then the
bodies act at once through Temporal updates, as the gateway would send them: the district accepts and
gives its preliminary opinion, the six panel agencies approve, commerce submits, the government decides
(every fourth refused). It is done when the read model shows its final state (a permit in force, or
refused): for an approval that includes the hand-over to the Permit workflow and its first steps.
"""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from bench.common import Result
from bench.workflows import NoopChain, NoopMixedChain, noop
from bunker import services
from bunker.temporal import connect
from domain.authority import Actor
from domain.bodies import JOINT_REVIEW_PANEL, Body, District
from domain.calendar import WorkingCalendar
from domain.examples import example_application
from tests.chaos.stack import Stack
from workers.worker import build_worker
from workflows.licensing_messages import Accept, Decide, PreliminaryOpinion, ReviewDecision, Submission

NANSHA = Actor(body=Body.DISTRICT, district=District.NANSHA)
COMMERCE = Actor(body=Body.COMMERCE)
GOVERNMENT = Actor(body=Body.MUNICIPAL_GOV)
FINAL = {True: "in_force", False: "refused"}




async def _lifecycle(client, pool, queue: str, i: int) -> tuple[str, bool]:
    approve = i % 4 != 3
    started = await services.submit_application(client, pool, queue,
                                                example_application(WorkingCalendar.local_date(datetime.now(UTC))))
    h = services.application_handle(client, started.application_id)
    await h.execute_update("accept", Accept(actor=NANSHA))
    await h.execute_update("preliminary_review", PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    for body in JOINT_REVIEW_PANEL:
        await h.execute_update("joint_review", ReviewDecision(actor=Actor(body=body), agency=body, decision="approve"))
    await h.execute_update("submit_to_government", Submission(
        actor=COMMERCE, recommendation="approve" if approve else "refuse", consolidated_opinion="各部门意见汇总"))
    await h.execute_update("decide", Decide(actor=GOVERNMENT, approve=approve, reasons="" if approve else "不符合条件"))
    return started.application_id, approve


async def _until_final(pool, expected: dict[str, bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = await pool.fetch("SELECT stream_id, status FROM permits WHERE stream_id = ANY($1::text[])", list(expected))
        got = {r["stream_id"]: r["status"] for r in rows}
        if all(got.get(a) == FINAL[ok] for a, ok in expected.items()):
            return
        if time.monotonic() > deadline:
            stuck = {a: got.get(a) for a, ok in expected.items() if got.get(a) != FINAL[ok]}
            raise TimeoutError(f"files not in their final state: {stuck}")
        await asyncio.sleep(0.1)


LOCAL_MARKER = "core_local_activity"  # the marker a local activity's result is recorded in


async def _activities_per_file(client, app_ids: list[str]) -> tuple[float, float, collections.Counter]:
    """Activities run per file (ordinary, local), over every run of its workflow (application and permit)."""
    ordinary, local, kinds = 0, 0, collections.Counter()
    for app_id in app_ids:
        async for wf in client.list_workflows(f'WorkflowId = "application/{app_id}"'):
            history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            for e in history.events:
                if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    ordinary += 1
                    kinds[e.activity_task_scheduled_event_attributes.activity_type.name] += 1
                elif (e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                      and e.marker_recorded_event_attributes.marker_name == LOCAL_MARKER):
                    local += 1
                    kinds["(local)"] += 1
    return ordinary / len(app_ids), local / len(app_ids), kinds


async def _reference(client, workflow_cls, k, n: int, bounded) -> float:
    """Seconds for n workflows of no-op activities (k: how many; after one warm-up), on a queue of their own."""
    queue = f"bench-reference-{uuid.uuid4().hex[:6]}"

    async def chain(i: int) -> int:
        return await client.execute_workflow(workflow_cls.run, k, id=f"bench-noop-{queue}-{i}", task_queue=queue)

    async with Worker(client, task_queue=queue, workflows=[workflow_cls], activities=[noop]):
        await bounded(chain, 0)
        t0 = time.monotonic()
        await asyncio.gather(*(bounded(chain, i) for i in range(1, n + 1)))
        return time.monotonic() - t0


async def run(tmp: Path, n: int, concurrency: int) -> Result:
    stack = Stack(tmp)
    stack.start_temporal(persistent=True)
    try:
        await asyncio.to_thread(stack.start_postgres)
        await stack.prepare_database({})
        await stack.wait_temporal()
        client = await connect(stack.temporal_address)
        pool = await stack.pool(10)
        sem = asyncio.Semaphore(concurrency)

        async def bounded(coro_fn, *args):
            async with sem:
                return await coro_fn(*args)

        # ---- licensing
        queue = f"bench-licensing-{uuid.uuid4().hex[:6]}"
        async with build_worker(client, pool, queue):
            await bounded(_lifecycle, client, pool, queue, 0)  # warm-up: imports, sandbox, connections
            t0 = time.monotonic()
            done = await asyncio.gather(*(bounded(_lifecycle, client, pool, queue, i) for i in range(1, n + 1)))
            expected = dict(done)
            await _until_final(pool, expected)
            t_lic = time.monotonic() - t0
            ordinary, local, kinds = await _activities_per_file(client, list(expected)[:8])
        # ---- references: the same number of no-op activities per workflow, same server, same concurrency
        k = round(ordinary + local)
        t_ref = await _reference(client, NoopChain, k, n, bounded)
        t_local = await _reference(client, NoopMixedChain, [round(ordinary), round(local)], n, bounded)
        await pool.close()
    finally:
        stack.stop()
    lic_rate, ref_rate, local_rate = n / t_lic, n / t_ref, n / t_local
    ratio = lic_rate / ref_rate
    updates = 4 + len(JOINT_REVIEW_PANEL)  # accept, opinion, 6 reviews, submission, decision → 10 (+ the start)
    return Result(
        1, "Licensing throughput (automatic responders)",
        f"{lic_rate:.2f} lifecycles/s ({n} in {t_lic:.1f} s, {concurrency} at a time)",
        f"{ref_rate:.2f} workflows/s of {k} no-op activities ({n} in {t_ref:.1f} s)",
        ratio, "licensing ÷ reference", "≥ 0.8", ratio >= 0.8,
        [f"A lifecycle runs {ordinary + local:.1f} activities on average ({ordinary:.1f} ordinary, {local:.1f} local; "
         f"measured from the histories of both runs, application and permit): {dict(kinds.most_common())}; the "
         f"reference runs {k} no-op ordinary activities.",
         f"Second reference, the same no-ops of the same kinds ({round(ordinary)} ordinary, {round(local)} local): "
         f"{local_rate:.2f} workflows/s ({n} in {t_local:.1f} s); licensing ÷ it = {lic_rate / local_rate:.2f}. What "
         "a lifecycle has beyond it is the agencies' 10 updates, each a round trip through the server, and the "
         "continue-as-new. Events are recorded by ordinary activities on purpose (workflows/journal.py).",
         f"Beyond the activities, a lifecycle takes {updates} updates (each a round trip that waits for the "
         "workflow to record its event), a continue-as-new into the Permit workflow, search-attribute upserts "
         "and a PostgreSQL transaction per event (table lock, hash chain, read-model upsert); the reference has "
         "none of these.",
         "Temporal dev server with SQLite file persistence; worker and callers in one Python process (as in "
         "shared/notes/temporal.md)."],
    )
