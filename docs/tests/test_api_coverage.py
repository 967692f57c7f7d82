"""The rendered API reference has an entry for every public name of both packages."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_support import inventory_names
from tools import docs_api


def _documented(html_dir: Path) -> set[str]:
    names = inventory_names(html_dir / "objects.inv")
    return {name for role, entries in names.items() if role.startswith("py:") for name in entries}


@pytest.mark.parametrize("section", docs_api.SECTIONS, ids=lambda s: s.package)
def test_every_public_name_is_documented(html_dir: Path, section: docs_api.Section) -> None:
    documented = _documented(html_dir)
    expected = docs_api.public_names(section)
    missing = {
        namespace: [name for name in names if name not in documented]
        for namespace, names in expected.items()
    }
    missing = {namespace: names for namespace, names in missing.items() if names}
    assert not missing, (
        f"{section.package}: public names without an entry in the built API reference "
        "(give each a family in tools/docs_api.py SECTIONS):\n"
        + "\n".join(f"  {ns}: {', '.join(names)}" for ns, names in missing.items())
    )


@pytest.mark.parametrize("section", docs_api.SECTIONS, ids=lambda s: s.package)
def test_public_namespaces_are_found(section: docs_api.Section) -> None:
    """The walk over sub-namespaces finds the ones the packages are known to have."""
    found = set(docs_api.public_names(section))
    known = {
        "haiku_core": {
            "haiku_core",
            "haiku_core.config",
            "haiku_core.data_structures",
            "haiku_core.experimental",
            "haiku_core.experimental.flax",
            "haiku_core.experimental.jaxpr_info",
            "haiku_core.initializers",
            "haiku_core.mixed_precision",
            "haiku_core.nets",
            "haiku_core.pad",
            "haiku_core.testing",
            "haiku_core.typing",
        },
        "rlax_core": {"rlax_core", "rlax_core.batched"},
    }[section.package]
    assert known <= found, f"sub-namespaces not walked: {sorted(known - found)}"


def test_every_family_name_exists() -> None:
    """Each name listed in SECTIONS is a real public name (no stale entries)."""
    stale = []
    for section in docs_api.SECTIONS:
        public = {n for names in docs_api.public_names(section).values() for n in names}
        for page in section.pages:
            stale += [
                f"{section.package}.{n}"
                for n in page.names
                if f"{section.package}.{n}" not in public
            ]
            stale += [
                f"{section.package}.{m}"
                for m in page.modules
                if f"{section.package}.{m}" not in docs_api.public_names(section)
            ]
    assert not stale, f"tools/docs_api.py lists names that are not public: {stale}"


def test_every_api_page_is_built(html_dir: Path) -> None:
    for section in docs_api.SECTIONS:
        short = section.package.split("_")[0]
        for page in section.pages:
            page_html = html_dir / "api" / short / f"{page.slug}.html"
            assert page_html.is_file(), f"API page not built: {page_html}"
