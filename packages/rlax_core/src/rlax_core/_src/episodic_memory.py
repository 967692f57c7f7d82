"""k-nearest-neighbour lookups in an episodic memory (used by NGU-style novelty)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks
from rlax_core._src.tree_util import (
    MappingMixin,
    ShapeAssertionError,
    checks_raise_assertion_errors,
    mappable_dataclass,
)


@mappable_dataclass
class KNNQueryResult(MappingMixin):
    """Result of ``knn_query``.

    Attributes:
      neighbors: [Q, K, D] the K nearest memory rows of every query point.
      neighbor_indices: [Q, K] their row indices in ``data``.
      neighbor_neg_distances: [Q, K] negated distances (largest first).
    """

    neighbors: jax.Array
    neighbor_indices: jax.Array
    neighbor_neg_distances: jax.Array


def _sqeuclidian(x: ArrayLike, y: ArrayLike) -> jax.Array:
    """Squared Euclidean distance between two vectors ``[D]`` (summed over the last axis)."""
    return jnp.sum(jnp.square(jnp.asarray(x) - jnp.asarray(y)), axis=-1)


def knn_query(
    data: ArrayLike,
    query_points: ArrayLike,
    num_neighbors: int,
    metric: Callable[[ArrayLike, ArrayLike], ArrayLike] = _sqeuclidian,
) -> KNNQueryResult:
    """Finds the ``num_neighbors`` nearest rows of ``data`` for every query point.

    Brute force: evaluates ``metric`` for every (query, row) pair and keeps the
    ``min(num_neighbors, N)`` smallest distances with ``jax.lax.top_k``.

    Args:
      data: [N, D] memory rows.
      query_points: [Q, D] query points.
      num_neighbors: K, a static Python int.
      metric: distance ``metric(x [D], y [D]) -> []``; squared Euclidean by default.

    Returns:
      ``KNNQueryResult(neighbors [Q, K, D], neighbor_indices [Q, K],
      neighbor_neg_distances [Q, K])``, nearest first.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) on rank or feature-size
        mismatches (e.g. an empty 1-D ``data``).

    Examples:
      >>> print(knn_query(jnp.array([[0.0], [2.0], [5.0]]), jnp.array([[1.8]]), 2).neighbor_indices)
      [[1 0]]
    """
    fn = "rlax_core.knn_query"
    with checks_raise_assertion_errors():
        checks.check_rank(fn, data=(data, 2), query_points=(query_points, 2))
    data = jnp.asarray(data)
    query_points = jnp.asarray(query_points)
    if data.shape[1] != query_points.shape[1]:
        raise ShapeAssertionError(
            f"{fn}: `query_points` must have {data.shape[1]} features like `data`, "
            f"got shape {query_points.shape} vs data {data.shape}."
        )
    pairwise = jax.vmap(jax.vmap(metric, in_axes=(None, 0)), in_axes=(0, None))
    neg_distances = -jnp.asarray(pairwise(query_points, data))
    k = min(int(num_neighbors), data.shape[0])
    values, indices = jax.lax.top_k(neg_distances, k)
    return KNNQueryResult(
        neighbors=data[indices],
        neighbor_indices=indices,
        neighbor_neg_distances=values,
    )
