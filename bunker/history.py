"""The Temporal history of a file's workflow, every run of it, told in the regulation's words.

A file is one workflow id (`application/<id>`) over several runs: the application's, then the permit's
after approval (a continue-as-new hand-over), then a new run of the permit whenever its history grows
long. `fetch_runs` walks them from the first (`first_execution_run_id` of the latest run's start event)
along each run's continued-as-new link; `summarise` turns each run's events into lines: activities by
their summaries ("compute Art. 9 completeness notice", "record Accepted (Art. 9)"), timers with their
summaries and when they fire, updates accepted and completed or rejected with who sent what, signals,
hand-overs. Workflow-task bookkeeping is left out unless asked for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import PayloadConverter


@dataclass(frozen=True)
class Run:
    number: int  # 1 = the first run (the application's)
    run_id: str
    workflow_type: str
    events: list[HistoryEvent]


@dataclass
class Line:
    run: int
    event_id: int
    at: datetime
    kind: str  # start, activity, timer, update, signal, hand-over, continue, end, marker, other
    text: str
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


async def fetch_runs(client: Client, workflow_id: str, on_run: Callable[[int, int], None] | None = None) -> list[Run]:
    """Every run of `workflow_id`, first to last; `on_run(run number, events)` as each one arrives."""
    latest = await client.get_workflow_handle(workflow_id).describe()
    first = await _events(client, workflow_id, latest.run_id, limit=1)
    run_id = first[0].workflow_execution_started_event_attributes.first_execution_run_id or latest.run_id
    runs: list[Run] = []
    while True:
        events = await _events(client, workflow_id, run_id)
        started = events[0].workflow_execution_started_event_attributes
        runs.append(Run(len(runs) + 1, run_id, started.workflow_type.name, events))
        if on_run is not None:
            on_run(len(runs), len(events))
        last = events[-1]
        if run_id == latest.run_id or last.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            return runs
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id


async def _events(client: Client, workflow_id: str, run_id: str, limit: int | None = None) -> list[HistoryEvent]:
    events = []
    async for e in client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history_events():
        events.append(e)
        if limit is not None and len(events) >= limit:
            break
    return events


# What each activity does, as a verb before its summary (the summary names the article).
_ACTIVITY_VERBS = {
    "compute_deadline": "compute",
    "count_workdays": "count the working days paused",
    "assess_application": "",  # "Art. 5-7 assessment"
    "register_ban": "register the ban",
    "next_permit_number": "number the permit",
    "last_supply_at": "ask the ledger:",
    "append_events": "",  # its summary says it: "record Accepted (Art. 9)"
}
_QUIET = {
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
}


class _Reader:
    """One run's events into lines; remembers what was scheduled, so completions name it."""

    def __init__(self, converter: PayloadConverter, run: Run, everything: bool) -> None:
        self.converter, self.run, self.everything = converter, run, everything
        self.lines: list[Line] = []
        self.activities: dict[int, Line] = {}
        self.timers: dict[str, Line] = {}
        self.updates: dict[int, str] = {}

    def _activity_line(self, e: HistoryEvent, name: str) -> Line:
        verb = _ACTIVITY_VERBS.get(name, name)
        text = " ".join(x for x in (verb, self.summary(e)) if x) or name
        return self.add(e, "activity", text, activity=name)

    def _local_activity(self, e: HistoryEvent) -> None:
        """A local activity leaves one marker: what ran (`data`) and what it answered (`result`)."""
        details = e.marker_recorded_event_attributes.details
        data = details.get("data")
        info = self.decode(data.payloads[0]) if data is not None and data.payloads else None
        name = info.get("activity_type", "local activity") if isinstance(info, dict) else "local activity"
        line = self._activity_line(e, name)
        result = details.get("result")
        if result is not None and result.payloads:
            line.detail = _activity_result(name, self.decode(result.payloads[0]))

    def decode(self, payload: Payload) -> Any:
        try:
            return self.converter.from_payload(payload)
        except Exception:  # a payload this code cannot read is shown as such, never fails the listing
            return "<undecodable>"

    def summary(self, e: HistoryEvent) -> str:
        return str(self.decode(e.user_metadata.summary)) if e.user_metadata.HasField("summary") else ""

    def add(self, e: HistoryEvent, kind: str, text: str, detail: str = "", **extra: Any) -> Line:
        line = Line(self.run.number, e.event_id, e.event_time.ToDatetime(tzinfo=UTC), kind, text, detail, extra)
        self.lines.append(line)
        return line

    def read(self, e: HistoryEvent) -> None:
        t = e.event_type
        E = EventType
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = e.workflow_execution_started_event_attributes
            summary = self.summary(e)
            if a.continued_execution_run_id:
                self.add(e, "start", f"{a.workflow_type.name} run {self.run.number}, continued from run "
                         f"{a.continued_execution_run_id[:8]}", summary)
            else:
                self.add(e, "start", f"started {a.workflow_type.name}", summary)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            self.activities[e.event_id] = self._activity_line(e, e.activity_task_scheduled_event_attributes.activity_type.name)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            a = e.activity_task_completed_event_attributes
            line = self.activities.get(a.scheduled_event_id)
            if line is not None:
                result = [self.decode(p) for p in a.result.payloads]
                line.detail = _activity_result(line.extra.get("activity"), result[0] if result else None)
        elif t in (E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
                   E.EVENT_TYPE_ACTIVITY_TASK_CANCELED):
            a = (e.activity_task_failed_event_attributes if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED
                 else e.activity_task_timed_out_event_attributes if t == E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT
                 else e.activity_task_canceled_event_attributes)
            line = self.activities.get(a.scheduled_event_id)
            what = line.text if line else "an activity"
            message = getattr(getattr(a, "failure", None), "message", "") or ""
            self.add(e, "activity", f"{_event_name(t)}: {what}", message)
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            a = e.timer_started_event_attributes
            summary = self.summary(e)
            fires = e.event_time.ToDatetime(tzinfo=UTC) + a.start_to_fire_timeout.ToTimedelta()
            self.timers[a.timer_id] = self.add(e, "timer", f"wait: {summary}" if summary else "wait (a timer without summary)",
                                               f"fires {fires:%Y-%m-%d %H:%M} UTC (in {_span(a.start_to_fire_timeout.ToTimedelta())})")
        elif t == E.EVENT_TYPE_TIMER_FIRED:
            started = self.timers.get(e.timer_fired_event_attributes.timer_id)
            self.add(e, "timer", f"time is up: {started.text.removeprefix('wait: ') if started else 'a timer'}")
        elif t == E.EVENT_TYPE_TIMER_CANCELED:
            started = self.timers.get(e.timer_canceled_event_attributes.timer_id)
            if started is not None:
                started.detail += " · cancelled (what it waited for came first)"
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            a = e.workflow_execution_update_accepted_event_attributes
            name = a.accepted_request.input.name
            args = [self.decode(p) for p in a.accepted_request.input.args.payloads]
            self.updates[e.event_id] = name
            actor, body = _actor_and_body(args[0] if args else None)
            self.add(e, "update", f"{name} by {actor}", body, update_id=a.accepted_request.meta.update_id)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            a = e.workflow_execution_update_completed_event_attributes
            name = self.updates.get(a.accepted_event_id, "update")
            if a.outcome.HasField("failure"):
                self.add(e, "update", f"{name} rejected", a.outcome.failure.message)
            else:
                result = [self.decode(p) for p in a.outcome.success.payloads]
                self.add(e, "update", f"{name} done", _outcome(result[0] if result else None))
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_REJECTED:
            a = e.workflow_execution_update_rejected_event_attributes
            self.add(e, "update", f"{a.rejected_request.input.name} rejected", a.failure.message)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
            a = e.workflow_execution_signaled_event_attributes
            args = [self.decode(p) for p in a.input.payloads]
            self.add(e, "signal", f"signal {a.signal_name}", _short(args[0]) if args else "")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            a = e.workflow_execution_continued_as_new_event_attributes
            if a.workflow_type.name != self.run.workflow_type:
                self.add(e, "hand-over", f"hand-over: continued as new as {a.workflow_type.name}",
                         f"run {a.new_execution_run_id[:8]}")
            else:
                self.add(e, "continue", f"continued as new ({len(self.run.events)} events in this run)",
                         f"run {a.new_execution_run_id[:8]}")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = [self.decode(p) for p in e.workflow_execution_completed_event_attributes.result.payloads]
            self.add(e, "end", "completed", _outcome(result[0] if result else None))
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            self.add(e, "end", "terminated", e.workflow_execution_terminated_event_attributes.reason)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            self.add(e, "end", "failed", e.workflow_execution_failed_event_attributes.failure.message)
        elif t in (E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED, E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT):
            self.add(e, "end", _event_name(t))
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            a = e.marker_recorded_event_attributes
            data = a.details.get("patch-data")
            patch = self.decode(data.payloads[0]) if data is not None and data.payloads else None
            if isinstance(patch, dict) and patch.get("id"):  # workflow.patched(...): which code path a run took
                self.add(e, "marker", f"code version: patch {patch['id']}", "deprecated" if patch.get("deprecated") else "")
            elif a.marker_name == LOCAL_ACTIVITY_MARKER:  # a local activity (workflows/short_calls.py): its answer
                self._local_activity(e)
            else:
                self.add(e, "marker", f"marker {a.marker_name}")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_TIME_SKIPPING_TRANSITIONED:
            self.add(e, "other", "time skipped (test server)")
        elif t not in _QUIET or self.everything:
            self.add(e, "other", _event_name(t))


