"""Nothing is lost: a worker restarted mid-review, and a decision deadline that lapses (Art. 12)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bunker import services
from domain.bodies import JOINT_REVIEW_PANEL, Body
from tests.integration.histories import replay_and_keep
from tests.integration.supervision_helpers import wait_for
from tests.integration.licensing_helpers import (
    COMMERCE, GOVERNMENT, NANSHA, agency, events_of, handed_over, start, to_joint_review, types,
)
from workers.worker import build_worker
from workflows.licensing import PermitApplication
from workflows.permit import Permit
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
        application_run = (await h.describe()).run_id
        await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
        permit = await handed_over(client, h, pool)
        assert (await permit.query(Permit.status)).status == "in_force"
        await permit.terminate("test done")
    await replay_and_keep(client.get_workflow_handle(h.id, run_id=application_run), "licensing-restarted")
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
    application_run = (await h.describe()).run_id
    await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
    permit = await handed_over(client, h, pool)
    assert "Approved" in await types(pool, app_id)
    await permit.terminate("test done")
    await replay_and_keep(client.get_workflow_handle(h.id, run_id=application_run), "licensing-decision-overdue")


async def _at_least(probe, n: int) -> bool:
    return len(await probe()) >= n


async def test_a_decision_period_lapsing_at_the_panel_cards_the_agencies_that_have_not_answered(
    temporal_env, client, pool, task_queue
):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    panel = [Body(r["body"]) for r in await pool.fetch(
        "SELECT body FROM tasks WHERE stream_id = $1 AND kind = 'joint_review' ORDER BY body", app_id)]
    silent = set(panel[:2])
    for body in panel:
        if body not in silent:
            await h.execute_update(PermitApplication.joint_review,
                                   ReviewDecision(actor=agency(body), agency=body, decision="approve"))
    await temporal_env.fast_forward(h, timedelta(days=45))  # past the 20 working days of ALL 42

    async def lapse_cards():
        return [e for e in await events_of(pool, app_id, "DeadlineEscalated") if e.payload.get("period")]

    await wait_for(lambda: _at_least(lapse_cards, len(silent)), "a red card for each silent agency")
    lapse = [e for e in await events_of(pool, app_id, "DeadlineOverdue") if e.payload.get("period") == "ALL 42 decision"]
    assert {e.payload["body"] for e in lapse} == {b.value for b in silent}  # not the government: it never had it
    assert all(e.article == "12" and e.payload["step"] == "joint_review" for e in lapse)
    red = [e for e in await events_of(pool, app_id, "DeadlineEscalated") if e.payload.get("period") == "ALL 42 decision"]
    assert {(e.payload["body"], e.payload["to"]) for e in red} == {(b.value, "commerce") for b in silent}
    await h.terminate("test done")
    await replay_and_keep(h, "licensing-decision-lapsed-at-the-panel")


async def test_an_overdue_joint_review_is_reminded_then_escalated_and_stays_open(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    inbox = await pool.fetch("SELECT body, due_date FROM tasks WHERE stream_id=$1 AND kind='joint_review'", app_id)
    assert len(inbox) == 6 and all(r["due_date"] for r in inbox)  # each reviewer sees its deadline at once
    await temporal_env.fast_forward(h, timedelta(days=35))  # past reminder, sub-deadline and red-card period

    def by_body(events):
        return {e.payload["body"] for e in events if e.payload.get("step") in ("joint_review", f"review:{e.payload['body']}")}

    panel = {b.value for b in JOINT_REVIEW_PANEL}
    assert by_body(await events_of(pool, app_id, "DeadlineReminder")) == panel
    assert by_body(await events_of(pool, app_id, "DeadlineOverdue")) == panel  # yellow card
    assert by_body(await events_of(pool, app_id, "DeadlineEscalated")) == panel  # red card
    inbox = await pool.fetch("SELECT body FROM tasks WHERE stream_id=$1 AND kind='joint_review'", app_id)
    assert {r["body"] for r in inbox} == panel  # escalated, never dropped
    await h.execute_update(PermitApplication.joint_review,
                           ReviewDecision(actor=agency(Body.MSA), agency=Body.MSA, decision="approve"))
    inbox = await pool.fetch("SELECT body FROM tasks WHERE stream_id=$1 AND kind='joint_review'", app_id)
    assert {r["body"] for r in inbox} == panel - {"msa"}
    await h.terminate("test done")
