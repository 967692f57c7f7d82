"""Small helpers for haiku_core internals (formatting, reprs, argument replication)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, TypeVar, cast

import numpy as np

T = TypeVar("T")

# Names served lazily from the modules that define them (see ``__getattr__``): they
# import this module, so importing them here eagerly would be circular.
_FORWARDED = {
    "tree_size": "haiku_core._src.data_structures",
    "tree_bytes": "haiku_core._src.data_structures",
    "get_channel_index": "haiku_core._src.conv",
}


def __getattr__(name: str) -> Any:
    home = _FORWARDED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(home), name)


def set_public_module(namespace: dict[str, Any], names: list[str], module: str) -> None:
    """Sets ``__module__`` of the public objects ``names`` to their public namespace.

    Reprs, docs and tracebacks then show ``haiku_core.transform`` rather than the
    private ``haiku_core._src.transform.transform``.

    Args:
      namespace: the defining module's ``globals()``.
      names: the public names defined there.
      module: the public module name to record.
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


def indent(amount: int, text: str) -> str:
    """Prefixes every line of ``text`` with ``amount`` spaces.

    Args:
      amount: number of spaces.
      text: possibly multi-line text.

    Returns:
      The indented text (same number of lines).
    """
    pad = " " * amount
    return "\n".join(pad + line for line in text.split("\n"))


_MISSING = object()


def auto_repr(cls: type, *args: Any, **kwargs: Any) -> str:
    """Formats a constructor call ``cls(*args, **kwargs)`` as ``Name(a=1, b=2)``.

    Arguments are matched to the parameters of ``cls.__init__``; arguments equal to
    their parameter's default are left out. Extra positional arguments (``*args``)
    are shown bare, extra keywords as ``key=value``.

    Args:
      cls: the class being constructed.
      *args: positional constructor arguments.
      **kwargs: keyword constructor arguments.

    Returns:
      The formatted string.
    """
    try:
        sig = inspect.signature(cls.__init__)
        bound = sig.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return f"{cls.__name__}({', '.join(parts)})"
    parts = []
    P = inspect.Parameter
    for i, (name, value) in enumerate(bound.arguments.items()):
        if i == 0:
            continue  # the instance slot
        param = sig.parameters[name]
        if param.kind is P.VAR_POSITIONAL:
            parts.extend(repr(v) for v in value)
        elif param.kind is P.VAR_KEYWORD:
            parts.extend(f"{k}={v!r}" for k, v in value.items())
        else:
            default = param.default
            if default is not P.empty and _same(value, default):
                continue
            parts.append(f"{name}={value!r}")
    return f"{cls.__name__}({', '.join(parts)})"


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except Exception:  # arrays and other objects without a truth value
        return False


_DTYPE_SHORT = {"float": "f", "int": "s", "uint": "u", "complex": "c", "bfloat": "bf"}


def _short_dtype(dtype: Any) -> str:
    name = np.dtype(dtype).name
    for long_name, short in sorted(_DTYPE_SHORT.items(), key=lambda kv: -len(kv[0])):
        if name.startswith(long_name):
            rest = name[len(long_name) :]
            if rest[:1].isdigit():
                return short + rest
    return name


def format_array(x: Any) -> str:
    """Formats an array's dtype and shape compactly, e.g. ``f32[1,2]`` or ``s8[]``.

    Args:
      x: anything with ``dtype`` and ``shape``.

    Returns:
      ``"<dtype>[d0,d1,...]"``.
    """
    return f"{_short_dtype(x.dtype)}[{','.join(str(int(d)) for d in x.shape)}]"


def format_bytes(num_bytes: float) -> str:
    """Formats a byte count with decimal units and two decimals, e.g. ``1.23 KB``.

    Args:
      num_bytes: number of bytes.

    Returns:
      The count in B, KB, MB, GB or TB (TB for anything larger).
    """
    value = float(num_bytes)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.2f} {unit}"
        value /= 1000
    return f"{value:.2f} TB"


def replicate(element: T | Sequence[T], num_times: int, name: str) -> tuple[T, ...]:
    """Expands a scalar (or length-1 sequence) to a tuple of ``num_times`` copies.

    A list/tuple of length ``num_times`` is returned as a tuple unchanged.

    Args:
      element: a single value or a list/tuple of length 1 or ``num_times``.
      num_times: required length.
      name: argument name used in the error message.

    Returns:
      A tuple of length ``num_times``.

    Raises:
      TypeError: for a list/tuple of any other length.
    """
    if isinstance(element, (list, tuple)):
        if len(element) == 1:
            return cast("tuple[T, ...]", tuple(element) * num_times)
        if len(element) == num_times:
            return cast("tuple[T, ...]", tuple(element))
        raise TypeError(
            f"haiku_core replicate: `{name}` takes one value, or a sequence of 1 or "
            f"{num_times} values; got {len(element)} values: {element!r}."
        )
    return cast("tuple[T, ...]", (element,) * num_times)
