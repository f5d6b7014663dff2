"""Histories recorded from real runs replay against the current code (deterministic across releases)."""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowHistory

from tests.integration.histories import HISTORIES, replayer

# Top level: recorded by the current code. Dated folders: recorded by an earlier release, kept because files
# begun then may still be running (their runs replay the old commands; workflow.patched keeps them valid).
FILES = sorted(HISTORIES.rglob("*.json"))
CURRENT = {p.stem for p in HISTORIES.glob("*.json")}
EARLIER = {p.parent.name: {q.stem for q in p.parent.glob("*.json")} for p in FILES if p.parent != HISTORIES}


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HISTORIES).with_suffix("")) for p in FILES])
async def test_recorded_history_replays_against_current_code(path):
    raw = path.read_text(encoding="utf-8")
    workflow_id = json.loads(raw)["events"][0]["workflowExecutionStartedEventAttributes"].get("workflowId", path.stem)
    result = await replayer().replay_workflow(WorkflowHistory.from_json(workflow_id, raw), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


LICENSING_PATHS = {"licensing-approved", "licensing-refused", "licensing-withdrawn", "licensing-not-accepted",
                   "licensing-corrected", "licensing-restarted", "licensing-decision-overdue",
                   "licensing-decision-lapsed-at-the-panel"}
PERMIT_PATHS = {"permit-renewed", "permit-deemed-renewed", "permit-expired", "permit-changes",
                "permit-terminated-lease", "permit-dormancy"}


def test_histories_of_every_path_are_recorded_by_the_current_code():
    assert CURRENT >= LICENSING_PATHS | PERMIT_PATHS | {"inspection-campaign-first-page", "inspection-campaign-report"}


def test_histories_of_the_release_of_2026_11_26_are_kept():
    # Recorded when calendar and ledger reads were ordinary activities (workflows/short_calls.py) and the
    # campaign inspected one permit per activity (no inspection batches), and one from before approvals
    # continued as the Permit workflow: files of each kind may still be running.
    assert EARLIER["2026-11-26"] >= (LICENSING_PATHS - {"licensing-decision-lapsed-at-the-panel"}) | PERMIT_PATHS | {
        "licensing-approved-before-permit-handover", "inspection-campaign-first-page", "inspection-campaign-report"}
