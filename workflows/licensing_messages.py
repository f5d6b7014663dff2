"""What the licensing workflow is started with, what it is told, and what it answers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.application import Application
from domain.authority import Actor
from domain.bodies import Body
from domain.findings import Finding
from domain.text import refuse_nul


class LicensingInput(BaseModel):
    application_id: str
    application: Application
    received_at: datetime
    policy_version: str


class ProcedureKind(StrEnum):
    APPLICATION = "application"  # Art. 9-12
    RENEWAL = "renewal"  # Art. 14
    CHANGE = "change"  # Art. 15


class Stage(StrEnum):
    COMPLETENESS = "completeness"  # Art. 9: district checks the materials
    CORRECTIONS = "awaiting_corrections"  # Art. 9: the applicant corrects
    PRELIMINARY_REVIEW = "preliminary_review"  # Art. 9
    JOINT_REVIEW = "joint_review"  # Art. 10
    SUBMISSION = "submission"  # Art. 10: commerce to the government
    DECISION = "decision"  # Art. 11–12
    APPROVED = "approved"
    REFUSED = "refused"
    NOT_ACCEPTED = "not_accepted"  # Art. 24 false materials
    WITHDRAWN = "withdrawn"
    DEEMED_RENEWED = "deemed_renewed"  # ALL 50: no decision before expiry


CLOSED_STAGES = {Stage.APPROVED, Stage.REFUSED, Stage.NOT_ACCEPTED, Stage.WITHDRAWN, Stage.DEEMED_RENEWED}


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)
    _no_nul = model_validator(mode="before")(staticmethod(refuse_nul))  # any way in, not only the gateway

    actor: Actor
    idempotency_key: str | None = None


class Accept(Message):
    pass


class NotifyCorrections(Message):
    items: list[Finding] = Field(default_factory=list, description="extra items the officer adds to the findings")


class FalseMaterials(Message):
    reason: str = Field(min_length=1)


class SubmitCorrections(Message):
    application: Application


class PreliminaryOpinion(Message):
    favourable: bool
    opinion: str = Field(min_length=1)


class ReviewDecision(Message):
    agency: Body
    decision: Literal["approve", "object", "question"]
    reasons: str = ""


class AnswerQuestion(Message):
    agency: Body
    answer: str = Field(min_length=1)


class Submission(Message):
    recommendation: Literal["approve", "refuse"]
    consolidated_opinion: str = Field(min_length=1)


class PauseClock(Message):
    cause: Literal["hearing", "testing", "inspection", "expert_review"]
    expected_workdays: int = Field(ge=1, le=120)
    reason: str = Field(min_length=1)


class ResumeClock(Message):
    pass


class ExtendDeadline(Message):
    approver: str = Field(min_length=1, description="the government head who approved the extension (Art. 12)")
    reason: str = Field(min_length=1)


class Decide(Message):
    approve: bool
    reasons: str = ""


class Withdraw(Message):
    reason: str = ""


class Outcome(BaseModel):
    """The answer to an update: what now stands (a repeated decision gets the one that stands)."""

    applied: bool
    stage: str  # the procedure's stage, or the permit's
    detail: str = ""


class DeadlineView(BaseModel):
    label: str
    due_date: date
    ends_at: datetime
    provisional: bool
    state: Literal["open", "met", "overdue", "paused"] = "open"
    # How it was computed, so it can be recomputed when an official holiday schedule is loaded.
    start: date | None = None
    workdays: int | None = None


class LicensingStatus(BaseModel):
    application_id: str
    stage: Stage
    accepted_on: date | None
    next_deadline: DeadlineView | None
    deadlines: list[DeadlineView]
    pending: list[str]
    findings: list[Finding]
    reviews: dict[str, str]
    permit_number: str | None
    valid_from: date | None
    valid_until: date | None
    policy_version: str
