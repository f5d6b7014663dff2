"""Production roles: one process each, against the configured servers."""

from __future__ import annotations

import asyncio
import signal

import structlog
import uvicorn

from bunker.runtime import StartupError, connect_postgres, connect_temporal, ensure_port_free
from bunker.settings import Settings
from bunker.temporal import sdk_runtime
from gateway.app import Resources, create_app
from workers.worker import build_worker

log = structlog.get_logger()


def _require_servers(s: Settings) -> None:
    if s.embedded_temporal or s.embedded_postgres:
        raise StartupError("set TEMPORAL_ADDRESS and DATABASE_URL for a production role (or use `bunker dev`)")


async def run_worker(s: Settings) -> None:
    _require_servers(s)
    if s.sdk_metrics_port:
        ensure_port_free("127.0.0.1", s.sdk_metrics_port, "the Temporal SDK metrics (BUNKER_SDK_METRICS_PORT)")
    client = await connect_temporal(s.temporal_target, s.temporal_namespace, runtime=sdk_runtime(s.sdk_metrics_port))
    pool = await connect_postgres(s.database_url, s.db_pool_max)
    from bunker.bootstrap import bootstrap  # the annual inspection schedule: idempotent, any worker may do it

    await bootstrap(s, client, pool)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with build_worker(client, pool, s.temporal_task_queue):
        log.info("worker running", task_queue=s.temporal_task_queue, temporal=s.temporal_target,
                 sdk_metrics=f"127.0.0.1:{s.sdk_metrics_port}" if s.sdk_metrics_port else "off")
        await stop.wait()
    await pool.close()


async def run_gateway(s: Settings) -> None:
    _require_servers(s)
    ensure_port_free(s.gateway_host, s.gateway_port, "the gateway")
    client = await connect_temporal(s.temporal_target, s.temporal_namespace)
    pool = await connect_postgres(s.database_url, s.db_pool_max)
    app = create_app(Resources(settings=s, client=client, pool=pool))
    await uvicorn.Server(uvicorn.Config(app, host=s.gateway_host, port=s.gateway_port, log_config=None)).serve()
    await pool.close()
