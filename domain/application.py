"""The application for bonded bunkering (Art. 5-7), validated at the edge.

Validation here refuses what is malformed (a bad check digit, a negative tonnage, a lease
ending before it starts) with field-level locations. Whether a well-formed application
*meets* the measures is not decided here but in `domain.eligibility`, which reports every
shortfall as a finding (Art. 9: all corrections at once). So an application with no tanker
is accepted here and refused there.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.bodies import DISTRICT_NAMES_ZH, District
from domain.identifiers import normalise_imo, validate_credit_code
from domain.text import refuse_nul


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _blank_to_none(v: Any) -> Any:
    if isinstance(v, str):
        return v.strip() or None
    return v


def _positive(v: Decimal) -> Decimal:
    if v <= 0:
        raise ValueError(f"数值须大于0，实为{v} / must be greater than 0, got {v}")
    return v


_DISTRICT_BY_ZH = {zh: d for d, zh in DISTRICT_NAMES_ZH.items()}


def _district(v: Any) -> Any:
    """Accept the code ("nansha") or the Chinese name ("南沙区"), as forms carry either."""
    if not isinstance(v, str):
        return v
    s = v.strip()
    district = _DISTRICT_BY_ZH.get(s) or next((d for d in District if d.value == s.lower()), None)
    if district is None:
        raise ValueError(
            f"不是广州市的区：{v!r} / not a Guangzhou district: {v!r} "
            f"(expected one of {', '.join(d.value for d in District)})"
        )
    return district


NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OptionalStr = Annotated[str | None, BeforeValidator(_blank_to_none)]
PositiveDecimal = Annotated[Decimal, AfterValidator(_positive)]
CreditCode = Annotated[str, AfterValidator(validate_credit_code)]
ImoNumber = Annotated[str, AfterValidator(normalise_imo)]
GuangzhouDistrict = Annotated[District, BeforeValidator(_district)]
Ownership = Literal["owned", "leased"]


class Enterprise(_Frozen):
    name: NonEmptyStr
    credit_code: CreditCode
    district: GuangzhouDistrict
    registered_in_guangzhou: bool  # Art. 5(5)
    independent_legal_person: bool  # Art. 5(5)
    foreign_trade_filing_no: OptionalStr  # Art. 5(6); None = not filed
    legal_representative: NonEmptyStr


class Lease(_Frozen):
    """A lease contract; `end` is its last day in force."""

    start: date
    end: date
    lessor: NonEmptyStr

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(
                f"租赁终止日{end.isoformat()}不晚于起始日{start.isoformat()} / "
                f"lease ends {end.isoformat()}, not after it starts {start.isoformat()}"
            )
        return end


def _lease_matches_ownership(lease: Lease | None, info: ValidationInfo) -> Lease | None:
    # Located on `lease` (not the model) so the form can point at the missing field.
    ownership = info.data.get("ownership")
    if ownership == "leased" and lease is None:
        raise ValueError("租赁方式须提供租赁合同 / leased, so the lease is required")
    if ownership == "owned" and lease is not None:
        raise ValueError("自有方式不应填写租赁合同 / owned, so there must be no lease")
    return lease


# Declared after `ownership` in each model, so `info.data` holds it when this runs.
LeaseIfLeased = Annotated[Lease | None, AfterValidator(_lease_matches_ownership)]


class Tanker(_Frozen):
    """A bunker tanker offered under Art. 5(1)."""

    imo: ImoNumber
    name: NonEmptyStr
    dwt: PositiveDecimal
    double_bottom: bool
    double_hull: bool
    ownership: Ownership
    lease: LeaseIfLeased = Field(default=None, validate_default=True)
    vessel_key_tracked: bool  # on the 重点跟踪船舶 list
    company_key_tracked: bool  # its shipping company is a 重点跟踪航运公司
    shipping_company: NonEmptyStr


class Tank(_Frozen):
    """An oil tank offered under Art. 5(2)."""

    name: NonEmptyStr
    location: NonEmptyStr
    capacity_m3: PositiveDecimal
    ownership: Ownership
    lease: LeaseIfLeased = Field(default=None, validate_default=True)
    customs_bonded_registration_no: OptionalStr = None  # 保税仓库注册登记证书编号


class Incident(_Frozen):
    """An accident or violation on record (Art. 5(4), 6(2))."""

    kind: Literal["fire", "safety", "pollution", "smuggling"]
    severity: Literal["minor", "major"]  # major = 较大及以上
    occurred_on: date
    description: NonEmptyStr


class DocumentKind(StrEnum):
    """The documents Art. 7 requires the applicant to hold, valid."""

    BUSINESS_LICENCE = "business_licence"
    FOREIGN_TRADE_FILING_FORM = "foreign_trade_filing_form"
    TANKER_OWNERSHIP = "tanker_ownership"
    TANKER_INSPECTION = "tanker_inspection"
    TANKER_SAFETY_MANAGEMENT = "tanker_safety_management"
    TANKER_LEASE = "tanker_lease"
    TANK_LEASE = "tank_lease"
    BONDED_WAREHOUSE_REGISTRATION = "bonded_warehouse_registration"
    HAZARDOUS_CHEMICALS_LICENCE = "hazardous_chemicals_licence"


# Name as Art. 7 words it, and the item of Art. 7 that requires it.
DOCUMENTS: dict[DocumentKind, tuple[str, str, str]] = {
    DocumentKind.BUSINESS_LICENCE: ("企业营业执照", "business licence", "7(1)"),
    DocumentKind.FOREIGN_TRADE_FILING_FORM: ("对外贸易经营者备案登记表", "foreign-trade operator filing form", "7(2)"),
    DocumentKind.TANKER_OWNERSHIP: ("船舶所有权凭证", "certificate of ship ownership", "7(3)"),
    DocumentKind.TANKER_INSPECTION: ("船舶检验证书", "ship inspection certificate", "7(3)"),
    DocumentKind.TANKER_SAFETY_MANAGEMENT: ("船舶安全管理证书", "ship safety management certificate", "7(3)"),
    DocumentKind.TANKER_LEASE: ("加油船舶租赁合同", "tanker lease contract", "7(3)"),
    DocumentKind.TANK_LEASE: ("油罐租赁合同", "tank lease contract", "7(4)"),
    DocumentKind.BONDED_WAREHOUSE_REGISTRATION: ("保税仓库注册登记证书", "customs bonded warehouse registration certificate", "7(4)"),
    DocumentKind.HAZARDOUS_CHEMICALS_LICENCE: ("危险化学品经营许可证", "hazardous chemicals business licence", "7(5)"),
}


class HeldDocument(_Frozen):
    kind: DocumentKind
    number: NonEmptyStr
    issuer: NonEmptyStr
    valid_from: date
    valid_until: date | None = None  # None = no expiry (长期)
    # What the document is about: a tanker's IMO number or a tank's name.
    subject: OptionalStr = None

    @field_validator("valid_until")
    @classmethod
    def _not_before_valid_from(cls, until: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("valid_from")
        if until is not None and start is not None and until < start:
            raise ValueError(
                f"有效期截止日{until.isoformat()}早于起始日{start.isoformat()} / "
                f"valid until {until.isoformat()}, before valid from {start.isoformat()}"
            )
        return until

    def valid_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on <= self.valid_until)


def _unique(values: list[str], what_zh: str, what_en: str) -> None:
    dupes = sorted(v for v, n in Counter(values).items() if n > 1)
    if dupes:
        raise ValueError(f"{what_zh}重复：{', '.join(dupes)} / duplicate {what_en}: {', '.join(dupes)}")


class Application(_Frozen):
    _no_nul = model_validator(mode="before")(staticmethod(refuse_nul))

    enterprise: Enterprise
    # Empty lists pass here so eligibility can report the shortfall as a finding.
    tankers: list[Tanker]
    tanks: list[Tank]
    information_system_id: OptionalStr  # Art. 5(3): customs-networked system
    statement_no_accident_or_smuggling: bool  # Art. 6(2)
    incidents: list[Incident] = Field(default_factory=list)
    business_plan_2y: bool  # Art. 6(3)
    mass_flow_meter_commitment: bool  # Art. 6(3)
    application_letter: bool  # Art. 6(1)
    scope_cross_district_direct_supply: bool  # Art. 2: 跨关区直供
    handles_hazardous_chemicals: bool  # Art. 7(5)
    documents: list[HeldDocument]

    @field_validator("tankers")
    @classmethod
    def _distinct_tankers(cls, tankers: list[Tanker]) -> list[Tanker]:
        _unique([t.imo for t in tankers], "加油船舶IMO编号", "tanker IMO number")
        return tankers

    @field_validator("tanks")
    @classmethod
    def _distinct_tanks(cls, tanks: list[Tank]) -> list[Tank]:
        # Tank documents name their tank (HeldDocument.subject), so names must be unique.
        _unique([t.name for t in tanks], "油罐名称", "tank name")
        return tanks
