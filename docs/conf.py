"""Sphinx configuration of the haiku-core / rlax-core documentation site.

Build (from the repository root, with both packages and docs/requirements.txt installed)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

or ``nox -s docs``, which also runs the docs tests. Before reading the sources this file
generates the API pages (``docs/api/``, from ``tools/docs_api.py``) and the benchmark tables
(``docs/_generated/``, from ``tools/bench_tables.py``); both folders are ignored by git.
The build needs no network: no intersphinx inventories, no remote assets.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

# Importing the packages for autodoc must not look for accelerators.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import haiku_core  # noqa: E402
import rlax_core  # noqa: E402
from tools import bench_tables, docs_api  # noqa: E402

docs_api.write_pages(DOCS / docs_api.GENERATED_DIR)
_tables = DOCS / "_generated" / "benchmark_tables.md"
_tables.parent.mkdir(exist_ok=True)
_text = bench_tables.docs_tables()
if not _tables.exists() or _tables.read_text(encoding="utf-8") != _text:
    _tables.write_text(_text, encoding="utf-8")

project = "haiku-core & rlax-core"
author = "haiku-core and rlax-core authors"
copyright = "the haiku-core and rlax-core authors; Apache-2.0"
release = f"haiku-core {haiku_core.__version__}, rlax-core {rlax_core.__version__}"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_generated",  # included by benchmarks.md, not a page of its own
    "tests",
    "README.md",  # how to build the docs (for the repository, not the site)
    "deliberate-differences.md",  # included section by section by the migration guides
    "requirements.txt",
]

# MyST: ```{directive} fences, $math$ not needed; heading anchors for #links to sections.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# autodoc + napoleon: our docstrings are Google style (Args / Returns / Raises).
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autodoc_class_signature = "mixed"
autodoc_inherit_docstrings = True
# Show array-like annotations by name instead of expanding the union behind them.
autodoc_type_aliases = {
    "jax.typing.ArrayLike": "jax.typing.ArrayLike",
    "ArrayLike": "jax.typing.ArrayLike",
}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_attr_annotations = True
# Attributes sections become fields of the class entry (autodoc documents the members).
napoleon_use_ivar = True
add_module_names = False
python_use_unqualified_type_names = True
toc_object_entries_show_parents = "hide"

# Offline: no intersphinx, no MathJax from a CDN (pages with maths would pull it in).
html_math_renderer = None
html_theme = "furo"
html_title = "haiku-core & rlax-core"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": True,
}
html_copy_source = False
# "Fields:" heads the field list of several NamedTuple docstrings; render it like
# "Attributes:".
napoleon_custom_sections = [("Fields", "params_style")]

# Docstrings whose text is not valid reStructuredText yet, with the smallest edit that makes it
# render as meant: {documented name: [(old, new), ...]}. Fix the docstring itself instead where
# possible; every earlier entry has been fixed at its source.
DOCSTRING_FIXES: dict[str, list[tuple[str, str]]] = {}


def _fix_docstring(app, what, name, obj, options, lines) -> None:
    for old, new in DOCSTRING_FIXES.get(name, ()):
        for i, line in enumerate(lines):
            lines[i] = line.replace(old, new)


_ALIAS_REPR = re.compile(r"TypeAliasForwardRef\('([^']+)'\)")


def _alias_names_in_signature(app, what, name, obj, options, signature, return_annotation):
    """Show a type alias inside a union by its name (Sphinx prints the alias object's repr)."""
    if signature:
        signature = _ALIAS_REPR.sub(r"\1", signature)
    if return_annotation:
        return_annotation = _ALIAS_REPR.sub(r"\1", return_annotation)
    return signature, return_annotation


def setup(app) -> None:
    app.connect("autodoc-process-docstring", _fix_docstring)
    app.connect("autodoc-process-signature", _alias_names_in_signature)
