"""deploy/healthcheck.py (`bunker-healthcheck` in the image), against stand-in servers and processes. The real
roles behind it are probed in tests/integration/test_health.py."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.unit.deploy.files import HEALTHCHECK


def run_healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BUNKER_")}
    return subprocess.run([sys.executable, str(HEALTHCHECK), *args], env={**base, **env},
                          capture_output=True, text=True, timeout=30)


@pytest.fixture
def fake_server():
    """An HTTP server answering `status[path]` (404 for any other path); `asked` lists the paths asked."""
    status: dict[str, int] = {}
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            asked.append(self.path)
            self.send_response(status.get(self.path, 404))
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], status, asked
    server.shutdown()
    server.server_close()


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def test_healthcheck_gateway_asks_healthz_for_readiness_and_livez_for_liveness(fake_server) -> None:
    port, status, asked = fake_server
    status.update({"/healthz": 200, "/livez": 200})
    assert run_healthcheck("gateway", BUNKER_GATEWAY_PORT=str(port)).returncode == 0
    assert run_healthcheck("gateway", "live", BUNKER_GATEWAY_PORT=str(port)).returncode == 0
    assert asked == ["/healthz", "/livez"]
    status["/healthz"] = 503
    result = run_healthcheck("gateway", "ready", BUNKER_GATEWAY_PORT=str(port))
    assert result.returncode == 1 and "503" in result.stderr
    assert run_healthcheck("gateway", "live", BUNKER_GATEWAY_PORT=str(port)).returncode == 0


def test_healthcheck_gateway_down() -> None:
    port = free_port()
    assert run_healthcheck("gateway", BUNKER_GATEWAY_PORT=port, BUNKER_HEALTHCHECK_TIMEOUT="2").returncode == 1


def test_healthcheck_worker_asks_its_health_endpoint(fake_server) -> None:
    port, status, asked = fake_server
    status.update({"/readyz": 200, "/livez": 200})
    assert run_healthcheck("worker", BUNKER_WORKER_HEALTH_PORT=str(port)).returncode == 0
    assert run_healthcheck("worker", "live", BUNKER_WORKER_HEALTH_PORT=str(port)).returncode == 0
    assert asked == ["/readyz", "/livez"]
    status["/readyz"] = 503
    result = run_healthcheck("worker", BUNKER_WORKER_HEALTH_PORT=str(port))
    assert result.returncode == 1 and "503" in result.stderr
    assert run_healthcheck("worker", "live", BUNKER_WORKER_HEALTH_PORT=str(port)).returncode == 0
    # Nothing listening: unhealthy, whatever the process looks like.
    assert run_healthcheck("worker", "live", BUNKER_WORKER_HEALTH_PORT=free_port(),
                           BUNKER_HEALTHCHECK_TIMEOUT="2").returncode == 1


def test_healthcheck_worker_times_out_on_a_hung_endpoint() -> None:
    with socket.socket() as s:  # accepts connections (the backlog) and never answers
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = str(s.getsockname()[1])
        result = run_healthcheck("worker", "live", BUNKER_WORKER_HEALTH_PORT=port, BUNKER_HEALTHCHECK_TIMEOUT="1")
    assert result.returncode == 1 and "unhealthy" in result.stderr


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_healthcheck_worker_without_an_endpoint_checks_the_process() -> None:
    sleeper = "import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", sleeper, "worker"])
    other = subprocess.Popen([sys.executable, "-c", sleeper, "gateway"])
    try:
        assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(worker.pid)).returncode == 0
        assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(worker.pid),
                               BUNKER_WORKER_HEALTH_PORT="0").returncode == 0
        assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(other.pid)).returncode == 1
    finally:
        worker.kill()
        other.kill()
        worker.wait()
        other.wait()
    assert run_healthcheck("worker", BUNKER_HEALTHCHECK_PID=str(worker.pid)).returncode == 1


def test_healthcheck_usage_is_unhealthy_not_reserved() -> None:
    assert run_healthcheck().returncode == 1  # Docker reserves exit status 2
    assert run_healthcheck("worker", "sometimes").returncode == 1
    assert run_healthcheck("gateway", "live", "extra").returncode == 1
