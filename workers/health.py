"""The worker's own HTTP health endpoint, on `BUNKER_WORKER_HEALTH_HOST:BUNKER_WORKER_HEALTH_PORT` (port 0,
the default: none). For probes, not for people; no authentication, nothing but state.

| path | 200 when | otherwise |
|---|---|---|
| `/livez` | the process's event loop answers (it asks nothing else: a restart cures only a hung process) | no answer at all |
| `/readyz` | the worker is polling its task queue, Temporal answers a health check and the database pool a query | 503 with the state of each |
| `/metrics` | the Temporal SDK's Prometheus text, relayed from its exporter on `127.0.0.1:BUNKER_SDK_METRICS_PORT` (which listens on loopback only, out of a scraper's reach) | 404 when the exporter is off |

The endpoint runs in the worker's event loop, the same loop that runs workflow activations and activities:
an answer from `/livez` is proof that the loop is turning. It starts before the worker connects
(`/livez` answers from the first moment, `/readyz` is 503 `starting`) and says `stopping` from the first
signal, so that a rollout does not count a draining worker as ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from temporalio.client import Client
from temporalio.worker import Worker

from bunker.runtime import StartupError
from gateway.health import check as dependencies
from gateway.metrics import sdk_metrics

log = structlog.get_logger()


@dataclass
class WorkerState:
    """What the endpoint reports on; the worker's process fills it in as it starts and stops."""

    task_queue: str
    sdk_metrics_port: int = 0
    client: Client | None = None
    pool: asyncpg.Pool | None = None
    worker: Worker | None = None
    stopping: bool = False

    @property
    def phase(self) -> str:
        if self.stopping:
            return "stopping"
        if self.worker is None:
            return "starting"
        return "running" if self.worker.is_running else "stopped"

    async def readiness(self) -> dict[str, Any]:
        deps = await dependencies(self.client, self.pool)
        ready = self.phase == "running" and deps["status"] == "ok"
        return {"ready": ready, "worker": self.phase, "task_queue": self.task_queue,
                "temporal": deps["temporal"], "postgres": deps["postgres"]}


def health_app(state: WorkerState) -> Starlette:
    async def livez(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        answer = await state.readiness()
        return JSONResponse(answer, status_code=200 if answer["ready"] else 503)

    async def metrics(_: Request) -> Response:
        text = await sdk_metrics(state.sdk_metrics_port)
        if text is None:
            return PlainTextResponse("the Temporal SDK exporter is off or not answering\n", status_code=404)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return Starlette(routes=[Route("/livez", livez), Route("/readyz", readyz), Route("/metrics", metrics)])


class _Server(uvicorn.Server):
    """uvicorn, leaving SIGINT and SIGTERM to the process (it would take them for itself)."""

    @contextlib.contextmanager
    def capture_signals(self):  # noqa: ANN201 - uvicorn's signature
        yield


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise StartupError(f"port {host}:{port} for the worker health endpoint (BUNKER_WORKER_HEALTH_PORT) "
                           f"cannot be used: {e.strerror or e}") from None
    sock.listen(64)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serving(state: WorkerState, host: str, port: int) -> AsyncIterator[uvicorn.Server | None]:
    """Serve the endpoint for the duration of the block; port 0: nothing (yields None). The socket is bound
    here, so a busy port is a `StartupError` (one line, exit 2), not uvicorn's exit."""
    if not port:
        yield None
        return
    sock = _listen(host, port)
    server = _Server(uvicorn.Config(health_app(state), log_config=None, access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if task.done():
            task.result()  # its error, if it has one
            raise StartupError(f"the worker health endpoint stopped at once on {host}:{port}")
        log.info("worker health endpoint", url=f"http://{host}:{port}", paths=["/livez", "/readyz", "/metrics"])
        yield server
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()
