"""Who may take each step of the procedure (Art. 3, 9–12, 24): the measures name one body per step.

An attempt by anyone else is refused with a reason that names the rule; callers log it as a
security event.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.bodies import JOINT_REVIEW_PANEL, Body, District


class Actor(BaseModel):
    """An authenticated principal acting on a file: a body, a named district, or an enterprise."""

    model_config = ConfigDict(frozen=True)

    body: Body
    district: District | None = None
    credit_code: str | None = None  # set for enterprises
    name: str | None = None  # the officer or system acting, for the record

    @property
    def code(self) -> str:
        if self.body is Body.DISTRICT:
            return f"district:{self.district.value if self.district else '?'}"
        if self.body is Body.ENTERPRISE:
            return f"enterprise:{self.credit_code}"
        return self.body.value


class Step(StrEnum):
    ACCEPT = "accept"  # Art. 9
    NOTIFY_CORRECTIONS = "notify_corrections"  # Art. 9
    FIND_FALSE_MATERIALS = "find_false_materials"  # Art. 24
    SUBMIT_CORRECTIONS = "submit_corrections"  # Art. 9
    PRELIMINARY_REVIEW = "preliminary_review"  # Art. 9
    JOINT_REVIEW = "joint_review"  # Art. 10
    ANSWER_QUESTION = "answer_question"  # Art. 10
    SUBMIT_TO_GOVERNMENT = "submit_to_government"  # Art. 10
    PAUSE_CLOCK = "pause_clock"  # ALL 45
    RESUME_CLOCK = "resume_clock"  # ALL 45
    EXTEND_DEADLINE = "extend_deadline"  # Art. 12
    DECIDE = "decide"  # Art. 11
    WITHDRAW = "withdraw"  # ALL 32
    ISSUE_DOCUMENT = "issue_permit_document"  # ALL 44
    CONFIRM_FILING = "confirm_filing"  # Art. 13: each filing body confirms its own
    APPLY_RENEWAL = "apply_renewal"  # Art. 14
    APPLY_CHANGE = "apply_change"  # Art. 15
    REPLACE_DOCUMENT = "replace_document"  # Art. 7
    REPORT_DORMANCY = "report_dormancy"  # Art. 23
    PROPOSE_TERMINATION = "propose_termination"  # Art. 25: market (25(2)), district or commerce
    TERMINATION_REVIEW = "termination_review"  # Art. 25: the district reviews
    TERMINATION_REPORT = "termination_report"  # Art. 25: commerce reports
    DECIDE_TERMINATION = "decide_termination"  # Art. 25: the government terminates
    REPORT_REVOCATION = "report_revocation"  # Art. 24: commerce reports
    DECIDE_REVOCATION = "decide_revocation"  # Art. 24: the government revokes
    RECORD_INSPECTION = "record_inspection"  # Art. 22: commerce organises the annual inspection
    REPORT_RECTIFICATION = "report_rectification"  # Art. 22: the enterprise reports what it rectified
    VERIFY_RECTIFICATION = "verify_rectification"  # Art. 22: commerce verifies at the time limit


_BY_STEP: dict[Step, tuple[Body, str]] = {
    Step.ACCEPT: (Body.DISTRICT, "9"),
    Step.NOTIFY_CORRECTIONS: (Body.DISTRICT, "9"),
    Step.FIND_FALSE_MATERIALS: (Body.DISTRICT, "24"),
    Step.SUBMIT_CORRECTIONS: (Body.ENTERPRISE, "9"),
    Step.PRELIMINARY_REVIEW: (Body.DISTRICT, "9"),
    Step.ANSWER_QUESTION: (Body.ENTERPRISE, "10"),
    Step.SUBMIT_TO_GOVERNMENT: (Body.COMMERCE, "10"),
    Step.PAUSE_CLOCK: (Body.COMMERCE, "ALL 45"),
    Step.RESUME_CLOCK: (Body.COMMERCE, "ALL 45"),
    Step.EXTEND_DEADLINE: (Body.MUNICIPAL_GOV, "12"),
    Step.DECIDE: (Body.MUNICIPAL_GOV, "11"),
    Step.WITHDRAW: (Body.ENTERPRISE, "ALL 32"),
    Step.ISSUE_DOCUMENT: (Body.COMMERCE, "ALL 44"),
    Step.APPLY_RENEWAL: (Body.ENTERPRISE, "14"),
    Step.APPLY_CHANGE: (Body.ENTERPRISE, "15"),
    Step.REPLACE_DOCUMENT: (Body.ENTERPRISE, "7"),
    Step.REPORT_DORMANCY: (Body.DISTRICT, "23"),
    Step.TERMINATION_REVIEW: (Body.DISTRICT, "25"),
    Step.TERMINATION_REPORT: (Body.COMMERCE, "25"),
    Step.DECIDE_TERMINATION: (Body.MUNICIPAL_GOV, "25"),
    Step.REPORT_REVOCATION: (Body.COMMERCE, "24"),
    Step.DECIDE_REVOCATION: (Body.MUNICIPAL_GOV, "24"),
    Step.RECORD_INSPECTION: (Body.COMMERCE, "22"),
    Step.REPORT_RECTIFICATION: (Body.ENTERPRISE, "22"),
    Step.VERIFY_RECTIFICATION: (Body.COMMERCE, "22"),
}

# Steps more than one body may take, each within its remit.
FILING_BODIES: frozenset[Body] = frozenset({Body.MARKET, Body.CUSTOMS_GZ, Body.CUSTOMS_HP, Body.MSA, Body.BORDER})
TERMINATION_PROPOSERS: dict[str, frozenset[Body]] = {
    "2": frozenset({Body.MARKET}),  # business licence invalid, revoked, cancelled, or scope lost
    "3": frozenset({Body.DISTRICT, Body.COMMERCE}),  # Art. 5 / 7 no longer met
    "4": frozenset({Body.DISTRICT, Body.COMMERCE}),  # other legal causes, basis written down
}


class NotAuthorised(Exception):
    """The actor is not the body the measures name for this step."""


def authorise(actor: Actor, step: Step, *, district: District, credit_code: str, agency: Body | None = None,
              cause: str | None = None) -> None:
    """Raise NotAuthorised unless `actor` may take `step` on the file of `credit_code` in `district`."""
    if step is Step.CONFIRM_FILING:
        if actor.body not in FILING_BODIES or actor.body is not agency:
            raise NotAuthorised(f"{actor.code} may not confirm the {agency} filing: each body confirms its own (Art. 13)")
        return
    if step is Step.PROPOSE_TERMINATION:
        allowed = TERMINATION_PROPOSERS.get(cause or "", frozenset())
        if actor.body not in allowed:
            raise NotAuthorised(f"{actor.code} may not propose termination under Art. 25({cause})")
        if actor.body is Body.DISTRICT and actor.district is not district:
            raise NotAuthorised(f"{actor.code} may not act on a file of district:{district.value} (Art. 25)")
        return
    if step is Step.JOINT_REVIEW:
        if agency not in JOINT_REVIEW_PANEL or actor.body is not agency:
            raise NotAuthorised(
                f"{actor.code} may not give the {agency} joint review: each panel member gives only its own (Art. 10)"
            )
        return
    body, article = _BY_STEP[step]
    where = f"Art. {article}" if not article.startswith("ALL") else article
    if actor.body is not body:
        raise NotAuthorised(f"{actor.code} may not {step.value.replace('_', ' ')}: only {body.value} may ({where})")
    if body is Body.DISTRICT and actor.district is not district:
        raise NotAuthorised(f"{actor.code} may not act on a file of district:{district.value} ({where})")
    if body is Body.ENTERPRISE and actor.credit_code != credit_code:
        raise NotAuthorised(f"{actor.code} may act only on its own application ({where})")
