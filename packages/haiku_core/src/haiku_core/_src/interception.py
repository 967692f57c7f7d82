"""Custom creators, getters and setters for params and state."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import jax

from haiku_core._src import base
from haiku_core._src.base import GetterContext, SetterContext

__all__ = ["custom_creator", "custom_getter", "custom_setter"]

T = TypeVar("T")
U = TypeVar("U")

Initializer = Callable[[Sequence[int], Any], jax.Array]
Creator = Callable[
    [
        Callable[[Sequence[int], Any, Initializer], jax.Array],
        Sequence[int],
        Any,
        Initializer,
        GetterContext,
    ],
    jax.Array,
]
Getter = Callable[[Callable[[jax.Array], jax.Array], jax.Array, GetterContext], jax.Array]
Setter = Callable[[Callable[[Any], Any], Any, SetterContext], Any]


@contextlib.contextmanager
def _install(what: str, fn: Callable, lists: Sequence[str]) -> Iterator[None]:
    frame = base.frame_or_raise(what)
    targets = [getattr(frame, name) for name in lists]
    for t in targets:
        t.append(fn)
    frame.refresh_fast()
    try:
        yield
    finally:
        for t in targets:
            t.remove(fn)
        frame.refresh_fast()


def custom_creator(
    creator: Creator, *, params: bool = True, state: bool = False
) -> contextlib.AbstractContextManager[None]:
    """Installs ``creator`` around the creation of params (and optionally state).

    The creator is called as ``creator(next_creator, shape, dtype, init, context)``
    and usually returns ``next_creator(shape, dtype, init)`` with changed arguments.
    Creators of outer ``with`` blocks run first. It may return :data:`DO_NOT_STORE`.

    Args:
      creator: the creator function.
      params: apply it to parameters.
      state: apply it to state created by ``get_state``.

    Returns:
      A context manager (must be entered inside a transformed function).

    Example:
      >>> def zeros_creator(next_creator, shape, dtype, init, context):
      ...     return next_creator(shape, dtype, jax.numpy.zeros)
    """
    lists = (["creators"] if params else []) + (["state_creators"] if state else [])
    return _install("haiku_core.custom_creator", creator, lists)


def custom_getter(
    getter: Getter, *, params: bool = True, state: bool = False
) -> contextlib.AbstractContextManager[None]:
    """Installs ``getter`` around every read of params (and optionally state).

    The getter is called as ``getter(next_getter, value, context)``; getters of
    outer ``with`` blocks run first.

    Args:
      getter: the getter function.
      params: apply it to parameters.
      state: apply it to state reads.

    Returns:
      A context manager (must be entered inside a transformed function).

    Example:
      >>> def bf16_getter(next_getter, value, context):
      ...     return next_getter(value.astype(jax.numpy.bfloat16))
    """
    lists = (["getters"] if params else []) + (["state_getters"] if state else [])
    return _install("haiku_core.custom_getter", getter, lists)


def custom_setter(setter: Setter) -> contextlib.AbstractContextManager[None]:
    """Installs ``setter`` around every ``hk.set_state`` write.

    The setter is called as ``setter(next_setter, value, context)`` and may return
    :data:`DO_NOT_STORE` to drop the write.

    Args:
      setter: the setter function.

    Returns:
      A context manager (must be entered inside a transformed function).
    """
    return _install("haiku_core.custom_setter", setter, ["setters"])


from haiku_core._src.utils import set_public_module  # noqa: E402

set_public_module(globals(), __all__, "haiku_core")
