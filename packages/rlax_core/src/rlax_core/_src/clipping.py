"""Clipping: the Huber loss and a gradient-clipping identity.

References:
  Huber (1964), Robust Estimation of a Location Parameter, Annals of Mathematical Statistics 35(1).
  Mnih et al. (2015), Human-level control through deep reinforcement learning, Nature 518
  (error clipping to [-1, 1], equivalent to the Huber loss with delta = 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks

__all__ = ["clip_gradient", "huber_loss"]


def huber_loss(x: ArrayLike, delta: float = 1.0) -> jax.Array:
    """Elementwise Huber loss: quadratic within ``[-delta, delta]``, linear outside.

    ``0.5 * x**2`` if ``|x| <= delta`` else ``0.5 * delta**2 + delta * (|x| - delta)``.
    Its gradient is ``x`` clipped to ``[-delta, delta]``.

    Args:
      x: float array of any shape (typically TD errors).
      delta: positive threshold between the quadratic and the linear regimes.

    Returns:
      Array of ``x``'s shape with the elementwise loss.

    Raises:
      TypeError: if ``x`` is not floating point.

    References:
      Huber (1964), Robust Estimation of a Location Parameter, Ann. Math. Statist. 35(1).

    Examples:
      >>> huber_loss(jnp.array([0.5, 3.0])).tolist()
      [0.125, 2.5]
    """
    checks.check_type("rlax_core.huber_loss", x=(x, "float"))
    abs_x = jnp.abs(x)
    quadratic = jnp.minimum(abs_x, delta)
    linear = abs_x - quadratic
    return 0.5 * quadratic**2 + delta * linear


_R = TypeVar("_R")


def _custom_vjp(fun: Callable[..., _R]) -> jax.custom_vjp[_R]:
    """``jax.custom_vjp`` with its return type spelled out for type checkers."""
    return cast("jax.custom_vjp[_R]", jax.custom_vjp(fun))


@_custom_vjp
def clip_gradient(x: ArrayLike, gradient_min: float, gradient_max: float) -> jax.Array:
    """Identity in the forward pass; clips the incoming gradient in the backward pass.

    ``clip_gradient(x, lo, hi)`` returns ``x``; the cotangent flowing back to ``x`` is
    ``clip(g, lo, hi)``. No gradient flows to ``gradient_min`` / ``gradient_max``.

    Args:
      x: array of any shape.
      gradient_min: lower bound for the gradient.
      gradient_max: upper bound for the gradient.

    Returns:
      ``x`` unchanged.

    Examples:
      >>> jax.grad(lambda x: 3.0 * clip_gradient(x, -1.0, 1.0))(2.0).item()
      1.0
    """
    return jnp.asarray(x)


def _clip_gradient_fwd(x, gradient_min, gradient_max):
    return jnp.asarray(x), (gradient_min, gradient_max)


def _clip_gradient_bwd(res, g):
    gradient_min, gradient_max = res
    return (jnp.clip(g, gradient_min, gradient_max), 0.0, 0.0)


clip_gradient.defvjp(_clip_gradient_fwd, _clip_gradient_bwd)
