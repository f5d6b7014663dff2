"""Art. 22 on the permit: an inspection's breach orders rectification within a time limit; at the limit it
is verified, or escalated into an Art. 25 termination proposal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.calendar import WorkingCalendar
from domain.policy import policy
from tests.integration.licensing_helpers import APPLICANT, COMMERCE, NANSHA, events_of, permit_in_force, types
from workflows.permit import Permit
from workflows.permit_messages import InspectionItem, InspectionReport, RectificationReport, RectificationVerdict


def report(year: int, breach_item: int | None) -> InspectionReport:
    items = [InspectionItem(item=i, outcome="breach" if i == breach_item else "ok",
                            summary=f"item {i}", findings=["供油记录缺少质量流量计读数"] if i == breach_item else [])
             for i in (1, 2, 3, 4)]
    return InspectionReport(actor=COMMERCE, year=year, campaign_id=f"campaign-{year}", items=items, inspector="王检查员")


async def test_a_breach_rectified_in_time_is_verified(temporal_env, client, pool, task_queue):
    stream, h = await permit_in_force(temporal_env, client, task_queue)
    await h.execute_update(Permit.record_inspection, report(2026, breach_item=2))
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await h.execute_update(Permit.record_inspection, report(2026, breach_item=None))
    assert twice.value.cause.type == "AlreadyDecided"
    ordered = (await events_of(pool, stream, "RectificationOrdered"))[0]
    today = WorkingCalendar.local_date(ordered.occurred_at)
    assert ordered.article == "22" and ordered.payload["due_date"] == WorkingCalendar().add_workdays(
        today, policy("gz-2022").rectification_workdays).date.isoformat()
    assert "责令" in ordered.payload["notice_zh"]
    inbox = {r["kind"] for r in await pool.fetch("SELECT kind FROM tasks WHERE stream_id=$1", stream)}
    assert {"report_rectification", "verify_rectification"} <= inbox
    await temporal_env.fast_forward(h, timedelta(days=10))
    with pytest.raises(WorkflowUpdateFailedError) as not_district:
        await h.execute_update(Permit.verify_rectification, RectificationVerdict(actor=NANSHA, rectified=True, remarks="x"))
    assert not_district.value.cause.type == "NotAuthorised"
    await h.execute_update(Permit.report_rectification, RectificationReport(actor=APPLICANT, description="已加装流量计"))
    await h.execute_update(Permit.verify_rectification, RectificationVerdict(actor=COMMERCE, rectified=True, remarks="复查合格"))
    await temporal_env.fast_forward(h, timedelta(days=40))
    assert "RectificationVerified" in await types(pool, stream)
    assert "TerminationProposed" not in await types(pool, stream)
    await h.terminate("test done")


async def test_a_breach_not_rectified_by_the_time_limit_is_escalated_to_termination(temporal_env, client, pool, task_queue):
    stream, h = await permit_in_force(temporal_env, client, task_queue)
    await h.execute_update(Permit.record_inspection, report(2026, breach_item=3))
    await temporal_env.fast_forward(h, timedelta(days=40))  # past 20 working days
    failed = (await events_of(pool, stream, "RectificationFailed"))[0]
    proposed = (await events_of(pool, stream, "TerminationProposed"))[0]
    assert failed.article == "22" and proposed.payload["cause"] == "3"  # a licence/lease breach: Art. 25(3)
    status = await h.query(Permit.status)
    assert status.rectification is None and status.termination is not None and status.stage.startswith("termination")
    await h.terminate("test done")
