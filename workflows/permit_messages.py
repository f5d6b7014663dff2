"""What the permit workflow carries from run to run, what it is told, and what it answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.application import Application, HeldDocument
from domain.bodies import Body
from domain.changes import ChangeKind
from workflows.licensing_messages import DeadlineView, Message

PermitStatusCode = Literal["in_force", "terminated", "revoked"]


class TerminationCase(BaseModel):
    """Art. 25: district review → commerce report → government decision, each recorded."""

    cause: Literal["1", "2", "3", "4"]
    basis: str
    proposed_by: str
    step: Literal["termination_review", "termination_report", "decide_termination"] = "termination_review"


class RevocationCase(BaseModel):
    """Art. 24: commerce reports, the government revokes."""

    ground: Literal["ineligible", "deception", "fraud_or_bribery"]
    basis: str


class InspectionItem(BaseModel):
    """One of the four items of Art. 22, automated where the data allows, with the inspector's findings."""

    item: Literal[1, 2, 3, 4]  # (1) last year's operations (2) operating information (3) licences valid (4) violations
    outcome: Literal["ok", "breach", "not_assessed"]
    summary: str
    findings: list[str] = Field(default_factory=list)


class InspectionReport(Message):
    year: int = Field(ge=2022, le=2100)
    campaign_id: str
    items: list[InspectionItem] = Field(min_length=4, max_length=4)
    inspector: str = Field(min_length=1)


class RectificationOrder(BaseModel):
    """Art. 22: 责令限期整改 — the breaches, the time limit, and what became of it."""

    year: int
    breaches: list[str]
    cause: Literal["3", "4"]  # the Art. 25 cause an unrectified breach would be proposed under
    deadline: DeadlineView
    reported: str | None = None


class PermitState(BaseModel):
    """Everything a run hands to the next one when it continues as new."""

    status: PermitStatusCode = "in_force"
    valid_from: date
    valid_until: date
    renewal_granted: tuple[date, date] | None = None  # the next term, starting the day after valid_until
    document_issued: bool = False
    document_deadline: DeadlineView | None = None
    filings: dict[str, bool] = Field(default_factory=dict)  # body → confirmed (Art. 13)
    filing_reminders: int = 0
    expiry_reminders_sent: list[int] = Field(default_factory=list)  # days before expiry, this term
    warned_documents: list[str] = Field(default_factory=list)
    dormant: bool = False
    dormant_since: datetime | None = None
    dormancy_reported: bool = False
    termination: TerminationCase | None = None
    revocation: RevocationCase | None = None
    inspected_years: list[int] = Field(default_factory=list)
    rectification: RectificationOrder | None = None
    runs: int = 1


class PermitInput(BaseModel):
    application_id: str
    permit_number: str
    application: Application  # the approved matters, as changed under Art. 15
    policy_version: str
    journal_version: int
    state: PermitState
    # Continue as new well before Temporal's suggestion (4,096 events), so a run's history stays small.
    history_limit: int = Field(default=1500, ge=100)


class IssueDocument(Message):
    document_no: str = Field(min_length=1)


class ConfirmFiling(Message):
    body: Body
    reference: str = Field(min_length=1, description="the filing's number at the confirming body")


class ApplyRenewal(Message):
    application: Application


class ApplyChange(Message):
    change: ChangeKind
    description: str = Field(min_length=1)
    application: Application  # the approved matters as they would be after the change


class ReplaceDocument(Message):
    document: HeldDocument


class ReportDormancy(Message):
    remarks: str = ""


class ProposeTermination(Message):
    cause: Literal["2", "3", "4"]
    basis: str = Field(min_length=1, description="the facts and, for (4), the legal basis")


class TerminationReview(Message):
    agree: bool
    opinion: str = Field(min_length=1)


class TerminationReport(Message):
    recommend: bool
    report: str = Field(min_length=1)


class TerminationDecision(Message):
    terminate: bool
    reasons: str = Field(min_length=1)


class RevocationReport(Message):
    ground: Literal["ineligible", "deception", "fraud_or_bribery"]
    basis: str = Field(min_length=1)


class RevocationDecision(Message):
    revoke: bool
    reasons: str = Field(min_length=1)


class RectificationReport(Message):
    description: str = Field(min_length=1)


class RectificationVerdict(Message):
    rectified: bool
    remarks: str = Field(min_length=1)


class SuppliesResumed(BaseModel):
    """Sent once per dormancy episode by the ledger, never per ledger row."""

    at: datetime


class PermitStatus(BaseModel):
    application_id: str
    permit_number: str
    status: PermitStatusCode
    stage: str
    valid_from: date
    valid_until: date
    renewal_granted: tuple[date, date] | None
    next_deadline: DeadlineView | None
    pending: list[str]
    filings: dict[str, bool]
    dormant: bool
    procedure: str | None
    procedure_stage: str | None
    termination: TerminationCase | None
    policy_version: str
    runs: int
    documents: list[HeldDocument] = Field(default_factory=list)  # held now (Art. 7), for Art. 22(3)
    application: Application | None = None  # the approved matters as they stand (changes applied)
    procedure_deadlines: list[DeadlineView] = Field(default_factory=list)  # of the open renewal or change
    rectification: RectificationOrder | None = None
    inspected_years: list[int] = Field(default_factory=list)
