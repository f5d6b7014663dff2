"""Shared moves of the licensing tests: the bodies, starting a file, reading its events."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bunker import services
from domain.application import Application
from domain.authority import Actor
from domain.bodies import Body, District
from domain.calendar import WorkingCalendar
from store import event_store
from tests.fixtures.applications import CREDIT_CODE, valid_application
from workflows.licensing import PermitApplication

NANSHA = Actor(body=Body.DISTRICT, district=District.NANSHA, name="南沙区商务局 officer")
TIANHE = Actor(body=Body.DISTRICT, district=District.TIANHE)
APPLICANT = Actor(body=Body.ENTERPRISE, credit_code=CREDIT_CODE)
COMMERCE = Actor(body=Body.COMMERCE)
GOVERNMENT = Actor(body=Body.MUNICIPAL_GOV)


def agency(body: Body) -> Actor:
    return Actor(body=body)


async def start(
    env: WorkflowEnvironment, client: Client, pool: asyncpg.Pool, queue: str,
    app: Application | None = None, *, skipping: bool = False,
) -> tuple[str, WorkflowHandle]:
    """Start a file received now (the workflow's clock starts at the server's now)."""
    app = app or valid_application(received_on=WorkingCalendar.local_date(datetime.now(UTC)))
    if skipping:
        started = await services.submit_application(client, pool, queue, app)
    else:
        with env.with_time_skipping_disabled():
            started = await services.submit_application(client, pool, queue, app)
    return started.application_id, services.application_handle(client, started.application_id)


async def types(pool: asyncpg.Pool, stream_id: str) -> list[str]:
    return [e.event_type for e in await event_store.read_stream(pool, stream_id)]


async def events_of(pool: asyncpg.Pool, stream_id: str, type_: str):
    return [e for e in await event_store.read_stream(pool, stream_id) if e.event_type == type_]


async def advance(env: WorkflowEnvironment, handle: WorkflowHandle, days: float) -> None:
    await env.fast_forward(handle, timedelta(days=days))


async def local_today(env: WorkflowEnvironment, handle: WorkflowHandle) -> date:
    return WorkingCalendar.local_date(await env.get_current_time(handle))


async def to_joint_review(env: WorkflowEnvironment, client: Client, pool: asyncpg.Pool, queue: str):
    """A file accepted by the district and given a favourable preliminary opinion."""
    from workflows.licensing_messages import Accept, PreliminaryOpinion

    app_id, h = await start(env, client, pool, queue)
    await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    await h.execute_update(PermitApplication.preliminary_review,
                           PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="材料齐全，符合条件"))
    return app_id, h


async def approve_all(h: WorkflowHandle, except_: tuple[Body, ...] = ()) -> None:
    from domain.bodies import JOINT_REVIEW_PANEL
    from workflows.licensing_messages import ReviewDecision

    for body in JOINT_REVIEW_PANEL:
        if body not in except_:
            await h.execute_update(PermitApplication.joint_review,
                                   ReviewDecision(actor=agency(body), agency=body, decision="approve"))


async def handed_over(client: Client, handle: WorkflowHandle, pool: asyncpg.Pool):
    """After approval the file continues as the Permit workflow: wait (bounded) for that run."""
    import asyncio

    from workflows.permit import Permit

    for _ in range(200):
        desc = await handle.describe()
        if desc.workflow_type == "Permit":
            permit = client.get_workflow_handle_for(Permit.run, handle.id, run_id=desc.run_id)
            if "PermitInForce" in await types(pool, handle.id.removeprefix("application/")):
                return permit
        await asyncio.sleep(0.05)
    raise AssertionError(f"{handle.id} did not continue as the Permit workflow")


async def to_permit(env: WorkflowEnvironment, client: Client, pool: asyncpg.Pool, queue: str,
                    app: Application | None = None, *, settle: bool = True):
    """A file taken through the whole procedure to a permit in force; returns (id, Permit handle).
    `settle`: the permit document issued and the Art. 13 filings confirmed (no reminders while years pass)."""
    from workflows.licensing_messages import Accept, Decide, PreliminaryOpinion, Submission

    app_id, h = await start(env, client, pool, queue, app)
    await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    await h.execute_update(PermitApplication.preliminary_review,
                           PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    await approve_all(h)
    await h.execute_update(PermitApplication.submit_to_government,
                           Submission(actor=COMMERCE, recommendation="approve", consolidated_opinion="同意"))
    await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
    permit = await handed_over(client, h, pool)
    if settle:
        await settle_permit(permit)
    return app_id, permit


async def settle_permit(permit: WorkflowHandle) -> None:
    from workflows.permit_messages import ConfirmFiling, IssueDocument

    status = await permit.query("status")
    await permit.execute_update("issue_permit_document", IssueDocument(actor=COMMERCE, document_no="穗商务许〔2026〕1号"))
    for body in status["filings"]:
        await permit.execute_update("confirm_filing", ConfirmFiling(actor=agency(Body(body)), body=Body(body), reference="F-1"))


async def run_procedure(h: WorkflowHandle, panel: tuple[Body, ...], *, approve: bool = True, reasons: str = "") -> None:
    """District acceptance, preliminary review, the panel's approvals, submission and the decision."""
    from workflows.licensing_messages import Accept, Decide, PreliminaryOpinion, ReviewDecision, Submission

    await h.execute_update("accept", Accept(actor=NANSHA))
    await h.execute_update("preliminary_review", PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    for body in panel:
        await h.execute_update("joint_review", ReviewDecision(actor=agency(body), agency=body, decision="approve"))
    await h.execute_update("submit_to_government", Submission(
        actor=COMMERCE, recommendation="approve" if approve else "refuse", consolidated_opinion="审核意见"))
    await h.execute_update("decide", Decide(actor=GOVERNMENT, approve=approve, reasons=reasons))


async def advance_to(env: WorkflowEnvironment, handle: WorkflowHandle, day: date, hour: int = 10) -> None:
    """Move the file's clock to `hour` o'clock (Asia/Shanghai) on `day`."""
    from domain.calendar import SHANGHAI

    target = datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)
    now = await env.get_current_time(handle)
    if target > now:
        await env.fast_forward(handle, target - now)


async def permit_in_force(env: WorkflowEnvironment, client: Client, queue: str, app: Application | None = None,
                          history_limit: int = 1500):
    """A permit taken straight into force (as when permits granted before the system are imported):
    its Permit workflow started directly; returns (id, handle)."""
    import uuid

    from workflows.permit import Permit
    from workflows.permit_messages import PermitInput, PermitState

    today = WorkingCalendar.local_date(datetime.now(UTC))
    app = app or valid_application(today)
    stream = f"IMP-{uuid.uuid4().hex[:10]}"
    until = date(today.year + 2, today.month, today.day) - timedelta(days=1)
    with env.with_time_skipping_disabled():
        h = await client.start_workflow(
            Permit.run,
            PermitInput(application_id=stream, permit_number=f"GZBB-IMP-{stream[-4:]}", application=app,
                        policy_version="gz-2022", journal_version=0,
                        state=PermitState(valid_from=today, valid_until=until), history_limit=history_limit),
            id=f"application/{stream}", task_queue=queue)
    return stream, h
