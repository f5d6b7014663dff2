"""What every part of a licensing procedure shares: who the system is, how a body is refused, where a
file's tasks go, the deadline computation, and the `workflow.patched` ids of the procedure's changes."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.calendar import Deadline, DeadlineRequest
    from domain.application import Application
    from domain.authority import Actor, NotAuthorised, Step, authorise
    from domain.events import EventType as E
    from workflows import short_calls
    from workflows.licensing_messages import Decide, DeadlineView

SYSTEM = "system"
ACTIVITY_TIMEOUT = timedelta(seconds=30)

# workflow.patched ids, one per change to the commands a running file replays (see docs/operations.md).
JOINT_REVIEW_CARDS = "joint-review-deadlines-first-and-cards"
UPDATES_WAIT_FOR_NEXT_STAGE = "updates-return-at-the-next-stage"
DECISION_LAPSE_TO_HOLDERS = "decision-lapse-carded-to-the-bodies-holding-the-file"

# What a decision records: the owner says which event and what it carries (a permit number, a new
# validity, the changed matters).
DecisionHook = Callable[[Decide], Awaitable[tuple[E, dict]]]


class Withdrawn(Exception):
    pass


async def compute_deadline(label: str, start: date, workdays: int) -> DeadlineView:
    """A statutory period on the working-day calendar, through the activity (answer kept in history)."""
    d = await short_calls.read(
        "compute_deadline", DeadlineRequest(label=label, start=start, workdays=workdays),
        result_type=Deadline, summary=label,
    )
    return DeadlineView(label=label, due_date=d.due_date, ends_at=d.ends_at, provisional=d.provisional,
                        start=start, workdays=workdays)


def authorised(actor: Actor, step: Step, app: Application, **kw) -> None:
    """Refuse (and log) unless `actor` is the body the measures name for `step` on this file."""
    try:
        authorise(actor, step, district=app.enterprise.district, credit_code=app.enterprise.credit_code, **kw)
    except NotAuthorised as e:
        workflow.logger.warning("refused: %s", e)
        raise refuse("NotAuthorised", str(e)) from None


def district_of(app: Application) -> str:
    return f"district:{app.enterprise.district.value}"


def applicant_of(app: Application) -> str:
    return f"enterprise:{app.enterprise.credit_code}"


def refuse(kind: str, message: str) -> ApplicationError:
    # The type tells the gateway which HTTP answer to give (403 / 409 / 422).
    return ApplicationError(message, type=kind, non_retryable=True)
