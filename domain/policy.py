"""Versioned policy: every threshold and time limit the measures set, as data.

Art. 27 makes the 2022 measures a 2-year trial, succeeded in 2024 by the Commerce Bureau's
measures (穗商务规字〔2024〕1号). A decision records the version it was made under, so a
running permit keeps its rules when a new version arrives. To add a version, define it
(e.g. `GZ_2024 = GZ_2022.revise(version="gz-2024", ...)`) and append it to `_VERSIONS`;
existing entries are never edited.

Day counts named `*_workdays` are working days (ALL Art. 82); `*_days` are calendar days.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, model_validator


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(pattern=r"^[a-z]+-[0-9]{4}[a-z0-9.-]*$")
    title_zh: str = Field(min_length=1)
    title_en: str = ""
    # First day an application may be decided under this version.
    in_force_from: date
    # Last day (inclusive); None = until a later registered version takes over.
    in_force_until: date | None

    # Intake and review (Art. 9-12; ALL 42, 44).
    completeness_notice_workdays: PositiveInt  # Art. 9: 一次告知 within 5
    preliminary_review_workdays: PositiveInt  # Art. 9: 初审 within 5
    joint_review_workdays: PositiveInt  # internal sub-deadline per reviewing body (Art. 10)
    joint_review_reminder_workdays: PositiveInt  # remind a reviewer before escalation
    submission_workdays: PositiveInt  # internal: commerce -> municipal government
    decision_workdays: PositiveInt  # ALL 42(1); ALL 42(2) would allow 45
    decision_extension_workdays: PositiveInt  # Art. 12
    decision_extensions_allowed: int = Field(ge=0)
    permit_issue_workdays: PositiveInt  # ALL 44

    # Validity and renewal (Art. 14; ALL 50).
    validity_years: PositiveInt
    renewal_min_days_before_expiry: PositiveInt
    renewal_reminder_days: tuple[PositiveInt, ...]

    # Life of the permit (Art. 13, 25(3)).
    filing_reminder_workdays: PositiveInt  # Art. 13: remind the enterprise until each filing is confirmed
    document_warning_days: PositiveInt  # warn before a held document or lease expires
    rectification_workdays: PositiveInt  # Art. 22: 责令限期整改, the time limit of a rectification order
    annual_inspection_month: int = Field(ge=1, le=12)  # Art. 22: 每年定期, from the first working day of it

    # Eligibility thresholds (Art. 5).
    min_tanker_dwt: PositiveInt  # Art. 5(1)
    min_lease_years: PositiveInt  # Art. 5(1), 5(2)
    min_tank_capacity_m3: PositiveInt  # Art. 5(2)
    clean_record_years: PositiveInt  # Art. 5(4)

    # Sanctions and supervision (Art. 23, 24; ALL 78, 79).
    false_materials_ban_years: PositiveInt
    fraud_ban_years: PositiveInt
    dormancy_months: PositiveInt
    overdue_red_card_workdays: PositiveInt  # internal: overdue task escalates to red

    @model_validator(mode="after")
    def _coherent(self) -> Policy:
        if self.in_force_until is not None and self.in_force_until < self.in_force_from:
            raise ValueError("in_force_until precedes in_force_from")
        if self.joint_review_reminder_workdays >= self.joint_review_workdays:
            raise ValueError("the joint-review reminder must come before its deadline")
        days = self.renewal_reminder_days
        if list(days) != sorted(set(days), reverse=True):
            raise ValueError("renewal_reminder_days must be strictly decreasing")
        if days and days[-1] <= self.renewal_min_days_before_expiry:
            # A reminder after the Art. 14 cut-off could no longer be acted on.
            raise ValueError("every renewal reminder must precede the renewal cut-off")
        return self

    def revise(self, **changes: Any) -> Policy:
        """A validated copy with `changes`; the way to derive a new version or a test variant."""
        return Policy.model_validate(self.model_dump() | changes)

    def in_force_on(self, on: date) -> bool:
        return self.in_force_from <= on and (self.in_force_until is None or on <= self.in_force_until)


# Art. 27: the 2022 measures were issued 2022-02-18 for a 2-year trial.
GZ_2022_TRIAL_ENDS = date(2024, 2, 17)

GZ_2022 = Policy(
    version="gz-2022",
    title_zh="广州市国际航行船舶保税加油管理暂行办法（穗府办规〔2022〕2号）",
    title_en="Guangzhou Interim Measures on Bonded Bunkering of International-Navigation Vessels",
    in_force_from=date(2022, 2, 18),  # Art. 27: from issuance
    # Art. 27 set a 2-year trial (to GZ_2022_TRIAL_ENDS), but no successor is registered
    # yet, so this version keeps governing until one is.
    in_force_until=None,
    completeness_notice_workdays=5,
    preliminary_review_workdays=5,
    joint_review_workdays=10,
    joint_review_reminder_workdays=7,
    submission_workdays=3,
    decision_workdays=20,
    decision_extension_workdays=10,
    decision_extensions_allowed=1,
    permit_issue_workdays=10,
    validity_years=2,
    renewal_min_days_before_expiry=30,
    renewal_reminder_days=(90, 60, 45),
    filing_reminder_workdays=10,
    document_warning_days=30,
    rectification_workdays=20,
    annual_inspection_month=3,
    min_tanker_dwt=1000,
    min_lease_years=1,
    min_tank_capacity_m3=5000,
    clean_record_years=2,
    false_materials_ban_years=1,  # Art. 24; ALL 78
    fraud_ban_years=3,  # ALL 79
    dormancy_months=6,  # Art. 23
    overdue_red_card_workdays=5,
)

_VERSIONS: tuple[Policy, ...] = (GZ_2022,)

POLICIES: dict[str, Policy] = {p.version: p for p in _VERSIONS}
if len(POLICIES) != len(_VERSIONS):
    raise RuntimeError("duplicate policy version in _VERSIONS")

CURRENT_POLICY_VERSION = "gz-2022"


def policy(version: str) -> Policy:
    """The policy a decision was recorded under; KeyError names the known versions."""
    try:
        return POLICIES[version]
    except KeyError:
        raise KeyError(f"unknown policy version {version!r}; known: {sorted(POLICIES)}") from None


def policy_in_force(on: date) -> Policy:
    """The version that governs an application received `on`.

    Of the versions in force that day, the one that started last wins: a newer version
    supersedes an older one with no end date without that entry being edited.
    """
    candidates = [p for p in POLICIES.values() if p.in_force_on(on)]
    if not candidates:
        raise LookupError(f"no policy version in force on {on.isoformat()}")
    return max(candidates, key=lambda p: p.in_force_from)
