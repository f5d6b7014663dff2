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
from workers import health
from workers.health import WorkerState
from workers.worker import build_worker

log = structlog.get_logger()


def _require_servers(s: Settings) -> None:
    if s.embedded_temporal or s.embedded_postgres:
        raise StartupError("set TEMPORAL_ADDRESS and DATABASE_URL for a production role (or use `bunker dev`)")


async def run_worker(s: Settings) -> None:
    _require_servers(s)
    if s.sdk_metrics_port:
        ensure_port_free("127.0.0.1", s.sdk_metrics_port, "the Temporal SDK metrics (BUNKER_SDK_METRICS_PORT)")
    state = WorkerState(task_queue=s.temporal_task_queue, sdk_metrics_port=s.sdk_metrics_port)
    stop = asyncio.Event()

    def stopping() -> None:
        state.stopping = True  # /readyz says so from the first signal on
        stop.set()

    # First: /livez answers while the servers are still being reached, /readyz says `starting`.
    async with health.serving(state, s.worker_health_host, s.worker_health_port):
        state.client = await connect_temporal(s.temporal_target, s.temporal_namespace,
                                              runtime=sdk_runtime(s.sdk_metrics_port))
        state.pool = pool = await connect_postgres(s.database_url, s.db_pool_max)
        from bunker.bootstrap import bootstrap  # the annual inspection schedule: idempotent, any worker may do it

        await bootstrap(s, state.client, pool)
        for sig in (signal.SIGINT, signal.SIGTERM):  # until here, a signal ends the process at once
            asyncio.get_running_loop().add_signal_handler(sig, stopping)
        async with build_worker(state.client, pool, s.temporal_task_queue) as worker:
            state.worker = worker
            log.info("worker running", task_queue=s.temporal_task_queue, temporal=s.temporal_target,
                     sdk_metrics=f"127.0.0.1:{s.sdk_metrics_port}" if s.sdk_metrics_port else "off",
                     health=f"{s.worker_health_host}:{s.worker_health_port}" if s.worker_health_port else "off")
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
