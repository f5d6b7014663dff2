"""Supervision: complaints (Art. 20), interviews and spot inspections (Art. 20–21), the violation register
(Art. 19, 21, 26), and the oversight of the agencies' own deadlines (gateway/oversight.py, included here).

Who may:
- record a complaint: the body that received it (a district, the government, an Art. 21 department) —
  never an enterprise; commerce routes one no district was found for; the district it is routed to
  investigates, answers (naming the violation it led to, if any) or closes it;
- record a violation: a department whose remit (Art. 21) covers the Art. 19 act; customs confirms a
  smuggling-type act another department found; the finding department records the penalty (Art. 26);
- record an interview or spot inspection: the enterprise's district, or a department;
- read: the registers are for the bodies and operators; a district sees its own district's; an enterprise
  only its own violations (complaints, with who complained, never).

A POST with an `Idempotency-Key` is applied once and a retry gets the first answer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Awaitable, Callable, Literal

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bunker import supervision as services
from domain.application import CreditCode
from domain.bodies import Body, District
from domain.violations import PROHIBITED_ACTS
from gateway import deps, idempotency, oversight
from gateway.auth import Caller, refused, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError
from gateway.idempotency import OptionalKey
from store import supervision as supervision_store
from store.principals import Principal

router = APIRouter(tags=["supervision"])
router.include_router(oversight.router)

_BIGINT = 2**63 - 1  # the registers' ids are PostgreSQL bigints
ComplaintId = Annotated[int, Path(ge=1, le=_BIGINT, description="the complaint's number")]
ViolationId = Annotated[int, Path(ge=1, le=_BIGINT, description="the violation's number")]
_CODES = {"forbidden": 403, "not_found": 404, "wrong_stage": 409, "already_decided": 409, "invalid": 422}


# ---------------------------------------------------------------- views
class ComplaintStep(BaseModel):
    status: str
    actor: str
    note: str | None
    at: datetime


class ComplaintView(BaseModel):
    id: int
    channel: str
    status: str
    received_at: datetime
    received_by: str
    complainant: str | None
    contact: str | None
    credit_code: str | None
    enterprise_name: str | None
    application_id: str | None
    district: str | None
    summary: str
    answer: str | None
    violation_id: int | None
    steps: list[ComplaintStep] = []

    @classmethod
    def of(cls, r: asyncpg.Record, steps: list[asyncpg.Record] = ()) -> ComplaintView:
        return cls(id=r["id"], channel=r["channel"], status=r["status"], received_at=r["received_at"],
                   received_by=r["received_by"], complainant=r["complainant"], contact=r["contact"],
                   credit_code=r["credit_code"], enterprise_name=r["enterprise_name"], application_id=r["stream_id"],
                   district=r["district"], summary=r["summary"], answer=r["answer"], violation_id=r["violation_id"],
                   steps=[ComplaintStep(status=s["status"], actor=s["actor"], note=s["note"], at=s["at"]) for s in steps])


class ViolationView(BaseModel):
    id: int
    credit_code: str
    application_id: str | None
    district: str | None
    act: int
    article: str
    act_zh: str
    act_en: str
    smuggling_type: bool
    severity: str
    found_by: str
    found_on: date
    description: str
    evidence_ref: str
    penalty: str | None
    penalty_decided_on: date | None
    confirmed_by: str | None
    complaint_id: int | None
    recorded_at: datetime

    @classmethod
    def of(cls, r: asyncpg.Record) -> ViolationView:
        a = PROHIBITED_ACTS[r["act"]]
        return cls(id=r["id"], credit_code=r["credit_code"], application_id=r["stream_id"], district=r["district"],
                   act=a.number, article=f"Art. {a.article}", act_zh=a.zh, act_en=a.en, smuggling_type=a.smuggling,
                   severity=r["severity"], found_by=r["found_by"], found_on=r["found_on"],
                   description=r["description"], evidence_ref=r["evidence_ref"], penalty=r["penalty"],
                   penalty_decided_on=r["penalty_decided_on"], confirmed_by=r["confirmed_by"],
                   complaint_id=r["complaint_id"], recorded_at=r["recorded_at"])


class ActionView(BaseModel):
    id: int
    kind: str
    credit_code: str
    application_id: str | None
    district: str | None
    conducted_by: str
    conducted_on: date
    summary: str
    findings: list[str]
    violation_id: int | None

    @classmethod
    def of(cls, r: asyncpg.Record) -> ActionView:
        return cls(id=r["id"], kind=r["kind"], credit_code=r["credit_code"], application_id=r["stream_id"],
                   district=r["district"], conducted_by=r["conducted_by"], conducted_on=r["conducted_on"],
                   summary=r["summary"], findings=list(r["findings"]), violation_id=r["violation_id"])


class RouteRequest(BaseModel):
    district: District


class InvestigateRequest(BaseModel):
    note: services.optional_text(2000) = None


class AnswerRequest(BaseModel):
    answer: services.Text = Field(description="what the complainant is told")
    violation_id: services.RecordId | None = Field(default=None, description="the violation the complaint led to, if any")


class CloseRequest(BaseModel):
    reason: services.Text


class PenaltyRequest(BaseModel):
    penalty: services.text(1000) = Field(description="Art. 26: the penalty decided, as the decision words it")
    decided_on: date


# ---------------------------------------------------------------- helpers
def _refusal(request: Request, who: Principal, e: services.Refused) -> ApiError:
    if e.code == "forbidden":
        return refused(request, who, e.message)
    return ApiError(_CODES[e.code], e.code, e.message)


async def _once(request: Request, who: Principal, key: str | None, body: Any, status: int,
                act: Callable[[], Awaitable[BaseModel]]) -> JSONResponse:
    """Apply `act` once per Idempotency-Key (when one is sent); a retry gets the first answer."""
    pool = deps.pool(request)
    if key is not None:
        claim = await idempotency.claim(pool, who, key, idempotency.fingerprint(request.method, request.url.path, body))
        if not claim.mine:
            if claim.response is None:
                raise ApiError(409, "in_progress", "a request with this Idempotency-Key is still being processed; "
                               "retry shortly", headers={"Retry-After": "1"})
            return JSONResponse(claim.response, status_code=claim.status_code, headers={"Idempotent-Replayed": "true"})
    try:
        answer = (await act()).model_dump(mode="json")
    except services.Refused as e:
        if key is not None:
            await idempotency.release(pool, who, key)
        raise _refusal(request, who, e) from None
    except Exception:
        if key is not None:
            await idempotency.release(pool, who, key)
        raise
    if key is not None:
        await idempotency.remember(pool, who, key, status, answer)
    return JSONResponse(answer, status_code=status)


def _scope_district(request: Request, who: Principal, district: District | None) -> str | None:
    """A district sees its own district's entries; a filter for another one is refused, not narrowed."""
    if who.body is Body.DISTRICT:
        if district not in (None, who.district):
            raise refused(request, who, f"{who.code} may not list entries of district:{district.value} (Art. 20)")
        return who.district.value
    return district.value if district else None


