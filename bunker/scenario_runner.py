"""Runs a scenario (bunker/scenario_format.py) against Temporal with time skipping and PostgreSQL.

Each file's workflow starts with time skipping off, so nothing happens before the script says so; the
runner then moves that workflow's clock itself (`env.fast_forward`), and the server skips only while the
workflow is idle, so every timer due on the way fires, in order, and its work is done before the next step.
After every step the runner waits until the workflow is idle again (no workflow task, no activity): then
the event store holds everything the step caused.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time as clock_time, timedelta
from typing import Any

from temporalio import client as tc
from temporalio.service import RPCError, RPCStatusCode

from bunker import services
from bunker.scenario_expect import Check, View, evaluate
from bunker.scenario_format import (
    APPLICATION_STEPS, Act, Advance, Expect, Fixture, Reapply, Refusal, Scenario, apply_overrides, deadline_label,
    deadline_name,
    parse_by,
)
from bunker.scenario_harness import Harness, delaying_client, start_delay
from domain.application import Application
from domain.calendar import SHANGHAI, WorkingCalendar
from domain.identifiers import make_credit_code
from store import event_store
from store.holidays import official_schedules
from workflows.licensing import PermitApplication
from workflows.licensing_messages import DeadlineView, LicensingStatus, Outcome

SETTLE_TIMEOUT = 30.0


@dataclass
class Result:
    name: str
    source: str
    timeline: list[dict[str, Any]]
    checks: list[Check]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


async def run(scenario: Scenario, harness: Harness, source: str = "") -> Result:
    started = time.monotonic()
    r = _Run(scenario, harness)
    await r.run()
    timeline = [_row(e) for f in r.files for e in await event_store.read_stream(harness.pool, f.application_id)]
    return Result(scenario.name, source, timeline, r.checks, time.monotonic() - started)


def _row(e: event_store.StoredEvent) -> dict[str, Any]:
    return {"type": e.event_type, "article": e.article, "actor": e.actor,
            "occurred_at": e.occurred_at.astimezone(SHANGHAI).isoformat(), "data": e.payload,
            "application": e.stream_id}


class _StepFailed(Exception):
    pass


@dataclass
class _File:
    application_id: str
    handle: tc.WorkflowHandle  # the workflow id: whatever run is current (the permit's, after approval)
    application_run: tc.WorkflowHandle  # the application's own run, which answers the status query
    app: Application


# The example gets a fresh credit code per run, so that one scenario's Art. 24 ban does not bar the next.
_RUN_NUMBERS = itertools.count(1)


@dataclass
class _Run:
    scenario: Scenario
    h: Harness
    checks: list[Check] = field(default_factory=list)
    files: list[_File] = field(default_factory=list)
    shift: timedelta = timedelta(0)  # time moved on while the current file's workflow has ended
    first_due: dict[tuple[str, str], date] = field(default_factory=dict)  # (file, deadline) -> first due date

    async def run(self) -> None:
        self.client = delaying_client(self.h.env.client)
        self.calendar = WorkingCalendar(await official_schedules(self.h.pool))
        s = self.scenario
        at = datetime.combine(s.start_on, clock_time(9), SHANGHAI) if s.start_on else datetime.now(UTC)
        if s.start_on and at < datetime.now(UTC):
            self.checks.append(Check(False, "start", f"start_on {s.start_on} 09:00 Asia/Shanghai has passed"))
            return
        app = s.application
        if isinstance(app, Fixture):
            app = app.build(WorkingCalendar.local_date(at), make_credit_code(f"91440115MA{next(_RUN_NUMBERS):07d}"))
        try:
            await self._submit(app, at)
            for i, step in enumerate(s.steps, 1):
                kind = next(iter(type(step).model_fields))
                try:
                    await getattr(self, f"_{kind}")(i, getattr(step, kind))
                except _StepFailed as e:
                    raise _StepFailed(str(e) if str(e).startswith("step ") else f"step {i}: {kind}: {e}") from None
                await self._note_deadlines()
        except _StepFailed as e:
            self.checks.append(Check(False, str(e), "the remaining steps were not run"))
        except services.IntakeRefused as e:
            self.checks.append(Check(False, "start: refused at intake", str(e)))
            return
        self.checks += evaluate(s.expect, await self._view(), "expect")

    # ------------------------------------------------------------------ the steps
    async def _advance(self, i: int, a: Advance) -> None:
        now = await self._now()
        target = await self._target(a, now)
        if target <= now:
            raise _StepFailed(f"step {i}: advance to {_local(target)}: that is not after now ({_local(now)})")
        if await self._running():
            await self.h.env.fast_forward(self.file.handle, target - now)
            await self._settle()
            if not await self._running():  # it ended on the way: the rest of the way, time just passes
                self.shift += max(target - await self._now(), timedelta(0))
        else:
            self.shift += target - now

    async def _act(self, i: int, act: Act) -> None:
        for by in act.actors:
            e = self.file.app.enterprise
            actor = parse_by(by, e.district, e.credit_code)
            corrected = None
            if act.step in APPLICATION_STEPS:
                fields = act.fields
                corrected = (Application.model_validate(fields["application"]) if "application" in fields
                             else Application.model_validate(apply_overrides(self.file.app.model_dump(),
                                                                             fields.get("overrides", {}))))
            label = f"step {i}: {by} {act.step}"
            try:
                outcome = await self.file.handle.execute_update(
                    act.update, act.message(actor, corrected), result_type=Outcome)
            except tc.WorkflowUpdateFailedError as err:
                refusal = _refusal(err.cause)
            except RPCError as err:
                if err.status is not RPCStatusCode.NOT_FOUND:
                    raise
                refusal = ("Closed", err.message)  # the workflow has ended: no validator is left to answer
            else:
                refusal = None
                if act.step == "submit_corrections":  # renewals and changes apply only when approved
                    self.file.app = corrected
            self._judge(label, act.expect_refused, refusal, outcome.detail if refusal is None else "")
            await self._settle()

    async def _reapply(self, i: int, r: Reapply) -> None:
        if r.after_days:
            await self._advance(i, Advance(days=r.after_days))
        at = await self._now()
        try:
            await self._submit(self.file.app, at)
        except services.IntakeRefused as err:
            self._judge(f"step {i}: reapply on {_local(at).date()}", r.expect_refused, ("IntakeRefused", str(err)), "")
        else:
            self._judge(f"step {i}: reapply on {_local(at).date()}", r.expect_refused, None,
                        f"received as {self.file.application_id}")

    async def _expect(self, i: int, e: Expect) -> None:
        self.checks += evaluate(e, await self._view(), f"step {i}: expect")

    def _judge(self, label: str, expected: Refusal | None, refusal: tuple[str, str] | None, applied: str) -> None:
        if expected is None:
            if refusal is not None:
                raise _StepFailed(f"{label}: refused ({refusal[0]}: {refusal[1]})")
            return
        want = expected.type or "a refusal"
        if refusal is None:
            raise _StepFailed(f"{label}: expected {want}, but it was applied ({applied})")
        kind, message = refusal
        if expected.type not in (None, kind) or (expected.message_contains or "") not in message:
            contains = f" saying {expected.message_contains!r}" if expected.message_contains else ""
            raise _StepFailed(f"{label}: expected {want}{contains}, got {kind}: {message}")
        self.checks.append(Check(True, f"{label} refused", f"{kind}: {message}"))

    # ------------------------------------------------------------------ the file and its clock
    @property
    def file(self) -> _File:
        return self.files[-1]

    async def _submit(self, app: Application, at: datetime) -> None:
        """Receive `app` at `at`: a later moment delays the workflow's start, then skips through the delay."""
        delay = at - datetime.now(UTC)
        later = delay > timedelta(seconds=1)
        with self.h.env.with_time_skipping_disabled(), start_delay(delay if later else None):
            started = await services.submit_application(self.client, self.h.pool, self.h.task_queue, app, at)
        handle = services.application_handle(self.client, started.application_id)
        run_id = (await handle.describe()).run_id
        self.files.append(_File(started.application_id, handle,
                                self.client.get_workflow_handle_for(PermitApplication.run, handle.id, run_id=run_id), app))
        self.shift = timedelta(0)
        if later:
            await self.h.env.fast_forward(self.file.handle, delay)
        await self._settle()
        await self._note_deadlines()

    async def _now(self) -> datetime:
        return await self.h.env.get_current_time(self.file.handle) + self.shift

    async def _running(self) -> bool:
        return (await self.file.handle.describe()).status == tc.WorkflowExecutionStatus.RUNNING

    async def _settle(self) -> None:
        """Wait until the workflow is idle: what the last step caused is then in the event store."""
        give_up = time.monotonic() + SETTLE_TIMEOUT
        while True:
            d = await self.file.handle.describe()
            raw = d.raw_description
            if d.status != tc.WorkflowExecutionStatus.RUNNING:
                return
            task = raw.pending_workflow_task if raw.HasField("pending_workflow_task") else None
            if task is None and not raw.pending_activities:
                return
            failing = [f"activity {a.activity_type.name}: {a.last_failure.message}"
                       for a in raw.pending_activities if a.attempt > 2]
            if task is not None and task.attempt > 1:  # a workflow task fails again only for a bug
                failing.append(f"workflow task failing (attempt {task.attempt}): {await self._task_failure()}")
            if failing or time.monotonic() > give_up:
                raise _StepFailed(f"{self.file.application_id} did not settle: "
                                  + ("; ".join(failing) or f"still busy after {SETTLE_TIMEOUT:.0f}s"))
            await asyncio.sleep(0.02)

    async def _task_failure(self) -> str:
        last = "see the worker log"
        async for ev in self.file.handle.fetch_history_events():
            if ev.HasField("workflow_task_failed_event_attributes"):
                last = ev.workflow_task_failed_event_attributes.failure.message
        return last

    async def _status(self) -> LicensingStatus:
        return await self.file.application_run.query(PermitApplication.status)

    async def _deadline(self, name: str) -> DeadlineView:
        status = await self._status()
        found = next((d for d in status.deadlines if d.label == deadline_label(name)), None)
        if found is None:
            has = ", ".join(deadline_name(d.label) or d.label for d in status.deadlines) or "none"
            raise _StepFailed(f"no {name} deadline (yet); the file has: {has}")
        return found

    async def _target(self, a: Advance, now: datetime) -> datetime:
        today = WorkingCalendar.local_date(now)
        if a.workdays:
            return now + (self.calendar.add_workdays(today, a.workdays).date - today)
        if a.days:
            return now + timedelta(days=a.days)
        if a.until:
            return datetime.combine(a.until, _local(now).timetz())
        if a.until_deadline:
            due = (await self._deadline(a.until_deadline.name)).due_date
            due = self.calendar.add_workdays(due, a.until_deadline.plus_workdays).date
            return WorkingCalendar.deadline_end(due) + timedelta(minutes=1)
        before = a.days_before_deadline
        return (await self._deadline(before.name)).ends_at - timedelta(days=before.days, hours=1)

    async def _note_deadlines(self) -> None:
        for d in (await self._status()).deadlines:
            name = deadline_name(d.label)
            if name and (self.file.application_id, name) not in self.first_due:
                self.first_due[(self.file.application_id, name)] = d.due_date

    async def _view(self) -> View:
        events = [e for f in self.files for e in await event_store.read_stream(self.h.pool, f.application_id)]
        e = self.file.app.enterprise
        return View(
            status=await self._status(), timeline=events,
            file_events=[x for x in events if x.stream_id == self.file.application_id],
            first_due={n: d for (app_id, n), d in self.first_due.items() if app_id == self.file.application_id},
            today=WorkingCalendar.local_date(await self._now()), calendar=self.calendar,
            code_of=lambda by: parse_by(by, e.district, e.credit_code).code,
        )


def _refusal(cause: BaseException | None) -> tuple[str, str]:
    kind, message = getattr(cause, "type", None) or type(cause).__name__, getattr(cause, "message", str(cause))
    if "expected but not found" in message:  # handed over to the permit's workflow, which has no such step
        return "Closed", message
    return kind, message


def _local(t: datetime) -> datetime:
    return t.astimezone(SHANGHAI)
