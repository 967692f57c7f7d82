"""Experimental helpers built on the core: ``optimize_rng_use``, ``fast_eval_shape``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from haiku_core._src import base, stateful

__all__ = ["fast_eval_shape", "optimize_rng_use"]


def optimize_rng_use(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps ``fun`` so all keys it draws come from a single split.

    Under ``apply`` the function is first traced abstractly to count how many keys
    it draws, then that many keys are reserved at once. Under ``init`` (or without
    an rng) ``fun`` just runs.

    Args:
      fun: a function using ``hk.next_rng_key``.

    Returns:
      The wrapped function.
    """

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        frame = base.frame_or_raise("haiku_core.experimental.optimize_rng_use")
        if frame.is_init or frame.rng is None:
            return fun(*args, **kwargs)

        def count(*a, **k):
            seq = base.current_frame().rng
            assert seq is not None  # eval_shape keeps the (copied) sequence
            start = seq._draws
            fun(*a, **k)
            return seq._draws - start

        # The count is a Python int computed during tracing, not an output.
        counter: list[int] = []
        stateful.eval_shape(lambda *a, **k: counter.append(count(*a, **k)), *args, **kwargs)
        base.reserve_rng_keys(max(counter[0] - len(frame.rng._subkeys), 0))
        return fun(*args, **kwargs)

    return wrapper


def fast_eval_shape(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Output shapes of ``fun``: ``hk.eval_shape`` inside a transform, else ``jax.eval_shape``.

    Works on plain functions, modules (inside a transform) and on already
    transformed ``init``/``apply`` functions (outside a transform).

    Args:
      fun: the function.
      *args: arguments (arrays or ``jax.ShapeDtypeStruct``).
      **kwargs: keyword arguments.

    Returns:
      ``jax.ShapeDtypeStruct`` pytree of the outputs.
    """
    if base._local.frames:
        return stateful.eval_shape(fun, *args, **kwargs)
    return jax.eval_shape(fun, *args, **kwargs)
