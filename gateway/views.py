"""What the gateway answers: the read model (`permits`, `tasks`), the event store and live workflow state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel, Field

from bunker.settings import Settings
from domain.calendar import SHANGHAI
from store.event_store import StoredEvent
from workflows.licensing_messages import Outcome


def due_date(ends_at: datetime) -> date:
    """The last day of a period that ends at 24:00 Asia/Shanghai."""
    return (ends_at.astimezone(SHANGHAI) - timedelta(seconds=1)).date()


class Deadline(BaseModel):
    label: str
    due_date: date
    ends_at: datetime
    provisional: bool | None


class FileView(BaseModel):
    """One application or permit as the read model has it (updated with each of its events)."""

    application_id: str
    kind: str
    status: str
    stage: str | None
    enterprise_name: str | None
    credit_code: str | None
    district: str | None
    permit_number: str | None
    policy_version: str | None
    next_deadline: Deadline | None
    pending: list[str]
    valid_from: date | None
    valid_until: date | None
    version: int
    updated_at: datetime
    web_ui: str

    @classmethod
    def of(cls, row: asyncpg.Record, settings: Settings) -> FileView:
        nxt = None
        if row["next_deadline_at"] is not None:
            nxt = Deadline(label=row["next_deadline_label"] or "", due_date=due_date(row["next_deadline_at"]),
                           ends_at=row["next_deadline_at"], provisional=row["next_deadline_provisional"])
        return cls(
            application_id=row["stream_id"], kind=row["kind"], status=row["status"], stage=row["stage"],
            enterprise_name=row["enterprise_name"], credit_code=row["credit_code"], district=row["district"],
            permit_number=row["permit_number"], policy_version=row["policy_version"], next_deadline=nxt,
            pending=list(row["pending"]), valid_from=row["valid_from"], valid_until=row["valid_until"],
            version=row["version"], updated_at=row["updated_at"],
            web_ui=settings.workflow_url(row["workflow_id"] or f"application/{row['stream_id']}"),
        )


class TaskView(BaseModel):
    """A step waiting on one body, with its deadline (the last day, and the instant it ends)."""

    task_id: str
    application_id: str
    body: str
    kind: str
    label: str
    due_date: date | None
    ends_at: datetime | None
    provisional: bool | None
    enterprise_name: str | None = None
    decision_url: str

    @classmethod
    def of(cls, row: asyncpg.Record) -> TaskView:
        return cls(
            task_id=row["task_id"], application_id=row["stream_id"], body=row["body"], kind=row["kind"],
            label=row["label"], due_date=row["due_date"], ends_at=row["ends_at"], provisional=row["provisional"],
            enterprise_name=row.get("enterprise_name"), decision_url=f"/tasks/{row['task_id']}/decision",
        )


class ApplicationView(FileView):
    tasks: list[TaskView]
    live: dict[str, Any] | None = Field(description="the workflow's own `status` query (LicensingStatus while an "
                                        "application); null when Temporal cannot answer, with `live_error`")
    live_error: str | None = None


class EventView(BaseModel):
    version: int
    type: str
    article: str
    actor: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, e: StoredEvent) -> EventView:
        return cls(version=e.version, type=e.event_type, article=e.article, actor=e.actor, occurred_at=e.occurred_at,
                   recorded_at=e.recorded_at, payload=e.payload, hash=e.hash.hex())


class Timeline(BaseModel):
    application_id: str
    events: list[EventView]
    web_ui: str


class RegisterEntry(FileView):
    """A row of the register: the file, with what operators watch (Art. 23 dormancy, late steps)."""

    dormant: bool
    overdue_tasks: int = Field(description="steps of the file waiting past the end of their period")

    @classmethod
    def of(cls, row: asyncpg.Record, settings: Settings) -> RegisterEntry:
        return cls(**FileView.of(row, settings).model_dump(), dormant=row["dormant"],
                   overdue_tasks=row["overdue_tasks"])


class PermitList(BaseModel):
    items: list[RegisterEntry]
    limit: int
    offset: int


class PermitView(FileView):
    """A permit (in force, or how it ended): the read model, its open steps and the workflow's own state."""

    dormant: bool
    dormant_since: datetime | None
    tasks: list[TaskView]
    live: dict[str, Any] | None = Field(description="the Permit workflow's `status` query (PermitStatus: filings, "
                                        "procedure under way, termination case, runs); null when Temporal cannot "
                                        "answer, with `live_error`")
    live_error: str | None = None


class Started(BaseModel):
    application_id: str
    workflow_id: str
    status_url: str
    web_ui: str


class StepAnswer(BaseModel):
    """The answer to a decision: what now stands (a retried decision gets the same answer)."""

    application_id: str
    applied: bool
    stage: str
    detail: str
    web_ui: str

    @classmethod
    def of(cls, application_id: str, outcome: Outcome, settings: Settings) -> StepAnswer:
        return cls(application_id=application_id, applied=outcome.applied, stage=str(outcome.stage),
                   detail=outcome.detail, web_ui=settings.workflow_url(f"application/{application_id}"))
