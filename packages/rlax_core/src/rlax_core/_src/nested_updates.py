"""Conditional and periodic pytree updates (e.g. target-network refreshes)."""

from __future__ import annotations

import warnings
from typing import Any, cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def conditional_update(new_tensors: Any, old_tensors: Any, is_time: ArrayLike) -> Any:
    """Returns ``new_tensors`` where ``is_time`` is true, else ``old_tensors`` (leaf-wise).

    Each pair of leaves is combined with ``jax.lax.select(is_time, new, old)``.

    Args:
      new_tensors: pytree of candidate values.
      old_tensors: pytree with the same structure; every leaf has the shape and dtype of
        the matching ``new_tensors`` leaf.
      is_time: boolean predicate (traced values allowed): [] to pick whole leaves, or an
        array of a leaf's shape to pick element-wise.

    Returns:
      A pytree with the structure of ``new_tensors``.

    Warns:
      PendingDeprecationWarning: on every call, as rlax does (optax has the same updates).

    Raises:
      ValueError: if the two trees differ in structure.
      TypeError: if a pair of leaves differ in shape or dtype, or ``is_time`` does not fit
        a leaf's shape.

    Examples:
      >>> print(conditional_update(jnp.ones(2), jnp.zeros(2), True))
      [1. 1.]
    """

    warnings.warn(
        "rlax_core.conditional_update is pending deprecation, as in rlax; optax offers the "
        "same target-network updates (optax.periodic_update, optax.incremental_update).",
        PendingDeprecationWarning,
        stacklevel=2,
    )

    def select(new: Any, old: Any) -> jax.Array:
        try:
            return jax.lax.select(is_time, new, old)
        except TypeError as e:
            raise TypeError(
                f"rlax_core.conditional_update: cannot select between a new leaf of shape "
                f"{jnp.shape(new)} / dtype {jnp.result_type(new)} and an old leaf of shape "
                f"{jnp.shape(old)} / dtype {jnp.result_type(old)} with `is_time` of shape "
                f"{jnp.shape(is_time)} (leaves must match in shape and dtype; `is_time` must "
                f"be a scalar or of the leaf's shape): {e}"
            ) from None

    return jax.tree.map(select, new_tensors, old_tensors)


def periodic_update(
    new_tensors: Any, old_tensors: Any, steps: ArrayLike, update_period: int
) -> Any:
    """Returns ``new_tensors`` every ``update_period`` steps (``steps % period == 0``).

    Args:
      new_tensors: pytree of candidate values (e.g. online network params).
      old_tensors: pytree with the same structure (e.g. target network params).
      steps: integer step counter: [] (or an array of a leaf's shape, element-wise).
      update_period: period in steps.

    Returns:
      A pytree with the structure of ``new_tensors``.

    Warns:
      PendingDeprecationWarning: on every call (and again from ``conditional_update``), as
      rlax does.

    References:
      Mnih et al. (2015), Human-level control through deep reinforcement learning, Nature 518.

    Examples:
      >>> print(periodic_update(jnp.ones(1), jnp.zeros(1), jnp.array(6), 3))
      [1.]
    """
    warnings.warn(
        "rlax_core.periodic_update is pending deprecation, as in rlax; use "
        "optax.periodic_update instead.",
        PendingDeprecationWarning,
        stacklevel=2,
    )
    return conditional_update(new_tensors, old_tensors, cast(Any, steps) % update_period == 0)
