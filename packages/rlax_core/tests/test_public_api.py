"""The public namespace of rlax_core: version, __all__ hygiene, every name resolves."""

import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys

import rlax_core

_PKG_DIR = pathlib.Path(rlax_core.__file__).parent


def test_version_matches_version_file():
    text = (_PKG_DIR / "_version.py").read_text()
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    assert match is not None, "_version.py must define __version__ = '...'"
    assert rlax_core.__version__ == match.group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", rlax_core.__version__)


def test_version_matches_installed_metadata():
    dist = "rlax_core".replace("_", "-")
    assert importlib.metadata.version(dist) == rlax_core.__version__


def test_all_has_no_duplicates():
    names = list(rlax_core.__all__)
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, f"duplicate names in rlax_core.__all__: {dupes}"


def test_all_entries_are_strings_and_resolve():
    for name in rlax_core.__all__:
        assert isinstance(name, str), f"rlax_core.__all__ holds a non-string: {name!r}"
        assert hasattr(rlax_core, name), f"rlax_core.__all__ lists {name!r} but it does not resolve"


def test_star_import_gives_exactly_all():
    namespace: dict = {}
    exec("from rlax_core import *", namespace)
    exported = {k for k in namespace if k != "__builtins__"}
    assert exported == set(rlax_core.__all__)


def test_public_objects_do_not_leak_private_module_paths_in_all():
    private = [n for n in rlax_core.__all__ if n.startswith("_") and n != "__version__"]
    assert not private, f"private names exported in rlax_core.__all__: {private}"


def test_all_sorted_within_each_section():
    # __all__ is written in owner sections separated by comment lines (or blank lines);
    # each section must be sorted (case-sensitive or case-insensitive).
    source = (_PKG_DIR / "__init__.py").read_text()
    match = re.search(r"^__all__\s*=\s*\[(.*?)^\]", source, re.M | re.S)
    assert match is not None, "rlax_core/__init__.py must define __all__ = [...]"
    sections: list[list[str]] = [[]]
    for line in match.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            sections.append([])
        sections[-1].extend(re.findall(r"[\"']([^\"']+)[\"']", line.split("#")[0]))
    for names in sections:
        assert names in (sorted(names), sorted(names, key=str.lower)), (
            f"rlax_core.__all__: a section is not sorted; sort it, or split it into groups "
            f"with '# <group>' comment lines: {names}"
        )


def test_import_pulls_in_no_upstream_sibling_or_test_modules():
    # Fresh interpreter: importing rlax_core must not import upstream libraries, the
    # sibling package, or test helpers.
    forbidden = [
        "haiku",
        "rlax",
        "chex",
        "distrax",
        "flax",
        "haiku_core",
        "shared_testing",
        "pytest",
    ]
    code = (
        "import sys, rlax_core; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "[]", f"import rlax_core also imported {proc.stdout.strip()}"


def _run_readme_example() -> dict:
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    match = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert match is not None, f"no python example in {readme}"
    namespace: dict = {}
    exec(compile(match.group(1), str(readme), "exec"), namespace)
    return namespace


def test_readme_example_runs_and_gives_hand_computed_values():
    ns = _run_readme_example()
    # r + discount * max_a q_t - q_tm1[a] = 0.5 + 0.99 * 3 - 2
    assert abs(float(ns["td"]) - 1.47) < 1e-5
    # batch: r = 1, discount = 1, max q_t = 3; a = 0 -> 3 - 1, a = 1 -> 3 - 2 (plus r = 1)
    assert [round(float(v), 5) for v in ns["tds"]] == [3.0, 2.0]


def test_package_ships_py_typed_marker():
    assert (_PKG_DIR / "py.typed").is_file(), f"{_PKG_DIR}/py.typed missing (PEP 561)"
