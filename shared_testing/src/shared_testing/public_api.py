"""A reusable pytest suite for a package's public namespace.

Both packages check the same things about what they export, so the checks live here once::

    import haiku_core
    from shared_testing.public_api import PublicApiSuite

    class TestPublicApi(PublicApiSuite):
        package = haiku_core
        forbidden_imports = ("haiku", "rlax", "chex", "distrax", "flax", "rlax_core")

The suite checks: the version file, the installed metadata and ``__version__`` agree;
``__all__`` has no duplicates, only strings that resolve, no private names, is sorted within
each comment-delimited owner section, and equals what ``from pkg import *`` gives; a fresh
interpreter importing the package pulls in none of ``forbidden_imports`` (nor
``shared_testing`` or ``pytest``); and the wheel ships ``py.typed``.
"""

from __future__ import annotations

import importlib.metadata
import os
import pathlib
import re
import subprocess
import sys
from types import ModuleType
from typing import ClassVar

_VERSION = re.compile(r"\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.dev\d+)?")


class PublicApiSuite:
    """Subclass as ``Test...`` and set ``package`` (and ``forbidden_imports``)."""

    package: ClassVar[ModuleType]
    forbidden_imports: ClassVar[tuple[str, ...]] = ()

    @property
    def name(self) -> str:
        return self.package.__name__

    @property
    def pkg_dir(self) -> pathlib.Path:
        return pathlib.Path(str(self.package.__file__)).parent

    def test_version_matches_version_file(self) -> None:
        text = (self.pkg_dir / "_version.py").read_text()
        match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
        assert match is not None, "_version.py must define __version__ = '...'"
        assert self.package.__version__ == match.group(1)
        assert _VERSION.fullmatch(self.package.__version__)

    def test_version_matches_installed_metadata(self) -> None:
        dist = self.name.replace("_", "-")
        assert importlib.metadata.version(dist) == self.package.__version__

    def test_all_has_no_duplicates(self) -> None:
        names = list(self.package.__all__)
        dupes = sorted({n for n in names if names.count(n) > 1})
        assert not dupes, f"duplicate names in {self.name}.__all__: {dupes}"

    def test_all_entries_are_strings_and_resolve(self) -> None:
        for name in self.package.__all__:
            assert isinstance(name, str), f"{self.name}.__all__ holds a non-string: {name!r}"
            assert hasattr(self.package, name), (
                f"{self.name}.__all__ lists {name!r} but it does not resolve"
            )

    def test_star_import_gives_exactly_all(self) -> None:
        namespace: dict = {}
        exec(f"from {self.name} import *", namespace)
        exported = {k for k in namespace if k != "__builtins__"}
        assert exported == set(self.package.__all__)

    def test_no_private_names_in_all(self) -> None:
        private = [n for n in self.package.__all__ if n.startswith("_") and n != "__version__"]
        assert not private, f"private names exported in {self.name}.__all__: {private}"

    def test_all_sorted_within_each_section(self) -> None:
        # __all__ is written in owner sections separated by comment (or blank) lines;
        # each section must be sorted (case-sensitive or case-insensitive).
        source = (self.pkg_dir / "__init__.py").read_text()
        match = re.search(r"^__all__\s*=\s*\[(.*?)^\]", source, re.M | re.S)
        assert match is not None, f"{self.name}/__init__.py must define __all__ = [...]"
        sections: list[list[str]] = [[]]
        for line in match.group(1).splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                sections.append([])
            sections[-1].extend(re.findall(r"[\"']([^\"']+)[\"']", line.split("#")[0]))
        for names in sections:
            assert names in (sorted(names), sorted(names, key=str.lower)), (
                f"{self.name}.__all__: a section is not sorted; sort it, or split it into "
                f"groups with '# <group>' comment lines: {names}"
            )

    def test_import_pulls_in_no_upstream_sibling_or_test_modules(self) -> None:
        forbidden = [*self.forbidden_imports, "shared_testing", "pytest"]
        code = (
            f"import sys, {self.name}; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({forbidden!r})))"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "JAX_PLATFORMS": "cpu"},
            capture_output=True,
            text=True,
            check=True,
        )
        assert proc.stdout.strip() == "[]", (
            f"import {self.name} also imported {proc.stdout.strip()}"
        )

    def test_package_ships_py_typed_marker(self) -> None:
        assert (self.pkg_dir / "py.typed").is_file(), f"{self.pkg_dir}/py.typed missing (PEP 561)"
