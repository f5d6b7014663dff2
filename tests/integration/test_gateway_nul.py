"""NUL (U+0000) is refused at the edge (gateway/nul.py): PostgreSQL text cannot hold it. Every JSON body,
the path and the query: 422 `invalid` in the documented shape, naming the field; nothing is done."""

from __future__ import annotations

import json
import uuid

from tests.integration.gateway_helpers import (  # noqa: F401 - fixtures
    OWN_DISTRICT, application_json, event_types, gateway, tokens,
)
from tests.integration.permit_gateway_helpers import ledger_start, permit_in_force, row


def refused(r, fields: list[str]) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"error"} and body["error"]["code"] == "invalid", body
    assert "NUL" in body["error"]["message"]
    assert [f["field"] for f in body["error"]["fields"]] == fields
    assert all(f["type"] == "nul_character" for f in body["error"]["fields"])


async def post_raw(gw, role: str, path: str, content) -> object:
    headers = {**gw.auth(role), "Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    return await gw.http.post(path, content=content, headers=headers)


async def test_an_application_with_a_nul_is_422_naming_the_field_and_starts_nothing(gateway, pool):
    gw = gateway
    files = await pool.fetchval("SELECT count(*) FROM permits")
    app = application_json()
    app["enterprise"]["name"] = "南沙\x00加油"
    app["tankers"][0]["name"] = "\x00"
    refused(await gw.post("enterprise", "/applications", app),  # httpx writes NUL as \u0000
            ["body.enterprise.name", "body.tankers.0.name"])
    text = json.dumps(application_json()).replace('"name": "', '"name": "\\u0000', 1).encode()
    refused(await post_raw(gw, "enterprise", "/applications", text), ["body.enterprise.name"])
    # A raw NUL byte is no JSON at all; refused all the same.
    refused(await post_raw(gw, "enterprise", "/applications", b'{"enterprise": "\x00"}'), ["body"])
    assert await pool.fetchval("SELECT count(*) FROM permits") == files
    assert await pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0  # not even claimed


async def test_an_escaped_backslash_before_u0000_is_text_and_accepted(gateway, pool):
    gw = gateway
    app = application_json()
    app["enterprise"]["name"] = "南沙\\u0000加油"  # the six characters \u0000, no NUL
    with gw.env.with_time_skipping_disabled():
        r = await gw.post("enterprise", "/applications", app)
    assert r.status_code == 201, r.text
    name = await pool.fetchval("SELECT enterprise_name FROM permits WHERE stream_id = $1", r.json()["application_id"])
    assert name == "南沙\\u0000加油"


async def test_a_decision_with_a_nul_is_422_and_not_applied(gateway, pool):
    gw = gateway
    app_id = await gw.apply()
    await gw.wait_task(OWN_DISTRICT, f"{app_id}/completeness")
    r = await gw.decide(OWN_DISTRICT, f"{app_id}/completeness", {"action": "false_materials", "reason": "伪造\x00"})
    refused(r, ["body.reason"])
    assert await event_types(pool, app_id) == ["ApplicationReceived"]


async def test_a_nul_split_across_streamed_chunks_is_found(gateway):
    gw = gateway
    text = json.dumps(application_json()).replace('"name": "', '"name": "\\u0000', 1).encode()
    cut = text.index(b"\\u0000") + 3

    async def chunks():
        yield text[:cut]
        yield text[cut:]

    r = await post_raw(gw, "enterprise", "/applications", chunks())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    refused(r, ["body.enterprise.name"])


async def test_a_nul_in_the_path_or_the_query_is_422(gateway):
    gw = gateway
    refused(await gw.get("operator", "/applications/BB-2026-0%001"), [])
    refused(await gw.get("operator", "/permits", params={"district": "nansha\x00"}), [])


async def test_a_ledger_batch_with_a_nul_is_422_and_books_nothing(gateway, client, pool, task_queue):
    gw = gateway
    permit_id, _ = await permit_in_force(gw, client, pool, task_queue)
    start = await ledger_start(pool, permit_id)
    batch = [row("receipt", 1, start, "100"), row("supply", 2, start, "1", vessel_name="EVER\x00GIVEN")]
    r = await gw.post("enterprise", f"/permits/{permit_id}/ledger/batches", batch)
    refused(r, ["body.1.vessel_name"])
    assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", permit_id) == 0
    batch[1]["vessel_name"] = "EVER GIVEN"
    assert (await gw.post("enterprise", f"/permits/{permit_id}/ledger/batches", batch)).status_code == 201
