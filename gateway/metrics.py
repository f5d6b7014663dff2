"""`/metrics`: Prometheus text for the gateway's requests, followed by the Temporal SDK's worker metrics.

The gateway counts requests and their latency by method, route *template* (`/permits/{permit_id}`, never
the raw path, which would make a series per case number) and status. The process that runs the worker
has the SDK export its own metrics (workflow and activity task latencies, polls, slots, sticky cache) on
`127.0.0.1:BUNKER_SDK_METRICS_PORT` (bunker/temporal.py: `sdk_runtime`); `/metrics` appends that text
when it can reach it, so under `bunker dev` one scrape target has both. A worker in a process of its
own relays it at `/metrics` of its health endpoint (workers/health.py), which a scraper can reach.
"""

from __future__ import annotations

import time

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import deps

log = structlog.get_logger()
router = APIRouter(tags=["operations"])

_SDK_TIMEOUT_S = 1.0
_UNMATCHED = "unmatched"  # no route (404), or refused before routing (413 by Content-Length)


class GatewayMetrics:
    """One registry per app, so that several apps in one process (the tests) do not share series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("bunker_gateway_requests", "HTTP requests answered by the gateway",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("bunker_gateway_request_duration_seconds",
                                 "Time from the request's arrival to the end of its answer",
                                 ["method", "route", "status"], registry=self.registry)


class _Measure:
    """ASGI middleware: the status and duration of every HTTP request, by route template."""

    def __init__(self, app: ASGIApp, metrics: GatewayMetrics, fastapi: FastAPI) -> None:
        self.app, self.metrics, self.fastapi = app, metrics, fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def measured_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, measured_send)
        finally:
            labels = (scope["method"], self._route(scope), str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - started)

    def _route(self, scope: Scope) -> str:
        route = scope.get("route")  # set by the router when it matched
        if route is not None:
            return getattr(route, "path", _UNMATCHED)
        # Answered before routing (a 413 by Content-Length): match the path ourselves.
        for candidate in _flat(self.fastapi.router.routes):
            if candidate.matches(scope)[0] is Match.FULL:
                return getattr(candidate, "path", _UNMATCHED)
        return _UNMATCHED


def _flat(routes: list) -> list:
    """The routes themselves, out of the routers included in the app (FastAPI wraps each one; its
    `original_router` holds them). Should that change, unrouted answers are counted as `unmatched`."""
    flat = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        flat += _flat(inner.routes) if inner is not None else [r]
    return flat


def install(app: FastAPI) -> GatewayMetrics:
    metrics = GatewayMetrics()
    app.state.metrics = metrics
    app.add_middleware(_Measure, metrics=metrics, fastapi=app)
    return metrics


async def sdk_metrics(port: int) -> str | None:
    """The Temporal SDK exporter's text on 127.0.0.1:`port`, or None when nothing answers there."""
    if not port:
        return None
    try:
        async with httpx.AsyncClient(timeout=_SDK_TIMEOUT_S) as http:
            r = await http.get(f"http://127.0.0.1:{port}/metrics")
    except httpx.HTTPError:
        return None
    return r.text if r.status_code == 200 else None


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format 0.0.4: the gateway's series, then the SDK's (when reachable)."""
    text = generate_latest(request.app.state.metrics.registry).decode()
    sdk = await sdk_metrics(deps.settings(request).sdk_metrics_port)
    if sdk:
        text += "# Temporal SDK (worker) metrics from 127.0.0.1:%d\n" % deps.settings(request).sdk_metrics_port
        text += sdk if sdk.endswith("\n") else sdk + "\n"
    return Response(text, media_type=CONTENT_TYPE_PLAIN_0_0_4)
