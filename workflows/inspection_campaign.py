"""The annual supervisory inspection of every permit in force (Art. 22), as one campaign per year.

Started by a Temporal Schedule on 1 March (or by hand: `bunker inspections run --year`). A schedule cannot
know holidays, so the campaign itself waits until the first working day of the month (the calendar
activity). It then takes its roster (the permits in force on that day) and walks it in pages, inspecting
at most `concurrency` permits at a time, and continues as new after each page with the cursor and the
counts, so its history stays small whatever the number of permits. Each permit is inspected once even if
the campaign is restarted (activities/inspection.py). At the end it writes the report by district and
outcome.

The permits of a page go in batches of `batch` to the `inspect_permits` activity (each permit inspected on
its own inside it), as many batches in flight as keep `concurrency` permits in flight: one activity task and
one workflow step for a batch instead of one for each permit, which is what lets ten thousand permits be
inspected in minutes (bench/b6_campaign.py). A permit a batch could not inspect is inspected again alone,
with the per-permit retry policy, as every permit was before batches (runs recorded before them replay on
that path: `workflow.patched(BATCHES)`). A worker that does not know `inspect_permits` (an older release,
during a rolling deploy) refuses it at once, and the run goes on one permit at a time.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import Deadline, DeadlineRequest
    from activities.inspection import (
        BatchItem, CampaignInfo, InspectionResult, InspectPermit, InspectPermits, OpenCampaign, PageRequest,
        ReportFiles,
    )
    from domain.calendar import SHANGHAI, WorkingCalendar
    from domain.inspection import campaign_month
    from domain.policy import policy_in_force

ACTIVITY_TIMEOUT = timedelta(seconds=30)
INSPECTION_TIMEOUT = timedelta(minutes=2)  # one permit: ledger summary, registers, the permit's update
INSPECTION_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                               maximum_attempts=8)
MAX_FAILED_KEPT = 100  # stream ids carried for the report; the count is always exact
# workflow.patched id: a page is inspected in batches (inspect_permits); runs begun before it, one by one.
BATCHES = "inspection-batches"
# A batch is retried whole a few times (a worker gone, a timeout); what it still leaves is retried alone.
BATCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10),
                          maximum_attempts=3, non_retryable_error_types=["NotFoundError"])

Phase = Literal["waiting", "inspecting", "reporting", "done"]


class CampaignProgress(BaseModel):
    year: int | None = None
    campaign_id: str | None = None
    phase: Phase = "waiting"
    start_day: date | None = None
    total: int = 0  # permits on the roster
    done: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)  # clear, breach, not_assessed, closed, failed
    in_flight: int = 0
    cursor: str = ""
    failed: list[str] = Field(default_factory=list)
    runs: int = 1
    report: ReportFiles | None = None


class CampaignInput(BaseModel):
    year: int | None = Field(default=None, ge=2022, le=2100)  # None: the year it starts in (how the schedule starts it)
    wait_for_first_working_day: bool = False  # the schedule fires on the 1st; the campaign starts on a working day
    inspector: str = "市商务局年度监督检查组 / Commerce Bureau annual inspection team"
    page_size: int = Field(default=500, ge=1, le=1000)  # roster entries per run (continue-as-new after each)
    concurrency: int = Field(default=20, ge=1, le=200)  # permits being inspected at once
    batch: int = Field(default=5, ge=1, le=50)  # permits per inspect_permits activity (1: one activity each)
    progress: CampaignProgress | None = None  # carried over when continuing as new


@workflow.defn(name="InspectionCampaign")
class InspectionCampaign:
    @workflow.init
    def __init__(self, inp: CampaignInput) -> None:
        self._p = inp.progress.model_copy() if inp.progress else CampaignProgress()
        self._unbatched = False  # a worker refused inspect_permits in this run

    @workflow.run
    async def run(self, inp: CampaignInput) -> CampaignProgress:
        p = self._p
        if p.start_day is None:
            p.year = inp.year or WorkingCalendar.local_date(workflow.now()).year
            if inp.wait_for_first_working_day:
                await self._first_working_day(p.year)
            await self._open(inp)
        p.phase = "inspecting"
        page = await workflow.execute_activity(
            "inspection_page", PageRequest(year=p.year, after=p.cursor, limit=inp.page_size),
            result_type=list[str], start_to_close_timeout=ACTIVITY_TIMEOUT, summary="next page of the roster")
        if page:
            if inp.batch > 1 and workflow.patched(BATCHES):
                await self._inspect_page_in_batches(page, inp.concurrency, inp.batch)
            else:
                await self._inspect_page(page, inp.concurrency)
            p.cursor = page[-1]
            workflow.continue_as_new(inp.model_copy(update={
                "progress": p.model_copy(update={"runs": p.runs + 1, "in_flight": 0})}))
        p.phase = "reporting"
        p.report = await workflow.execute_activity(
            "write_inspection_report", p.year, result_type=ReportFiles, start_to_close_timeout=timedelta(minutes=5),
            summary="report by district and outcome")
        p.phase = "done"
        workflow.set_current_details(self._details())
        return p

    async def _first_working_day(self, year: int) -> None:
        """The schedule fires on the 1st of the month; the campaign starts on its first working day."""
        month = campaign_month(policy_in_force(WorkingCalendar.local_date(workflow.now())))
        d = await workflow.execute_activity(
            "compute_deadline", DeadlineRequest(label="Art. 22 annual inspection start",
                                                start=date(year, month, 1) - timedelta(days=1), workdays=1),
            result_type=Deadline, start_to_close_timeout=ACTIVITY_TIMEOUT, summary="first working day of the month")
        start = datetime.combine(d.due_date, time(0), tzinfo=SHANGHAI)
        if start > workflow.now():
            workflow.set_current_details(f"waiting for {d.due_date}, the first working day of the month")
            await workflow.sleep(start - workflow.now(), summary=f"until {d.due_date}")

    async def _open(self, inp: CampaignInput) -> None:
        p = self._p
        info = await workflow.execute_activity(
            "open_inspection_campaign",
            OpenCampaign(year=p.year, campaign_id=workflow.info().workflow_id,
                         start_day=WorkingCalendar.local_date(workflow.now()), inspector=inp.inspector),
            result_type=CampaignInfo, start_to_close_timeout=ACTIVITY_TIMEOUT, summary="roster of permits in force")
        p.campaign_id, p.start_day, p.total = info.campaign_id, info.start_day, info.roster_size

    async def _inspect_page_in_batches(self, page: list[str], concurrency: int, batch: int) -> None:
        """Batches of `batch` permits in a sliding window of `concurrency` permits; what a batch could not
        inspect (or every permit, once a worker has refused the batch activity) is inspected alone after."""
        size = min(batch, concurrency)
        window = asyncio.Semaphore(max(1, concurrency // size))
        counts = Counter(self._p.outcomes)
        alone: list[str] = []

        async def one(ids: list[str]) -> None:
            async with window:
                if self._unbatched:
                    alone.extend(ids)
                    return
                self._p.in_flight += len(ids)
                try:
                    items = await workflow.execute_activity(
                        "inspect_permits", InspectPermits(year=self._p.year, stream_ids=ids),
                        result_type=list[BatchItem], start_to_close_timeout=INSPECTION_TIMEOUT,
                        retry_policy=BATCH_RETRY, summary=f"inspect {ids[0]} … {ids[-1]} ({len(ids)})")
                except ActivityError as e:
                    if isinstance(e.cause, ApplicationError) and e.cause.type == "NotFoundError":
                        self._unbatched = True  # a worker without inspect_permits: the rest of this run alone
                    workflow.logger.warning("inspection batch failed, its permits go alone: %s … %s", ids[0], ids[-1])
                    items = [BatchItem(stream_id=s, error="the batch failed") for s in ids]
                finally:
                    self._p.in_flight -= len(ids)
                for item in items:
                    if item.result is not None:
                        counts[item.result.outcome] += 1
                    elif item.retry:
                        alone.append(item.stream_id)
                        continue
                    else:
                        workflow.logger.warning("inspection failed: %s: %s", item.stream_id, item.error)
                        counts["failed"] += 1
                        if len(self._p.failed) < MAX_FAILED_KEPT:
                            self._p.failed.append(item.stream_id)
                    self._p.done += 1
                self._p.outcomes = dict(counts)

        await asyncio.gather(*(one(page[i:i + size]) for i in range(0, len(page), size)))
        if alone:
            await self._inspect_page(sorted(alone), concurrency)
        workflow.set_current_details(self._details())

    async def _inspect_page(self, page: list[str], concurrency: int) -> None:
        """A sliding window: at most `concurrency` inspections in flight, the next starting as one ends."""
        window = asyncio.Semaphore(concurrency)
        counts = Counter(self._p.outcomes)

        async def one(stream_id: str) -> None:
            async with window:
                self._p.in_flight += 1
                try:
                    r = await workflow.execute_activity(
                        "inspect_permit", InspectPermit(year=self._p.year, stream_id=stream_id),
                        result_type=InspectionResult, start_to_close_timeout=INSPECTION_TIMEOUT,
                        retry_policy=INSPECTION_RETRY, summary=f"inspect {stream_id}")
                    counts[r.outcome] += 1
                except ActivityError:
                    workflow.logger.warning("inspection failed: %s", stream_id)
                    counts["failed"] += 1
                    if len(self._p.failed) < MAX_FAILED_KEPT:
                        self._p.failed.append(stream_id)
                finally:
                    self._p.in_flight -= 1
                    self._p.done += 1
                    self._p.outcomes = dict(counts)

        await asyncio.gather(*(one(s) for s in page))
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        p = self._p
        counts = ", ".join(f"{k} {v}" for k, v in sorted(p.outcomes.items())) or "none yet"
        return f"**{p.year} annual inspection** (Art. 22) · {p.phase} · {p.done}/{p.total} · {counts}"

    @workflow.query
    def progress(self) -> CampaignProgress:
        return self._p