async def _complaint_view(request: Request, who: Principal, cid: int) -> ComplaintView:
    pool = deps.pool(request)
    row = await supervision_store.complaint(pool, cid)
    if row is None:
        raise ApiError(404, "not_found", f"no complaint {cid}")
    if who.body is Body.DISTRICT and row["district"] != who.district.value:
        raise refused(request, who, f"{who.code} may not see a complaint routed to district:{row['district']}")
    return ComplaintView.of(row, await supervision_store.complaint_steps(pool, cid))


def _agency(request: Request, who: Principal, what: str) -> None:
    require_kind(request, who, "agency", what=what)


# ---------------------------------------------------------------- complaints (Art. 20)
@router.post("/complaints", status_code=201, response_model=ComplaintView, responses=ERROR_RESPONSES)
async def record_complaint(request: Request, who: Caller, body: services.ComplaintIn, key: OptionalKey) -> JSONResponse:
    """Record a complaint received by phone, e-mail, WeChat, web, letter or visit. It is routed at once to the
    district of the enterprise complained of when that is on file (or given); otherwise commerce routes it."""
    _agency(request, who, "record a complaint (the body that received it records it)")

    async def act() -> ComplaintView:
        pool = deps.pool(request)
        cid = await services.record_complaint(pool, who.actor, body)
        # The receiver sees what it recorded, wherever it was routed.
        return ComplaintView.of(await supervision_store.complaint(pool, cid), await supervision_store.complaint_steps(pool, cid))
    return await _once(request, who, key, body.model_dump(mode="json"), 201, act)


