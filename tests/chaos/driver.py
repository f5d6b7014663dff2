"""The agencies at work: an enterprise files N applications through the gateway, and every body's system
polls its inbox and decides each task at once, through HTTP, retrying whatever fails with the same
Idempotency-Key (the task id), as a real integration would. Then the check: each file's state, its events
(none missing, none twice), and the hash chains.

Every fourth application is refused by the government (the commerce bureau recommends so); the others
are approved and continue as the permit's workflow.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from domain.bodies import JOINT_REVIEW_PANEL
from domain.calendar import WorkingCalendar
from domain.examples import CREDIT_CODE, example_application
from store import event_store

PANEL = [b.value for b in JOINT_REVIEW_PANEL]
DISTRICT = "district:nansha"  # the example enterprise sits in Nansha
ROLES: dict[str, dict] = {
    "enterprise": dict(kind="enterprise", credit_code=CREDIT_CODE),
    DISTRICT: dict(kind="agency", body="district", district="nansha"),
    "commerce": dict(kind="agency", body="commerce"),
    "municipal_gov": dict(kind="agency", body="municipal_gov"),
    "operator": dict(kind="operator"),
    **{a: dict(kind="agency", body=a) for a in PANEL},
}

PROCEDURE = ["ApplicationReceived", "Accepted", "PreliminaryReviewGiven", "JointReviewOpened",
             *["AgencyReviewGiven"] * len(PANEL), "DeadlineReminder", "SubmittedToGovernment"]
EXPECTED_EVENTS = {
    "approve": [*PROCEDURE, "Approved", "PermitInForce"],
    "refuse": [*PROCEDURE, "Refused"],
}
FINAL_STATUS = {"approve": "in_force", "refuse": "refused"}
# What a retry may legitimately hear once the first attempt went through (the answer was lost).
RETRYABLE = {503, 502, 504}


def outcome_of(i: int) -> str:
    return "refuse" if i % 4 == 3 else "approve"


@dataclass
class Tally:
    requests: int = 0
    retries: int = 0
    statuses: collections.Counter = field(default_factory=collections.Counter)
    replayed: int = 0  # answers given from the gateway's idempotency store
    already_decided: int = 0  # a retry after the first attempt went through, answered 409
    errors: list[str] = field(default_factory=list)


class Agencies:
    """The enterprise and the bodies, over HTTP against the gateway at `base_url`."""

    def __init__(self, base_url: str, tokens: dict[str, str], n: int) -> None:
        self.base_url, self.tokens, self.n = base_url, tokens, n
        self.expected: dict[str, str] = {}  # application id -> approve / refuse
        self.tally = Tally()
        self._stop = asyncio.Event()

    def _headers(self, role: str, key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[role]}"}
        return h | ({"Idempotency-Key": key} if key else {})

    async def _post(self, http: httpx.AsyncClient, role: str, path: str, body: Any, key: str,
                    deadline: float) -> httpx.Response | None:
        """POST until an answer that is not 'try again'; the same key every time."""
        first = True
        while time.monotonic() < deadline:
            if not first:
                self.tally.retries += 1
            first = False
            self.tally.requests += 1
            try:
                r = await http.post(path, json=body, headers=self._headers(role, key))
            except httpx.HTTPError as e:  # the gateway is down or was killed mid-request
                self.tally.statuses[type(e).__name__] += 1
                await asyncio.sleep(0.5)
                continue
            self.tally.statuses[r.status_code] += 1
            if r.headers.get("Idempotent-Replayed") == "true":
                self.tally.replayed += 1
            code = r.json().get("error", {}).get("code") if r.status_code >= 400 else None
            if r.status_code in RETRYABLE or code in ("in_progress", "wrong_stage"):
                await asyncio.sleep(0.5)
                continue
            return r
        return None

    async def submit_all(self, http: httpx.AsyncClient, deadline: float) -> None:
        today = WorkingCalendar.local_date(datetime.now(UTC))
        body = example_application(today).model_dump(mode="json")

        async def one(i: int) -> None:
            r = await self._post(http, "enterprise", "/applications", body, f"chaos-application-{i}", deadline)
            if r is None or r.status_code != 201:
                self.tally.errors.append(f"application {i}: {r and r.status_code} {r and r.text[:200]}")
                return
            self.expected[r.json()["application_id"]] = outcome_of(i)

        for start in range(0, self.n, 5):  # a few at a time, as an enterprise's system would
            await asyncio.gather(*(one(i) for i in range(start, min(start + 5, self.n))))

    def _decision(self, role: str, task: dict) -> dict | None:
        kind, app_id = task["kind"], task["task_id"].split("/")[0]
        outcome = self.expected.get(app_id)
        if outcome is None:
            return None  # not one of ours (or its submission answer is not back yet)
        if role == DISTRICT and kind == "completeness":
            return {"action": "accept"}
        if role == DISTRICT and kind == "preliminary_review":
            return {"favourable": True, "opinion": "材料齐全，符合条件"}
        if role in PANEL and kind == "joint_review":
            return {"decision": "approve", "reasons": ""}
        if role == "commerce" and kind == "submit_to_government":
            return {"recommendation": outcome, "consolidated_opinion": "各部门意见汇总"}
        if role == "municipal_gov" and kind == "decide":
            return {"approve": True, "reasons": ""} if outcome == "approve" else \
                {"approve": False, "reasons": "储罐租赁期不足（第五条） / tank lease too short (Art. 5)"}
        return None  # a permit's tasks (filings, the document): not part of this run

    async def _body(self, http: httpx.AsyncClient, role: str, deadline: float) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                r = await http.get("/inbox", headers=self._headers(role))
                tasks = r.json()["tasks"] if r.status_code == 200 else []
            except (httpx.HTTPError, ValueError, KeyError):
                tasks = []
            for task in tasks:
                body = self._decision(role, task)
                if body is None:
                    continue
                r = await self._post(http, role, f"/tasks/{task['task_id']}/decision", body, task["task_id"], deadline)
                if r is None:
                    continue
                if r.status_code == 409 and r.json()["error"]["code"] == "already_decided":
                    self.tally.already_decided += 1  # a retry of a step that was taken: fine, checked below
                elif r.status_code != 200:
                    self.tally.errors.append(f"{role} {task['task_id']}: {r.status_code} {r.text[:200]}")
            await asyncio.sleep(0.3)

    async def run(self, done: Any, progress: Any, deadline: float, stall_s: float = 75) -> None:
        """Submit, then answer inboxes until `done()` says every file is closed, or nothing has moved for
        `stall_s` once `progress.quiet()` (no fault under way), or the deadline."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=40) as http:
            bodies = [asyncio.create_task(self._body(http, role, deadline))
                      for role in (DISTRICT, *PANEL, "commerce", "municipal_gov")]
            try:
                await self.submit_all(http, deadline)
                last, moved = -1.0, time.monotonic()
                while time.monotonic() < deadline and not await done(self.expected):
                    now = await progress.fraction()
                    if now != last or not progress.quiet():
                        last, moved = now, time.monotonic()
                    elif time.monotonic() - moved > stall_s:
                        self.tally.errors.append(f"nothing moved for {stall_s:.0f} s: stopped waiting")
                        break
                    await asyncio.sleep(0.5)
            finally:
                self._stop.set()
                await asyncio.gather(*bodies, return_exceptions=True)


