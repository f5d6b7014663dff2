"""Short reads and idempotent writes a workflow makes to its own store: local activities.

Recording an event, computing a deadline on the working-day calendar, asking the ledger for the last
supply: each takes a few milliseconds of PostgreSQL. As ordinary activities each cost two trips through
the Temporal server (schedule, poll, complete) and a workflow task more, which dominated an agency's wait
for its decision to be recorded (bench 2) and the throughput of licensing (bench 1). As local activities
they run in the worker inside the workflow task that asked, and their result is still kept in history
(a marker), so a replay never re-reads the calendar or the ledger. They are safe here because each is
idempotent (appends check the stored row) or a pure read, and retries are the same: a worker that dies
mid-call fails the workflow task, and the next attempt runs the call again.

Files recorded before this change scheduled ordinary activities; `workflow.patched` keeps each run on the
kind it began with (a running file switches at its next continue-as-new).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

# workflow.patched id (see docs/operations.md): store and calendar calls run as local activities.
LOCAL_STORE_CALLS = "local-store-and-calendar-calls"

TIMEOUT = timedelta(seconds=30)


async def call(
    name: str,
    arg: Any,
    *,
    summary: str,
    result_type: type | None = None,
    retry_policy: RetryPolicy | None = None,
) -> Any:
    """Run activity `name` locally in runs begun after the change, as an ordinary activity before it."""
    if workflow.patched(LOCAL_STORE_CALLS):
        return await workflow.execute_local_activity(
            name, arg, result_type=result_type, start_to_close_timeout=TIMEOUT, retry_policy=retry_policy,
            summary=summary,
        )
    return await workflow.execute_activity(
        name, arg, result_type=result_type, start_to_close_timeout=TIMEOUT, retry_policy=retry_policy,
        summary=summary,
    )
