"""6. The annual inspection campaign (Art. 22) over every permit in force: BENCH_PERMITS permits (the set-up
of benchmark 4, which this one follows on the same servers), each with BENCH_CAMPAIGN_LEDGER_ROWS rows of
last year's ledger; the issue's target is 10,000 permits inspected (automated items) in under 15 minutes
on this 2-core machine.

The campaign is started the way production runs it: the `InspectionCampaign` workflow with the input of
the yearly Schedule's action (bunker/inspections.py: its page size and window), for this year, on the
production worker (`bunker worker`, a separate process, which also holds the permits), except that it does
not wait for March's first working day. It is timed from its start until it returns with its report
written: the roster taken, every permit inspected (ledger summary, approved matters from the permit's
workflow, violation register, the inspection recorded on the permit by a Temporal update, and for a
breach the permit's rectification order), the report by district and outcome written.

Reference, same servers and run: `BenchPagedNoop` (bench/workflows.py), the campaign's shape with nothing
in it: as many pages, each running as many no-op activities as the campaign ran inspection activities per
page (counted in its histories: one per batch of permits, or one per permit), as many in flight, a
continue-as-new after each page and a last activity for the report; its worker in the bench process.

Before the worker starts, the project's modules are compiled to bytecode, as `pip install .` does in the
image (deploy/Dockerfile): Temporal's sandbox imports a workflow's modules afresh for every workflow it
builds, and a checkout run with PYTHONDONTWRITEBYTECODE=1 would compile them from source each time.
"""

from __future__ import annotations

import asyncio
import collections
import math
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from bench import b4_permits_memory as b4
from bench.common import Partial, Result
from bench.workflows import PagedNoop, noop, page
from bunker.inspections import campaign_workflow_id, inspection_schedule
from domain.calendar import WorkingCalendar
from store import ledger
from tests.chaos.stack import TASK_QUEUE, Stack
from workflows.inspection_campaign import CampaignInput, CampaignProgress, InspectionCampaign

TARGET_S = 15 * 60
TARGET_PERMITS = 10_000
CACHE = 1_000  # the worker's max_cached_workflows (the SDK's default): fewer permits never leave it
BREACH_EVERY = 50  # one permit in 50 supplied once without a mass-flow-meter reading: a rectification order

# Last year's ledger of every bench permit, clean and balanced (1 row in 20 a receipt), except one supply
# without a mass-flow-meter quantity for every BREACH_EVERY-th permit.
GENERATE = """
INSERT INTO ledger_movements (stream_id, voucher_no, kind, occurred_at, depot, counterpart_depot, quantity_t, product,
                              vessel_imo, vessel_name, bdn_no, customs_declaration_no, mass_flow_meter_t, vouchers,
                              batch_id, batch_row, recorded_at)
SELECT 'BB-BENCH-' || lpad(p::text, 6, '0'), 'V' || n,
       CASE WHEN n % 20 = 0 THEN 'receipt' ELSE 'supply' END,
       $3::timestamptz + (n::float8 / $2 * 360) * interval '1 day',
       'T1', NULL,
       CASE WHEN n % 20 = 0 THEN 5000 ELSE 1 + (n % 50) END,
       'VLSFO 0.5%S',
       CASE WHEN n % 20 = 0 THEN NULL ELSE '9' || lpad((n % 1000)::text, 6, '0') END,
       NULL,
       CASE WHEN n % 20 = 0 THEN NULL ELSE 'EBDN-' || p || '-' || n END,
       CASE WHEN n % 20 = 0 THEN NULL ELSE '5316' || p || n END,
       CASE WHEN n % 20 = 0 OR (p % $4 = 0 AND n = 1) THEN NULL ELSE 1 + (n % 50) END,
       ARRAY['INV-' || p || '-' || n],
       'gen-' || p, n,
       $3::timestamptz + (n::float8 / $2 * 360) * interval '1 day' + interval '1 hour'
FROM generate_series($1::int, $5::int - 1) AS p, generate_series(0, $2 - 1) AS n
"""


