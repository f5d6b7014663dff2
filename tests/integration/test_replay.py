"""Histories recorded from real runs replay against the current code (deterministic across releases)."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory

from tests.integration.histories import HISTORIES, replayer

FILES = sorted(HISTORIES.glob("*.json"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_recorded_history_replays_against_current_code(path):
    raw = path.read_text(encoding="utf-8")
    workflow_id = json.loads(raw)["events"][0]["workflowExecutionStartedEventAttributes"].get("workflowId", path.stem)
    result = await replayer().replay_workflow(WorkflowHistory.from_json(workflow_id, raw), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


def test_histories_of_every_licensing_path_are_kept():
    assert {p.stem for p in FILES} >= {"licensing-approved", "licensing-approved-before-permit-handover", "licensing-refused", "licensing-withdrawn",
                                       "licensing-not-accepted", "licensing-corrected", "licensing-restarted"}
