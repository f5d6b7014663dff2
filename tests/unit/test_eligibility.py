import re
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from domain.application import DocumentKind
from domain.eligibility import assess, check_art5, check_materials, years_after
from domain.findings import Finding, cite_en, cite_zh, finding, group_by_article
from domain.policy import GZ_2022
from tests.fixtures.applications import (
    RECEIVED_ON,
    TANKER_IMO,
    lease_tank,
    lease_tanker,
    replace_documents,
    replace_enterprise,
    replace_tank,
    replace_tanker,
    valid_application,
    with_incident,
    without_documents,
)

ON = RECEIVED_ON  # 2026-09-28


def art5(app, on=ON, policy=GZ_2022) -> list[Finding]:
    return check_art5(app, on, policy)


def items(findings: list[Finding]) -> set[str]:
    return {f.item for f in findings}


def test_the_fixture_is_eligible_and_complete():
    result = assess(valid_application(), ON, GZ_2022)
    assert result.eligible and result.complete and result.findings == []
    assert result.policy_version == "gz-2022"


# Art. 5(1) -----------------------------------------------------------------------------


def test_tanker_of_999_dwt_is_not_enough_but_1000_is():
    assert art5(replace_tanker(valid_application(), dwt=1000)) == []
    found = art5(replace_tanker(valid_application(), dwt=999))
    assert items(found) == {"tankers", "tankers[0].dwt"}
    detail = next(f for f in found if f.item == "tankers[0].dwt")
    assert "999" in detail.message_zh and "1000" in detail.message_zh
    assert "999 DWT" in detail.message_en and "1000 DWT" in detail.message_en


def test_fractional_tonnage_just_under_the_minimum_is_not_enough():
    assert "tankers[0].dwt" in items(art5(replace_tanker(valid_application(), dwt="999.99")))


@pytest.mark.parametrize("hull", ["double_bottom", "double_hull"])
def test_tanker_must_be_both_double_bottom_and_double_hull(hull):
    assert f"tankers[0].{hull}" in items(art5(replace_tanker(valid_application(), **{hull: False})))


@pytest.mark.parametrize("tracked", ["vessel_key_tracked", "company_key_tracked"])
def test_key_tracked_vessel_or_company_does_not_count(tracked):
    assert f"tankers[0].{tracked}" in items(art5(replace_tanker(valid_application(), **{tracked: True})))


def test_one_qualifying_tanker_is_enough_whatever_the_others_are():
    app = valid_application()
    small = app.tankers[0].model_copy(update={"imo": "IMO9074729", "dwt": 500})
    assert art5(app.model_copy(update={"tankers": [small, app.tankers[0]]})) == []


def test_no_tanker_at_all_is_a_finding_not_a_crash():
    assert items(art5(valid_application(tankers=[]))) == {"tankers"}


def test_tanker_lease_ending_the_day_before_its_first_anniversary_fails_but_on_it_passes():
    start = date(2026, 1, 1)
    assert art5(lease_tanker(valid_application(), start, date(2027, 1, 1))) == []
    found = art5(lease_tanker(valid_application(), start, date(2026, 12, 31)))
    assert "tankers[0].lease.end" in items(found)


def test_lease_from_29_february_runs_a_year_to_28_february():
    assert years_after(date(2028, 2, 29), 1) == date(2029, 2, 28)
    app = valid_application(date(2028, 6, 1))
    assert art5(lease_tanker(app, date(2028, 2, 29), date(2029, 2, 28)), on=date(2028, 6, 1)) == []


def test_long_enough_lease_not_in_force_on_the_day_does_not_count():
    app = valid_application()
    not_started = lease_tanker(app, ON + timedelta(days=1), ON + timedelta(days=800))
    assert "tankers[0].lease.start" in items(art5(not_started))
    ended = lease_tanker(app, ON - timedelta(days=800), ON - timedelta(days=1))
    assert "tankers[0].lease.end" in items(art5(ended))
    assert art5(lease_tanker(app, ON, ON + timedelta(days=366))) == []
    assert art5(lease_tanker(app, ON - timedelta(days=366), ON)) == []


# Art. 5(2) -----------------------------------------------------------------------------


def test_tank_capacity_of_4999_fails_but_5000_passes():
    app = valid_application()  # tanks of 5000 + 3000 m³
    assert art5(replace_tank(app, 0, capacity_m3=2000)) == []  # 2000 + 3000: enough
    found = art5(replace_tank(app, 0, capacity_m3=1999))
    assert items(found) == {"tanks.total_capacity"}
    assert "4999" in found[0].message_zh and "5000" in found[0].message_zh
    assert "4999 m³" in found[0].message_en


