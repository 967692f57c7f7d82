"""Gradient checks against finite differences (built on ``jax.test_util.check_grads``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.test_util
import numpy as np

__all__ = ["assert_grads_numerical"]


def _describe(args: Sequence[Any]) -> str:
    parts = []
    for i, arg in enumerate(args):
        leaves = jax.tree_util.tree_leaves(arg)
        shapes = ", ".join(f"{np.shape(x)}:{np.asarray(x).dtype}" for x in leaves[:4])
        if len(leaves) > 4:
            shapes += ", ..."
        parts.append(f"arg{i}=[{shapes}]")
    return " ".join(parts)


def assert_grads_numerical(
    fn: Callable[..., Any],
    args: Any,
    order: int = 1,
    modes: Sequence[str] = ("rev",),
    eps: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Asserts JAX's derivatives of ``fn`` match central finite differences.

    Checks ``jax.jvp`` (mode ``"fwd"``) and/or ``jax.vjp`` (mode ``"rev"``) up to
    ``order`` against numerical differences. Use float64 inputs under an ``x64`` test
    for tight tolerances; with float32 keep ``eps`` around ``1e-3`` and tolerances
    around ``1e-2``.

    Args:
      fn: function of ``*args`` returning an array or pytree of floating arrays.
      args: a tuple of arguments (a single non-tuple value is treated as one argument).
      order: highest derivative order to check.
      modes: any of ``"fwd"``, ``"rev"``.
      eps: finite-difference step (jax's default when None).
      rtol: relative tolerance (jax's dtype-dependent default when None).
      atol: absolute tolerance (jax's dtype-dependent default when None).

    Raises:
      AssertionError: naming the function, argument shapes, order/modes and the
        underlying mismatch.
    """
    if not isinstance(args, tuple):
        args = (args,)
    bad_modes = [m for m in modes if m not in ("fwd", "rev")]
    if bad_modes:
        raise ValueError(f"assert_grads_numerical: modes must be 'fwd'/'rev', got {bad_modes}")
    try:
        jax.test_util.check_grads(
            fn, args, order=order, modes=tuple(modes), atol=atol, rtol=rtol, eps=eps
        )
    except AssertionError as e:
        name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", repr(fn))
        raise AssertionError(
            f"assert_grads_numerical: derivatives of {name} disagree with finite differences "
            f"(order={order}, modes={tuple(modes)}, eps={eps}, rtol={rtol}, atol={atol}; "
            f"{_describe(args)}):\n{e}"
        ) from None
