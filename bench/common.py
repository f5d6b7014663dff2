"""What every benchmark shares: its result, percentiles, the machine's facts, results.json and results.md.

bench/results.json keeps each benchmark's latest rows with the date, parameters and machine they were
measured with. A run merges its rows into it benchmark by benchmark (a run of some benchmarks, BENCH_ONLY,
replaces theirs and keeps the others'; a benchmark that fails keeps its previous rows and is listed as
failed), and results.md is rendered from the merged set.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

# BENCH_RESULTS_DIR: where a trial run keeps its results instead (bench/results.* are the committed ones).
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or Path(__file__).resolve().parent) / "results.md"
SIDECAR = RESULTS.with_suffix(".json")

# The parameters (environment, bench/__main__.py) each benchmark's figures depend on.
PARAMS_OF: dict[int, list[str]] = {
    1: ["BENCH_LIFECYCLES", "BENCH_CONCURRENCY"],
    2: ["BENCH_CALLERS"],
    3: ["BENCH_LEDGER_BATCHES", "BENCH_LEDGER_BATCH_ROWS", "BENCH_LEDGER_ROWS", "BENCH_LEDGER_PERMITS",
        "BENCH_QUERY_SAMPLES"],
    4: ["BENCH_PERMITS"],
    5: ["BENCH_LIFE_REPEATS"],
    6: ["BENCH_PERMITS", "BENCH_CAMPAIGN_LEDGER_ROWS"],
}


@dataclass
class Result:
    number: int
    title: str
    figure: str  # what was measured, with its unit
    reference: str  # the reference measured in the same run
    ratio: float | None
    ratio_means: str  # e.g. "licensing ÷ reference throughput"
    target: str
    met: bool | None
    notes: list[str] = field(default_factory=list)


class Partial(Exception):
    """A benchmark that measured some of its rows before it failed: `results` are kept, the failure told."""

    def __init__(self, results: list[Result], cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.results = results
        self.cause = cause


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def compile_project() -> None:
    """Bytecode for the project's packages, as `pip install .` writes it in the image (deploy/Dockerfile).
    Temporal's sandbox imports a workflow's modules afresh for each workflow it builds (a permit replayed
    after leaving the worker's cache); from a checkout run with PYTHONDONTWRITEBYTECODE=1 (this machine's
    environment) each of those imports would compile the module's source again."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("domain", "workflows", "activities", "store", "workers", "bunker"):
        compileall.compile_dir(root / package, quiet=1)


def machine_facts() -> dict[str, str]:
    from bunker.binaries import temporal_binary

    mem = psutil.virtual_memory().total / 2**30
    try:
        temporal = subprocess.run([temporal_binary(), "--version"], capture_output=True, text=True,
                                  timeout=10).stdout.strip()
    except Exception as e:  # the figure is informative only
        temporal = f"unknown ({e})"
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date (UTC)": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M"),
        "cores": f"{os.cpu_count()} ({cpu})",
        "memory": f"{mem:.1f} GiB",
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "temporal": temporal,
    }


# ---------------------------------------------------------------- results.json, merged; results.md, rendered
INTRO = ("Written by `make bench` (bench/). Every figure is measured against a reference measured in the same "
         "run, on the same servers; the ratio is the comparison, the target is the issue's.")
KEPT = ("Each benchmark's latest rows are kept in bench/results.json with the date and parameters they were "
        "measured with: a run of some of them (`BENCH_ONLY`) replaces theirs and keeps the others', and a row "
        "measured in an earlier run than the one below says when, and with which parameters where they differ.")


def empty_store() -> dict:
    return {"last_run": None, "results": [], "failures": []}


def load_store(sidecar: Path = SIDECAR, results_md: Path = RESULTS) -> dict:
    """The kept results; without a sidecar, those of an existing results.md (written before there was one)."""
    if sidecar.exists():
        return json.loads(sidecar.read_text(encoding="utf-8"))
    if results_md.exists():
        return from_markdown(results_md.read_text(encoding="utf-8"))
    committed = Path(__file__).resolve().parent / "results.json"
    if committed.exists() and committed != sidecar:  # a trial run's directory: it starts from the committed set
        return json.loads(committed.read_text(encoding="utf-8"))
    return empty_store()


def begin_run(store: dict, facts: dict[str, str], params: dict[str, str]) -> dict:
    return store | {"last_run": {"date": facts["date (UTC)"], "machine": facts, "params": params}}


