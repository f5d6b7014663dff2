"""The NUL character never reaches a workflow, whatever the way in (domain/text.py)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.application import Application
from domain.authority import Actor
from domain.bodies import Body
from domain.examples import example_application
from domain.text import nul_paths
from workflows.licensing_messages import ReviewDecision

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(st.characters(exclude_categories=())),  # surrogates too
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def texts(value):
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from texts(v)


@given(json_values)
def test_a_value_has_a_nul_path_exactly_when_its_text_holds_a_nul(value):
    def bad(t: str) -> bool:
        return "\x00" in t or any("\ud800" <= ch <= "\udfff" for ch in t)

    assert bool(nul_paths(value)) == any(bad(t) for t in texts(value))


def test_the_path_names_the_field_and_the_row():
    assert nul_paths({"enterprise": {"name": "a\x00"}, "tankers": [{"name": "ok"}, {"name": "\x00"}]}) == [
        "enterprise.name", "tankers.1.name"]


def test_an_application_with_a_nul_is_refused_naming_the_field():
    raw = example_application(date(2026, 11, 27)).model_dump(mode="json")
    raw["enterprise"]["name"] = "广州\x00石化"
    with pytest.raises(ValidationError, match=r"NUL character \(U\+0000\).*enterprise\.name"):
        Application.model_validate(raw)


def test_a_lone_surrogate_is_refused_like_a_nul():
    raw = example_application(date(2026, 11, 27)).model_dump(mode="json")
    raw["enterprise"]["name"] = "广州\ud800石化"
    with pytest.raises(ValidationError, match=r"lone surrogates.*enterprise\.name"):
        Application.model_validate(raw)


def test_a_body_s_message_with_a_nul_is_refused():
    with pytest.raises(ValidationError, match="reasons"):
        ReviewDecision(actor=Actor(body=Body.MSA), agency=Body.MSA, decision="object", reasons="见附件\x00")
    assert ReviewDecision(actor=Actor(body=Body.MSA), agency=Body.MSA, decision="object", reasons="见附件").reasons
