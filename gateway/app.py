"""The HTTP gateway (FastAPI). This module wires it up; each concern has its own router module."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from temporalio.client import Client

from bunker.settings import Settings
from gateway import health


@dataclass
class Resources:
    settings: Settings
    client: Client | None = None
    pool: asyncpg.Pool | None = None


def create_app(resources: Resources) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.resources = resources
        yield

    app = FastAPI(
        title="Guangzhou bonded bunkering permit orchestrator",
        description="API for agency systems, enterprises and operators (穗府办规〔2022〕2号).",
        version="0.1.0",
        lifespan=lifespan,
    )

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> JSONResponse:
        """State of Temporal and PostgreSQL. 200 when both are up, 503 otherwise."""
        state = await health.check(resources.client, resources.pool)
        return JSONResponse(state, status_code=200 if state["status"] == "ok" else 503)

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        state = await health.check(resources.client, resources.pool)
        ready = state["status"] == "ok"
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    return app
