"""Helpers for model learning: sampling and extracting sub-trajectories."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks


def extract_subsequences(
    trajectories: ArrayLike,
    start_indices: ArrayLike,
    subsequence_len: int = 1,
    max_valid_start_idx: int | None = None,
) -> jax.Array:
    """Gathers fixed-length windows from a time-major batch of trajectories.

    ``out[l, b, k] = trajectories[start_indices[b, k] + l, b]``.

    Args:
      trajectories: [T, B, ...] time-major trajectories.
      start_indices: [B, K] integer start times (windows may overlap).
      subsequence_len: L, a static window length.
      max_valid_start_idx: accepted for API compatibility; start indices are not checked
        against it (they are traced values). Callers keep ``start + L <= T``.

    Returns:
      [L, B, K, ...] windows.

    Raises:
      ValueError: on rank or batch-size mismatches.

    Examples:
      >>> print(extract_subsequences(jnp.arange(5.0)[:, None], jnp.array([[1]]), 3)[:, 0, 0])
      [1. 2. 3.]
    """
    del max_valid_start_idx
    fn = "rlax_core.extract_subsequences"
    checks.check_rank(fn, start_indices=(start_indices, 2))
    if jnp.ndim(trajectories) < 2:
        raise ValueError(
            f"{fn}: `trajectories` must have rank >= 2 ([T, B, ...]), got shape "
            f"{jnp.shape(trajectories)}."
        )
    trajectories = jnp.asarray(trajectories)
    start_indices = jnp.asarray(start_indices)
    if start_indices.shape[0] != trajectories.shape[1]:
        raise ValueError(
            f"{fn}: `start_indices` must have batch size {trajectories.shape[1]} "
            f"(trajectories {trajectories.shape}), got shape {start_indices.shape}."
        )
    batch = trajectories.shape[1]
    time_idx = start_indices[None, :, :] + jnp.arange(subsequence_len)[:, None, None]  # [L,B,K]
    batch_idx = jnp.arange(batch)[None, :, None]
    return trajectories[time_idx, batch_idx]


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
