"""Docs tests: run by ``nox -s docs`` after ``sphinx-build`` (see docs/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from docs_support import build_dir


@pytest.fixture(scope="session")
def html_dir() -> Path:
    """The built HTML site; a missing build is a failure, not a skip."""
    path = build_dir()
    if not (path / "objects.inv").is_file():
        pytest.fail(
            f"no built site at {path} (objects.inv missing): run "
            "`sphinx-build -W --keep-going -b html docs docs/_build/html` first, "
            "or set DOCS_BUILD_DIR"
        )
    return path
