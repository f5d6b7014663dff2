"""The permit in force (Art. 13–15, 23–25; ALL 44, 50), under time skipping on the real stack."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError

from bunker import services
from domain.application import DocumentKind
from domain.authority import Actor
from domain.bodies import JOINT_REVIEW_PANEL, Body
from domain.calendar import WorkingCalendar
from domain.changes import DEPARTMENTS_CONCERNED, ChangeKind
from domain.ledger import Movement
from store import ledger
from tests.fixtures.applications import lease_tanker, replace_enterprise, valid_application
from tests.integration.histories import replay_and_keep
from tests.integration.licensing_helpers import (
    APPLICANT, COMMERCE, GOVERNMENT, NANSHA, advance_to, agency, events_of, run_procedure, to_permit, types,
)
from workflows.permit import Permit
from workflows.permit_messages import (
    ApplyChange, ApplyRenewal, ConfirmFiling, IssueDocument, ProposeTermination, ReportDormancy, RevocationDecision,
    RevocationReport, TerminationDecision, TerminationReport, TerminationReview,
)


async def now_of(env, h) -> datetime:
    return await env.get_current_time(h)


async def test_art13_filings_are_reminded_until_each_body_confirms_and_all44_document_issued(
    temporal_env, client, pool, task_queue
):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue, settle=False)
    status = await h.query(Permit.status)
    assert set(status.filings) == {"market", "customs_gz", "msa", "border"} and not any(status.filings.values())
    inbox = {r["task_id"] for r in await pool.fetch("SELECT task_id FROM tasks WHERE stream_id=$1", app_id)}
    assert f"{app_id}/issue_permit_document" in inbox and f"{app_id}/confirm_filing/msa" in inbox

    with pytest.raises(WorkflowUpdateFailedError) as other:  # each body confirms its own filing only
        await h.execute_update(Permit.confirm_filing, ConfirmFiling(actor=agency(Body.MSA), body=Body.BORDER, reference="x"))
    assert other.value.cause.type == "NotAuthorised"
    await h.execute_update(Permit.issue_permit_document, IssueDocument(actor=COMMERCE, document_no="穗商务许〔2026〕1号"))
    await temporal_env.fast_forward(h, timedelta(days=30))
    reminders = await events_of(pool, app_id, "FilingReminder")
    assert reminders and reminders[0].article == "13" and "msa" in reminders[0].payload["outstanding"]
    for body in (Body.MARKET, Body.CUSTOMS_GZ, Body.MSA, Body.BORDER):
        await h.execute_update(Permit.confirm_filing, ConfirmFiling(actor=agency(body), body=body, reference=f"{body}-001"))
    assert all((await h.query(Permit.status)).filings.values())
    count = len(await events_of(pool, app_id, "FilingReminder"))
    await temporal_env.fast_forward(h, timedelta(days=30))
    assert len(await events_of(pool, app_id, "FilingReminder")) == count  # no reminder once all are confirmed
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id=$1 AND kind IN "
                               "('confirm_filing', 'issue_permit_document')", app_id) == 0
    issued = (await events_of(pool, app_id, "PermitDocumentIssued"))[0]
    assert issued.article == "ALL 44"
    await h.terminate("test done")


async def test_renewal_applied_45_days_before_expiry_is_granted_and_the_new_term_follows_the_old(
    temporal_env, client, pool, task_queue
):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    first = await h.query(Permit.status)
    await advance_to(temporal_env, h, first.valid_until - timedelta(days=45))
    sent = [e.payload["days_before"] for e in await events_of(pool, app_id, "ExpiryReminder")]
    assert sent == [90, 60, 45]
    renewal = valid_application(WorkingCalendar.local_date(await now_of(temporal_env, h)))
    await h.execute_update(Permit.apply_renewal, ApplyRenewal(actor=APPLICANT, application=renewal))
    await run_procedure(h, JOINT_REVIEW_PANEL)
    granted = (await events_of(pool, app_id, "RenewalApproved"))[0]
    new_from = first.valid_until + timedelta(days=1)
    assert granted.article == "14" and granted.payload["valid_from"] == new_from.isoformat()
    assert granted.payload["permit_number"] == first.permit_number  # keeps its number
    await advance_to(temporal_env, h, first.valid_until + timedelta(days=2))
    renewed = await h.query(Permit.status)
    assert (renewed.status, renewed.valid_from, renewed.permit_number) == ("in_force", new_from, first.permit_number)
    assert renewed.valid_until == date(new_from.year + 2, new_from.month, new_from.day) - timedelta(days=1)
    assert "ValidityRenewed" in await types(pool, app_id) and "Terminated" not in await types(pool, app_id)
    await replay_and_keep(h, "permit-renewed")
    await h.terminate("test done")


async def test_renewal_applied_20_days_before_expiry_is_refused_as_late_and_recorded(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    until = (await h.query(Permit.status)).valid_until
    await advance_to(temporal_env, h, until - timedelta(days=20))
    renewal = valid_application(WorkingCalendar.local_date(await now_of(temporal_env, h)))
    with pytest.raises(WorkflowUpdateFailedError) as late:
        await h.execute_update(Permit.apply_renewal, ApplyRenewal(actor=APPLICANT, application=renewal))
    assert late.value.cause.type == "RenewalTooLate" and "Art. 14" in str(late.value.cause)
    refused = (await events_of(pool, app_id, "RenewalRefusedAsLate"))[0]
    assert refused.payload["last_day"] == (until - timedelta(days=30)).isoformat()
    await h.terminate("test done")


async def test_deemed_renewed_when_the_government_has_not_decided_by_expiry(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    until = (await h.query(Permit.status)).valid_until
    await advance_to(temporal_env, h, until - timedelta(days=40))
    renewal = valid_application(WorkingCalendar.local_date(await now_of(temporal_env, h)))
    await h.execute_update(Permit.apply_renewal, ApplyRenewal(actor=APPLICANT, application=renewal))
    await advance_to(temporal_env, h, until + timedelta(days=1))
    deemed = (await events_of(pool, app_id, "DeemedRenewed"))[0]
    assert deemed.article == "ALL 50" and deemed.payload["valid_from"] == (until + timedelta(days=1)).isoformat()
    assert deemed.occurred_at >= WorkingCalendar.deadline_end(until)
    status = await h.query(Permit.status)
    assert status.status == "in_force" and status.valid_from == until + timedelta(days=1)
    await replay_and_keep(h, "permit-deemed-renewed")
    await h.terminate("test done")


async def test_expiry_without_renewal_terminates_the_permit_and_the_ledger_closes(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    until = (await h.query(Permit.status)).valid_until
    await advance_to(temporal_env, h, until + timedelta(days=1))
    final = await h.result()
    assert final.status == "terminated"
    ended = (await events_of(pool, app_id, "Terminated"))[0]
    assert (ended.article, ended.payload["cause"]) == ("25", "1")
    supply = _supply("V-late", await now_of(temporal_env, h) - timedelta(hours=1))
    with pytest.raises(ledger.LedgerRefused) as refused:
        await services.report_ledger(client, pool, app_id, "late-batch", [supply], now=await now_of(temporal_env, h))
    assert refused.value.code == "permit_not_in_force"
    await replay_and_keep(h, "permit-expired")


async def test_a_change_is_applied_only_on_approval_and_a_refused_one_changes_nothing(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    current = valid_application(WorkingCalendar.local_date(await now_of(temporal_env, h)))
    wider = current.model_copy(update={"scope_cross_district_direct_supply": True})
    await h.execute_update(Permit.apply_change, ApplyChange(actor=APPLICANT, change=ChangeKind.ADD_CROSS_DISTRICT_SUPPLY,
                                                            description="增加跨关区直供", application=wider))
    await run_procedure(h, DEPARTMENTS_CONCERNED[ChangeKind.ADD_CROSS_DISTRICT_SUPPLY])
    assert "customs_hp" in (await h.query(Permit.status)).filings  # a new Art. 13 filing is due
    renamed = replace_enterprise(current, name="广州南沙国际船供油有限公司")
    await h.execute_update(Permit.apply_change, ApplyChange(actor=APPLICANT, change=ChangeKind.NAME,
                                                            description="企业更名", application=renamed))
    await run_procedure(h, DEPARTMENTS_CONCERNED[ChangeKind.NAME], approve=False, reasons="更名未完成工商登记")
    assert [e.event_type for e in await events_of(pool, app_id, "ChangeApproved")
            + await events_of(pool, app_id, "ChangeRefused")] == ["ChangeApproved", "ChangeRefused"]
    row = await pool.fetchrow("SELECT enterprise_name FROM permits WHERE stream_id=$1", app_id)
    assert row["enterprise_name"] == current.enterprise.name  # the refused change left the data as it was
    await replay_and_keep(h, "permit-changes")
    await h.terminate("test done")


async def test_a_lease_expiring_without_replacement_leads_to_art25_3_termination(temporal_env, client, pool, task_queue):
    today = WorkingCalendar.local_date(datetime.now(UTC))
    lease_end = today + timedelta(days=200)
    app = lease_tanker(valid_application(today), start=lease_end - timedelta(days=365), end=lease_end)
    app_id, h = await to_permit(temporal_env, client, pool, task_queue, app)
    await advance_to(temporal_env, h, lease_end + timedelta(days=2))
    warning = next(e for e in await events_of(pool, app_id, "DocumentExpiryWarning")
                   if e.payload["kind"] == DocumentKind.TANKER_LEASE.value)
    assert warning.payload["valid_until"] == lease_end.isoformat()
    unmet = (await events_of(pool, app_id, "ConditionsNoLongerMet"))[0]
    proposed = (await events_of(pool, app_id, "TerminationProposed"))[0]
    assert (unmet.article, proposed.payload["cause"]) == ("25", "3")
    await h.execute_update(Permit.termination_review, TerminationReview(actor=NANSHA, agree=True, opinion="租约到期未续"))
    await h.execute_update(Permit.termination_report, TerminationReport(actor=COMMERCE, recommend=True, report="建议终止"))
    with pytest.raises(WorkflowUpdateFailedError) as wrong:
        await h.execute_update(Permit.decide_termination, TerminationDecision(actor=COMMERCE, terminate=True, reasons="x"))
    assert wrong.value.cause.type == "NotAuthorised"
    await h.execute_update(Permit.decide_termination,
                           TerminationDecision(actor=GOVERNMENT, terminate=True, reasons="不再具备第五条条件"))
    assert (await h.result()).status == "terminated"
    assert (await types(pool, app_id))[-4:] == ["TerminationProposed", "TerminationReviewed", "TerminationReported",
                                                "Terminated"]
    await replay_and_keep(h, "permit-terminated-lease")


async def test_market_regulation_reports_a_cancelled_business_licence_art25_2(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    with pytest.raises(WorkflowUpdateFailedError) as not_market:
        await h.execute_update(Permit.propose_termination, ProposeTermination(actor=COMMERCE, cause="2", basis="x"))
    assert not_market.value.cause.type == "NotAuthorised"
    await h.execute_update(Permit.propose_termination, ProposeTermination(
        actor=Actor(body=Body.MARKET), cause="2", basis="营业执照已被吊销"))
    await h.execute_update(Permit.termination_review, TerminationReview(actor=NANSHA, agree=False, opinion="正在复议"))
    await h.execute_update(Permit.termination_report, TerminationReport(actor=COMMERCE, recommend=False, report="待复议"))
    await h.execute_update(Permit.decide_termination, TerminationDecision(actor=GOVERNMENT, terminate=False,
                                                                          reasons="吊销决定已撤销"))
    assert (await h.query(Permit.status)).status == "in_force"
    assert "TerminationDeclined" in await types(pool, app_id)
    await h.terminate("test done")


@pytest.mark.parametrize("ground, years", [("deception", 1), ("fraud_or_bribery", 3)])
async def test_revocation_bans_the_enterprise(temporal_env, client, pool, task_queue, ground, years):
    from domain.identifiers import make_credit_code

    today = WorkingCalendar.local_date(datetime.now(UTC))
    code = make_credit_code(f"91440115MA5RECK0{years}")
    app = replace_enterprise(valid_application(today), credit_code=code)
    app_id, h = await to_permit(temporal_env, client, pool, task_queue, app)
    owner = Actor(body=Body.ENTERPRISE, credit_code=code)
    with pytest.raises(WorkflowUpdateFailedError):
        await h.execute_update(Permit.report_revocation, RevocationReport(actor=owner, ground=ground, basis="x"))
    await h.execute_update(Permit.report_revocation, RevocationReport(actor=COMMERCE, ground=ground, basis="以欺骗手段取得许可"))
    await h.execute_update(Permit.decide_revocation, RevocationDecision(actor=GOVERNMENT, revoke=True, reasons="依法撤销"))
    assert (await h.result()).status == "revoked"
    banned = (await events_of(pool, app_id, "ApplicantBanned"))[-1]
    revoked_on = WorkingCalendar.local_date(banned.occurred_at)
    anniversary = date(revoked_on.year + years, revoked_on.month, revoked_on.day)
    assert banned.payload["ban_ends_on"] == (anniversary + timedelta(days=1)).isoformat()
    with pytest.raises(services.IntakeRefused):
        await services.submit_application(client, pool, task_queue, app, received_at=banned.occurred_at + timedelta(days=300))


def _supply(voucher: str, at: datetime) -> Movement:
    return Movement(voucher_no=voucher, kind="supply", occurred_at=at, depot="南沙1号罐", quantity_t=Decimal("120.5"),
                    product="低硫燃料油 VLSFO 0.5%S", vessel_imo="IMO9074729", vessel_name="EVER GIVEN",
                    bdn_no=f"BDN-{voucher}", customs_declaration_no=f"D-{voucher}", mass_flow_meter_t=Decimal("120.5"),
                    vouchers=[f"INV-{voucher}"])


def _receipt(voucher: str, at: datetime) -> Movement:
    return Movement(voucher_no=voucher, kind="receipt", occurred_at=at, depot="南沙1号罐", quantity_t=Decimal("5000"),
                    product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"BL-{voucher}"])


async def test_six_quiet_months_are_reported_and_a_new_supply_resumes_the_watch(temporal_env, client, pool, task_queue):
    app_id, h = await to_permit(temporal_env, client, pool, task_queue)
    t0 = await now_of(temporal_env, h)
    await services.report_ledger(client, pool, app_id, "b1", [_receipt("R1", t0), _supply("S1", t0 + timedelta(minutes=5))],
                                 now=t0 + timedelta(minutes=6))
    await temporal_env.fast_forward(h, timedelta(days=100))
    assert "DormancyDetected" not in await types(pool, app_id)
    await temporal_env.fast_forward(h, timedelta(days=90))  # past 6 months since the supply
    detected = (await events_of(pool, app_id, "DormancyDetected"))[0]
    assert detected.article == "23" and detected.payload["to"] == "district:nansha"
    assert (await pool.fetchrow("SELECT dormant FROM permits WHERE stream_id=$1", app_id))["dormant"] is True
    assert await pool.fetchval("SELECT count(*) FROM tasks WHERE stream_id=$1 AND kind='report_dormancy'", app_id) == 1
    await h.execute_update(Permit.report_dormancy, ReportDormancy(actor=NANSHA, remarks="企业停业整顿"))
    now = await now_of(temporal_env, h)
    result = await services.report_ledger(client, pool, app_id, "b2", [_supply("S2", now - timedelta(hours=1))], now=now)
    assert result.resumed_from_dormancy
    for _ in range(100):  # the signal is handled asynchronously; bounded wait for its event
        if "SuppliesResumed" in await types(pool, app_id):
            break
        await temporal_env.fast_forward(h, timedelta(seconds=1))
    assert not (await h.query(Permit.status)).dormant
    assert (await types(pool, app_id)).count("SuppliesResumed") == 1
    # The 6 months run again from the new supply.
    await temporal_env.fast_forward(h, timedelta(days=150))
    assert (await types(pool, app_id)).count("DormancyDetected") == 1
    await replay_and_keep(h, "permit-dormancy")
    await h.terminate("test done")
