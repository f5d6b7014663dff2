"""The permit in force driven through HTTP, as the enterprise's and the bodies' systems would (Art. 13–15,
22–25; ALL 44, 50)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.bodies import JOINT_REVIEW_PANEL
from domain.calendar import WorkingCalendar
from domain.changes import DEPARTMENTS_CONCERNED, ChangeKind
from domain.identifiers import make_credit_code
from tests.fixtures.applications import replace_enterprise, valid_application
from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OWN_DISTRICT, application_json, event_types, gateway, tokens,
)
from tests.integration.licensing_helpers import COMMERCE, advance_to
from tests.integration.permit_gateway_helpers import ledger_start, permit_in_force, row
from workflows.permit import Permit
from workflows.permit_messages import InspectionItem, InspectionReport

PANEL = [b.value for b in JOINT_REVIEW_PANEL]


def ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def refused(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


async def run_procedure_over_http(gw, permit_id: str, panel: list[str], *, approve: bool = True) -> dict:
    """The renewal's or change's procedure, each body from its own inbox (the application's task kinds)."""
    await gw.wait_task(OWN_DISTRICT, f"{permit_id}/completeness")
    ok(await gw.decide(OWN_DISTRICT, f"{permit_id}/completeness", {"action": "accept"}))
    await gw.wait_task(OWN_DISTRICT, f"{permit_id}/preliminary_review")
    ok(await gw.decide(OWN_DISTRICT, f"{permit_id}/preliminary_review", {"favourable": True, "opinion": "同意"}))
    for agency in panel:
        await gw.wait_task(agency, f"{permit_id}/joint_review/{agency}")
        ok(await gw.decide(agency, f"{permit_id}/joint_review/{agency}", {"decision": "approve"}))
    await gw.wait_task("commerce", f"{permit_id}/submit_to_government")
    ok(await gw.decide("commerce", f"{permit_id}/submit_to_government",
                       {"recommendation": "approve" if approve else "refuse", "consolidated_opinion": "审核意见"}))
    await gw.wait_task("municipal_gov", f"{permit_id}/decide")
    return ok(await gw.decide("municipal_gov", f"{permit_id}/decide",
                              {"approve": approve, "reasons": "" if approve else "不符合条件"}))


async def test_commerce_issues_the_document_and_each_body_confirms_its_filing_from_its_inbox(gateway, client, pool,
                                                                                              task_queue):
    gw = gateway
    permit_id, _ = await permit_in_force(gw, client, pool, task_queue)
    task = await gw.wait_task("commerce", f"{permit_id}/issue_permit_document")
    assert task["due_date"] and task["kind"] == "issue_permit_document"
    answer = ok(await gw.decide("commerce", task["task_id"], {"document_no": "穗商务许〔2026〕12号"}))
    assert answer["detail"] == "permit document issued" and answer["stage"] == "in_force"
    filings = ["market", "customs_gz", "msa", "border"]  # Nansha: Guangzhou Customs
    for body in filings:
        await gw.wait_task(body, f"{permit_id}/confirm_filing/{body}")
        ok(await gw.decide(body, f"{permit_id}/confirm_filing/{body}", {"reference": f"{body}-2026-001"}))
    again = await gw.decide("msa", f"{permit_id}/confirm_filing/msa", {"reference": "msa-2026-002"})
    refused(again, 409, "already_decided")
    view = ok(await gw.get("operator", f"/permits/{permit_id}"))
    assert view["kind"] == "permit" and view["status"] == "in_force" and view["permit_number"].startswith("GZBB-")
    assert view["live"]["filings"] == {b: True for b in filings} and view["live"]["permit_number"] == view["permit_number"]
    assert view["tasks"] == [] and view["web_ui"] == gw.settings.workflow_url(f"application/{permit_id}")
    assert (await event_types(pool, permit_id)).count("FilingConfirmed") == 4


async def test_a_renewal_goes_through_the_procedure_again_and_keeps_the_number(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    first = await h.query(Permit.status)
    r = await gw.post("enterprise", f"/permits/{permit_id}/renewal", application_json(), key="renew-1")
    assert ok(r)["stage"] == "completeness"
    again = await gw.post("enterprise", f"/permits/{permit_id}/renewal", application_json(), key="renew-1")
    assert again.json() == r.json() and again.headers.get("Idempotent-Replayed") == "true"
    refused(await gw.post("enterprise", f"/permits/{permit_id}/renewal", application_json()), 409, "wrong_stage")
    decided = await run_procedure_over_http(gw, permit_id, PANEL)
    assert decided["stage"] == "approved"  # the renewal procedure's stage
    approved = (await pool.fetch("SELECT payload FROM events WHERE stream_id = $1 AND event_type = 'RenewalApproved'",
                                 permit_id))[0]["payload"]
    assert approved["permit_number"] == first.permit_number
    assert approved["valid_from"] == (first.valid_until + timedelta(days=1)).isoformat()
    assert (await event_types(pool, permit_id)).count("RenewalApplied") == 1
    await h.terminate("test done")


async def test_a_change_is_reviewed_by_the_departments_concerned_and_applied_on_approval(gateway, client, pool,
                                                                                        task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    today = WorkingCalendar.local_date(datetime.now(UTC))
    renamed = replace_enterprise(valid_application(today), name="广州南沙国际船供油有限公司").model_dump(mode="json")
    r = await gw.post("enterprise", f"/permits/{permit_id}/changes",
                      {"change": "name", "description": "企业更名", "application": renamed})
    assert ok(r)["stage"] == "completeness"
    panel = [b.value for b in DEPARTMENTS_CONCERNED[ChangeKind.NAME]]
    await run_procedure_over_http(gw, permit_id, panel)
    assert "ChangeApproved" in await event_types(pool, permit_id)
    view = ok(await gw.get("enterprise", f"/permits/{permit_id}"))
    assert view["enterprise_name"] == "广州南沙国际船供油有限公司"
    refused(await gw.post("enterprise", f"/permits/{permit_id}/changes",
                          {"change": "rename", "description": "x", "application": renamed}), 422, "invalid")
    await h.terminate("test done")


async def test_a_replacement_document_is_put_on_file_and_an_expired_one_refused(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    today = WorkingCalendar.local_date(datetime.now(UTC))
    doc = {"kind": "tanker_inspection", "number": "CCS-2026-0099", "issuer": "中国船级社广州分社",
           "valid_from": (today - timedelta(days=1)).isoformat(), "valid_until": (today + timedelta(days=900)).isoformat(),
           "subject": "IMO9412344"}
    r = ok(await gw.post("enterprise", f"/permits/{permit_id}/documents", doc))
    assert r["detail"] == "tanker_inspection CCS-2026-0099 on file"
    expired = doc | {"number": "CCS-2020-0001", "valid_from": "2020-01-01", "valid_until": "2021-01-01"}
    refused(await gw.post("enterprise", f"/permits/{permit_id}/documents", expired), 422, "invalid")
    assert (await event_types(pool, permit_id)).count("DocumentReplaced") == 1
    await h.terminate("test done")


async def test_a_renewal_less_than_30_days_before_expiry_is_409_and_on_file(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    until = (await h.query(Permit.status)).valid_until
    await advance_to(gw.env, h, until - timedelta(days=20))
    e = refused(await gw.post("enterprise", f"/permits/{permit_id}/renewal", application_json()), 409, "renewal_too_late")
    assert "Art. 14" in e["message"]
    assert "RenewalRefusedAsLate" in await event_types(pool, permit_id)
    await h.terminate("test done")


async def test_market_proposes_art25_2_and_the_termination_runs_through_the_inboxes(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    # Cause 2 is market regulation's alone; commerce is refused even though it may propose 3 and 4.
    refused(await gw.post("commerce", f"/permits/{permit_id}/termination", {"cause": "2", "basis": "x"}), 403, "forbidden")
    r = ok(await gw.post("market", f"/permits/{permit_id}/termination", {"cause": "2", "basis": "营业执照已被吊销"}))
    assert r["stage"] == "termination:termination_review"
    refused(await gw.post("district:nansha", f"/permits/{permit_id}/termination", {"cause": "3", "basis": "x"}),
            409, "already_decided")
    await gw.wait_task(OWN_DISTRICT, f"{permit_id}/termination_review")
    ok(await gw.decide(OWN_DISTRICT, f"{permit_id}/termination_review", {"agree": True, "opinion": "情况属实"}))
    await gw.wait_task("commerce", f"{permit_id}/termination_report")
    ok(await gw.decide("commerce", f"{permit_id}/termination_report", {"recommend": True, "report": "建议终止"}))
    await gw.wait_task("municipal_gov", f"{permit_id}/decide_termination")
    r = ok(await gw.decide("municipal_gov", f"{permit_id}/decide_termination", {"terminate": True, "reasons": "依法终止"}))
    assert r["stage"] == "terminated" and r["detail"] == "terminated under Art. 25(2)"
    assert (await h.result()).status == "terminated"
    view = ok(await gw.get("operator", f"/permits/{permit_id}"))
    assert view["status"] == "terminated" and view["tasks"] == []
    # A closed permit takes no step and no ledger row.
    refused(await gw.post("enterprise", f"/permits/{permit_id}/renewal", application_json()), 409, "already_decided")
    at = await ledger_start(pool, permit_id)
    e = refused(await gw.post("enterprise", f"/permits/{permit_id}/ledger/batches", [row("receipt", 1, at)]),
                409, "permit_not_in_force")
    assert e["details"] == {"row_index": None}


async def test_commerce_reports_a_revocation_and_the_government_revokes_with_a_ban(gateway, client, pool, task_queue):
    gw = gateway
    today = WorkingCalendar.local_date(datetime.now(UTC))
    code = make_credit_code("91440115MA5RECK09")
    permit_id, h = await permit_in_force(gw, client, pool, task_queue,
                                         replace_enterprise(valid_application(today), credit_code=code))
    r = ok(await gw.post("commerce", f"/permits/{permit_id}/revocation",
                         {"ground": "deception", "basis": "以欺骗手段取得许可"}))
    assert r["stage"] == "revocation:decide_revocation"
    await gw.wait_task("municipal_gov", f"{permit_id}/decide_revocation")
    r = ok(await gw.decide("municipal_gov", f"{permit_id}/decide_revocation", {"revoke": True, "reasons": "依法撤销"}))
    assert r["stage"] == "revoked" and "no new application before" in r["detail"]
    assert (await h.result()).status == "revoked"
    assert await pool.fetchval("SELECT count(*) FROM bans WHERE credit_code = $1", code) == 1


async def test_a_rectification_is_reported_by_the_enterprise_and_verified_by_commerce(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    refused(await gw.post("enterprise", f"/permits/{permit_id}/rectification", {"description": "x"}), 409, "wrong_stage")
    items = [InspectionItem(item=i, outcome="breach" if i == 2 else "ok", summary=f"item {i}",
                            findings=["流量计读数缺失 / meter readings missing"] if i == 2 else []) for i in (1, 2, 3, 4)]
    await h.execute_update(Permit.record_inspection, InspectionReport(
        actor=COMMERCE, year=today_year(), campaign_id="2026-annual", items=items, inspector="市商务局检查组"))
    await gw.wait_task("enterprise", f"{permit_id}/report_rectification")
    r = ok(await gw.post("enterprise", f"/permits/{permit_id}/rectification", {"description": "已补录流量计读数"}))
    assert r["detail"] == "rectification reported; commerce verifies"
    await gw.wait_task("commerce", f"{permit_id}/verify_rectification")
    r = ok(await gw.decide("commerce", f"{permit_id}/verify_rectification", {"rectified": True, "remarks": "已整改"}))
    assert r["detail"] == "rectified"
    assert (await event_types(pool, permit_id))[-3:] == ["RectificationOrdered", "RectificationReported",
                                                         "RectificationVerified"]
    await h.terminate("test done")


def today_year() -> int:
    return WorkingCalendar.local_date(datetime.now(UTC)).year


async def test_six_quiet_months_reach_the_district_inbox_and_a_supply_over_http_ends_the_dormancy(
    gateway, client, pool, task_queue
):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    await gw.env.fast_forward(h, timedelta(days=190))
    task = await gw.wait_task(OWN_DISTRICT, f"{permit_id}/report_dormancy")
    assert task["kind"] == "report_dormancy"
    dormant = ok(await gw.get("operator", "/permits", params={"dormant": True}))["items"]
    assert [p["application_id"] for p in dormant if p["application_id"] == permit_id] == [permit_id]
    assert dormant[[p["application_id"] for p in dormant].index(permit_id)]["dormant"] is True
    refused(await gw.decide("district:tianhe", f"{permit_id}/report_dormancy", {"remarks": "x"}), 403, "forbidden")
    ok(await gw.decide(OWN_DISTRICT, f"{permit_id}/report_dormancy", {"remarks": "企业停业整顿"}))
    at = await ledger_start(pool, permit_id)
    batch = [row("receipt", 1, at, "100"), row("supply", 2, at + timedelta(seconds=1))]
    answer = ok(await gw.post("enterprise", f"/permits/{permit_id}/ledger/batches", batch), 201)
    assert answer["resumed_from_dormancy"] is True and answer["supplies"] == 1
    for _ in range(100):  # the signal is handled asynchronously
        if "SuppliesResumed" in await event_types(pool, permit_id):
            break
        await gw.env.fast_forward(h, timedelta(seconds=1))
    assert (await event_types(pool, permit_id)).count("SuppliesResumed") == 1
    await h.terminate("test done")


async def test_the_register_filters_permits_expiring_dormant_or_overdue(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, h = await permit_in_force(gw, client, pool, task_queue)
    application_id = await gw.apply()

    async def listed(**params) -> list[str]:
        return [p["application_id"] for p in ok(await gw.get("operator", "/permits", params=params))["items"]]

    assert permit_id in await listed(expiring_within_days=800)
    assert permit_id not in await listed(expiring_within_days=10)
    assert application_id not in await listed(expiring_within_days=800)  # an application expires nothing
    assert permit_id in await listed(dormant=False) and permit_id not in await listed(dormant=True)
    # The read model's clock is the wall clock: make the document's period end yesterday.
    await pool.execute("UPDATE tasks SET ends_at = now() - interval '1 day' WHERE task_id = $1",
                       f"{permit_id}/issue_permit_document")
    assert permit_id in await listed(overdue=True) and permit_id not in await listed(overdue=False)
    entry = next(p for p in ok(await gw.get("operator", "/permits"))["items"] if p["application_id"] == permit_id)
    assert entry["overdue_tasks"] == 1 and entry["web_ui"] == gw.settings.workflow_url(f"application/{permit_id}")
    # Filters combine with the caller's scope: a district sees only its own.
    assert permit_id not in [p["application_id"] for p in ok(await gw.get(
        "district:tianhe", "/permits", params={"overdue": True}))["items"]]
    # One permit: its read model and its workflow's own status; an application is not a permit.
    view = ok(await gw.get("operator", f"/permits/{permit_id}"))
    assert view["live"]["status"] == "in_force" and view["live"]["runs"] == 1 and view["live_error"] is None
    assert {t["kind"] for t in view["tasks"]} >= {"issue_permit_document", "confirm_filing"}
    refused(await gw.get("operator", f"/permits/{application_id}"), 404, "not_found")
    refused(await gw.get("operator", "/permits/BB-2026-999999"), 404, "not_found")
    await h.terminate("test done")


async def test_a_permit_step_on_a_file_that_is_still_an_application_is_409(gateway):
    gw = gateway
    application_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{application_id}/completeness")
    refused(await gw.post("enterprise", f"/permits/{application_id}/renewal", application_json()), 409, "wrong_stage")
    refused(await gw.decide("commerce", f"{application_id}/issue_permit_document", {"document_no": "x"}),
            409, "wrong_stage")
    refused(await gw.get("enterprise", f"/permits/{application_id}/ledger/stock"), 409, "wrong_stage")
