"""The register of applications and permits, from the read model, for operators and the bodies.

Operators and city-level bodies see every file; a district government only its district's, an
enterprise only its own. A filter outside the caller's scope is refused (403), not silently narrowed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from domain.bodies import Body, District
from gateway import deps
from gateway.auth import Caller, refused
from gateway.errors import ERROR_RESPONSES
from gateway.views import FileView, PermitList

router = APIRouter(tags=["operators"])


@router.get("/permits", response_model=PermitList, responses=ERROR_RESPONSES)
async def permits(
    request: Request, who: Caller,
    status: Annotated[str | None, Query(description="e.g. joint_review, approved, refused")] = None,
    district: District | None = None,
    credit_code: Annotated[str | None, Query(max_length=18)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
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
    rows = await deps.pool(request).fetch(
        """SELECT * FROM permits
           WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR district = $2)
             AND ($3::text IS NULL OR credit_code = $3)
           ORDER BY stream_id LIMIT $4 OFFSET $5""",
        status, district.value if district else None, credit_code, limit, offset,
    )
    settings = deps.settings(request)
    return PermitList(items=[FileView.of(r, settings) for r in rows], limit=limit, offset=offset)
