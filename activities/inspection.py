"""Activities of the annual inspection campaign (Art. 22): the roster, one permit's inspection, the report.

`inspect_permit` is idempotent end to end. The assessment is kept in `inspections` before delivery; the
delivery is the Temporal update `record_inspection` on the permit's workflow under the update id
`inspection-<year>` (Temporal answers a repeated id with the first outcome), and the permit's validator
refuses a second inspection of the same year (AlreadyDecided), which counts as delivered. So a retried
activity, or a campaign restarted half-way, inspects nobody twice.

`inspect_permits` inspects a few permits in one activity (the campaign's batches): the same inspection for
each, concurrently, each failure told apart for the campaign to retry that permit alone.
"""

from __future__ import annotations

import asyncio
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import asyncpg
import structlog
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.application import Application, HeldDocument
from domain.authority import Actor
from domain.bodies import Body
from domain.inspection import LATE_AFTER_DAYS, QUIET_DAYS, inspect, overall
from domain.inspection_report import render_csv, render_markdown
from domain.ledger import year_window
from domain.policy import policy
from store import inspections, ledger
from store import supervision as supervision_store
from workflows.licensing_messages import Outcome
from workflows.permit_messages import InspectionItem, InspectionReport, PermitInput

log = structlog.get_logger()
QUERY_TIMEOUT = timedelta(seconds=10)


class OpenCampaign(BaseModel):
    year: int
    campaign_id: str
    start_day: date
    inspector: str


class CampaignInfo(BaseModel):
    year: int
    campaign_id: str  # the workflow that opened it (a restart keeps it)
    start_day: date
    roster_size: int
    inspector: str


class PageRequest(BaseModel):
    year: int
    after: str = ""
    limit: int


class InspectPermit(BaseModel):
    year: int
    stream_id: str


class InspectionResult(BaseModel):
    stream_id: str
    district: str | None
    outcome: Literal["clear", "breach", "not_assessed", "closed"]
    already: bool = False  # found delivered (a retry or a restarted campaign)


class InspectPermits(BaseModel):
    year: int
    stream_ids: list[str]


class BatchItem(BaseModel):
    """One permit of `inspect_permits`: its result, or the error it met and whether to try it again alone."""

    stream_id: str
    result: InspectionResult | None = None
    error: str | None = None
    retry: bool = True


class ReportFiles(BaseModel):
    csv: str
    markdown: str
    permits: int


def update_id(year: int) -> str:
    return f"inspection-{year}"


async def permit_application(client: Client, stream_id: str) -> Application | None:
    """The approved matters the permit holds now, from its workflow: the documents held now
    (`PermitStatus.documents`; the permit drops one when it expires) over the tankers and tanks of the
    current run's input (which tells a leased tanker from an owned one, so a lease that is gone is found
    missing). `PermitStatus.application`, if the Permit answers it, is read instead (asked of the lead:
    it would also carry an Art. 15 change approved during the run, and spare the history read)."""
    handle = client.get_workflow_handle(f"application/{stream_id}")
    status = await handle.query("status", result_type=dict, rpc_timeout=QUERY_TIMEOUT)
    if status.get("application"):
        return Application.model_validate(status["application"])
    run = client.get_workflow_handle(handle.id, run_id=(await handle.describe()).run_id)
    async for ev in run.fetch_history_events(page_size=1):
        payloads = ev.workflow_execution_started_event_attributes.input.payloads
        (inp,) = await client.data_converter.decode(payloads, [PermitInput])
        app: Application = inp.application
        if status.get("documents") is not None:
            app = app.model_copy(update={"documents": [HeldDocument.model_validate(d) for d in status["documents"]]})
        return app
    return None


