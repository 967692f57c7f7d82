"""Jaxpr-based flop/param inspection (``hk.experimental.jaxpr_info``)."""

from haiku_core._src.jaxpr_info import (
    Expression,
    Module,
    as_html,
    as_html_page,
    css,
    format_module,
    js,
    make_model_info,
)

__all__ = [
    "Expression",
    "Module",
    "as_html",
    "as_html_page",
    "css",
    "format_module",
    "js",
    "make_model_info",
]
