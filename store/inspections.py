"""The annual inspection campaign in PostgreSQL (Art. 22): its roster, each permit's assessment and delivery.

`open_campaign` takes the roster once per year, in the transaction that creates the campaign's row: the
permits in force on its start day. A campaign restarted later (another workflow, another day) finds the
row and walks the same roster. Each roster entry goes `pending → assessed → delivered` (or `closed`, when
the permit ended before it was inspected); the assessment is stored before it is delivered, so a retry
delivers the same report.

One inspection reads what it needs in one round trip (`to_inspect`: the entry with its campaign and the
permit's read-model row) and writes with `RETURNING`, so a permit costs the database a handful of
statements, which matters when the campaign walks ten thousand of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import asyncpg


async def open_campaign(pool: asyncpg.Pool, year: int, campaign_id: str, start_day: date, inspector: str) -> asyncpg.Record:
    async with pool.acquire() as conn, conn.transaction():
        created = await conn.fetchval(
            """INSERT INTO inspection_campaigns (year, campaign_id, start_day, roster_size, inspector)
               VALUES ($1, $2, $3, 0, $4) ON CONFLICT (year) DO NOTHING RETURNING true""",
            year, campaign_id, start_day, inspector)
        if created:
            size = await conn.fetchval(
                """WITH roster AS (
                       INSERT INTO inspections (year, stream_id, district, enterprise_name, credit_code, permit_number)
                       SELECT $1, stream_id, district, enterprise_name, credit_code, permit_number FROM permits
                       WHERE kind = 'permit' AND status = 'in_force'
                       RETURNING 1)
                   SELECT count(*) FROM roster""", year)
            await conn.execute("UPDATE inspection_campaigns SET roster_size = $2 WHERE year = $1", year, size)
        return await conn.fetchrow("SELECT * FROM inspection_campaigns WHERE year = $1", year)


async def campaign(pool: asyncpg.Pool, year: int) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM inspection_campaigns WHERE year = $1", year)


async def page(pool: asyncpg.Pool, year: int, after: str, limit: int) -> list[str]:
    rows = await pool.fetch(
        "SELECT stream_id FROM inspections WHERE year = $1 AND stream_id > $2 ORDER BY stream_id LIMIT $3",
        year, after, limit)
    return [r["stream_id"] for r in rows]


async def entry(pool: asyncpg.Pool, year: int, stream_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow("SELECT * FROM inspections WHERE year = $1 AND stream_id = $2", year, stream_id)


async def to_inspect(pool: asyncpg.Pool, year: int, stream_id: str) -> asyncpg.Record | None:
    """The roster entry, with its campaign's `campaign_start_day`, `campaign_inspector`, `campaign_campaign_id`
    and the permit's read-model `permit_status`, `permit_policy_version`, `permit_valid_from` (None when the
    permit is not in the read model)."""
    return await pool.fetchrow(
        """SELECT i.*, c.start_day AS campaign_start_day, c.inspector AS campaign_inspector,
                  c.campaign_id AS campaign_campaign_id, p.status AS permit_status,
                  p.policy_version AS permit_policy_version, p.valid_from AS permit_valid_from
           FROM inspections i JOIN inspection_campaigns c USING (year) LEFT JOIN permits p USING (stream_id)
           WHERE i.year = $1 AND i.stream_id = $2""", year, stream_id)


async def record_assessment(pool: asyncpg.Pool, year: int, stream_id: str, *, outcome: str, items: list[dict[str, Any]],
                            breaches: list[str], inspector: str, campaign_id: str) -> asyncpg.Record:
    """Keep the assessment; if another attempt stored one first, that one stands (and is returned)."""
    row = await pool.fetchrow(
        """UPDATE inspections SET status = 'assessed', outcome = $3, items = $4, breaches = $5, inspector = $6,
               campaign_id = $7, assessed_at = now()
           WHERE year = $1 AND stream_id = $2 AND status = 'pending' RETURNING *""",
        year, stream_id, outcome, items, breaches, inspector, campaign_id)
    return row if row is not None else await entry(pool, year, stream_id)


async def mark(pool: asyncpg.Pool, year: int, stream_id: str, status: str, delivery: str) -> asyncpg.Record | None:
    """Delivered or closed, unless another attempt marked it first; returns the entry as it now stands."""
    row = await pool.fetchrow(
        """UPDATE inspections SET status = $3, delivery = $4, delivered_at = now()
           WHERE year = $1 AND stream_id = $2 AND status IN ('pending', 'assessed') RETURNING *""",
        year, stream_id, status, delivery)
    return row if row is not None else await entry(pool, year, stream_id)


async def entries(pool: asyncpg.Pool, year: int) -> list[asyncpg.Record]:
    return await pool.fetch("SELECT * FROM inspections WHERE year = $1 ORDER BY district NULLS LAST, stream_id", year)


async def reported(pool: asyncpg.Pool, year: int) -> None:
    await pool.execute("UPDATE inspection_campaigns SET reported_at = now() WHERE year = $1", year)
