"""The ledger's yearly summary (store/migrations/0006_ledger_summary.sql) against the movements it sums,
and the quick way of booking a batch (a body validated piece by piece while it is copied) against the
careful way: the same rows stored, the same refusals."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain import ledger as domain_ledger
from domain.ledger import FIELDS, InvalidBatch, MovementBatch, year_window
from store import ledger, migrate
from store.ledger import LedgerRefused
from tests.integration.test_ledger_ingest import VESSELS, permit

SUMMARY_TABLES = {
    "ledger_summary": "year, depot, late_days",
    "ledger_supply_days": "day",
    "ledger_summary_vessels": "year, vessel_imo",
}


def row(kind: str, n: int, at: datetime, quantity: str = "10", depot: str = "1号罐", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = dict(voucher_no=f"V{n:06d}", kind=kind, occurred_at=at.isoformat(), depot=depot,
                               quantity_t=quantity, product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"INV-{n}"])
    if kind == "supply":
        raw |= dict(vessel_imo=VESSELS[n % 7], bdn_no=f"EBDN-{n}", mass_flow_meter_t=quantity,
                    customs_declaration_no=f"5316{n:014d}")
    if kind in ("transfer_out", "transfer_in"):
        raw |= dict(counterpart_depot="9号罐")
    return raw | extra


def body(rows: list[dict[str, Any]], **dumps: Any) -> bytes:
    return json.dumps(rows, ensure_ascii=False, **dumps).encode()


def parsed(rows: list[dict[str, Any]], **dumps: Any) -> MovementBatch:
    return MovementBatch.from_json(body(rows, **dumps), max_rows=50_000)


@pytest.fixture
def small_pieces(monkeypatch):
    """Bodies of a few dozen rows are validated (and copied) in several pieces."""
    monkeypatch.setattr(domain_ledger, "PIECE_BYTES", 700)
    monkeypatch.setattr(domain_ledger, "FIRST_PIECE_BYTES", 400)


async def stored(pool, stream_id: str) -> list[tuple[Any, ...]]:
    rows = await pool.fetch(f"SELECT {', '.join(FIELDS)} FROM ledger_movements WHERE stream_id = $1 ORDER BY batch_row",
                            stream_id)
    return [tuple(r) for r in rows]


async def summary_tables(pool, stream_id: str) -> dict[str, list[tuple[Any, ...]]]:
    return {t: [tuple(r)[1:] for r in await pool.fetch(f"SELECT * FROM {t} WHERE stream_id = $1 ORDER BY {order}",
                                                        stream_id)]
            for t, order in SUMMARY_TABLES.items()}


async def both_reads(pool, stream_id: str, start: datetime, end: datetime, quiet_days: int, late: int, now: datetime):
    """(from the summary tables, from ledger_movements) for whole years."""
    permit_row = await pool.fetchrow("SELECT valid_from, valid_until FROM permits WHERE stream_id = $1", stream_id)
    lo = max(start, domain_ledger.day_start(permit_row["valid_from"])) if permit_row["valid_from"] else start
    hi = min(end, now)
    years = domain_ledger.whole_years(start, end)
    fast = await ledger._read_summary(pool, stream_id, start, end, years, lo, hi, quiet_days, late)
    async with pool.acquire() as conn:
        slow = await ledger._read_movements(conn, stream_id, start, end, lo, hi, quiet_days, late)
    assert fast is not None, "the summary does not account for the movements"
    keys = [k for k in slow[0].keys()]
    return ({k: fast[0][k] for k in keys}, *fast[1:]), ({k: slow[0][k] for k in keys}, *slow[1:])


def same_to_the_digit(a: Any, b: Any) -> None:
    assert a == b
    assert repr(a) == repr(b)  # 0 is not 0.000: what the API answers is the same text


# --- the summary against the movements ------------------------------------------------------------------

T0 = datetime(2025, 12, 31, 14, 0, tzinfo=UTC)  # 22:00 in Guangzhou


@st.composite
def ledgers(draw):
    """A few batches around a new year in Guangzhou, recorded late by whole days give or take a microsecond,
    never taking a depot below zero (receipts first), with gaps in metering, declarations and vouchers."""
    batches = []
    n = 0
    for b in range(draw(st.integers(1, 3))):
        rows = [row("receipt", i, T0 - timedelta(days=400), "100000", depot=d)
                for i, d in enumerate(("1号罐", "2号罐"))] if b == 0 else []
        n += len(rows)
        for _ in range(draw(st.integers(1, 12))):
            kind = draw(st.sampled_from(["supply", "supply", "supply", "receipt", "transfer_out", "transfer_in"]))
            days = draw(st.one_of(st.integers(-380, 40), st.sampled_from([-300, -31, -30, -1, 0, 1, 2, 35])))
            at = T0 + timedelta(days=days, hours=draw(st.integers(0, 23)), seconds=draw(st.sampled_from([0, 1, 59])))
            extra: dict[str, Any] = {}
            if kind == "supply" and draw(st.booleans()):
                extra["mass_flow_meter_t"] = None
            if draw(st.integers(0, 3)) == 0:
                extra |= {"customs_declaration_no": None, "vouchers": []}
            zone = draw(st.sampled_from([UTC, timezone(timedelta(hours=8))]))
            rows.append(row(kind, n, at.astimezone(zone), draw(st.sampled_from(["1", "2.5", "0.001"])),
                            depot=draw(st.sampled_from(["1号罐", "2号罐"])), **extra))
            n += 1
        latest = max(datetime.fromisoformat(r["occurred_at"]) for r in rows)
        recorded_at = latest + timedelta(days=draw(st.integers(0, 45)), microseconds=draw(st.sampled_from([-1, 0, 1])))
        batches.append((rows, max(recorded_at, latest)))
    return batches


def drawn(strategy, count: int) -> list[Any]:
    found: list[Any] = []

    @given(strategy)
    @settings(max_examples=count, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found


@pytest.mark.parametrize("example", drawn(ledgers(), 30))
async def test_the_summary_gives_what_the_movements_give(pool, example):
    stream_id = await permit(pool, valid_from=date(2024, 1, 1))
    for i, (rows, recorded_at) in enumerate(example):
        await ledger.ingest(pool, stream_id, f"{stream_id}/{i}", parsed(rows), now=recorded_at)
    now = max(r for _, r in example)
    for start, end in (year_window(2025), year_window(2026), (year_window(2024)[0], year_window(2026)[1])):
        for quiet_days, late in ((1, 0), (30, 30), (5, 1), (400, -1)):
            fast, slow = await both_reads(pool, stream_id, start, end, quiet_days, late, now)
            assert fast[1:] == slow[1:]
            for k, v in slow[0].items():
                same_to_the_digit(fast[0][k], v)
            for (_, a, b), (_, c, d) in zip(fast[3], slow[3], strict=True):
                same_to_the_digit((a, b), (c, d))
    # …and what ingestion kept is what the migration's aggregate makes of the movements
    kept = await summary_tables(pool, stream_id)
    async with pool.acquire() as conn:
        await ledger.rebuild_summaries(conn, [stream_id])
    assert await summary_tables(pool, stream_id) == kept


async def test_whole_years_are_read_from_the_summary_and_other_periods_from_the_movements(pool):
    stream_id = await permit(pool)
    day = datetime(2025, 6, 1, tzinfo=UTC)
    rows = [row("receipt", 0, day, "100"), row("supply", 1, day + timedelta(days=40), "7.5", mass_flow_meter_t=None)]
    await ledger.ingest(pool, stream_id, uuid.uuid4().hex, parsed(rows), now=day + timedelta(days=41))
    now = datetime(2026, 3, 1, tzinfo=UTC)
    s = await ledger.annual_summary(pool, stream_id, *year_window(2025), now=now)
    assert (s.supplies, s.supplied_t, s.received_t, s.vessels) == (1, Decimal("7.500"), Decimal("100.000"), 1)
    assert s.reporting_gaps.supplies_without_meter_sample == ["V000001"]
    assert [q.days for q in s.quiet_spells] == [191, 173]  # from 1 January, and to 31 December
    half = await ledger.annual_summary(pool, stream_id, day, day + timedelta(days=60), now=now)
    assert (half.supplies, [q.days for q in half.quiet_spells]) == (1, [40])


async def test_movements_written_around_ingestion_are_read_from_the_movements(pool):
    """A summary that does not account for every booked movement (ledger_activity's count) is not read."""
    stream_id = await permit(pool)
    at = datetime(2025, 3, 1, tzinfo=UTC)
    await ledger.ingest(pool, stream_id, uuid.uuid4().hex, parsed([row("receipt", 0, at, "100")]),
                        now=at + timedelta(hours=1))
    await pool.execute(
        """INSERT INTO ledger_movements (stream_id, voucher_no, kind, occurred_at, depot, quantity_t, product,
                                         vessel_imo, bdn_no, vouchers, batch_id, batch_row, recorded_at)
           VALUES ($1, 'X1', 'supply', $2, '1号罐', 40, 'VLSFO', $3, 'B', '{}', 'by hand', 0, $2)""",
        stream_id, at + timedelta(days=1), VESSELS[0])
    await pool.execute("UPDATE ledger_activity SET movements_total = movements_total + 1 WHERE stream_id = $1", stream_id)
    s = await ledger.annual_summary(pool, stream_id, *year_window(2025), now=datetime(2026, 1, 2, tzinfo=UTC))
    assert (s.supplies, s.supplied_t, s.reporting_gaps.movements_without_vouchers) == (1, Decimal("40.000"), 1)


# --- the quick way against the careful way --------------------------------------------------------------

AWKWARD = ["tab\there", "line\nbreak", "cr\rhere", "back\\slash", 'quote"d', "\\N", "{braced}", "com,ma", "😀 emoji",
           "null", "  spaced  ", "é"]


@pytest.mark.parametrize("ascii_only", [False, True])
async def test_values_are_stored_as_validated_whatever_characters_they_hold(pool, small_pieces, ascii_only):
    stream_id = await permit(pool)
    at = datetime.now(UTC) - timedelta(days=1)
    rows = [row("receipt", 0, at, "1000")]
    for i, text in enumerate(AWKWARD * 3, 1):
        rows.append(row("supply", i, at + timedelta(minutes=i), "1.5", product=text, vessel_name=text, bdn_no=text,
                        vouchers=[text, f"{text}-2"] if i % 2 else [], customs_declaration_no=text))
    batch = MovementBatch.from_json(json.dumps(rows, ensure_ascii=ascii_only).encode(), max_rows=100)
    assert not batch.complete  # several pieces
    await ledger.ingest(pool, stream_id, uuid.uuid4().hex, batch)
    assert await stored(pool, stream_id) == list(batch.rows())
    # the same rows the careful way (Movement objects, as the store API takes them)
    other = await permit(pool)
    await ledger.ingest(pool, other, uuid.uuid4().hex, list(batch))
    assert await stored(pool, other) == await stored(pool, stream_id)


async def test_a_voucher_booked_before_stops_a_batch_copied_piece_by_piece_naming_its_row(pool, small_pieces):
    stream_id = await permit(pool)
    at = datetime.now(UTC) - timedelta(days=1)
    await ledger.ingest(pool, stream_id, f"{stream_id}/first", parsed([row("receipt", 0, at, "1000"), row("supply", 1, at, "1")]))
    again = [row("supply", n, at + timedelta(minutes=n), "1") for n in range(2, 40)] + [row("supply", 1, at, "1")]
    batch = parsed(again)
    assert not batch.complete
    with pytest.raises(LedgerRefused) as e:
        await ledger.ingest(pool, stream_id, f"{stream_id}/second", batch)
    assert (e.value.code, e.value.row_index) == ("voucher_exists", 38)
    assert len(await stored(pool, stream_id)) == 2
    assert await ledger.stock(pool, stream_id) == {"1号罐": Decimal("999.000")}


async def test_a_batch_copied_piece_by_piece_that_empties_a_depot_is_refused_naming_its_row(pool, small_pieces):
    stream_id = await permit(pool)
    at = datetime.now(UTC) - timedelta(days=1)
    await ledger.ingest(pool, stream_id, f"{stream_id}/first", parsed([row("receipt", 0, at, "20")]))
    before = await summary_tables(pool, stream_id)
    batch = parsed([row("supply", n, at + timedelta(minutes=n), "1") for n in range(1, 40)])
    with pytest.raises(LedgerRefused) as e:
        await ledger.ingest(pool, stream_id, f"{stream_id}/second", batch)
    assert (e.value.code, e.value.row_index) == ("negative_stock", 20)
    assert len(await stored(pool, stream_id)) == 1 and await summary_tables(pool, stream_id) == before
    fits = parsed([row("supply", n, at + timedelta(minutes=n), "1") for n in range(1, 21)])
    assert (await ledger.ingest(pool, stream_id, f"{stream_id}/third", fits)).rows == 20


async def test_an_invalid_row_in_a_later_piece_is_the_answer_and_nothing_is_booked(pool, small_pieces):
    stream_id = await permit(pool)
    at = datetime.now(UTC) - timedelta(days=1)
    rows = [row("receipt", 0, at, "1000")] + [row("supply", n, at + timedelta(minutes=n), "1") for n in range(1, 40)]
    rows[37]["quantity_t"] = "-2"
    with pytest.raises(InvalidBatch) as e:
        await ledger.ingest(pool, stream_id, uuid.uuid4().hex, parsed(rows))
    assert [err["loc"] for err in e.value.error.errors()] == [(37, "quantity_t")]
    assert await stored(pool, stream_id) == [] and await ledger.stock(pool, stream_id) == {}
    # An invalid row is the answer before anything the ledger would say (here: the permit is not in force).
    ended = await permit(pool, "terminated")
    with pytest.raises(InvalidBatch):
        await ledger.ingest(pool, ended, uuid.uuid4().hex, parsed(rows))


async def test_a_batch_retried_in_other_words_is_answered_as_booked_and_other_rows_are_refused(pool, small_pieces):
    stream_id = await permit(pool)
    at = datetime.now(UTC) - timedelta(days=1)
    rows = [row("receipt", 0, at, "1000")] + [row("supply", n, at + timedelta(minutes=n), "1") for n in range(1, 30)]
    first = await ledger.ingest(pool, stream_id, f"{stream_id}/b-1", parsed(rows))
    # Other whitespace, other key order, other time zone: the same rows.
    reworded = [dict(reversed(list(r.items()))) | {"occurred_at": datetime.fromisoformat(r["occurred_at"]).astimezone(
        timezone(timedelta(hours=8))).isoformat()} for r in rows]
    again = await ledger.ingest(pool, stream_id, f"{stream_id}/b-1", parsed(reworded, indent=2))
    assert again == first.model_copy(update={"replayed": True})
    assert (await ledger.ingest(pool, stream_id, f"{stream_id}/b-1", rows_as_movements(rows))).replayed
    changed = [*rows[:-1], rows[-1] | {"quantity_t": "2"}]
    for other in (changed, rows[:-1]):
        with pytest.raises(LedgerRefused) as e:
            await ledger.ingest(pool, stream_id, f"{stream_id}/b-1", parsed(other))
        assert e.value.code == "batch_id_reused"
    assert len(await stored(pool, stream_id)) == 30


def rows_as_movements(rows: list[dict[str, Any]]) -> list[Any]:
    return list(MovementBatch.from_json(body(rows), max_rows=1_000))


async def test_the_migration_fills_the_summary_as_ingestion_keeps_it(pool):
    """Migration 0006 sums the movements booked before it: the same rows ingestion would have kept."""
    stream_id = await permit(pool)
    now = T0 + timedelta(days=30)  # rows recorded exactly 30 days after they occurred, and a microsecond either way
    exact = [row("receipt", 0, T0 - timedelta(days=1), "100"), row("supply", 1, T0 + timedelta(microseconds=1), "1"),
             row("supply", 2, T0 - timedelta(microseconds=1), "1", mass_flow_meter_t=None),
             row("supply", 3, T0 + timedelta(hours=3), "1", vouchers=[])]  # 2026 in Guangzhou
    await ledger.ingest(pool, stream_id, f"{stream_id}/exact", parsed(exact), now=now)
    for i, (rows, recorded_at) in enumerate(drawn(ledgers(), 3)[-1]):
        for r in rows:
            r["voucher_no"] = "D" + r["voucher_no"]
        await ledger.ingest(pool, stream_id, f"{stream_id}/{i}", parsed(rows), now=max(recorded_at, now))
    kept = await summary_tables(pool, stream_id)
    assert {(y, late) for y, _, late, *_ in kept["ledger_summary"]} >= {(2025, 29), (2025, 30), (2026, 29)}
    (migration,) = [m for m in migrate.available() if m.version == 6]
    fills = [s for s in migration.sql.split(";") if s.strip().startswith("INSERT")]
    assert len(fills) == len(SUMMARY_TABLES)
    async with pool.acquire() as conn, conn.transaction():
        for table in SUMMARY_TABLES:  # temporary tables of the same names come first in the search path
            await conn.execute(f"CREATE TEMP TABLE {table} (LIKE public.{table}) ON COMMIT DROP")
        for sql in fills:
            await conn.execute(sql)
        filled = {t: [tuple(r)[1:] for r in await conn.fetch(
            f"SELECT * FROM pg_temp.{t} WHERE stream_id = $1 ORDER BY {order}", stream_id)]
            for t, order in SUMMARY_TABLES.items()}
    assert filled == kept and kept["ledger_summary"]
