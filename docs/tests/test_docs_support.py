"""The code-block finder of the guide tests: fences, includes, skip markers, inventories."""

from __future__ import annotations

import zlib
from pathlib import Path

from docs_support import code_blocks, inventory_names, python_blocks, runner_script

FENCE = "```"


def test_blocks_in_order_with_lines_and_languages(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        f"# T\n\n{FENCE}python\nx = 1\n{FENCE}\n\ntext ```` ```python ```` inline\n\n"
        f"{FENCE}bash\nls\n{FENCE}\n\n- item\n\n  {FENCE}python\n  y = x + 1\n  {FENCE}\n",
        encoding="utf-8",
    )
    blocks = code_blocks(page)
    assert [(b.line, b.language, b.code) for b in blocks] == [
        (3, "python", "x = 1\n"),
        (9, "bash", "ls\n"),
        (15, "python", "y = x + 1\n"),
    ]
    assert [b.code for b in python_blocks(page)] == ["x = 1\n", "y = x + 1\n"]


def test_include_with_start_after_and_end_before(tmp_path: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text(
        f"## A\n{FENCE}python\na = 1\n{FENCE}\n## B\n{FENCE}python\nb = 2\n{FENCE}\n## C\n"
        f"{FENCE}python\nc = 3\n{FENCE}\n",
        encoding="utf-8",
    )
    page = tmp_path / "sub" / "page.md"
    page.parent.mkdir()
    page.write_text(
        f'{FENCE}{{include}} ../other.md\n:start-after: "## B"\n:end-before: "## C"\n{FENCE}\n',
        encoding="utf-8",
    )
    blocks = python_blocks(page)
    assert [(b.source.name, b.line, b.code) for b in blocks] == [("other.md", 6, "b = 2\n")]


def test_skip_marker_applies_to_the_next_block_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        f"<!-- docs-test: skip (needs a GPU) -->\n\n{FENCE}python\ngpu()\n{FENCE}\n"
        f"{FENCE}python\ncpu()\n{FENCE}\n",
        encoding="utf-8",
    )
    assert [b.skip_reason for b in python_blocks(page)] == ["needs a GPU", None]


def test_runner_names_the_failing_block(tmp_path: Path) -> None:
    import subprocess
    import sys

    page = tmp_path / "page.md"
    page.write_text(
        f"{FENCE}python\nx = 1\n{FENCE}\n{FENCE}python\nassert x == 2\n{FENCE}\n",
        encoding="utf-8",
    )
    script = tmp_path / "run.py"
    # runner_script labels blocks relative to the repository root: label them as this file.
    blocks = [b.__class__(Path(__file__), b.line, b.language, b.code) for b in python_blocks(page)]
    script.write_text(runner_script(blocks), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "FAILED in the block at docs/tests/test_docs_support.py:4" in proc.stdout


def test_inventory_parser(tmp_path: Path) -> None:
    body = (
        "haiku_core.Linear py:class 1 api/haiku/layers.html#$ -\n"
        "haiku_core.transform py:function 1 api/haiku/transforms.html#$ -\n"
        "index std:doc -1 index.html haiku-core\n"
    )
    inv = tmp_path / "objects.inv"
    inv.write_bytes(
        b"# Sphinx inventory version 2\n# Project: x\n# Version: 1\n"
        b"# The remainder of this file is compressed using zlib.\n" + zlib.compress(body.encode())
    )
    assert inventory_names(inv) == {
        "py:class": {"haiku_core.Linear"},
        "py:function": {"haiku_core.transform"},
        "std:doc": {"index"},
    }
