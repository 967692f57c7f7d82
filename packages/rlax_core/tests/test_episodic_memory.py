"""Tests for rlax_core.knn_query."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_knn_query_matches_numpy_sort(np_rng):
    data = np_rng.normal(size=(9, 3)).astype(np.float32)
    query = np_rng.normal(size=(4, 3)).astype(np.float32)
    out = rlax.knn_query(data, query, 3)
    for q in range(4):
        d = ((data - query[q]) ** 2).sum(-1)
        order = np.argsort(d)[:3]
        np.testing.assert_array_equal(out.neighbor_indices[q], order)
        np.testing.assert_allclose(out.neighbor_neg_distances[q], -d[order], rtol=1e-5)
        np.testing.assert_allclose(out.neighbors[q], data[order])
    assert out.neighbors.shape == (4, 3, 3)
    jitted = jax.jit(rlax.knn_query, static_argnums=2)(data, query, 3)
    np.testing.assert_array_equal(jitted.neighbor_indices, out.neighbor_indices)


def test_knn_query_custom_metric_and_k_larger_than_memory():
    data = jnp.array([[0.0, 0.0], [3.0, 0.0], [0.0, 1.0]])
    query = jnp.array([[0.0, 0.0]])
    l1 = lambda x, y: jnp.sum(jnp.abs(x - y), axis=-1)
    out = rlax.knn_query(data, query, 10, l1)
    np.testing.assert_array_equal(out.neighbor_indices, [[0, 2, 1]])
    np.testing.assert_allclose(out.neighbor_neg_distances, [[0.0, -1.0, -3.0]])


def test_knn_query_result_is_a_pytree_and_mapping():
    out = rlax.knn_query(jnp.zeros((2, 1)), jnp.zeros((1, 1)), 1)
    assert len(jax.tree.leaves(out)) == 3
    assert set(out.keys()) == {"neighbors", "neighbor_indices", "neighbor_neg_distances"}
    assert out["neighbor_indices"].shape == (1, 1)


def test_knn_query_errors():
    with pytest.raises(ValueError, match=r"knn_query.*`query_points`.*rank 2"):
        rlax.knn_query(jnp.zeros((3, 2)), jnp.zeros(2), 1)
    with pytest.raises(ValueError, match=r"knn_query.*`query_points`.*features"):
        rlax.knn_query(jnp.zeros((3, 2)), jnp.zeros((1, 3)), 1)


def test_knn_query_empty_inputs():
    # 1-D empty arrays are rank errors: AssertionError (and ValueError).
    for err in (AssertionError, ValueError):
        with pytest.raises(err, match=r"knn_query.*`data`.*rank 2"):
            rlax.knn_query(np.array([]), np.array([]), num_neighbors=2)
    # An empty [0, D] memory gives [Q, 0] results.
    out = rlax.knn_query(np.zeros((0, 2)), np.zeros((1, 2)), 2)
    assert out.neighbors.shape == (1, 0, 2) and out.neighbor_indices.shape == (1, 0)
    assert out.neighbor_neg_distances.shape == (1, 0)
    with pytest.raises(AssertionError, match=r"knn_query.*features"):
        rlax.knn_query(np.zeros((3, 2)), np.zeros((1, 3)), 2)
