"""Connecting to the servers, with one clear error when that cannot be done."""

from __future__ import annotations

import asyncio
import socket
import time

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.runtime import Runtime

from bunker.temporal import connect
from store.db import create_pool
from store.migrate import migrate

log = structlog.get_logger()


class StartupError(Exception):
    """A problem the operator must fix (bad setting, busy port, unreachable server): one line, exit 2."""


def ensure_port_free(host: str, port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise StartupError(f"port {host}:{port} for {what} is already in use (another `bunker dev`?)") from None


async def connect_temporal(target: str, namespace: str, wait_s: float = 15, runtime: Runtime | None = None) -> Client:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return await connect(target, namespace, runtime)
        except Exception as e:
            if time.monotonic() > deadline:
                raise StartupError(f"cannot reach Temporal at {target} (namespace {namespace}): {e}") from None
            await asyncio.sleep(0.5)


def _where(dsn: str) -> str:
    # Never print credentials: only host, port and database.
    try:
        from urllib.parse import urlsplit

        u = urlsplit(dsn)
        return f"{u.hostname or 'socket'}:{u.port or 5432}{u.path}"
    except ValueError:
        return "the configured database"


async def connect_postgres(dsn: str, max_size: int, wait_s: float = 15) -> asyncpg.Pool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            pool = await create_pool(dsn, max_size=max_size)
            async with pool.acquire() as conn:
                applied = await migrate(conn)
            if applied:
                log.info("schema migrated", applied=[f"{m.version}_{m.name}" for m in applied])
            return pool
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as e:
            if time.monotonic() > deadline:
                raise StartupError(f"cannot reach PostgreSQL at {_where(dsn)}: {e}") from None
            await asyncio.sleep(0.5)