LOCAL_ACTIVITY_MARKER = "core_local_activity"


def summarise(converter: PayloadConverter, runs: list[Run], *, everything: bool = False) -> list[Line]:
    lines: list[Line] = []
    for run in runs:
        reader = _Reader(converter, run, everything)
        for e in run.events:
            reader.read(e)
        lines += reader.lines
    return lines


def _event_name(t: int) -> str:
    return EventType.Name(t).removeprefix("EVENT_TYPE_").lower().replace("_", " ")


def _span(d: timedelta) -> str:
    if d >= timedelta(days=1):
        return f"{d.total_seconds() / 86400:.1f} days"
    if d >= timedelta(hours=1):
        return f"{d.total_seconds() / 3600:.1f} h"
    return f"{int(d.total_seconds())} s"


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _actor_and_body(arg: Any) -> tuple[str, str]:
    """Who sent an update (the message's actor, as events name it) and what else it said."""
    if not isinstance(arg, dict):
        return "?", _short(arg) if arg is not None else ""
    actor = arg.get("actor") or {}
    body = actor.get("body", "?")
    code = (f"district:{actor.get('district')}" if body == "district" else
            f"enterprise:{actor.get('credit_code')}" if body == "enterprise" else body)
    rest = {k: v for k, v in arg.items() if k not in ("actor", "idempotency_key")}
    for big in ("application",):  # a whole application is on file in the event store; name it only
        if isinstance(rest.get(big), dict):
            rest[big] = f"<{big} of {rest[big].get('enterprise', {}).get('name', '?')}>"
    return code, _short(rest) if rest else ""


def _activity_result(activity: str | None, value: Any) -> str:
    if activity == "append_events":  # how many events were new: 0 is a retry of an append already made
        return "recorded" if value else "already recorded (a retry)"
    if isinstance(value, dict) and "due_date" in value:  # a deadline: its last day
        return f"due {value['due_date']}{' (provisional)' if value.get('provisional') else ''}"
    if activity == "assess_application" and isinstance(value, dict):
        return f"complete: {value.get('complete')}, eligible: {value.get('eligible')}"
    if activity == "last_supply_at":
        return f"last supply {value}" if value else "no supply yet"
    return "done" if value is None else _short(value)


def _outcome(value: Any) -> str:
    if isinstance(value, dict):
        parts = [str(value[k]) for k in ("stage", "status", "detail") if value.get(k) not in (None, "")]
        return _short(" · ".join(parts)) if parts else _short(value)
    return "" if value is None else _short(value)
