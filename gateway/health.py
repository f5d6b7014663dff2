"""Health of the two servers everything depends on: the gateway's /healthz and /readyz, the worker's /readyz
(workers/health.py). Liveness (/livez) asks neither."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from temporalio.client import Client


async def check(client: Client | None, pool: asyncpg.Pool | None) -> dict[str, Any]:
    async def temporal() -> dict[str, Any]:
        if client is None:
            return {"up": False, "error": "not connected"}
        try:
            await asyncio.wait_for(client.service_client.check_health(), timeout=2)
            return {"up": True, "target": client.service_client.config.target_host}
        except Exception as e:  # any failure means "down" to a health check
            return {"up": False, "error": type(e).__name__}

    async def postgres() -> dict[str, Any]:
        if pool is None:
            return {"up": False, "error": "not connected"}
        try:
            version = await asyncio.wait_for(pool.fetchval("SHOW server_version"), timeout=2)
            return {"up": True, "version": version}
        except Exception as e:
            return {"up": False, "error": type(e).__name__}

    t, p = await asyncio.gather(temporal(), postgres())
    return {"status": "ok" if t["up"] and p["up"] else "degraded", "temporal": t, "postgres": p}
