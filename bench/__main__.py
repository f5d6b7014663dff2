"""`make bench` (python -m bench): the six benchmarks, one after the other, each on servers of its own;
results merged into bench/results.json (each benchmark's latest rows, with the date and parameters they
were measured with) and rendered into bench/results.md with the machine's facts.

Parameters (environment):
  BENCH_ONLY               which to run, e.g. "1,3" (default: all); the others keep their earlier rows
  BENCH_LIFECYCLES         1: lifecycles measured (default 40), BENCH_CONCURRENCY (default 10)
  BENCH_CALLERS            2: concurrent callers, one file each (default 50)
  BENCH_LEDGER_BATCHES / BENCH_LEDGER_BATCH_ROWS   3: ingestion (default 10 × 10,000 rows)
  BENCH_LEDGER_ROWS / BENCH_LEDGER_PERMITS         3: generated ledger (default 2,000,000 over 1,000 permits;
                                                    10,000,000 takes about 5 more minutes)
  BENCH_QUERY_SAMPLES      3: samples of each query (default 500)
  BENCH_PERMITS            4 and 6: permits in force (default 10,000)
  BENCH_LIFE_REPEATS       5: measured lives (default 3)
  BENCH_CAMPAIGN_LEDGER_ROWS  6: last year's ledger rows per permit the campaign reads (default 200)
  BENCH_RESULTS_DIR        where results.json and results.md are kept (default bench/; a trial run's
                           directory starts from a copy of bench/results.json, if it has none)

4 and 6 share their set-up (BENCH_PERMITS permits brought into force): run together, the campaign (6)
follows the memory measurement (4) on the same servers; 6 alone measures 4 on the way as well.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

from bench import b1_throughput, b2_latency, b3_ledger, b4_permits_memory, b5_two_year_life, b6_campaign  # noqa: E402
from bench.common import (  # noqa: E402
    RESULTS, SIDECAR, Partial, Result, begin_run, env_int, load_store, machine_facts, merge, save_store,
)


def params() -> dict[str, int]:
    return {
        "BENCH_LIFECYCLES": env_int("BENCH_LIFECYCLES", 40),
        "BENCH_CONCURRENCY": env_int("BENCH_CONCURRENCY", 10),
        "BENCH_CALLERS": env_int("BENCH_CALLERS", 50),
        "BENCH_LEDGER_BATCHES": env_int("BENCH_LEDGER_BATCHES", 10),
        "BENCH_LEDGER_BATCH_ROWS": env_int("BENCH_LEDGER_BATCH_ROWS", 10_000),
        "BENCH_LEDGER_ROWS": env_int("BENCH_LEDGER_ROWS", 2_000_000),
        "BENCH_LEDGER_PERMITS": env_int("BENCH_LEDGER_PERMITS", 1_000),
        "BENCH_QUERY_SAMPLES": env_int("BENCH_QUERY_SAMPLES", 500),
        "BENCH_PERMITS": env_int("BENCH_PERMITS", 10_000),
        "BENCH_LIFE_REPEATS": env_int("BENCH_LIFE_REPEATS", 3),
        "BENCH_CAMPAIGN_LEDGER_ROWS": env_int("BENCH_CAMPAIGN_LEDGER_ROWS", 200),
    }


def jobs(p: dict[str, int], only: set[int]) -> list[tuple[set[int], object]]:
    """(the benchmarks a job measures, the job): one set of servers each."""
    out: list[tuple[set[int], object]] = []
    if 1 in only:
        out.append(({1}, lambda tmp: b1_throughput.run(tmp, p["BENCH_LIFECYCLES"], p["BENCH_CONCURRENCY"])))
    if 2 in only:
        out.append(({2}, lambda tmp: b2_latency.run(tmp, p["BENCH_CALLERS"])))
    if 3 in only:
        out.append(({3}, lambda tmp: b3_ledger.run(tmp, p["BENCH_LEDGER_BATCHES"], p["BENCH_LEDGER_BATCH_ROWS"],
                                                   p["BENCH_LEDGER_ROWS"], p["BENCH_LEDGER_PERMITS"],
                                                   p["BENCH_QUERY_SAMPLES"])))
    if 6 in only:  # with 4 on the way (the permits it inspects are the ones 4 weighs)
        out.append(({4, 6}, lambda tmp: b6_campaign.run(tmp, p["BENCH_PERMITS"], p["BENCH_CAMPAIGN_LEDGER_ROWS"])))
    elif 4 in only:
        out.append(({4}, lambda tmp: b4_permits_memory.run(tmp, p["BENCH_PERMITS"])))
    if 5 in only:
        out.append(({5}, lambda tmp: b5_two_year_life.run(p["BENCH_LIFE_REPEATS"])))
    return out


async def main() -> int:
    from bunker import logs

    logs.configure("console", "warning")  # the in-process workers' info lines would drown the progress
    p = params()
    only = {int(x) for x in os.environ.get("BENCH_ONLY", "1,2,3,4,5,6").split(",") if x.strip()}
    facts = machine_facts()
    store = begin_run(load_store(), facts, {k: f"{v:,}" for k, v in p.items()}
                      | {"BENCH_ONLY": ",".join(map(str, sorted(only)))})
    failed = False
    for numbers, job in jobs(p, only):
        label = " and ".join(map(str, sorted(numbers)))
        print(f"bench {label} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        results: list[Result] = []
        failures: dict[int, str] = {}
        with tempfile.TemporaryDirectory(prefix=f"bench-{'-'.join(map(str, sorted(numbers)))}-",
                                         ignore_cleanup_errors=True) as tmp:
            try:
                out = await job(Path(tmp))
                results = out if isinstance(out, list) else [out]
            except Partial as e:
                traceback.print_exception(e.cause)
                results = e.results
                failures = {n: str(e)[:500] for n in numbers - {r.number for r in results}}
            except Exception as e:
                traceback.print_exc()
                failures = {n: f"{type(e).__name__}: {str(e)[:500]}" for n in numbers}
        failed |= bool(failures)
        print(f"bench {label} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        for r in results:
            print(f"  {r.number}. {r.title}: {r.figure} | reference {r.reference} | ratio "
                  f"{'—' if r.ratio is None else f'{r.ratio:.2f}'} | target {r.target} | met {r.met}",
                  file=sys.stderr, flush=True)
        store = merge(store, numbers, results, failures)
        save_store(store)
    print(f"results: {RESULTS} (kept in {SIDECAR.name})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
