"""The State Council holiday notice for one year, as a small YAML file an operator can check.

The format is documented in docs/holiday-schedule-format.md. `parse_schedule` is strict: the
schedule it returns becomes official and moves statutory deadlines, so a typo must fail loudly,
naming the entry, rather than silently shift a date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

import yaml
from pydantic import ValidationError

from domain.calendar import YearSchedule

_TOP_KEYS = {"year", "source", "holidays", "workdays"}
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class ScheduleError(ValueError):
    """The schedule text is not a valid holiday notice; the message names the offending entry."""


class _Loader(yaml.SafeLoader):
    """SafeLoader with two traps of YAML 1.1 removed.

    Unquoted `on`/`off`/`yes`/`no` are booleans in YAML 1.1, which would turn the `on:` key of a
    single-day entry into True; only true/false stay booleans here. Duplicate keys normally keep
    the last value silently; here they are an error, since `{on: a, on: b}` is surely a typo.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, date)):
                continue  # only plain scalar keys are compared here
            if key in seen:
                raise ScheduleError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            seen.add(key)
        return super().construct_mapping(node, deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|false)$"), list("tf"))


def _timestamp_or_text(loader: _Loader, node: yaml.ScalarNode) -> object:
    # PyYAML raises a bare ValueError for 2027-13-01; keeping the text lets _date report it
    # with the entry that holds it.
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def parse_schedule(text: str) -> YearSchedule:
    """Parse one year's notice; the result is official and replaces the library for that year."""
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.YAMLError as e:
        raise ScheduleError(f"not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ScheduleError("the schedule must be a YAML mapping with year, source and holidays")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise ScheduleError(f"unknown top-level keys: {', '.join(sorted(map(str, unknown)))}")

    year = doc.get("year")
    if year is None:
        raise ScheduleError("missing 'year'")
    if not isinstance(year, int) or isinstance(year, bool) or not 1 < year < 9999:
        raise ScheduleError(f"'year' must be a year such as 2027, got {year!r}")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ScheduleError("missing 'source': cite the notice, e.g. 国办发明电〔2026〕N号")
    if "holidays" not in doc:
        raise ScheduleError("missing 'holidays'")

    names: dict[date, str] = {}
    holidays = _days_of("holidays", doc["holidays"], year, names)
    workdays = _days_of("workdays", doc.get("workdays") or [], year, names)
    for day, label in workdays.items():
        if day.weekday() < 5:
            raise ScheduleError(
                f"{label}: {day} is a {_WEEKDAY_NAMES[day.weekday()]}; make-up working days "
                "fall on weekends (a weekday is a working day already)"
            )
        if day in holidays:
            raise ScheduleError(f"{label}: {day} is also a day off in {holidays[day]}")

    try:
        return YearSchedule(
            year=year,
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            official=True,
            source=source,
            names=names,
        )
    except ValidationError as e:  # the checks above should make this unreachable
        raise ScheduleError(str(e)) from None


def _days_of(section: str, entries: Any, year: int, names: dict[date, str]) -> dict[date, str]:
    """Every day the section's entries cover, mapped to a label of the entry that lists it."""
    if not isinstance(entries, list):
        raise ScheduleError(f"'{section}' must be a list of entries")
    days: dict[date, str] = {}
    for i, entry in enumerate(entries, start=1):
        label = f"{section} entry {i}"
        if not isinstance(entry, dict):
            raise ScheduleError(f"{label}: expected {{on: DATE}} or {{from: DATE, to: DATE}}")
        name = entry.get("name")
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise ScheduleError(f"{label}: 'name' must be non-empty text")
            label = f"{label} ({name})"
        keys = set(entry) - {"name"}
        if keys == {"on"}:
            first = last = _date(label, "on", entry["on"])
        elif keys == {"from", "to"}:
            first, last = _date(label, "from", entry["from"]), _date(label, "to", entry["to"])
            if last < first:
                raise ScheduleError(f"{label}: 'to' {last} is before 'from' {first}")
        else:
            listed = ", ".join(sorted(map(str, set(entry)))) or "nothing"
            raise ScheduleError(
                f"{label}: expected keys on, or from and to (plus optional name); got {listed}"
            )
        for day in _each_day(first, last):
            if day.year != year:
                raise ScheduleError(
                    f"{label}: {day} is outside {year}; each file holds one calendar year "
                    "(put a late-December make-up day in the previous year's file)"
                )
            if day in days:
                raise ScheduleError(f"{label}: {day} is already listed in {days[day]}")
            days[day] = label
            if name is not None:
                names[day] = name
    return days


def _date(label: str, key: str, value: Any) -> date:
    # YAML reads 2027-01-01 as a date already; quoted ISO text is accepted too. A datetime is
    # refused because a time of day has no meaning in a holiday notice.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{label}: '{key}' must be a date like 2027-01-01, got {value!r}")


def _each_day(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=k) for k in range((last - first).days + 1))


def dump_schedule(schedule: YearSchedule) -> str:
    """The schedule in the format `parse_schedule` reads; consecutive same-name days are merged.

    `parse_schedule(dump_schedule(s)) == s` for every official schedule. A non-official one
    (the library's guess for a year without a notice) is dumped with a warning header, since
    loading it back would make the guess official.
    """
    lines = [f"# Holiday schedule for {schedule.year} (format: docs/holiday-schedule-format.md)"]
    if not schedule.official:
        lines += [
            "# NOT OFFICIAL: computed from the statutory holidays only, without make-up working",
            "# days. Correct it against the State Council notice before loading it.",
        ]
    lines += [f"year: {schedule.year}", f"source: {_quoted(schedule.source)}"]
    for section, days in (("holidays", schedule.holidays), ("workdays", schedule.workdays)):
        entries = _entries(sorted(days), schedule.names)
        lines.append(f"{section}:" if entries else f"{section}: []")
        lines += (f"  - {{{entry}}}" for entry in entries)
    return "\n".join(lines) + "\n"


def _entries(days: list[date], names: Mapping[date, str]) -> list[str]:
    runs: list[list[date]] = []
    for day in days:
        last = runs[-1][-1] if runs else None
        if last and day - last == timedelta(days=1) and names.get(day) == names.get(last):
            runs[-1].append(day)
        else:
            runs.append([day])
    entries = []
    for run in runs:
        span = f"on: {run[0]}" if len(run) == 1 else f"from: {run[0]}, to: {run[-1]}"
        name = names.get(run[0])
        entries.append(span if name is None else f"{span}, name: {_quoted(name)}")
    return entries


def _quoted(text: str) -> str:
    # Let PyYAML quote: it escapes the line breaks and non-printables that JSON-style quoting
    # would leave raw and YAML would then fold or reject.
    out = yaml.safe_dump(text, default_style='"', allow_unicode=True, width=float("inf"))
    return out.rstrip("\n")
