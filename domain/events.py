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