def test_tank_without_customs_bonded_registration_is_not_counted():
    found = art5(replace_tank(valid_application(), 0, customs_bonded_registration_no=None))
    assert items(found) == {"tanks.total_capacity", "tanks[0].customs_bonded_registration_no"}
    assert "3000" in next(f for f in found if f.item == "tanks.total_capacity").message_en


def test_tank_lease_under_a_year_is_not_counted_but_a_year_is():
    start = date(2026, 3, 1)
    assert art5(lease_tank(valid_application(), start, date(2027, 3, 1))) == []
    found = art5(lease_tank(valid_application(), start, date(2027, 2, 28)))
    assert items(found) == {"tanks.total_capacity", "tanks[0].lease.end"}


def test_no_tank_at_all_is_a_finding():
    assert items(art5(valid_application(tanks=[]))) == {"tanks"}


# Art. 5(3)-(6) -------------------------------------------------------------------------


def test_missing_customs_networked_information_system_is_a_finding():
    assert items(art5(valid_application(information_system_id=None))) == {"information_system_id"}


def test_major_accident_23_months_ago_fails_but_25_months_ago_passes():
    app = valid_application()
    assert art5(with_incident(app, "fire", "major", date(2024, 8, 28))) == []
    found = art5(with_incident(app, "fire", "major", date(2024, 10, 28)))
    assert items(found) == {"incidents[0]"} and found[0].article == "5(4)"
    assert "2024-10-28" in found[0].message_zh and "2024-10-28" in found[0].message_en


def test_accident_exactly_two_years_before_is_outside_the_window():
    app = valid_application()
    assert art5(with_incident(app, "pollution", "major", date(2024, 9, 28))) == []
    assert art5(with_incident(app, "pollution", "major", date(2024, 9, 29))) != []


def test_minor_accident_does_not_count_but_any_smuggling_does():
    app = valid_application()
    assert art5(with_incident(app, "safety", "minor", date(2026, 1, 1))) == []
    assert items(art5(with_incident(app, "smuggling", "minor", date(2026, 1, 1)))) == {"incidents[0]"}


def test_without_the_clean_record_statement_the_applicant_is_not_eligible():
    found = art5(valid_application(statement_no_accident_or_smuggling=False))
    assert [(f.article, f.item) for f in found] == [("5(4)", "statement_no_accident_or_smuggling")]


def test_enterprise_must_be_a_guangzhou_independent_legal_person_with_a_trade_filing():
    app = replace_enterprise(
        valid_application(),
        registered_in_guangzhou=False,
        independent_legal_person=False,
        foreign_trade_filing_no=None,
    )
    assert [(f.article, f.item) for f in art5(app)] == [
        ("5(5)", "enterprise.registered_in_guangzhou"),
        ("5(5)", "enterprise.independent_legal_person"),
        ("5(6)", "enterprise.foreign_trade_filing_no"),
    ]


def test_thresholds_come_from_the_policy():
    stricter = GZ_2022.revise(version="gz-2099", min_tanker_dwt=5000)
    assert "tankers[0].dwt" in items(art5(valid_application(), policy=stricter))


# Art. 6-7 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "article"),
    [
        ("application_letter", "6(1)"),
        ("statement_no_accident_or_smuggling", "6(2)"),
        ("business_plan_2y", "6(3)"),
        ("mass_flow_meter_commitment", "6(3)"),
    ],
)
def test_each_submitted_material_is_required(flag, article):
    found = check_materials(valid_application(**{flag: False}), ON)
    assert [(f.article, f.item) for f in found] == [(article, flag)]


def test_business_licence_expired_the_day_before_is_a_finding_with_its_date():
    app = replace_documents(valid_application(), DocumentKind.BUSINESS_LICENCE, valid_until=ON - timedelta(days=1))
    [found] = check_materials(app, ON)
    assert (found.article, found.item) == ("7(1)", "documents.business_licence")
    assert "2026-09-27" in found.message_zh and "expired on 2026-09-27" in found.message_en
    valid_today = replace_documents(valid_application(), DocumentKind.BUSINESS_LICENCE, valid_until=ON)
    assert check_materials(valid_today, ON) == []


def test_document_not_yet_valid_is_a_finding():
    app = replace_documents(valid_application(), DocumentKind.FOREIGN_TRADE_FILING_FORM, valid_from=ON + timedelta(days=1))
    assert items(check_materials(app, ON)) == {"documents.foreign_trade_filing_form"}


