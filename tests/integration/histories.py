"""Replay a finished test's workflow history against the current code; optionally keep it.

`BUNKER_RECORD_HISTORIES=1 make test` writes each named history to tests/histories/<name>.json; those
files are replayed by test_replay.py in every later run, so a change that would break a running
permit's replay fails the build.
"""

from __future__ import annotations

import os
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workers.worker import WORKFLOWS

HISTORIES = Path(__file__).parent.parent / "histories"


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)


async def replay_and_keep(handle: WorkflowHandle, name: str) -> None:
    history = await handle.fetch_history()
    await replayer().replay_workflow(history)  # raises on any nondeterminism
    if os.environ.get("BUNKER_RECORD_HISTORIES"):
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(history.to_json(), encoding="utf-8")
