"""Activity: what the permit's Art. 23 watch asks of the ledger (one row, never the rows themselves)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from temporalio import activity

from store import ledger


class LedgerActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="last_supply_at")
    async def last_supply_at(self, stream_id: str) -> datetime | None:
        return await ledger.last_supply_at(self._pool, stream_id)
