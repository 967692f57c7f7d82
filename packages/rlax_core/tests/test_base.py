"""Tests for rlax_core base utilities."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_one_hot():
    out = rlax.one_hot(jnp.array([0, 2, -1, 3]), 3)
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    assert out.dtype == jnp.float32
    assert rlax.one_hot(jnp.array([1]), 2, dtype=jnp.int32).dtype == jnp.int32


def test_batched_index():
    v = jnp.arange(12.0).reshape(4, 3)
    idx = jnp.array([0, 2, 1, 1])
    np.testing.assert_array_equal(rlax.batched_index(v, idx), [0.0, 5.0, 7.0, 10.0])
    assert rlax.batched_index(v, idx, keepdims=True).shape == (4, 1)
    assert rlax.batched_index(jnp.array([1.0, 2.0]), jnp.array(1)) == 2.0
    g = jax.grad(lambda v: jnp.sum(rlax.batched_index(v, idx)))(v)
    np.testing.assert_array_equal(g, np.eye(3)[np.asarray(idx)])
    with pytest.raises(ValueError, match=r"rlax_core\.batched_index: `values` must have rank"):
        rlax.batched_index(v, jnp.zeros((4, 1), jnp.int32))
    with pytest.raises(ValueError, match=r"leading shape of `values`"):
        rlax.batched_index(v, jnp.zeros(5, jnp.int32))


def test_lhs_broadcast_and_replace_masked():
    assert rlax.lhs_broadcast(jnp.ones(3), jnp.ones((3, 4, 5))).shape == (3, 1, 1)
    assert rlax.lhs_broadcast(jnp.ones(1), jnp.ones((3, 4))).shape == (1, 1)
    with pytest.raises(ValueError, match=r"lhs_broadcast: `source` shape \(2,\)"):
        rlax.lhs_broadcast(jnp.ones(2), jnp.ones((3, 4)))
    data = jnp.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(
        rlax.replace_masked(data, None, jnp.array([1, 0, 1])), [[0, 0], [2, 3], [0, 0]]
    )
    np.testing.assert_array_equal(
        rlax.replace_masked(data, -jnp.ones((3, 2)), jnp.array([False, True, False])),
        [[0, 1], [-1, -1], [4, 5]],
    )


def test_all_sum():
    x = jnp.arange(6.0).reshape(3, 2)
    assert rlax.AllSum()(x) == 15.0
    np.testing.assert_array_equal(rlax.AllSum()(x, axis=0), [6.0, 9.0])
    out = jax.vmap(lambda r: rlax.AllSum("i")(r), axis_name="i")(x)
    np.testing.assert_array_equal(out, [15.0, 15.0, 15.0])
