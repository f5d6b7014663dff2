"""The register of files (applications and permits) from the read model, as operators filter it.

One query for the gateway's `GET /permits` and `bunker permits list`, so both answer the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg

from domain.calendar import WorkingCalendar


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    district: str | None = None
    credit_code: str | None = None
    # Permits in force whose validity ends within this many days (Art. 14: renewal at least 30 days before).
    expiring_within_days: int | None = None
    dormant: bool | None = None  # Art. 23, as the permit's workflow marked it
    overdue: bool | None = None  # a step waits past the end of its period (`tasks.ends_at`)


async def files(pool: asyncpg.Pool, f: Filters, *, limit: int = 100, offset: int = 0,
                now: datetime | None = None) -> list[asyncpg.Record]:
    """`permits` rows by case number, each with `overdue_tasks` (how many of its steps are late)."""
    now = now or datetime.now(UTC)
    until = None if f.expiring_within_days is None else expiring_by(f.expiring_within_days, now)
    return await pool.fetch(
        """SELECT p.*, (SELECT count(*) FROM tasks t WHERE t.stream_id = p.stream_id AND t.ends_at < $7)
                       AS overdue_tasks
           FROM permits p
           WHERE ($1::text IS NULL OR p.status = $1) AND ($2::text IS NULL OR p.district = $2)
             AND ($3::text IS NULL OR p.credit_code = $3)
             AND ($4::date IS NULL OR (p.kind = 'permit' AND p.status = 'in_force' AND p.valid_until <= $4))
             AND ($5::boolean IS NULL OR p.dormant = $5)
             AND ($6::boolean IS NULL OR $6 = EXISTS (
                     SELECT 1 FROM tasks t WHERE t.stream_id = p.stream_id AND t.ends_at < $7))
           ORDER BY p.stream_id LIMIT $8 OFFSET $9""",
        f.status, f.district, f.credit_code, until, f.dormant, f.overdue, now, limit, offset,
    )


def expiring_by(days: int, now: datetime | None = None) -> date:
    """The last validity day a permit may have to count as expiring within `days`."""
    return WorkingCalendar.local_date(now or datetime.now(UTC)) + timedelta(days=days)