async def generate_ledger(pool, permits: int, rows: int, year: int) -> float:
    t0 = time.perf_counter()
    if rows > 0:
        start = datetime.fromisoformat(f"{year - 1}-01-01T00:00:00+08:00")
        chunk = max(1, 1_000_000 // rows)
        for lo in range(0, permits, chunk):
            await pool.execute(GENERATE, lo, rows, start, BREACH_EVERY, min(permits, lo + chunk), timeout=3600)
        await pool.execute(
            """INSERT INTO ledger_activity (stream_id, last_supply_at, supplies_total, movements_total, updated_at)
               SELECT stream_id, max(occurred_at) FILTER (WHERE kind = 'supply'), count(*) FILTER (WHERE kind = 'supply'),
                      count(*), now()
               FROM ledger_movements GROUP BY stream_id""", timeout=3600)
        await pool.execute(
            """INSERT INTO ledger_stock (stream_id, depot, balance_t, updated_at)
               SELECT stream_id, depot, sum(delta_t), now() FROM ledger_movements GROUP BY stream_id, depot""",
            timeout=3600)
        ids = [f"BB-BENCH-{i:06d}" for i in range(permits)]  # the yearly summaries ingestion would have kept
        async with pool.acquire() as conn:
            for lo in range(0, permits, 1000):
                await ledger.rebuild_summaries(conn, ids[lo:lo + 1000])
        await pool.execute("VACUUM ANALYZE ledger_movements", timeout=3600)
        await pool.execute("ANALYZE ledger_activity")
        await pool.execute("ANALYZE ledger_stock")
    return time.perf_counter() - t0


def _processes(stack: Stack) -> dict[str, list[psutil.Process]]:
    """The processes whose CPU time is accounted: worker, Temporal server, PostgreSQL (all its backends)."""
    pg_dir = str(stack.tmp / "pg")
    postgres = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if pg_dir in " ".join(proc.info["cmdline"] or []):
                postgres.append(proc)
        except psutil.Error:
            continue
    return {"worker": [psutil.Process(stack.worker.pid)], "Temporal server": [psutil.Process(stack.temporal.pid)],
            "PostgreSQL": postgres, "bench process": [psutil.Process()]}


def _cpu(procs: dict[str, list[psutil.Process]]) -> dict[str, float]:
    out = {}
    for name, roots in procs.items():
        total = 0.0
        for root in roots:
            try:
                family = [root] + (root.children(recursive=True) if name == "PostgreSQL" else [])
            except psutil.Error:
                continue
            for p in family:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.Error:
                    continue
        out[name] = total
    return out


async def campaign(stack: Stack, f: b4.InForce, ledger_rows: int) -> Result:
    client, pool, permits = f.client, f.pool, f.permits
    year = WorkingCalendar.local_date(datetime.now(UTC)).year
    gen_s = await generate_ledger(pool, permits, ledger_rows, year)
    ledger_total = await pool.fetchval("SELECT count(*) FROM ledger_movements")

    scheduled: CampaignInput = inspection_schedule(TASK_QUEUE).action.args[0]
    inp = scheduled.model_copy(update={"year": year, "wait_for_first_working_day": False})
    procs = _processes(stack)
    cpu0 = _cpu(procs)
    budget = max(900.0, permits * 0.36)  # 4 × the target's pace, and never under 15 minutes
    t0 = time.monotonic()
    handle = await client.start_workflow(InspectionCampaign.run, inp, id=campaign_workflow_id(year),
                                         task_queue=TASK_QUEUE, result_type=CampaignProgress)
    result_task = asyncio.create_task(handle.result())
    progress: list[tuple[float, int, int]] = []  # (s, inspected, worker rss)
    inspected_at = None
    while not result_task.done():
        done, roster = await pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status IN ('delivered', 'closed')), count(*) FROM inspections WHERE year = $1",
            year)
        now = time.monotonic() - t0
        progress.append((now, done, b4.rss(stack.worker.pid)))
        if roster and done >= roster and inspected_at is None:
            inspected_at = now
        if now > budget:
            result_task.cancel()
            raise TimeoutError(f"the campaign inspected {done:,} of {roster:,} permits in {now:.0f} s")
        await asyncio.wait({result_task}, timeout=2)
    result: CampaignProgress = result_task.result()
    wall = time.monotonic() - t0
    cpu1 = _cpu(procs)
    inspected_at = inspected_at or wall
    assert result.phase == "done" and result.done == result.total >= f.in_force, result
    assert result.report is not None and result.report.permits == result.total, result.report
    n = result.total

    # ---- reference: the campaign's shape with no work in it, same server
    runs, kinds = await _activities(client, handle)
    pages = max(1, result.runs - 1)  # one run per page, then the report's
    batched = kinds["inspect_permits"] > kinds["inspect_permit"]  # (a worker without it: one refused batch a run)
    acts = kinds["inspect_permits"] + kinds["inspect_permit"]
    in_flight = max(1, inp.concurrency // min(inp.batch, inp.concurrency)) if batched else inp.concurrency
    queue = f"bench-paged-{uuid.uuid4().hex[:6]}"
    async with Worker(client, task_queue=queue, workflows=[PagedNoop], activities=[noop, page]):
        await client.execute_workflow(PagedNoop.run, args=[in_flight, in_flight, in_flight],
                                      id=f"{queue}-warm", task_queue=queue)
        t1 = time.monotonic()
        await asyncio.wait_for(client.execute_workflow(
            PagedNoop.run, args=[acts, math.ceil(acts / pages), in_flight], id=f"{queue}-0", task_queue=queue), budget)
        ref = time.monotonic() - t1

    rate = n / wall
    # Beyond the worker's cache each permit costs the same (it is rebuilt to be inspected): project from there.
    projected = wall if n >= TARGET_PERMITS else wall * TARGET_PERMITS / n if n > CACHE else None
    cpu = {k: cpu1[k] - cpu0[k] for k in cpu1}
    shares = ", ".join(f"{k} {v:.0f} s ({v / wall:.2f} of a core)" for k, v in cpu.items())
    per = {k: v / n * 1000 for k, v in cpu.items()}
    curve = ", ".join(f"{d:,} at {s:.0f} s" for s, d, _ in _tenths(progress, n))
    peak_rss = max(r for _, _, r in progress)
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(result.outcomes.items()))
    figure = (f"{wall / 60:.1f} min ({wall:.0f} s; inspections {inspected_at:.0f} s, then the report) for {n:,} "
              f"permits: {rate:.1f} permits/s")
    if n < TARGET_PERMITS:
        figure += (f"; projected to {TARGET_PERMITS:,} permits at this pace: {projected / 60:.1f} min" if projected
                   else f"; not projected to {TARGET_PERMITS:,}: these few all stay in the worker's workflow cache")
    return Result(
        6, f"Inspection campaign over {n:,} permits in force (automated items)", figure,
        f"paged no-op workflow, {acts:,} activities in {pages} page{'s' if pages > 1 else ''}, {in_flight} in flight: "
        f"{ref:.0f} s",
        wall / ref, "campaign ÷ reference wall time", f"< 15 min for {TARGET_PERMITS:,} permits",
        None if projected is None else projected < TARGET_S,
        [f"Outcomes: {outcomes} (every {BREACH_EVERY}th permit's ledger has a supply without a mass-flow-meter "
         f"quantity: item 2 is breached and the permit orders rectification). {runs} runs of the campaign "
         f"workflow ({pages} page{'s' if pages > 1 else ''} of up to {inp.page_size:,} permits, at most {inp.concurrency} permits in flight, "
         + (f"in batches of {min(inp.batch, inp.concurrency)}, " if batched else
            "one activity each (this worker has no `inspect_permits`), ")
         + "as the schedule starts it); activities it scheduled: "
         + ", ".join(f"`{k}` {v:,}" for k, v in sorted(kinds.items())) + ".",
         f"Progress (permits inspected): {curve}. Worker RSS peaked at {peak_rss / 2**20:.0f} MiB.",
         f"CPU time used during the campaign: {shares}; per permit: worker {per['worker']:.0f} ms, Temporal server "
         f"{per['Temporal server']:.0f} ms, PostgreSQL {per['PostgreSQL']:.0f} ms. The 2 cores are shared by all of them.",
         f"What bounds it: the worker, a Python process that uses one core at most, used {cpu['worker'] / wall:.2f} of "
         f"a core over the campaign, the Temporal server {cpu['Temporal server'] / wall:.2f} and PostgreSQL "
         f"{cpu['PostgreSQL'] / wall:.2f}. Most of the worker's time goes to the permits' workflows, not the "
         "campaign's: "
         + ("with more permits than the worker's workflow cache (`max_cached_workflows`, 1,000), "
            if n > CACHE else "here every permit is still in the worker's workflow cache (`max_cached_workflows`, "
                              "1,000); with more, ")
         + "each inspected permit is rebuilt for the approved-matters query (Temporal's sandbox imports the "
         "workflow's modules afresh and replays its history), then runs the `record_inspection` update (its "
         "event-store call; for a breach, the rectification deadline). The campaign's own part, one activity "
         "and one workflow step per batch of permits, is what the reference costs. Past the cache each permit "
         "costs the same and the pace is flat over the campaign (progress above): the time grows in proportion "
         "to the permits.",
         f"Ledger: {ledger_rows:,} rows of last year per permit ({ledger_total:,} in all, generated in {gen_s:.0f} s"
         + (", its yearly summaries rebuilt as ingestion keeps them" if hasattr(ledger, "rebuild_summaries") else "")
         + "), read by the annual summary (items 1 and 2). The Temporal server keeps its state in memory, as in "
         "benchmark 4.",
         "Per permit, `inspect_permit` reads its roster entry with the campaign and the permit's read-model row "
         "(one query), the annual ledger summary, asks the permit's workflow for its approved matters (a "
         "query), reads the violation register, stores the assessment, delivers it with the permit's "
         "`record_inspection` update and marks the entry: about six statements and two calls to Temporal."],
    )


