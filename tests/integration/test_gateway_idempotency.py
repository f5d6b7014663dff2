"""A retried POST is applied once and answered the same: Temporal's update ids, and the gateway's keys."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


from bunker import services
from domain.application import Application
from domain.calendar import WorkingCalendar
from gateway import idempotency
from store.principals import by_token
from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OWN_DISTRICT, application_json, event_types, gateway, gateway_cut_from_temporal,
    tokens,
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
    # The same answer (a replay read back from the store may order its keys differently: JSON objects
    # are unordered, so compare them as values).
    assert all(r.json() == answers[0].json() for r in answers)
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


# ---------------------------------------------------------------- an application: one key, one file
# The route's steps are claim → intake check → case number reserved with the key → workflow started →
# answer stored. A crash anywhere after the reservation leaves the key with its case number and no
# answer; a retry once the claim is abandoned (or at once, after a failure the route saw) finishes on
# that number. These tests build each crash state with the route's own steps, stopping where it died.

async def _crashed_after_reserving(gw, pool, key: str, *, started: bool) -> str:
    """The state a gateway leaves when it dies after reserving a case number (and, if `started`, after
    starting the file) but before storing its answer, its claim since abandoned. Returns the case number."""
    who = await by_token(pool, gw.tokens["enterprise"])
    application = Application.model_validate(application_json())
    fp = idempotency.fingerprint("POST", "/applications", application.model_dump(mode="json"))
    assert (await idempotency.claim(pool, who, key, fp)).mine
    received_at = datetime.now(UTC)
    app_id = await services.allocate_application_id(pool, WorkingCalendar.local_date(received_at))
    await idempotency.reserve(pool, who, key, app_id)
    if started:
        with gw.env.with_time_skipping_disabled():
            await services.start_application(gw.env.client, gw.settings.temporal_task_queue, app_id, application,
                                             received_at)
    # ... the process dies here. A minute later its claim counts as abandoned:
    await pool.execute("UPDATE idempotency_keys SET created_at = now() - interval '2 minutes' WHERE key = $1", key)
    return app_id


async def _workflows_on(gw) -> list[str]:
    """Every workflow started on the test's task queue (visibility may lag a moment behind a start)."""
    found: list[str] = []
    for _ in range(50):
        found = [w.id async for w in gw.env.client.list_workflows(f"TaskQueue = '{gw.settings.temporal_task_queue}'")]
        if found:
            break
        await asyncio.sleep(0.1)
    return found


async def test_an_application_retried_after_a_crash_between_its_start_and_its_answer_is_the_same_file(gateway, pool):
    gw = gateway
    files = await pool.fetchval("SELECT count(*) FROM permits")
    app_id = await _crashed_after_reserving(gw, pool, "apply-crash-after-start", started=True)
    with gw.env.with_time_skipping_disabled():
        retry = await gw.post("enterprise", "/applications", application_json(), key="apply-crash-after-start")
        again = await gw.post("enterprise", "/applications", application_json(), key="apply-crash-after-start")
    assert retry.status_code == 201, retry.text
    assert retry.json()["application_id"] == app_id and retry.json()["workflow_id"] == f"application/{app_id}"
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert again.status_code == 201 and again.json() == retry.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert await _workflows_on(gw) == [f"application/{app_id}"]
    assert await pool.fetchval("SELECT count(*) FROM permits") == files + 1
    assert await event_types(pool, app_id) == ["ApplicationReceived"]


async def test_an_application_retried_after_a_crash_before_its_start_starts_the_reserved_file(gateway, pool):
    gw = gateway
    app_id = await _crashed_after_reserving(gw, pool, "apply-crash-before-start", started=False)
    with gw.env.with_time_skipping_disabled():
        retry = await gw.post("enterprise", "/applications", application_json(), key="apply-crash-before-start")
    assert retry.status_code == 201, retry.text
    assert retry.json()["application_id"] == app_id and "Idempotent-Replayed" not in retry.headers
    assert await _workflows_on(gw) == [f"application/{app_id}"]


async def test_a_claim_still_held_is_409_in_progress_and_keeps_its_case_number(gateway, pool):
    gw = gateway
    app_id = await _crashed_after_reserving(gw, pool, "apply-held", started=False)
    await pool.execute("UPDATE idempotency_keys SET created_at = now() WHERE key = 'apply-held'")  # not yet abandoned
    r = await gw.post("enterprise", "/applications", application_json(), key="apply-held")
    assert r.status_code == 409 and r.json()["error"]["code"] == "in_progress" and r.headers["Retry-After"]
    stored = await pool.fetchrow("SELECT status_code, response FROM idempotency_keys WHERE key = 'apply-held'")
    assert stored["status_code"] is None and stored["response"] == {"reserved": app_id}


async def test_an_application_whose_start_failed_keeps_its_case_number_for_the_retry(gateway, client, pool):
    """Temporal unreachable: 503. Whether the start reached the server or not, the retry (at once, with the same
    key) acts on the same case number, so it cannot start a second file."""
    gw = gateway
    async with gateway_cut_from_temporal(gw, client, pool) as (http, cut):
        cut()
        await asyncio.sleep(0.05)
        headers = {**gw.auth("enterprise"), "Idempotency-Key": "apply-503"}
        r = await http.post("/applications", json=application_json(), headers=headers)
        assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable", r.text
    reserved = (await pool.fetchval("SELECT response FROM idempotency_keys WHERE key = 'apply-503'"))["reserved"]
    with gw.env.with_time_skipping_disabled():
        retry = await gw.post("enterprise", "/applications", application_json(), key="apply-503")
    assert retry.status_code == 201, retry.text
    assert retry.json()["application_id"] == reserved
    assert await _workflows_on(gw) == [f"application/{reserved}"]


async def test_concurrent_posts_of_one_application_start_one_file(gateway, pool):
    gw = gateway
    with gw.env.with_time_skipping_disabled():
        answers = await asyncio.gather(*(gw.post("enterprise", "/applications", application_json(), key="apply-race")
                                         for _ in range(4)))
    ok = [r for r in answers if r.status_code == 201]
    assert ok and all(r.status_code == 409 and r.json()["error"]["code"] == "in_progress"
                      for r in answers if r.status_code != 201), [r.text for r in answers]
    assert len({r.json()["application_id"] for r in ok}) == 1
    assert await _workflows_on(gw) == [ok[0].json()["workflow_id"]]
