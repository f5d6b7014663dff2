"""Every error in one shape, with the status the caller can act on: 401, 404, 409, 413, 422, 503."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from gateway.updates import refusal
from store import bans, principals
from tests.fixtures.applications import replace_enterprise, valid_application
from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OTHER_CREDIT_CODE, OWN_DISTRICT, app_for, application_json, event_types, gateway, gateway_cut_from_temporal,
    http_client, tokens,
)


def error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and isinstance(body["error"]["fields"], list)
    return body["error"]


async def accepted(gw) -> str:
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    assert (await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"})).status_code == 200
    return app_id


# ---------------------------------------------------------------- 401
async def test_no_unknown_or_revoked_token_is_401(gateway, pool):
    gw = gateway
    e = error(await gw.http.get("/inbox"), 401, "unauthenticated")
    assert "bearer" in e["message"].lower()
    error(await gw.http.get("/inbox", headers={"Authorization": "Basic dXNlcjpwdw=="}), 401, "unauthenticated")
    error(await gw.http.get("/inbox", headers={"Authorization": "Bearer bbk_not-a-token"}), 401, "unauthenticated")
    p, token = await principals.add(pool, "agency", name="soon revoked", body="ports")
    assert (await gw.http.get("/inbox", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    await principals.revoke(pool, p.id)
    r = await gw.http.get("/inbox", headers={"Authorization": f"Bearer {token}"})
    error(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_a_token_is_stored_only_as_its_hash(pool):
    p, token = await principals.add(pool, "operator", name="hash check")
    stored = await pool.fetchrow("SELECT * FROM principals WHERE id = $1", p.id)
    assert token.startswith("bbk_") and len(token) > 40
    assert token not in str(dict(stored)) and stored["token_hash"] == principals.token_hash(token)


# ---------------------------------------------------------------- 404
async def test_unknown_applications_and_tasks_are_404(gateway):
    gw = gateway
    app_id = await gw.apply()
    error(await gw.get("operator", "/applications/BB-2026-999999"), 404, "not_found")
    error(await gw.get("operator", "/applications/BB-2026-999999/timeline"), 404, "not_found")
    error(await gw.decide(OWN_DISTRICT, "BB-2026-999999/completeness", {"action": "accept"}), 404, "not_found")
    error(await gw.decide(OWN_DISTRICT, f"{app_id}/no_such_step", {}), 404, "not_found")
    error(await gw.decide("border", f"{app_id}/joint_review/border", {"decision": "approve"}), 404, "not_found")
    error(await gw.decide(OWN_DISTRICT, f"{app_id}/completeness/extra", {"action": "accept"}), 404, "not_found")
    error(await gw.get("operator", "/no/such/route"), 404, "not_found")
    # Another enterprise's file is answered exactly as an unknown one.
    hidden = await gw.get("other_enterprise", f"/applications/{app_id}")
    unknown = await gw.get("other_enterprise", "/applications/BB-2026-999999")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["message"].replace(app_id, "X") == unknown.json()["error"]["message"].replace(
        "BB-2026-999999", "X")


# ---------------------------------------------------------------- 409
async def test_a_second_decision_is_409_naming_the_decision_that_stands(gateway, pool):
    gw = gateway
    app_id = await accepted(gw)
    await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"})
    await gw.wait_task("customs_gz", f"{app_id}/joint_review/customs_gz")
    task = f"{app_id}/joint_review/customs_gz"
    assert (await gw.decide("customs_gz", task, {"decision": "approve", "reasons": "单证齐全"})).status_code == 200
    e = error(await gw.decide("customs_gz", task, {"decision": "object", "reasons": "改变主意"}), 409, "already_decided")
    assert e["message"] == "customs_gz already decided: approve 单证齐全"
    assert (await event_types(pool, app_id)).count("AgencyReviewGiven") == 1


async def test_a_step_not_open_at_the_stage_is_409_wrong_stage(gateway):
    gw = gateway
    app_id = await gw.apply()
    e = error(await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "x"}),
              409, "wrong_stage")
    assert "completeness" in e["message"]


async def test_a_decision_on_a_closed_file_is_409(gateway):
    gw = gateway
    app_id = await gw.apply()
    assert (await gw.post("enterprise", f"/applications/{app_id}/withdraw", {})).status_code == 200
    e = error(await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"}), 409, "already_decided")
    assert "withdrawn" in e["message"]


async def test_a_banned_applicant_is_409_with_the_end_of_the_ban(gateway, pool):
    gw = gateway
    today = date.today()
    await bans.add_ban(pool, bans.Ban(OTHER_CREDIT_CODE, "24", "虚假材料", today - timedelta(days=30),
                                      today + timedelta(days=335), "BB-2025-000001"))
    app = replace_enterprise(valid_application(today), credit_code=OTHER_CREDIT_CODE)
    before = await pool.fetchval("SELECT count(*) FROM permits")
    e = error(await gw.post("other_enterprise", "/applications", app.model_dump(mode="json")), 409, "banned")
    assert e["details"] == {"ban_ends_on": (today + timedelta(days=335)).isoformat(), "article": "24"}
    assert await pool.fetchval("SELECT count(*) FROM permits") == before


# ---------------------------------------------------------------- 413
async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(gateway):
    gw = gateway
    big = b'{"x": "' + b"a" * (1 << 20) + b'"}'
    r = await gw.http.post("/applications", content=big, headers={**gw.auth("enterprise"), "Content-Type": "application/json"})
    error(r, 413, "payload_too_large")

    async def chunks():
        for _ in range(20):
            yield b"a" * 65536

    r = await gw.http.post("/applications", content=chunks(), headers={**gw.auth("enterprise"), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    error(r, 413, "payload_too_large")
    # Under the limit, the same route answers as usual.
    assert (await gw.http.post("/applications", content=b"{}", headers={**gw.auth("enterprise"),
                               "Content-Type": "application/json"})).status_code == 422


# ---------------------------------------------------------------- 422
async def test_an_invalid_payload_is_422_with_its_fields(gateway):
    gw = gateway
    bad = application_json()
    bad["enterprise"]["credit_code"] = "91440115MA59ABCD1X"
    bad["tankers"][0]["dwt"] = -5
    e = error(await gw.post("enterprise", "/applications", bad), 422, "invalid")
    assert {"body.enterprise.credit_code", "body.tankers.0.dwt"} <= {f["field"] for f in e["fields"]}

    app_id = await gw.apply()
    e = error(await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "false_materials"}), 422, "invalid")
    assert [f["field"] for f in e["fields"]] == ["body.false_materials.reason"]
    e = error(await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept", "actor": "commerce"}),
              422, "invalid")
    assert [f["field"] for f in e["fields"]] == ["body.accept.actor"]  # who acts comes from the token only
    e = error(await gw.post("commerce", f"/applications/{app_id}/clock/pause",
                            {"cause": "lunch", "expected_workdays": 0, "reason": ""}), 422, "invalid")
    assert {f["field"] for f in e["fields"]} == {"body.cause", "body.expected_workdays", "body.reason"}


async def test_a_payload_the_workflow_finds_invalid_is_422(gateway, pool):
    gw = gateway
    app_id = await accepted(gw)
    await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"})
    await gw.wait_task("msa", f"{app_id}/joint_review/msa")
    e = error(await gw.decide("msa", f"{app_id}/joint_review/msa", {"decision": "object"}), 422, "invalid")
    assert "reasons" in e["message"]
    assert "AgencyReviewGiven" not in await event_types(pool, app_id)


@pytest.mark.parametrize("kind, status, code", [
    ("NotAuthorised", 403, "forbidden"), ("AlreadyDecided", 409, "already_decided"),
    ("WrongStage", 409, "wrong_stage"), ("Invalid", 422, "invalid"),
])
def test_each_validator_refusal_type_has_its_status(kind, status, code):
    e = refusal(WorkflowUpdateFailedError(ApplicationError("the reason", type=kind, non_retryable=True)))
    assert (e.status, e.code, e.message) == (status, code, "the reason")


# ---------------------------------------------------------------- 503
async def test_postgres_unreachable_is_503_and_nothing_is_done(gateway, client):
    dead = await asyncpg.create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=0)
    async with http_client(app_for(gateway.settings, client, dead)) as http:
        r = await http.get("/inbox", headers=gateway.auth("commerce"))
        error(r, 503, "unavailable")
        assert r.headers["Retry-After"]
    await dead.close()


async def test_temporal_unreachable_is_503_and_the_retry_with_the_same_key_applies_once(
    gateway, client, pool
):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    async with gateway_cut_from_temporal(gw, client, pool) as (http, cut):
        cut()
        await asyncio.sleep(0.05)
        headers = {**gw.auth(OWN_DISTRICT), "Idempotency-Key": "accept-once"}
        r = await http.post(f"/tasks/{app_id}/completeness/decision", json={"action": "accept"}, headers=headers)
        error(r, 503, "unavailable")
        # Reads still answer from the read model; the live state is marked missing.
        view = (await http.get(f"/applications/{app_id}", headers=gw.auth("operator"))).json()
        assert view["status"] == "completeness" and view["live"] is None and view["live_error"]
    assert await event_types(pool, app_id) == ["ApplicationReceived"]
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"}, key="accept-once")
    assert r.status_code == 200, r.text
    assert (await event_types(pool, app_id)).count("Accepted") == 1
