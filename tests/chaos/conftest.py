"""`make chaos`: the table of what each fault run did, printed at the end of the session."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class Row:
    scenario: str
    lifecycles: int
    faults: str
    correct: int
    missing: int
    duplicated: int
    chains: str
    wall_s: float
    notes: str = ""


ROWS: list[Row] = []


@pytest.fixture
def record_row():
    return ROWS.append


def pytest_terminal_summary(terminalreporter) -> None:
    if not ROWS:
        return
    head = ("scenario", "lifecycles", "faults injected", "permits correct", "events missing", "events duplicated",
            "hash chains", "wall s", "notes")
    rows = [head] + [(r.scenario, str(r.lifecycles), r.faults, f"{r.correct}/{r.lifecycles}", str(r.missing),
                      str(r.duplicated), r.chains, f"{r.wall_s:.0f}", r.notes) for r in ROWS]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    terminalreporter.section("chaos: faults survived, nothing lost")
    for i, row in enumerate(rows):
        terminalreporter.write_line(" | ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            terminalreporter.write_line("-+-".join("-" * w for w in widths))
