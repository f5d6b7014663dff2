"""The Art. 17 ledger through HTTP: a batch booked once per Idempotency-Key, refused whole with its row
named, 50,000 rows in one body on this route only; stock and the annual summary."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from domain.calendar import SHANGHAI
from tests.integration.gateway_helpers import gateway, tokens  # noqa: F401 - fixtures
from tests.integration.permit_gateway_helpers import busy_batch, ledger_start, permit_in_force, row


@pytest.fixture
async def permit(gateway, client, pool, task_queue):
    permit_id, h = await permit_in_force(gateway, client, pool, task_queue)
    yield permit_id
    await h.terminate("test done")


def error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert set(r.json()) == {"error"} and r.json()["error"]["code"] == code, r.text
    return r.json()["error"]


async def booked(pool, permit_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", permit_id)


async def test_a_batch_posted_twice_with_one_key_is_booked_once_and_answered_the_same(gateway, pool, permit):
    gw = gateway
    at = await ledger_start(pool, permit)
    batch = [row("receipt", 1, at, "500"), row("supply", 2, at + timedelta(seconds=1), "120.5")]
    first = await gw.post("enterprise", f"/permits/{permit}/ledger/batches", batch, key="2026-11-26-a")
    assert first.status_code == 201, first.text
    assert first.json() == {"permit_id": permit, "batch_id": "2026-11-26-a", "rows": 2, "supplies": 1,
                            "last_supply_at": first.json()["last_supply_at"], "resumed_from_dormancy": False}
    second = await gw.post("enterprise", f"/permits/{permit}/ledger/batches", batch, key="2026-11-26-a")
    assert (second.status_code, second.json()) == (201, first.json())
    assert second.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert await booked(pool, permit) == 2
    # The same key with other rows is refused, not answered with the first result.
    other = [row("receipt", 3, at + timedelta(seconds=2), "1")]
    error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", other, key="2026-11-26-a"),
          422, "batch_id_reused")
    error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", other, key=None), 400,
          "idempotency_key_required")
    assert await booked(pool, permit) == 2
    stock = (await gw.get("enterprise", f"/permits/{permit}/ledger/stock")).json()
    assert stock == {"permit_id": permit, "depots": {"南沙1号罐": "379.500"}, "total_t": "379.500"}


async def test_a_refused_batch_names_its_row_and_books_nothing(gateway, pool, permit):
    gw = gateway
    at = await ledger_start(pool, permit)
    short = [row("receipt", 1, at, "10"), row("supply", 2, at + timedelta(seconds=1), "5"),
             row("supply", 3, at + timedelta(seconds=2), "6")]
    e = error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", short), 409, "negative_stock")
    assert e["details"] == {"row_index": 2} and e["fields"][0]["field"] == "movements.2"
    assert "V000003" in e["message"]
    repeated = [row("receipt", 1, at, "10"), row("receipt", 1, at + timedelta(seconds=1), "10")]
    e = error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", repeated), 422, "duplicate_voucher")
    assert e["details"] == {"row_index": 1}
    future = [row("receipt", 1, at + timedelta(days=2), "10")]
    assert error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", future), 422,
                 "in_future")["details"] == {"row_index": 0}
    error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", []), 422, "empty_batch")
    assert await booked(pool, permit) == 0
    # A voucher booked before is a conflict with the ledger as it stands.
    ok = await gw.post("enterprise", f"/permits/{permit}/ledger/batches", [row("receipt", 7, at, "10")])
    assert ok.status_code == 201, ok.text
    again = [row("receipt", 8, at, "1"), row("receipt", 7, at, "10")]
    assert error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", again), 409,
                 "voucher_exists")["details"] == {"row_index": 1}


async def test_a_malformed_row_is_422_naming_movements_index_and_field(gateway, pool, permit):
    gw = gateway
    at = await ledger_start(pool, permit)
    bad = [row("receipt", 1, at, "10"), row("supply", 2, at, "1", vessel_imo=None),
           row("receipt", 3, at, "-4"), row("receipt", 4, at) | {"colour": "red"}]
    e = error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", bad), 422, "invalid")
    fields = {f["field"] for f in e["fields"]}
    assert {"movements.1.vessel_imo", "movements.2.quantity_t", "movements.3.colour"} <= fields, fields
    not_json = await gw.http.post(f"/permits/{permit}/ledger/batches", content=b"[{",
                                  headers=gw.auth("enterprise") | {"Idempotency-Key": "x1"})
    assert error(not_json, 422, "invalid")["fields"][0]["field"] == "movements"
    assert await booked(pool, permit) == 0


async def test_50000_rows_in_one_body_on_this_route_only(gateway, pool, permit):
    gw = gateway
    at = await ledger_start(pool, permit)
    batch = busy_batch(at, 50_000)
    body = json.dumps(batch).encode()
    assert len(body) > 10 << 20  # far over the 1 MiB of every other route
    headers = gw.auth("enterprise") | {"Idempotency-Key": "big-1", "Content-Type": "application/json"}
    r = await gw.http.post(f"/permits/{permit}/ledger/batches", content=body, headers=headers)
    assert r.status_code == 201, r.text[:500]
    assert (r.json()["rows"], r.json()["supplies"]) == (50_000, 49_999)
    assert await booked(pool, permit) == 50_000
    one_more = json.dumps(batch + [row("supply", 50_000, at + timedelta(seconds=60), "1")]).encode()
    r = await gw.http.post(f"/permits/{permit}/ledger/batches", content=one_more,
                           headers=headers | {"Idempotency-Key": "big-2"})
    e = error(r, 422, "invalid")
    assert e["fields"][0]["field"] == "movements" and e["fields"][0]["type"] == "too_long"
    # Elsewhere, 1 MiB: the same body on a renewal is refused before it is read.
    r = await gw.http.post(f"/permits/{permit}/renewal", content=body, headers=headers | {"Idempotency-Key": "r"})
    error(r, 413, "payload_too_large")
    r = await gw.http.post(f"/permits/{permit}/ledger/batches", content=b" " * (33 << 20),
                           headers=headers | {"Idempotency-Key": "huge"})
    assert "33554432" in error(r, 413, "payload_too_large")["message"]


async def test_the_annual_summary_reads_the_year_of_the_ledger(gateway, pool, permit):
    gw = gateway
    at = await ledger_start(pool, permit)
    batch = [row("receipt", 1, at, "500"), row("supply", 2, at + timedelta(seconds=1), "120.5"),
             row("supply", 3, at + timedelta(seconds=2), "79.5", mass_flow_meter_t=None)]
    assert (await gw.post("enterprise", f"/permits/{permit}/ledger/batches", batch)).status_code == 201
    year = at.astimezone(SHANGHAI).year
    s = (await gw.get("enterprise", f"/permits/{permit}/ledger/summary", params={"year": year})).json()
    assert (s["stream_id"], s["supplies"], s["supplied_t"], s["vessels"], s["receipts"]) == (permit, 2, "200.000", 1, 1)
    assert s["reporting_gaps"]["supplies_without_meter"] == 1
    assert s["closing_stock"] == {"南沙1号罐": "300.000"}
    default = (await gw.get("enterprise", f"/permits/{permit}/ledger/summary")).json()
    assert default["start"] == s["start"]  # this year
    error(await gw.get("enterprise", f"/permits/{permit}/ledger/summary", params={"year": 1999}), 422, "invalid")


async def test_a_malformed_row_far_into_a_large_body_is_422_naming_it_and_nothing_is_booked(gateway, pool, permit):
    """A large body is validated piece by piece while the pieces before are copied; a bad row anywhere is
    still the answer, and nothing is booked."""
    gw = gateway
    at = await ledger_start(pool, permit)
    batch = busy_batch(at, 3_000)
    batch[2_900]["vessel_imo"] = "IMO1234568"  # the check digit is 7
    e = error(await gw.post("enterprise", f"/permits/{permit}/ledger/batches", batch), 422, "invalid")
    assert [f["field"] for f in e["fields"]] == ["movements.2900.vessel_imo"] and "expected 7" in e["fields"][0]["message"]
    assert await booked(pool, permit) == 0
    batch[2_900]["vessel_imo"] = "IMO1234567"
    ok = await gw.post("enterprise", f"/permits/{permit}/ledger/batches", batch)
    assert ok.status_code == 201 and ok.json()["rows"] == 3_000 and await booked(pool, permit) == 3_000
