"""Loading the State Council holiday notice from its YAML transcription."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import WorkingCalendar, YearSchedule, baseline_schedule
from domain.holiday_schedule import ScheduleError, dump_schedule, parse_schedule

FORMAT_DOC = Path(__file__).parents[2] / "docs" / "holiday-schedule-format.md"

# TEST DATA, NOT THE REAL 2027 NOTICE.
EXAMPLE_2027 = """\
year: 2027
source: 国务院办公厅关于2027年部分节假日安排的通知（测试数据）
holidays:
  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
  - {from: 2027-02-05, to: 2027-02-13, name: 春节}
  - {on: 2027-06-09, name: 端午节}
  - {on: "2027-09-15"}
workdays:
  - {on: 2027-01-31, name: 春节调休上班}
  - {on: 2027-02-20, name: 春节调休上班}
"""


def _doc_example() -> str:
    return re.search(r"```yaml\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.S).group(1)


def test_parses_a_notice_into_an_official_schedule():
    s = parse_schedule(EXAMPLE_2027)
    assert s.year == 2027 and s.official
    assert s.source.startswith("国务院办公厅")
    assert len(s.holidays) == 3 + 9 + 1 + 1
    assert date(2027, 2, 13) in s.holidays and date(2027, 2, 14) not in s.holidays
    assert s.workdays == {date(2027, 1, 31), date(2027, 2, 20)}
    assert s.names[date(2027, 2, 7)] == "春节"
    assert date(2027, 9, 15) not in s.names  # name is optional; quoted ISO dates are accepted


def test_documented_example_matches_the_official_2026_schedule_day_by_day():
    s = parse_schedule(_doc_example())
    loaded, library = WorkingCalendar(overrides={2026: s}), WorkingCalendar()
    day = date(2026, 1, 1)
    while day.year == 2026:
        assert loaded.is_working_day(day) == library.is_working_day(day), day
        day += timedelta(days=1)
    assert loaded.add_workdays(date(2026, 9, 28), 5).date == date(2026, 10, 10)


def test_workdays_may_be_omitted():
    s = parse_schedule("year: 2027\nsource: x\nholidays:\n  - {on: 2027-01-01}\n")
    assert s.workdays == frozenset()


def _with(holidays: str = "", workdays: str = "", head: str = "year: 2027\nsource: test\n") -> str:
    text = head + "holidays:\n" + (holidays or "  - {on: 2027-01-01, name: 元旦}\n")
    return text + ("workdays:\n" + workdays if workdays else "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("source: x\nholidays: []\n", "missing 'year'", id="missing year"),
        pytest.param("year: next\nsource: x\nholidays: []\n", "'year' must be", id="bad year"),
        pytest.param("year: 2027\nholidays: []\n", "missing 'source'", id="missing source"),
        pytest.param("year: 2027\nsource: x\n", "missing 'holidays'", id="missing holidays"),
        pytest.param(_with() + "notes: hi\n", "unknown top-level keys: notes", id="unknown key"),
        pytest.param("year: 2027\nsource: x\nholidays: {on: 2027-01-01}\n", "must be a list",
                     id="holidays not a list"),
        pytest.param(
            _with("  - {on: 2027-01-01, name: 元旦}\n  - {on: 2027-02-05, note: 除夕}\n"),
            "holidays entry 2: expected keys on, or from and to",
            id="unknown entry key",
        ),
        pytest.param(
            _with("  - {on: 2027-01-01, from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"),
            "holidays entry 1 (元旦): expected keys",
            id="both on and from",
        ),
        pytest.param(
            _with("  - {from: 2027-02-13, to: 2027-02-05, name: 春节}\n"),
            "holidays entry 1 (春节): 'to' 2027-02-05 is before 'from' 2027-02-13",
            id="to before from",
        ),
        pytest.param(
            _with("  - {from: 2026-12-31, to: 2027-01-03, name: 元旦}\n"),
            "holidays entry 1 (元旦): 2026-12-31 is outside 2027",
            id="holiday outside the year",
        ),
        pytest.param(
            _with(workdays="  - {on: 2026-12-26, name: 元旦调休}\n"),
            "workdays entry 1 (元旦调休): 2026-12-26 is outside 2027",
            id="workday outside the year",
        ),
        pytest.param(
            _with(workdays="  - {on: 2027-02-15, name: 春节调休}\n"),
            "workdays entry 1 (春节调休): 2027-02-15 is a Monday",
            id="workday not a weekend day",
        ),
        pytest.param(
            _with(workdays="  - {on: 2027-01-02, name: 元旦调休}\n",
                  holidays="  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"),
            "workdays entry 1 (元旦调休): 2027-01-02 is also a day off in holidays entry 1 (元旦)",
            id="day both off and working",
        ),
        pytest.param(
            _with("  - {from: 2027-02-05, to: 2027-02-13, name: 春节}\n"
                  "  - {on: 2027-02-08, name: 春节补假}\n"),
            "holidays entry 2 (春节补假): 2027-02-08 is already listed in holidays entry 1 (春节)",
            id="day listed twice",
        ),
        pytest.param(_with("  - {on: 2027-13-01}\n"), "holidays entry 1: 'on' must be a date",
                     id="not a date"),
        pytest.param(_with("  - {on: 2027-01-01 08:00:00}\n"), "'on' must be a date",
                     id="datetime instead of date"),
        pytest.param(_with("  - {on: 2027-01-01, name: '  '}\n"), "'name' must be non-empty",
                     id="blank name"),
        pytest.param(_with("  - {on: 2027-01-01, on: 2027-01-02}\n"), "duplicate key 'on'",
                     id="duplicate key"),
        pytest.param(_with("  - 2027-01-01\n"), "holidays entry 1: expected {on: DATE}",
                     id="bare date entry"),
        pytest.param("year: 2027\nholidays: [\n", "not valid YAML", id="invalid yaml"),
        pytest.param("- 2027-01-01\n", "must be a YAML mapping", id="not a mapping"),
    ],
)
def test_rejects_invalid_notice_naming_the_entry(text, message):
    with pytest.raises(ScheduleError) as excinfo:
        parse_schedule(text)
    assert message in str(excinfo.value)


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_round_trips_the_example_and_the_library_2026_schedule():
    parsed = parse_schedule(EXAMPLE_2027)
    assert parse_schedule(dump_schedule(parsed)) == parsed
    library_2026 = baseline_schedule(2026)
    assert parse_schedule(dump_schedule(library_2026)) == library_2026


def test_dump_merges_consecutive_days_into_ranges():
    text = dump_schedule(parse_schedule(EXAMPLE_2027))
    assert "{from: 2027-02-05, to: 2027-02-13, name: \"春节\"}" in text
    assert "{on: 2027-09-15}" in text


def test_dump_of_a_library_guess_warns_that_it_is_not_official():
    text = dump_schedule(baseline_schedule(2027))
    assert "NOT OFFICIAL" in text
    assert parse_schedule(text).official  # loading it is what makes it official


_names = st.one_of(
    st.none(), st.sampled_from(["春节", "on", "no", "a: b", "#x", 'q"uote', "x\u2028y"]),
    st.text(min_size=1, max_size=8).filter(str.strip),
)


@st.composite
def schedules(draw) -> YearSchedule:
    year = draw(st.integers(min_value=2000, max_value=2100))
    first = date(year, 1, 1)
    days = draw(st.sets(st.integers(min_value=0, max_value=364), max_size=40))
    off, working, names = set(), set(), {}
    for k in sorted(days):
        day = first + timedelta(days=k)
        is_workday = day.weekday() >= 5 and draw(st.booleans())
        (working if is_workday else off).add(day)
        name = draw(_names)
        if name is not None:
            names[day] = name
    return YearSchedule(
        year=year, holidays=frozenset(off), workdays=frozenset(working), official=True,
        source=draw(st.text(min_size=1, max_size=20).filter(str.strip)), names=names,
    )


@given(schedules())
def test_any_official_schedule_round_trips(schedule):
    text = dump_schedule(schedule)
    assert parse_schedule(text) == schedule
    assert dump_schedule(parse_schedule(text)) == text
