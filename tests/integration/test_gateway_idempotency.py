"""A retried POST is applied once and answered the same: Temporal's update ids, and the gateway's keys."""

from __future__ import annotations

import asyncio

from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OWN_DISTRICT, application_json, event_types, gateway, tokens,
)
from tests.integration.licensing_helpers import APPLICANT, NANSHA, start
from workflows.licensing import PermitApplication
from workflows.licensing_messages import Accept, Withdraw


async def test_temporal_applies_an_update_id_once_and_answers_a_repeat_with_the_first_outcome(
    temporal_env, client, pool, task_queue
):
    app_id, handle = await start(temporal_env, client, pool, task_queue)
    first = await handle.execute_update(PermitApplication.accept, Accept(actor=NANSHA), id="key-1")
    again = await handle.execute_update(PermitApplication.accept, Accept(actor=NANSHA), id="key-1")
    assert again == first
    assert (await event_types(pool, app_id)).count("Accepted") == 1
    # The id alone decides: another update under a known id gets the first outcome and does nothing.
    # Hence the gateway scopes ids by principal and binds each key to one request.
    other = await handle.execute_update(PermitApplication.withdraw, Withdraw(actor=APPLICANT), id="key-1")
    assert other == first
    assert "Withdrawn" not in await event_types(pool, app_id)


async def test_a_decision_posted_twice_with_one_key_is_applied_once_and_answered_the_same(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    task = f"{app_id}/completeness"
    await gw.wait_task(OWN_DISTRICT, task)
    first = await gw.decide(OWN_DISTRICT, task, {"action": "accept"}, key="accept-BB-1")
    second = await gw.decide(OWN_DISTRICT, task, {"action": "accept"}, key="accept-BB-1")
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    # Without the stored answer (a crash right after the update), Temporal's update id still holds.
    await pool.execute("UPDATE idempotency_keys SET response = NULL, status_code = NULL WHERE key = 'accept-BB-1'")
    third = await gw.decide(OWN_DISTRICT, task, {"action": "accept"}, key="accept-BB-1")
    assert third.status_code == 200 and third.json() == first.json() and "Idempotent-Replayed" not in third.headers
    assert (await event_types(pool, app_id)).count("Accepted") == 1


async def test_concurrent_retries_of_one_decision_are_applied_once(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"})
    task = f"{app_id}/preliminary_review"
    await gw.wait_task(OWN_DISTRICT, task)
    answers = await asyncio.gather(*(gw.decide(OWN_DISTRICT, task, {"favourable": True, "opinion": "同意"}, key="prelim")
                                     for _ in range(3)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.text for r in answers}) == 1
    assert (await event_types(pool, app_id)).count("PreliminaryReviewGiven") == 1


async def test_a_key_reused_for_a_different_request_is_refused_not_answered_with_the_old_result(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    assert (await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"}, key="k")).status_code == 200
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"}, key="k")
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert "PreliminaryReviewGiven" not in await event_types(pool, app_id)


async def test_two_agencies_choosing_the_same_key_do_not_collide(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"})
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/preliminary_review")
    await gw.decide(OWN_DISTRICT, f"{app_id}/preliminary_review", {"favourable": True, "opinion": "同意"})
    for agency in ("customs_gz", "msa"):
        await gw.wait_task(agency, f"{app_id}/joint_review/{agency}")
        r = await gw.decide(agency, f"{app_id}/joint_review/{agency}", {"decision": "approve"}, key="1")
        assert r.status_code == 200 and r.json()["detail"] == f"{agency}: approve", r.text
    assert (await event_types(pool, app_id)).count("AgencyReviewGiven") == 2


async def test_a_decision_without_a_key_is_refused_and_not_applied(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"}, key=None)
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "accept"}, key="bad key with spaces")
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
    assert await event_types(pool, app_id) == ["ApplicationReceived"]


async def test_an_application_posted_twice_with_one_key_starts_one_file(gateway, pool):
    gw = gateway
    before = await pool.fetchval("SELECT count(*) FROM permits")
    with gw.env.with_time_skipping_disabled():
        first = await gw.post("enterprise", "/applications", application_json(), key="apply-2026-01")
        second = await gw.post("enterprise", "/applications", application_json(), key="apply-2026-01")
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json() == first.json() and second.headers.get("Idempotent-Replayed") == "true"
    assert await pool.fetchval("SELECT count(*) FROM permits") == before + 1
