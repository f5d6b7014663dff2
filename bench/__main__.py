"""`make bench` (python -m bench): the five benchmarks, one after the other, each on servers of its own;
results in bench/results.md with the machine's facts.

Parameters (environment):
  BENCH_ONLY               which to run, e.g. "1,3" (default: all)
  BENCH_LIFECYCLES         1: lifecycles measured (default 40), BENCH_CONCURRENCY (default 10)
  BENCH_CALLERS            2: concurrent callers, one file each (default 50)
  BENCH_LEDGER_BATCHES / BENCH_LEDGER_BATCH_ROWS   3: ingestion (default 10 × 10,000 rows)
  BENCH_LEDGER_ROWS / BENCH_LEDGER_PERMITS         3: generated ledger (default 2,000,000 over 1,000 permits;
                                                    10,000,000 takes about 5 more minutes)
  BENCH_QUERY_SAMPLES      3: samples of each query (default 500)
  BENCH_PERMITS            4: permits in force (default 10,000)
  BENCH_LIFE_REPEATS       5: measured lives (default 3)
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

from bench import b1_throughput, b2_latency, b3_ledger, b4_permits_memory, b5_two_year_life  # noqa: E402
from bench.common import RESULTS, Result, env_int, machine_facts, write_results  # noqa: E402


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
    }


async def main() -> int:
    from bunker import logs

    logs.configure("console", "warning")  # the in-process workers' info lines would drown the progress
    p = params()
    only = {int(x) for x in os.environ.get("BENCH_ONLY", "1,2,3,4,5").split(",") if x.strip()}
    results: list[Result] = []
    failures: list[str] = []
    runs = {
        1: lambda tmp: b1_throughput.run(tmp, p["BENCH_LIFECYCLES"], p["BENCH_CONCURRENCY"]),
        2: lambda tmp: b2_latency.run(tmp, p["BENCH_CALLERS"]),
        3: lambda tmp: b3_ledger.run(tmp, p["BENCH_LEDGER_BATCHES"], p["BENCH_LEDGER_BATCH_ROWS"],
                                     p["BENCH_LEDGER_ROWS"], p["BENCH_LEDGER_PERMITS"], p["BENCH_QUERY_SAMPLES"]),
        4: lambda tmp: b4_permits_memory.run(tmp, p["BENCH_PERMITS"]),
        5: lambda tmp: b5_two_year_life.run(p["BENCH_LIFE_REPEATS"]),
    }
    facts = machine_facts()
    for number in sorted(only & set(runs)):
        print(f"bench {number} …", file=sys.stderr, flush=True)
        t0 = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"bench-{number}-", ignore_cleanup_errors=True) as tmp:
            try:
                out = await runs[number](Path(tmp))
                results += out if isinstance(out, list) else [out]
            except Exception as e:
                traceback.print_exc()
                failures.append(f"{number}: {type(e).__name__}: {str(e)[:500]}")
        print(f"bench {number} done in {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        for r in results:
            if r.number == number:
                print(f"  {r.title}: {r.figure} | reference {r.reference} | ratio "
                      f"{'—' if r.ratio is None else f'{r.ratio:.2f}'} | target {r.target} | met {r.met}",
                      file=sys.stderr, flush=True)
        write_results(results, facts, {k: f"{v:,}" for k, v in p.items()} | {"BENCH_ONLY": ",".join(map(str, sorted(only)))},
                      failures)
    print(f"results: {RESULTS}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
