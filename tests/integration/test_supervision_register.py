"""Local supervision through the gateway (Art. 19–21, 26): a complaint routed to the district, investigated,
leading to a violation found by a department within its remit and confirmed by customs, answered and closed;
interviews and spot inspections; who may do and see what."""

from __future__ import annotations

from datetime import date

from domain.application import Application
from store.supervision import violations_of
from tests.fixtures.applications import CREDIT_CODE, valid_application
from tests.integration.gateway_helpers import OTHER_CREDIT_CODE, gateway, tokens  # noqa: F401 (fixtures)
from tests.integration.supervision_helpers import start_permit, today


async def test_a_complaint_goes_from_the_hotline_to_a_violation_on_record_and_an_answer(
    gateway, temporal_env, client, pool, task_queue  # noqa: F811
):
    app: Application = valid_application(today())  # the example enterprise, in Nansha
    stream_id, permit = await start_permit(temporal_env, client, pool, task_queue, app)

    # Received by the commerce hotline; enterprises do not record complaints.
    complaint = {"channel": "phone", "summary": "夜间有船舶在锚地违规过驳保税油", "complainant": "张先生",
                 "contact": "138 0000 0000", "credit_code": CREDIT_CODE}
    assert (await gateway.post("enterprise", "/complaints", complaint)).status_code == 403
    r = await gateway.post("commerce", "/complaints", complaint, key="hotline-0001")
    assert r.status_code == 201, r.text
    c = r.json()
    assert (c["status"], c["district"], c["application_id"], c["received_by"]) == ("routed", "nansha", stream_id, "commerce")
    assert [s["status"] for s in c["steps"]] == ["received", "routed"]
    again = await gateway.post("commerce", "/complaints", complaint, key="hotline-0001")
    assert again.json()["id"] == c["id"] and again.headers["Idempotent-Replayed"] == "true"
    cid = c["id"]

    # The district it is routed to investigates; another district neither sees nor moves it.
    assert (await gateway.post("district:tianhe", f"/complaints/{cid}/investigate", {})).status_code == 403
    assert (await gateway.get("district:tianhe", f"/complaints/{cid}")).status_code == 403
    assert cid not in [x["id"] for x in (await gateway.get("district:tianhe", "/complaints")).json()]
    r = await gateway.post("district:nansha", f"/complaints/{cid}/investigate", {"note": "已派员核查"})
    assert r.status_code == 200 and r.json()["status"] == "investigating"

    # A department records the violation within its remit (Art. 21); customs confirms the smuggling.
    finding = {"credit_code": CREDIT_CODE, "act": 9, "severity": "major", "found_on": str(today()),
               "description": "锚地擅自过驳保税油至内贸船", "evidence_ref": "广州海事局立案〔2026〕88号", "complaint_id": cid}
    outside = await gateway.post("ports", "/violations", finding)
    assert outside.status_code == 403 and "remit" in outside.json()["error"]["message"]
    r = await gateway.post("msa", "/violations", finding)
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["article"], v["smuggling_type"], v["confirmed_by"], v["application_id"]) == ("Art. 19(9)", True, None, stream_id)
    assert not (await violations_of(pool, CREDIT_CODE, date(today().year - 1, 1, 1), today()))[0].counts_for_art22_4
    assert (await gateway.post("msa", f"/violations/{v['id']}/confirm")).status_code == 403
    r = await gateway.post("customs_gz", f"/violations/{v['id']}/confirm")
    assert r.status_code == 200 and r.json()["confirmed_by"] == "customs_gz"
    assert (await gateway.post("customs_hp", f"/violations/{v['id']}/confirm")).json()["error"]["code"] == "already_decided"
    assert (await violations_of(pool, CREDIT_CODE, date(today().year - 1, 1, 1), today()))[0].counts_for_art22_4
    penalty = {"penalty": "罚款人民币五万元", "decided_on": str(today())}
    assert (await gateway.post("customs_gz", f"/violations/{v['id']}/penalty", penalty)).status_code == 403
    assert (await gateway.post("msa", f"/violations/{v['id']}/penalty", penalty)).json()["penalty"] == "罚款人民币五万元"

    # The district answers, naming the violation, and closes the complaint.
    r = await gateway.post("district:nansha", f"/complaints/{cid}/answer",
                           {"answer": "经查属实，已移交海事、海关依法查处", "violation_id": v["id"]})
    assert r.status_code == 200 and (r.json()["status"], r.json()["violation_id"]) == ("answered", v["id"])
    r = await gateway.post("district:nansha", f"/complaints/{cid}/close", {"reason": "已答复举报人"})
    assert r.json()["status"] == "closed"
    assert [s["status"] for s in r.json()["steps"]] == ["received", "routed", "investigating", "answered", "closed"]
    assert r.json()["steps"][2]["actor"].startswith("district:nansha")
    late = await gateway.post("district:nansha", f"/complaints/{cid}/answer", {"answer": "again"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "already_decided"

    # The register: the enterprise sees its own entries only.
    mine = await gateway.get("enterprise", "/violations")
    assert [x["id"] for x in mine.json()] == [v["id"]] and mine.json()[0]["penalty"] == "罚款人民币五万元"
    assert (await gateway.get("other_enterprise", "/violations", params={"credit_code": CREDIT_CODE})).status_code == 403
    listed = await gateway.get("commerce", "/violations", params={"credit_code": CREDIT_CODE})
    assert [x["complaint_id"] for x in listed.json()] == [cid]
    assert (await gateway.get("enterprise", "/complaints")).status_code == 403
    await permit.terminate("test done")


async def test_interviews_and_spot_inspections_are_recorded_by_the_district_or_a_department(
    gateway, temporal_env, client, pool, task_queue  # noqa: F811
):
    await start_permit(temporal_env, client, pool, task_queue, valid_application(today()))
    interview = {"kind": "interview", "credit_code": CREDIT_CODE, "conducted_on": str(today()),
                 "summary": "约谈企业负责人，督促落实质量流量计安装", "findings": ["2号船流量计未铅封"]}
    assert (await gateway.post("district:tianhe", "/supervision/interviews", interview)).status_code == 403
    assert (await gateway.post("enterprise", "/supervision/interviews", interview)).status_code == 403
    r = await gateway.post("district:nansha", "/supervision/interviews", interview)
    assert r.status_code == 201 and (r.json()["conducted_by"], r.json()["district"]) == ("district:nansha", "nansha")
    spot = interview | {"kind": "spot_inspection", "summary": "码头作业安全抽查", "findings": []}
    assert (await gateway.post("ports", "/supervision/interviews", spot)).status_code == 201
    listed = await gateway.get("district:nansha", "/supervision/interviews", params={"credit_code": CREDIT_CODE})
    assert [x["kind"] for x in listed.json()] == ["spot_inspection", "interview"]
    assert (await gateway.get("district:tianhe", "/supervision/interviews", params={"district": "nansha"})).status_code == 403

    # A complaint about an enterprise not on file waits for commerce to route it.
    r = await gateway.post("customs_hp", "/complaints", {"channel": "wechat", "summary": "有人兜售低价保税油",
                                                          "credit_code": OTHER_CREDIT_CODE})
    assert r.status_code == 201 and (r.json()["status"], r.json()["district"]) == ("received", None)
    cid = r.json()["id"]
    assert (await gateway.post("district:nansha", f"/complaints/{cid}/investigate", {})).status_code == 403
    assert (await gateway.post("msa", f"/complaints/{cid}/route", {"district": "tianhe"})).status_code == 403
    r = await gateway.post("commerce", f"/complaints/{cid}/route", {"district": "tianhe"})
    assert (r.json()["status"], r.json()["district"]) == ("routed", "tianhe")
    r = await gateway.post("district:tianhe", f"/complaints/{cid}/close", {"reason": "无法联系举报人，线索不足"})
    assert r.json()["status"] == "closed"
