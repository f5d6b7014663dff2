"""Scenario files are validated when loaded, and a mistake is reported at its place in the file."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from bunker.scenario_format import Fixture, Refusal, ScenarioError, apply_overrides, load

ROOT = Path(__file__).parents[2]
FORMAT_DOC = ROOT / "docs" / "scenario-format.md"


def _load(tmp_path: Path, text: str):
    f = tmp_path / "s.yaml"
    f.write_text(text, encoding="utf-8")
    return load(f)


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ScenarioError) as e:
        _load(tmp_path, text)
    return str(e.value)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads(path: Path):
    assert load(path).steps


def test_the_example_in_the_format_doc_loads(tmp_path: Path):
    example = re.search(r"### Example\n\n```yaml\n(.*?)```", FORMAT_DOC.read_text(encoding="utf-8"), re.S).group(1)
    assert len(_load(tmp_path, example).steps) == 8


def test_mistakes_are_named_at_their_place(tmp_path: Path):
    msg = _error(tmp_path, """\
name: x
application: {fixture: example, overrides: {tankers.3.dwt: 999}}
steps:
  - act: {by: district, step: acept}
  - act: {by: commerce, step: pause_clock, cause: hearing, expected_workdays: 3}
  - act: {by: district, step: accept, reason: extra}
  - act: {by: distric, step: accept}
  - advance: {workdays: 3, days: 2}
  - advanse: {days: 1}
  - expect: {stage: aproved, deadlines: {decison: {state: open}}}
""")
    assert "application: overrides: tankers.3: no item 3 in a list of 1" in msg
    assert "steps.0.act.step: Input should be 'accept'" in msg
    assert "steps.1.act.reason: Field required" in msg
    assert "steps.2.act: accept takes ['idempotency_key'], not ['reason']" in msg
    assert "steps.3.act: by: unknown body 'distric'" in msg
    assert "steps.4.advance: advance takes exactly one of" in msg
    assert "steps.5: a step is a mapping with one key" in msg
    assert "steps.6.expect.stage: Input should be" in msg
    assert "steps.6.expect.deadlines.decison" in msg


def test_duplicate_keys_are_refused(tmp_path: Path):
    assert "duplicate key 'step'" in _error(tmp_path, "name: x\napplication: {fixture: example}\n"
                                                      "steps:\n  - act: {by: district, step: accept, step: withdraw}\n")


def test_expect_refused_takes_true_a_type_or_a_mapping(tmp_path: Path):
    s = _load(tmp_path, """\
name: x
application: {fixture: example}
steps:
  - act: {by: district, step: accept, expect_refused: true}
  - act: {by: district, step: accept, expect_refused: WrongStage}
  - act: {by: district, step: accept, expect_refused: {type: AlreadyDecided, message_contains: once}}
  - act: {by: district, step: accept}
""")
    assert [st.act.expect_refused for st in s.steps] == [
        Refusal(), Refusal(type="WrongStage"), Refusal(type="AlreadyDecided", message_contains="once"), None]


def test_overrides_set_top_level_fields_and_dotted_paths():
    app = Fixture(fixture="example", overrides={"application_letter": False, "tankers.0.dwt": 999}).build(date(2026, 9, 28))
    assert (app.application_letter, app.tankers[0].dwt) == (False, 999)
    assert apply_overrides({"a": [{"b": 1}]}, {"a.0.c": 2}) == {"a": [{"b": 1, "c": 2}]}
    with pytest.raises(ValueError, match="a.x: no such field"):
        apply_overrides({"a": {}}, {"a.x.y": 1})


def test_the_example_gets_the_credit_code_it_is_given():
    app = Fixture(fixture="example").build(date(2026, 9, 28), credit_code="91440115MA00000012")
    assert app.enterprise.credit_code == "91440115MA00000012"
