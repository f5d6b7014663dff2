"""Applications: the enterprise applies, corrects, answers, withdraws; everyone entitled reads the file.

Which files a caller sees is decided in gateway/access.py (an enterprise sees only its own).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from bunker import services
from domain.application import Application
from domain.authority import Step
from domain.calendar import WorkingCalendar
from gateway import access, deps, idempotency
from gateway.access import ApplicationId
from gateway.auth import Caller, refused, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError
from gateway.idempotency import OptionalKey, RequiredKey
from gateway.updates import message, request_model, take_step
from gateway.views import ApplicationView, EventView, FileView, Started, StepAnswer, TaskView, Timeline
from store.event_store import read_stream
from store.principals import Principal
from workflows.licensing import PermitApplication
from workflows.licensing_messages import AnswerQuestion, SubmitCorrections, Withdraw

log = structlog.get_logger()
router = APIRouter(tags=["applications"])

_LIVE_TIMEOUT = timedelta(seconds=2)
_PROJECTION_WAIT = timedelta(seconds=3)


async def enterprise(request: Request, who: Caller) -> Principal:
    require_kind(request, who, "enterprise", what="apply")
    return who


CorrectedFile = access.acting_on(Step.SUBMIT_CORRECTIONS)
QuestionedFile = access.acting_on(Step.ANSWER_QUESTION)
WithdrawnFile = access.acting_on(Step.WITHDRAW)
WithdrawRequest = request_model(Withdraw, "WithdrawRequest")
AnswerRequest = request_model(AnswerQuestion, "AnswerRequest")


@router.post("/applications", status_code=201, response_model=Started, responses=ERROR_RESPONSES)
async def submit(request: Request, who: Annotated[Principal, Depends(enterprise)], application: Application,
                 key: OptionalKey) -> JSONResponse:
    """Art. 9: apply in writing to the district. Only for the caller's own credit code; an applicant under an
    Art. 24 ban is refused with 409 `banned` and the ban's end date. With an `Idempotency-Key`, a retry
    gets the same file and starts nothing: the first answer (`Idempotent-Replayed: true`), or, if the first
    attempt failed or was cut off after it had started the file, that file (also `Idempotent-Replayed`)."""
    if application.enterprise.credit_code != who.credit_code:
        raise refused(request, who, f"{who.code} may apply only for itself, not for "
                      f"{application.enterprise.credit_code} (Art. 9)")
    pool, client = deps.pool(request), deps.client(request)
    reserved = None
    if key is not None:
        fp = idempotency.fingerprint(request.method, request.url.path, application.model_dump(mode="json"))
        claim = await idempotency.claim(pool, who, key, fp)
        if not claim.mine:
            if claim.response is None:
                raise ApiError(409, "in_progress", "a request with this Idempotency-Key is still being processed; "
                               "retry shortly", headers={"Retry-After": "1"})
            return JSONResponse(claim.response, status_code=claim.status_code, headers={"Idempotent-Replayed": "true"})
        reserved = claim.reserved
    received_at = datetime.now(UTC)
    if reserved is not None:
        # An earlier attempt with this key passed the intake check and took this case number; it may have
        # started the file. Its intake stands: the file is started now, or found started.
        application_id = reserved
    else:
        on = WorkingCalendar.local_date(received_at)
        try:
            await services.check_intake(pool, application, on)
            application_id = await services.allocate_application_id(pool, on)
            if key is not None:
                # Bound to the key before anything starts: a retry after a crash gets this number, not a new one.
                await idempotency.reserve(pool, who, key, application_id)
        except services.IntakeRefused as e:
            if key is not None:
                await idempotency.release(pool, who, key)
            raise ApiError(409, "banned", str(e), details={"ban_ends_on": e.ban.ends_on.isoformat(),
                                                           "article": e.ban.article}) from None
        except Exception:  # nothing was started (a cancelled request keeps its claim)
            if key is not None:
                await idempotency.release(pool, who, key)
            raise
    try:
        started = await services.start_application(client, deps.settings(request).temporal_task_queue,
                                                   application_id, application, received_at,
                                                   existing_ok=reserved is not None)
    except Exception:  # the start may have happened all the same (a timeout): the retry finds out
        if key is not None:
            await idempotency.unlock(pool, who, key)
        raise
    await _projected(pool, started.application_id)
    answer = Started(application_id=started.application_id, workflow_id=started.workflow_id,
                     status_url=f"/applications/{started.application_id}",
                     web_ui=deps.settings(request).workflow_url(started.workflow_id)).model_dump(mode="json")
    if key is not None:
        await idempotency.remember(pool, who, key, 201, answer)
    return JSONResponse(answer, status_code=201, headers={"Idempotent-Replayed": "true"} if started.existing else None)


async def _projected(pool: asyncpg.Pool, application_id: str) -> None:
    """Wait briefly until the workflow has recorded the receipt, so that the caller's next request finds
    the file (read your writes). Without a worker it never comes; the application is started all the same."""
    deadline = asyncio.get_running_loop().time() + _PROJECTION_WAIT.total_seconds()
    while not await pool.fetchval("SELECT true FROM permits WHERE stream_id = $1", application_id):
        if asyncio.get_running_loop().time() > deadline:
            log.warning("application started but not yet recorded", permit_id=application_id)
            return
        await asyncio.sleep(0.05)


@router.get("/applications/{application_id}", response_model=ApplicationView, responses=ERROR_RESPONSES)
async def show(request: Request, who: Caller, application_id: ApplicationId) -> ApplicationView:
    """Status from the read model, the open tasks with their deadlines, and the workflow's live state
    (`live` is null with `live_error` when Temporal cannot answer within 2 s)."""
    row = await access.readable(request, who, application_id)
    tasks = await deps.pool(request).fetch(
        "SELECT * FROM tasks WHERE stream_id = $1 ORDER BY ends_at NULLS LAST, task_id", application_id)
    live, live_error = await live_status(request, application_id)
    view = FileView.of(row, deps.settings(request))
    return ApplicationView(**view.model_dump(), tasks=[TaskView.of(t) for t in tasks], live=live, live_error=live_error)


async def live_status(request: Request, application_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The workflow's own `status` query, if Temporal answers quickly; the read model stands in otherwise.
    Asked by name: an approved application continues as the permit's workflow, which answers its own."""
    try:
        handle = deps.client(request).get_workflow_handle(services.application_workflow_id(application_id))
        # The SDK retries an unreachable server for several seconds: bound the whole call, not one attempt.
        answer = await asyncio.wait_for(handle.query("status", result_type=dict), _LIVE_TIMEOUT.total_seconds())
        return answer, None
    except ApiError as e:
        return None, e.code
    except TimeoutError:
        return None, "timeout"
    except RPCError as e:
        return None, e.status.name.lower()
    except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as e:
        log.warning("status query failed", permit_id=application_id, error=str(e))
        return None, "query_failed"


