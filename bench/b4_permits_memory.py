"""4. Permits in force: the worker's memory (RSS) with BENCH_PERMITS Permit workflows running.

Each permit is started directly as the `Permit` workflow (workflows/permit_messages.py PermitInput), as an
approval hands it over; it enters into force (deadline computed, PermitInForce recorded) and then waits on
its timers (document, filings, validity, documents, dormancy) for two years. The worker is `bunker worker`,
a separate process; its RSS is sampled with psutil while the permits start and after they have settled.

The Temporal server runs in memory here (no --db-filename): the point is the worker's memory, and the
in-memory server starts permits about twice as fast on this machine. Reference: the same worker's RSS
before any permit started.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.common import Result
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


async def run(tmp: Path, permits: int, settle_s: float = 20) -> Result:
    stack = Stack(tmp)
    stack.start_temporal(persistent=False)
    samples: list[tuple[float, int, int]] = []  # (s since start, permits in force, rss)
    pool = None
    try:
        await asyncio.to_thread(stack.start_postgres)
        await stack.prepare_database({})
        await stack.wait_temporal()
        stack.start_worker()
        client = await connect(stack.temporal_address)
        pool = await stack.pool(2)
        await asyncio.sleep(5)  # the worker connects and polls
        idle = rss(stack.worker.pid)

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
        in_force = 0
        deadline = t0 + max(600, permits * 0.2)
        while time.monotonic() < deadline:
            in_force = await pool.fetchval("SELECT count(*) FROM events WHERE event_type = 'PermitInForce'")
            samples.append((time.monotonic() - t0, in_force, rss(stack.worker.pid)))
            if in_force >= permits:
                break
            await asyncio.sleep(1)
        await starter
        started_s = time.monotonic() - t0
        for _ in range(int(settle_s)):  # timers armed, activities done: what a quiet worker holds
            await asyncio.sleep(1)
            samples.append((time.monotonic() - t0, in_force, rss(stack.worker.pid)))
    finally:
        if pool is not None:
            await pool.close()
        stack.stop()
    peak = max(s[2] for s in samples)
    final = samples[-1][2]
    curve = ", ".join(f"{n:,} → {r / 2**20:.0f} MiB" for _, n, r in _milestones(samples, permits))
    return Result(
        4, f"{permits:,} permits in force: worker memory",
        f"worker RSS peak {peak / 2**20:.0f} MiB, settled {final / 2**20:.0f} MiB ({in_force:,} permits in "
        f"force after {started_s:.0f} s)",
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
