from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from domain.application import Application, DocumentKind, Enterprise, HeldDocument, Lease, Tanker
from domain.bodies import District
from tests.fixtures.applications import TANKER_IMO, valid_application


def _raw(**changes: Any) -> dict[str, Any]:
    """The fixture as plain input, as a form would send it."""
    return valid_application().model_dump(mode="json") | changes


def _locations(raw: dict[str, Any]) -> list[tuple[Any, ...]]:
    with pytest.raises(ValidationError) as e:
        Application.model_validate(raw)
    return [err["loc"] for err in e.value.errors()]


def _with_tanker(**changes: Any) -> dict[str, Any]:
    raw = _raw()
    raw["tankers"][0] |= changes
    return raw


def test_the_fixture_survives_a_json_round_trip():
    app = valid_application()
    assert Application.model_validate_json(app.model_dump_json()) == app


def test_unknown_district_is_refused_at_the_district_field():
    raw = _raw()
    raw["enterprise"]["district"] = "shenzhen"
    assert _locations(raw) == [("enterprise", "district")]


def test_district_may_be_given_by_its_chinese_name():
    raw = _raw()
    raw["enterprise"]["district"] = "南沙区"
    assert Application.model_validate(raw).enterprise.district is District.NANSHA


def test_credit_code_with_a_wrong_check_char_is_refused_at_its_field():
    raw = _raw()
    raw["enterprise"]["credit_code"] = raw["enterprise"]["credit_code"][:17] + "0"
    assert _locations(raw) == [("enterprise", "credit_code")]


def test_credit_code_is_stored_upper_case():
    raw = _raw()
    raw["enterprise"]["credit_code"] = raw["enterprise"]["credit_code"].lower()
    assert Application.model_validate(raw).enterprise.credit_code.isupper()


@pytest.mark.parametrize("dwt", [-1, 0, "-0.5"])
def test_negative_or_zero_dwt_is_refused_at_the_tanker_field(dwt):
    assert _locations(_with_tanker(dwt=dwt)) == [("tankers", 0, "dwt")]


def test_dwt_keeps_decimal_precision():
    assert Application.model_validate(_with_tanker(dwt="999.9")).tankers[0].dwt == Decimal("999.9")


def test_bad_imo_is_refused_at_the_tanker_field():
    assert _locations(_with_tanker(imo="IMO1234568")) == [("tankers", 0, "imo")]


def test_imo_is_normalised_to_the_prefixed_form():
    raw = _with_tanker(imo=TANKER_IMO.removeprefix("IMO"))
    assert Application.model_validate(raw).tankers[0].imo == TANKER_IMO


def test_lease_ending_before_it_starts_is_refused_at_its_end():
    lease = {"start": "2026-06-01", "end": "2026-05-31", "lessor": "出租人"}
    raw = _with_tanker(ownership="leased", lease=lease)
    assert _locations(raw) == [("tankers", 0, "lease", "end")]


def test_lease_ending_the_day_it_starts_is_refused():
    with pytest.raises(ValidationError):
        Lease(start=date(2026, 6, 1), end=date(2026, 6, 1), lessor="出租人")


def test_leased_tanker_without_its_lease_is_refused_at_the_lease():
    assert _locations(_with_tanker(ownership="leased")) == [("tankers", 0, "lease")]


def test_owned_tanker_carrying_a_lease_is_refused_at_the_lease():
    lease = {"start": "2026-01-01", "end": "2027-01-01", "lessor": "出租人"}
    assert _locations(_with_tanker(lease=lease)) == [("tankers", 0, "lease")]


def test_leased_tank_without_its_lease_is_refused_at_the_lease():
    raw = _raw()
    raw["tanks"][1]["ownership"] = "leased"
    assert _locations(raw) == [("tanks", 1, "lease")]


def test_negative_tank_capacity_is_refused():
    raw = _raw()
    raw["tanks"][0]["capacity_m3"] = -5000
    assert _locations(raw) == [("tanks", 0, "capacity_m3")]


def test_document_expiring_before_it_starts_is_refused_at_valid_until():
    raw = _raw()
    raw["documents"][3] |= {"valid_from": "2026-01-01", "valid_until": "2025-12-31"}
    assert _locations(raw) == [("documents", 3, "valid_until")]


def test_document_without_expiry_is_valid_for_ever():
    doc = HeldDocument(kind=DocumentKind.BUSINESS_LICENCE, number="1", issuer="局", valid_from=date(2020, 1, 1))
    assert doc.valid_on(date(2099, 1, 1)) and not doc.valid_on(date(2019, 12, 31))


def test_unknown_document_kind_is_refused():
    raw = _raw()
    raw["documents"][0]["kind"] = "fishing_licence"
    assert _locations(raw) == [("documents", 0, "kind")]


def test_every_error_is_reported_at_once_with_its_own_location():
    raw = _with_tanker(dwt=-3, imo="IMO0000001")
    raw["enterprise"]["district"] = "atlantis"
    assert set(_locations(raw)) == {("enterprise", "district"), ("tankers", 0, "dwt"), ("tankers", 0, "imo")}


def test_unknown_fields_are_refused():
    assert _locations(_raw(favourite_colour="red")) == [("favourite_colour",)]


def test_an_application_without_tankers_or_tanks_passes_the_door():
    # Eligibility, not validation, reports the shortfall (Art. 5(1), 5(2)).
    app = Application.model_validate(_raw(tankers=[], tanks=[]))
    assert app.tankers == [] and app.tanks == []


def test_tankers_must_be_a_list():
    assert _locations(_raw(tankers=None)) == [("tankers",)]


def test_the_same_tanker_twice_is_refused():
    raw = _raw()
    raw["tankers"] = raw["tankers"] * 2
    assert _locations(raw) == [("tankers",)]


def test_blank_optional_text_means_absent():
    raw = _raw(information_system_id="  ")
    raw["enterprise"]["foreign_trade_filing_no"] = ""
    app = Application.model_validate(raw)
    assert app.information_system_id is None and app.enterprise.foreign_trade_filing_no is None


def test_models_are_frozen():
    app = valid_application()
    with pytest.raises(ValidationError):
        app.application_letter = False  # type: ignore[misc]
    with pytest.raises(ValidationError):
        app.tankers[0].dwt = Decimal(1)  # type: ignore[misc]


def test_validation_messages_carry_chinese_and_english():
    with pytest.raises(ValidationError) as e:
        Tanker.model_validate(_raw()["tankers"][0] | {"dwt": -1})
    message = e.value.errors()[0]["msg"]
    assert "数值须大于0" in message and "must be greater than 0" in message


def test_enterprise_needs_a_legal_representative():
    raw = _raw()["enterprise"] | {"legal_representative": "  "}
    with pytest.raises(ValidationError) as e:
        Enterprise.model_validate(raw)
    assert [err["loc"] for err in e.value.errors()] == [("legal_representative",)]
