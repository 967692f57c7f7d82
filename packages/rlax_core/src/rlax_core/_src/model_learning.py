"""Helpers for model learning: sampling and extracting sub-trajectories."""

from __future__ import annotations

from typing import Any

import jax
import jax.core as jax_core
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rlax_core._src.tree_util import ShapeAssertionError, ShapeIndexError


def extract_subsequences(
    trajectories: ArrayLike,
    start_indices: ArrayLike,
    subsequence_len: int = 1,
    max_valid_start_idx: int | None = None,
) -> Any:
    """Gathers fixed-length windows from a time-major batch of trajectories.

    ``out[l, b, k] = trajectories[start_indices[b, k] + l, b]`` for ``b < B'`` where
    ``B' = start_indices.shape[0]`` (at most ``B``; the first ``B'`` trajectories are used).

    Indexing follows the type of ``trajectories``: a NumPy array (with concrete start
    indices) is indexed by NumPy, so the result is a NumPy array of the same dtype and an
    out-of-range time index raises ``IndexError``; a JAX array is indexed by JAX, where
    out-of-range indices are clamped. Pass ``max_valid_start_idx`` to have the window
    bounds checked up front.

    Args:
      trajectories: [T, B, ...] time-major trajectories.
      start_indices: [B', K] integer start times (windows may overlap).
      subsequence_len: L, a static window length.
      max_valid_start_idx: optional largest start index the caller may use; if given,
        ``T >= max_valid_start_idx + subsequence_len`` is required.

    Returns:
      [L, B', K, ...] windows.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if
        ``T < max_valid_start_idx + subsequence_len``.
      ShapeIndexError: (a ``ValueError``/``IndexError``) if ``start_indices`` is not rank 2
        or ``trajectories`` has rank < 2.

    Examples:
      >>> print(extract_subsequences(jnp.arange(5.0)[:, None], jnp.array([[1]]), 3)[:, 0, 0])
      [1. 2. 3.]
    """
    fn = "rlax_core.extract_subsequences"
    traj_len = np.shape(trajectories)[0] if np.ndim(trajectories) else 0
    if max_valid_start_idx is not None:
        needed = max_valid_start_idx + subsequence_len
        if traj_len < needed:
            raise ShapeAssertionError(
                f"{fn}: `trajectories` must have length >= max_valid_start_idx + "
                f"subsequence_len = {max_valid_start_idx} + {subsequence_len} = {needed}, "
                f"got length {traj_len} (shape {np.shape(trajectories)})."
            )
    if np.ndim(start_indices) != 2:
        raise ShapeIndexError(
            f"{fn}: `start_indices` must have rank 2 ([B, K]), got shape {np.shape(start_indices)}."
        )
    if np.ndim(trajectories) < 2:
        raise ShapeIndexError(
            f"{fn}: `trajectories` must have rank >= 2 ([T, B, ...]), got shape "
            f"{np.shape(trajectories)}."
        )
    starts = jnp.asarray(start_indices)
    batch = starts.shape[0]
    time_idx = jnp.arange(subsequence_len, dtype=jnp.int32)[:, None, None] + starts[None]
    batch_idx = jnp.arange(batch)[None, :, None]  # [1, B', 1]
    if isinstance(trajectories, np.ndarray) and not isinstance(time_idx, jax_core.Tracer):
        return trajectories[np.asarray(time_idx), np.asarray(batch_idx)]
    return jnp.asarray(trajectories)[time_idx, batch_idx]


def sample_start_indices(
    rng_key: ArrayLike, batch_size: int, num_start_indices: int, max_valid_start_idx: int
) -> jax.Array:
    """Samples distinct start indices in ``[0, max_valid_start_idx]`` per batch element.

    Args:
      rng_key: PRNG key (split into one key per batch element).
      batch_size: B.
      num_start_indices: K <= ``max_valid_start_idx + 1``.
      max_valid_start_idx: largest index that may be drawn (inclusive).

    Returns:
      [B, K] integer indices, without replacement within each row.

    Raises:
      ValueError: if ``num_start_indices > max_valid_start_idx + 1``.

    Examples:
      >>> print(sample_start_indices(jax.random.PRNGKey(0), 2, 3, 2).shape)
      (2, 3)
    """
    if num_start_indices > max_valid_start_idx + 1:
        raise ValueError(
            "rlax_core.sample_start_indices: `num_start_indices` "
            f"({num_start_indices}) must be <= `max_valid_start_idx` + 1 "
            f"({max_valid_start_idx + 1}) to sample without replacement."
        )
    keys = jax.random.split(rng_key, batch_size)

    def one(key: jax.Array) -> jax.Array:
        return jax.random.choice(
            key, max_valid_start_idx + 1, shape=(num_start_indices,), replace=False
        )

    return jax.vmap(one)(keys)
