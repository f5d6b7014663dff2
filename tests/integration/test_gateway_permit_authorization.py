"""The permit's endpoints × every kind of principal: who is refused, and exactly how (401, 403, 404).

One permit in force of the example enterprise (Nansha), with nothing open but its document and filings.
A caller the measures name for a step passes the gateway's checks: its deliberately incomplete body is
refused (422), or the workflow's validator answers (409, nothing is open at this stage). Everyone else is
stopped at the gateway: 403, or 404 for another enterprise (it may not learn that the permit exists).
"""

from __future__ import annotations

import pytest

from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    AGENCIES, OWN_DISTRICT, ROLES, event_types, gateway, tokens,
)
from tests.integration.permit_gateway_helpers import permit_in_force

SEES_ALL = set(AGENCIES) | {"operator"}
FILING_BODIES = ["market", "customs_gz", "customs_hp", "msa", "border"]


def reads(role: str) -> int:
    if role in SEES_ALL or role in (OWN_DISTRICT, "enterprise"):
        return 200
    return 404 if role == "other_enterprise" else 403


def acts(*allowed: str, passed: int = 409):
    return lambda role: passed if role in allowed else 404 if role == "other_enterprise" else 403


def endpoints(p: str) -> list[tuple[str, str, object, object]]:
    """(method, path, body, expected status by role) for every endpoint of the permit in force."""
    return [
        ("GET", f"/permits/{p}", None, reads),
        ("GET", "/permits?expiring_within_days=30&dormant=false&overdue=false", None, lambda r: 200),
        ("GET", f"/permits/{p}/ledger/stock", None, acts("enterprise", passed=200)),
        ("GET", f"/permits/{p}/ledger/summary?year=2026", None, acts("enterprise", passed=200)),
        # The enterprise's own acts: an incomplete body shows it got past authorisation without acting.
        ("POST", f"/permits/{p}/renewal", {}, acts("enterprise", passed=422)),
        ("POST", f"/permits/{p}/changes", {}, acts("enterprise", passed=422)),
        ("POST", f"/permits/{p}/documents", {}, acts("enterprise", passed=422)),
        ("POST", f"/permits/{p}/ledger/batches", [], acts("enterprise", passed=422)),
        ("POST", f"/permits/{p}/rectification", {"description": "x"}, acts("enterprise")),
        # Art. 25: any body that may propose under some cause passes; the body is then checked.
        ("POST", f"/permits/{p}/termination", {"cause": "3", "basis": ""},
         acts("market", "commerce", OWN_DISTRICT, passed=422)),
        ("POST", f"/permits/{p}/revocation", {}, acts("commerce", passed=422)),
        ("POST", f"/tasks/{p}/issue_permit_document/decision", {}, acts("commerce", passed=422)),
        *(("POST", f"/tasks/{p}/confirm_filing/{b}/decision", {}, acts(b, passed=422)) for b in FILING_BODIES),
        ("POST", f"/tasks/{p}/report_dormancy/decision", {"remarks": ""}, acts(OWN_DISTRICT)),
        ("POST", f"/tasks/{p}/termination_review/decision", {"agree": True, "opinion": "x"}, acts(OWN_DISTRICT)),
        ("POST", f"/tasks/{p}/termination_report/decision", {"recommend": True, "report": "x"}, acts("commerce")),
        ("POST", f"/tasks/{p}/decide_termination/decision", {"terminate": True, "reasons": "x"}, acts("municipal_gov")),
        ("POST", f"/tasks/{p}/decide_revocation/decision", {"revoke": True, "reasons": "x"}, acts("municipal_gov")),
        ("POST", f"/tasks/{p}/verify_rectification/decision", {"rectified": True, "remarks": "x"}, acts("commerce")),
        # A renewal's or change's steps are the application's kinds; none is under way (409 already_decided).
        ("POST", f"/tasks/{p}/completeness/decision", {"action": "accept"}, acts(OWN_DISTRICT)),
        ("POST", f"/tasks/{p}/joint_review/msa/decision", {"decision": "approve"}, acts("msa")),
        ("POST", f"/tasks/{p}/decide/decision", {"approve": True}, acts("municipal_gov")),
    ]


@pytest.fixture
async def permit(gateway, client, pool, task_queue):
    permit_id, h = await permit_in_force(gateway, client, pool, task_queue)
    yield permit_id
    await h.terminate("test done")


async def call(gw, role: str | None, method: str, path: str, body: object):
    headers = gw.auth(role) if role else {}
    if method == "GET":
        return await gw.http.get(path, headers=headers)
    return await gw.http.post(path, json=body, headers=headers | {"Idempotency-Key": f"authz-{role}-{path}"[:128]})


async def test_every_permit_endpoint_refuses_every_principal_the_measures_do_not_name(gateway, pool, permit):
    gw = gateway
    before = await event_types(pool, permit)
    wrong = []
    for method, path, body, expected in endpoints(permit):
        for role in ROLES:
            r = await call(gw, role, method, path, body)
            if r.status_code != expected(role):
                wrong.append((method, path, role, expected(role), r.status_code, r.text[:200]))
            elif r.status_code >= 400:
                assert set(r.json()) == {"error"} and r.json()["error"]["code"], r.text
    assert wrong == []
    # Nothing a refused (or incomplete) request sent reached the permit.
    assert await event_types(pool, permit) == before
    assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", permit) == 0


async def test_without_a_token_every_permit_endpoint_is_401(gateway, permit):
    gw = gateway
    for method, path, body, _ in endpoints(permit):
        r = await call(gw, None, method, path, body)
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated", (method, path, r.text)


async def test_an_unknown_permit_is_404_for_those_who_could_act_on_it(gateway):
    gw = gateway
    allowed_caller = {"/permits/BB-2026-999999": "operator"}
    for method, path, body, expected in endpoints("BB-2026-999999"):
        if path.startswith("/permits?"):
            continue
        role = allowed_caller.get(path) or next(r for r in ROLES if expected(r) not in (403, 404))
        r = await call(gw, role, method, path, body)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, path, role, r.text)


async def test_a_task_id_naming_a_body_that_files_nothing_is_404(gateway, permit):
    gw = gateway
    for task in (f"{permit}/confirm_filing/commerce", f"{permit}/confirm_filing", f"{permit}/report_dormancy/x"):
        r = await gw.decide("commerce", task, {"reference": "x"})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (task, r.text)
