"""The HTTP gateway (FastAPI). This module wires it up; each concern has its own router module.

- `applications`: the enterprise applies, corrects, answers, withdraws; the file and its timeline
- `agencies`: the inbox of each body and the decision that completes a step; the decision clock
- `permits`: the register, for operators and the bodies; one permit with its live state
- `in_force`: the permit in force (renewal, change, documents, rectification; termination, revocation)
- `ledger`: the enterprise's Art. 17 ledger (batches in, stock and the annual summary out)
- `metrics`: Prometheus text at /metrics (the gateway's requests, the Temporal SDK's worker metrics)
- `auth` (bearer tokens → principals), `access` (who sees and does what), `idempotency`, `errors`, `limits`,
  `nul` (NUL refused at the edge), `health` (/livez, /healthz, /readyz)
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from bunker.settings import Settings
from gateway import agencies, applications, errors, health, in_force, ledger, metrics, permits
from gateway import supervision
from gateway.limits import MAX_BODY_BYTES, BodySizeLimit
from gateway.nul import RefuseNul


@dataclass
class Resources:
    settings: Settings
    client: Client | None = None
    pool: asyncpg.Pool | None = None


def create_app(resources: Resources, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(
        title="Guangzhou bonded bunkering permit orchestrator",
        description="API for agency systems, enterprises and operators (穗府办规〔2022〕2号). "
                    "Authenticate with `Authorization: Bearer <token>`; every error is "
                    '`{"error": {"code", "message", "fields"}}` (see gateway/errors.py).',
        version="0.1.0",
    )
    # Set here, not in the lifespan: an ASGI test transport does not run lifespans.
    app.state.resources = resources
    errors.install(app)
    # Inside the size limit: the NUL scan reads only what the limit lets through.
    app.add_middleware(RefuseNul)  # PostgreSQL text cannot hold NUL: 422 at the edge, not a 500 deep inside
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    metrics.install(app)  # outermost: it sees every answer, a 413 too
    for module in (applications, agencies, permits, in_force, ledger, metrics):
        app.include_router(module.router)
    app.include_router(supervision.router)  # complaints, violations, interviews, oversight (Art. 19-22, 26)

    @app.get("/livez", tags=["operations"])
    async def livez() -> JSONResponse:
        """Liveness: the process answers. Asks nothing else (a restart cures a hung process, not an outage of
        Temporal or PostgreSQL): the probe that restarts a gateway."""
        return JSONResponse({"status": "alive"})

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """Readiness, in detail: the state of Temporal and PostgreSQL. 200 when both are up, 503 otherwise."""
        state = await health.check(resources.client, resources.pool)
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """Readiness: 200 when Temporal and PostgreSQL answer, 503 otherwise (the probe that routes traffic)."""
        state = await health.check(resources.client, resources.pool)
        ready = state["status"] == "ok"
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    return app
