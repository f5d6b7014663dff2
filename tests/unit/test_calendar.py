"""Working-day arithmetic ("Counting working days" in the regulation notes)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from holidays.countries.china import ChinaStaticHolidays
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import MAX_WORKDAYS, WorkingCalendar, YearSchedule, baseline_schedule

CAL = WorkingCalendar()

# TEST DATA, NOT THE REAL 2027 NOTICE (unpublished when this was written): a plausible
# arrangement in the style of the 2026 notice.
FICTITIOUS_2027 = YearSchedule(
    year=2027,
    holidays=frozenset(
        [date(2027, 1, 1) + timedelta(days=k) for k in range(3)]  # 元旦 Fri 1 – Sun 3 Jan
        + [date(2027, 2, 5) + timedelta(days=k) for k in range(9)]  # 春节 Fri 5 – Sat 13 Feb
        + [date(2027, 4, 3) + timedelta(days=k) for k in range(3)]  # 清明节 Sat 3 – Mon 5 Apr
        + [date(2027, 5, 1) + timedelta(days=k) for k in range(5)]  # 劳动节 Sat 1 – Wed 5 May
        + [date(2027, 6, 9), date(2027, 9, 15)]  # 端午节, 中秋节 (both Wednesdays)
        + [date(2027, 10, 1) + timedelta(days=k) for k in range(7)]  # 国庆节 1 – 7 Oct
    ),
    workdays=frozenset(
        {date(2027, 1, 31), date(2027, 2, 20), date(2027, 5, 8)}  # Sun, Sat, Sat
        | {date(2027, 9, 26), date(2027, 10, 9)}  # Sun, Sat
    ),
    official=True,
    source="test data: fictitious 2027 notice",
)
CAL_2027 = WorkingCalendar(overrides={2027: FICTITIOUS_2027})

days = st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 31))
counts = st.integers(min_value=0, max_value=400)


def test_five_working_days_from_28_sep_2026_end_on_make_up_saturday_10_oct():
    result = CAL.add_workdays(date(2026, 9, 28), 5)
    assert result.date == date(2026, 10, 10)
    assert not result.provisional


def test_period_crossing_into_unpublished_2027_is_provisional_and_skips_new_year():
    result = CAL.add_workdays(date(2026, 12, 28), 5)
    assert result.date == date(2027, 1, 5)
    assert result.provisional


def test_period_whose_first_counted_day_is_in_2027_is_provisional():
    result = CAL.add_workdays(date(2026, 12, 31), 1)
    assert result == type(result)(date=date(2027, 1, 4), provisional=True)


def test_start_day_is_not_counted():
    assert CAL.add_workdays(date(2026, 3, 2), 1).date == date(2026, 3, 3)


def test_make_up_saturday_is_counted():
    assert CAL.add_workdays(date(2026, 10, 9), 1).date == date(2026, 10, 10)
    assert CAL.add_workdays(date(2026, 2, 13), 1).date == date(2026, 2, 14)


def test_weekday_holiday_is_skipped():
    assert CAL.add_workdays(date(2026, 9, 30), 1).date == date(2026, 10, 8)
    assert CAL.add_workdays(date(2026, 9, 24), 1).date == date(2026, 9, 28)  # Fri 25 Sep: 中秋节


def test_zero_working_days_is_the_day_itself_provisional_per_its_year():
    assert CAL.add_workdays(date(2026, 10, 4), 0).date == date(2026, 10, 4)
    assert not CAL.add_workdays(date(2026, 10, 4), 0).provisional
    assert CAL.add_workdays(date(2027, 3, 1), 0).provisional


@pytest.mark.parametrize("n", [-1, MAX_WORKDAYS + 1])
def test_absurd_counts_are_refused(n):
    with pytest.raises(ValueError):
        CAL.add_workdays(date(2026, 1, 5), n)


def test_loaded_2027_notice_makes_the_cross_year_period_official():
    # The fictitious notice keeps New Year on Fri 1 – Sun 3 Jan, so the date is unchanged.
    result = CAL_2027.add_workdays(date(2026, 12, 28), 5)
    assert result.date == date(2027, 1, 5)
    assert not result.provisional


def test_loaded_2027_notice_moves_a_deadline_across_spring_festival():
    # Library guess: no make-up days; 5–10 Feb off (eve, festival, two observed days).
    before = CAL.add_workdays(date(2027, 1, 29), 5)
    assert before.date == date(2027, 2, 11) and before.provisional
    # The notice makes Sun 31 Jan a working day, so the fifth working day is Thu 4 Feb.
    after = CAL_2027.add_workdays(date(2027, 1, 29), 5)
    assert after.date == date(2027, 2, 4) and not after.provisional
    # ... and the longer holiday (to Sat 13 Feb) pushes the sixth to Mon 15 Feb.
    assert CAL_2027.add_workdays(date(2027, 1, 29), 6).date == date(2027, 2, 15)


def test_override_must_be_keyed_by_its_own_year():
    with pytest.raises(ValueError):
        WorkingCalendar(overrides={2028: FICTITIOUS_2027})


def test_library_ships_2026_as_official_but_not_2027():
    assert max(ChinaStaticHolidays.special_public_holidays) >= 2026
    assert CAL.is_official(2026) and baseline_schedule(2026).official
    assert not CAL.is_official(2027) and not baseline_schedule(2027).official
    assert CAL_2027.is_official(2027)


@pytest.mark.parametrize("year", range(2001, 2036))
def test_library_data_satisfies_schedule_invariants(year):
    schedule = baseline_schedule(year)  # the model validator would raise otherwise
    assert schedule.year == year


def test_every_day_of_2026_agrees_with_the_official_schedule():
    lib = holidays.China(years=2026)
    day = date(2026, 1, 1)
    while day.year == 2026:
        expected = (day.weekday() < 5 and day not in lib) or day in lib.weekend_workdays
        assert CAL.is_working_day(day) == expected == lib.is_working_day(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 2), False),  # Fri, 元旦
        (date(2026, 1, 3), False),  # Sat, 元旦
        (date(2026, 1, 4), True),  # Sun, make-up
        (date(2026, 2, 14), True),  # Sat, make-up
        (date(2026, 2, 23), False),  # Mon, 春节
        (date(2026, 2, 28), True),  # Sat, make-up
        (date(2026, 5, 5), False),  # Tue, 劳动节
        (date(2026, 5, 9), True),  # Sat, make-up
        (date(2026, 9, 20), True),  # Sun, make-up
        (date(2026, 10, 4), False),  # Sun, 国庆节
        (date(2026, 10, 7), False),  # Wed, 国庆节
        (date(2026, 10, 8), True),  # Thu
        (date(2026, 10, 10), True),  # Sat, make-up
        (date(2026, 10, 11), False),  # Sun
    ],
)
def test_hand_checked_2026_days(day, working):
    assert CAL.is_working_day(day) is working


def test_pause_length_counts_working_days_after_the_start_up_to_the_end():
    assert CAL.workdays_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert CAL.workdays_between(date(2026, 9, 28), date(2026, 10, 10)) == 5
    assert CAL.workdays_between(date(2026, 10, 8), date(2026, 10, 8)) == 0
    with pytest.raises(ValueError):
        CAL.workdays_between(date(2026, 10, 8), date(2026, 10, 7))


def test_deadline_ends_at_midnight_shanghai_time():
    end = CAL.deadline_end(date(2026, 10, 10))
    assert end.tzinfo is not None
    assert end == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)


def test_local_date_is_the_shanghai_calendar_date():
    assert CAL.local_date(datetime(2026, 10, 10, 15, 59, tzinfo=UTC)) == date(2026, 10, 10)
    assert CAL.local_date(datetime(2026, 10, 10, 16, 0, tzinfo=UTC)) == date(2026, 10, 11)
    with pytest.raises(ValueError):
        CAL.local_date(datetime(2026, 10, 10, 12, 0))


@given(days, days, counts)
def test_later_start_never_gives_an_earlier_deadline(a, b, n):
    a, b = min(a, b), max(a, b)
    assert CAL.add_workdays(a, n).date <= CAL.add_workdays(b, n).date


@given(days, counts, counts)
def test_more_working_days_give_a_strictly_later_deadline(d, n, m):
    if n != m:
        n, m = min(n, m), max(n, m)
        assert CAL_2027.add_workdays(d, n).date < CAL_2027.add_workdays(d, m).date


@given(days, st.integers(min_value=1, max_value=400))
def test_deadline_is_always_a_working_day(d, n):
    assert CAL.is_working_day(CAL.add_workdays(d, n).date)
    assert CAL_2027.is_working_day(CAL_2027.add_workdays(d, n).date)


@given(days, counts)
def test_workdays_between_inverts_add_workdays(d, n):
    assert CAL.workdays_between(d, CAL.add_workdays(d, n).date) == n
    assert CAL_2027.workdays_between(d, CAL_2027.add_workdays(d, n).date) == n


@given(days, counts)
def test_provisional_exactly_when_a_counted_year_lacks_a_notice(d, n):
    result = CAL.add_workdays(d, n)
    first_year = d.year if n == 0 else (d + timedelta(days=1)).year
    years = range(first_year, result.date.year + 1)
    assert result.provisional == any(y > 2026 for y in years)
