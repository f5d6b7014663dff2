"""Liveness and readiness of both roles: the gateway's /livez, /healthz, /readyz, and the worker's own endpoint
(workers/health.py), in process and as a real `bunker worker` process with its probe (deploy/healthcheck.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from bunker.binaries import temporal_binary
from bunker.runtime import StartupError
from bunker.settings import Settings
from tests.integration.gateway_helpers import app_for, http_client
from workers import health
from workers.health import WorkerState
from workers.worker import build_worker

ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK = ROOT / "deploy" / "healthcheck.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the gateway
async def test_the_gateway_is_live_without_its_servers_and_ready_only_with_them(client, pool):
    settings = Settings(sdk_metrics_port=0)
    async with http_client(app_for(settings, None, None)) as http:
        live = await http.get("/livez")
        assert live.status_code == 200 and live.json() == {"status": "alive"}
        healthz = await http.get("/healthz")
        assert healthz.status_code == 503 and healthz.json()["status"] == "degraded"
        assert (await http.get("/readyz")).status_code == 503
    async with http_client(app_for(settings, client, pool)) as http:
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/healthz")).json()["status"] == "ok"
        assert (await http.get("/readyz")).json() == {"ready": True}


# ---------------------------------------------------------------- the worker, in process
async def test_the_worker_endpoint_follows_the_worker_from_start_to_stop(client, pool):
    port = free_port()
    state = WorkerState(task_queue=f"health-{uuid.uuid4()}")
    async with health.serving(state, "127.0.0.1", port), httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        assert (await http.get("/livez")).json() == {"status": "alive"}
        starting = await http.get("/readyz")
        assert starting.status_code == 503 and starting.json()["worker"] == "starting"
        state.client, state.pool = client, pool
        async with build_worker(client, pool, state.task_queue) as worker:
            state.worker = worker
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            body = ready.json()
            assert body["ready"] is True and body["worker"] == "running" and body["task_queue"] == state.task_queue
            assert body["temporal"]["up"] and body["postgres"]["up"]
            state.stopping = True
            stopping = await http.get("/readyz")
            assert stopping.status_code == 503 and stopping.json()["worker"] == "stopping"
            state.stopping = False
        assert (await http.get("/readyz")).json()["worker"] == "stopped"
        assert (await http.get("/metrics")).status_code == 404  # BUNKER_SDK_METRICS_PORT=0: no exporter
        assert (await http.get("/livez")).status_code == 200
    with pytest.raises(httpx.ConnectError):  # gone with the block
        await httpx.AsyncClient().get(f"http://127.0.0.1:{port}/livez")


async def test_the_worker_is_not_ready_while_postgres_is_down(client):
    port = free_port()
    dead = await asyncpg.create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=0)
    state = WorkerState(task_queue=f"health-{uuid.uuid4()}", client=client, pool=dead)
    async with health.serving(state, "127.0.0.1", port), build_worker(client, dead, state.task_queue) as worker:
        state.worker = worker
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            r = await http.get("/readyz")
            assert (await http.get("/livez")).status_code == 200
    await dead.close()
    assert r.status_code == 503 and r.json()["postgres"]["up"] is False and r.json()["temporal"]["up"] is True


async def test_a_busy_health_port_is_a_startup_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(StartupError, match="BUNKER_WORKER_HEALTH_PORT"):
            async with health.serving(WorkerState(task_queue="q"), "127.0.0.1", port):
                pass
    async with health.serving(WorkerState(task_queue="q"), "127.0.0.1", 0) as server:
        assert server is None  # port 0: no endpoint


# ---------------------------------------------------------------- `bunker worker`, a real process
@pytest.fixture
async def own_temporal():
    """A Temporal dev server of this test's own: the worker's bootstrap creates the inspection schedule, and
    the shared server's belongs to other tests. Also: it can be stopped."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_binary(),
                                                data_converter=pydantic_data_converter)
    try:
        yield env
    finally:
        with contextlib.suppress(Exception):  # the test may have stopped it already
            await env.shutdown()


@pytest.fixture
async def database_url(pg_server):
    name = f"health_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server.get_uri("postgres"))
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.close()
    return pg_server.get_uri(name)


def probe(mode: str, port: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "BUNKER_WORKER_HEALTH_PORT": str(port), "BUNKER_HEALTHCHECK_TIMEOUT": "1"}
    return subprocess.run([sys.executable, str(HEALTHCHECK), "worker", mode], env=env, capture_output=True,
                          text=True, timeout=30)


async def wait_for(http: httpx.AsyncClient, path: str, status: int, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            r = await http.get(path)
            if r.status_code == status:
                return r
        except httpx.HTTPError:
            r = None
        assert time.monotonic() < deadline, f"{path} never answered {status}: {r and r.text}"
        await asyncio.sleep(0.2)


async def test_bunker_worker_serves_its_health_and_its_probe_reads_it(own_temporal, database_url, tmp_path):
    port, sdk_port = free_port(), free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": own_temporal.client.service_client.config.target_host,
           "DATABASE_URL": database_url, "BUNKER_TEMPORAL_TASK_QUEUE": f"health-{uuid.uuid4()}",
           "BUNKER_WORKER_HEALTH_PORT": str(port), "BUNKER_SDK_METRICS_PORT": str(sdk_port),
           "BUNKER_LOG_FORMAT": "json", "BUNKER_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - the child's
    worker = subprocess.Popen([sys.executable, "-m", "bunker.cli", "worker"], cwd=tmp_path, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
            await wait_for(http, "/livez", 200)
            ready = (await wait_for(http, "/readyz", 200)).json()
            assert ready["worker"] == "running" and ready["temporal"]["up"] and ready["postgres"]["up"]
            assert probe("ready", port).returncode == 0 and probe("live", port).returncode == 0
            assert "temporal_num_pollers" in (await http.get("/metrics")).text  # the SDK's, relayed

            # A hung process (stopped here) answers nothing: the liveness probe fails, and recovers.
            worker.send_signal(signal.SIGSTOP)
            try:
                hung = probe("live", port)
                assert hung.returncode == 1 and "unhealthy" in hung.stderr
            finally:
                worker.send_signal(signal.SIGCONT)
            assert probe("live", port).returncode == 0

            # Temporal gone: still live (a restart would not bring it back), no longer ready.
            await own_temporal.shutdown()
            down = await wait_for(http, "/readyz", 503)
            assert down.json()["temporal"]["up"] is False and down.json()["postgres"]["up"] is True
            assert (await http.get("/livez")).status_code == 200
            assert probe("ready", port).returncode == 1 and probe("live", port).returncode == 0
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()
