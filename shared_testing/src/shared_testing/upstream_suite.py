"""Run upstream's own test suites (shipped in the dm-haiku / rlax wheels) against our packages.

This pytest plugin installs an import alias so that ``import haiku`` (or ``import rlax``)
resolves to ``haiku_core`` (``rlax_core``), then collects the upstream ``*_test.py`` files
*in place* from the installed upstream wheel. Nothing upstream is copied into this
repository; the upstream package only has to be installed in the same venv (the opt-in
``compat`` nox session does this).

Resolution of an upstream module name ``<up>.<rest>``:

* ``<rest>`` names a test file, ``_src.test_utils`` or anything under ``_src.integration``:
  the upstream source file is loaded under the upstream name, so its own imports go
  through the alias as well.
* ``<rest>`` is a public submodule that we ship (``nets``, ``initializers``,
  ``experimental``, ...): our module.
* any other ``_src`` module: a stand-in module whose attributes are looked up in our
  public namespaces, then in our ``_src`` module of the same name. A name found in
  neither raises :class:`UpstreamPrivateName` (an ``AttributeError``), which the report
  classifies as a test reaching into upstream internals.

Usage::

    python -m pytest -p shared_testing.upstream_suite --upstream=haiku \\
        $(python -c "import os, haiku_core; ...")  # see noxfile.py, session compat

After the run, ``--upstream-report=FILE`` writes a JSON summary per upstream test file:
tests run, passed, failed on message wording only, failed because they use upstream
internals, and failed on behaviour (the ones that matter).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import sys
import types
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

# upstream top-level package -> our package
ALIASES = {"haiku": "haiku_core", "rlax": "rlax_core"}


class UpstreamPrivateName(AttributeError):
    """An upstream test asked a stand-in ``_src`` module for a name we do not provide."""


def _upstream_dir(upstream: str) -> Path:
    """Directory of the *installed* upstream package, found without importing it."""
    for entry in sys.path:
        candidate = Path(entry or ".") / upstream / "__init__.py"
        if candidate.is_file():
            return candidate.parent
    raise pytest.UsageError(f"upstream package {upstream!r} is not installed")


def _public_namespaces(ours: str) -> list[types.ModuleType]:
    root = importlib.import_module(ours)
    spaces = [root]
    for sub in (
        "experimental",
        "nets",
        "initializers",
        "mixed_precision",
        "data_structures",
        "pad",
        "config",
        "testing",
        "typing",
    ):
        try:
            spaces.append(importlib.import_module(f"{ours}.{sub}"))
        except ImportError:
            pass
    return spaces


def public_reexports(updir: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """Where upstream's public modules re-export its ``_src`` names from.

    Reads (never imports) every public ``.py`` file of the upstream package and maps
    ``(<_src module>, <name>)`` to ``(<public module, relative>, <public name>)`` for
    each ``from <up>._src.<module> import <name> [as <public name>]``.
    """
    import ast

    found: dict[tuple[str, str], tuple[str, str]] = {}
    up = updir.name
    for path in sorted(updir.rglob("*.py")):
        rel = path.relative_to(updir)
        if rel.parts[0] == "_src" or path.name.endswith("_test.py"):
            continue
        public = ".".join(rel.with_suffix("").parts)
        public = "" if public == "__init__" else public.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                prefix = f"{up}._src."
                if node.module.startswith(prefix):
                    src = node.module[len(prefix) :]
                    for alias in node.names:
                        key = (src, alias.name)
                        found.setdefault(key, (public, alias.asname or alias.name))
    return found


class _StandIn(types.ModuleType):
    """An upstream ``_src`` module, answered from our public API and our ``_src``.

    A name upstream re-exports publicly resolves to our public name of the same place
    (``haiku._src.filtering.map`` -> ``haiku_core.data_structures.map``); any other
    name to our same-named ``_src`` module, then to our public namespaces.
    """

    def __init__(
        self,
        name: str,
        ours: str,
        rest: str,
        reexports: dict[tuple[str, str], tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(name)
        self.__dict__["_ours"] = ours
        self.__dict__["_rest"] = rest
        self.__dict__["_spaces"] = None
        self.__dict__["_reexports"] = reexports or {}

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        # ``from haiku._src import transform`` asks the package for the attribute first:
        # an upstream submodule of that name wins over a public name (hk.transform).
        locations = self.__dict__.get("__path__") or []
        for location in locations:
            base = Path(location) / attr
            if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
                return importlib.import_module(f"{self.__name__}.{attr}")
        ours = self.__dict__["_ours"]
        src = self.__dict__["_rest"].removeprefix("_src.")
        public = self.__dict__["_reexports"].get((src, attr))
        if public is not None:
            module = ".".join(p for p in (ours, public[0]) if p)
            try:
                return getattr(importlib.import_module(module), public[1])
            except (ImportError, AttributeError):
                pass  # not shipped by us: fall through to the search below
        spaces = self.__dict__["_spaces"]
        if spaces is None:
            spaces = []
            try:
                spaces.append(importlib.import_module(f"{ours}.{self.__dict__['_rest']}"))
            except ImportError:
                pass
            spaces += _public_namespaces(ours)
            self.__dict__["_spaces"] = spaces
        for space in spaces:
            if attr in getattr(space, "__dict__", {}) or hasattr(space, attr):
                try:
                    return getattr(space, attr)
                except AttributeError:
                    continue
        raise UpstreamPrivateName(
            f"upstream internal {self.__name__}.{attr} has no counterpart in "
            f"{self.__dict__['_ours']}"
        )

    def _owner(self, attr: str) -> types.ModuleType | None:
        """Our module that holds ``attr`` (our same-named ``_src`` module first)."""
        ours = self.__dict__["_ours"]
        try:
            mine = importlib.import_module(f"{ours}.{self.__dict__['_rest']}")
        except ImportError:
            mine = None
        for space in [mine, *_public_namespaces(ours)]:
            if space is not None and attr in vars(space):
                return space
        return None

    def __setattr__(self, attr: str, value: Any) -> None:
        # Tests flip module-level switches (and mock.patch.object them): reach ours.
        # Submodules (set by the import system) and dunders stay on the stand-in.
        local = attr.startswith("__") or isinstance(value, types.ModuleType)
        owner = None if local else self._owner(attr)
        if owner is not None:
            setattr(owner, attr, value)
        else:
            super().__setattr__(attr, value)

    def __delattr__(self, attr: str) -> None:
        if attr in self.__dict__:
            super().__delattr__(attr)
        elif (owner := self._owner(attr)) is not None:
            delattr(owner, attr)
        else:
            raise AttributeError(attr)


class _Proxy(types.ModuleType):
    """The upstream top-level package: forwards to ours, keeps its own submodule slots.

    A separate object, so that the import system's ``setattr(parent, "_src", ...)``
    for the upstream ``_src`` stand-ins never overwrites attributes of our package.
    """

    def __init__(self, name: str, ours: types.ModuleType) -> None:
        super().__init__(name, ours.__doc__)
        self.__dict__["_target"] = ours
        if hasattr(ours, "__all__"):
            self.__dict__["__all__"] = ours.__all__

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.__dict__["_target"], attr)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self.__dict__["_target"])))


class _SourceLoader(importlib.abc.Loader):
    """Executes an upstream source file under its upstream module name."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        # dont_inherit: this file's own ``from __future__`` imports must not leak in.
        code = compile(self.path.read_text(), str(self.path), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # upstream test code, run on purpose


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, factory) -> None:
        self.factory = factory

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.factory()

    def exec_module(self, module: types.ModuleType) -> None:
        return None


