"""Shared moves of the gateway tests: principals of every kind, an HTTP client on the real app, polling.

Import the fixtures into a test module (`from tests.integration.gateway_helpers import gateway, tokens`).
Files are started with time skipping disabled, so no statutory deadline passes while HTTP calls happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bunker.settings import Settings
from domain.bodies import JOINT_REVIEW_PANEL, Body, District
from domain.calendar import WorkingCalendar
from domain.identifiers import make_credit_code
from gateway.app import Resources, create_app
from store import principals
from tests.fixtures.applications import CREDIT_CODE, valid_application

OTHER_CREDIT_CODE = make_credit_code("91440106MA5CXYW12")  # 440106 = Tianhe
AGENCIES = [b.value for b in Body if b not in (Body.DISTRICT, Body.ENTERPRISE, Body.OPERATOR, Body.SYSTEM)]
DISTRICTS = [f"district:{d.value}" for d in District]
PANEL = [b.value for b in JOINT_REVIEW_PANEL]
OWN_DISTRICT = "district:nansha"  # the example enterprise sits in Nansha
ROLES = [*DISTRICTS, *AGENCIES, "enterprise", "other_enterprise", "operator"]


@pytest_asyncio.fixture(scope="module")
async def tokens(pool: asyncpg.Pool) -> dict[str, str]:
    """A token for every role: each district and agency, the example enterprise, another one, an operator."""
    made: dict[str, str] = {}
    for role in ROLES:
        if role.startswith("district:"):
            _, token = await principals.add(pool, "agency", name=f"test {role}", body="district", district=role[9:])
        elif role in AGENCIES:
            _, token = await principals.add(pool, "agency", name=f"test {role}", body=role)
        elif role == "operator":
            _, token = await principals.add(pool, "operator", name="test operator")
        else:
            code = CREDIT_CODE if role == "enterprise" else OTHER_CREDIT_CODE
            _, token = await principals.add(pool, "enterprise", name=f"test {role}", credit_code=code)
        made[role] = token
    return made


def application_json(**overrides: Any) -> dict[str, Any]:
    today = WorkingCalendar.local_date(datetime.now(UTC))
    return valid_application(received_on=today, **overrides).model_dump(mode="json")


@dataclass
class Gateway:
    http: httpx.AsyncClient
    tokens: dict[str, str]
    env: WorkflowEnvironment
    settings: Settings

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, role: str, path: str, **kw: Any) -> httpx.Response:
        return await self.http.get(path, headers=self.auth(role), **kw)

    async def post(self, role: str, path: str, json: Any = None, *, key: str | None = "new", **kw: Any) -> httpx.Response:
        headers = self.auth(role)
        if key is not None:
            headers["Idempotency-Key"] = str(uuid.uuid4()) if key == "new" else key
        return await self.http.post(path, json=json, headers=headers, **kw)

    async def apply(self, role: str = "enterprise", **overrides: Any) -> str:
        """POST /applications; the file's workflow starts without time skipping."""
        with self.env.with_time_skipping_disabled():
            r = await self.post(role, "/applications", application_json(**overrides))
        assert r.status_code == 201, r.text
        return r.json()["application_id"]

    async def decide(self, role: str, task_id: str, body: dict[str, Any], key: str | None = "new") -> httpx.Response:
        return await self.post(role, f"/tasks/{task_id}/decision", body, key=key)

    async def wait_task(self, role: str, task_id: str, timeout: float = 10) -> dict[str, Any]:
        """Poll the role's inbox, as an agency system would, until the task is there."""
        deadline = time.monotonic() + timeout
        while True:
            r = await self.get(role, "/inbox")
            assert r.status_code == 200, r.text
            found = [t for t in r.json()["tasks"] if t["task_id"] == task_id]
            if found:
                return found[0]
            assert time.monotonic() < deadline, f"{task_id} never reached the inbox of {role}: {r.json()}"
            await asyncio.sleep(0.05)

    async def wait_stage(self, application_id: str, stage: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = await self.get("operator", f"/applications/{application_id}")
            assert r.status_code == 200, r.text
            if (r.json()["live"] or {}).get("stage") == stage:
                return r.json()
            assert time.monotonic() < deadline, f"{application_id} never reached {stage}: {r.json()['live']}"
            await asyncio.sleep(0.05)


def app_for(settings: Settings, client: Client | None, pool: asyncpg.Pool | None, **kw: Any):
    return create_app(Resources(settings=settings, client=client, pool=pool), **kw)


@contextlib.asynccontextmanager
async def http_client(app) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as http:
        yield http


@pytest_asyncio.fixture
async def gateway(temporal_env, client, pool, task_queue, tokens) -> AsyncIterator[Gateway]:
    settings = Settings(temporal_task_queue=task_queue)
    async with http_client(app_for(settings, client, pool)) as http:
        yield Gateway(http, tokens, temporal_env, settings)


async def event_types(pool: asyncpg.Pool, application_id: str) -> list[str]:
    rows = await pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", application_id)
    return [r["event_type"] for r in rows]


@contextlib.asynccontextmanager
async def tcp_proxy(target: str) -> AsyncIterator[tuple[str, Any]]:
    """A TCP relay to `target`; `close()` cuts it, as if the server went away."""
    host, port = target.rsplit(":", 1)
    conns: list[asyncio.StreamWriter] = []

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        w.close()

    async def relay(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        ur, uw = await asyncio.open_connection(host, int(port))
        conns.extend([w, uw])
        await asyncio.gather(pipe(r, uw), pipe(ur, w))

    server = await asyncio.start_server(relay, "127.0.0.1", 0)

    def close() -> None:
        server.close()
        for w in conns:
            w.close()

    try:
        yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}", close
    finally:
        close()


@contextlib.asynccontextmanager
async def gateway_cut_from_temporal(gw: Any, client: Client, pool: asyncpg.Pool) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """An in-process gateway reaching Temporal through a relay that `cut()` cuts; its client retries only
    briefly, so a cut answers 503 at once."""
    from temporalio.contrib.pydantic import pydantic_data_converter
    from temporalio.service import RetryConfig

    async with tcp_proxy(client.service_client.config.target_host) as (address, cut):
        fragile = await Client.connect(address, namespace=client.namespace, data_converter=pydantic_data_converter,
                                       retry_config=RetryConfig(initial_interval_millis=10, max_interval_millis=20,
                                                                max_elapsed_time_millis=300, max_retries=2))
        async with http_client(app_for(gw.settings, fragile, pool)) as http:
            yield http, cut
