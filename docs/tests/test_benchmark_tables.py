"""The benchmark tables are generated from the committed results files and are current."""

from __future__ import annotations

from pathlib import Path

from tools import bench_tables


def test_results_files_exist() -> None:
    assert bench_tables.load_results(), "no benchmarks/results/*.json to generate tables from"


def test_readme_block_is_current() -> None:
    assert bench_tables.readme_is_current(), (
        "the generated block of benchmarks/README.md is out of date: run "
        "`python tools/bench_tables.py` and commit the result"
    )


def test_built_page_has_every_row(html_dir: Path) -> None:
    page = (html_dir / "benchmarks.html").read_text(encoding="utf-8")
    for name, data in bench_tables.load_results():
        assert name in page, f"benchmarks page lacks the table of {name}"
        for row in data["rows"]:
            assert row["case"] in page, f"benchmarks page lacks {name}: {row['case']}"
    assert page.count("<tr") >= sum(len(d["rows"]) for _, d in bench_tables.load_results())


def test_format_quantity() -> None:
    assert bench_tables.format_quantity(0.42700, "s") == "427.00 ms"
    assert bench_tables.format_quantity(4.922e-4, "s") == "492.2 µs"
    assert bench_tables.format_quantity(2.5, "s") == "2.50 s"
    assert bench_tables.format_quantity(63453, "") == "63,453"
    assert bench_tables.format_quantity(None, "s") == "-"


def test_replace_block_needs_markers() -> None:
    import pytest

    with pytest.raises(ValueError, match="marker"):
        bench_tables.replace_block("no markers here", "x")
    text = f"a\n{bench_tables.BEGIN}\nold\n{bench_tables.END}\nb\n"
    assert bench_tables.replace_block(text, "NEW") == "a\nNEW\nb\n"
