"""Chinese working days, the unit of every statutory period in the measures.

A period starts the day after its trigger and ends at 24:00 Asia/Shanghai of its last working
day (see "Counting working days" in the regulation notes). Which days are working days is fixed
each year by the State Council General Office's holiday notice, including weekend make-up
working days (调休). Until that notice is loaded, the `holidays` package supplies the statutory
holidays of the national regulation only, so any date computed across such a year is provisional
and must be recomputed once the notice is loaded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from holidays.countries.china import ChinaStaticHolidays
from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

# Resolved once at import: the workflow sandbox and activities then never touch the tz database.
SHANGHAI = ZoneInfo("Asia/Shanghai")

# No statutory period is anywhere near this long; a larger n is a bug upstream, and failing
# loudly beats building forty years of calendars inside an activity.
MAX_WORKDAYS = 10_000
_MAX_SPAN_DAYS = MAX_WORKDAYS * 2

_LIBRARY_SOURCE = f"holidays {holidays_lib.__version__}"
# The library ships the State Council schedule only for these years; later years are computed
# from the statutory rules alone (no make-up working days, guessed bridge days).
_LIBRARY_OFFICIAL_YEARS = frozenset(ChinaStaticHolidays.special_public_holidays)


class YearSchedule(BaseModel):
    """Which days of one calendar year deviate from "Monday to Friday are working days".

    `holidays` holds every announced day off, weekend days included, because that is how the
    notice lists them and it round-trips through the YAML format unchanged; a weekend day in it
    changes nothing. `workdays` holds the weekend days that are make-up working days.

    A schedule governs the days of its own `year` only. When a notice for year Y places a
    make-up day in late December of Y-1 (last seen for 2012), that day belongs to Y-1's schedule.
    """

    model_config = ConfigDict(frozen=True)

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date] = frozenset()
    official: bool
    source: str
    # Day -> name as announced ("春节", "春节调休"); informational, kept for export and display.
    names: Mapping[date, str] = Field(default_factory=dict)

    @field_serializer("holidays", "workdays")
    def _sorted(self, days: frozenset[date]) -> list[date]:
        # Stable order so a stored schedule diffs cleanly and serialises identically each time.
        return sorted(days)

    @field_serializer("names")
    def _sorted_names(self, names: Mapping[date, str]) -> dict[date, str]:
        return dict(sorted(names.items()))

    @model_validator(mode="after")
    def _consistent(self) -> YearSchedule:
        outside = sorted(d for d in self.holidays | self.workdays if d.year != self.year)
        if outside:
            raise ValueError(f"dates outside {self.year}: {', '.join(map(str, outside))}")
        not_weekend = sorted(d for d in self.workdays if d.weekday() < 5)
        if not_weekend:
            raise ValueError(f"make-up workdays that are not weekend days: {not_weekend}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"days both off and working: {both}")
        unnamed = sorted(set(self.names) - self.holidays - self.workdays)
        if unnamed:
            raise ValueError(f"names for days that are neither off nor working: {unnamed}")
        blank = sorted(d for d, name in self.names.items() if not name.strip())
        if blank:
            raise ValueError(f"blank names for {blank}")
        return self


@lru_cache(maxsize=None)
def baseline_schedule(year: int) -> YearSchedule:
    """The `holidays` package's view of `year`; official only if it ships the notice."""
    cn = holidays_lib.China(years=year, language="zh_CN")
    days_off = {d: str(name) for d, name in cn.items() if d.year == year}
    # weekend_workdays is a class-wide set spanning all shipped years, hence the filter.
    workdays = {d: "调休上班" for d in cn.weekend_workdays if d.year == year}
    return YearSchedule(
        year=year,
        holidays=frozenset(days_off),
        workdays=frozenset(workdays),
        official=year in _LIBRARY_OFFICIAL_YEARS,
        source=_LIBRARY_SOURCE,
        names=days_off | workdays,
    )


class WorkdayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    date: date
    # True when some counted day lies in a year without an official schedule: the date may
    # move once that year's notice is loaded.
    provisional: bool


class WorkingCalendar:
    """Working-day arithmetic over the library baseline, with official schedules overlaid.

    `overrides` are schedules loaded from the State Council notice (stored in the database by
    the adapters); each replaces the library's data for its year entirely.
    """

    def __init__(self, overrides: Mapping[int, YearSchedule] | None = None) -> None:
        overrides = dict(overrides or {})
        for year, schedule in overrides.items():
            if schedule.year != year:
                raise ValueError(f"override keyed {year} holds the schedule for {schedule.year}")
        self._overrides = overrides
        self._working: dict[int, tuple[date, ...]] = {}

    def schedule(self, year: int) -> YearSchedule:
        if year in self._overrides:
            return self._overrides[year]
        return baseline_schedule(year)

    def is_official(self, year: int) -> bool:
        return self.schedule(year).official

    def is_working_day(self, d: date) -> bool:
        s = self.schedule(d.year)
        if d.weekday() >= 5:
            return d in s.workdays
        return d not in s.holidays

    def add_workdays(self, day: date, n: int) -> WorkdayResult:
        """The n-th working day after `day` (the start day itself is not counted)."""
        if not 0 <= n <= MAX_WORKDAYS:
            raise ValueError(f"n must be between 0 and {MAX_WORKDAYS}, got {n}")
        if n == 0:
            return WorkdayResult(date=day, provisional=not self.is_official(day.year))
        year = day.year
        days = self._working_days(year)
        i = bisect_right(days, day)
        remaining = n
        while remaining > len(days) - i:
            remaining -= len(days) - i
            year += 1
            days = self._working_days(year)
            i = 0
        result = days[i + remaining - 1]
        first_counted_year = (day + timedelta(days=1)).year
        provisional = not all(
            self.is_official(y) for y in range(first_counted_year, result.year + 1)
        )
        return WorkdayResult(date=result, provisional=provisional)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how long a pause (Art. 45) lasted in working days."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if (end - start).days > _MAX_SPAN_DAYS:
            raise ValueError(f"span {start}..{end} is implausibly long")
        count = 0
        for year in range(start.year, end.year + 1):
            days = self._working_days(year)
            lo = bisect_right(days, start) if year == start.year else 0
            hi = bisect_right(days, end) if year == end.year else len(days)
            count += hi - lo
        return count

    @staticmethod
    def deadline_end(d: date) -> datetime:
        """The instant a period whose last working day is `d` runs out: 24:00 Shanghai time."""
        return datetime.combine(d + timedelta(days=1), time(0), tzinfo=SHANGHAI)

    @staticmethod
    def local_date(instant: datetime) -> date:
        """The Shanghai calendar date of an instant (workflow time is UTC)."""
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError("local_date needs a timezone-aware datetime")
        return instant.astimezone(SHANGHAI).date()

    def _working_days(self, year: int) -> tuple[date, ...]:
        # Sorted per-year tuples let add_workdays and workdays_between bisect instead of
        # stepping day by day; ~250 dates a year, built once per calendar instance.
        cached = self._working.get(year)
        if cached is None:
            first = date(year, 1, 1)
            length = (date(year, 12, 31) - first).days + 1
            every_day = (first + timedelta(days=k) for k in range(length))
            cached = tuple(d for d in every_day if self.is_working_day(d))
            self._working[year] = cached
        return cached
