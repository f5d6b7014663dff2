"""The agencies' systems: their inbox of open steps, and the decision that completes each step.

A task id is `<application>/<kind>` or, for a panel agency's review or a filing body's confirmation,
`<application>/joint_review/<agency>`, `<application>/confirm_filing/<body>`; what each kind takes is in
gateway/task_kinds.py. A decision is a Temporal update on `application/<application>` (a permit keeps
that workflow id); the `Idempotency-Key` header is required
and makes a retried POST apply once and answer the same (gateway/idempotency.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Body as BodyParam, Depends, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from domain.authority import Step
from domain.bodies import Body
from gateway import access, deps
from gateway.access import ApplicationId
from gateway.auth import Caller, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError, invalid
from gateway.idempotency import RequiredKey
from gateway.task_kinds import ACTIONS, BODIES, EXAMPLES, PER_BODY, PERMIT_KINDS, PRECHECK
from gateway.updates import message, request_model, take_step
from gateway.views import StepAnswer, TaskView
from workflows.licensing import PermitApplication
from workflows.licensing_messages import ExtendDeadline, PauseClock, ResumeClock

router = APIRouter(tags=["agencies"])


@dataclass(frozen=True)
class Task:
    application_id: str
    kind: str
    agency: Body | None  # the body a per-body task names (`joint_review/customs_gz`, `confirm_filing/msa`)
    row: asyncpg.Record


def _parse(task_id: str) -> tuple[str, str, Body | None]:
    unknown = ApiError(404, "not_found", f"no task {task_id} takes a decision here (kinds: {', '.join(BODIES)})")
    application_id, _, rest = task_id.partition("/")
    kind, _, agency = rest.partition("/")
    per_body = PER_BODY.get(kind)
    if kind not in BODIES or bool(agency) != (per_body is not None):
        raise unknown
    if per_body is None:
        return application_id, kind, None
    named = {b.value: b for b in per_body.bodies}
    if agency not in named:
        raise unknown
    return application_id, kind, named[agency]


async def _task(request: Request, who: Caller,
                task_id: Annotated[str, Path(description="e.g. BB-2026-000001/joint_review/customs_gz")]) -> Task:
    application_id, kind, agency = _parse(task_id)
    row = await access.acting(request, who, application_id, PRECHECK[kind], agency)
    if kind in PERMIT_KINDS and not access.is_permit(row):
        raise access.not_a_permit(row)
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
                      body: Annotated[dict[str, Any], BodyParam(openapi_examples=EXAMPLES)]) -> JSONResponse:
    """Complete a step. The body depends on the task's kind:

    - `completeness` (district): `{"action": "accept"}` · `{"action": "notify_corrections", "items": [finding…]}`
      (the findings of the assessment are always included) · `{"action": "false_materials", "reason": "…"}`
    - `preliminary_review` (district): `{"favourable": true, "opinion": "…"}`
    - `joint_review/<agency>` (that agency): `{"decision": "approve" | "object" | "question", "reasons": "…"}`
      (an objection needs reasons; a question goes to the applicant, whose answer reopens the review)
    - `submit_to_government` (commerce): `{"recommendation": "approve" | "refuse", "consolidated_opinion": "…"}`
    - `decide` (municipal_gov): `{"approve": true | false, "reasons": "…"}` (a refusal needs reasons)

    A renewal (Art. 14) or change (Art. 15) of a permit runs these same steps again, with the same task ids.
    The permit in force (gateway/task_kinds.py):

    - `issue_permit_document` (commerce, ALL 44): `{"document_no": "…"}`
    - `confirm_filing/<body>` (that body: market, customs_gz, customs_hp, msa, border; Art. 13): `{"reference": "…"}`
    - `report_dormancy` (the district, Art. 23): `{"remarks": "…"}`
    - `termination_review` (the district), `termination_report` (commerce), `decide_termination` (municipal_gov),
      Art. 25: `{"agree": bool, "opinion": "…"}` · `{"recommend": bool, "report": "…"}` ·
      `{"terminate": bool, "reasons": "…"}`
    - `decide_revocation` (municipal_gov, Art. 24): `{"revoke": bool, "reasons": "…"}`
    - `verify_rectification` (commerce, Art. 22): `{"rectified": bool, "remarks": "…"}`
    """
    try:
        parsed = BODIES[task.kind].validate_python(body)
    except ValidationError as e:
        raise invalid(e) from None
    action = ACTIONS[getattr(parsed, "action", task.kind)]
    fields = {k: v for k, v in parsed if k != "action"}
    if task.agency is not None:
        fields[PER_BODY[task.kind].field] = task.agency
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
