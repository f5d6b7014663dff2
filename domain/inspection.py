"""The annual supervisory inspection (Art. 22): what the data says about each of its four items.

(1) last year's operations — the Art. 17 ledger's annual summary;
(2) whether the operating information meets the measures and the technical norms — reporting gaps in
    the ledger (supplies without a mass-flow-meter quantity (Art. 6(3)), without a customs declaration,
    movements without vouchers (Art. 17), late reports) and whether the ledger balances;
(3) whether licences, certificates and lease contracts are still valid — the Art. 7 documents and the
    Art. 5(1)(2) leases of the approved matters, on the day of the inspection;
(4) smuggling or major violations — the violation register (Art. 19, 26): smuggling once customs has
    confirmed it, and any violation graded major.

Every finding is one line, "中文 / English", as the rectification order quotes it. A breach of any item
leads the permit's workflow to order rectification within a time limit (Art. 22, last paragraph).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.application import Application
from domain.eligibility import check_materials, lease_shortfalls
from domain.ledger import AnnualSummary
from domain.policy import Policy
from domain.violations import Violation

QUIET_DAYS = 30  # a stretch without any supply worth naming in item (1)
LATE_AFTER_DAYS = 30  # a ledger row recorded later than this after it occurred is a late report

Outcome = Literal["ok", "breach", "not_assessed"]


class ItemAssessment(BaseModel):
    """One item of Art. 22 (the shape of workflows.permit_messages.InspectionItem)."""

    model_config = ConfigDict(frozen=True)

    item: Literal[1, 2, 3, 4]
    outcome: Outcome
    summary: str
    findings: list[str] = Field(default_factory=list)


def campaign_month(policy: Policy) -> int:
    """The campaign starts on the first working day of this month (Art. 22: 每年定期)."""
    return policy.annual_inspection_month


def _t(x: Decimal) -> str:
    return f"{x.normalize():,f}"


# ---------------------------------------------------------------- (1) last year's operations
def operations(year: int, summary: AnnualSummary | None, valid_from: date | None = None) -> ItemAssessment:
    last = year - 1
    if summary is None:
        return ItemAssessment(item=1, outcome="not_assessed", summary=f"{last}年台账无法读取 / the {last} ledger could not be read")
    s = summary
    text = (f"{last}年供船{s.supplies}次，共{_t(s.supplied_t)}吨，{s.vessels}艘船舶；入库{s.receipts}次，共{_t(s.received_t)}吨 / "
            f"{last}: {s.supplies} supplies, {_t(s.supplied_t)} t to {s.vessels} vessels; "
            f"{s.receipts} receipts, {_t(s.received_t)} t")
    if valid_from is not None and valid_from > date(last, 1, 1):
        text += f"（许可自{valid_from}起生效 / in force from {valid_from}）"
    findings = [f"{q.start.date()}至{q.end.date()}无供船（{q.days}天） / no supply from {q.start.date()} to "
                f"{q.end.date()} ({q.days} days)" for q in s.quiet_spells]
    return ItemAssessment(item=1, outcome="ok", summary=text, findings=findings)


# ---------------------------------------------------------------- (2) operating information
def operating_information(summary: AnnualSummary | None) -> ItemAssessment:
    if summary is None:
        return ItemAssessment(item=2, outcome="not_assessed", summary="无台账可查 / no ledger to inspect")
    g = summary.reporting_gaps
    findings: list[str] = []
    if g.supplies_without_meter:
        sample = ", ".join(g.supplies_without_meter_sample)
        findings.append(f"{g.supplies_without_meter}笔供船无质量流量计计量数（第六条第三项）：{sample} / "
                        f"{g.supplies_without_meter} supplies without a mass-flow-meter quantity (Art. 6(3)): {sample}")
    if g.supplies_without_customs_declaration:
        findings.append(f"{g.supplies_without_customs_declaration}笔供船无海关申报单号 / "
                        f"{g.supplies_without_customs_declaration} supplies without a customs declaration")
    if g.movements_without_vouchers:
        findings.append(f"{g.movements_without_vouchers}笔台账记录无凭证票据（第十七条） / "
                        f"{g.movements_without_vouchers} ledger movements without vouchers (Art. 17)")
    if g.late_reports:
        findings.append(f"{g.late_reports}笔台账记录晚于发生{g.late_after_days}天以上报送 / "
                        f"{g.late_reports} ledger movements reported more than {g.late_after_days} days late")
    s = summary
    inflow = sum(s.opening_stock.values(), Decimal(0)) + s.received_t + s.transferred_in_t
    outflow = s.supplied_t + s.transferred_out_t
    closing = sum(s.closing_stock.values(), Decimal(0))
    if inflow - outflow != closing:
        findings.append(f"台账不平：期初加入库减出库为{_t(inflow - outflow)}吨，期末库存为{_t(closing)}吨 / "
                        f"the ledger does not balance: opening + in − out = {_t(inflow - outflow)} t, "
                        f"closing stock {_t(closing)} t")
    if findings:
        return ItemAssessment(item=2, outcome="breach", findings=findings,
                              summary="经营信息不符合本办法及技术规范要求 / operating information falls short of the measures")
    return ItemAssessment(item=2, outcome="ok", summary="台账完整、平衡 / ledger complete and balanced")


# ---------------------------------------------------------------- (3) licences, certificates, leases
def documents_valid(application: Application | None, on: date, policy: Policy) -> ItemAssessment:
    if application is None:
        return ItemAssessment(item=3, outcome="not_assessed",
                              summary="未取得许可事项及证照 / the approved matters could not be read")
    findings = [f"{f.message_zh} / {f.message_en}" for f in check_materials(application, on)
                if f.item.startswith("documents.")]
    leased = [(f"加油船舶{t.name}（{t.imo}）", f"tanker {t.name} ({t.imo})", t.lease) for t in application.tankers]
    leased += [(f"油罐{t.name}", f"tank {t.name}", t.lease) for t in application.tanks]
    for zh, en, lease in leased:
        if lease is not None:
            findings += [f"{zh}{szh} / {en}: {sen}" for _, szh, sen in lease_shortfalls(lease, on, policy)]
    if findings:
        return ItemAssessment(item=3, outcome="breach", findings=findings,
                              summary=f"{on}有证照或租赁合同不在有效期 / documents or leases not valid on {on}")
    return ItemAssessment(item=3, outcome="ok", summary=f"{on}证照及租赁合同均在有效期 / all documents and leases valid on {on}")


# ---------------------------------------------------------------- (4) smuggling or major violations
def violations(found: Sequence[Violation]) -> ItemAssessment:
    def line(v: Violation) -> str:
        a = v.prohibited
        return (f"{v.found_on} {v.found_by}查处第十九条第{a.number}项（{a.zh}）：{v.description} / "
                f"{v.found_on} {v.found_by}: Art. {a.article} ({a.en}): {v.description}"
                + (f"; penalty: {v.penalty}" if v.penalty else ""))

    counted = [line(v) for v in found if v.counts_for_art22_4]
    if counted:
        return ItemAssessment(item=4, outcome="breach", findings=counted,
                              summary="有走私行为或重大违法违规行为 / smuggling or major violations on record")
    pending = [line(v) + "（待海关认定 / awaiting customs confirmation）" for v in found if v.awaiting_customs]
    others = [line(v) for v in found if not v.awaiting_customs]
    if pending:
        return ItemAssessment(item=4, outcome="not_assessed", findings=pending + others,
                              summary="涉嫌走私，待海关认定 / suspected smuggling awaiting customs confirmation")
    return ItemAssessment(item=4, outcome="ok", findings=others,
                          summary="无走私或重大违法违规行为 / no smuggling or major violation on record")


# ---------------------------------------------------------------- the four items
def inspect(year: int, on: date, summary: AnnualSummary | None, application: Application | None,
            found: Sequence[Violation], policy: Policy, valid_from: date | None = None) -> list[ItemAssessment]:
    """The four items of Art. 22 for one permit, inspected `on`, covering operations of `year` − 1."""
    return [operations(year, summary, valid_from), operating_information(summary),
            documents_valid(application, on, policy), violations(found)]


def overall(items: Sequence[ItemAssessment]) -> Literal["clear", "breach", "not_assessed"]:
    outcomes = {i.outcome for i in items}
    if "breach" in outcomes:
        return "breach"
    return "not_assessed" if "not_assessed" in outcomes else "clear"
