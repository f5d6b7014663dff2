"""GET /oversight: who holds a file up (electronic supervision of the agencies' own deadlines).

Commerce, the government and operators see every body; any other agency sees its own row only (asking
for another body's is refused, not narrowed). Enterprises are not shown the agencies' record.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from bunker import services
from domain.bodies import Body
from gateway import deps
from gateway.auth import Caller, refused, require_kind
from gateway.errors import ERROR_RESPONSES, ApiError
from store import oversight as store

router = APIRouter(tags=["supervision"])
_SEES_ALL = {Body.COMMERCE, Body.MUNICIPAL_GOV, Body.OPERATOR}
# Deadlines exist from the measures on (2022); lateness is counted on the working-day calendar, which spans decades.
_EARLIEST, _LATEST = date(2022, 1, 1), date(2100, 12, 31)


@router.get("/oversight", response_model=store.Oversight, responses=ERROR_RESPONSES)
async def oversight(
    request: Request, who: Caller,
    from_: Annotated[date | None, Query(alias="from", description="first day of the period (default: 1 January)")] = None,
    to: Annotated[date | None, Query(description="last day of the period (default: today)")] = None,
    body: Annotated[str | None, Query(max_length=40, description="one body (`customs_gz`, `district:nansha`), or "
                                      "`district` for every district government")] = None,
    as_of: Annotated[AwareDatetime | None, Query(description="the instant tasks are measured at (default: now)")] = None,
) -> store.Oversight:
    """Per body: open tasks, overdue tasks (with how many working days late), and the yellow (`DeadlineOverdue`)
    and red (`DeadlineEscalated`) cards recorded in the period. Worst first."""
    require_kind(request, who, "agency", "operator", what="read the deadline oversight")
    if who.body not in _SEES_ALL:
        if body not in (None, who.code):
            raise refused(request, who, f"{who.code} may see its own deadlines only, not {body}")
        body = who.code
    today = services.today()
    period_to = to or today
    period_from = from_ or date(period_to.year, 1, 1)
    if period_from > period_to:
        raise ApiError(422, "invalid", f"the period runs backwards: from {period_from} to {period_to}")
    for name, day in (("from", period_from), ("to", period_to), ("as_of", as_of.date() if as_of else None)):
        if day is not None and not _EARLIEST <= day <= _LATEST:
            raise ApiError(422, "invalid", f"{name} must lie between {_EARLIEST} and {_LATEST}")
    return await store.oversight(deps.pool(request), period_from, period_to, body=body, as_of=as_of)
