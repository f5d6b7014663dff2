"""3. The Art. 17 ledger: ingestion through the API against a bare binary COPY of the same rows, and the
dormancy and inspection queries over a large ledger.

Ingestion: the same batches (receipts, then supplies drawing on them) are booked four ways, interleaved
batch by batch so that every way sees the same table size: (reference) `copy_records_to_table` of the
very rows `store.ledger.ingest` books, as prepared tuples (binary COPY); (API) `POST
/permits/{id}/ledger/batches` on `bunker gateway` (the JSON validated piece by piece while the pieces
before are copied, the checks, stock, activity and yearly-summary rows, the batch record); (store)
`store.ledger.ingest` called directly with already-validated `Movement`s; (text COPY) a bare COPY of the
text the API sends for the same rows, prepared beforehand, to show what PostgreSQL's side of the API's
COPY costs against the reference's.

Queries: BENCH_LEDGER_ROWS rows over BENCH_LEDGER_PERMITS permits, two years each, generated inside
PostgreSQL with generate_series (receipts 1 in 20, the rest supplies), with `ledger_activity`,
`ledger_stock` and the yearly summary (`store.ledger.rebuild_summaries`, the aggregate migration 0006 fills
it with) derived from them as ingestion would have kept them; then `last_supply_at` (Art. 23, what the
dormancy timer asks) and `annual_summary` (Art. 22, one permit's year) on random permits. Reference:
`SELECT 1` on the same pool.
"""

from __future__ import annotations

import io
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx

from bench.common import Result, pct
from domain.examples import CREDIT_CODE
from domain.identifiers import make_imo
from domain.ledger import Movement, MovementBatch, year_window
from store import ledger
from tests.chaos.driver import ROLES
from tests.chaos.stack import Stack

VESSELS = [make_imo(f"{900000 + i:06d}") for i in range(50)]
T0 = datetime(2025, 3, 1, tzinfo=UTC)
_COPY_COLUMNS = ledger._COLUMNS  # exactly what ingestion copies


def batch(b: int, rows: int) -> list[Movement]:
    out = [Movement.model_validate(dict(voucher_no=f"B{b}-R", kind="receipt", occurred_at=T0 + timedelta(hours=b),
                                        depot="1号罐", quantity_t="900000", product="低硫燃料油 VLSFO 0.5%S",
                                        vouchers=[f"INV-{b}"]))]
    for n in range(1, rows):
        out.append(Movement.model_validate(dict(
            voucher_no=f"B{b}-{n}", kind="supply", occurred_at=T0 + timedelta(hours=b, seconds=n), depot="1号罐",
            quantity_t="12.345", product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"INV-{b}-{n}"],
            vessel_imo=VESSELS[n % len(VESSELS)], bdn_no=f"EBDN-{b}-{n}", mass_flow_meter_t="12.345",
            customs_declaration_no=f"5316{b:04d}{n:010d}")))
    return out


def records(stream_id: str, batch_id: str, movements: list[Movement], now: datetime) -> list[tuple]:
    return [(stream_id, m.voucher_no, m.kind.value, m.occurred_at, m.depot, m.counterpart_depot, m.quantity_t,
             m.product, m.vessel_imo, m.vessel_name, m.bdn_no, m.customs_declaration_no, m.mass_flow_meter_t,
             m.vouchers, batch_id, i, now) for i, m in enumerate(movements)]


async def _permit(pool, stream_id: str) -> None:
    await pool.execute(
        """INSERT INTO permits (stream_id, version, kind, status, credit_code, district, permit_number, valid_from,
                                valid_until, updated_at)
           VALUES ($1, 1, 'permit', 'in_force', $2, 'nansha', $3, $4, $5, now())""",
        stream_id, CREDIT_CODE, f"GZBB-BENCH-{stream_id[-4:]}", date(2024, 1, 1), date(2027, 12, 31))


