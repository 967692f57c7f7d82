"""Logic of the ``docs`` nox session: build the site with warnings as errors, then test it."""

from __future__ import annotations

import shutil
import time

import nox

from tools import nox_support as ns

DOCS = ns.ROOT / "docs"
REQUIREMENTS = DOCS / "requirements.txt"
BUILD = DOCS / "_build"
HTML = BUILD / "html"


def run_docs_session(session: nox.Session) -> None:
    """Install both packages (built wheels) and the pinned docs requirements, build, test.

    The build starts from an empty ``docs/_build`` (so every page is read again), runs
    offline (no intersphinx, no remote assets) and treats every warning as an error; the
    docs tests in ``docs/tests`` then check the built site (extra posargs go to pytest).
    """
    ns.install_built_packages(session, "-r", str(REQUIREMENTS))
    session.chdir(ns.ROOT)
    shutil.rmtree(BUILD, ignore_errors=True)
    env = {"JAX_PLATFORMS": "cpu"}
    start = time.perf_counter()
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", str(HTML), env=env)
    session.log(f"docs: sphinx-build took {time.perf_counter() - start:.0f} s -> {HTML}")
    session.run(
        "python",
        "-m",
        "pytest",
        "docs/tests",
        "-p",
        "no:cacheprovider",
        "-q",
        *session.posargs,
        env={**env, "DOCS_BUILD_DIR": str(HTML)},
    )