class AliasFinder(importlib.abc.MetaPathFinder):
    """Maps ``<upstream>[.<rest>]`` onto our package (see the module docstring)."""

    def __init__(self, upstream: str, ours: str | None = None, updir: Path | None = None) -> None:
        self.upstream = upstream
        self.ours = ALIASES[upstream] if ours is None else ours
        self.updir = _upstream_dir(upstream) if updir is None else updir
        self.reexports = public_reexports(self.updir)

    def _is_upstream_source(self, rest: str) -> bool:
        parts = rest.split(".")
        return (
            parts[-1].endswith("_test")
            or rest == "_src.test_utils"
            or rest.startswith("_src.integration")
        )

    def find_spec(self, fullname: str, path=None, target=None):
        up = self.upstream
        if fullname != up and not fullname.startswith(up + "."):
            return None
        if fullname == up:
            ours = importlib.import_module(self.ours)
            spec = importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(lambda: _Proxy(fullname, ours)), is_package=True
            )
            spec.submodule_search_locations = [str(self.updir)]
            return spec
        rest = fullname[len(up) + 1 :]
        file_base = self.updir.joinpath(*rest.split("."))
        if self._is_upstream_source(rest):
            if file_base.is_dir():
                return importlib.machinery.ModuleSpec(
                    fullname,
                    _SourceLoader(file_base / "__init__.py"),
                    is_package=True,
                )
            src = file_base.with_suffix(".py")
            if src.is_file():
                spec = importlib.machinery.ModuleSpec(fullname, _SourceLoader(src), origin=str(src))
                spec.has_location = True
                return spec
            return None
        if not rest.startswith("_src"):
            # A public submodule: ours, when we ship it.
            try:
                mod = importlib.import_module(f"{self.ours}.{rest}")
            except ImportError:
                return None
            return importlib.machinery.ModuleSpec(
                fullname, _AliasLoader(lambda: mod), is_package=hasattr(mod, "__path__")
            )
        is_pkg = file_base.is_dir()
        spec = importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(lambda: _StandIn(fullname, self.ours, rest, self.reexports)),
            is_package=is_pkg,
        )
        if is_pkg:
            spec.submodule_search_locations = [str(file_base)]
        return spec


