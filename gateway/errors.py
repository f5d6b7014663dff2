"""Every error the gateway answers has one JSON shape:

    {"error": {"code": "already_decided", "message": "customs_gz already decided: approve",
               "fields": [{"field": "body.reasons", "message": "...", "type": "..."}],
               "details": {...}}}          # "details" only where a code documents it

| status | code | when |
|---|---|---|
| 400 | `idempotency_key_required` | a POST that acts on a file came without `Idempotency-Key` (or a malformed one) |
| 401 | `unauthenticated` | no bearer token, or an unknown or revoked one |
| 403 | `forbidden` | the step belongs to another body (domain/authority.py), or the caller may not see the file |
| 404 | `not_found` | unknown application or task (and, for enterprises, another enterprise's file) |
| 409 | `already_decided` | the step was already taken (the message names the decision that stands) or the file is closed |
| 409 | `wrong_stage` | the step is not open at the file's stage |
| 409 | `banned` | Art. 24 intake refusal; `details.ban_ends_on` is the first day a new application is accepted |
| 409 | `in_progress` | the same Idempotency-Key is being processed right now: retry shortly |
| 409 | `renewal_too_late` | Art. 14: a renewal less than 30 days before expiry (the request is recorded, then refused) |
| 409 / 422 | ledger codes | a ledger batch refused whole (`permit_not_in_force`, `voucher_exists`, `negative_stock` are 409; `duplicate_voucher`, `in_future`, `before_permit`, `batch_too_large`, `empty_batch`, `batch_id_reused` 422); `details.row_index` names the row (gateway/ledger.py) |
| 413 | `payload_too_large` | request body over 1 MiB (32 MiB for a ledger batch) |
| 422 | `invalid` | the payload is malformed (`fields` lists each field) or the workflow refused it as invalid; a NUL (U+0000) in the body, path or query (field type `nul_character`, gateway/nul.py) |
| 422 | `idempotency_key_reused` | the Idempotency-Key was already used for a different request |
| 503 | `unavailable` | Temporal or PostgreSQL cannot be reached; nothing was done, retry with the same key |
| 500 | `internal` | a bug: logged with its traceback, never shown |

The Idempotency-Key codes follow the IETF draft `draft-ietf-httpapi-idempotency-key-header`.
"""

from __future__ import annotations

from typing import Any, Iterable

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

log = structlog.get_logger()


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    details: dict[str, Any] | None = None


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


# For the OpenAPI document: every route may answer these, in the shape above.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody} for s in (400, 401, 403, 404, 409, 413, 422, 503)
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, fields: Iterable[FieldError] = (),
                 details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.details, self.headers = list(fields), details, headers


def error_response(status: int, code: str, message: str, fields: Iterable[FieldError] = (),
                   details: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorDetail(code=code, message=message, fields=list(fields), details=details)
    return JSONResponse({"error": body.model_dump(mode="json", exclude_none=True)}, status_code=status, headers=headers)


def field_errors(errors: Iterable[dict[str, Any]], prefix: tuple[Any, ...] = ()) -> list[FieldError]:
    """pydantic's errors as `fields`: dotted location, message, type."""
    return [FieldError(field=".".join(str(p) for p in (*prefix, *e["loc"])), message=e["msg"], type=e["type"])
            for e in errors]


def invalid(e: ValidationError, prefix: tuple[Any, ...] = ("body",)) -> ApiError:
    return ApiError(422, "invalid", "the request is invalid", fields=field_errors(e.errors(), prefix))


# What "the server is not there" looks like from each client; anything else is a bug, not a 503.
_PG_DOWN = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError, asyncpg.TooManyConnectionsError)
_RPC_DOWN = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}


def unavailable(what: str) -> ApiError:
    return ApiError(503, "unavailable", f"{what} cannot be reached; nothing was done, retry later "
                    "(with the same Idempotency-Key)", headers={"Retry-After": "5"})


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.code, e.message, e.fields, e.details, e.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid", "the request is invalid", field_errors(e.errors()))

    @app.exception_handler(HTTPException)
    async def _http(_: Request, e: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http_error")
        return error_response(e.status_code, code, str(e.detail), headers=getattr(e, "headers", None))

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, e: RPCError) -> JSONResponse:
        if e.status in _RPC_DOWN:
            log.warning("temporal unavailable", path=request.url.path, status=e.status.name, error=e.message)
            u = unavailable("Temporal")
            return error_response(u.status, u.code, u.message, headers=u.headers)
        log.error("temporal call failed", path=request.url.path, status=e.status.name, error=e.message)
        return error_response(500, "internal", "internal error")

    @app.exception_handler(WorkflowUpdateRPCTimeoutOrCancelledError)
    async def _update_timeout(request: Request, _: Exception) -> JSONResponse:
        log.warning("update not confirmed in time", path=request.url.path)
        return error_response(503, "unavailable", "the decision was not confirmed in time; retry with the same "
                              "Idempotency-Key (it is applied once)", headers={"Retry-After": "5"})

    async def _postgres(request: Request, e: Exception) -> JSONResponse:
        log.warning("postgres unavailable", path=request.url.path, error=type(e).__name__)
        u = unavailable("PostgreSQL")
        return error_response(u.status, u.code, u.message, headers=u.headers)

    for cls in _PG_DOWN:
        app.add_exception_handler(cls, _postgres)

    @app.exception_handler(Exception)
    async def _bug(request: Request, e: Exception) -> JSONResponse:
        log.exception("unhandled error", path=request.url.path, error=type(e).__name__)
        return error_response(500, "internal", "internal error")
