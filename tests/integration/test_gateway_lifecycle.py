"""Whole procedures driven only through HTTP, as the enterprise's and the agencies' systems would."""

from __future__ import annotations

import asyncio


from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OWN_DISTRICT, PANEL, application_json, event_types, gateway, tokens,
)


async def test_an_application_reaches_approval_through_http_alone(gateway, pool):
    gw = gateway
    app_id = await gw.apply()

    task = await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    assert task["due_date"] and task["ends_at"] and task["provisional"] is not None
    r = await gw.decide(OWN_DISTRICT, task["task_id"], {"action": "accept"})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "preliminary_review"

    task = await gw.wait_task(OWN_DISTRICT, f"{app_id}/preliminary_review")
    r = await gw.decide(OWN_DISTRICT, task["task_id"], {"favourable": True, "opinion": "符合条件 / meets the conditions"})
    assert r.status_code == 200, r.text

    for agency in PANEL:
        task = await gw.wait_task(agency, f"{app_id}/joint_review/{agency}")
        r = await gw.decide(agency, task["task_id"], {"decision": "approve"})
        assert r.status_code == 200, r.text
        assert r.json()["detail"] == f"{agency}: approve"

    task = await gw.wait_task("commerce", f"{app_id}/submit_to_government")
    r = await gw.decide("commerce", task["task_id"], {"recommendation": "approve", "consolidated_opinion": "各部门均同意"})
    assert r.status_code == 200, r.text

    live = (await gw.wait_stage(app_id, "decision"))["live"]
    assert live["reviews"] == {agency: "approve" for agency in PANEL}
    r = await gw.decide("municipal_gov", f"{app_id}/decide", {"approve": True, "reasons": "符合第五条"}, key="gov-1")
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "approved" and "GZBB-" in r.json()["detail"]
    # A retry after approval (the workflow has continued as the permit's) gets the same answer.
    again = await gw.decide("municipal_gov", f"{app_id}/decide", {"approve": True, "reasons": "符合第五条"}, key="gov-1")
    assert (again.status_code, again.json()) == (200, r.json())

    # The approved file continues as the permit's workflow and records its entry into force (bounded wait).
    for _ in range(100):
        if "PermitInForce" in await event_types(pool, app_id):
            break
        await asyncio.sleep(0.05)
    view = (await gw.get("enterprise", f"/applications/{app_id}")).json()
    assert view["status"] == "in_force" and view["permit_number"].startswith("GZBB-")
    assert {t["kind"] for t in view["tasks"]} == {"issue_permit_document", "confirm_filing"}  # the permit's own
    assert view["web_ui"] == gw.settings.workflow_url(f"application/{app_id}")

    timeline = (await gw.get("enterprise", f"/applications/{app_id}/timeline")).json()["events"]
    assert [e["type"] for e in timeline] == await event_types(pool, app_id)
    by_type = {e["type"]: e for e in timeline}
    assert (by_type["Accepted"]["article"], by_type["Accepted"]["actor"]) == ("9", OWN_DISTRICT)
    assert (by_type["Approved"]["article"], by_type["Approved"]["actor"]) == ("11", "municipal_gov")
    assert by_type["Approved"]["payload"]["permit_number"] == view["permit_number"]
    assert sorted(e["actor"] for e in timeline if e["type"] == "AgencyReviewGiven") == sorted(PANEL)

    listed = (await gw.get("operator", "/permits", params={"status": "in_force"})).json()["items"]
    assert [p["application_id"] for p in listed] == [app_id]
    assert listed[0]["web_ui"] == view["web_ui"]


async def test_corrections_question_and_answer_and_the_decision_clock_through_http(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    # Art. 9: one notice of all corrections, then the corrected application, then acceptance.
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "notify_corrections", "items": [
        {"article": "6", "item": "business_plan", "message_zh": "经营计划不全", "message_en": "business plan incomplete"}]})
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "awaiting_corrections"
    await gw.wait_task("enterprise", f"{app_id}/submit_corrections")
    r = await gw.post("enterprise", f"/applications/{app_id}/corrections", application_json())
    assert r.status_code == 200, r.text
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    assert (await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"})).status_code == 200

    # ALL 45: commerce pauses and resumes the decision clock; Art. 12: the government extends once.
    r = await gw.post("commerce", f"/applications/{app_id}/clock/pause",
                      {"cause": "expert_review", "expected_workdays": 5, "reason": "油罐安全评估 / tank safety review"})
    assert r.status_code == 200, r.text
    r = await gw.post("commerce", f"/applications/{app_id}/clock/resume")
    assert r.status_code == 200, r.text
    r = await gw.post("municipal_gov", f"/applications/{app_id}/extension", {"approver": "市长", "reason": "专家论证"})
    assert r.status_code == 200, r.text
    r = await gw.post("municipal_gov", f"/applications/{app_id}/extension", {"approver": "市长", "reason": "again"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_decided"

    # Art. 10: an agency asks, the applicant answers, the agency's review reopens.
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"})
    assert r.status_code == 200, r.text
    await gw.wait_task("msa", f"{app_id}/joint_review/msa")
    r = await gw.decide("msa", f"{app_id}/joint_review/msa", {"decision": "question", "reasons": "船员资质？"})
    assert r.status_code == 200, r.text
    await gw.wait_task("enterprise", f"{app_id}/answer_question/msa")
    r = await gw.post("enterprise", f"/applications/{app_id}/answers", {"agency": "msa", "answer": "已附证书"})
    assert r.status_code == 200, r.text
    await gw.wait_task("msa", f"{app_id}/joint_review/msa")

    r = await gw.post("enterprise", f"/applications/{app_id}/withdraw", {"reason": "业务调整"})
    assert r.status_code == 200 and r.json()["stage"] == "withdrawn"
    types = await event_types(pool, app_id)
    for t in ("CorrectionsNotified", "CorrectionsSubmitted", "DecisionClockPaused", "DecisionClockResumed",
              "DecisionDeadlineExtended", "AgencyQuestionAsked", "AgencyQuestionAnswered", "Withdrawn"):
        assert types.count(t) == 1, (t, types)


async def test_the_government_sees_the_decide_task_in_its_inbox_after_submission(gateway):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"})
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/preliminary_review")
    await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"})
    for agency in PANEL:
        await gw.wait_task(agency, f"{app_id}/joint_review/{agency}")
        await gw.decide(agency, f"{app_id}/joint_review/{agency}", {"decision": "approve"})
    await gw.wait_task("commerce", f"{app_id}/submit_to_government")
    await gw.decide("commerce", f"{app_id}/submit_to_government",
                    {"recommendation": "approve", "consolidated_opinion": "同意"})
    await gw.wait_task("municipal_gov", f"{app_id}/decide", timeout=1)
