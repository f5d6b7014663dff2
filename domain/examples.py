"""A complete, eligible example application: for `bunker application submit --example`, the
scenarios and the tests. Every document is valid from a year before to three years after the day
it is received."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from domain.application import Application, DocumentKind
from domain.bodies import District
from domain.identifiers import make_credit_code, make_imo

CREDIT_CODE = make_credit_code("91440115MA59ABCD1")  # 440115 = Nansha
TANKER_IMO = make_imo("941234")
BONDED_REGISTRATION_NO = "NS-BW-2025-001"  # one registration covers both tanks of the depot


def example_application(received_on: date, **overrides: Any) -> Application:
    """Complete and eligible on `received_on`: Nansha enterprise, one owned 3000-DWT tanker,
    two owned tanks of 5000 + 3000 m³, every document valid from a year before to three
    years after `received_on`. `overrides` replace top-level Application fields."""
    since, until = received_on - timedelta(days=365), received_on + timedelta(days=3 * 365)

    def doc(kind: DocumentKind, number: str, issuer: str, subject: str | None = None,
            expires: bool = True) -> dict[str, Any]:
        return dict(kind=kind, number=number, issuer=issuer, valid_from=since,
                    valid_until=until if expires else None, subject=subject)

    fields: dict[str, Any] = dict(
        enterprise=dict(
            name="广州南沙保税油供应有限公司",
            credit_code=CREDIT_CODE,
            district=District.NANSHA,
            registered_in_guangzhou=True,
            independent_legal_person=True,
            foreign_trade_filing_no="04412345",
            legal_representative="陈明",
        ),
        tankers=[dict(
            imo=TANKER_IMO,
            name="穗保油1号",
            dwt=3000,
            double_bottom=True,
            double_hull=True,
            ownership="owned",
            vessel_key_tracked=False,
            company_key_tracked=False,
            shipping_company="广州南沙保税油供应有限公司",
        )],
        tanks=[
            dict(name="T1", location="南沙港区小虎油库", capacity_m3=5000, ownership="owned",
                 customs_bonded_registration_no=BONDED_REGISTRATION_NO),
            dict(name="T2", location="南沙港区小虎油库", capacity_m3=3000, ownership="owned",
                 customs_bonded_registration_no=BONDED_REGISTRATION_NO),
        ],
        information_system_id="NS-BUNKER-IS-01",
        statement_no_accident_or_smuggling=True,
        incidents=[],
        business_plan_2y=True,
        mass_flow_meter_commitment=True,
        application_letter=True,
        scope_cross_district_direct_supply=False,
        handles_hazardous_chemicals=True,
        documents=[
            doc(DocumentKind.BUSINESS_LICENCE, CREDIT_CODE, "广州市南沙区市场监督管理局", expires=False),
            doc(DocumentKind.FOREIGN_TRADE_FILING_FORM, "04412345", "商务主管部门", expires=False),
            doc(DocumentKind.TANKER_OWNERSHIP, "440125000001", "中华人民共和国广州海事局", TANKER_IMO, expires=False),
            doc(DocumentKind.TANKER_INSPECTION, "GZ25-0001", "中国船级社广州分社", TANKER_IMO),
            doc(DocumentKind.TANKER_SAFETY_MANAGEMENT, "SMC-25-0001", "中华人民共和国广州海事局", TANKER_IMO),
            doc(DocumentKind.BONDED_WAREHOUSE_REGISTRATION, BONDED_REGISTRATION_NO, "广州海关"),
            doc(DocumentKind.HAZARDOUS_CHEMICALS_LICENCE, "穗南危化经字〔2025〕001号", "广州市南沙区应急管理局"),
        ],
    )
    return Application.model_validate(fields | overrides)

