"""The service layer the CLI, the gateway and the tests call: one place that starts and steers files.

Validation happens before anything starts (pydantic at the edge); intake refusals (Art. 24 bans) are
answered here with the ban's end date, and nothing is started for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy, WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.application import Application
from domain.calendar import WorkingCalendar
from domain.policy import policy_in_force
from domain.ledger import Movement
from store import bans, ledger
from workflows.permit_messages import SuppliesResumed
from workflows import search_attributes as sa
from workflows.licensing import PermitApplication
from workflows.licensing_messages import LicensingInput

log = structlog.get_logger()


class IntakeRefused(Exception):
    def __init__(self, message: str, ban: bans.Ban) -> None:
        super().__init__(message)
        self.ban = ban


@dataclass(frozen=True)
class Started:
    application_id: str
    workflow_id: str
    existing: bool = False  # the file's workflow had been started already (by an earlier attempt)


def application_workflow_id(application_id: str) -> str:
    return f"application/{application_id}"


async def submit_application(
    client: Client, pool: asyncpg.Pool, task_queue: str, app: Application, received_at: datetime | None = None
) -> Started:
    """Art. 9: the written application reaches the district; the procedure starts."""
    received_at = received_at or datetime.now(UTC)
    on = WorkingCalendar.local_date(received_at)
    await check_intake(pool, app, on)
    application_id = await allocate_application_id(pool, on)
    return await start_application(client, task_queue, application_id, app, received_at)


async def check_intake(pool: asyncpg.Pool, app: Application, on: date) -> None:
    """Art. 24: an applicant under a ban is refused at intake (`IntakeRefused`, with the ban's end)."""
    ban = await bans.active_ban(pool, app.enterprise.credit_code, on)
    if ban is not None:
        log.warning("intake refused: banned applicant", credit_code=app.enterprise.credit_code, until=str(ban.ends_on))
        raise IntakeRefused(
            f"申请人{ban.ends_on}前不得再次申请（第二十四条） / the applicant may not apply again before "
            f"{ban.ends_on} (Art. {ban.article}): {ban.reason}",
            ban,
        )


async def allocate_application_id(pool: asyncpg.Pool, on: date) -> str:
    """The file's case number, BB-YYYY-NNNNNN, from the database's sequence (a number allocated for a file
    that never starts is a harmless gap)."""
    seq = await pool.fetchval("SELECT nextval('application_seq')")
    return f"BB-{on.year}-{seq:06d}"


async def start_application(
    client: Client, task_queue: str, application_id: str, app: Application, received_at: datetime, *,
    existing_ok: bool = False,
) -> Started:
    """Start the procedure of file `application_id` as workflow `application/<id>`. A workflow id is never
    reused: if that workflow exists already, nothing is started. With `existing_ok` (the case number was
    reserved for this very request, by an earlier attempt that may have started it) that workflow is the
    file, answered with `existing=True`; otherwise it is an error (`WorkflowAlreadyStartedError`)."""
    workflow_id = application_workflow_id(application_id)
    pol = policy_in_force(WorkingCalendar.local_date(received_at))
    try:
        await client.start_workflow(
            PermitApplication.run,
            LicensingInput(application_id=application_id, application=app, received_at=received_at,
                           policy_version=pol.version),
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,  # a closed file's id is not started again
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,  # nor is a running one's
            static_summary=f"{app.enterprise.name} · bonded bunkering application {application_id}",
            static_details=f"district {app.enterprise.district.value} · credit code {app.enterprise.credit_code} · policy {pol.version}",
            # Filterable in the Web UI from the first moment, before the first event is recorded.
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.STATUS, "received"), SearchAttributePair(sa.STAGE, "completeness"),
                SearchAttributePair(sa.DISTRICT, app.enterprise.district.value),
                SearchAttributePair(sa.ENTERPRISE, app.enterprise.name),
                SearchAttributePair(sa.CREDIT_CODE, app.enterprise.credit_code),
            ]),
        )
    except WorkflowAlreadyStartedError:
        if not existing_ok:
            raise
        log.info("application already started by an earlier attempt", permit_id=application_id, workflow_id=workflow_id)
        return Started(application_id, workflow_id, existing=True)
    log.info("application received", permit_id=application_id, workflow_id=workflow_id)
    return Started(application_id, workflow_id)


async def report_ledger(
    client: Client, pool: asyncpg.Pool, stream_id: str, batch_id: str, movements: Sequence[Movement],
    now: datetime | None = None,
) -> ledger.IngestResult:
    """Art. 17: book a batch of ledger rows. The permit's workflow hears of it only when a supply ends a
    dormancy (Art. 23): one signal per episode, never one per row. If that signal is lost (a crash right
    after the commit), the next batch with a supply sends it again, since the permit is still dormant."""
    result = await ledger.ingest(pool, stream_id, batch_id, movements, now=now)
    if result.resumed_from_dormancy and result.last_supply_at is not None:
        await application_handle(client, stream_id).signal("supplies_resumed", SuppliesResumed(at=result.last_supply_at))
        log.info("supplies resumed after dormancy", permit_id=stream_id)
    return result


async def recompute_provisional_deadlines(client: Client, pool: asyncpg.Pool,
                                          progress: Callable[[int, int], None] | None = None) -> int:
    """After an official holiday schedule is loaded: every open file with a provisional deadline
    recomputes it (ALL 82). Returns how many files were told; `progress(done, total)` follows along."""
    rows = await pool.fetch(
        """SELECT DISTINCT p.workflow_id FROM permits p
           WHERE p.status NOT IN ('terminated', 'revoked', 'refused', 'withdrawn', 'not_accepted')
             AND p.workflow_id IS NOT NULL
             AND (p.next_deadline_provisional OR EXISTS (
                 SELECT 1 FROM tasks t WHERE t.stream_id = p.stream_id AND t.provisional))""")
    told = 0
    for done, r in enumerate(rows, 1):
        try:
            await client.get_workflow_handle(r["workflow_id"]).signal("recompute_deadlines")
            told += 1
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            # Its workflow has closed without its read model saying so (terminated by hand): nothing to tell.
            log.warning("file not told: its workflow is closed", workflow_id=r["workflow_id"])
        if progress is not None:
            progress(done, len(rows))
    return told


def application_handle(client: Client, application_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(PermitApplication.run, application_workflow_id(application_id))


def today() -> date:
    return WorkingCalendar.local_date(datetime.now(UTC))