async def closed_as_expected(pool: asyncpg.Pool, expected: dict[str, str]) -> bool:
    """Every file in its final state in the read model (False while PostgreSQL is away)."""
    if not expected:
        return False
    try:
        rows = await pool.fetch("SELECT stream_id, status FROM permits WHERE stream_id = ANY($1::text[])",
                                list(expected))
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    got = {r["stream_id"]: r["status"] for r in rows}
    return all(got.get(a) == FINAL_STATUS[o] for a, o in expected.items())


@dataclass
class Verdict:
    lifecycles: int
    correct: int
    missing: int
    duplicated: int
    chain_events: int
    chain_broken: str | None
    extra_files: int
    problems: list[str]


async def verify(pool: asyncpg.Pool, client: Client, expected: dict[str, str], n: int) -> Verdict:
    """Each file's state (read model and workflow), its events against the procedure, the chains."""
    problems: list[str] = []
    missing = duplicated = correct = 0
    for app_id, outcome in sorted(expected.items()):
        got = [e.event_type for e in await event_store.read_stream(pool, app_id)]
        want = EXPECTED_EVENTS[outcome]
        have, need = collections.Counter(got), collections.Counter(want)
        m, d = sum((need - have).values()), sum((have - need).values())
        missing, duplicated = missing + m, duplicated + d
        row = await pool.fetchrow("SELECT status FROM permits WHERE stream_id = $1", app_id)
        desc = await client.get_workflow_handle(f"application/{app_id}").describe()
        state_ok = (row is not None and row["status"] == FINAL_STATUS[outcome]) and (
            (desc.workflow_type, desc.status) == ("Permit", WorkflowExecutionStatus.RUNNING) if outcome == "approve"
            else (desc.workflow_type, desc.status) == ("PermitApplication", WorkflowExecutionStatus.COMPLETED))
        if got == want and state_ok:
            correct += 1
        else:
            problems.append(f"{app_id} ({outcome}): read model {row and row['status']}, workflow "
                            f"{desc.workflow_type} {desc.status.name}; events {got}")
    checked, broken = await event_store.verify(pool)
    files = await pool.fetchval("SELECT count(*) FROM permits")
    if len(expected) < n:
        problems.append(f"only {len(expected)} of {n} applications were answered")
    if files != len(expected):
        problems.append(f"{files} files in the read model for {len(expected)} applications (a start done twice?)")
    return Verdict(lifecycles=n, correct=correct, missing=missing, duplicated=duplicated, chain_events=checked,
                   chain_broken=None if broken is None else f"{broken.stream_id} v{broken.version}: {broken.reason}",
                   extra_files=files - len(expected), problems=problems)


async def terminate_permits(client: Client, expected: dict[str, str]) -> None:
    for app_id, outcome in expected.items():
        if outcome == "approve":
            with contextlib.suppress(Exception):
                await client.get_workflow_handle(f"application/{app_id}").terminate("chaos run done")