def install_alias(upstream: str, ours: str | None = None, updir: Path | None = None) -> AliasFinder:
    """Puts the alias finder first on ``sys.meta_path`` (drops any imported upstream).

    Args:
      upstream: the upstream top-level package name (``"haiku"`` or ``"rlax"``).
      ours: our package to answer for it (default: from :data:`ALIASES`).
      updir: the upstream package's directory (default: found on ``sys.path``).

    Returns:
      The installed finder (remove it from ``sys.meta_path`` to undo).
    """
    for name in list(sys.modules):
        if name == upstream or name.startswith(upstream + "."):
            del sys.modules[name]
    finder = AliasFinder(upstream, ours, updir)
    sys.meta_path.insert(0, finder)
    return finder


def upstream_test_files(upstream: str) -> list[str]:
    """Paths of the ``*_test.py`` files shipped in the installed upstream wheel."""
    base = _upstream_dir(upstream)
    return sorted(str(p) for p in base.rglob("*_test.py"))


# --------------------------------------------------------------------------- pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("upstream-suite")
    group.addoption(
        "--upstream",
        choices=sorted(ALIASES),
        help="alias this upstream package to ours and run its shipped tests",
    )
    group.addoption(
        "--upstream-native",
        action="store_true",
        help="baseline: run the upstream files against upstream itself (no alias)",
    )
    group.addoption(
        "--upstream-report",
        default=None,
        help="write a JSON summary (per upstream test file) to this path",
    )


_MISSING = re.compile(r"No module named '([\w.]+)'")
_WORDING = re.compile(r"does not match|Regex didn't match|Pattern .* does not match")


def _classify(report: pytest.TestReport) -> str:
    text = str(report.longrepr)
    missing = _MISSING.search(text)
    if missing and missing.group(1).split(".")[0] not in ALIASES:
        return "environment"
    if "UpstreamPrivateName" in text:
        return "internals"
    if _WORDING.search(text):
        return "wording"
    return "behaviour"


class _Collector:
    """Sorts test outcomes per upstream file (node ids are made absolute)."""

    def __init__(self, rootpath: Path) -> None:
        self.rootpath = rootpath
        self.per_file: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))

    def _node(self, nodeid: str) -> tuple[str, str]:
        path, sep, rest = nodeid.partition("::")
        full = (self.rootpath / path).resolve()
        parts = full.parts
        key = "/".join(parts[parts.index("_src") + 1 :]) if "_src" in parts else path
        return key, f"{full}{sep}{rest}"

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        file, node = self._node(report.nodeid)
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                self.per_file[file]["passed"].append(node)
            elif report.skipped:
                self.per_file[file]["skipped"].append(node)
            else:
                self.per_file[file][_classify(report)].append(node)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            file, _ = self._node(report.nodeid)
            kind = _classify(report)  # type: ignore[arg-type]
            self.per_file[file][f"collection_{kind}"].append(str(report.longrepr)[-400:])


def pytest_configure(config: pytest.Config) -> None:
    upstream = config.getoption("--upstream")
    if not upstream:
        return
    try:  # absl flags are read by some upstream helpers; pytest never parses them.
        from absl import flags

        flags.FLAGS.mark_as_parsed()
    except ImportError:
        pass
    if not config.getoption("--upstream-native"):
        install_alias(upstream)
    collector = _Collector(config.rootpath)
    config._upstream_collector = collector  # type: ignore[attr-defined]
    config.pluginmanager.register(collector, "upstream-suite-collector")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    collector = getattr(config, "_upstream_collector", None)
    path = config.getoption("--upstream-report", None)
    if collector is None or not path:
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the controller receives every worker's reports
    out = Path(path)
    data = {f: {k: v for k, v in kinds.items()} for f, kinds in collector.per_file.items()}
    out.write_text(json.dumps(data, indent=1, sort_keys=True))


