"""Tests for rlax_core huber_loss and clip_gradient."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_huber_loss_values_and_threshold():
    x = jnp.array([-3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 2.0])
    d = 1.5
    ax = np.abs(np.asarray(x))
    expected = np.where(ax <= d, 0.5 * ax**2, 0.5 * d**2 + d * (ax - d))
    np.testing.assert_allclose(rlax.huber_loss(x, d), expected, rtol=1e-6)
    g = jax.vmap(jax.grad(lambda x: rlax.huber_loss(x, d)))(x)
    np.testing.assert_allclose(g, np.clip(np.asarray(x), -d, d), rtol=1e-6)
    with pytest.raises(TypeError, match=r"huber_loss: `x` must have a float dtype"):
        rlax.huber_loss(jnp.ones(2, jnp.int32))


def test_clip_gradient():
    x = jnp.array([0.5, -2.0, 3.0])

    def loss(x):
        return jnp.sum(jnp.array([3.0, -4.0, 0.5]) * rlax.clip_gradient(x, -1.0, 2.0))

    np.testing.assert_array_equal(rlax.clip_gradient(x, -1.0, 2.0), x)
    np.testing.assert_allclose(jax.grad(loss)(x), [2.0, -1.0, 0.5])
    np.testing.assert_allclose(jax.jit(jax.grad(loss))(x), [2.0, -1.0, 0.5])