@router.get("/applications/{application_id}/timeline", response_model=Timeline, responses=ERROR_RESPONSES)
async def timeline(request: Request, who: Caller, application_id: ApplicationId) -> Timeline:
    """Every event of the file in order: what was decided, under which article, by whom, with its payload."""
    await access.readable(request, who, application_id)
    events = await read_stream(deps.pool(request), application_id)
    return Timeline(application_id=application_id, events=[EventView.of(e) for e in events],
                    web_ui=deps.settings(request).workflow_url(f"application/{application_id}"))


@router.post("/applications/{application_id}/corrections", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def submit_corrections(request: Request, who: Caller, row: CorrectedFile, key: RequiredKey,
                             application: Application) -> JSONResponse:
    """Art. 9: the corrected application, after the district's notice; the completeness check starts again."""
    msg = message(SubmitCorrections, {"application": application}, who, key)
    return await take_step(request, who, row, PermitApplication.submit_corrections, msg, key)


@router.post("/applications/{application_id}/answers", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def answer_question(request: Request, who: Caller, row: QuestionedFile, key: RequiredKey,
                          body: AnswerRequest) -> JSONResponse:
    """Art. 10: the applicant's answer to a panel agency's question; that agency's review resumes."""
    msg = message(AnswerQuestion, dict(body), who, key)
    return await take_step(request, who, row, PermitApplication.answer_question, msg, key)


@router.post("/applications/{application_id}/withdraw", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def withdraw(request: Request, who: Caller, row: WithdrawnFile, key: RequiredKey,
                   body: WithdrawRequest) -> JSONResponse:
    """ALL 32: the applicant withdraws; the file closes."""
    msg = message(Withdraw, dict(body), who, key)
    return await take_step(request, who, row, PermitApplication.withdraw, msg, key)
