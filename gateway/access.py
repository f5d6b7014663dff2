"""Which files a caller may see, and the pre-check of a step with domain/authority.py.

Seeing a file:
- operators and the city-level bodies (government, commerce, the Art. 10 panel, border, market): every file;
- a district government: the files of its own district (Art. 9); another district's file → 403;
- an enterprise: its own files only. Another enterprise's file answers **404**, exactly as an unknown
  one, because whether a competitor has applied is itself confidential; the attempt is still logged as
  a security event. Government callers get 403 with the reason, which is what an integrator needs.

Acting on a file: the same, then `authorise` (the body the measures name for the step) before anything
reaches Temporal; the workflow's validators check again.
"""

from __future__ import annotations

from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Path, Request

from domain.authority import NotAuthorised, Step, authorise
from domain.bodies import Body, District
from gateway import deps
from gateway.auth import Caller, refused
from gateway.errors import ApiError
from store.principals import Principal


ApplicationId = Annotated[str, Path(description="e.g. BB-2026-000001", max_length=40)]
PermitId = Annotated[str, Path(description="the file's case number, which the permit keeps: e.g. BB-2026-000001",
                               max_length=40)]


def not_found(application_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no application {application_id}")


async def readable(request: Request, who: Principal, application_id: str) -> asyncpg.Record:
    """The file's read-model row, if `who` may see it."""
    row = await deps.pool(request).fetchrow("SELECT * FROM permits WHERE stream_id = $1", application_id)
    if who.kind == "enterprise":
        if row is not None and row["credit_code"] != who.credit_code:
            refused(request, who, f"{who.code} asked for another enterprise's file", status=404)
            raise not_found(application_id)
    if row is None:
        raise not_found(application_id)
    if who.body is Body.DISTRICT and row["district"] != who.district.value:
        raise refused(request, who, f"{who.code} may not see files of district:{row['district']} (Art. 9)")
    return row


async def acting(request: Request, who: Principal, application_id: str, step: Step,
                 agency: Body | None = None) -> asyncpg.Record:
    """The file's row, if `who` may take `step` on it (403 naming the rule otherwise)."""
    row = await readable(request, who, application_id)
    check(request, who, row, step, agency)
    return row


def check(request: Request, who: Principal, row: asyncpg.Record, step: Step, agency: Body | None = None) -> None:
    try:
        authorise(who.actor, step, district=District(row["district"]), credit_code=row["credit_code"], agency=agency)
    except NotAuthorised as e:
        raise refused(request, who, str(e)) from None


def acting_on(step: Step) -> Any:
    """A parameter type: the file's row, if the caller may take `step` on it. As a dependency it is checked
    before the body and the Idempotency-Key are read, so a wrong caller learns nothing more than 403."""
    async def dependency(request: Request, who: Caller, application_id: ApplicationId) -> asyncpg.Record:
        return await acting(request, who, application_id, step)
    return Annotated[asyncpg.Record, Depends(dependency)]


# ---------------------------------------------------------------- the permit in force
def is_permit(row: asyncpg.Record) -> bool:
    return row["kind"] == "permit"


def not_a_permit(row: asyncpg.Record) -> ApiError:
    return ApiError(409, "wrong_stage", f"{row['stream_id']} is not a permit in force (it is {row['status']}): "
                    f"see /applications/{row['stream_id']}")


async def acting_on_permit_file(request: Request, who: Principal, permit_id: str, step: Step) -> asyncpg.Record:
    """The permit's row, if `who` may take `step` on it; 409 if the file is still an application."""
    row = await acting(request, who, permit_id, step)
    if not is_permit(row):
        raise not_a_permit(row)
    return row


def acting_on_permit(step: Step) -> Any:
    """`acting_on` for the routes under /permits/{permit_id}."""
    async def dependency(request: Request, who: Caller, permit_id: PermitId) -> asyncpg.Record:
        return await acting_on_permit_file(request, who, permit_id, step)
    return Annotated[asyncpg.Record, Depends(dependency)]
