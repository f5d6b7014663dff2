"""The Art. 17 ledger on the real PostgreSQL: batches by COPY, all or nothing, once per batch id."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.identifiers import make_imo
from domain.ledger import Movement, day_start, year_window
from store import ledger
from store.ledger import LedgerRefused

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = datetime(2026, 9, 1, tzinfo=UTC)
VESSELS = [make_imo(f"{900000 + i:06d}") for i in range(50)]


async def permit(pool, status: str = "in_force", *, dormant: bool = False, valid_from: date | None = None) -> str:
    """A permit's read-model row, standing for what the licensing workflow projects."""
    stream_id = f"BB-2026-{uuid.uuid4().hex[:8]}"
    await pool.execute(
        """INSERT INTO permits (stream_id, version, kind, status, credit_code, permit_number, dormant, valid_from,
                                updated_at)
           VALUES ($1, 1, 'permit', $2, '91440101MA59TEST0X', $3, $4, $5, now())""",
        stream_id, status, f"穗保油许-{stream_id[-8:]}", dormant, valid_from,
    )
    return stream_id


def mv(kind: str, n: int, quantity: Any = "10", *, at: datetime | None = None, depot: str = "1号罐",
       **extra: Any) -> Movement:
    raw: dict[str, Any] = dict(
        voucher_no=f"V{n:06d}", kind=kind, occurred_at=at or T0 + timedelta(minutes=n), depot=depot,
        quantity_t=quantity, product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"INV-{n}"],
    )
    if kind == "supply":
        raw |= dict(vessel_imo=VESSELS[n % len(VESSELS)], bdn_no=f"EBDN-{n}", mass_flow_meter_t=quantity,
                    customs_declaration_no=f"5316{n:014d}")
    if kind in ("transfer_out", "transfer_in"):
        raw |= dict(counterpart_depot="2号罐" if depot == "1号罐" else "1号罐")
    return Movement.model_validate(raw | extra)


def busy_day(rows: int) -> list[Movement]:
    """Receipts into two depots, then supplies and transfers drawing on them, none going short."""
    batch = [mv("receipt", 0, "500000"), mv("receipt", 1, "500000", depot="2号罐")]
    for n in range(2, rows):
        kind = "transfer_out" if n % 100 == 0 else "supply"
        batch.append(mv(kind, n, "12.345", depot="1号罐" if n % 2 else "2号罐"))
    return batch


async def ingest(pool, stream_id, rows, batch_id=None):
    return await ledger.ingest(pool, stream_id, batch_id or uuid.uuid4().hex, rows, now=NOW)


