"""Domain events: what the procedure decided, each naming the article it applies.

Workflows decide events; an activity appends them to the event store. The catalogue below is the single
place where an event type is tied to its article, so no event can be recorded without one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventType(StrEnum):
    APPLICATION_RECEIVED = "ApplicationReceived"
    APPLICATION_REFUSED_AT_INTAKE = "ApplicationRefusedAtIntake"
    DEEMED_ACCEPTED = "DeemedAccepted"
    ACCEPTED = "Accepted"
    CORRECTIONS_NOTIFIED = "CorrectionsNotified"
    CORRECTIONS_SUBMITTED = "CorrectionsSubmitted"
    FALSE_MATERIALS_FOUND = "FalseMaterialsFound"
    APPLICANT_BANNED = "ApplicantBanned"
    PRELIMINARY_REVIEW_GIVEN = "PreliminaryReviewGiven"
    JOINT_REVIEW_OPENED = "JointReviewOpened"
    AGENCY_REVIEW_GIVEN = "AgencyReviewGiven"
    AGENCY_QUESTION_ASKED = "AgencyQuestionAsked"
    AGENCY_QUESTION_ANSWERED = "AgencyQuestionAnswered"
    SUBMITTED_TO_GOVERNMENT = "SubmittedToGovernment"
    DECISION_CLOCK_PAUSED = "DecisionClockPaused"
    DECISION_CLOCK_RESUMED = "DecisionClockResumed"
    DECISION_DEADLINE_EXTENDED = "DecisionDeadlineExtended"
    APPROVED = "Approved"
    REFUSED = "Refused"
    WITHDRAWN = "Withdrawn"
    DEADLINE_REMINDER = "DeadlineReminder"
    DEADLINE_ESCALATED = "DeadlineEscalated"
    DEADLINE_OVERDUE = "DeadlineOverdue"
    DEADLINES_RECOMPUTED = "DeadlinesRecomputed"
    # The permit in force (Art. 13-17, 23-25; ALL 44, 50).
    PERMIT_IN_FORCE = "PermitInForce"
    PERMIT_DOCUMENT_ISSUED = "PermitDocumentIssued"
    FILING_CONFIRMED = "FilingConfirmed"
    FILING_REMINDER = "FilingReminder"
    EXPIRY_REMINDER = "ExpiryReminder"
    RENEWAL_APPLIED = "RenewalApplied"
    RENEWAL_REFUSED_AS_LATE = "RenewalRefusedAsLate"
    RENEWAL_APPROVED = "RenewalApproved"
    RENEWAL_REFUSED = "RenewalRefused"
    DEEMED_RENEWED = "DeemedRenewed"
    VALIDITY_RENEWED = "ValidityRenewed"
    CHANGE_APPLIED = "ChangeApplied"
    CHANGE_APPROVED = "ChangeApproved"
    CHANGE_REFUSED = "ChangeRefused"
    DOCUMENT_EXPIRY_WARNING = "DocumentExpiryWarning"
    DOCUMENT_REPLACED = "DocumentReplaced"
    CONDITIONS_NO_LONGER_MET = "ConditionsNoLongerMet"
    DORMANCY_DETECTED = "DormancyDetected"
    DORMANCY_REPORTED = "DormancyReported"
    SUPPLIES_RESUMED = "SuppliesResumed"
    TERMINATION_PROPOSED = "TerminationProposed"
    TERMINATION_REVIEWED = "TerminationReviewed"
    TERMINATION_REPORTED = "TerminationReported"
    TERMINATED = "Terminated"
    TERMINATION_DECLINED = "TerminationDeclined"
    REVOCATION_REPORTED = "RevocationReported"
    REVOKED = "Revoked"
    REVOCATION_DECLINED = "RevocationDeclined"
    # Supervision (Art. 20-22, 26).
    INSPECTION_RECORDED = "InspectionRecorded"
    RECTIFICATION_ORDERED = "RectificationOrdered"
    RECTIFICATION_REPORTED = "RectificationReported"
    RECTIFICATION_VERIFIED = "RectificationVerified"
    RECTIFICATION_FAILED = "RectificationFailed"


# The article (of the measures, or "ALL n" for the Administrative Licensing Law) each event applies.
ARTICLE: dict[EventType, str] = {
    EventType.APPLICATION_RECEIVED: "9",
    EventType.APPLICATION_REFUSED_AT_INTAKE: "24",
    EventType.DEEMED_ACCEPTED: "9",
    EventType.ACCEPTED: "9",
    EventType.CORRECTIONS_NOTIFIED: "9",
    EventType.CORRECTIONS_SUBMITTED: "9",
    EventType.FALSE_MATERIALS_FOUND: "24",
    EventType.APPLICANT_BANNED: "24",
    EventType.PRELIMINARY_REVIEW_GIVEN: "9",
    EventType.JOINT_REVIEW_OPENED: "10",
    EventType.AGENCY_REVIEW_GIVEN: "10",
    EventType.AGENCY_QUESTION_ASKED: "10",
    EventType.AGENCY_QUESTION_ANSWERED: "10",
    EventType.SUBMITTED_TO_GOVERNMENT: "10",
    EventType.DECISION_CLOCK_PAUSED: "ALL 45",
    EventType.DECISION_CLOCK_RESUMED: "ALL 45",
    EventType.DECISION_DEADLINE_EXTENDED: "12",
    EventType.APPROVED: "11",
    EventType.REFUSED: "11",
    EventType.WITHDRAWN: "ALL 32",
    EventType.DEADLINE_REMINDER: "ALL 42",
    EventType.DEADLINE_ESCALATED: "ALL 42",
    EventType.DEADLINE_OVERDUE: "12",
    EventType.DEADLINES_RECOMPUTED: "ALL 82",
    EventType.PERMIT_IN_FORCE: "11",
    EventType.PERMIT_DOCUMENT_ISSUED: "ALL 44",
    EventType.FILING_CONFIRMED: "13",
    EventType.FILING_REMINDER: "13",
    EventType.EXPIRY_REMINDER: "14",
    EventType.RENEWAL_APPLIED: "14",
    EventType.RENEWAL_REFUSED_AS_LATE: "14",
    EventType.RENEWAL_APPROVED: "14",
    EventType.RENEWAL_REFUSED: "14",
    EventType.DEEMED_RENEWED: "ALL 50",
    EventType.VALIDITY_RENEWED: "14",
    EventType.CHANGE_APPLIED: "15",
    EventType.CHANGE_APPROVED: "15",
    EventType.CHANGE_REFUSED: "15",
    EventType.DOCUMENT_EXPIRY_WARNING: "7",
    EventType.DOCUMENT_REPLACED: "7",
    EventType.CONDITIONS_NO_LONGER_MET: "25",
    EventType.DORMANCY_DETECTED: "23",
    EventType.DORMANCY_REPORTED: "23",
    EventType.SUPPLIES_RESUMED: "23",
    EventType.TERMINATION_PROPOSED: "25",
    EventType.TERMINATION_REVIEWED: "25",
    EventType.TERMINATION_REPORTED: "25",
    EventType.TERMINATED: "25",
    EventType.TERMINATION_DECLINED: "25",
    EventType.REVOCATION_REPORTED: "24",
    EventType.REVOKED: "24",
    EventType.REVOCATION_DECLINED: "24",
    EventType.INSPECTION_RECORDED: "22",
    EventType.RECTIFICATION_ORDERED: "22",
    EventType.RECTIFICATION_REPORTED: "22",
    EventType.RECTIFICATION_VERIFIED: "22",
    EventType.RECTIFICATION_FAILED: "22",
}


class DomainEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: EventType
    article: str
    actor: str
    occurred_at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


def event(type_: EventType, actor: str, occurred_at: datetime, article: str | None = None, **data: Any) -> DomainEvent:
    """Build an event; its article comes from the catalogue unless a more precise one is given."""
    return DomainEvent(type=type_, article=article or ARTICLE[type_], actor=actor, occurred_at=occurred_at, data=data)
