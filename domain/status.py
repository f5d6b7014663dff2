"""What the read model shows of a permit: the snapshot a workflow hands over with its events."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict


class OpenTask(BaseModel):
    """A step waiting on one body: what its inbox shows."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    body: str  # actor code: 'district:nansha', 'customs_gz', 'enterprise:<credit code>'
    kind: str
    label: str
    due_date: date | None = None
    ends_at: datetime | None = None
    provisional: bool | None = None


class StatusSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: str = "application"
    status: str
    stage: str | None = None
    enterprise_name: str | None = None
    credit_code: str | None = None
    district: str | None = None
    permit_number: str | None = None
    policy_version: str | None = None
    workflow_id: str | None = None
    next_deadline_at: datetime | None = None
    next_deadline_label: str | None = None
    next_deadline_provisional: bool | None = None
    pending: list[str] = []
    valid_from: date | None = None
    valid_until: date | None = None
    tasks: list[OpenTask] = []
    dormant: bool = False  # Art. 23
    dormant_since: datetime | None = None
