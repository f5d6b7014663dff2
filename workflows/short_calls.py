"""Reads a workflow makes of the calendar and the ledger: local activities.

Computing a deadline on the working-day calendar, counting working days, assessing an application,
asking the ledger for the last supply: each takes a few milliseconds. As ordinary activities each cost
two trips through the Temporal server (schedule, poll, complete) and a workflow task more, which made up
about half a licensing lifecycle's activities (bench 1). As local activities they run in the worker
inside the workflow task that asked, and their answer is still kept in history (a marker), so a replay
never re-reads the calendar or the ledger.

Only reads: a local activity's input is recorded when its workflow task completes, not before it runs.
If that task is lost (a Temporal restart, a worker killed), the retried task runs the call again, maybe
with other input. A read then simply answers again; a write could already have happened with the first
input. So recording events (workflows/journal.py) and anything else that writes stays an ordinary
activity: `make chaos` (Temporal restarted) found appends made local stuck on a version the lost task
had already written.

Files recorded before this change scheduled ordinary activities; `workflow.patched` keeps each run on the
kind it began with (a running file switches at its next continue-as-new).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

# workflow.patched id (see docs/operations.md): calendar and ledger reads run as local activities.
LOCAL_READS = "local-calendar-and-ledger-reads"

TIMEOUT = timedelta(seconds=30)


async def read(name: str, arg: Any, *, summary: str, result_type: type | None = None) -> Any:
    """Run read-only activity `name` locally in runs begun after the change, as an ordinary one before."""
    if workflow.patched(LOCAL_READS):
        return await workflow.execute_local_activity(
            name, arg, result_type=result_type, start_to_close_timeout=TIMEOUT, summary=summary)
    return await workflow.execute_activity(
        name, arg, result_type=result_type, start_to_close_timeout=TIMEOUT, summary=summary)
