"""Nothing is lost: a worker restarted mid-review, and a decision deadline that lapses (Art. 12)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bunker import services
from domain.bodies import JOINT_REVIEW_PANEL, Body
from tests.integration.histories import replay_and_keep
from tests.integration.licensing_helpers import (
    COMMERCE, GOVERNMENT, NANSHA, agency, events_of, start, to_joint_review, types,
)
from workers.worker import build_worker
from workflows.licensing import PermitApplication
from workflows.licensing_messages import Accept, Decide, PreliminaryOpinion, ReviewDecision, Stage, Submission


async def test_a_worker_restarted_mid_review_loses_nothing(temporal_env, client, pool):
    queue = f"restart-{uuid.uuid4()}"
    async with build_worker(client, pool, queue):
        app_id, h = await start(temporal_env, client, pool, queue)
        await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
        await h.execute_update(PermitApplication.preliminary_review,
                               PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
        half = JOINT_REVIEW_PANEL[:3]
        for body in half:
            await h.execute_update(PermitApplication.joint_review,
                                   ReviewDecision(actor=agency(body), agency=body, decision="approve"))
    # The first worker is gone; a new one (empty cache) must rebuild the file from its history alone.
    async with build_worker(client, pool, queue):
        status = await h.query(PermitApplication.status)
        assert status.stage is Stage.JOINT_REVIEW and set(status.reviews) == {b.value for b in half}
        for body in JOINT_REVIEW_PANEL[3:]:
            await h.execute_update(PermitApplication.joint_review,
                                   ReviewDecision(actor=agency(body), agency=body, decision="approve"))
        await h.execute_update(PermitApplication.submit_to_government,
                               Submission(actor=COMMERCE, recommendation="approve", consolidated_opinion="同意"))
        await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
        assert (await h.result()).stage is Stage.APPROVED
    await replay_and_keep(h, "licensing-restarted")
    recorded = await types(pool, app_id)
    assert recorded.count("AgencyReviewGiven") == 6 and recorded.count("Approved") == 1
    versions = [v for v in await pool.fetch("SELECT version FROM events WHERE stream_id=$1 ORDER BY version", app_id)]
    assert [r["version"] for r in versions] == list(range(1, len(recorded) + 1))


async def test_a_lapsed_decision_deadline_is_recorded_and_escalated_never_deemed_approved(
    temporal_env, client, pool, task_queue
):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    for body in JOINT_REVIEW_PANEL:
        await h.execute_update(PermitApplication.joint_review,
                               ReviewDecision(actor=agency(body), agency=body, decision="approve"))
    await h.execute_update(PermitApplication.submit_to_government,
                           Submission(actor=COMMERCE, recommendation="approve", consolidated_opinion="同意"))
    await temporal_env.fast_forward(h, timedelta(days=45))  # well past 20 working days from acceptance
    overdue = [e for e in await events_of(pool, app_id, "DeadlineOverdue") if e.payload["step"] == "decide"]
    assert len(overdue) == 1 and overdue[0].article == "12"
    assert any(e.payload["step"] == "decide" for e in await events_of(pool, app_id, "DeadlineEscalated"))
    status = await h.query(PermitApplication.status)
    assert status.stage is Stage.DECISION and status.permit_number is None  # no deemed approval
    assert status.next_deadline is not None and status.next_deadline.state == "overdue"
    await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
    assert (await h.result()).stage is Stage.APPROVED
    assert "Approved" in await types(pool, app_id)
    await replay_and_keep(h, "licensing-decision-overdue")


async def test_an_overdue_joint_review_is_reminded_then_escalated_and_stays_open(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    await temporal_env.fast_forward(h, timedelta(days=20))  # past the reminder and the review sub-deadline
    reminders = {e.payload["body"] for e in await events_of(pool, app_id, "DeadlineReminder")
                 if e.payload["step"] == "joint_review"}
    escalated = {e.payload["body"] for e in await events_of(pool, app_id, "DeadlineEscalated")
                 if e.payload["step"] == "joint_review"}
    panel = {b.value for b in JOINT_REVIEW_PANEL}
    assert reminders == panel and escalated == panel
    inbox = await pool.fetch("SELECT body FROM tasks WHERE stream_id=$1 AND kind='joint_review'", app_id)
    assert {r["body"] for r in inbox} == panel  # escalated, never dropped
    await h.execute_update(PermitApplication.joint_review,
                           ReviewDecision(actor=agency(Body.MSA), agency=Body.MSA, decision="approve"))
    inbox = await pool.fetch("SELECT body FROM tasks WHERE stream_id=$1 AND kind='joint_review'", app_id)
    assert {r["body"] for r in inbox} == panel - {"msa"}
    await h.terminate("test done")
