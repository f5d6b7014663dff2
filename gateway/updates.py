"""Taking a step: a Temporal update on `application/<id>`, under an update id from the Idempotency-Key.

The workflow's validators answer refusals as an ApplicationError whose `type` names the HTTP answer; the
SDK delivers it as `WorkflowUpdateFailedError` with that error as `.cause`. A rejected update leaves no
trace in the workflow's history, so a refused request may be retried once the step is open.
"""

from __future__ import annotations

from copy import copy
from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, ValidationError, create_model
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from bunker import services
from gateway import deps, idempotency
from gateway.auth import refused
from gateway.errors import ApiError, invalid
from gateway.views import StepAnswer
from store.principals import Principal
from workflows.licensing_messages import Message, Outcome

log = structlog.get_logger()

# Long enough for a step that records its event (an activity) before it answers; a timeout is a 503 and
# the retry with the same key is answered with the same outcome.
UPDATE_TIMEOUT = timedelta(seconds=30)

_REFUSALS = {
    "NotAuthorised": (403, "forbidden"),
    "AlreadyDecided": (409, "already_decided"),
    "WrongStage": (409, "wrong_stage"),
    "Invalid": (422, "invalid"),
    # Art. 14: the request is on file (recorded), but came less than 30 days before expiry.
    "RenewalTooLate": (409, "renewal_too_late"),
}


def refusal(e: WorkflowUpdateFailedError, row: asyncpg.Record | None = None) -> ApiError:
    """The HTTP answer to an update the workflow refused."""
    cause = e.cause
    if isinstance(cause, ApplicationError) and cause.type in _REFUSALS:
        status, code = _REFUSALS[cause.type]
        return ApiError(status, code, cause.message)
    if isinstance(cause, ApplicationError) and "expected but not found" in cause.message:
        # The workflow has moved on to a procedure without this step (an approved file is a permit).
        status = f" (the file is {row['status']})" if row is not None else ""
        return ApiError(409, "wrong_stage", f"this step is not open on the file any more{status}")
    log.error("update failed unexpectedly", error=type(cause).__name__, detail=str(cause))
    return ApiError(500, "internal", "the step failed unexpectedly; it was not applied")


def request_model(cls: type[Message], name: str, *, exclude: tuple[str, ...] = (), **extra: Any) -> type[BaseModel]:
    """The body a caller sends for message `cls`: its fields and constraints, minus who acts (the token says
    that) and the idempotency key (a header), plus `extra` fields."""
    fields = {n: (f.annotation, copy(f)) for n, f in cls.model_fields.items()
              if n not in {"actor", "idempotency_key", *exclude}}
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=cls.__doc__, **fields, **extra)


def message(cls: type[Message], fields: dict[str, Any], who: Principal, key: str) -> Message:
    try:
        return cls.model_validate({**fields, "actor": who.actor, "idempotency_key": key})
    except ValidationError as e:
        raise invalid(e) from None


async def take_step(request: Request, who: Principal, row: asyncpg.Record, update: Any, msg: Message,
                    key: str) -> JSONResponse:
    """Apply `update` with `msg` on the file of `row`, once per Idempotency-Key."""
    application_id, pool = row["stream_id"], deps.pool(request)
    body = msg.model_dump(mode="json", exclude={"actor", "idempotency_key"})
    claim = await idempotency.claim(pool, who, key, idempotency.fingerprint(request.method, request.url.path, body))
    if claim.response is not None:
        return JSONResponse(claim.response, status_code=claim.status_code, headers={"Idempotent-Replayed": "true"})
    handle = services.application_handle(deps.client(request), application_id)
    try:
        outcome: Outcome = await handle.execute_update(
            update, msg, id=idempotency.update_id(who, key), rpc_timeout=UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as e:
        error = refusal(e, row)
        if error.status == 403:
            raise refused(request, who, f"workflow refused: {error.message}") from None
        raise error from None
    except RPCError as e:
        if e.status is not RPCStatusCode.NOT_FOUND:
            raise
        # The file's workflow has closed (its read model still says how), so no step is open any more.
        raise ApiError(409, "already_decided", f"the file is closed: {row['status']}") from None
    log.info("step taken", permit_id=application_id, step=update.__name__, principal=who.code, detail=outcome.detail)
    answer = StepAnswer.of(application_id, outcome, deps.settings(request)).model_dump(mode="json")
    # Temporal answers a repeated update id only within the run that took it; an approval continues the
    # workflow as a new run (the permit's), so the answer is kept here for retries after that.
    await idempotency.remember(pool, who, key, 200, answer)
    return JSONResponse(answer)
