"""The public namespace of haiku_core: version, __all__ hygiene, every name resolves."""

import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys

import haiku_core

_PKG_DIR = pathlib.Path(haiku_core.__file__).parent


def test_version_matches_version_file():
    text = (_PKG_DIR / "_version.py").read_text()
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    assert match is not None, "_version.py must define __version__ = '...'"
    assert haiku_core.__version__ == match.group(1)
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?", haiku_core.__version__)


def test_version_matches_installed_metadata():
    dist = "haiku_core".replace("_", "-")
    assert importlib.metadata.version(dist) == haiku_core.__version__


def test_all_has_no_duplicates():
    names = list(haiku_core.__all__)
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, f"duplicate names in haiku_core.__all__: {dupes}"


def test_all_entries_are_strings_and_resolve():
    for name in haiku_core.__all__:
        assert isinstance(name, str), f"haiku_core.__all__ holds a non-string: {name!r}"
        assert hasattr(haiku_core, name), (
            f"haiku_core.__all__ lists {name!r} but it does not resolve"
        )


def test_star_import_gives_exactly_all():
    namespace: dict = {}
    exec("from haiku_core import *", namespace)
    exported = {k for k in namespace if k != "__builtins__"}
    assert exported == set(haiku_core.__all__)


def test_public_objects_do_not_leak_private_module_paths_in_all():
    private = [n for n in haiku_core.__all__ if n.startswith("_") and n != "__version__"]
    assert not private, f"private names exported in haiku_core.__all__: {private}"


def test_all_sorted_within_each_section():
    # __all__ is written in owner sections separated by comment lines (or blank lines);
    # each section must be sorted (case-sensitive or case-insensitive).
    source = (_PKG_DIR / "__init__.py").read_text()
    match = re.search(r"^__all__\s*=\s*\[(.*?)^\]", source, re.M | re.S)
    assert match is not None, "haiku_core/__init__.py must define __all__ = [...]"
    sections: list[list[str]] = [[]]
    for line in match.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            sections.append([])
        sections[-1].extend(re.findall(r"[\"']([^\"']+)[\"']", line.split("#")[0]))
    for names in sections:
        assert names in (sorted(names), sorted(names, key=str.lower)), (
            f"haiku_core.__all__: a section is not sorted; sort it, or split it into groups "
            f"with '# <group>' comment lines: {names}"
        )


def test_import_pulls_in_no_upstream_sibling_or_test_modules():
    # Fresh interpreter: importing haiku_core must not import upstream libraries, the
    # sibling package, or test helpers.
    forbidden = [
        "haiku",
        "rlax",
        "chex",
        "distrax",
        "flax",
        "rlax_core",
        "shared_testing",
        "pytest",
    ]
    code = (
        "import sys, haiku_core; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.strip() == "[]", f"import haiku_core also imported {proc.stdout.strip()}"


def _run_readme_example() -> dict:
    readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    match = re.search(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert match is not None, f"no python example in {readme}"
    namespace: dict = {}
    exec(compile(match.group(1), str(readme), "exec"), namespace)
    return namespace


def test_readme_example_runs_with_upstream_parameter_names():
    ns = _run_readme_example()
    assert ns["logits"].shape == (8, 10)
    params = ns["params"]
    assert sorted(params) == ["mlp/~/linear_0", "mlp/~/linear_1"]
    assert params["mlp/~/linear_0"]["w"].shape == (784, 32)
    assert params["mlp/~/linear_0"]["b"].shape == (32,)
    assert params["mlp/~/linear_1"]["w"].shape == (32, 10)


def test_package_ships_py_typed_marker():
    assert (_PKG_DIR / "py.typed").is_file(), f"{_PKG_DIR}/py.typed missing (PEP 561)"
