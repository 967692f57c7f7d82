"""Conditional and periodic pytree updates (e.g. target-network refreshes)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def conditional_update(new_tensors: Any, old_tensors: Any, is_time: ArrayLike):
    """Returns ``new_tensors`` where ``is_time`` is true, else ``old_tensors`` (leaf-wise).

    Args:
      new_tensors: pytree of candidate values.
      old_tensors: pytree with the same structure.
      is_time: [] boolean (traced values allowed).

    Returns:
      A pytree with the structure of ``new_tensors``.

    Raises:
      ValueError: if ``is_time`` is not a scalar.

    Examples:
      >>> print(conditional_update(jnp.ones(2), jnp.zeros(2), True))
      [1. 1.]
    """
    if jnp.ndim(is_time) != 0:
        raise ValueError(
            "rlax_core.conditional_update: `is_time` must have rank 0, "
            f"got shape {jnp.shape(is_time)}."
        )
    return jax.tree.map(lambda new, old: jnp.where(is_time, new, old), new_tensors, old_tensors)


def periodic_update(new_tensors: Any, old_tensors: Any, steps: ArrayLike, update_period: int):
    """Returns ``new_tensors`` every ``update_period`` steps (``steps % period == 0``).

    Args:
      new_tensors: pytree of candidate values (e.g. online network params).
      old_tensors: pytree with the same structure (e.g. target network params).
      steps: [] integer step counter.
      update_period: period in steps.

    Returns:
      A pytree with the structure of ``new_tensors``.

    References:
      Mnih et al. (2015), Human-level control through deep reinforcement learning, Nature 518.

    Examples:
      >>> print(periodic_update(jnp.ones(1), jnp.zeros(1), jnp.array(6), 3))
      [1.]
    """
    return conditional_update(new_tensors, old_tensors, jnp.mod(steps, update_period) == 0)
