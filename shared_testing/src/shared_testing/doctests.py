"""Runs every ``>>>`` example in a package's public docstrings as pytest tests.

``pytest --doctest-modules`` finds examples module by module and skips any object whose
``__module__`` names another module; our public objects report their public namespace
(``haiku_core.Linear`` is defined in ``haiku_core._src.basic``), so that finder misses most of
them. Here the walk starts from the public namespaces instead: every public name of the
package and of its public sub-namespaces, with the methods, properties and nested classes of
public classes. Each docstring with examples becomes one test, named after its public path::

    import haiku_core
    from shared_testing.doctests import collect_examples, run_example

    EXAMPLES = collect_examples(haiku_core, globs={"hk": haiku_core})

    @pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
    def test_docstring_example(example):
        run_example(example)
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

__all__ = ["OPTIONFLAGS", "collect_examples", "public_namespaces", "run_example"]

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def public_namespaces(package: ModuleType) -> list[ModuleType]:
    """The package and its public submodules (no ``_``-prefixed part), imported."""
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ImportError:
            continue  # optional dependency missing (e.g. flax for an interop module)
    return found


def _public_names(module: ModuleType) -> list[str]:
    """``__all__`` first, then any other non-underscore name (public but not starred)."""
    names = list(getattr(module, "__all__", []))
    names += [n for n in vars(module) if n not in names]
    return [n for n in names if not n.startswith("_")]


def _members(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    """``obj`` and, for a class, its own methods, properties and nested classes."""
    yield path, obj
    if not inspect.isclass(obj):
        return
    for name, member in vars(obj).items():
        if name.startswith("_") and name not in ("__call__", "__init__"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property):
            member = member.fget
        if inspect.isfunction(member) or inspect.isclass(member) or callable(member):
            yield from (
                _members(member, f"{path}.{name}")
                if inspect.isclass(member)
                else [(f"{path}.{name}", member)]
            )


def collect_examples(
    package: ModuleType, globs: Mapping[str, Any] | None = None
) -> list[doctest.DocTest]:
    """One :class:`doctest.DocTest` per public docstring of ``package`` that has examples.

    Args:
      package: the top-level package module.
      globs: names every example sees (e.g. ``{"hk": haiku_core, "jnp": jax.numpy}``).

    Returns:
      Tests sorted by public path; a docstring reachable under several public paths (an
      object re-exported in two namespaces) appears once, under its first path.
    """
    parser = doctest.DocTestParser()
    by_file = _modules_by_file(package)
    seen: set[tuple[str | None, str]] = set()
    tests = []
    for module in public_namespaces(package):
        candidates = [(module.__name__, module)]
        for name in _public_names(module):
            obj = getattr(module, name, None)
            if obj is None or inspect.ismodule(obj):
                continue
            candidates.extend(_members(obj, f"{module.__name__}.{name}"))
        for path, obj in candidates:
            raw = getattr(obj, "__doc__", None)
            if not isinstance(raw, str) or ">>>" not in raw or not _defined_in(obj, package):
                continue
            source = _source_file(obj)
            if (source, raw) in seen:
                continue
            seen.add((source, raw))
            # Like module-level doctests: the defining module's globals, plus ``globs``.
            defining = by_file.get(str(source))
            names = {**(vars(defining) if defining else {}), **(globs or {})}
            test = parser.get_doctest(raw, names, path, source, 0)
            if test.examples:
                tests.append(test)
    return sorted(tests, key=lambda t: t.name)


def _modules_by_file(package: ModuleType) -> dict[str, ModuleType]:
    """Every imported module of ``package`` (private ones included), keyed by source file."""
    import sys

    prefix = package.__name__ + "."
    out = {}
    for name, module in list(sys.modules.items()):
        if (name == package.__name__ or name.startswith(prefix)) and getattr(
            module, "__file__", None
        ):
            out[str(module.__file__)] = module
    return out


def _defined_in(obj: Any, package: ModuleType) -> bool:
    """Whether ``obj`` comes from ``package`` (jax or numpy objects re-exported are not ours)."""
    source = _source_file(obj)
    root = str(package.__path__[0])
    return bool(source) and str(source).startswith(root)


def _source_file(obj: Any) -> str | None:
    """The file that defines ``obj``, found from code objects, not from ``__module__``.

    Public objects carry their public namespace in ``__module__``, which would point
    :func:`inspect.getsourcefile` at the package ``__init__.py``.
    """
    target = inspect.unwrap(obj) if callable(obj) else obj
    code = getattr(target, "__code__", None)
    if code is not None:
        return code.co_filename
    if inspect.isclass(target):
        for member in vars(target).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                member = member.fget
            code = getattr(inspect.unwrap(member), "__code__", None) if callable(member) else None
            if code is not None:
                return code.co_filename
    try:
        return inspect.getsourcefile(target)
    except TypeError:
        return None


def run_example(test: doctest.DocTest, optionflags: int = OPTIONFLAGS) -> None:
    """Runs one collected docstring; raises ``AssertionError`` with doctest's report on failure."""
    import io

    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=optionflags, verbose=False)
    original = test.globs
    test.globs = dict(original)  # a fresh copy: examples never see another run's names
    try:
        result = runner.run(test, out=out.write, clear_globs=True)
    finally:
        test.globs = original
    if result.failed:
        raise AssertionError(f"docstring example of {test.name} failed:\n{out.getvalue()}")
