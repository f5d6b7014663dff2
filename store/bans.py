"""The Art. 24 ban registry: checked at every intake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import asyncpg


@dataclass(frozen=True)
class Ban:
    credit_code: str
    article: str
    reason: str
    starts_on: date
    ends_on: date
    stream_id: str


async def add_ban(pool: asyncpg.Pool, ban: Ban) -> None:
    await pool.execute(
        """INSERT INTO bans (credit_code, article, reason, starts_on, ends_on, stream_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream_id, article) DO NOTHING""",
        ban.credit_code, ban.article, ban.reason, ban.starts_on, ban.ends_on, ban.stream_id,
    )


async def active_ban(pool: asyncpg.Pool, credit_code: str, on: date) -> Ban | None:
    row = await pool.fetchrow(
        """SELECT credit_code, article, reason, starts_on, ends_on, stream_id FROM bans
           WHERE credit_code = $1 AND starts_on <= $2 AND ends_on > $2 ORDER BY ends_on DESC LIMIT 1""",
        credit_code, on,
    )
    return Ban(**dict(row)) if row else None