@pytest.mark.parametrize(
    "kind",
    [DocumentKind.TANKER_OWNERSHIP, DocumentKind.TANKER_INSPECTION, DocumentKind.TANKER_SAFETY_MANAGEMENT],
)
def test_each_tanker_certificate_is_required(kind):
    [found] = check_materials(without_documents(valid_application(), kind), ON)
    assert (found.article, found.item) == ("7(3)", f"documents.{kind}[{TANKER_IMO}]")


def test_tanker_certificate_about_another_ship_does_not_count():
    app = replace_documents(valid_application(), DocumentKind.TANKER_INSPECTION, subject="IMO9074729")
    assert items(check_materials(app, ON)) == {f"documents.tanker_inspection[{TANKER_IMO}]"}


def test_leased_tanker_also_needs_its_lease_contract():
    app = lease_tanker(valid_application(), date(2026, 1, 1), date(2027, 1, 1))
    assert check_materials(app, ON) == []
    found = check_materials(without_documents(app, DocumentKind.TANKER_LEASE), ON)
    assert [(f.article, f.item) for f in found] == [("7(3)", f"documents.tanker_lease[{TANKER_IMO}]")]


def test_each_tank_needs_its_bonded_warehouse_registration():
    found = check_materials(without_documents(valid_application(), DocumentKind.BONDED_WAREHOUSE_REGISTRATION), ON)
    assert [(f.article, f.item) for f in found] == [
        ("7(4)", "documents.bonded_warehouse_registration[T1]"),
        ("7(4)", "documents.bonded_warehouse_registration[T2]"),
    ]


def test_leased_tank_also_needs_its_lease_contract():
    app = lease_tank(valid_application(), date(2026, 1, 1), date(2027, 1, 1), index=1)
    assert check_materials(app, ON) == []
    found = check_materials(without_documents(app, DocumentKind.TANK_LEASE), ON)
    assert items(found) == {"documents.tank_lease[T2]"}


def test_hazardous_chemicals_licence_is_required_only_when_handling_them():
    app = without_documents(valid_application(), DocumentKind.HAZARDOUS_CHEMICALS_LICENCE)
    assert items(check_materials(app, ON)) == {"documents.hazardous_chemicals_licence"}
    assert check_materials(app.model_copy(update={"handles_hazardous_chemicals": False}), ON) == []


# The notice ----------------------------------------------------------------------------


def test_assessment_lists_every_finding_at_once_in_regulation_order():
    app = without_documents(
        replace_tanker(valid_application(application_letter=False), dwt=999), DocumentKind.BUSINESS_LICENCE
    )
    result = assess(app, ON, GZ_2022)
    assert not result.eligible and not result.complete
    assert [f.article for f in result.findings] == ["5(1)", "5(1)", "6(1)", "7(1)"]


def test_every_finding_is_bilingual_and_cites_its_article():
    app = valid_application(
        tankers=[], tanks=[], information_system_id=None, statement_no_accident_or_smuggling=False,
        business_plan_2y=False, mass_flow_meter_commitment=False, application_letter=False, documents=[],
    )
    app = with_incident(replace_enterprise(app, foreign_trade_filing_no=None), "fire", "major", ON)
    found = assess(app, ON, GZ_2022).findings
    assert len(found) >= 12
    for f in found:
        assert re.search(r"[\u4e00-\u9fff]", f.message_zh) and f.message_zh.endswith("项）")
        assert f.message_en.endswith(f"(Art. {f.article})")


@pytest.mark.parametrize(
    ("article", "zh"),
    [("5(1)", "第五条第一项"), ("7(3)", "第七条第三项"), ("24", "第二十四条"), ("10", "第十条"), ("19(15)", "第十九条第十五项")],
)
def test_articles_are_cited_as_the_measures_number_them(article, zh):
    assert cite_zh(article) == zh
    assert cite_en(article) == f"Art. {article}"


def test_finding_messages_end_with_the_citation_in_both_languages():
    f = finding("5(1)", "tankers[0].dwt", "载重吨位999吨", "999 DWT")
    assert f.message_zh == "载重吨位999吨（第五条第一项）"
    assert f.message_en == "999 DWT (Art. 5(1))"


@pytest.mark.parametrize("article", ["", "5.1", "Art. 5", "5(0)", "05"])
def test_malformed_article_references_are_refused(article):
    with pytest.raises(ValidationError):
        Finding(article=article, item="x", message_zh="中", message_en="en")


def test_findings_group_by_article_in_regulation_order():
    fs = [finding(a, a, "中", "en") for a in ("24", "7(3)", "5(2)", "5(10)", "5(2)")]
    grouped = group_by_article(fs)
    assert list(grouped) == ["5(2)", "5(10)", "7(3)", "24"]
    assert len(grouped["5(2)"]) == 2
