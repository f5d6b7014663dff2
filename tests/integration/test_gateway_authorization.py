"""Every endpoint × every kind of principal: who is refused, and exactly how.

One file of the example enterprise (Nansha) waits at the completeness stage. A caller the measures name
for a step passes the gateway's checks and reaches the workflow, whose validator answers (409 wrong_stage
at this stage); everyone else is stopped at the gateway: 403, or 404 for another enterprise (it may not
learn that the file exists).
"""

from __future__ import annotations

import pytest
import structlog.testing

from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    AGENCIES, DISTRICTS, OTHER_CREDIT_CODE, OWN_DISTRICT, PANEL, ROLES, application_json, event_types, gateway,
    tokens,
)
from tests.fixtures.applications import CREDIT_CODE

SEES_ALL = set(AGENCIES) | {"operator"}


def reads(role: str) -> int:
    """GET of the file: its district, the city-level bodies, operators and the applicant."""
    if role in SEES_ALL or role in (OWN_DISTRICT, "enterprise"):
        return 200
    return 404 if role == "other_enterprise" else 403


def acts(*allowed: str, passed: int = 409, other_enterprise: int = 404):
    """A step only `allowed` may take: they get `passed`; another enterprise 404 (the file is not its
    own); everyone else 403."""
    return lambda role: passed if role in allowed else other_enterprise if role == "other_enterprise" else 403


def steps(app_id: str) -> list[tuple[str, str, object, object]]:
    """(method, path, body, expected status by role) for every endpoint."""
    review = {"decision": "approve"}
    return [
        ("GET", f"/applications/{app_id}", None, reads),
        ("GET", f"/applications/{app_id}/timeline", None, reads),
        ("GET", "/inbox", None, lambda r: 403 if r == "operator" else 200),
        ("GET", "/permits", None, lambda r: 200),
        ("GET", "/permits?district=nansha", None, lambda r: 403 if r.startswith("district:") and r != OWN_DISTRICT else 200),
        ("GET", f"/permits?credit_code={CREDIT_CODE}", None, lambda r: 403 if r == "other_enterprise" else 200),
        # Applying for someone else's credit code is refused outright: there is no file to hide.
        ("POST", "/applications", application_json(), acts("enterprise", passed=201, other_enterprise=403)),
        # The owner's body is invalid on purpose: 422 shows it got past authorisation without deciding.
        ("POST", f"/tasks/{app_id}/completeness/decision", {"action": "nope"}, acts(OWN_DISTRICT, passed=422)),
        ("POST", f"/tasks/{app_id}/preliminary_review/decision", {"favourable": True, "opinion": "ok"}, acts(OWN_DISTRICT)),
        *(("POST", f"/tasks/{app_id}/joint_review/{a}/decision", review, acts(a)) for a in PANEL),
        ("POST", f"/tasks/{app_id}/submit_to_government/decision",
         {"recommendation": "approve", "consolidated_opinion": "ok"}, acts("commerce")),
        ("POST", f"/tasks/{app_id}/decide/decision", {"approve": True}, acts("municipal_gov")),
        ("POST", f"/applications/{app_id}/clock/pause",
         {"cause": "hearing", "expected_workdays": 5, "reason": "听证"}, acts("commerce")),
        ("POST", f"/applications/{app_id}/clock/resume", None, acts("commerce")),
        ("POST", f"/applications/{app_id}/extension", {"approver": "市长", "reason": "专家论证"}, acts("municipal_gov")),
        ("POST", f"/applications/{app_id}/corrections", application_json(), acts("enterprise")),
        ("POST", f"/applications/{app_id}/answers", {"agency": "msa", "answer": "x"}, acts("enterprise")),
        # Last: the applicant's withdrawal closes the file.
        ("POST", f"/applications/{app_id}/withdraw", {"reason": "test"}, acts("enterprise", passed=200)),
    ]


async def test_every_endpoint_refuses_every_principal_the_measures_do_not_name(gateway, pool, client):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    assert len(DISTRICTS) == 11 and len(AGENCIES) == 10
    wrong = []
    for method, path, body, expected in steps(app_id):
        # The allowed caller last, so a step that changes the file is tried by everyone else first.
        order = sorted(ROLES, key=lambda r: expected(r) not in (401, 403, 404))
        for role in order:
            if method == "GET":
                r = await gw.get(role, path)
            elif path == "/applications" and role == "enterprise":
                with gw.env.with_time_skipping_disabled():
                    r = await gw.post(role, path, body)
            else:
                r = await gw.post(role, path, body)
            if r.status_code != expected(role):
                wrong.append((method, path, role, expected(role), r.status_code, r.text[:200]))
            elif r.status_code >= 400:
                assert set(r.json()) == {"error"} and r.json()["error"]["code"], r.text
    assert wrong == []
    # Nothing a refused caller sent reached the file: received, then withdrawn by its applicant.
    assert await event_types(pool, app_id) == ["ApplicationReceived", "Withdrawn"]


async def test_an_agency_sees_only_its_own_inbox(gateway):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    for role in [*DISTRICTS, *AGENCIES]:
        tasks = (await gw.get(role, "/inbox")).json()["tasks"]
        mine = [t for t in tasks if t["application_id"] == app_id]
        assert ([t["kind"] for t in mine] == ["completeness"]) == (role == OWN_DISTRICT), (role, tasks)
        assert all(t["body"] == role for t in tasks)


@pytest.mark.parametrize("role", ["district:tianhe", "customs_gz", "operator", "other_enterprise"])
async def test_a_refusal_is_logged_as_a_security_event_without_the_token(gateway, role):
    gw = gateway
    app_id = await gw.apply()
    with structlog.testing.capture_logs() as logged:
        r = await gw.decide(role, f"{app_id}/completeness", {"action": "accept"})
    assert r.status_code == (404 if role == "other_enterprise" else 403)
    [event] = [e for e in logged if e["event"] == "access refused"]
    assert event["security"] is True and event["status"] == r.status_code
    assert event["path"] == f"/tasks/{app_id}/completeness/decision" and event["principal_id"]
    assert event["principal"] == (role if role.startswith("district:") or role in AGENCIES or role == "operator"
                                  else f"enterprise:{OTHER_CREDIT_CODE}")
    assert event["reason"]
    assert gw.tokens[role] not in repr(logged)


async def test_the_register_shows_each_caller_only_what_it_may_see(gateway):
    gw = gateway
    app_id = await gw.apply()

    async def listed(role: str, **params) -> list[str]:
        r = await gw.get(role, "/permits", params=params)
        assert r.status_code == 200, r.text
        return [p["application_id"] for p in r.json()["items"]]

    for role in ("operator", "commerce", "customs_hp", OWN_DISTRICT, "enterprise"):
        assert app_id in await listed(role), role
    for role in ("district:tianhe", "other_enterprise"):
        assert app_id not in await listed(role), role
    assert app_id in await listed("operator", district="nansha", credit_code=CREDIT_CODE, status="completeness")
    assert app_id not in await listed("operator", district="tianhe")
    assert app_id not in await listed("operator", status="approved")
    assert await listed("operator", limit=1, offset=10_000) == []