def merge(store: dict, numbers: set[int], results: list[Result], failures: dict[int, str]) -> dict:
    """Benchmarks `numbers` ran in the current run (`store["last_run"]`): each one that produced rows has
    them replace its kept rows; each one in `failures` keeps its rows and is listed as failed."""
    run = store["last_run"]
    produced = {r.number for r in results}
    kept = [e for e in store["results"] if e["number"] not in produced]
    new = [asdict(r) | {"measured": {"date": run["date"], "machine": run["machine"],
                                      "params": {k: run["params"][k] for k in PARAMS_OF.get(r.number, [])
                                                 if k in run["params"]}}}
           for r in results]
    order = {id(e): i for i, e in enumerate(kept + new)}
    rows = sorted(kept + new, key=lambda e: (e["number"], order[id(e)]))
    fails = [f for f in store["failures"] if f["number"] not in numbers | produced]
    fails += [{"number": n, "date": run["date"], "error": err} for n, err in sorted(failures.items())]
    return store | {"results": rows, "failures": sorted(fails, key=lambda f: f["number"])}


def save_store(store: dict, sidecar: Path = SIDECAR, results_md: Path = RESULTS) -> None:
    sidecar.write_text(json.dumps(store, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    results_md.write_text(render(store), encoding="utf-8")


def _measured_note(entry: dict, run: dict | None) -> str:
    m = entry.get("measured") or {}
    if run is None or not m:
        return ""
    differ = [f"`{k}` {v}" for k, v in (m.get("params") or {}).items() if run["params"].get(k) != v]
    if m.get("date") == run["date"] and not differ:
        return ""
    parts = [f"measured {m.get('date', 'earlier')}" if m.get("date") != run["date"] else "measured"]
    if differ:
        parts.append("with " + ", ".join(differ))
    return " *(" + " ".join(parts) + ")*"


def render(store: dict) -> str:
    run = store["last_run"]
    lines = ["# Benchmarks", "", INTRO]
    if any(_measured_note(e, run) for e in store["results"]) or any(f["date"] != run["date"] for f in store["failures"]):
        lines += ["", KEPT]
    lines += ["", "## Machine", "", "| fact | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in (run["machine"] if run else {}).items()]
    lines += ["", "## Parameters of this run", "", "| parameter | value |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in (run["params"] if run else {}).items()]
    lines += ["", "## Results", "",
              "| # | benchmark | figure | reference | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for e in store["results"]:
        ratio = "—" if e["ratio"] is None else f"{e['ratio']:.2f} ({e['ratio_means']})"
        met = "—" if e["met"] is None else ("yes" if e["met"] else "**no**")
        lines.append(f"| {e['number']} | {e['title']} | {e['figure']}{_measured_note(e, run)} | {e['reference']} | "
                     f"{ratio} | {e['target']} | {met} |")
    for e in store["results"]:
        if e["notes"]:
            lines += ["", f"### {e['number']}. {e['title']}", ""]
            lines += [f"- {n}" for n in e["notes"]]
    if store["failures"]:
        lines += ["", "## Benchmarks that did not run to the end", ""]
        lines += [f"- {f['number']}: {f['error']}" + (f" *({f['date']})*" if run and f["date"] != run["date"] else "")
                  for f in store["failures"]]
    return "\n".join(lines) + "\n"


def from_markdown(text: str) -> dict:
    """The store a results.md written by `render` (or by the bench before results.json) stands for; every
    row is taken as measured in the run its tables describe."""
    section, store = "", empty_store()
    machine: dict[str, str] = {}
    params: dict[str, str] = {}
    notes_of: dict[tuple[int, str], list[str]] = {}
    current: tuple[int, str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            section, current = line[3:].strip(), None
            continue
        if line.startswith("### ") and section == "Results":
            number, title = line[4:].split(". ", 1)
            current = (int(number), title.strip())
            notes_of[current] = []
            continue
        if line.startswith("| ") and not line.startswith(("| fact ", "| parameter ", "| # ")):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if section == "Machine":
                machine[cells[0]] = cells[1]
            elif section == "Parameters of this run":
                params[cells[0].strip("`")] = cells[1]
            elif section == "Results" and current is None:
                number, title, figure, reference, ratio, target, met = cells
                value, _, means = ratio.partition(" (")
                store["results"].append(asdict(Result(
                    int(number), title, figure, reference, None if value == "—" else float(value),
                    means[:-1] if means else "", target, {"yes": True, "**no**": False}.get(met))))
        elif line.startswith("- ") and current is not None:
            notes_of[current].append(line[2:])
        elif line.startswith("- ") and section.startswith("Benchmarks that did not"):
            number, _, error = line[2:].partition(": ")
            store["failures"].append({"number": int(number), "date": machine.get("date (UTC)", ""), "error": error})
    run = {"date": machine.get("date (UTC)", ""), "machine": machine, "params": params}
    for e in store["results"]:
        e["notes"] = notes_of.get((e["number"], e["title"]), [])
        e["measured"] = {"date": run["date"], "machine": machine,
                         "params": {k: params[k] for k in PARAMS_OF.get(e["number"], []) if k in params}}
    return store | {"last_run": run}
