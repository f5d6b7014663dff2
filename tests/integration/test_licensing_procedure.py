"""The licensing procedure end to end on the real Temporal server and PostgreSQL (Art. 9–12, 24)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from bunker import services
from domain.bodies import Body
from domain.calendar import WorkingCalendar
from domain.eligibility import years_after
from domain.findings import finding
from domain.identifiers import make_credit_code
from tests.fixtures.applications import replace_enterprise, replace_tanker, valid_application
from tests.integration.histories import replay_and_keep
from tests.integration.licensing_helpers import (
    APPLICANT, COMMERCE, GOVERNMENT, NANSHA, TIANHE, agency, approve_all, events_of, handed_over, start, to_joint_review,
    types,
)
from workflows.licensing import PermitApplication
from workflows.permit import Permit
from workflows.licensing_messages import (
    Accept, Decide, ExtendDeadline, FalseMaterials, NotifyCorrections, PauseClock, PreliminaryOpinion, ResumeClock,
    ReviewDecision, Stage, SubmitCorrections, Submission, Withdraw,
)

CAL = WorkingCalendar()


def refused_type(exc: pytest.ExceptionInfo) -> str:
    return exc.value.cause.type


async def today(env, h) -> date:
    return WorkingCalendar.local_date(await env.get_current_time(h))


async def test_art9_one_notice_lists_every_finding_and_acceptance_is_dated_when_corrected_materials_arrive(
    temporal_env, client, pool, task_queue
):
    received_on = WorkingCalendar.local_date(datetime.now(UTC))
    small = replace_tanker(valid_application(received_on), dwt=999)  # Art. 5(1) finding
    app_id, h = await start(temporal_env, client, pool, task_queue, small)
    extra = finding("7", "documents.business_licence_copy", "营业执照复印件不清晰", "The business licence copy is illegible")
    await h.execute_update(PermitApplication.notify_corrections, NotifyCorrections(actor=NANSHA, items=[extra]))
    notice = (await events_of(pool, app_id, "CorrectionsNotified"))[0]
    items = {i["item"] for i in notice.payload["items"]}
    assert "documents.business_licence_copy" in items and any(i.startswith("tankers") for i in items)
    assert "第九条" in notice.payload["notice_zh"] and "Art. 9" in notice.payload["notice_en"]

    await temporal_env.fast_forward(h, timedelta(days=3))
    corrected_on = await today(temporal_env, h)
    await h.execute_update(PermitApplication.submit_corrections,
                           SubmitCorrections(actor=APPLICANT, application=valid_application(received_on)))
    # Only one notice (一次告知): the same matters may not be notified again.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await h.execute_update(PermitApplication.notify_corrections, NotifyCorrections(actor=NANSHA, items=[extra]))
    assert refused_type(refused) == "AlreadyDecided" and "Art. 9" in str(refused.value.cause)
    await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    status = await h.query(PermitApplication.status)
    assert status.accepted_on == corrected_on and status.stage is Stage.PRELIMINARY_REVIEW
    assert await types(pool, app_id) == ["ApplicationReceived", "CorrectionsNotified", "CorrectionsSubmitted", "Accepted"]
    await replay_and_keep(h, "licensing-corrected")


async def test_art24_false_materials_ban_the_applicant_for_a_year(temporal_env, client, pool, task_queue):
    # An enterprise of its own, so the ban does not reach the other tests' applicant.
    cheat = replace_enterprise(valid_application(WorkingCalendar.local_date(datetime.now(UTC))),
                               credit_code=make_credit_code("91440115MA5BANNED"))
    app_id, h = await start(temporal_env, client, pool, task_queue, cheat)
    await h.execute_update(PermitApplication.find_false_materials,
                           FalseMaterials(actor=NANSHA, reason="船舶检验证书系伪造"))
    status = await h.result()
    assert status.stage is Stage.NOT_ACCEPTED
    await replay_and_keep(h, "licensing-not-accepted")
    banned = (await events_of(pool, app_id, "ApplicantBanned"))[0]
    assert banned.article == "24"
    found_on = WorkingCalendar.local_date(banned.occurred_at)
    first_free_day = years_after(found_on, 1) + timedelta(days=1)  # banned through the anniversary
    assert banned.payload["ban_ends_on"] == first_free_day.isoformat()

    app = replace_enterprise(valid_application(found_on), credit_code=cheat.enterprise.credit_code)
    day_364 = datetime.combine(found_on + timedelta(days=364), datetime.min.time(), tzinfo=UTC)
    with pytest.raises(services.IntakeRefused) as refused:
        await services.submit_application(client, pool, task_queue, app, received_at=day_364 + timedelta(hours=4))
    assert str(first_free_day) in str(refused.value) and "第二十四条" in str(refused.value)
    after_year = datetime.combine(first_free_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=4)
    again = await services.submit_application(client, pool, task_queue, app, received_at=after_year)
    assert again.application_id != app_id
    await services.application_handle(client, again.application_id).terminate("test done")


async def test_art9_preliminary_review_overdue_is_recorded_then_escalated(temporal_env, client, pool, task_queue):
    app_id, h = await start(temporal_env, client, pool, task_queue)
    await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    await temporal_env.fast_forward(h, timedelta(days=21))  # past 5 working days, then the red-card period
    overdue = (await events_of(pool, app_id, "DeadlineOverdue"))[0]
    escalated = (await events_of(pool, app_id, "DeadlineEscalated"))[0]
    assert (overdue.article, overdue.payload["step"], overdue.payload["body"]) == ("9", "preliminary_review", "district:nansha")
    assert escalated.payload["to"] == "commerce" and escalated.occurred_at > overdue.occurred_at
    # The step stays open: the district can still give its opinion, and the procedure goes on.
    await h.execute_update(PermitApplication.preliminary_review,
                           PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    assert (await h.query(PermitApplication.status)).stage is Stage.JOINT_REVIEW


async def test_six_approvals_lead_to_a_permit_valid_for_two_years(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    application_run = (await h.describe()).run_id
    await approve_all(h)
    await h.execute_update(PermitApplication.submit_to_government,
                           Submission(actor=COMMERCE, recommendation="approve", consolidated_opinion="各部门均同意"))
    await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=True))
    status = await client.get_workflow_handle_for(PermitApplication.run, h.id, run_id=application_run).query(
        PermitApplication.status)
    decided_on = await today(temporal_env, h)
    assert status.stage is Stage.APPROVED and status.permit_number.startswith(f"GZBB-{decided_on.year}-")
    assert (status.valid_from, status.valid_until) == (decided_on, years_after(decided_on, 2) - timedelta(days=1))
    # The file lives on as the permit's own workflow: same id, same event stream.
    permit = await handed_over(client, h, pool)
    in_force = await permit.query(Permit.status)
    assert (in_force.status, in_force.permit_number, in_force.valid_until) == (
        "in_force", status.permit_number, status.valid_until)
    assert (await types(pool, app_id))[-2:] == ["Approved", "PermitInForce"]
    approved = (await events_of(pool, app_id, "Approved"))[0]
    assert approved.article == "11" and "准予" in approved.payload["notice_zh"]
    reviews = await events_of(pool, app_id, "AgencyReviewGiven")
    assert sorted(r.payload["agency"] for r in reviews) == sorted(b.value for b in
                                                                   (Body.PORTS, Body.EMERGENCY, Body.ENVIRONMENT,
                                                                    Body.CUSTOMS_GZ, Body.CUSTOMS_HP, Body.MSA))
    await replay_and_keep(client.get_workflow_handle(h.id, run_id=application_run), "licensing-approved")
    row = await pool.fetchrow("SELECT status, kind, permit_number, valid_until FROM permits WHERE stream_id=$1", app_id)
    assert (row["status"], row["kind"], row["permit_number"], row["valid_until"]) == (
        "in_force", "permit", status.permit_number, status.valid_until)
    await permit.terminate("test done")


async def test_one_objection_leads_to_a_written_refusal_with_reasons(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    await approve_all(h, except_=(Body.CUSTOMS_HP,))
    await h.execute_update(PermitApplication.joint_review, ReviewDecision(
        actor=agency(Body.CUSTOMS_HP), agency=Body.CUSTOMS_HP, decision="object", reasons="信息系统未与黄埔海关联网"))
    await h.execute_update(PermitApplication.submit_to_government, Submission(
        actor=COMMERCE, recommendation="refuse", consolidated_opinion="黄埔海关不同意：信息系统未联网"))
    with pytest.raises(WorkflowUpdateFailedError) as no_reason:
        await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=False))
    assert refused_type(no_reason) == "Invalid"
    await h.execute_update(PermitApplication.decide, Decide(actor=GOVERNMENT, approve=False,
                                                            reasons="不符合第五条第三项：信息系统未与海关联网"))
    assert (await h.result()).stage is Stage.REFUSED
    refusal = (await events_of(pool, app_id, "Refused"))[0]
    assert refusal.article == "11" and "第五条第三项" in refusal.payload["notice_zh"]
    await replay_and_keep(h, "licensing-refused")


async def test_art12_extension_is_granted_once_and_a_second_is_refused(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    before = (await h.query(PermitApplication.status)).deadlines
    due = next(d for d in before if d.label.startswith("ALL 42")).due_date
    ext = ExtendDeadline(actor=GOVERNMENT, approver="副市长 王某", reason="需补充征求海事意见")
    await h.execute_update(PermitApplication.extend_deadline, ext)
    after = next(d for d in (await h.query(PermitApplication.status)).deadlines if d.label.startswith("ALL 42"))
    assert after.due_date == CAL.add_workdays(due, 10).date
    with pytest.raises(WorkflowUpdateFailedError) as second:
        await h.execute_update(PermitApplication.extend_deadline, ext)
    assert refused_type(second) == "AlreadyDecided" and "once" in str(second.value.cause)
    extended = (await events_of(pool, app_id, "DecisionDeadlineExtended"))
    assert len(extended) == 1 and extended[0].article == "12" and extended[0].payload["approver"] == "副市长 王某"


async def test_all45_pause_moves_the_decision_deadline_by_the_paused_working_days(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    due = next(d for d in (await h.query(PermitApplication.status)).deadlines if d.label.startswith("ALL 42")).due_date
    await h.execute_update(PermitApplication.pause_clock, PauseClock(
        actor=COMMERCE, cause="expert_review", expected_workdays=5, reason="组织专家评审油罐安全条件"))
    paused_on = await today(temporal_env, h)
    await temporal_env.fast_forward(h, timedelta(days=9))
    resumed_on = await today(temporal_env, h)
    await h.execute_update(PermitApplication.resume_clock, ResumeClock(actor=COMMERCE))
    paused = CAL.workdays_between(paused_on, resumed_on)
    assert paused >= 5
    moved = next(d for d in (await h.query(PermitApplication.status)).deadlines if d.label.startswith("ALL 42"))
    assert moved.due_date == CAL.add_workdays(due, paused).date
    resumed = (await events_of(pool, app_id, "DecisionClockResumed"))[0]
    assert (resumed.article, resumed.payload["paused_workdays"]) == ("ALL 45", paused)
    assert (await events_of(pool, app_id, "DecisionClockPaused"))[0].payload["notice_en"].startswith("The decision clock")


async def test_the_applicant_may_withdraw_before_the_decision(temporal_env, client, pool, task_queue):
    app_id, h = await to_joint_review(temporal_env, client, pool, task_queue)
    await h.execute_update(PermitApplication.withdraw, Withdraw(actor=APPLICANT, reason="经营计划调整"))
    assert (await h.result()).stage is Stage.WITHDRAWN
    assert (await types(pool, app_id))[-1] == "Withdrawn"
    await replay_and_keep(h, "licensing-withdrawn")
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id=$1", app_id) == 0


async def test_only_the_body_the_measures_name_may_act(temporal_env, client, pool, task_queue):
    app_id, h = await start(temporal_env, client, pool, task_queue)
    for wrong in (TIANHE, COMMERCE, APPLICANT):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(PermitApplication.accept, Accept(actor=wrong))
        assert refused_type(refused) == "NotAuthorised" and "Art. 9" in str(refused.value.cause)
    await h.execute_update(PermitApplication.accept, Accept(actor=NANSHA))
    await h.execute_update(PermitApplication.preliminary_review,
                           PreliminaryOpinion(actor=NANSHA, favourable=True, opinion="同意"))
    # customs_gz may give its own review only, never another agency's.
    with pytest.raises(WorkflowUpdateFailedError) as other:
        await h.execute_update(PermitApplication.joint_review, ReviewDecision(
            actor=agency(Body.CUSTOMS_GZ), agency=Body.CUSTOMS_HP, decision="approve"))
    assert refused_type(other) == "NotAuthorised"
    await h.execute_update(PermitApplication.joint_review, ReviewDecision(
        actor=agency(Body.CUSTOMS_GZ), agency=Body.CUSTOMS_GZ, decision="approve"))
    with pytest.raises(WorkflowUpdateFailedError) as twice:
        await h.execute_update(PermitApplication.joint_review, ReviewDecision(
            actor=agency(Body.CUSTOMS_GZ), agency=Body.CUSTOMS_GZ, decision="object", reasons="x"))
    assert refused_type(twice) == "AlreadyDecided" and "approve" in str(twice.value.cause)
    # Refused attempts left no trace in the store; the accepted ones did, once each.
    assert await types(pool, app_id) == ["ApplicationReceived", "Accepted", "PreliminaryReviewGiven",
                                         "JointReviewOpened", "AgencyReviewGiven"]
    await h.terminate("test done")