async def nothing_booked(pool, stream_id) -> bool:
    counts = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM ledger_movements WHERE stream_id = $1) AS movements,
                  (SELECT count(*) FROM ledger_stock WHERE stream_id = $1) AS stock,
                  (SELECT count(*) FROM ledger_activity WHERE stream_id = $1) AS activity,
                  (SELECT count(*) FROM ledger_batches WHERE stream_id = $1) AS batches""",
        stream_id,
    )
    return dict(counts) == {"movements": 0, "stock": 0, "activity": 0, "batches": 0}


async def test_a_batch_of_5000_rows_is_booked_by_copy_with_stock_and_activity(pool):
    stream_id = await permit(pool)
    batch = busy_day(5_000)
    result = await ingest(pool, stream_id, batch)
    supplies = [m for m in batch if m.kind == "supply"]
    assert (result.rows, result.supplies, result.replayed) == (5_000, len(supplies), False)
    assert result.last_supply_at == max(m.occurred_at for m in supplies)
    assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", stream_id) == 5_000
    expected = {d: sum((m.delta_t for m in batch if m.depot == d), Decimal(0)) for d in ("1号罐", "2号罐")}
    assert await ledger.stock(pool, stream_id) == expected
    assert await ledger.last_supply_at(pool, stream_id) == result.last_supply_at
    row = await pool.fetchrow(
        "SELECT delta_t, vouchers, batch_row FROM ledger_movements WHERE stream_id = $1 AND voucher_no = 'V000003'",
        stream_id,
    )
    assert (row["delta_t"], row["vouchers"], row["batch_row"]) == (Decimal("-12.345"), ["INV-3"], 3)


async def test_a_voucher_booked_before_refuses_the_batch_naming_its_row(pool):
    stream_id = await permit(pool)
    await ingest(pool, stream_id, [mv("receipt", 0, "100"), mv("supply", 1, "5")])
    again = [mv("supply", 10, "1"), mv("supply", 11, "1"), mv("supply", 12, "1"),
             mv("supply", 1, "5", at=T0 + timedelta(hours=1))]
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, again)
    assert (e.value.code, e.value.row_index) == ("voucher_exists", 3) and "V000001" in e.value.message
    assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", stream_id) == 2
    assert await ledger.stock(pool, stream_id) == {"1号罐": Decimal("95.000")}


async def test_a_voucher_repeated_within_the_batch_refuses_it_and_nothing_is_booked(pool):
    stream_id = await permit(pool)
    batch = [mv("receipt", 0, "100"), mv("supply", 1), mv("supply", 2), mv("supply", 1, at=T0 + timedelta(hours=2))]
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, batch)
    assert (e.value.code, e.value.row_index) == ("duplicate_voucher", 3) and "repeats row 1" in e.value.message
    assert await nothing_booked(pool, stream_id)


async def test_a_batch_taking_a_depot_below_zero_is_refused_naming_the_row_and_nothing_is_booked(pool):
    stream_id = await permit(pool)
    batch = busy_day(3_000)
    batch[2_001] = mv("supply", 2_001, "600000")  # depot 1号罐 held 500,000 t less what went before
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, batch)
    assert (e.value.code, e.value.row_index) == ("negative_stock", 2_001)
    assert "V002001" in e.value.message and "1号罐" in e.value.message
    assert await nothing_booked(pool, stream_id)


async def test_a_late_supply_that_would_have_emptied_the_depot_in_hindsight_is_refused(pool):
    stream_id = await permit(pool)
    await ingest(pool, stream_id, [mv("receipt", 0, "100", at=T0), mv("supply", 1, "80", at=T0 + timedelta(days=5))])
    late = [mv("supply", 2, "30", at=T0 + timedelta(days=3))]
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, late)
    assert (e.value.code, e.value.row_index) == ("negative_stock", 0)
    assert "V000002" in e.value.message and "at voucher V000001" in e.value.message
    fits = await ingest(pool, stream_id, [mv("supply", 3, "20", at=T0 + timedelta(days=3))])
    assert fits.rows == 1 and await ledger.stock(pool, stream_id) == {"1号罐": Decimal("0.000")}


async def test_a_retried_batch_is_booked_once_and_its_id_cannot_carry_other_rows(pool):
    stream_id = await permit(pool)
    batch = [mv("receipt", 0, "100"), mv("supply", 1, "40")]
    first = await ingest(pool, stream_id, batch, "batch-7")
    retried = await ingest(pool, stream_id, batch, "batch-7")
    assert retried == first.model_copy(update={"replayed": True})
    assert await ledger.stock(pool, stream_id) == {"1号罐": Decimal("60.000")}
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, [mv("receipt", 5, "1")], "batch-7")
    assert e.value.code == "batch_id_reused"
    other = await permit(pool)
    with pytest.raises(LedgerRefused, match="batch_id_reused"):
        await ingest(pool, other, batch, "batch-7")


async def test_the_same_batch_sent_twice_at_once_is_booked_once(pool):
    stream_id = await permit(pool)
    batch = busy_day(2_000)
    a, b = await asyncio.gather(ingest(pool, stream_id, batch, "twice"), ingest(pool, stream_id, batch, "twice"))
    assert sorted([a.replayed, b.replayed]) == [False, True]
    assert await pool.fetchval("SELECT count(*) FROM ledger_movements WHERE stream_id = $1", stream_id) == 2_000


async def test_two_batches_at_once_cannot_both_draw_the_last_oil(pool):
    stream_id = await permit(pool)
    await ingest(pool, stream_id, [mv("receipt", 0, "100")])
    results = await asyncio.gather(
        ingest(pool, stream_id, [mv("supply", 1, "60")]), ingest(pool, stream_id, [mv("supply", 2, "60")]),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, LedgerRefused)]
    assert len(refused) == 1 and refused[0].code == "negative_stock"
    assert await ledger.stock(pool, stream_id) == {"1号罐": Decimal("40.000")}


@pytest.mark.parametrize("status", ["terminated", "revoked", "expired", "decision"])
async def test_a_permit_not_in_force_refuses_ledger_rows_naming_its_status(pool, status):
    stream_id = await permit(pool, status)
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, [mv("receipt", 0)])
    assert e.value.code == "permit_not_in_force" and status in e.value.message
    assert await nothing_booked(pool, stream_id)


async def test_an_unknown_permit_refuses_ledger_rows(pool):
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, "BB-2026-nothere", [mv("receipt", 0)])
    assert e.value.code == "unknown_permit"


async def test_movements_dated_in_the_future_or_before_the_permit_are_refused(pool):
    stream_id = await permit(pool, valid_from=date(2026, 3, 2))
    with pytest.raises(LedgerRefused) as e:
        await ingest(pool, stream_id, [mv("receipt", 0, at=datetime(2026, 3, 2, tzinfo=UTC)),
                                       mv("receipt", 1, at=NOW + timedelta(hours=1))])
    assert (e.value.code, e.value.row_index) == ("in_future", 1)
    with pytest.raises(LedgerRefused) as e:
        # 2026-03-01 23:00 in Guangzhou, the day before the permit took effect.
        await ingest(pool, stream_id, [mv("receipt", 0, at=datetime(2026, 3, 1, 15, tzinfo=UTC))])
    assert (e.value.code, e.value.row_index) == ("before_permit", 0)
    assert await nothing_booked(pool, stream_id)


async def test_a_supply_for_a_dormant_permit_is_reported_once_for_the_workflow(pool):
    stream_id = await permit(pool, dormant=True)
    receipt_only = await ingest(pool, stream_id, [mv("receipt", 0, "100")])
    assert not receipt_only.resumed_from_dormancy and receipt_only.last_supply_at is None
    resumed = await ingest(pool, stream_id, [mv("supply", 1, "10")], "wake")
    assert resumed.resumed_from_dormancy and resumed.last_supply_at == T0 + timedelta(minutes=1)
    # Ingestion reports the transition; the flag itself is the workflow's to clear.
    assert await pool.fetchval("SELECT dormant FROM permits WHERE stream_id = $1", stream_id) is True
    live = await permit(pool)
    await ingest(pool, live, [mv("receipt", 0, "100")])
    assert not (await ingest(pool, live, [mv("supply", 1, "10")])).resumed_from_dormancy


async def test_last_supply_at_is_none_before_any_supply(pool):
    stream_id = await permit(pool)
    assert await ledger.last_supply_at(pool, stream_id) is None


async def test_the_annual_summary_counts_supplies_vessels_gaps_and_quiet_spells(pool):
    stream_id = await permit(pool)
    day = lambda m, d: datetime(2025, m, d, 10, tzinfo=UTC)  # noqa: E731
    await ingest(pool, stream_id, [
        mv("receipt", 0, "1000", at=day(1, 2)),
        mv("supply", 1, "100", at=day(1, 10)),
        mv("supply", 2, "50.5", at=day(1, 20), mass_flow_meter_t=None),
        mv("transfer_out", 3, "200", at=day(2, 1)),
        mv("transfer_in", 4, "200", at=day(2, 2), depot="2号罐"),
        mv("supply", 5, "25", at=day(3, 15), vessel_imo=VESSELS[3], customs_declaration_no=None, vouchers=[]),
        mv("supply", 6, "25", at=day(3, 20), vessel_imo=VESSELS[1], depot="2号罐"),
        mv("supply", 7, "1", at=datetime(2026, 1, 5, tzinfo=UTC)),  # next year
    ])
    start, end = year_window(2025)
    s = await ledger.annual_summary(pool, stream_id, start, end, quiet_days=30, now=NOW)
    assert (s.supplies, s.supplied_t, s.vessels) == (4, Decimal("200.500"), 3)
    assert (s.receipts, s.received_t, s.transfers_out, s.transfers_in) == (1, Decimal("1000.000"), 1, 1)
    assert [(q.start, q.end, q.days) for q in s.quiet_spells] == [
        (day(1, 20), day(3, 15), 54),
        (day(3, 20), end, 286),
    ]
    g = s.reporting_gaps
    assert (g.supplies_without_meter, g.supplies_without_meter_sample) == (1, ["V000002"])
    assert (g.supplies_without_customs_declaration, g.movements_without_vouchers) == (1, 1)
    assert g.late_reports == 7  # the year's rows, all recorded today: long after they occurred
    assert s.opening_stock == {"1号罐": Decimal(0), "2号罐": Decimal(0)}
    assert s.closing_stock == {"1号罐": Decimal("624.500"), "2号罐": Decimal("175.000")}
    assert await ledger.last_supply_at(pool, stream_id) == datetime(2026, 1, 5, tzinfo=UTC)


async def test_a_year_without_supplies_is_one_quiet_spell_from_the_permits_first_day(pool):
    stream_id = await permit(pool, valid_from=date(2025, 7, 1))
    start, end = year_window(2025)
    s = await ledger.annual_summary(pool, stream_id, start, end, now=NOW)
    assert s.supplies == 0
    assert [(q.start, q.end, q.days) for q in s.quiet_spells] == [(day_start(date(2025, 7, 1)), end, 184)]