async def _activities(client, handle) -> tuple[int, collections.Counter]:
    """Runs of the campaign (its continue-as-new chain from the run it started) and the activities they
    scheduled, by type."""
    runs, kinds, run_id = 0, collections.Counter(), handle.result_run_id
    while run_id:
        runs += 1
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                kinds[e.activity_task_scheduled_event_attributes.activity_type.name] += 1
        last = history.events[-1]
        run_id = (last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                  if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW else None)
    return runs, kinds


def _tenths(samples: list[tuple[float, int, int]], n: int) -> list[tuple[float, int, int]]:
    out = []
    for m in [n * k // 10 for k in range(1, 11)]:
        hit = next((s for s in samples if s[1] >= m), None)
        if hit and (not out or out[-1][1] != hit[1]):
            out.append(hit)
    return out


async def run(tmp: Path, permits: int, ledger_rows: int) -> list[Result]:
    """Benchmark 4's set-up and measurement, then the campaign: [4's row, 6's row]."""
    stack = Stack(tmp)
    f = None
    try:
        f = await b4.bring_into_force(stack, permits)
        memory = b4.memory_result(f)
        try:
            return [memory, await campaign(stack, f, ledger_rows)]
        except Exception as e:
            raise Partial([memory], e) from e
    finally:
        if f is not None:
            await f.pool.close()
        stack.stop()
