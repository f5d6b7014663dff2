"""Official holiday schedules loaded into PostgreSQL; they override the library's baseline."""

from __future__ import annotations

import asyncpg

from domain.calendar import YearSchedule


async def save_schedule(pool: asyncpg.Pool, schedule: YearSchedule, loaded_by: str) -> None:
    await pool.execute(
        """INSERT INTO holiday_schedules (year, source, holidays, workdays, loaded_by)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (year) DO UPDATE SET source = EXCLUDED.source, holidays = EXCLUDED.holidays,
               workdays = EXCLUDED.workdays, loaded_by = EXCLUDED.loaded_by, loaded_at = now()""",
        schedule.year, schedule.source, sorted(schedule.holidays), sorted(schedule.workdays), loaded_by,
    )


async def official_schedules(pool: asyncpg.Pool) -> dict[int, YearSchedule]:
    rows = await pool.fetch("SELECT year, source, holidays, workdays FROM holiday_schedules")
    return {
        r["year"]: YearSchedule(
            year=r["year"], source=r["source"], official=True,
            holidays=frozenset(r["holidays"]), workdays=frozenset(r["workdays"]),
        )
        for r in rows
    }
