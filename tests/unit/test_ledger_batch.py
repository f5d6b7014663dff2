"""A ledger batch held by column (domain.ledger.MovementBatch): parsed from JSON it holds exactly what a
`list[Movement]` would, and refuses exactly what it refuses, with the same errors; what it adds to the
yearly summary is the per-row aggregate; `stock_never_short` is a safe shortcut of `check_stock`."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import ledger as domain_ledger
from domain.identifiers import make_imo
from domain.ledger import (
    FIELDS,
    InvalidBatch,
    Movement,
    MovementBatch,
    Posted,
    batch_adapter,
    check_stock,
    late_days,
    local_year,
    stock_never_short,
    summarise,
    whole_years,
    year_window,
)

T0 = datetime(2025, 12, 31, 14, 0, tzinfo=UTC)  # 22:00 in Guangzhou, two hours before a new year there
VESSELS = [make_imo(f"{907470 + i:06d}") for i in range(4)]


def row(kind: str, n: int, quantity: Any = "10", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = dict(voucher_no=f"V{n}", kind=kind, occurred_at=(T0 + timedelta(minutes=n)).isoformat(),
                               depot="1号罐", quantity_t=quantity, product="VLSFO", vouchers=[f"INV-{n}"])
    if kind == "supply":
        raw |= dict(vessel_imo=VESSELS[n % len(VESSELS)], bdn_no=f"BDN{n}", mass_flow_meter_t=quantity)
    if kind in ("transfer_out", "transfer_in"):
        raw |= dict(counterpart_depot="2号罐")
    return raw | extra


def both(rows: list[Any], max_rows: int = 1_000) -> tuple[Any, Any]:
    """(what the batch parser gives, what list[Movement] gives): rows or the errors."""
    body = json.dumps(rows, ensure_ascii=False).encode()
    try:
        batch = MovementBatch.from_json(body, max_rows=max_rows)
        batch.validate_all()
        fast: Any = list(batch.rows())
    except InvalidBatch as e:
        fast = e.error.errors(include_url=False, include_context=False, include_input=False)
    try:
        full: Any = model_rows(batch_adapter(max_rows).validate_json(body))
    except Exception as e:  # noqa: BLE001 - ValidationError
        full = e.errors(include_url=False, include_context=False, include_input=False)  # type: ignore[attr-defined]
    return fast, full


def model_rows(movements: list[Movement]) -> list[tuple[Any, ...]]:
    return [tuple(m.kind.value if f == "kind" else getattr(m, f) for f in FIELDS) for m in movements]


def same(fast: Any, full: Any) -> None:
    assert fast == full
    if fast and isinstance(fast[0], tuple):  # the same types too (Decimal, not str; None, not "")
        assert [[type(v) for v in r] for r in fast] == [[type(v) for v in r] for r in full]
        assert [[str(v) for v in r] for r in fast] == [[str(v) for v in r] for r in full]


# --- the parser against the model ------------------------------------------------------------------


@pytest.mark.parametrize("rows", [
    [row("receipt", 0, "500"), row("supply", 1, "12.5"), row("transfer_out", 2), row("transfer_in", 3)],
    [row("supply", 1, 12.345, mass_flow_meter_t=12)],  # JSON numbers: the model's way
    [row("supply", 1, vessel_imo="imo " + VESSELS[0][3:], vessel_name="  ", customs_declaration_no=" ")],
    [row("receipt", 1, vessel_name="  ", bdn_no="")],  # blank is None, so allowed on a receipt
    [row("receipt", 1, "0.000")], [row("receipt", 1, "1.0005")], [row("receipt", 1, "-3")],
    [row("receipt", 1, "123456789012")], [row("receipt", 1, "NaN")], [row("receipt", 1, "012.5")],
    [row("supply", 1, vessel_imo=VESSELS[0][:-1] + "0")], [row("supply", 1, bdn_no="  ")],
    [row("transfer_in", 1, counterpart_depot=" 1号罐 ")], [row("receipt", 1) | {"colour": "red"}],
    [row("supply", 1, mass_flow_meter_t=None, customs_declaration_no=None, vouchers=[])],
    [row("receipt", 1, voucher_no="  V 1  ", depot=" 1号罐", occurred_at="2026-01-01T00:00:00")],
    [], [row("receipt", i) for i in range(6)],
])
def test_the_parser_gives_what_the_model_gives(rows):
    same(*both(rows, max_rows=5))


texts = st.one_of(st.sampled_from(["V1", " V2 ", "", "  ", "1号罐", "a\tb", "x\\y", 'q"q', "},{", "\\N"]),
                  st.text(max_size=6))
tonnes = st.one_of(st.sampled_from(["0", "0.001", "12.5", "12.345", "12.3456", "99999999999.999", "1e3", "-1", " 1"]),
                   st.decimals(min_value=0, max_value=10**12, places=3).map(str),
                   st.integers(-5, 10**12), st.floats(allow_nan=True))
optional_texts = st.one_of(st.none(), texts)


@st.composite
def raw_rows(draw):
    kind = draw(st.sampled_from(["receipt", "supply", "transfer_out", "transfer_in", "SUPPLY"]))
    r: dict[str, Any] = dict(voucher_no=draw(texts), kind=kind, depot=draw(st.sampled_from(["1号罐", "2号罐", " "])),
                             occurred_at=draw(st.sampled_from([T0.isoformat(), "2026-01-01T08:00:00+08:00",
                                                               "2026-01-01T00:00:00", "x"])),
                             quantity_t=draw(tonnes), product=draw(texts))
    for name, values in (("vouchers", st.lists(texts, max_size=2)), ("customs_declaration_no", optional_texts),
                         ("vessel_imo", st.one_of(st.none(), st.sampled_from([*VESSELS, "IMO9074720", "9074729",
                                                                              " imo 9074729 ", ""]))),
                         ("vessel_name", optional_texts), ("bdn_no", optional_texts),
                         ("mass_flow_meter_t", st.one_of(st.none(), tonnes)),
                         ("counterpart_depot", st.one_of(st.none(), st.sampled_from(["1号罐", "2号罐", " ", ""])))):
        if draw(st.booleans()):
            r[name] = draw(values)
    if draw(st.integers(0, 20)) == 0:
        r.pop(draw(st.sampled_from(sorted(r))))
    return r


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(raw_rows(), max_size=6))
def test_the_parser_gives_what_the_model_gives_whatever_the_rows(rows):
    same(*both(rows))


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(domain_ledger, "PIECE_BYTES", 600)
    monkeypatch.setattr(domain_ledger, "FIRST_PIECE_BYTES", 300)


def busy(n: int) -> list[dict[str, Any]]:
    return [row("receipt", 0, "900000")] + [row("supply", i, "1.5") for i in range(1, n)]


def test_a_large_body_is_validated_piece_by_piece(small_pieces):
    body = json.dumps(busy(40)).encode()
    assert len(domain_ledger._pieces(body)) > 5
    batch = MovementBatch.from_json(body, max_rows=100)
    assert not batch.complete  # the first piece only
    chunks = list(batch.chunks())
    starts = [c.start for c in chunks]
    assert batch.complete and starts[0] == 0 and len(starts) > 5 and len(batch) == 40
    assert all(c.plain and c.times for c in chunks)  # no backslash in the body; times as written
    same(list(batch.rows()), model_rows(batch_adapter(100).validate_json(body)))


def test_an_invalid_row_in_a_later_piece_is_refused_with_its_index_and_stays_refused(small_pieces):
    rows = busy(40)
    rows[33]["quantity_t"] = "-1"
    batch = MovementBatch.from_json(json.dumps(rows).encode(), max_rows=100)
    with pytest.raises(InvalidBatch) as e:
        for _ in batch.chunks():
            pass
    assert [err["loc"] for err in e.value.error.errors()] == [(33, "quantity_t")]
    for again in (batch.validate_all, lambda: len(batch), lambda: batch.chunks().__next__() and list(batch.chunks())):
        with pytest.raises(InvalidBatch):
            again()


def test_too_many_rows_in_pieces_is_the_models_too_long(small_pieces):
    with pytest.raises(InvalidBatch) as e:
        MovementBatch.from_json(json.dumps(busy(40)).encode(), max_rows=39).validate_all()
    assert e.value.error.errors()[0]["type"] == "too_long"


def test_a_cut_inside_a_string_costs_time_not_rows(small_pieces):
    rows = busy(30)
    for r in rows[::3]:
        r["product"] = 'VLSFO"},{"voucher_no": "X' * 5  # the cutting pattern, inside a string
    same(*both(rows))


def test_numbers_for_tonnes_in_a_later_piece_are_taken_from_the_model(small_pieces):
    rows = busy(40)
    rows[35]["quantity_t"] = 1.5
    same(*both(rows))


# --- what a batch adds to the summary ------------------------------------------------------------------


def reference_summary(batch: MovementBatch, recorded_at: datetime) -> dict[tuple[Any, ...], Counter]:
    out: dict[tuple[Any, ...], Counter] = defaultdict(Counter)
    for m in batch:
        key = (local_year(m.occurred_at), m.depot, late_days(recorded_at, m.occurred_at))
        c = out[key]
        c["movements"] += 1
        c[m.kind.value] += 1
        c[m.kind.value + "_t"] += m.quantity_t
        c["without_meter"] += m.kind == "supply" and m.mass_flow_meter_t is None
        c["without_declaration"] += m.kind == "supply" and m.customs_declaration_no is None
        c["without_vouchers"] += not m.vouchers
    return out


@st.composite
def batches(draw):
    n = draw(st.integers(1, 30))
    minutes = sorted(draw(st.lists(st.integers(-3 * 24 * 60, 3 * 24 * 60), min_size=n, max_size=n)))
    if draw(st.booleans()):
        minutes = draw(st.permutations(minutes))
    rows = []
    for i, m in enumerate(minutes):
        kind = draw(st.sampled_from(["receipt", "supply", "supply", "transfer_out", "transfer_in"]))
        extra: dict[str, Any] = {"occurred_at": (T0 + timedelta(minutes=m)).astimezone(
            draw(st.sampled_from([UTC, timezone(timedelta(hours=8))]))).isoformat(),
                                 "depot": draw(st.sampled_from(["1号罐", "2号罐", "3号罐"]))}
        if kind == "supply" and draw(st.booleans()):
            extra |= {"mass_flow_meter_t": None}
        if draw(st.booleans()):
            extra |= {"customs_declaration_no": None, "vouchers": []}
        if kind.startswith("transfer"):
            extra |= {"counterpart_depot": "9号罐"}
        rows.append(row(kind, i, draw(st.sampled_from(["1", "2.5", "0.001", "700"])), **extra))
    recorded_at = T0 + timedelta(days=draw(st.integers(0, 3)), minutes=draw(st.integers(0, 24 * 60)),
                                 microseconds=draw(st.integers(0, 2)))
    return MovementBatch.from_json(json.dumps(rows).encode(), max_rows=1_000), recorded_at


@settings(max_examples=300, deadline=None)
@given(batches())
def test_a_batchs_summary_is_the_per_row_aggregate(b):
    batch, recorded_at = b
    s = summarise(batch, recorded_at)
    expected = reference_summary(batch, recorded_at)
    got = {(y, d, late): t for y, d, late, *t in s.totals}
    assert set(got) == set(expected)
    for key, t in got.items():
        c = expected[key]
        assert t == [c["movements"], c["supply"], c["supply_t"], c["receipt"], c["receipt_t"], c["transfer_out"],
                     c["transfer_out_t"], c["transfer_in"], c["transfer_in_t"], c["without_meter"],
                     c["without_declaration"], c["without_vouchers"]]
    deltas: dict[str, Decimal] = defaultdict(Decimal)
    for m in batch:
        deltas[m.depot] += m.delta_t
    assert s.depot_deltas == deltas
    supplies = [m for m in batch if m.kind == "supply"]
    assert (s.supplies, s.last_supply_at) == (len(supplies), max((m.occurred_at for m in supplies), default=None))
    assert s.vessels == sorted({(local_year(m.occurred_at), m.vessel_imo) for m in supplies})
    days: dict[Any, list[datetime]] = defaultdict(list)
    for m in supplies:
        days[m.occurred_at.astimezone(domain_ledger.SHANGHAI).date()].append(m.occurred_at)
    assert s.supply_days == sorted((d, min(ts), max(ts)) for d, ts in days.items())


def test_late_days_counts_whole_days_beyond_the_first_microsecond():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert [late_days(at + timedelta(days=30, microseconds=us), at) for us in (0, 1)] == [29, 30]
    assert late_days(at - timedelta(minutes=3), at) == -1  # dated in the future (clock skew)


def test_whole_years_are_guangzhou_years():
    assert whole_years(*year_window(2025)) == (2025, 2026)
    assert whole_years(year_window(2024)[0], year_window(2026)[0]) == (2024, 2026)
    assert whole_years(year_window(2025)[0], year_window(2025)[1] - timedelta(seconds=1)) is None
    assert whole_years(datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)) is None


# --- the stock shortcut ---------------------------------------------------------------------------------

depots = st.sampled_from(["1号罐", "2号罐"])
amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(500), places=3)


@settings(max_examples=300, deadline=None)
@given(stored=st.lists(st.tuples(st.integers(0, 40), depots, st.booleans(), amounts), max_size=12),
       fresh=st.lists(st.tuples(st.integers(0, 40), depots, st.booleans(), amounts), min_size=1, max_size=8))
def test_a_batch_never_short_on_its_own_is_never_short_among_stored_movements(stored, fresh):
    balance: dict[str, Decimal] = {}
    posted = []
    for k, (hour, depot, incoming, q) in enumerate(sorted(stored, key=lambda s: s[0])):
        delta = q if incoming or balance.get(depot, 0) < q else -q
        balance[depot] = balance.get(depot, Decimal(0)) + delta
        posted.append(Posted(T0 + timedelta(hours=hour), depot, delta, f"S{k}"))
    movements = [Movement.model_validate(row("receipt" if incoming else "supply", n, str(q), depot=depot,
                                             occurred_at=(T0 + timedelta(hours=hour)).isoformat()))
                 for n, (hour, depot, incoming, q) in enumerate(fresh)]
    batch = MovementBatch.of(movements)
    if stock_never_short(batch):
        assert check_stock({}, batch, posted) is None
    # …and it is exactly "the batch alone never goes short"
    assert stock_never_short(batch) == (check_stock({}, batch) is None)
