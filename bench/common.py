"""What every benchmark shares: its result, percentiles, the machine's facts, results.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RESULTS = Path(__file__).resolve().parent / "results.md"


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


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


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


def write_results(results: list[Result], facts: dict[str, str], params: dict[str, str], failures: list[str],
                  path: Path = RESULTS) -> None:
    lines = ["# Benchmarks", "",
             "Written by `make bench` (bench/). Every figure is measured against a reference measured in the same "
             "run, on the same servers; the ratio is the comparison, the target is the issue's.", "",
             "## Machine", "", "| fact | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts.items()]
    lines += ["", "## Parameters of this run", "", "| parameter | value |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in params.items()]
    lines += ["", "## Results", "",
              "| # | benchmark | figure | reference | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f} ({r.ratio_means})"
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.number} | {r.title} | {r.figure} | {r.reference} | {ratio} | {r.target} | {met} |")
    for r in results:
        if r.notes:
            lines += ["", f"### {r.number}. {r.title}", ""]
            lines += [f"- {n}" for n in r.notes]
    if failures:
        lines += ["", "## Benchmarks that did not run to the end", ""] + [f"- {f}" for f in failures]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
