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
