"""Every scripted lifecycle in scenarios/ holds (format: docs/scenario-format.md), run by the same runner
as `bunker scenario run`, on the session's Temporal server and this module's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bunker.scenario_format import Scenario, load
from bunker.scenario_harness import Harness
from bunker.scenario_runner import run

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))


def _report(result) -> str:
    failed = [f"FAILED {c.what}: {c.detail}" for c in result.checks if not c.ok]
    timeline = [f"  {e['occurred_at'][:16]} {e['type']} ({e['article']}) {e['actor']}" for e in result.timeline]
    return "\n".join([*failed, "timeline:", *timeline])


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
async def test_scenario_holds(path: Path, temporal_env, pool, task_queue):
    result = await run(load(path), Harness(temporal_env, pool, task_queue), str(path))
    assert result.ok, _report(result)


async def test_an_expectation_that_does_not_hold_is_reported(temporal_env, pool, task_queue):
    scenario = Scenario.model_validate({
        "name": "accepted, but expected to be approved",
        "application": {"fixture": "example"},
        "steps": [{"act": {"by": "district", "step": "accept"}},
                  {"act": {"by": "district", "step": "accept", "expect_refused": "NotAuthorised"}}],
        "expect": {"stage": "approved"},
    })
    result = await run(scenario, Harness(temporal_env, pool, task_queue))
    failed = [c.what for c in result.checks if not c.ok]
    assert not result.ok
    assert failed[0].startswith("step 2: district accept: expected NotAuthorised")
    assert "expect: stage is approved" in failed