@router.get("/complaints", response_model=list[ComplaintView], responses=ERROR_RESPONSES)
async def list_complaints(
    request: Request, who: Caller, district: District | None = None,
    status: Literal["received", "routed", "investigating", "answered", "closed"] | None = None,
    credit_code: Annotated[CreditCode | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, offset: Annotated[int, Query(ge=0, le=_BIGINT)] = 0,
) -> list[ComplaintView]:
    """Complaints, newest first (a district: those routed to it)."""
    require_kind(request, who, "agency", "operator", what="read complaints")
    rows = await supervision_store.complaints(deps.pool(request), district=_scope_district(request, who, district),
                                              status=status, credit_code=credit_code, limit=limit, offset=offset)
    return [ComplaintView.of(r) for r in rows]


@router.get("/complaints/{complaint_id}", response_model=ComplaintView, responses=ERROR_RESPONSES)
async def show_complaint(request: Request, who: Caller, complaint_id: ComplaintId) -> ComplaintView:
    """One complaint with every step: who moved it, when, and why."""
    require_kind(request, who, "agency", "operator", what="read complaints")
    return await _complaint_view(request, who, complaint_id)


async def _move(request: Request, who: Principal, cid: int, key: str | None, body: BaseModel, move: str,
                **kw: Any) -> JSONResponse:
    _agency(request, who, f"{move} a complaint")

    async def act() -> ComplaintView:
        await services.move_complaint(deps.pool(request), who.actor, cid, move, **kw)
        return await _complaint_view(request, who, cid)
    return await _once(request, who, key, body.model_dump(mode="json"), 200, act)


@router.post("/complaints/{complaint_id}/route", response_model=ComplaintView, responses=ERROR_RESPONSES)
async def route_complaint(request: Request, who: Caller, complaint_id: ComplaintId, body: RouteRequest,
                          key: OptionalKey) -> JSONResponse:
    """Commerce routes a complaint to a district (when the enterprise was not on file, or to correct it)."""
    return await _move(request, who, complaint_id, key, body, "route", district=body.district)


@router.post("/complaints/{complaint_id}/investigate", response_model=ComplaintView, responses=ERROR_RESPONSES)
async def investigate_complaint(request: Request, who: Caller, complaint_id: ComplaintId, body: InvestigateRequest,
                                key: OptionalKey) -> JSONResponse:
    """The district takes the complaint up (Art. 20)."""
    return await _move(request, who, complaint_id, key, body, "investigate", note=body.note)


@router.post("/complaints/{complaint_id}/answer", response_model=ComplaintView, responses=ERROR_RESPONSES)
async def answer_complaint(request: Request, who: Caller, complaint_id: ComplaintId, body: AnswerRequest,
                           key: OptionalKey) -> JSONResponse:
    """The district answers the complainant, naming the violation it led to, if any."""
    return await _move(request, who, complaint_id, key, body, "answer", answer=body.answer,
                       violation_id=body.violation_id)


@router.post("/complaints/{complaint_id}/close", response_model=ComplaintView, responses=ERROR_RESPONSES)
async def close_complaint(request: Request, who: Caller, complaint_id: ComplaintId, body: CloseRequest,
                          key: OptionalKey) -> JSONResponse:
    """The district closes the complaint, with the reason (answered, or nothing to act on)."""
    return await _move(request, who, complaint_id, key, body, "close", note=body.reason)


# ---------------------------------------------------------------- violations (Art. 19, 21, 26)
@router.post("/violations", status_code=201, response_model=ViolationView, responses=ERROR_RESPONSES)
async def record_violation(request: Request, who: Caller, body: services.ViolationIn, key: OptionalKey) -> JSONResponse:
    """A department records a violation of Art. 19 within its remit (Art. 21), with the evidence reference and,
    once decided, the penalty (Art. 26). A smuggling-type act found by customs is confirmed as recorded."""
    _agency(request, who, "record a violation")

    async def act() -> ViolationView:
        return ViolationView.of(await services.record_violation(deps.pool(request), who.actor, body))
    return await _once(request, who, key, body.model_dump(mode="json"), 201, act)


@router.get("/violations", response_model=list[ViolationView], responses=ERROR_RESPONSES)
async def list_violations(
    request: Request, who: Caller, credit_code: Annotated[CreditCode | None, Query()] = None,
    district: District | None = None, since: date | None = None, until: date | None = None,
) -> list[ViolationView]:
    """The register, oldest first; an enterprise sees its own entries only."""
    if who.kind == "enterprise":
        if credit_code not in (None, who.credit_code):
            raise refused(request, who, f"{who.code} may read only its own violations")
        credit_code = who.credit_code
    rows = await supervision_store.violations(deps.pool(request), credit_code=credit_code,
                                              district=_scope_district(request, who, district), since=since, until=until)
    return [ViolationView.of(r) for r in rows]


@router.post("/violations/{violation_id}/confirm", response_model=ViolationView, responses=ERROR_RESPONSES)
async def confirm_violation(request: Request, who: Caller, violation_id: ViolationId, key: OptionalKey) -> JSONResponse:
    """Customs confirms a smuggling-type act found by another department; it then counts for Art. 22(4)."""
    _agency(request, who, "confirm a violation")

    async def act() -> ViolationView:
        return ViolationView.of(await services.confirm_violation(deps.pool(request), who.actor, violation_id))
    return await _once(request, who, key, {}, 200, act)


@router.post("/violations/{violation_id}/penalty", response_model=ViolationView, responses=ERROR_RESPONSES)
async def decide_penalty(request: Request, who: Caller, violation_id: ViolationId, body: PenaltyRequest,
                         key: OptionalKey) -> JSONResponse:
    """Art. 26: the department that found the violation records the penalty it decided."""
    _agency(request, who, "decide a penalty")

    async def act() -> ViolationView:
        return ViolationView.of(await services.decide_penalty(deps.pool(request), who.actor, violation_id,
                                                              body.penalty, body.decided_on))
    return await _once(request, who, key, body.model_dump(mode="json"), 200, act)


# ---------------------------------------------------------------- interviews and spot inspections (Art. 20, 21)
@router.post("/supervision/interviews", status_code=201, response_model=ActionView, responses=ERROR_RESPONSES)
async def record_interview(request: Request, who: Caller, body: services.ActionIn, key: OptionalKey) -> JSONResponse:
    """An interview (约谈, `kind: interview`) or a spot inspection (`kind: spot_inspection`) held with an
    enterprise, by its district or a department."""
    _agency(request, who, "record an interview or inspection")

    async def act() -> ActionView:
        return ActionView.of(await services.record_action(deps.pool(request), who.actor, body))
    return await _once(request, who, key, body.model_dump(mode="json"), 201, act)


@router.get("/supervision/interviews", response_model=list[ActionView], responses=ERROR_RESPONSES)
async def list_interviews(
    request: Request, who: Caller, credit_code: Annotated[CreditCode | None, Query()] = None,
    district: District | None = None, kind: Literal["interview", "spot_inspection"] | None = None,
) -> list[ActionView]:
    """Interviews and spot inspections, latest first (a district: its own)."""
    require_kind(request, who, "agency", "operator", what="read interviews and inspections")
    rows = await supervision_store.actions(deps.pool(request), credit_code=credit_code,
                                           district=_scope_district(request, who, district), kind=kind)
    return [ActionView.of(r) for r in rows]
