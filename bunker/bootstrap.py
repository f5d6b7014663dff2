"""What `bunker dev` and a deployment set up once, idempotently, before serving."""

from __future__ import annotations

import asyncpg
from temporalio.client import Client

from bunker.settings import Settings


async def bootstrap(settings: Settings, client: Client, pool: asyncpg.Pool) -> None:
    """Nothing yet beyond migrations (done on connect); later: dev principals and the inspection schedule."""
    return None
