"""Activity: statutory deadline arithmetic on the working-day calendar.

It runs as an activity, not in workflow code, because the holiday table can change (an official
schedule is loaded): the answer is recorded in history, so a replay never moves a deadline.
"""

from __future__ import annotations

from datetime import date, datetime

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from domain.calendar import WorkingCalendar
from store.holidays import official_schedules


class DeadlineRequest(BaseModel):
    label: str  # e.g. "Art. 9 completeness notice"
    start: date  # the triggering day; it is not counted
    workdays: int


class Deadline(BaseModel):
    label: str
    start: date
    workdays: int
    due_date: date  # the last working day
    ends_at: datetime  # 24:00 Asia/Shanghai of due_date
    provisional: bool  # some day counted lies in a year without an official schedule


class WorkdaysRequest(BaseModel):
    start: date
    end: date


class CalendarActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def _calendar(self) -> WorkingCalendar:
        return WorkingCalendar(await official_schedules(self._pool))

    @activity.defn(name="compute_deadline")
    async def compute_deadline(self, req: DeadlineRequest) -> Deadline:
        cal = await self._calendar()
        result = cal.add_workdays(req.start, req.workdays)
        return Deadline(
            label=req.label, start=req.start, workdays=req.workdays, due_date=result.date,
            ends_at=cal.deadline_end(result.date), provisional=result.provisional,
        )

    @activity.defn(name="count_workdays")
    async def count_workdays(self, req: WorkdaysRequest) -> int:
        """Working days in (start, end]: how long an ALL Art. 45 pause lasted."""
        return (await self._calendar()).workdays_between(req.start, req.end)
