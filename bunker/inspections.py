"""The annual inspection (Art. 22) from outside the worker: its yearly Schedule, a campaign started by hand,
and its report.

The Schedule fires at 00:00 Asia/Shanghai on the 1st of the campaign month (a policy parameter, March);
the campaign waits for the month's first working day itself, because a schedule knows no holidays. It is
created by `bootstrap` (so by `bunker dev` and by every deployment that runs it) and brought up to date if
it exists: however often bootstrap runs, there is one schedule.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import asyncpg
import structlog
from temporalio.client import (
    Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError, ScheduleCalendarSpec,
    ScheduleOverlapPolicy, SchedulePolicy, ScheduleRange, ScheduleSpec, ScheduleUpdate, ScheduleUpdateInput,
    WorkflowHandle,
)
from temporalio.common import WorkflowIDConflictPolicy

from bunker import services
from domain.inspection import campaign_month
from domain.inspection_report import render_csv, render_markdown
from domain.policy import policy_in_force
from store import inspections
from workflows.inspection_campaign import CampaignInput, InspectionCampaign

log = structlog.get_logger()

SCHEDULE_ID = "annual-inspection"
SCHEDULED_WORKFLOW_ID = "inspection-campaign/scheduled"  # the server appends the scheduled time


def campaign_workflow_id(year: int) -> str:
    return f"inspection-campaign/{year}"


def inspection_schedule(task_queue: str) -> Schedule:
    month = campaign_month(policy_in_force(services.today()))
    return Schedule(
        action=ScheduleActionStartWorkflow(
            InspectionCampaign.run, CampaignInput(wait_for_first_working_day=True),
            id=SCHEDULED_WORKFLOW_ID, task_queue=task_queue,
            static_summary="Art. 22 annual supervisory inspection of every permit in force"),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(month=[ScheduleRange(month)], day_of_month=[ScheduleRange(1)],
                                            comment="Art. 22: yearly, from the first working day of the month")],
            time_zone_name="Asia/Shanghai"),
        # A campaign still running a year later is not doubled; a server down on the 1st catches up in the month.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(days=28)),
    )


async def ensure_inspection_schedule(client: Client, task_queue: str) -> str:
    """Create the yearly schedule, or bring the existing one up to date (keeping whether it is paused)."""
    wanted = inspection_schedule(task_queue)
    try:
        await client.create_schedule(SCHEDULE_ID, wanted)
        log.info("inspection schedule created", schedule_id=SCHEDULE_ID, task_queue=task_queue)
        return "created"
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate:
        wanted.state = current.description.schedule.state
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(SCHEDULE_ID).update(update)
    return "updated"


async def start_campaign(client: Client, task_queue: str, year: int, *, workflow_id: str | None = None,
                         page_size: int = 200, concurrency: int = 20, inspector: str | None = None) -> WorkflowHandle:
    """Start the year's campaign now (or find the one running under the same id)."""
    inp = CampaignInput(year=year, page_size=page_size, concurrency=concurrency,
                        **({"inspector": inspector} if inspector else {}))
    return await client.start_workflow(
        InspectionCampaign.run, inp, id=workflow_id or campaign_workflow_id(year), task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        static_summary=f"{year} annual supervisory inspection (Art. 22), started by hand")


def report_paths(data_dir: Path, year: int) -> tuple[Path, Path]:
    base = data_dir / "reports" / f"inspections-{year}"
    return base.with_suffix(".csv"), base.with_suffix(".md")


async def report(pool: asyncpg.Pool, year: int) -> tuple[str, str] | None:
    """The report as the campaign writes it, from the database (where the worker's files are not at hand)."""
    campaign = await inspections.campaign(pool, year)
    if campaign is None:
        return None
    entries = await inspections.entries(pool, year)
    return render_csv(year, entries), render_markdown(year, campaign["start_day"], entries)
