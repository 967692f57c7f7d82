"""Every ```python block of the guides runs, page by page, in order, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import (
    DOCS,
    SKIP_REASONS,
    guide_pages,
    needs_eight_devices,
    python_blocks,
    runner_script,
)

PAGES = [page for page in guide_pages() if python_blocks(page)]


def test_guides_have_code() -> None:
    """The guides exist and the extraction finds their code (a broken finder runs nothing)."""
    names = {str(p.relative_to(DOCS)) for p in PAGES}
    for expected in (
        "index.md",
        "haiku/getting-started.md",
        "rlax/getting-started.md",
        "rlax/batched.md",
    ):
        assert expected in names, f"no python blocks found in docs/{expected}"
    assert sum(len(python_blocks(p)) for p in PAGES) >= 15


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_guide_code_runs(page: Path, tmp_path: Path) -> None:
    blocks = python_blocks(page)
    for block in blocks:
        if block.skip_reason is not None:
            assert any(r in block.skip_reason for r in SKIP_REASONS), (
                f"{block.source}:{block.line}: a block may be skipped only when it needs a "
                f"GPU or the network (say which in the marker), got {block.skip_reason!r}"
            )
    script = tmp_path / "run_blocks.py"
    script.write_text(runner_script(blocks), encoding="utf-8")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "MPLBACKEND": "Agg"}
    env.pop("JAX_NUMPY_RANK_PROMOTION", None)  # the guides are user code
    if needs_eight_devices(page):
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (
        f"code of docs/{page.relative_to(DOCS)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    )
