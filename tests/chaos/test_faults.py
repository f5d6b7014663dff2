"""Faults survived, nothing lost: many lifecycles run through the gateway while a fault is injected.

Each scenario starts its own stack (tests/chaos/stack.py: Temporal dev server with file persistence,
embedded PostgreSQL, `bunker worker` and `bunker gateway` as processes), drives CHAOS_LIFECYCLES
applications (default 20) to approval or refusal with automatic agency responders (tests/chaos/driver.py),
injects its fault, and then checks that every file reached the state its inputs imply, that the event
store holds exactly the procedure's events (none missing, none twice), and that every hash chain is
intact. Agencies answer at once: nothing waits for a statutory deadline, so no time skipping is needed.

Run with `make chaos` (about 8-11 minutes on 2 cores: each scenario 2-3 minutes, the PostgreSQL one
waits out its 30 s outage, and a file that stops moving is given 75 s before the run gives up on it).
CHAOS_SEED fixes the random moments; CHAOS_LIFECYCLES and CHAOS_BUDGET_S scale the run.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from bunker.temporal import connect
from tests.chaos.conftest import Row
from tests.chaos.driver import EXPECTED_EVENTS, ROLES, Agencies, closed_as_expected, terminate_permits, verify
from tests.chaos.stack import Stack

N = int(os.environ.get("CHAOS_LIFECYCLES", "20"))
SEED = int(os.environ.get("CHAOS_SEED", str(int(time.time()))))
BUDGET_S = float(os.environ.get("CHAOS_BUDGET_S", "240"))  # per scenario: the run must finish by then
PG_OUTAGE_S = 30

pytestmark = pytest.mark.timeout(int(BUDGET_S) + 180)

Fault = Callable[[Stack, "Progress", random.Random], Awaitable[str]]


class Progress:
    """How far the run is: events stored, against the total the procedure will store."""

    def __init__(self, pool: asyncpg.Pool, n: int) -> None:
        self.pool, self.n = pool, n
        per_file = sum(len(EXPECTED_EVENTS["approve" if i % 4 != 3 else "refuse"]) for i in range(n)) / n
        self.total = per_file * n
        self.finished = asyncio.Event()
        self.injecting = True  # until the injector returns (an outage is silence, not a stall)

    def quiet(self) -> bool:
        return not self.injecting

    async def fraction(self) -> float:
        try:
            return await self.pool.fetchval("SELECT count(*) FROM events") / self.total
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return 0.0

    async def reached(self, fraction: float, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.finished.is_set():
            if await self.fraction() >= fraction:
                return True
            await asyncio.sleep(0.2)
        return False


async def run_scenario(tmp_path: Path, name: str, fault: Fault, record_row) -> None:
    rng = random.Random(f"{SEED}-{name}")
    stack = Stack(tmp_path)
    started = time.monotonic()
    try:
        await stack.start(ROLES)
        pool = await stack.pool()
        client = await connect(stack.temporal_address)
        progress = Progress(pool, N)
        agencies = Agencies(stack.gateway_url, stack.tokens, N)
        async def inject() -> str:
            try:
                return await fault(stack, progress, rng)
            finally:
                progress.injecting = False

        injector = asyncio.create_task(inject())
        try:
            await agencies.run(lambda expected: closed_as_expected(pool, expected), progress, started + BUDGET_S)
        finally:
            progress.finished.set()
            faults = await injector  # each injector leaves every process running again
        verdict = await verify(pool, client, agencies.expected, N)
        t = agencies.tally
        notes = (f"seed {SEED}; {t.requests} requests, {t.retries} retries, {t.replayed} replayed, "
                 f"{t.already_decided} retries after the step was taken; answers {dict(t.statuses)}")
        record_row(Row(name, N, faults, verdict.correct, verdict.missing, verdict.duplicated,
                       "intact" if verdict.chain_broken is None else f"BROKEN {verdict.chain_broken}",
                       time.monotonic() - started, notes))
        logs = "".join((tmp_path / f).read_text(errors="replace") for f in ("worker.log", "gateway.log")
                       if (tmp_path / f).exists())
        leaked = [role for role, token in stack.tokens.items() if token.removeprefix("bbk_") in logs]
        await terminate_permits(client, agencies.expected)
        await pool.close()

        assert not t.errors, "unexpected answers:\n" + "\n".join(t.errors[:20])
        assert verdict.chain_broken is None, verdict.chain_broken
        assert verdict.missing == verdict.duplicated == 0 and verdict.correct == N, "\n".join(verdict.problems[:20])
        assert not verdict.problems, "\n".join(verdict.problems[:20])
        assert not leaked, f"tokens of {leaked} appear in the worker's or gateway's log"
    finally:
        stack.stop()


# ---------------------------------------------------------------- the faults
async def kill_the_worker(stack: Stack, progress: Progress, rng: random.Random) -> str:
    """SIGKILL the worker at random moments (up to 6 times), restart it after a random pause."""
    kills = 0
    await progress.reached(0.05)
    while kills < 6 and not progress.finished.is_set():
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        if progress.finished.is_set():
            break
        stack.kill_worker()
        kills += 1
        await asyncio.sleep(rng.uniform(0.2, 2.0))
        stack.start_worker()
    return f"{kills} worker SIGKILLs"


async def restart_temporal(stack: Stack, progress: Progress, rng: random.Random) -> str:
    """Stop the Temporal server (its SQLite file persists), wait, start it again: twice, at 25% and 60%."""
    restarts = 0
    for at in (0.25, 0.6):
        if not await progress.reached(at):
            break
        stack.stop_temporal()
        restarts += 1
        await asyncio.sleep(rng.uniform(2.0, 5.0))
        stack.start_temporal()
        await stack.wait_temporal()
    return f"{restarts} Temporal server restarts"


async def postgres_outage(stack: Stack, progress: Progress, rng: random.Random) -> str:
    """PostgreSQL stopped for 30 s at a third of the run, then started again on the same data."""
    if not await progress.reached(0.33):
        return "0 (the run ended first)"
    await asyncio.to_thread(stack.stop_postgres)
    down = time.monotonic()
    await asyncio.sleep(PG_OUTAGE_S)
    await asyncio.to_thread(stack.restart_postgres)
    return f"1 PostgreSQL outage of {time.monotonic() - down:.0f} s"


async def restart_the_gateway(stack: Stack, progress: Progress, rng: random.Random) -> str:
    """SIGKILL the gateway at random moments (up to 6 times), requests in flight included; start it again."""
    kills = 0
    while kills < 6 and not progress.finished.is_set():
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if progress.finished.is_set():
            break
        stack.kill_gateway()
        kills += 1
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        stack.start_gateway()
        await stack.wait_gateway()
    return f"{kills} gateway SIGKILLs"


@pytest.mark.parametrize("name, fault", [
    ("worker killed", kill_the_worker),
    ("Temporal restarted", restart_temporal),
    ("PostgreSQL down 30 s", postgres_outage),
    ("gateway restarted", restart_the_gateway),
])
async def test_lifecycles_survive(tmp_path, name, fault, record_row):
    await run_scenario(tmp_path, name, fault, record_row)
