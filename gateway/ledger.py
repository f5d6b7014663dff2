"""The enterprise's oil ledger (Art. 17): batches of movements in, stock and the annual summary out.

Only the permit's own enterprise reports and reads it (another enterprise gets 404, as for every file
that is not its own; a body or an operator 403).

A batch is a JSON array of movements (domain/ledger.py), at most 50,000 rows; this route alone accepts a
body up to 32 MiB (gateway/limits.py). It is parsed straight from the bytes (pydantic-core), not through
FastAPI's generic body handling, which would build 50,000 dicts first, into columns
(`MovementBatch.from_json`); a large body is validated piece by piece while the ledger copies the pieces
before it, and an invalid row anywhere is still the answer (422 `invalid`), with nothing booked. The
`Idempotency-Key` names the batch: the ledger books a batch id once and answers a retry with the first
result (`Idempotent-Replayed: true`); the same key with other rows is refused (422 `batch_id_reused`). Keys
are scoped by permit (stored as `<permit>/<key>`), so two enterprises cannot collide.

A refused batch books nothing; the error names the rule (`code`) and the row (`details.row_index`, 0-based,
and `fields[0].field` = `movements.<row>`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bunker import services
from domain.calendar import WorkingCalendar
from domain.ledger import AnnualSummary, InvalidBatch, MovementBatch, batch_adapter, year_window
from gateway import access, deps
from gateway.access import PermitId
from gateway.auth import Caller, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError, FieldError, field_errors
from gateway.idempotency import RequiredKey
from store import ledger
from store.ledger import LedgerRefused

router = APIRouter(tags=["ledger"])

MAX_ROWS = 50_000
_FIELD_ERRORS_SHOWN = 100  # a batch of 50,000 bad rows would otherwise answer with 50,000 entries
_BATCH = batch_adapter(MAX_ROWS)

# Conflicts with what is already booked are 409; a batch wrong in itself is 422.
_CONFLICTS = {"permit_not_in_force", "voucher_exists", "negative_stock"}


async def _own_permit(request: Request, who: Caller, permit_id: PermitId) -> asyncpg.Record:
    require_kind(request, who, "enterprise", what="report or read a permit's ledger (Art. 17)")
    row = await access.readable(request, who, permit_id)  # another enterprise's permit: 404
    if not access.is_permit(row):
        raise access.not_a_permit(row)
    return row


OwnPermit = Annotated[asyncpg.Record, Depends(_own_permit)]


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON schema with its `$defs` inlined, for the OpenAPI document of a body FastAPI does not parse."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: walk(v) for k, v in node.items()}
        return [walk(v) for v in node] if isinstance(node, list) else node

    return walk(schema)


_BATCH_DOC = {"requestBody": {"required": True, "content": {"application/json": {"schema": _inlined(_BATCH.json_schema())}}}}


class BatchAnswer(BaseModel):
    permit_id: str
    batch_id: str = Field(description="the Idempotency-Key the batch was sent with")
    rows: int
    supplies: int
    last_supply_at: datetime | None = Field(description="the permit's latest supply to a vessel, after this batch")
    resumed_from_dormancy: bool = Field(description="the batch ended an Art. 23 dormancy; the permit was told")


def refusal(e: LedgerRefused) -> ApiError:
    fields = [] if e.row_index is None else [FieldError(field=f"movements.{e.row_index}", message=e.message, type=e.code)]
    return ApiError(409 if e.code in _CONFLICTS else 422, e.code, e.message, fields=fields,
                    details={"row_index": e.row_index})


@router.post("/permits/{permit_id}/ledger/batches", status_code=201, response_model=BatchAnswer,
             responses=ERROR_RESPONSES, openapi_extra=_BATCH_DOC)
async def report_batch(request: Request, who: Caller, permit_id: PermitId, row: OwnPermit,
                       key: RequiredKey) -> JSONResponse:
    """Art. 17: book a batch of ledger rows, all or nothing. A supply that ends an Art. 23 dormancy tells the
    permit's workflow (once per dormancy, never once per row)."""
    try:
        batch = MovementBatch.from_json(await request.body(), max_rows=MAX_ROWS)
        result = await services.report_ledger(deps.client(request), deps.pool(request), row["stream_id"],
                                              f"{row['stream_id']}/{key}", batch)
    except InvalidBatch as e:
        errors = e.error.errors()
        shown = f" (the first {_FIELD_ERRORS_SHOWN} of {len(errors)} listed)" if len(errors) > _FIELD_ERRORS_SHOWN else ""
        raise ApiError(422, "invalid", f"the batch is invalid{shown}",
                       fields=field_errors(errors[:_FIELD_ERRORS_SHOWN], ("movements",))) from None
    except LedgerRefused as e:
        raise refusal(e) from None
    answer = BatchAnswer(permit_id=row["stream_id"], batch_id=key, rows=result.rows, supplies=result.supplies,
                         last_supply_at=result.last_supply_at, resumed_from_dormancy=result.resumed_from_dormancy)
    return JSONResponse(answer.model_dump(mode="json"), status_code=201,
                        headers={"Idempotent-Replayed": "true"} if result.replayed else None)


class Stock(BaseModel):
    permit_id: str
    depots: dict[str, Decimal] = Field(description="each depot's balance now, in tonnes")
    total_t: Decimal


@router.get("/permits/{permit_id}/ledger/stock", response_model=Stock, responses=ERROR_RESPONSES)
async def stock(request: Request, who: Caller, permit_id: PermitId, row: OwnPermit) -> Stock:
    """Each depot's balance now (Art. 17 存), from the booked movements."""
    depots = await ledger.stock(deps.pool(request), row["stream_id"])
    return Stock(permit_id=row["stream_id"], depots=depots, total_t=sum(depots.values(), Decimal("0.000")))


@router.get("/permits/{permit_id}/ledger/summary", response_model=AnnualSummary, responses=ERROR_RESPONSES)
async def summary(
    request: Request, who: Caller, permit_id: PermitId, row: OwnPermit,
    year: Annotated[int | None, Query(ge=2022, le=2100, description="default: this year (Asia/Shanghai)")] = None,
    quiet_days: Annotated[int, Query(ge=1, le=366, description="spells without supply longer than this")] = 30,
) -> AnnualSummary:
    """The ledger over one calendar year, as the annual inspection reads it (Art. 22(1)(2)): supplies,
    receipts, transfers, quiet spells, reporting gaps, opening and closing stock."""
    year = year or WorkingCalendar.local_date(datetime.now(UTC)).year
    try:
        return await ledger.annual_summary(deps.pool(request), row["stream_id"], *year_window(year),
                                           quiet_days=quiet_days)
    except LedgerRefused as e:
        raise refusal(e) from None
