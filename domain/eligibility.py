"""Art. 5 conditions and Art. 6-7 materials, as pure rules returning findings.

Every rule returns all its findings (Art. 9: corrections are notified at once); an empty
list means the requirement is met. Thresholds come from the `Policy` in force.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, model_validator

from domain.application import DOCUMENTS, Application, DocumentKind, HeldDocument, Incident, Lease, Tank, Tanker
from domain.findings import Finding, article_order, finding
from domain.identifiers import is_valid_imo, normalise_imo
from domain.policy import Policy

# A shortfall of one tanker or tank: (field path under it, zh, en).
Shortfall = tuple[str, str, str]


def years_after(d: date, years: int) -> date:
    """Same day `years` later (negative: earlier); a 29 February maps to the 28th.

    Civil Code Art. 202: a period in years ends on the corresponding day, or on the last
    day of the month where there is none.
    """
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _num(x: Decimal | int) -> str:
    return format(Decimal(x).normalize(), "f")


def lease_shortfalls(lease: Lease, on: date, policy: Policy) -> list[Shortfall]:
    """Art. 5(1), 5(2): a lease's term must be at least `min_lease_years`, and in force `on`.

    The term counts from `start` to `end` (its last day): it is long enough iff `end` falls
    on or after the `min_lease_years` anniversary of `start`. So a lease from 2026-01-01
    ending 2027-01-01 passes and one ending 2026-12-31 fails. In force: start <= on <= end.
    """
    problems: list[Shortfall] = []
    n = policy.min_lease_years
    if lease.end < years_after(lease.start, n):
        problems.append((
            "lease.end",
            f"租赁合同期限{lease.start}至{lease.end}，不足{n}年",
            f"lease runs {lease.start} to {lease.end}, shorter than {n} year(s)",
        ))
    if on < lease.start:
        problems.append((
            "lease.start",
            f"租赁合同{lease.start}起生效，{on}尚未生效",
            f"lease starts {lease.start}, not yet in force on {on}",
        ))
    elif lease.end < on:
        problems.append(("lease.end", f"租赁合同已于{lease.end}期满", f"lease ended {lease.end}"))
    return problems


def tanker_shortfalls(t: Tanker, on: date, policy: Policy) -> list[Shortfall]:
    """Why a tanker does not count towards Art. 5(1); empty if it does."""
    dwt, company = policy.min_tanker_dwt, t.shipping_company
    checks: list[tuple[bool, Shortfall]] = [
        (t.dwt < dwt, ("dwt", f"载重吨位{_num(t.dwt)}吨，不足{dwt}吨", f"{_num(t.dwt)} DWT, under {dwt} DWT")),
        (not t.double_bottom, ("double_bottom", "不是双底船舶", "not double-bottom")),
        (not t.double_hull, ("double_hull", "不是双壳船舶", "not double-hull")),
        (t.vessel_key_tracked, ("vessel_key_tracked", "属于重点跟踪船舶", "on the key-tracked vessel list")),
        (t.company_key_tracked, (
            "company_key_tracked", f"所属航运公司{company}为重点跟踪航运公司", f"its shipping company {company} is key-tracked",
        )),
    ]
    problems = [shortfall for failed, shortfall in checks if failed]
    return problems + (lease_shortfalls(t.lease, on, policy) if t.lease is not None else [])


def tank_shortfalls(tank: Tank, on: date, policy: Policy) -> list[Shortfall]:
    """Why a tank's capacity does not count towards Art. 5(2); empty if it does.

    The customs bonded-warehouse registration stands for "meets customs supervision
    requirements"; safety and transfer facilities are judged by the reviewers (Art. 10).
    """
    problems: list[Shortfall] = []
    if tank.customs_bonded_registration_no is None:
        problems.append(("customs_bonded_registration_no", "未办理海关保税仓库注册登记", "no customs bonded-warehouse registration"))
    if tank.lease is not None:
        problems.extend(lease_shortfalls(tank.lease, on, policy))
    return problems


def _tankers(app: Application, on: date, policy: Policy) -> list[Finding]:
    if not app.tankers:
        return [finding("5(1)", "tankers", "未申报加油船舶", "no bunker tanker declared")]
    shortfalls = [tanker_shortfalls(t, on, policy) for t in app.tankers]
    if not all(shortfalls):  # Art. 5(1) asks for at least one; the others do not matter
        return []
    dwt, years = policy.min_tanker_dwt, policy.min_lease_years
    summary = finding(
        "5(1)",
        "tankers",
        f"无单船载重吨位不小于{dwt}吨、非重点跟踪、租赁的租期不少于{years}年的双底双壳加油船舶",
        f"no double-bottom double-hull tanker of at least {dwt} DWT that is not key-tracked "
        f"and, if leased, leased for at least {years} year(s)",
    )
    return [summary] + [
        finding("5(1)", f"tankers[{i}].{path}", f"加油船舶{t.name}（{t.imo}）{zh}", f"tanker {t.name} ({t.imo}): {en}")
        for i, (t, problems) in enumerate(zip(app.tankers, shortfalls))
        for path, zh, en in problems
    ]


def _tanks(app: Application, on: date, policy: Policy) -> list[Finding]:
    if not app.tanks:
        return [finding("5(2)", "tanks", "未申报油罐", "no oil tank declared")]
    shortfalls = [tank_shortfalls(t, on, policy) for t in app.tanks]
    total = sum((t.capacity_m3 for t, s in zip(app.tanks, shortfalls) if not s), Decimal(0))
    if total >= policy.min_tank_capacity_m3:
        return []
    summary = finding(
        "5(2)",
        "tanks.total_capacity",
        f"符合条件的油罐库容合计{_num(total)}立方米，低于{policy.min_tank_capacity_m3}立方米",
        f"eligible tanks total {_num(total)} m³, under {policy.min_tank_capacity_m3} m³",
    )
    return [summary] + [
        finding(
            "5(2)",
            f"tanks[{i}].{path}",
            f"油罐{t.name}（{_num(t.capacity_m3)}立方米）{zh}，不计入库容",
            f"tank {t.name} ({_num(t.capacity_m3)} m³) not counted: {en}",
        )
        for i, (t, problems) in enumerate(zip(app.tanks, shortfalls))
        for path, zh, en in problems
    ]


_INCIDENT_NAMES = {  # kind: (zh, en)
    "fire": ("火灾事故", "fire accident"),
    "safety": ("安全事故", "safety accident"),
    "pollution": ("环境污染事故", "pollution accident"),
    "smuggling": ("走私油品行为", "oil smuggling"),
}


def _incident_name(inc: Incident) -> tuple[str, str]:
    zh, en = _INCIDENT_NAMES[inc.kind]
    if inc.kind == "smuggling":  # no severity grade for violations
        return zh, en
    return ("较大及以上" if inc.severity == "major" else "一般") + zh, f"{inc.severity} {en}"


def _clean_record(app: Application, on: date, policy: Policy) -> list[Finding]:
    """Art. 5(4). "Within n years" means occurred_on > on minus n calendar years, so an
    incident exactly n years before `on` is outside. Accidents count when major (较大及以上);
    smuggling counts at any severity, because Art. 5(4) qualifies only the accidents.
    """
    n = policy.clean_record_years
    cutoff = years_after(on, -n)
    found = [
        finding(
            "5(4)",
            f"incidents[{i}]",
            f"{inc.occurred_on}发生{zh}（{inc.description}），在{n}年内",
            f"{en} on {inc.occurred_on} ({inc.description}), within {n} years (after {cutoff})",
        )
        for i, inc in enumerate(app.incidents)
        if inc.occurred_on > cutoff and (inc.severity == "major" or inc.kind == "smuggling")
        for zh, en in [_incident_name(inc)]
    ]
    if not app.statement_no_accident_or_smuggling:
        found.append(finding(
            "5(4)",
            "statement_no_accident_or_smuggling",
            f"申请企业未声明{n}年内未发生较大及以上火灾、安全、环境污染事故及走私油品等违法行为",
            f"the applicant does not state that it had no major fire, safety or pollution accident "
            f"and no oil smuggling in the last {n} years",
        ))
    return found


def check_art5(app: Application, on: date, policy: Policy) -> list[Finding]:
    """Art. 5 conditions as of `on` (intake, renewal, change, annual inspection)."""
    e = app.enterprise
    flags = [
        (app.information_system_id is None, "5(3)", "information_system_id",
         "未配备与供油地海关联网的信息化管理系统",
         "no information system networked with the customs office of the supply location"),
        (not e.registered_in_guangzhou, "5(5)", "enterprise.registered_in_guangzhou",
         "企业未在广州市依法登记注册", "the enterprise is not registered in Guangzhou"),
        (not e.independent_legal_person, "5(5)", "enterprise.independent_legal_person",
         "企业不具备独立法人资格", "the enterprise is not an independent legal person"),
        (e.foreign_trade_filing_no is None, "5(6)", "enterprise.foreign_trade_filing_no",
         "未办理对外贸易经营者备案登记", "no foreign-trade operator filing"),
    ]
    return (
        _tankers(app, on, policy)
        + _tanks(app, on, policy)
        + _clean_record(app, on, policy)
        + [finding(article, item, zh, en) for failed, article, item, zh, en in flags if failed]
    )


# Whose document it is, for messages: ("加油船舶X（IMO…）的", " for tanker X (IMO…)").
Whose = tuple[str, str]
_ENTERPRISE: Whose = ("", "")


def _held(
    app: Application, on: date, kind: DocumentKind, item: str,
    whose: Whose = _ENTERPRISE, about: Callable[[HeldDocument], bool] = lambda d: True,
) -> list[Finding]:
    """Art. 7: a document of `kind` that is `about` the right subject is held and valid `on`."""
    name_zh, name_en, article = DOCUMENTS[kind]
    zh, en = f"{whose[0]}{name_zh}", f"{name_en}{whose[1]}"
    docs = [d for d in app.documents if d.kind is kind and about(d)]
    if any(d.valid_on(on) for d in docs):
        return []
    if not docs:
        return [finding(article, item, f"缺少{zh}", f"missing {en}")]
    d = max(docs, key=lambda d: d.valid_until or date.max)  # the most recent one explains best
    if on < d.valid_from:
        return [finding(
            article, item,
            f"{zh}（编号{d.number}）自{d.valid_from}起生效，{on}尚未生效",
            f"{en} (no. {d.number}) is valid only from {d.valid_from}, not on {on}",
        )]
    return [finding(
        article, item,
        f"{zh}（编号{d.number}）已于{d.valid_until}过期",
        f"{en} (no. {d.number}) expired on {d.valid_until}",
    )]


def _about_tanker(t: Tanker) -> Callable[[HeldDocument], bool]:
    return lambda d: d.subject is not None and is_valid_imo(d.subject) and normalise_imo(d.subject) == t.imo


def _registers_tank(tank: Tank) -> Callable[[HeldDocument], bool]:
    # One bonded-warehouse registration may cover a whole depot: match it by number too.
    reg_no = tank.customs_bonded_registration_no
    return lambda d: d.subject == tank.name or (reg_no is not None and d.number == reg_no)


# Art. 6: what the applicant writes and submits, keyed by the flag that records it.
_SUBMITTED = (
    ("6(1)", "application_letter", "申请书", "application letter"),
    ("6(2)", "statement_no_accident_or_smuggling", "未发生较大及以上火灾、安全、环境污染事故及走私油品等情况的说明",
     "statement of no major accident and no oil smuggling"),
    ("6(3)", "business_plan_2y", "未来2年保税油经营销售商业计划书", "2-year bonded-oil business plan"),
    ("6(3)", "mass_flow_meter_commitment", "安装质量流量计承诺书", "commitment to install mass flow meters"),
)


_TANKER_DOCS = (DocumentKind.TANKER_OWNERSHIP, DocumentKind.TANKER_INSPECTION, DocumentKind.TANKER_SAFETY_MANAGEMENT)


def check_materials(app: Application, on: date) -> list[Finding]:
    """Art. 6 materials submitted, and Art. 7 documents held and valid on `on`."""
    K = DocumentKind
    found = [
        finding(article, flag, f"未提交{zh}", f"{en} not submitted")
        for article, flag, zh, en in _SUBMITTED
        if not getattr(app, flag)
    ]
    found += _held(app, on, K.BUSINESS_LICENCE, f"documents.{K.BUSINESS_LICENCE}")
    found += _held(app, on, K.FOREIGN_TRADE_FILING_FORM, f"documents.{K.FOREIGN_TRADE_FILING_FORM}")
    for t in app.tankers:
        whose = (f"加油船舶{t.name}（{t.imo}）的", f" for tanker {t.name} ({t.imo})")
        # Art. 7(3): a leased tanker still needs the owner's certificates, plus the lease.
        kinds = _TANKER_DOCS + ((K.TANKER_LEASE,) if t.ownership == "leased" else ())
        for kind in kinds:
            found += _held(app, on, kind, f"documents.{kind}[{t.imo}]", whose, _about_tanker(t))
    for tank in app.tanks:
        whose = (f"油罐{tank.name}的", f" for tank {tank.name}")
        kind = K.BONDED_WAREHOUSE_REGISTRATION
        found += _held(app, on, kind, f"documents.{kind}[{tank.name}]", whose, _registers_tank(tank))
        if tank.ownership == "leased":
            found += _held(
                app, on, K.TANK_LEASE, f"documents.{K.TANK_LEASE}[{tank.name}]", whose,
                lambda d, name=tank.name: d.subject == name,
            )
    if app.handles_hazardous_chemicals:  # Art. 7(5): only where hazardous chemicals are handled
        found += _held(app, on, K.HAZARDOUS_CHEMICALS_LICENCE, f"documents.{K.HAZARDOUS_CHEMICALS_LICENCE}")
    return found


class Assessment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    policy_version: str
    assessed_on: date
    art5: list[Finding]
    materials: list[Finding]
    eligible: bool  # no Art. 5 finding
    complete: bool  # no Art. 6-7 finding: what Art. 9 completeness turns on

    @model_validator(mode="after")
    def _consistent(self) -> Assessment:
        if self.eligible != (not self.art5) or self.complete != (not self.materials):
            raise ValueError("eligible/complete must agree with the findings")
        return self

    @property
    def findings(self) -> list[Finding]:
        """All findings in regulation order: what one correction notice lists (Art. 9)."""
        return sorted(self.art5 + self.materials, key=article_order)


def assess(app: Application, on: date, policy: Policy) -> Assessment:
    art5 = check_art5(app, on, policy)
    materials = check_materials(app, on)
    return Assessment(
        policy_version=policy.version,
        assessed_on=on,
        art5=art5,
        materials=materials,
        eligible=not art5,
        complete=not materials,
    )
