"""What each kind of task in an inbox takes: the step (domain/authority.py), the workflow update, the
message, and the body its decision is posted with (gateway/agencies.py routes it).

A task id is `<file>/<kind>`, or `<file>/<kind>/<body>` for the steps several bodies take side by side:
a panel agency's joint review (Art. 10) and a filing body's confirmation (Art. 13). A renewal or change
of a permit in force (Art. 14, 15) runs the application's procedure again, so its tasks are the
application's kinds, on the same file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

from pydantic import Field, TypeAdapter

from domain.authority import FILING_BODIES, Step
from domain.bodies import JOINT_REVIEW_PANEL, Body
from gateway.updates import request_model
from workflows.licensing import PermitApplication
from workflows.licensing_messages import (
    Accept, Decide, FalseMaterials, Message, NotifyCorrections, PreliminaryOpinion, ReviewDecision, Submission,
)
from workflows.permit import Permit
from workflows.permit_messages import (
    ConfirmFiling, IssueDocument, RectificationVerdict, ReportDormancy, RevocationDecision, TerminationDecision,
    TerminationReport, TerminationReview,
)


@dataclass(frozen=True)
class Action:
    step: Step
    update: Callable[..., Any]
    message: type[Message]


@dataclass(frozen=True)
class PerBody:
    """A kind of task several bodies take side by side: the bodies the task id may name, and the message
    field the named body goes into."""

    bodies: frozenset[Body]
    field: str


ACTIONS: dict[str, Action] = {
    # The application's procedure, and a permit's renewal or change (the Permit workflow routes these
    # updates to the procedure under way).
    "accept": Action(Step.ACCEPT, PermitApplication.accept, Accept),
    "notify_corrections": Action(Step.NOTIFY_CORRECTIONS, PermitApplication.notify_corrections, NotifyCorrections),
    "false_materials": Action(Step.FIND_FALSE_MATERIALS, PermitApplication.find_false_materials, FalseMaterials),
    "preliminary_review": Action(Step.PRELIMINARY_REVIEW, PermitApplication.preliminary_review, PreliminaryOpinion),
    "joint_review": Action(Step.JOINT_REVIEW, PermitApplication.joint_review, ReviewDecision),
    "submit_to_government": Action(Step.SUBMIT_TO_GOVERNMENT, PermitApplication.submit_to_government, Submission),
    "decide": Action(Step.DECIDE, PermitApplication.decide, Decide),
    # The permit in force.
    "issue_permit_document": Action(Step.ISSUE_DOCUMENT, Permit.issue_permit_document, IssueDocument),
    "confirm_filing": Action(Step.CONFIRM_FILING, Permit.confirm_filing, ConfirmFiling),
    "report_dormancy": Action(Step.REPORT_DORMANCY, Permit.report_dormancy, ReportDormancy),
    "termination_review": Action(Step.TERMINATION_REVIEW, Permit.termination_review, TerminationReview),
    "termination_report": Action(Step.TERMINATION_REPORT, Permit.termination_report, TerminationReport),
    "decide_termination": Action(Step.DECIDE_TERMINATION, Permit.decide_termination, TerminationDecision),
    "decide_revocation": Action(Step.DECIDE_REVOCATION, Permit.decide_revocation, RevocationDecision),
    "verify_rectification": Action(Step.VERIFY_RECTIFICATION, Permit.verify_rectification, RectificationVerdict),
}

PER_BODY: dict[str, PerBody] = {
    "joint_review": PerBody(frozenset(JOINT_REVIEW_PANEL), "agency"),
    "confirm_filing": PerBody(FILING_BODIES, "body"),
}

# Tasks only a permit in force has.
PERMIT_KINDS = frozenset({"issue_permit_document", "confirm_filing", "report_dormancy", "termination_review",
                          "termination_report", "decide_termination", "decide_revocation", "verify_rectification"})

# Art. 9: the district's completeness decision is one of three acts, named by `action`.
CompletenessDecision = Annotated[
    request_model(Accept, "AcceptDecision", action=(Literal["accept"], ...))
    | request_model(NotifyCorrections, "NotifyCorrectionsDecision", action=(Literal["notify_corrections"], ...))
    | request_model(FalseMaterials, "FalseMaterialsDecision", action=(Literal["false_materials"], ...)),
    Field(discriminator="action"),
]


def _body(kind: str, name: str) -> TypeAdapter:
    per_body = PER_BODY.get(kind)
    return TypeAdapter(request_model(ACTIONS[kind].message, name, exclude=(per_body.field,) if per_body else ()))


# The body of each kind of task's decision (task kind → its request).
BODIES: dict[str, TypeAdapter] = {
    "completeness": TypeAdapter(CompletenessDecision),
    "preliminary_review": _body("preliminary_review", "PreliminaryReviewDecision"),
    "joint_review": _body("joint_review", "JointReviewDecision"),
    "submit_to_government": _body("submit_to_government", "SubmissionDecision"),
    "decide": _body("decide", "GovernmentDecision"),
    "issue_permit_document": _body("issue_permit_document", "PermitDocumentDecision"),
    "confirm_filing": _body("confirm_filing", "FilingConfirmation"),
    "report_dormancy": _body("report_dormancy", "DormancyReport"),
    "termination_review": _body("termination_review", "TerminationReviewDecision"),
    "termination_report": _body("termination_report", "TerminationReportDecision"),
    "decide_termination": _body("decide_termination", "TerminationGovernmentDecision"),
    "decide_revocation": _body("decide_revocation", "RevocationGovernmentDecision"),
    "verify_rectification": _body("verify_rectification", "RectificationVerification"),
}

# Checked before the body is read: every completeness act is the district's (Art. 9, 24).
PRECHECK: dict[str, Step] = {"completeness": Step.ACCEPT} | {k: ACTIONS[k].step for k in BODIES if k != "completeness"}

EXAMPLES: dict[str, dict[str, Any]] = {
    "accept": {"summary": "completeness: accept (Art. 9)", "value": {"action": "accept"}},
    "notify_corrections": {"summary": "completeness: one notice of all corrections (Art. 9)",
                           "value": {"action": "notify_corrections", "items": []}},
    "false_materials": {"summary": "completeness: false materials (Art. 24)",
                        "value": {"action": "false_materials", "reason": "伪造油罐租赁合同 / forged tank lease"}},
    "preliminary_review": {"summary": "preliminary review (Art. 9)",
                           "value": {"favourable": True, "opinion": "符合条件 / meets the conditions"}},
    "joint_review": {"summary": "joint review (Art. 10): approve, object or question",
                     "value": {"decision": "approve", "reasons": ""}},
    "submit_to_government": {"summary": "commerce submits (Art. 10)",
                             "value": {"recommendation": "approve", "consolidated_opinion": "各部门均同意"}},
    "decide": {"summary": "the government decides (Art. 11)", "value": {"approve": True, "reasons": ""}},
    "issue_permit_document": {"summary": "commerce issues the permit document (ALL 44)",
                              "value": {"document_no": "穗商务许〔2026〕12号"}},
    "confirm_filing": {"summary": "a body confirms the enterprise's filing (Art. 13)",
                       "value": {"reference": "NS-BA-2026-0031"}},
    "report_dormancy": {"summary": "the district reports 6 months without supply (Art. 23)",
                        "value": {"remarks": "企业停业整顿 / operations suspended"}},
    "termination_review": {"summary": "the district reviews a termination (Art. 25)",
                           "value": {"agree": True, "opinion": "情况属实 / the facts are confirmed"}},
    "termination_report": {"summary": "commerce reports to the government (Art. 25)",
                           "value": {"recommend": True, "report": "建议终止 / termination recommended"}},
    "decide_termination": {"summary": "the government terminates, or declines (Art. 25)",
                           "value": {"terminate": True, "reasons": "不再具备第五条条件"}},
    "decide_revocation": {"summary": "the government revokes, or declines (Art. 24)",
                          "value": {"revoke": True, "reasons": "以欺骗手段取得许可"}},
    "verify_rectification": {"summary": "commerce verifies a rectification (Art. 22)",
                             "value": {"rectified": True, "remarks": "已整改完毕 / rectified"}},
}
