"""Both search-attribute jobs (compose and Kubernetes) register exactly workflows/search_attributes.py, with the
same tolerant script."""

from __future__ import annotations

import re

from tests.unit.deploy.files import (
    compose_search_attribute_script, expected_search_attributes, k8s_search_attribute_script, registered_by,
)


def test_compose_job_registers_every_search_attribute() -> None:
    assert registered_by(compose_search_attribute_script()) == expected_search_attributes()


def test_k8s_job_registers_every_search_attribute() -> None:
    assert registered_by(k8s_search_attribute_script()) == expected_search_attributes()


def test_both_jobs_run_the_same_tolerant_script() -> None:
    script = k8s_search_attribute_script()
    assert compose_search_attribute_script().rstrip() == script.rstrip()
    assert "temporal operator search-attribute create" in script
    assert "temporal operator search-attribute list" in script  # the fallback for an existing attribute
    assert "temporal operator namespace create" in script
    # Kubernetes expands $(VAR) and turns $$ into $ in args: the script must use neither.
    assert "$$" not in script
    assert not re.search(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", script)
