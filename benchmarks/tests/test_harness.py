"""Smoke tests of the benchmark harness (statistics and formatting only; no timing asserts)."""

from __future__ import annotations

import json

import pytest

from benchmarks import harness


def test_summary_median_and_spread():
    s = harness.Summary.of([3.0, 1.0, 2.0, 10.0, 4.0])
    assert (s.median, s.lo, s.hi, s.n) == (3.0, 1.0, 10.0, 5)
    assert harness.Summary.of([1.0, 2.0]).median == 1.5


def test_summary_rejects_empty_sample():
    with pytest.raises(ValueError, match="empty"):
        harness.Summary.of([])


def test_per_round_ratios_and_compare():
    samples = {"ours": [1.0, 2.0, 6.0], "theirs": [2.0, 2.0, 3.0]}
    assert harness.per_round_ratios(samples["ours"], samples["theirs"]) == [
        0.5,
        1.0,
        2.0,
    ]
    row = harness.compare("g", "case", samples, "ours", "theirs", target=1.0)
    assert (row.ratio.median, row.ratio.lo, row.ratio.hi) == (1.0, 0.5, 2.0)
    assert row.met is True
    assert row.best == pytest.approx(0.5)  # min(ours) / min(theirs) = 1 / 2
    with pytest.raises(ValueError, match="length"):
        harness.per_round_ratios([1.0], [1.0, 2.0])


def test_interleaved_rotates_and_counts_calls():
    calls: list[str] = []
    fns = {name: (lambda n=name: calls.append(n)) for name in ("a", "b", "c")}
    out = harness.interleaved(fns, rounds=3, inner=2, warmup=False)
    assert {k: len(v) for k, v in out.items()} == {"a": 3, "b": 3, "c": 3}
    # Round r starts with the r-th callable; each sample makes `inner` calls.
    assert calls == ["a", "a", "b", "b", "c", "c", "b", "b", "c", "c", "a", "a"] + [
        "c",
        "c",
        "a",
        "a",
        "b",
        "b",
    ]
    assert all(t >= 0.0 for v in out.values() for t in v)


def test_table_and_json(tmp_path):
    rows = [
        harness.compare(
            "g", "fast", {"x": [1e-5, 2e-5], "y": [2e-5, 2e-5]}, "x", "y", target=0.7
        ),
        harness.size_row("g", "size", "x", 50, "y", 100, "count"),
    ]
    table = harness.markdown_table(rows)
    assert table.count("\n") == 3
    assert "15.0 µs" in table and "**no**" in table  # median ratio 0.75 > 0.7
    assert "0.50x" in table
    path = tmp_path / "r.json"
    harness.dump_json(rows, {"jax": "x"}, str(path))
    data = json.loads(path.read_text())
    assert data["meta"] == {"jax": "x"} and len(data["rows"]) == 2
    assert data["rows"][0]["met"] is False and data["rows"][1]["met"] is None
