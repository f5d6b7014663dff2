"""/metrics: the gateway's requests by route template and status, and the Temporal SDK's worker metrics
from the exporter of the process that runs the worker."""

from __future__ import annotations

import socket
import uuid

from prometheus_client.parser import text_string_to_metric_families

from bunker.settings import Settings
from bunker.temporal import connect, sdk_runtime
from tests.integration.gateway_helpers import Gateway, app_for, http_client, tokens  # noqa: F401 - fixtures
from workers.worker import build_worker


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests_of(text: str, method: str, route: str, status: str) -> float:
    labels = tuple(sorted({"method": method, "route": route, "status": status}.items()))
    return samples(text).get(("bunker_gateway_requests_total", labels), 0)


async def test_requests_are_counted_by_route_template_and_status(client, pool, tokens):
    settings = Settings(sdk_metrics_port=0)  # whatever else listens on the default port is not ours
    async with http_client(app_for(settings, client, pool)) as http:
        await _count_requests(Gateway(http, tokens, None, settings))


async def _count_requests(gw: Gateway) -> None:
    for _ in range(3):
        assert (await gw.get("operator", "/permits/BB-2026-999999")).status_code == 404
    assert (await gw.get("operator", "/permits")).status_code == 200
    assert (await gw.get("operator", "/inbox")).status_code == 403
    assert (await gw.http.get("/no/such/route")).status_code == 404
    big = await gw.http.post("/permits/BB-2026-000001/renewal", content=b"x" * (2 << 20),
                             headers=gw.auth("enterprise") | {"Idempotency-Key": "k"})
    assert big.status_code == 413
    r = await gw.http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert requests_of(text, "GET", "/permits/{permit_id}", "404") == 3  # one series, not one per case number
    assert requests_of(text, "GET", "/permits", "200") == 1
    assert requests_of(text, "GET", "/inbox", "403") == 1
    assert requests_of(text, "GET", "unmatched", "404") == 1
    # Refused by Content-Length before routing, still counted under its route.
    assert requests_of(text, "POST", "/permits/{permit_id}/renewal", "413") == 1
    labels = tuple(sorted({"method": "GET", "route": "/permits", "status": "200"}.items()))
    assert samples(text)[("bunker_gateway_request_duration_seconds_count", labels)] == 1
    assert "BB-2026-999999" not in text
    assert "temporal_" not in text  # nothing answers on the SDK port here


async def test_the_sdk_metrics_of_the_worker_process_are_appended(temporal_env, pool):
    port = free_port()
    client = await connect(temporal_env.client.service_client.config.target_host, "default", sdk_runtime(port))
    settings = Settings(sdk_metrics_port=port)
    async with build_worker(client, pool, f"metrics-{uuid.uuid4()}"), http_client(app_for(settings, client, pool)) as http:
        assert (await http.get("/healthz")).status_code == 200
        text = (await http.get("/metrics")).text
    names = {name for name, _ in samples(text)}
    assert "bunker_gateway_requests_total" in names
    assert {"temporal_request_total", "temporal_worker_task_slots_available", "temporal_num_pollers"} <= names, names
    assert sdk_runtime(0) is None  # BUNKER_SDK_METRICS_PORT=0: no exporter
