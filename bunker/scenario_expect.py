"""Whether a scenario's expectations hold: pure checks over the file's status and the event timeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic_core import to_jsonable_python

from bunker.scenario_format import Expect, canonical_deadline, deadline_label
from domain.calendar import WorkingCalendar
from domain.eligibility import years_after
from store.event_store import StoredEvent
from workflows.licensing_messages import LicensingStatus


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    detail: str = ""


@dataclass(frozen=True)
class View:
    """The moment an expectation is checked at."""

    status: LicensingStatus  # of the current file (the latest application of the scenario)
    timeline: list[StoredEvent]  # every file of the scenario, in order
    file_events: list[StoredEvent]  # the current file's
    first_due: dict[str, date]  # each deadline's due date when the runner first saw it
    today: date
    calendar: WorkingCalendar
    code_of: Callable[[str], str]  # `district` -> `district:nansha`, as in a step's `by`


def evaluate(e: Expect, v: View, where: str) -> list[Check]:
    checks: list[Check] = []

    def check(ok: bool, what: str, failure: str = "") -> None:
        checks.append(Check(ok, f"{where}: {what}", "" if ok else failure))

    types = [x.event_type for x in v.timeline]
    if e.stage is not None:
        check(v.status.stage is e.stage, f"stage is {e.stage.value}", f"it is {v.status.stage.value}")
    if e.events:
        missing = _not_in_order([t.value for t in e.events], types)
        check(missing is None, "events in order: " + ", ".join(t.value for t in e.events),
              f"no {missing} after the ones before it; timeline: {', '.join(types)}")
    for t in e.not_events:
        check(t.value not in types, f"no {t.value}", f"{types.count(t.value)} recorded")
    for t, n in e.counts.items():
        check(types.count(t.value) == n, f"{n} × {t.value}", f"{types.count(t.value)} recorded")
    for t, article in e.articles.items():
        cited = [x.article for x in v.timeline if x.event_type == t.value]
        check(bool(cited) and set(cited) == {article}, f"{t.value} cites {article}",
              f"cited: {', '.join(cited)}" if cited else f"no {t.value} recorded")
    for t, fields in e.data.items():
        last = next((x for x in reversed(v.timeline) if x.event_type == t.value), None)
        for key, want in fields.items():
            got = last.payload.get(key, "(absent)") if last else f"(no {t.value})"
            want = to_jsonable_python(want)
            check(got == want, f"{t.value}.{key} = {_show(want)}", f"it is {_show(got)}")
    for name, d in e.deadlines.items():
        checks += _deadline(name, d, v, where)
    if e.accepted_on is not None:
        want = _accepted_on(e.accepted_on, v)
        check(v.status.accepted_on == want, f"accepted on {e.accepted_on} ({want})", f"accepted on {v.status.accepted_on}")
        accepted = [x for x in v.file_events if x.event_type in ("Accepted", "DeemedAccepted")]
        if accepted:
            got = accepted[-1].payload.get("accepted_on")
            check(got == str(want), f"{accepted[-1].event_type} dated {want}", f"dated {got}")
    if e.pending is not None:
        want_codes = sorted({v.code_of(p) for p in e.pending})
        check(sorted(set(v.status.pending)) == want_codes, f"waiting on {', '.join(want_codes) or 'nobody'}",
              f"waiting on {', '.join(sorted(set(v.status.pending))) or 'nobody'}")
    if e.validity_years is not None:
        s = v.status
        ok = s.valid_from is not None and s.valid_until == years_after(s.valid_from, e.validity_years) - timedelta(days=1)
        check(ok, f"valid {e.validity_years} years from the decision ({s.valid_from} – {s.valid_until})",
              "no permit" if s.valid_from is None else f"valid until {s.valid_until}")
    return checks


def _deadline(name: str, d: Any, v: View, where: str) -> list[Check]:
    found = next((x for x in v.status.deadlines if x.label == deadline_label(name)), None)
    if found is None:
        return [Check(False, f"{where}: {name} deadline", "the file has no such deadline")]
    out: list[Check] = []

    def check(ok: bool, what: str, failure: str) -> None:
        out.append(Check(ok, f"{where}: {name} deadline {what}", "" if ok else failure))

    if d.state is not None:
        check(found.state == d.state, f"{d.state} (due {found.due_date})", f"it is {found.state}")
    if d.provisional is not None:
        check(found.provisional == d.provisional, f"provisional={d.provisional}", f"provisional={found.provisional}")
    if d.moved_by_workdays is not None:
        first = v.first_due.get(canonical_deadline(name))
        moved = _signed_workdays(v.calendar, first, found.due_date) if first else None
        check(moved == d.moved_by_workdays, f"moved by {d.moved_by_workdays} working days ({first} → {found.due_date})",
              f"moved by {moved}")
    return out


def _accepted_on(spec: Any, v: View) -> date | None:
    if spec == "today":
        return v.today
    if spec == "receipt_day":
        received = next((x for x in v.file_events if x.event_type == "ApplicationReceived"), None)
        return date.fromisoformat(received.payload["received_on"]) if received else None
    return spec


def _not_in_order(wanted: list[str], types: list[str]) -> str | None:
    """The first of `wanted` not found (in order) in `types`, or None if all are."""
    it = iter(types)
    for w in wanted:
        if not any(t == w for t in it):
            return w
    return None


def _signed_workdays(cal: WorkingCalendar, a: date, b: date) -> int:
    return cal.workdays_between(a, b) if b >= a else -cal.workdays_between(b, a)


def _show(v: Any) -> str:
    return repr(v) if isinstance(v, str) else str(v)
