"""Shared moves of the supervision tests: many permits in force at once, started directly as Permit
workflows (as an approval hands them over), each with an enterprise of its own."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.application import Application
from domain.authority import Actor
from domain.bodies import Body, District
from domain.calendar import WorkingCalendar
from domain.identifiers import make_credit_code
from domain.policy import CURRENT_POLICY_VERSION
from tests.fixtures.applications import replace_enterprise, valid_application
from workflows.permit_messages import PermitInput, PermitState, PermitStatus

DISTRICTS = list(District)
COMMERCE = Actor(body=Body.COMMERCE, name="商务局监管处")


def today() -> date:
    return WorkingCalendar.local_date(datetime.now(UTC))


def credit_code(i: int) -> str:
    return make_credit_code(f"91440115MA5{i:06d}")


def enterprise_app(i: int, on: date | None = None) -> Application:
    """The example application, for enterprise number `i`, in district number `i` (mod 11)."""
    return replace_enterprise(valid_application(on or today()), credit_code=credit_code(i),
                              name=f"广州第{i}保税油供应有限公司", district=DISTRICTS[i % len(DISTRICTS)])


async def start_permit(env: WorkflowEnvironment, client: Client, pool: asyncpg.Pool, queue: str, app: Application,
                       *, valid_from: date | None = None) -> tuple[str, WorkflowHandle]:
    """A permit in force from `valid_from` (default today) for two years, its workflow's clock held (time
    skipping disabled: move it with `env.fast_forward`). Returns once it is in the read model."""
    valid_from = valid_from or today()
    seq = await pool.fetchval("SELECT nextval('application_seq')")
    number = await pool.fetchval("SELECT nextval('permit_number_seq')")
    stream_id = f"BB-{valid_from.year}-{seq:06d}"
    until = date(valid_from.year + 2, valid_from.month, valid_from.day) - timedelta(days=1)
    inp = PermitInput(application_id=stream_id, permit_number=f"GZBB-{valid_from.year}-{number:04d}", application=app,
                      policy_version=CURRENT_POLICY_VERSION, journal_version=0,
                      state=PermitState(valid_from=valid_from, valid_until=until))
    with env.with_time_skipping_disabled():
        handle = await client.start_workflow("Permit", inp, id=f"application/{stream_id}", task_queue=queue,
                                             result_type=PermitStatus)
    await wait_for(lambda: pool.fetchval(
        "SELECT true FROM permits WHERE stream_id = $1 AND kind = 'permit'", stream_id), f"{stream_id} in force")
    return stream_id, handle


async def wait_for(probe, what: str, timeout: float = 20):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await probe()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def count_events(pool: asyncpg.Pool, stream_id: str, event_type: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM events WHERE stream_id = $1 AND event_type = $2",
                               stream_id, event_type)


@pytest.fixture
def logging_restored():
    """The CLI configures logging for its process, onto the runner's stream; put the session's back."""
    config, handlers = structlog.get_config(), logging.root.handlers[:]
    yield
    structlog.configure(**config)
    logging.root.handlers[:] = handlers
