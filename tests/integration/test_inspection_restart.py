"""A campaign stopped half-way and started again inspects nobody twice, and skips a permit that ended
meanwhile (Art. 22)."""

from __future__ import annotations

import uuid

from temporalio.client import WorkflowExecutionStatus

from bunker import inspections as campaigns
from domain.authority import Actor
from domain.bodies import Body, District
from tests.integration.supervision_helpers import (
    COMMERCE, count_events, enterprise_app, start_permit, today, wait_for,
)
from workers.worker import build_worker
from workflows.inspection_campaign import InspectionCampaign
from workflows.permit import Permit
from workflows.permit_messages import (
    InspectionItem, InspectionReport, ProposeTermination, TerminationDecision, TerminationReport, TerminationReview,
)

PERMITS = 24


async def test_a_campaign_terminated_half_way_and_started_again_inspects_each_permit_once(
    temporal_env, client, pool, tmp_path
):
    queue, year = f"restart-{uuid.uuid4()}", today().year
    workflow_id = f"inspection-campaign/{uuid.uuid4()}"
    async with build_worker(client, pool, queue, reports_dir=tmp_path):
        permits = [await start_permit(temporal_env, client, pool, queue, enterprise_app(i)) for i in range(PERMITS)]
        # One permit was inspected for the year outside the campaign (another update id): its validator's
        # AlreadyDecided counts as delivered.
        await permits[0][1].execute_update(Permit.record_inspection, InspectionReport(
            actor=COMMERCE, year=year, campaign_id="manual", inspector="现场检查组",
            items=[InspectionItem(item=n, outcome="ok", summary="现场检查") for n in (1, 2, 3, 4)]), id="manual")
        first = await campaigns.start_campaign(client, queue, year, workflow_id=workflow_id, page_size=4, concurrency=2)

        async def half_done():
            p = await first.query(InspectionCampaign.progress)
            return p.done >= PERMITS // 4 and p
        stopped_at = await wait_for(half_done, "a quarter of the roster")
        await first.terminate("operator stopped the campaign")
        assert (await first.describe()).status is WorkflowExecutionStatus.TERMINATED
        delivered = await pool.fetchval("SELECT count(*) FROM inspections WHERE year = $1 AND status = 'delivered'", year)
        assert stopped_at.done <= delivered < PERMITS  # half-way indeed: some delivered, not all

        # Meanwhile one permit not yet inspected ends (Art. 25): it was in force on the start day, but there
        # is nothing left to inspect.
        ended = await pool.fetchrow(
            """SELECT i.stream_id, p.district FROM inspections i JOIN permits p USING (stream_id)
               WHERE i.year = $1 AND i.status = 'pending' ORDER BY i.stream_id DESC LIMIT 1""", year)
        h = dict(permits)[ended["stream_id"]]
        district = Actor(body=Body.DISTRICT, district=District(ended["district"]))
        await h.execute_update(Permit.propose_termination, ProposeTermination(actor=COMMERCE, cause="4", basis="企业申请注销"))
        await h.execute_update(Permit.termination_review, TerminationReview(actor=district, agree=True, opinion="同意"))
        await h.execute_update(Permit.termination_report, TerminationReport(actor=COMMERCE, recommend=True, report="建议终止"))
        await h.execute_update(Permit.decide_termination, TerminationDecision(
            actor=Actor(body=Body.MUNICIPAL_GOV), terminate=True, reasons="企业申请注销"))

        second = await campaigns.start_campaign(client, queue, year, workflow_id=workflow_id, page_size=4,
                                                concurrency=2)
        assert second.result_run_id != first.result_run_id
        result = await second.result()

    assert (result.total, result.done, result.outcomes) == (PERMITS, PERMITS, {"clear": PERMITS - 1, "closed": 1})
    assert result.campaign_id == workflow_id and result.start_day == today()
    rows = {r["stream_id"]: r["status"] for r in await pool.fetch(
        "SELECT stream_id, status FROM inspections WHERE year = $1", year)}
    assert len(rows) == PERMITS and rows.pop(ended["stream_id"]) == "closed"
    assert set(rows.values()) == {"delivered"}
    manual = await pool.fetchrow("SELECT delivery FROM inspections WHERE year = $1 AND stream_id = $2", year, permits[0][0])
    assert manual["delivery"].startswith("already recorded")
    for stream_id, handle in permits:
        assert await count_events(pool, stream_id, "InspectionRecorded") == (stream_id != ended["stream_id"]), stream_id
        if stream_id != ended["stream_id"]:
            await handle.terminate("test done")