# --------------------------------------------------------------------------- summary

_KINDS = ("passed", "wording", "internals", "environment", "behaviour", "skipped")


def load_known(path: Path) -> dict[str, str]:
    """Reads a known-differences file: ``<test id substring> = <reason>`` per line.

    Blank lines and ``#`` comments are ignored. A behaviour failure whose node id contains
    one of the keys counts as an explained, deliberate difference.
    """
    known: dict[str, str] = {}
    if not path.is_file():
        return known
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, reason = line.partition(" = ")
        if not sep or not reason.strip():
            raise ValueError(f"{path}: expected '<test id> = <reason>', got {raw!r}")
        known[key.strip()] = reason.strip()
    return known


def _failed_ids(report: dict[str, dict[str, list[str]]]) -> set[str]:
    failed = set()
    for kinds in report.values():
        for kind, nodes in kinds.items():
            if kind not in ("passed", "skipped"):
                failed.update(nodes)
    return failed


def summarize(
    report: dict[str, dict[str, list[str]]],
    known: dict[str, str],
    baseline: dict[str, dict[str, list[str]]] | None = None,
) -> tuple[str, list[str]]:
    """A per-file table of the report and the behaviour failures nobody explained.

    Args:
      report: the ``--upstream-report`` of the run against our package.
      known: test-id substring -> reason, for deliberate differences.
      baseline: the report of the same files run against upstream itself
        (``--upstream-native``); a test that fails there too (missing optional
        dependencies, data files the wheel does not ship) is counted as ``env``.

    Returns:
      The table as text, and the node ids of unexplained behaviour failures.
    """
    upstream_failed = _failed_ids(baseline) if baseline else set()
    rows = []
    unexplained: list[str] = []
    totals: dict[str, int] = dict.fromkeys((*_KINDS, "run", "deliberate"), 0)
    for file in sorted(report):
        kinds = report[file]
        behaviour = kinds.get("behaviour", []) + kinds.get("collection_behaviour", [])
        fails_upstream = [n for n in behaviour if n in upstream_failed]
        behaviour = [n for n in behaviour if n not in upstream_failed]
        deliberate = [n for n in behaviour if any(k in n for k in known)]
        rest = [n for n in behaviour if n not in deliberate]
        unexplained += rest
        counts = {k: len(kinds.get(k, [])) for k in _KINDS}
        counts["internals"] += len(kinds.get("collection_internals", []))
        counts["environment"] += len(kinds.get("collection_environment", []))
        counts["environment"] += len(fails_upstream)
        counts["behaviour"] = len(rest)
        counts["deliberate"] = len(deliberate)
        counts["run"] = sum(counts[k] for k in ("passed", "wording", "internals", "environment"))
        counts["run"] += len(behaviour)
        for k, v in counts.items():
            totals[k] += v
        rows.append((file, counts))
    cols = (
        "run",
        "passed",
        "wording",
        "internals",
        "environment",
        "deliberate",
        "behaviour",
        "skipped",
    )
    width = max([len(f) for f, _ in rows] + [5])
    lines = [f"{'file':<{width}} " + " ".join(f"{c:>10}" for c in cols)]
    for file, counts in [*rows, ("TOTAL", totals)]:
        lines.append(f"{file:<{width}} " + " ".join(f"{counts[c]:>10}" for c in cols))
    return "\n".join(lines), unexplained


def main(argv: list[str] | None = None) -> int:
    """``python -m shared_testing.upstream_suite REPORT.json [KNOWN.txt [BASELINE.json]]``.

    Prints the table. Exits 1 when a behaviour failure is not listed in the
    known-differences file (and, given a baseline, passes against upstream itself).
    """
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(main.__doc__)
        return 2
    report = json.loads(Path(args[0]).read_text())
    known = load_known(Path(args[1])) if len(args) > 1 else {}
    baseline = json.loads(Path(args[2]).read_text()) if len(args) > 2 else None
    table, unexplained = summarize(report, known, baseline)
    print(table)
    if unexplained:
        print(f"\n{len(unexplained)} behaviour failure(s) not listed as deliberate:")
        for node in unexplained:
            print("  ", node)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
