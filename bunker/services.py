"""The service layer the CLI, the gateway and the tests call: one place that starts and steers files.

Validation happens before anything starts (pydantic at the edge); intake refusals (Art. 24 bans) are
answered here with the ban's end date, and nothing is started for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg
import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy

from domain.application import Application
from domain.calendar import WorkingCalendar
from domain.policy import policy_in_force
from store import bans
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


def application_workflow_id(application_id: str) -> str:
    return f"application/{application_id}"


async def submit_application(
    client: Client, pool: asyncpg.Pool, task_queue: str, app: Application, received_at: datetime | None = None
) -> Started:
    """Art. 9: the written application reaches the district; the procedure starts."""
    received_at = received_at or datetime.now(UTC)
    on = WorkingCalendar.local_date(received_at)
    ban = await bans.active_ban(pool, app.enterprise.credit_code, on)
    if ban is not None:
        log.warning("intake refused: banned applicant", credit_code=app.enterprise.credit_code, until=str(ban.ends_on))
        raise IntakeRefused(
            f"申请人{ban.ends_on}前不得再次申请（第二十四条） / the applicant may not apply again before "
            f"{ban.ends_on} (Art. {ban.article}): {ban.reason}",
            ban,
        )
    seq = await pool.fetchval("SELECT nextval('application_seq')")
    application_id = f"BB-{on.year}-{seq:06d}"
    workflow_id = application_workflow_id(application_id)
    pol = policy_in_force(on)
    await client.start_workflow(
        PermitApplication.run,
        LicensingInput(application_id=application_id, application=app, received_at=received_at, policy_version=pol.version),
        id=workflow_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"{app.enterprise.name} · bonded bunkering application {application_id}",
        static_details=f"district {app.enterprise.district.value} · credit code {app.enterprise.credit_code} · policy {pol.version}",
    )
    log.info("application received", permit_id=application_id, workflow_id=workflow_id)
    return Started(application_id, workflow_id)


def application_handle(client: Client, application_id: str) -> WorkflowHandle:
    return client.get_workflow_handle_for(PermitApplication.run, application_workflow_id(application_id))


def today() -> date:
    return WorkingCalendar.local_date(datetime.now(UTC))
