"""Activities of the licensing procedure: assessment, the ban registry, permit numbers.

The assessment runs here (not in workflow code) so that its answer is recorded in history: a later
fix to a rule never changes how an application already in the procedure replays.
"""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from domain.application import Application
from domain.eligibility import Assessment, assess, years_after
from domain.policy import policy
from store import bans


class AssessRequest(BaseModel):
    application: Application
    on: date
    policy_version: str


class BanRequest(BaseModel):
    credit_code: str
    stream_id: str
    article: str
    reason: str
    starts_on: date
    years: int


class LicensingActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="assess_application")
    async def assess_application(self, req: AssessRequest) -> Assessment:
        return assess(req.application, req.on, policy(req.policy_version))

    @activity.defn(name="register_ban")
    async def register_ban(self, req: BanRequest) -> date:
        # The year counts from the day after the decision and ends with its anniversary (Civil Code
        # Art. 201-202): the first day a new application is received again is the day after that.
        ends_on = years_after(req.starts_on, req.years) + timedelta(days=1)
        await bans.add_ban(
            self._pool,
            bans.Ban(req.credit_code, req.article, req.reason, req.starts_on, ends_on, req.stream_id),
        )
        return ends_on

    @activity.defn(name="next_permit_number")
    async def next_permit_number(self, year: int) -> str:
        seq = await self._pool.fetchval("SELECT nextval('permit_number_seq')")
        return f"GZBB-{year}-{seq:04d}"
