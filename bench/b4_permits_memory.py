"""4. Permits in force: the worker's memory (RSS) with BENCH_PERMITS Permit workflows running.

Each permit is started directly as the `Permit` workflow (workflows/permit_messages.py PermitInput), as an
approval hands it over; it enters into force (deadline computed, PermitInForce recorded) and then waits on
its timers (document, filings, validity, documents, dormancy) for two years. The worker is `bunker worker`,
a separate process; its RSS is sampled with psutil while the permits start and after they have settled.

The Temporal server runs in memory here (no --db-filename): the point is the worker's memory, and the
in-memory server starts permits about twice as fast on this machine. Reference: the same worker's RSS
before any permit started.

The project's modules are compiled to bytecode first, as the image has them (bench/common.py
compile_project). Benchmark 6 (bench/b6_campaign.py) follows on the same servers and permits.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import psutil
from temporalio.client import Client

from bench.common import Result, compile_project
from bunker.temporal import connect
from domain.calendar import WorkingCalendar
from domain.eligibility import years_after
from domain.examples import example_application
from domain.policy import policy_in_force
from tests.chaos.stack import TASK_QUEUE, Stack
from workflows.permit_messages import PermitInput, PermitState

LIMIT = 1 << 30  # 1 GiB


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


@dataclass
class InForce:
    """Servers up, `permits` Permit workflows in force on them, and the worker's RSS along the way."""

    client: Client
    pool: asyncpg.Pool
    permits: int
    idle: int  # the worker's RSS before any permit
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s since start, permits in force, rss)
    in_force: int = 0
    started_s: float = 0.0


async def bring_into_force(stack: Stack, permits: int, settle_s: float = 20) -> InForce:
    """Temporal (in memory), PostgreSQL and `bunker worker` on `stack`; `permits` permits started and in force."""
    compile_project()  # as the image has it (see bench/common.py)
    stack.start_temporal(persistent=False)
    await asyncio.to_thread(stack.start_postgres)
    await stack.prepare_database({})
    await stack.wait_temporal()
    stack.start_worker()
    client = await connect(stack.temporal_address)
    pool = await stack.pool(4)
    await asyncio.sleep(5)  # the worker connects and polls
    f = InForce(client, pool, permits, rss(stack.worker.pid))

    today = WorkingCalendar.local_date(datetime.now(UTC))
    app = example_application(today)
    pol = policy_in_force(today).version
    until = years_after(today, 2) - timedelta(days=1)
    sem = asyncio.Semaphore(50)

    async def start(i: int) -> None:
        async with sem:
            permit_id = f"BB-BENCH-{i:06d}"
            await client.start_workflow(
                "Permit", PermitInput(application_id=permit_id, permit_number=f"GZBB-B-{i:06d}", application=app,
                                      policy_version=pol, journal_version=0,
                                      state=PermitState(valid_from=today, valid_until=until)),
                id=f"application/{permit_id}", task_queue=TASK_QUEUE)

    t0 = time.monotonic()
    starter = asyncio.gather(*(start(i) for i in range(permits)))
    deadline = t0 + max(600, permits * 0.2)
    while time.monotonic() < deadline:
        f.in_force = await pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'PermitInForce'")
        f.samples.append((time.monotonic() - t0, f.in_force, rss(stack.worker.pid)))
        if f.in_force >= permits:
            break
        await asyncio.sleep(1)
    await starter
    f.started_s = time.monotonic() - t0
    for _ in range(int(settle_s)):  # timers armed, activities done: what a quiet worker holds
        await asyncio.sleep(1)
        f.samples.append((time.monotonic() - t0, f.in_force, rss(stack.worker.pid)))
    return f


async def run(tmp: Path, permits: int, settle_s: float = 20) -> Result:
    stack = Stack(tmp)
    f = None
    try:
        f = await bring_into_force(stack, permits, settle_s)
    finally:
        if f is not None:
            await f.pool.close()
        stack.stop()
    return memory_result(f)


def memory_result(f: InForce) -> Result:
    permits, samples, idle, in_force = f.permits, f.samples, f.idle, f.in_force
    peak = max(s[2] for s in samples)
    final = samples[-1][2]
    curve = ", ".join(f"{n:,} → {r / 2**20:.0f} MiB" for _, n, r in _milestones(samples, permits))
    return Result(
        4, f"{permits:,} permits in force: worker memory",
        f"worker RSS peak {peak / 2**20:.0f} MiB, settled {final / 2**20:.0f} MiB ({in_force:,} permits in "
        f"force after {f.started_s:.0f} s)",
        f"idle worker {idle / 2**20:.0f} MiB", peak / idle, "peak ÷ idle RSS", "< 1 GiB", peak < LIMIT and in_force >= permits,
        [f"RSS as permits came into force: {curve}.",
         "The Python SDK keeps at most `max_cached_workflows` (default 1,000) workflows in the worker's sticky "
         "cache; a permit evicted from it costs no worker memory while it waits on its timers, and is rebuilt "
         "from its history (replay) when a timer fires or a message arrives. So the worker's memory is bounded "
         "by the cache, not by the number of permits; the cost moves to replay CPU when many timers fire at once.",
         "Each permit's history stays short: it continues as new past 1,500 events."],
    )


def _milestones(samples, permits: int) -> list[tuple[float, int, int]]:
    marks, out = [permits * f // 10 for f in range(1, 11)], []
    for m in marks:
        hit = next((s for s in samples if s[1] >= m), None)
        if hit and (not out or out[-1][1] != hit[1]):
            out.append(hit)
    return out
