"""Small helpers for haiku_core internals."""

from __future__ import annotations

from typing import Any


def set_public_module(namespace: dict[str, Any], names: list[str], module: str) -> None:
    """Sets ``__module__`` of the public objects ``names`` to their public namespace.

    Reprs, docs and tracebacks then show ``haiku_core.transform`` rather than the
    private ``haiku_core._src.transform.transform``.
    """
    for name in names:
        obj = namespace.get(name)
        if obj is None or not hasattr(obj, "__module__"):
            continue
        if getattr(obj, "__module__", None) != namespace.get("__name__"):
            continue  # re-exported from elsewhere; leave it alone
        try:
            obj.__module__ = module
        except (AttributeError, TypeError):
            pass
