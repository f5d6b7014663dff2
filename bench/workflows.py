"""The reference workflows of the benchmarks, in a module of their own: Temporal's sandbox re-imports a
workflow's module, so it must import nothing but the SDK."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop(i: int) -> int:
    return i


@workflow.defn(name="BenchNoopChain")
class NoopChain:
    """1: the same number of no-op activities as a licensing lifecycle, one after the other."""

    @workflow.run
    async def run(self, activities: int) -> int:
        for i in range(activities):
            await workflow.execute_activity("bench_noop", i, start_to_close_timeout=timedelta(seconds=30))
        return activities


@workflow.defn(name="BenchEcho")
class Echo:
    """2: a no-op update, the floor of asking a workflow and hearing back."""

    def __init__(self) -> None:
        self.n = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.n

    @workflow.update
    async def bump(self, k: int) -> int:
        self.n += k
        return self.n

    @workflow.signal
    def finish(self) -> None:
        self.done = True


@workflow.defn(name="BenchTwoYears")
class TwoYears:
    """5: two years of monthly timers under time skipping."""

    @workflow.run
    async def run(self, months: int) -> int:
        for _ in range(months):
            await workflow.sleep(timedelta(days=30.5))
        return months


@activity.defn(name="bench_page")
async def page(after: int, limit: int, total: int) -> list[int]:
    return list(range(after, min(total, after + limit)))


@workflow.defn(name="BenchPagedNoop")
class PagedNoop:
    """6: the shape of the inspection campaign with nothing in it: a page of ids, at most `concurrency` no-op
    activities in flight over the page, continue-as-new after each page, then one more for the report."""

    @workflow.run
    async def run(self, total: int, page_size: int, concurrency: int, after: int = 0) -> int:
        ids = await workflow.execute_activity("bench_page", args=[after, page_size, total], result_type=list[int],
                                              start_to_close_timeout=timedelta(seconds=30))
        if ids:
            window = asyncio.Semaphore(concurrency)

            async def one(i: int) -> None:
                async with window:
                    await workflow.execute_activity("bench_noop", i, start_to_close_timeout=timedelta(seconds=30))

            await asyncio.gather(*(one(i) for i in ids))
            workflow.continue_as_new(args=[total, page_size, concurrency, ids[-1] + 1])
        await workflow.execute_activity("bench_noop", total, start_to_close_timeout=timedelta(seconds=30))
        return total


@workflow.defn(name="BenchNoopMixedChain")
class NoopMixedChain:
    """1, second reference: as many no-op activities as a lifecycle runs, of the same kinds (ordinary and
    local, interleaved), one after the other."""

    @workflow.run
    async def run(self, counts: list[int]) -> int:
        ordinary, local = counts
        total = ordinary + local
        for i in range(total):
            if local and i * local // total != (i + 1) * local // total:
                await workflow.execute_local_activity("bench_noop", i, start_to_close_timeout=timedelta(seconds=30))
            else:
                await workflow.execute_activity("bench_noop", i, start_to_close_timeout=timedelta(seconds=30))
        return total
