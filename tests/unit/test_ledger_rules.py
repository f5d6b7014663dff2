"""The Art. 17 ledger's pure rules: a movement's fields, duplicate vouchers, stock never below zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.identifiers import make_imo
from domain.ledger import (
    Movement,
    MovementKind,
    Posted,
    check_stock,
    first_duplicate,
    quiet_spell,
    year_window,
)

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
VESSEL = make_imo("907472")


def movement(kind: str = "receipt", n: int = 0, quantity: Any = "10", depot: str = "1号罐", **extra: Any) -> Movement:
    raw: dict[str, Any] = dict(
        voucher_no=f"V{n}", kind=kind, occurred_at=T0 + timedelta(hours=n), depot=depot, quantity_t=quantity,
        product="低硫燃料油 VLSFO 0.5%S", vouchers=[f"发票{n}"],
    )
    if kind == "supply":
        raw |= dict(vessel_imo=VESSEL, vessel_name="OCEAN STAR", bdn_no=f"BDN{n}", mass_flow_meter_t=quantity)
    if kind in ("transfer_out", "transfer_in"):
        raw |= dict(counterpart_depot="2号罐")
    return Movement.model_validate(raw | extra)


def refused_at(**raw: Any) -> dict[tuple[Any, ...], str]:
    base = dict(voucher_no="V1", kind="receipt", occurred_at=T0, depot="1号罐", quantity_t="1", product="VLSFO")
    with pytest.raises(ValidationError) as e:
        Movement.model_validate(base | raw)
    return {err["loc"]: err["msg"] for err in e.value.errors()}


# --- a movement's fields ------------------------------------------------------------------------------


def test_a_supply_keeps_tonnes_to_the_kilogram_and_normalises_the_imo_number():
    m = movement("supply", quantity="12.5", vessel_imo="imo " + VESSEL[3:], mass_flow_meter_t=12.49)
    assert m.quantity_t == Decimal("12.500") and str(m.quantity_t) == "12.500"
    assert m.vessel_imo == VESSEL and m.mass_flow_meter_t == Decimal("12.490")
    assert m.delta_t == Decimal("-12.500")


def test_receipts_and_incoming_transfers_add_to_stock_the_rest_take_from_it():
    assert [movement(k).delta_t for k in MovementKind] == [Decimal(10), Decimal(-10), Decimal(-10), Decimal(10)]


def test_a_supply_without_vessel_or_delivery_note_is_refused_at_those_fields():
    errors = refused_at(kind="supply")
    assert set(errors) == {("vessel_imo",), ("bdn_no",)}
    assert "a supply needs its vessel IMO number" in errors[("vessel_imo",)]


def test_a_supply_without_a_meter_quantity_is_let_in_for_the_inspection_to_flag():
    assert movement("supply", mass_flow_meter_t=None).mass_flow_meter_t is None


def test_vessel_fields_on_a_receipt_are_refused():
    errors = refused_at(vessel_imo=VESSEL, mass_flow_meter_t="1")
    assert set(errors) == {("vessel_imo",), ("mass_flow_meter_t",)}
    assert "belongs to supply only, not receipt" in errors[("vessel_imo",)]


def test_a_wrong_imo_check_digit_is_refused_with_the_expected_digit():
    bad = VESSEL[:-1] + str((int(VESSEL[-1]) + 1) % 10)
    errors = refused_at(kind="supply", vessel_imo=bad, bdn_no="B1")
    assert list(errors) == [("vessel_imo",)] and f"expected {VESSEL[-1]}" in errors[("vessel_imo",)]


def test_a_transfer_names_another_depot():
    assert list(refused_at(kind="transfer_out")) == [("counterpart_depot",)]
    assert "cannot be its own depot" in refused_at(kind="transfer_in", counterpart_depot="1号罐")[("counterpart_depot",)]
    assert list(refused_at(counterpart_depot="2号罐")) == [("counterpart_depot",)]  # not on a receipt


@pytest.mark.parametrize(
    ("quantity", "says"),
    [("0", "greater than 0"), ("-3", "greater than 0"), ("1.0005", "at most 3 decimals"),
     ("123456789012.5", "out of range"), ("NaN", "finite")],
)
def test_bad_tonnes_are_refused_at_the_quantity(quantity, says):
    errors = refused_at(quantity_t=quantity)
    assert list(errors) == [("quantity_t",)] and says in errors[("quantity_t",)]


def test_a_negative_meter_reading_is_refused():
    assert "cannot be negative" in refused_at(kind="supply", vessel_imo=VESSEL, bdn_no="B", mass_flow_meter_t="-0.1")[
        ("mass_flow_meter_t",)]


def test_a_time_without_zone_an_empty_voucher_and_an_unknown_field_are_refused():
    errors = refused_at(occurred_at="2026-03-01T08:00:00", voucher_no="  ", tank="1号罐")
    assert set(errors) == {("occurred_at",), ("voucher_no",), ("tank",)}


# --- duplicates within a batch ----------------------------------------------------------------------


def test_the_first_repeated_voucher_is_named_with_both_rows():
    batch = [movement(n=0), movement(n=1), movement(n=2), movement(n=1, quantity="3"), movement(n=0)]
    dup = first_duplicate(batch)
    assert (dup.row_index, dup.voucher_no, dup.first_row_index) == (3, "V1", 1)
    assert first_duplicate(batch[:3]) is None


# --- stock ------------------------------------------------------------------------------------------


def test_a_supply_beyond_the_stock_is_named_with_the_balance_it_would_leave():
    batch = [movement("receipt", 0, "100"), movement("supply", 1, "60"), movement("supply", 2, "50")]
    short = check_stock({}, batch)
    assert (short.row_index, short.voucher_no, short.depot, short.balance_t) == (2, "V2", "1号罐", Decimal("-10"))


def test_movements_are_booked_in_time_order_not_list_order():
    supply_first_in_list = [movement("supply", 2, "60"), movement("receipt", 1, "100")]
    assert check_stock({}, supply_first_in_list) is None


def test_each_depot_keeps_its_own_balance_and_transfers_move_oil_between_them():
    batch = [
        movement("transfer_out", 0, "30", counterpart_depot="2号罐"),
        movement("transfer_in", 1, "30", depot="2号罐", counterpart_depot="1号罐"),
        movement("supply", 2, "30", depot="2号罐"),
    ]
    assert check_stock({"1号罐": Decimal(30)}, batch) is None
    short = check_stock({"1号罐": Decimal(29)}, batch)
    assert (short.row_index, short.depot, short.balance_t) == (0, "1号罐", Decimal(-1))


def test_a_late_supply_that_empties_a_depot_in_hindsight_is_refused():
    # Booked: 100 in at 00:00, 80 out at 05:00. Reported late: 30 out at 03:00.
    booked = [Posted(T0 + timedelta(hours=5), "1号罐", Decimal(-80), "S-stored")]
    late = [movement("supply", 3, "30")]
    short = check_stock({"1号罐": Decimal(100)}, late, booked)
    assert (short.row_index, short.voucher_no, short.balance_t) == (0, "V3", Decimal(-10))
    assert short.at_voucher_no == "S-stored"
    assert check_stock({"1号罐": Decimal(110)}, late, booked) is None


def test_at_the_same_instant_a_booked_movement_comes_before_the_batch():
    booked = [Posted(T0, "1号罐", Decimal(50), "R-stored")]
    assert check_stock({}, [movement("supply", 0, "50")], booked) is None


depots = st.sampled_from(["1号罐", "2号罐"])
tonnes = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500), places=3)


@given(receipts=st.lists(tonnes, max_size=8), supplies=st.lists(tonnes, max_size=8))
def test_receipts_then_supplies_are_accepted_iff_no_prefix_sum_goes_below_zero(receipts, supplies):
    batch = [movement("receipt", i, q) for i, q in enumerate(receipts)]
    batch += [movement("supply", len(receipts) + i, q) for i, q in enumerate(supplies)]
    prefix, ok = Decimal(0), True
    for m in batch:
        prefix += m.delta_t
        ok = ok and prefix >= 0
    assert (check_stock({}, batch) is None) == ok


@st.composite
def ledgers(draw):
    """A stored history that never goes below zero, and a batch dated anywhere among it."""
    stored = draw(st.lists(st.tuples(st.integers(0, 40), depots, st.booleans(), tonnes), max_size=12))
    stored.sort(key=lambda s: s[0])
    balance: dict[str, Decimal] = {}
    posted = []
    for k, (hour, depot, incoming, q) in enumerate(stored):
        delta = q if incoming or balance.get(depot, 0) < q else -q
        balance[depot] = balance.get(depot, Decimal(0)) + delta
        posted.append(Posted(T0 + timedelta(hours=hour), depot, delta, f"S{k}"))
    batch = [
        movement("receipt" if incoming else "supply", n, q, depot=depot, occurred_at=T0 + timedelta(hours=hour))
        for n, (hour, depot, incoming, q) in enumerate(
            draw(st.lists(st.tuples(st.integers(0, 40), depots, st.booleans(), tonnes), min_size=1, max_size=8))
        )
    ]
    return posted, batch


@given(ledgers())
def test_a_batch_is_accepted_iff_the_merged_ledger_never_goes_below_zero(ledger):
    posted, batch = ledger
    # What the store passes: stored rows from the batch's earliest movement of each depot, and the balance before.
    since = {d: min(m.occurred_at for m in batch if m.depot == d) for d in {m.depot for m in batch}}
    window = [p for p in posted if p.depot in since and p.occurred_at >= since[p.depot]]
    opening: dict[str, Decimal] = {}
    for p in posted:
        if p not in window:
            opening[p.depot] = opening.get(p.depot, Decimal(0)) + p.delta_t
    # The oracle: the whole ledger, stored rows first at equal times, re-summed from nothing.
    merged = sorted([(p.occurred_at, 0, k, p.depot, p.delta_t) for k, p in enumerate(posted)]
                    + [(m.occurred_at, 1, i, m.depot, m.delta_t) for i, m in enumerate(batch)])
    running: dict[str, Decimal] = {}
    first_short = None
    for _, from_batch, k, depot, delta in merged:
        running[depot] = running.get(depot, Decimal(0)) + delta
        if running[depot] < 0:
            first_short = depot
            break
    short = check_stock(opening, batch, window)
    assert (short is None) == (first_short is None)
    if short is not None:
        assert short.depot == first_short and batch[short.row_index].depot == first_short


def test_a_year_is_counted_in_guangzhou_time():
    start, end = year_window(2026)
    assert start.isoformat() == "2026-01-01T00:00:00+08:00" and end.isoformat() == "2027-01-01T00:00:00+08:00"
    assert quiet_spell(start, start + timedelta(days=40, hours=23)).days == 40