async def ingestion(stack: Stack, pool, batches: int, rows: int) -> dict:
    ref, api, store, text = (f"BB-2025-{uuid.uuid4().hex[:6]}" for _ in range(4))
    for s in (ref, api, store, text):
        await _permit(pool, s)
    t = {"copy": 0.0, "api": 0.0, "store": 0.0, "text": 0.0}
    headers = {"Authorization": f"Bearer {stack.tokens['enterprise']}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=300) as http:
        for b in range(batches):
            movements = batch(b, rows)
            body = json.dumps([m.model_dump(mode="json") for m in movements]).encode()
            now = datetime.now(UTC)
            recs = records(ref, f"ref-{b}", movements, now)
            t0 = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.copy_records_to_table("ledger_movements", columns=_COPY_COLUMNS, records=recs)
            t["copy"] += time.perf_counter() - t0

            t0 = time.perf_counter()
            r = await http.post(f"/permits/{api}/ledger/batches", content=body,
                                headers=headers | {"Idempotency-Key": f"api-{b}"})
            t["api"] += time.perf_counter() - t0
            assert r.status_code == 201, r.text[:500]

            t0 = time.perf_counter()
            await ledger.ingest(pool, store, f"store-{b}", movements)
            t["store"] += time.perf_counter() - t0

            copied = b"".join(ledger._copy_text(text, f"text-{b}", chunk, str(now))
                              for chunk in MovementBatch.from_json(body, max_rows=len(movements)).chunks())
            t0 = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.copy_to_table("ledger_movements", source=io.BytesIO(copied), columns=_COPY_COLUMNS,
                                         format="text")
            t["text"] += time.perf_counter() - t0
    n = batches * rows
    for s in (ref, api, store, text):
        assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", s) == n
    return {k: n / v for k, v in t.items()} | {"rows": n}


GENERATE = """
INSERT INTO ledger_movements (stream_id, voucher_no, kind, occurred_at, depot, counterpart_depot, quantity_t, product,
                              vessel_imo, vessel_name, bdn_no, customs_declaration_no, mass_flow_meter_t, vouchers,
                              batch_id, batch_row, recorded_at)
SELECT 'BENCH-' || lpad((g % $3)::text, 5, '0'),
       'V' || g,
       CASE WHEN (g / $3) % 20 = 0 THEN 'receipt' ELSE 'supply' END,
       timestamptz '2024-01-01 00:00+08' + ((g / $3)::float8 / $4 * 730) * interval '1 day',
       'T' || (g % 3),
       NULL,
       CASE WHEN (g / $3) % 20 = 0 THEN 5000 ELSE 1 + (g % 50) END,
       'VLSFO 0.5%S',
       CASE WHEN (g / $3) % 20 = 0 THEN NULL ELSE '9' || lpad((g % 1000)::text, 6, '0') END,
       NULL,
       CASE WHEN (g / $3) % 20 = 0 THEN NULL ELSE 'EBDN-' || g END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE '5316' || g END,
       CASE WHEN (g / $3) % 20 = 0 THEN NULL ELSE 1 + (g % 50) END,
       ARRAY['INV-' || g],
       'gen-' || (g / 100000),
       (g % 100000)::int,
       timestamptz '2024-01-01 00:00+08' + ((g / $3)::float8 / $4 * 730) * interval '1 day' + interval '1 hour'
FROM generate_series($1::bigint, $2::bigint) AS g
"""


async def generate(pool, rows: int, permits: int) -> float:
    t0 = time.perf_counter()
    per_permit = max(1, rows // permits)
    await pool.execute(
        """INSERT INTO permits (stream_id, version, kind, status, credit_code, district, permit_number, valid_from,
                                valid_until, updated_at)
           SELECT 'BENCH-' || lpad(i::text, 5, '0'), 1, 'permit', 'in_force', $1, 'nansha', 'GZBB-G-' || i,
                  date '2024-01-01', date '2025-12-31', now()
           FROM generate_series(0, $2 - 1) AS i""", CREDIT_CODE, permits)
    chunk = 1_000_000
    for lo in range(0, rows, chunk):
        await pool.execute(GENERATE, lo, min(rows, lo + chunk) - 1, permits, per_permit, timeout=3600)
    await pool.execute(
        """INSERT INTO ledger_activity (stream_id, last_supply_at, supplies_total, movements_total, updated_at)
           SELECT stream_id, max(occurred_at) FILTER (WHERE kind = 'supply'), count(*) FILTER (WHERE kind = 'supply'),
                  count(*), now()
           FROM ledger_movements WHERE stream_id LIKE 'BENCH-%' GROUP BY stream_id""", timeout=3600)
    await pool.execute(
        """INSERT INTO ledger_stock (stream_id, depot, balance_t, updated_at)
           SELECT stream_id, depot, greatest(sum(delta_t), 0), now()
           FROM ledger_movements WHERE stream_id LIKE 'BENCH-%' GROUP BY stream_id, depot""", timeout=3600)
    # The yearly summary the inspection query reads, as ingestion would have kept it (the aggregate that
    # migration 0006 fills it with).
    async with pool.acquire() as conn:
        await ledger.rebuild_summaries(conn, [f"BENCH-{i:05d}" for i in range(permits)])
    await pool.execute("VACUUM ANALYZE ledger_movements", timeout=3600)
    for table in ("ledger_activity", "ledger_stock", "ledger_summary", "ledger_summary_vessels", "ledger_supply_days"):
        await pool.execute(f"ANALYZE {table}")
    return time.perf_counter() - t0


async def queries(pool, permits: int, samples: int) -> dict:
    rng = random.Random(7)
    ids = [f"BENCH-{rng.randrange(permits):05d}" for _ in range(samples)]
    start, end = year_window(2025)
    now = datetime(2026, 1, 15, tzinfo=UTC)
    for s in ids[:20]:  # warm the caches a little, as a running system would be
        await ledger.last_supply_at(pool, s)
        await ledger.annual_summary(pool, s, start, end, now=now)
    out: dict[str, list[float]] = {"select1": [], "last_supply_at": [], "annual_summary": []}
    for s in ids:
        t0 = time.perf_counter()
        await pool.fetchval("SELECT 1")
        out["select1"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await ledger.last_supply_at(pool, s)
        out["last_supply_at"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        summary = await ledger.annual_summary(pool, s, start, end, now=now)
        out["annual_summary"].append(time.perf_counter() - t0)
    out["supplies_per_summary"] = [summary.supplies]
    return out


async def run(tmp: Path, batches: int, rows: int, ledger_rows: int, permits: int, samples: int) -> list[Result]:
    stack = Stack(tmp)
    try:
        await stack.start(ROLES)
        stack.kill_worker()  # not needed here: the ledger path never reaches a workflow (no dormancy)
        pool = await stack.pool(4)
        rates = await ingestion(stack, pool, batches, rows)
        gen_s = await generate(pool, ledger_rows, permits)
        total = await pool.fetchval("SELECT count(*) FROM ledger_movements")
        q = await queries(pool, permits, samples)
        size = await pool.fetchval("SELECT pg_size_pretty(pg_total_relation_size('ledger_movements'))")
        await pool.close()
    finally:
        stack.stop()
    ratio = rates["api"] / rates["copy"]
    ms = {k: (pct(v, 50) * 1000, pct(v, 99) * 1000) for k, v in q.items() if k != "supplies_per_summary"}
    ingest = Result(
        3, "Ledger ingestion through the API",
        f"{rates['api']:,.0f} rows/s over HTTP ({rates['rows']:,} rows in {batches} batches of {rows:,}); "
        f"store API alone {rates['store']:,.0f} rows/s",
        f"bare `copy_records_to_table` {rates['copy']:,.0f} rows/s", ratio, "HTTP API ÷ bare COPY", "≥ 0.7",
        ratio >= 0.7,
        [f"Store API (`store.ledger.ingest` given `Movement` objects) ÷ bare COPY: "
         f"{rates['store'] / rates['copy']:.2f}.",
         f"The API copies text, not tuples: a bare COPY of the text it sends for the same rows, prepared "
         f"beforehand, runs at {rates['text']:,.0f} rows/s ({rates['text'] / rates['copy']:.2f} × the reference, "
         "which encodes its tuples in Python as it copies); HTTP API ÷ that bare text COPY: "
         f"{rates['api'] / rates['text']:.2f}.",
         "Over HTTP, the body is parsed into columns, not `Movement` objects (domain.ledger.MovementBatch): "
         "pydantic-core applies the model's rules it can (types, lengths, stripping, which fields each kind "
         "takes, the digits of tonnes and times), the rest is checked per column (IMO check digits once per "
         "vessel); anything it does not accept is validated by `Movement` over the whole body, for the same "
         "values or the same field errors. The body is validated in pieces of 32 KiB, each as the COPY "
         "(text format) books the pieces before, so validating and booking overlap; that is why the HTTP "
         "figure beats the store API, which starts from `Movement` objects.",
         "Ingestion, per batch, in one transaction: the permit's row lock, the batch-id lookup, the COPY, "
         "the checks on the columns (dates, a voucher repeated, stock: no read at all when the batch alone "
         "never takes a depot below zero; a voucher booked before is refused by the unique index during the "
         "COPY), then one statement for stock, activity, the yearly summary and the batch record. A batch "
         "the checks or the index refuse is rolled back and booked again the careful way, which names the "
         "row exactly as before."],
    )
    a50, a99 = ms["annual_summary"]
    l50, l99 = ms["last_supply_at"]
    s50, s99 = ms["select1"]
    per_permit = ledger_rows // permits
    queries_result = Result(
        3, f"Dormancy and inspection queries at {total:,} ledger rows",
        f"`last_supply_at` p50 {l50:.2f} / p99 {l99:.2f} ms; `annual_summary` p50 {a50:.1f} / p99 {a99:.1f} ms",
        f"`SELECT 1` p50 {s50:.2f} / p99 {s99:.2f} ms", max(l99, a99) / s99 if s99 else None,
        "slower query's p99 ÷ SELECT 1 p99", "p99 < 10 ms (both)", l99 < 10 and a99 < 10,
        [f"{ledger_rows:,} generated rows over {permits:,} permits (about {per_permit:,} per permit over two "
         f"years, so a permit's year holds about {per_permit // 2:,} movements; the last summary counted "
         f"{q['supplies_per_summary'][0]:,} supplies), plus the ingestion rows; table with indexes {size}; "
         f"generated (with the summary tables) in {gen_s:.0f} s. {samples} samples of each query on random "
         "permits.",
         "`last_supply_at` reads one row of `ledger_activity` (kept by ingestion), whatever the ledger's size.",
         "`annual_summary` reads a whole year from the summary tables ingestion keeps in the same transaction "
         "(migration 0006: per permit, year, depot and days of lateness `ledger_summary`; the vessels of a "
         "year; each day's first and last supply, which is all the quiet spells of a day or more need), in "
         "one statement: a handful of rows per permit-year, whatever the ledger's size; the sample of "
         "supplies without a meter reading comes from a partial index. Any other period is aggregated from "
         "`ledger_movements`, and tests hold the two readings equal."],
    )
    return [ingest, queries_result]