class InspectionActivities:
    def __init__(self, pool: asyncpg.Pool, client: Client | None, reports_dir: Path | None = None) -> None:
        self._pool = pool
        self._client = client
        self._reports_dir = reports_dir

    @activity.defn(name="open_inspection_campaign")
    async def open_campaign(self, req: OpenCampaign) -> CampaignInfo:
        row = await inspections.open_campaign(self._pool, req.year, req.campaign_id, req.start_day, req.inspector)
        return CampaignInfo(year=row["year"], campaign_id=row["campaign_id"], start_day=row["start_day"],
                            roster_size=row["roster_size"], inspector=row["inspector"])

    @activity.defn(name="inspection_page")
    async def page(self, req: PageRequest) -> list[str]:
        return await inspections.page(self._pool, req.year, req.after, req.limit)

    @activity.defn(name="inspect_permit")
    async def inspect_permit(self, req: InspectPermit) -> InspectionResult:
        return await self._inspect(req.year, req.stream_id)

    @activity.defn(name="inspect_permits")
    async def inspect_permits(self, req: InspectPermits) -> list[BatchItem]:
        """A few permits at once, each as `inspect_permit` would (concurrently, each on its own): one
        activity task, one result and one step of the campaign's workflow for the lot. A permit that fails
        comes back with its error, for the campaign to inspect it again on its own with the per-permit
        retry policy (or, refused for good, to count it failed)."""

        async def one(stream_id: str) -> BatchItem:
            try:
                return BatchItem(stream_id=stream_id, result=await self._inspect(req.year, stream_id))
            except ApplicationError as e:
                return BatchItem(stream_id=stream_id, error=str(e) or type(e).__name__, retry=not e.non_retryable)
            except Exception as e:  # noqa: BLE001 - told to the campaign, which tries it again on its own
                log.warning("inspection failed in a batch", permit_id=stream_id, error=f"{type(e).__name__}: {e}")
                return BatchItem(stream_id=stream_id, error=f"{type(e).__name__}: {e}")

        return list(await asyncio.gather(*(one(s) for s in req.stream_ids)))

    async def _inspect(self, year: int, stream_id: str) -> InspectionResult:
        entry = await inspections.to_inspect(self._pool, year, stream_id)
        if entry is None:
            raise ApplicationError(f"{stream_id} is not on the {year} roster", non_retryable=True)
        if entry["status"] in ("delivered", "closed"):
            return self._result(entry, already=True)
        if entry["permit_status"] != "in_force":  # ended since the roster was taken: nothing to inspect
            status, delivery = "closed", f"not inspected: the permit is {entry['permit_status']}"
        else:
            assessed = entry if entry["status"] != "pending" else await self._assess(entry)
            status, delivery = await self._deliver(assessed, year)
        return self._result(await inspections.mark(self._pool, year, stream_id, status, delivery))

    async def _assess(self, entry: asyncpg.Record) -> asyncpg.Record:
        """`entry` as `inspections.to_inspect` reads it (with its campaign and the permit's row)."""
        year, stream_id, on = entry["year"], entry["stream_id"], entry["campaign_start_day"]
        start, end = year_window(year - 1)
        summary = await ledger.annual_summary(self._pool, stream_id, start, end, QUIET_DAYS,
                                              late_after_days=LATE_AFTER_DAYS)
        try:
            application = await permit_application(self._client, stream_id)
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise  # the permit's worker is away: retry later rather than store an item left unassessed
            log.warning("approved matters unreadable", permit_id=stream_id, error=e.message)
            application = None
        found = await supervision_store.violations_of(self._pool, entry["credit_code"], date(year - 1, 1, 1), on)
        items = inspect(year, on, summary, application, found, policy(entry["permit_policy_version"]),
                        valid_from=entry["permit_valid_from"])
        breaches = [f"({i.item}) {f}" for i in items if i.outcome == "breach" for f in (i.findings or [i.summary])]
        return await inspections.record_assessment(
            self._pool, year, stream_id, outcome=overall(items), items=[i.model_dump() for i in items],
            breaches=breaches, inspector=entry["campaign_inspector"], campaign_id=entry["campaign_campaign_id"])

    async def _deliver(self, entry: asyncpg.Record, year: int) -> tuple[str, str]:
        """Art. 22: the inspection is recorded on the permit, whose workflow orders any rectification."""
        stream_id = entry["stream_id"]
        report = InspectionReport(
            actor=Actor(body=Body.COMMERCE, name=entry["inspector"]), year=year, campaign_id=entry["campaign_id"],
            items=[InspectionItem.model_validate(i) for i in entry["items"]], inspector=entry["inspector"])
        handle = self._client.get_workflow_handle(f"application/{stream_id}")
        try:
            outcome = await handle.execute_update("record_inspection", report, id=update_id(year), result_type=Outcome)
        except WorkflowUpdateFailedError as e:
            cause = e.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "AlreadyDecided"):
                raise ApplicationError(f"{stream_id}: the permit refused the inspection: {cause}",
                                       non_retryable=True) from None
            state = await self._pool.fetchval("SELECT status FROM permits WHERE stream_id = $1", stream_id)
            if state != "in_force":
                return "closed", f"not inspected: the permit is {state}"
            return "delivered", f"already recorded: {cause.message}"
        except RPCError as e:
            if e.status is not RPCStatusCode.NOT_FOUND:
                raise
            state = await self._pool.fetchval("SELECT status FROM permits WHERE stream_id = $1", stream_id)
            if state == "in_force":
                raise  # caught between two runs of the permit's workflow: try again
            return "closed", f"not inspected: the permit is {state}"
        log.info("inspection recorded", permit_id=stream_id, year=year, outcome=entry["outcome"], detail=outcome.detail)
        return "delivered", outcome.detail

    @staticmethod
    def _result(entry: asyncpg.Record, already: bool = False) -> InspectionResult:
        outcome = "closed" if entry["status"] == "closed" else entry["outcome"]
        return InspectionResult(stream_id=entry["stream_id"], district=entry["district"], outcome=outcome,
                                already=already)

    @activity.defn(name="write_inspection_report")
    async def write_report(self, year: int) -> ReportFiles:
        campaign = await inspections.campaign(self._pool, year)
        entries = await inspections.entries(self._pool, year)
        directory = self.reports_dir()
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for ext, text in (("csv", render_csv(year, entries)),
                          ("md", render_markdown(year, campaign["start_day"] if campaign else None, entries))):
            path = directory / f"inspections-{year}.{ext}"
            tmp = path.with_suffix(f".{ext}.tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            paths[ext] = str(path.resolve())
        await inspections.reported(self._pool, year)
        return ReportFiles(csv=paths["csv"], markdown=paths["md"], permits=len(entries))

    def reports_dir(self) -> Path:
        if self._reports_dir is not None:
            return self._reports_dir
        from bunker.settings import get_settings

        return get_settings().data_dir / "reports"
