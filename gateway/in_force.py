"""The permit in force: what the enterprise and the bodies start on it (the steps that follow are tasks in
the inboxes, completed at `POST /tasks/{task_id}/decision`, gateway/agencies.py).

- the enterprise, on its own permit only: a renewal (Art. 14), a change of approved matters (Art. 15),
  a replacement of a held document or lease (Art. 7), its report on a rectification order (Art. 22);
- the bodies: a termination proposal (Art. 25: market for cause 2, the district or commerce for 3 and 4)
  and a revocation report (Art. 24, commerce).

Each is a Temporal update on `application/<id>` (the permit keeps the application's workflow id) under
an update id from the required Idempotency-Key (gateway/updates.py).
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from domain.application import Application, HeldDocument
from domain.authority import TERMINATION_PROPOSERS, NotAuthorised, Step, authorise
from domain.bodies import District
from gateway import access
from gateway.access import PermitId
from gateway.auth import Caller, refused
from gateway.errors import ERROR_RESPONSES
from gateway.idempotency import RequiredKey
from gateway.updates import message, request_model, take_step
from gateway.views import StepAnswer
from store.principals import Principal
from workflows.permit import Permit
from workflows.permit_messages import (
    ApplyChange, ApplyRenewal, ProposeTermination, RectificationReport, ReplaceDocument, RevocationReport,
)

router = APIRouter(tags=["permits"])

RenewedPermit = access.acting_on_permit(Step.APPLY_RENEWAL)
ChangedPermit = access.acting_on_permit(Step.APPLY_CHANGE)
DocumentedPermit = access.acting_on_permit(Step.REPLACE_DOCUMENT)
RectifiedPermit = access.acting_on_permit(Step.REPORT_RECTIFICATION)
ReportedPermit = access.acting_on_permit(Step.REPORT_REVOCATION)

ChangeRequest = request_model(ApplyChange, "ChangeRequest")
RectificationRequest = request_model(RectificationReport, "RectificationReportRequest")
TerminationRequest = request_model(ProposeTermination, "TerminationProposal")
RevocationRequest = request_model(RevocationReport, "RevocationReportRequest")


# ---------------------------------------------------------------- the enterprise
@router.post("/permits/{permit_id}/renewal", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def apply_renewal(request: Request, who: Caller, permit_id: PermitId, row: RenewedPermit, key: RequiredKey,
                        application: Application) -> JSONResponse:
    """Art. 14: the application for the next term, at least 30 days before expiry (later: 409
    `renewal_too_late`, and the late request is on file). It goes through the procedure of Art. 9–11 again;
    without a decision by expiry the permit is deemed renewed (ALL 50)."""
    msg = message(ApplyRenewal, {"application": application}, who, key)
    return await take_step(request, who, row, Permit.apply_renewal, msg, key)


@router.post("/permits/{permit_id}/changes", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def apply_change(request: Request, who: Caller, permit_id: PermitId, row: ChangedPermit, key: RequiredKey,
                       body: ChangeRequest) -> JSONResponse:
    """Art. 15: a change of approved matters (`change`: replace_tanker, add_tank, name, …), described, with
    the application as it would stand after it. Commerce reviews it with the departments concerned; the
    permit's data change only on approval. One renewal or change at a time."""
    msg = message(ApplyChange, dict(body), who, key)
    return await take_step(request, who, row, Permit.apply_change, msg, key)


@router.post("/permits/{permit_id}/documents", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def replace_document(request: Request, who: Caller, permit_id: PermitId, row: DocumentedPermit,
                           key: RequiredKey, document: HeldDocument) -> JSONResponse:
    """Art. 7: a held document or lease replacing the one of the same kind and subject (it must be valid
    today). Keeps the Art. 25(3) termination path closed when the old one expires."""
    msg = message(ReplaceDocument, {"document": document}, who, key)
    return await take_step(request, who, row, Permit.replace_document, msg, key)


@router.post("/permits/{permit_id}/rectification", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def report_rectification(request: Request, who: Caller, permit_id: PermitId, row: RectifiedPermit,
                               key: RequiredKey, body: RectificationRequest) -> JSONResponse:
    """Art. 22: what the enterprise rectified under the open rectification order; commerce verifies it
    (task `verify_rectification`). 409 `wrong_stage` when no order is open."""
    msg = message(RectificationReport, dict(body), who, key)
    return await take_step(request, who, row, Permit.report_rectification, msg, key)


# ---------------------------------------------------------------- the bodies
def _may_not_propose(who: Principal, row: asyncpg.Record, cause: str) -> str | None:
    """Why `who` may not propose a termination under Art. 25(cause) of this permit, or None if it may."""
    try:
        authorise(who.actor, Step.PROPOSE_TERMINATION, district=District(row["district"]),
                  credit_code=row["credit_code"], cause=cause)
    except NotAuthorised as e:
        return str(e)
    return None


async def _proposer(request: Request, who: Caller, permit_id: PermitId) -> asyncpg.Record:
    """Before the body is read: a body that may propose a termination under some cause (Art. 25)."""
    row = await access.readable(request, who, permit_id)
    if all(_may_not_propose(who, row, cause) for cause in TERMINATION_PROPOSERS):
        raise refused(request, who, f"{who.code} may not propose a termination (Art. 25: market for cause 2, "
                      "the district or commerce for causes 3 and 4)")
    if not access.is_permit(row):
        raise access.not_a_permit(row)
    return row


@router.post("/permits/{permit_id}/termination", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def propose_termination(request: Request, who: Caller, permit_id: PermitId,
                              row: Annotated[asyncpg.Record, Depends(_proposer)], key: RequiredKey,
                              body: TerminationRequest) -> JSONResponse:
    """Art. 25: propose that the permit be terminated — cause `"2"` (business licence invalid, revoked,
    cancelled; market), `"3"` (Art. 5/7 no longer met) or `"4"` (another legal cause, basis written down),
    the district or commerce. The district reviews, commerce reports, the government decides (tasks
    `termination_review`, `termination_report`, `decide_termination`)."""
    if reason := _may_not_propose(who, row, body.cause):
        raise refused(request, who, reason)
    msg = message(ProposeTermination, dict(body), who, key)
    return await take_step(request, who, row, Permit.propose_termination, msg, key)


@router.post("/permits/{permit_id}/revocation", response_model=StepAnswer, responses=ERROR_RESPONSES)
async def report_revocation(request: Request, who: Caller, permit_id: PermitId, row: ReportedPermit,
                            key: RequiredKey, body: RevocationRequest) -> JSONResponse:
    """Art. 24 (commerce): report a permit obtained improperly (`ground`: ineligible, deception,
    fraud_or_bribery); the government decides (task `decide_revocation`). A revocation for fraud or bribery
    bars the enterprise for 3 years, otherwise 1."""
    msg = message(RevocationReport, dict(body), who, key)
    return await take_step(request, who, row, Permit.report_revocation, msg, key)
