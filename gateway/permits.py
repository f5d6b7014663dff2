"""The register of applications and permits, from the read model, for operators and the bodies; one permit
with its workflow's live state.

Operators and city-level bodies see every file; a district government only its district's, an
enterprise only its own. A filter outside the caller's scope is refused (403), not silently narrowed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from domain.bodies import Body, District
from gateway import access, deps
from gateway.access import PermitId
from gateway.applications import live_status
from gateway.auth import Caller, refused
from gateway.errors import ERROR_RESPONSES, ApiError
from gateway.views import FileView, PermitList, PermitView, RegisterEntry, TaskView
from store import register

router = APIRouter(tags=["operators"])


@router.get("/permits", response_model=PermitList, responses=ERROR_RESPONSES)
async def permits(
    request: Request, who: Caller,
    status: Annotated[str | None, Query(description="e.g. joint_review, approved, refused, in_force")] = None,
    district: District | None = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    expiring_within_days: Annotated[int | None, Query(
        ge=0, le=3660, description="permits in force whose validity ends within N days (Art. 14)")] = None,
    dormant: Annotated[bool | None, Query(description="true: no supply to a vessel for 6 months (Art. 23)")] = None,
    overdue: Annotated[bool | None, Query(description="true: a step waits past the end of its period")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,  # PostgreSQL takes a bigint: no 500 beyond it
) -> PermitList:
    """Applications and permits with their status, next deadline and Web UI link, by case number."""
    if who.body is Body.DISTRICT:
        if district not in (None, who.district):
            raise refused(request, who, f"{who.code} may not list files of district:{district.value} (Art. 9)")
        district = who.district
    if who.kind == "enterprise":
        if credit_code not in (None, who.credit_code):
            raise refused(request, who, f"{who.code} may list only its own files")
        credit_code = who.credit_code
    filters = register.Filters(status=status, district=district.value if district else None, credit_code=credit_code,
                               expiring_within_days=expiring_within_days, dormant=dormant, overdue=overdue)
    rows = await register.files(deps.pool(request), filters, limit=limit, offset=offset)
    settings = deps.settings(request)
    return PermitList(items=[RegisterEntry.of(r, settings) for r in rows], limit=limit, offset=offset)


@router.get("/permits/{permit_id}", response_model=PermitView, responses=ERROR_RESPONSES)
async def show(request: Request, who: Caller, permit_id: PermitId) -> PermitView:
    """A permit: validity, next deadline, the steps waiting on each body, and the Permit workflow's own
    `status` (`live`, null with `live_error` when Temporal cannot answer within 2 s). A file still under
    its application procedure is at `/applications/{id}`."""
    row = await access.readable(request, who, permit_id)
    if not access.is_permit(row):
        raise ApiError(404, "not_found", f"{permit_id} is not a permit (it is {row['status']}): "
                       f"see /applications/{permit_id}")
    tasks = await deps.pool(request).fetch(
        "SELECT * FROM tasks WHERE stream_id = $1 ORDER BY ends_at NULLS LAST, task_id", permit_id)
    live, live_error = await live_status(request, permit_id)
    view = FileView.of(row, deps.settings(request))
    return PermitView(**view.model_dump(), dormant=row["dormant"], dormant_since=row["dormant_since"],
                      tasks=[TaskView.of(t) for t in tasks], live=live, live_error=live_error)
