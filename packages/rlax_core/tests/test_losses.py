"""Tests for rlax_core elementwise losses and the pixel-control loss."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_l2_loss():
    np.testing.assert_allclose(
        rlax.l2_loss(jnp.array([2.0, -1.0]), jnp.array([1.0, 1.0])), [0.5, 2.0]
    )
    np.testing.assert_allclose(rlax.l2_loss(jnp.array([2.0])), [2.0])
    g = jax.grad(lambda p: jnp.sum(rlax.l2_loss(p, jnp.array([1.0]))))(jnp.array([3.0]))
    np.testing.assert_allclose(g, [2.0])
    # Inputs broadcast like NumPy (as upstream does): [3] against [3, 1] gives [3, 3].
    np.testing.assert_allclose(
        rlax.l2_loss(jnp.array([1.0, 2.0, 3.0]), jnp.zeros((3, 1))),
        0.5 * np.broadcast_to(np.array([1.0, 4.0, 9.0]), (3, 3)),
    )
    with pytest.raises(ValueError, match=r"l2_loss: shapes do not broadcast.*`targets` \(4,\)"):
        rlax.l2_loss(jnp.ones(3), jnp.ones(4))
    with pytest.raises(TypeError, match=r"l2_loss: `predictions` must have a float dtype"):
        rlax.l2_loss(jnp.ones(3, jnp.int32))


def test_likelihood_and_log_loss():
    p = jnp.array([0.3, 0.9, 0.0, 1.0, 0.3])
    t = jnp.array([1.0, 0.0, 0.0, 1.0, 0.5])
    np.testing.assert_allclose(
        rlax.likelihood(p, t), [0.3, 0.1, 1.0, 1.0, np.sqrt(0.21)], rtol=1e-6
    )
    expected = -np.log([0.3, 0.1, 1.0, 1.0, np.sqrt(0.21)])
    np.testing.assert_allclose(rlax.log_loss(p, t), expected, rtol=1e-6, atol=1e-7)
    g = jax.grad(lambda p: jnp.sum(rlax.log_loss(p, jnp.array([1.0]))))(jnp.array([0.25]))
    np.testing.assert_allclose(g, [-4.0], rtol=1e-6)


def test_expectile_loss():
    out = rlax.expectile_loss(jnp.array([1.0, 1.0, 1.0]), jnp.array([3.0, 0.0, 1.0]), 0.8)
    np.testing.assert_allclose(out, [0.8 * 4, 0.2 * 1, 0.0], rtol=1e-6)
    np.testing.assert_allclose(
        rlax.expectile_loss(jnp.array([0.0, 0.0]), jnp.array([2.0, -2.0]), 0.5), [2.0, 2.0]
    )


def np_pixel_control(obs, actions, q, gamma, cell):
    t1, h, w, c = obs.shape
    t = t1 - 1
    diff = np.abs(obs[1:] - obs[:-1])
    rew = diff.reshape(t, h // cell, cell, w // cell, cell, c).mean(axis=(2, 4, 5))
    out = np.zeros((t, h // cell, w // cell))
    for i in range(h // cell):
        for j in range(w // cell):
            g = q[-1, i, j].max()
            for s in reversed(range(t)):
                g = rew[s, i, j] + gamma * g
                out[s, i, j] = 0.5 * (g - q[s, i, j, actions[s]]) ** 2
    return out


def test_pixel_control_loss_matches_numpy(np_rng):
    obs = np_rng.normal(size=(4, 4, 6, 2)).astype(np.float32)
    q = np_rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    actions = np.array([0, 2, 1], np.int32)
    out = rlax.pixel_control_loss(obs, actions, q, 0.9, 2)
    assert out.shape == (3, 2, 3)
    np.testing.assert_allclose(out, np_pixel_control(obs, actions, q, 0.9, 2), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"must be divisible by `cell_size`"):
        rlax.pixel_control_loss(obs, actions, q, 0.9, 4)
