"""bench/results.json keeps each benchmark's latest rows; a partial run (BENCH_ONLY) replaces only its own,
and results.md is rendered from the merged set, each row saying when and with what it was measured."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import Result, begin_run, empty_store, from_markdown, load_store, merge, render, save_store

ROOT = Path(__file__).resolve().parents[2]
FACTS = {"date (UTC)": "2026-11-26 23:49", "cores": "2", "memory": "23.5 GiB"}


def params(**kw: str) -> dict[str, str]:
    return {"BENCH_LIFECYCLES": "40", "BENCH_CONCURRENCY": "10", "BENCH_PERMITS": "10,000",
            "BENCH_LIFE_REPEATS": "3"} | kw


def row(number: int, figure: str, title: str = "") -> Result:
    return Result(number, title or f"benchmark {number}", figure, "ref", 0.5, "a ÷ b", "< 1", True, [f"note {figure}"])


def full_run() -> dict:
    store = begin_run(empty_store(), FACTS, params(BENCH_ONLY="1,4,5"))
    store = merge(store, {1}, [row(1, "one")], {})
    store = merge(store, {4}, [row(4, "four"), row(4, "four b", "second row")], {})
    return merge(store, {5}, [row(5, "five")], {})


def test_a_partial_run_replaces_its_benchmark_and_keeps_the_others():
    store = full_run()
    later = {"date (UTC)": "2026-11-27 10:00", "cores": "2", "memory": "23.5 GiB"}
    store = begin_run(store, later, params(BENCH_PERMITS="1,000", BENCH_ONLY="4"))
    store = merge(store, {4}, [row(4, "four again")], {})
    assert [(e["number"], e["figure"]) for e in store["results"]] == [(1, "one"), (4, "four again"), (5, "five")]
    md = render(store)
    # The kept rows say when they were measured; the new one what it was measured with (the table is this run's).
    assert "| 1 | benchmark 1 | one *(measured 2026-11-26 23:49)* |" in md
    assert "| 4 | benchmark 4 | four again |" in md
    assert "| 5 | benchmark 5 | five *(measured 2026-11-26 23:49)* |" in md
    assert "| `BENCH_PERMITS` | 1,000 |" in md and "| date (UTC) | 2026-11-27 10:00 |" in md
    assert "- note four again" in md and "- note one" in md and "second row" not in md


def test_a_row_measured_with_other_parameters_names_them():
    store = full_run()
    store = begin_run(store, FACTS | {"date (UTC)": "2026-11-27 10:00"}, params(BENCH_PERMITS="1,000", BENCH_ONLY="1"))
    store = merge(store, {1}, [row(1, "one again")], {})
    md = render(store)
    assert "| 4 | benchmark 4 | four *(measured 2026-11-26 23:49 with `BENCH_PERMITS` 10,000)* |" in md
    assert "| 1 | benchmark 1 | one again |" in md


def test_a_failed_benchmark_keeps_its_rows_and_is_listed_until_it_runs_again():
    store = full_run()
    store = begin_run(store, FACTS | {"date (UTC)": "2026-11-27 10:00"}, params(BENCH_ONLY="5"))
    store = merge(store, {5}, [], {5: "TimeoutError: slow"})
    md = render(store)
    assert "five *(measured 2026-11-26 23:49)*" in md and "- 5: TimeoutError: slow" in md
    store = merge(begin_run(store, FACTS, params()), {5}, [row(5, "five again")], {})
    assert store["failures"] == [] and "did not run to the end" not in render(store)


def test_the_sidecar_round_trips_and_results_md_is_rendered_from_it(tmp_path):
    store = full_run()
    save_store(store, tmp_path / "results.json", tmp_path / "results.md")
    assert load_store(tmp_path / "results.json", tmp_path / "results.md") == json.loads(json.dumps(store))
    assert (tmp_path / "results.md").read_text(encoding="utf-8") == render(store)


def test_a_results_md_written_before_the_sidecar_is_read_back_as_it_was():
    """The committed results.md (rendered from results.json, or written before it existed) renders unchanged."""
    text = (ROOT / "bench" / "results.md").read_text(encoding="utf-8")
    sidecar = ROOT / "bench" / "results.json"
    if sidecar.exists():  # rows of several runs: their dates live in the sidecar only
        assert render(json.loads(sidecar.read_text(encoding="utf-8"))) == text
    else:
        assert render(from_markdown(text)) == text
