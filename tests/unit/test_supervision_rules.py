"""Supervision's pure rules: the four items of the Art. 22 inspection, the Art. 19 acts and who finds them
(Art. 21), the complaint lifecycle (Art. 20), the campaign report."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from domain.authority import Actor
from domain.bodies import Body, District
from domain.inspection import documents_valid, inspect, operating_information, overall, violations
from domain.inspection_report import CSV_COLUMNS, render_csv, render_markdown
from domain.ledger import AnnualSummary, QuietSpell, ReportingGaps
from domain.policy import GZ_2022
from domain.supervision import NotAllowed, WrongStatus, check_move, check_receiver, check_supervision_action
from domain.violations import PROHIBITED_ACTS, OutsideRemit, Violation, check_finding, confirmed_on_record
from tests.fixtures.applications import lease_tank, valid_application

ON = date(2027, 3, 1)


def summary(**gaps) -> AnnualSummary:
    g = dict(supplies_without_meter=0, supplies_without_meter_sample=[], supplies_without_customs_declaration=0,
             movements_without_vouchers=0, late_reports=0, late_after_days=30) | gaps
    return AnnualSummary(
        stream_id="BB-2025-000001", start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC),
        supplies=3, supplied_t=Decimal("300"), vessels=2, receipts=1, received_t=Decimal("1000"), transfers_out=0,
        transferred_out_t=Decimal(0), transfers_in=0, transferred_in_t=Decimal(0), quiet_days=30,
        quiet_spells=[QuietSpell(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 4, 1, tzinfo=UTC), days=90)],
        reporting_gaps=ReportingGaps(**g), opening_stock={"T1": Decimal("100")}, closing_stock={"T1": Decimal("800")},
    )


def violation(act: int, severity: str = "minor", confirmed_by: str | None = None, **kw) -> Violation:
    return Violation(id=1, act=act, severity=severity, found_by="msa", found_on=ON, description="x",
                     confirmed_by=confirmed_by, **kw)


# ---------------------------------------------------------------- Art. 22's four items
def test_a_clean_permit_passes_all_four_items_and_last_years_quiet_spells_are_named():
    items = inspect(2027, ON, summary(), valid_application(ON), [], GZ_2022)
    assert [i.item for i in items] == [1, 2, 3, 4] and overall(items) == "clear"
    assert "3 supplies" in items[0].summary and "90 days" in items[0].findings[0]


@pytest.mark.parametrize("gap, words", [
    ({"supplies_without_meter": 2, "supplies_without_meter_sample": ["S1", "S2"]}, "mass-flow-meter quantity (Art. 6(3)): S1, S2"),
    ({"supplies_without_customs_declaration": 1}, "without a customs declaration"),
    ({"movements_without_vouchers": 4}, "without vouchers (Art. 17)"),
    ({"late_reports": 1}, "more than 30 days late"),
])
def test_reporting_gaps_in_the_ledger_are_a_breach_of_item_2(gap, words):
    item = operating_information(summary(**gap))
    assert item.outcome == "breach" and words in item.findings[0]


def test_a_ledger_that_does_not_balance_is_a_breach_of_item_2():
    s = summary().model_copy(update={"closing_stock": {"T1": Decimal("799")}})
    assert "does not balance" in operating_information(s).findings[0]


def test_an_expired_tank_lease_and_its_contract_are_a_breach_of_item_3():
    app = lease_tank(valid_application(date(2026, 1, 5)), start=date(2026, 1, 1), end=date(2027, 1, 31))
    assert documents_valid(app, date(2027, 1, 31), GZ_2022).outcome == "ok"  # its last day
    item = documents_valid(app, ON, GZ_2022)
    assert item.outcome == "breach"
    assert any("tank lease contract" in f and "expired on 2027-01-31" in f for f in item.findings)
    assert any("tank T1: lease ended 2027-01-31" in f for f in item.findings)
    gone = app.model_copy(update={"documents": [d for d in app.documents if d.kind.value != "tank_lease"]})
    assert any("missing tank lease contract" in f for f in documents_valid(gone, ON, GZ_2022).findings)
    assert documents_valid(None, ON, GZ_2022).outcome == "not_assessed"


def test_item_4_counts_confirmed_smuggling_and_major_violations_and_waits_for_customs():
    assert violations([]).outcome == "ok"
    minor = violations([violation(7, penalty="警告")])
    assert minor.outcome == "ok" and "Art. 19(7)" in minor.findings[0] and "penalty: 警告" in minor.findings[0]
    assert violations([violation(12, "major")]).outcome == "breach"
    suspected = violations([violation(9, "major")])  # found by the MSA, not yet confirmed by customs
    assert suspected.outcome == "not_assessed" and "customs confirmation" in suspected.findings[0]
    assert violations([violation(9, "minor", confirmed_by="customs_hp")]).outcome == "breach"


def test_overall_outcome_is_breach_over_not_assessed_over_clear():
    items = inspect(2027, ON, summary(), None, [], GZ_2022)
    assert overall(items) == "not_assessed"
    items = inspect(2027, ON, summary(late_reports=1), None, [], GZ_2022)
    assert overall(items) == "breach"


# ---------------------------------------------------------------- Art. 19, 21
def test_art19_lists_fifteen_acts_each_in_chinese_and_english():
    assert sorted(PROHIBITED_ACTS) == list(range(1, 16))
    assert PROHIBITED_ACTS[9].zh.startswith("逃避海关监管") and PROHIBITED_ACTS[9].smuggling
    assert PROHIBITED_ACTS[6].zh == "擅自改动质量流量计或利用其他手段克扣油量"
    assert all(a.zh and a.en for a in PROHIBITED_ACTS.values())


def test_a_department_records_only_acts_within_its_remit():
    assert check_finding(Body.MARKET, 6).number == 6
    with pytest.raises(OutsideRemit, match="remit"):
        check_finding(Body.PORTS, 9)
    with pytest.raises(OutsideRemit):
        check_finding(Body.DISTRICT, 15)  # Art. 21 names departments; the district refers its findings
    with pytest.raises(OutsideRemit):
        check_finding(Body.CUSTOMS_GZ, 16)
    assert confirmed_on_record(Body.CUSTOMS_HP, 9) and not confirmed_on_record(Body.MSA, 9)
    assert not confirmed_on_record(Body.CUSTOMS_GZ, 10)  # not a smuggling-type act: nothing to confirm


# ---------------------------------------------------------------- Art. 20
NANSHA = Actor(body=Body.DISTRICT, district=District.NANSHA)


def test_a_complaint_moves_on_only_from_its_district_and_its_status():
    assert check_move(NANSHA, "investigate", "routed", "nansha") == "investigating"
    assert check_move(NANSHA, "answer", "investigating", "nansha") == "answered"
    assert check_move(NANSHA, "close", "answered", "nansha") == "closed"
    with pytest.raises(NotAllowed):
        check_move(Actor(body=Body.DISTRICT, district=District.TIANHE), "answer", "routed", "nansha")
    with pytest.raises(NotAllowed):
        check_move(Actor(body=Body.COMMERCE), "answer", "routed", "nansha")
    with pytest.raises(WrongStatus):
        check_move(NANSHA, "investigate", "closed", "nansha")
    assert check_move(Actor(body=Body.COMMERCE), "route", "received", None) == "routed"
    with pytest.raises(NotAllowed):
        check_receiver(Actor(body=Body.ENTERPRISE, credit_code="x"))
    check_supervision_action(Actor(body=Body.EMERGENCY), "spot_inspection", "tianhe")
    with pytest.raises(NotAllowed):
        check_supervision_action(NANSHA, "interview", "tianhe")


# ---------------------------------------------------------------- the report
def entry(stream_id: str, district: str | None, status: str, outcome: str | None, breaches=()) -> dict:
    return dict(stream_id=stream_id, district=district, status=status, outcome=outcome, breaches=list(breaches),
                items=[{"item": n, "outcome": "ok"} for n in (1, 2, 3, 4)], permit_number="GZBB-2026-0001",
                enterprise_name="某公司", credit_code="x", inspector="组", delivery="")


def test_the_report_counts_each_district_by_outcome():
    entries = [entry("A", "nansha", "delivered", "clear"), entry("B", "nansha", "delivered", "breach", ["(3) lease"]),
               entry("C", "huangpu", "closed", None), entry("D", "huangpu", "pending", None)]
    md = render_markdown(2027, ON, entries)
    assert "| 南沙区 nansha | 1 | 1 | 0 | 0 | 0 | 2 |" in md and "| 黄埔区 huangpu | 0 | 0 | 0 | 1 | 1 | 2 |" in md
    assert "- (3) lease" in md
    rows = list(csv.DictReader(io.StringIO(render_csv(2027, entries))))
    assert list(rows[0]) == list(CSV_COLUMNS) and [r["outcome"] for r in rows] == ["clear", "breach", "closed",
                                                                                    "not_inspected"]
