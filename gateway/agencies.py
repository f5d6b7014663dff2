"""The agencies' systems: their inbox of open steps, and the decision that completes each step.

A task id is `<application>/<kind>` or, for a panel agency's review, `<application>/joint_review/<agency>`.
A decision is a Temporal update on `application/<application>`; the `Idempotency-Key` header is required
and makes a retried POST apply once and answer the same (gateway/idempotency.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal

import asyncpg
from fastapi import APIRouter, Body as BodyParam, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from domain.authority import Step
from domain.bodies import JOINT_REVIEW_PANEL, Body
from gateway import access, deps
from gateway.access import ApplicationId
from gateway.auth import Caller, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError, invalid
from gateway.idempotency import RequiredKey
from gateway.updates import message, request_model, take_step
from gateway.views import StepAnswer, TaskView
from workflows.licensing import PermitApplication
from workflows.licensing_messages import (
    Accept, Decide, ExtendDeadline, FalseMaterials, Message, NotifyCorrections, PauseClock, PreliminaryOpinion,
    ResumeClock, ReviewDecision, Submission,
)

router = APIRouter(tags=["agencies"])


# ---------------------------------------------------------------- what each kind of task takes
@dataclass(frozen=True)
class Action:
    step: Step
    update: Callable[..., Any]
    message: type[Message]


_ACTIONS: dict[str, Action] = {
    "accept": Action(Step.ACCEPT, PermitApplication.accept, Accept),
    "notify_corrections": Action(Step.NOTIFY_CORRECTIONS, PermitApplication.notify_corrections, NotifyCorrections),
    "false_materials": Action(Step.FIND_FALSE_MATERIALS, PermitApplication.find_false_materials, FalseMaterials),
    "preliminary_review": Action(Step.PRELIMINARY_REVIEW, PermitApplication.preliminary_review, PreliminaryOpinion),
    "joint_review": Action(Step.JOINT_REVIEW, PermitApplication.joint_review, ReviewDecision),
    "submit_to_government": Action(Step.SUBMIT_TO_GOVERNMENT, PermitApplication.submit_to_government, Submission),
    "decide": Action(Step.DECIDE, PermitApplication.decide, Decide),
}

# Art. 9: the district's completeness decision is one of three acts, named by `action`.
CompletenessDecision = Annotated[
    request_model(Accept, "AcceptDecision", action=(Literal["accept"], ...))
    | request_model(NotifyCorrections, "NotifyCorrectionsDecision", action=(Literal["notify_corrections"], ...))
    | request_model(FalseMaterials, "FalseMaterialsDecision", action=(Literal["false_materials"], ...)),
    Field(discriminator="action"),
]
_BODIES: dict[str, TypeAdapter] = {
    "completeness": TypeAdapter(CompletenessDecision),
    "preliminary_review": TypeAdapter(request_model(PreliminaryOpinion, "PreliminaryReviewDecision")),
    "joint_review": TypeAdapter(request_model(ReviewDecision, "JointReviewDecision", exclude=("agency",))),
    "submit_to_government": TypeAdapter(request_model(Submission, "SubmissionDecision")),
    "decide": TypeAdapter(request_model(Decide, "GovernmentDecision")),
}
# Checked before the body is read: every completeness act is the district's (Art. 9, 24).
_PRECHECK = {"completeness": Step.ACCEPT} | {k: _ACTIONS[k].step for k in _BODIES if k != "completeness"}

_EXAMPLES = {
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
}


@dataclass(frozen=True)
class Task:
    application_id: str
    kind: str
    agency: Body | None
    row: asyncpg.Record


def _parse(task_id: str) -> tuple[str, str, Body | None]:
    unknown = ApiError(404, "not_found", f"no task {task_id} takes a decision here (kinds: {', '.join(_BODIES)})")
    application_id, _, rest = task_id.partition("/")
    kind, _, agency = rest.partition("/")
    if kind not in _BODIES or bool(agency) != (kind == "joint_review"):
        raise unknown
    if kind != "joint_review":
        return application_id, kind, None
    panel = {b.value: b for b in JOINT_REVIEW_PANEL}
    if agency not in panel:
        raise unknown
    return application_id, kind, panel[agency]


async def _task(request: Request, who: Caller,
                task_id: Annotated[str, Path(description="e.g. BB-2026-000001/joint_review/customs_gz")]) -> Task:
    application_id, kind, agency = _parse(task_id)
    row = await access.acting(request, who, application_id, _PRECHECK[kind], agency)
    return Task(application_id, kind, agency, row)


# ---------------------------------------------------------------- routes
class Inbox(BaseModel):
    body: str
    tasks: list[TaskView]


@router.get("/inbox", response_model=Inbox, responses=ERROR_RESPONSES)
async def inbox(request: Request, who: Caller, kind: str | None = None) -> Inbox:
    """The open steps waiting on the caller's body (a district sees its own district's), soonest deadline
    first. `due_date` is the last day (until 24:00 Asia/Shanghai, `ends_at`); `provisional` when the year's
    holiday schedule is not yet official. Enterprises see their own open steps (corrections, answers)."""
    require_kind(request, who, "agency", "enterprise", what="have an inbox")
    rows = await deps.pool(request).fetch(
        """SELECT t.*, p.enterprise_name FROM tasks t LEFT JOIN permits p USING (stream_id)
           WHERE t.body = $1 AND ($2::text IS NULL OR t.kind = $2) ORDER BY t.ends_at NULLS LAST, t.task_id""",
        who.code, kind,
    )
    return Inbox(body=who.code, tasks=[TaskView.of(r) for r in rows])


@router.post("/tasks/{task_id:path}/decision", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def decide_task(request: Request, who: Caller, task: Annotated[Task, Depends(_task)], key: RequiredKey,
                      body: Annotated[dict[str, Any], BodyParam(openapi_examples=_EXAMPLES)]) -> JSONResponse:
    """Complete a step. The body depends on the task's kind:

    - `completeness` (district): `{"action": "accept"}` · `{"action": "notify_corrections", "items": [finding…]}`
      (the findings of the assessment are always included) · `{"action": "false_materials", "reason": "…"}`
    - `preliminary_review` (district): `{"favourable": true, "opinion": "…"}`
    - `joint_review/<agency>` (that agency): `{"decision": "approve" | "object" | "question", "reasons": "…"}`
      (an objection needs reasons; a question goes to the applicant, whose answer reopens the review)
    - `submit_to_government` (commerce): `{"recommendation": "approve" | "refuse", "consolidated_opinion": "…"}`
    - `decide` (municipal_gov): `{"approve": true | false, "reasons": "…"}` (a refusal needs reasons)
    """
    try:
        parsed = _BODIES[task.kind].validate_python(body)
    except ValidationError as e:
        raise invalid(e) from None
    action = _ACTIONS[getattr(parsed, "action", task.kind)]
    fields = {k: v for k, v in parsed if k != "action"} | ({"agency": task.agency} if task.agency else {})
    access.check(request, who, task.row, action.step, task.agency)
    msg = message(action.message, fields, who, key)
    return await take_step(request, who, task.row, action.update, msg, key)


PauseRequest = request_model(PauseClock, "PauseClockRequest")
ExtensionRequest = request_model(ExtendDeadline, "ExtensionRequest")
PausedFile = access.acting_on(Step.PAUSE_CLOCK)
ResumedFile = access.acting_on(Step.RESUME_CLOCK)
ExtendedFile = access.acting_on(Step.EXTEND_DEADLINE)


@router.post("/applications/{application_id}/clock/pause", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def pause_clock(request: Request, who: Caller, application_id: ApplicationId, row: PausedFile,
                      key: RequiredKey, body: PauseRequest) -> JSONResponse:
    """ALL 45 (commerce): time for a hearing, testing, inspection or expert review is not counted."""
    msg = message(PauseClock, dict(body), who, key)
    return await take_step(request, who, row, PermitApplication.pause_clock, msg, key)


@router.post("/applications/{application_id}/clock/resume", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def resume_clock(request: Request, who: Caller, application_id: ApplicationId, row: ResumedFile,
                       key: RequiredKey) -> JSONResponse:
    """ALL 45 (commerce): the decision deadline moves by the working days the clock was paused."""
    msg = message(ResumeClock, {}, who, key)
    return await take_step(request, who, row, PermitApplication.resume_clock, msg, key)


@router.post("/applications/{application_id}/extension", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def extend_deadline(request: Request, who: Caller, application_id: ApplicationId, row: ExtendedFile,
                          key: RequiredKey, body: ExtensionRequest) -> JSONResponse:
    """Art. 12 (municipal_gov): once, by 10 working days, with the approval of the government's head."""
    msg = message(ExtendDeadline, dict(body), who, key)
    return await take_step(request, who, row, PermitApplication.extend_deadline, msg, key)
