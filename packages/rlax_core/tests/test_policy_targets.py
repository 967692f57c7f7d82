"""Tests for rlax_core sampled policy targets (duck-typed distributions)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import rlax_core as rlax


class _Normal:
    """A tiny diagonal normal with the distribution interface the functions need."""

    def __init__(self, loc, scale):
        self.loc, self.scale = jnp.asarray(loc), jnp.asarray(scale)
        self.batch_shape = self.loc.shape

    def sample(self, seed, sample_shape=()):
        shape = (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)
        z = jax.random.normal(seed, shape + self.loc.shape)
        return jnp.broadcast_to(self.loc, z.shape) + jnp.broadcast_to(self.scale, z.shape) * z

    def log_prob(self, x):
        loc, scale = jnp.broadcast_to(self.loc, x.shape), jnp.broadcast_to(self.scale, x.shape)
        z = (x - loc) / scale
        return -0.5 * z**2 - jnp.log(scale) - 0.5 * jnp.log(2 * jnp.pi)


def test_constant_and_zero_policy_targets(key):
    d = _Normal(jnp.zeros(2), jnp.ones(2))
    pt = rlax.constant_policy_targets(d, key, 4, 0.5)
    assert pt.actions.shape == (4, 2) and pt.weights.shape == (4, 2)
    np.testing.assert_allclose(pt.weights, np.full((4, 2), 0.5))
    np.testing.assert_allclose(pt.actions, jax.random.normal(key, (4, 2)))
    zero = rlax.zero_policy_targets(d, key, 3)
    np.testing.assert_array_equal(zero.weights, np.zeros((3, 2)))
    assert isinstance(pt, rlax.PolicyTarget) and len(jax.tree.leaves(pt)) == 2
    try:
        pt.weights = None
        raise AssertionError("PolicyTarget must be frozen")
    except dataclasses.FrozenInstanceError:
        pass


def test_sampled_policy_distillation_loss_and_gradients(key):
    target = rlax.PolicyTarget(
        actions=jnp.array([[0.5, -1.0], [1.0, 2.0]]), weights=jnp.array([[1.0, 0.5], [0.0, 2.0]])
    )
    loc = jnp.array([0.1, 0.3])

    def loss(loc, target):
        return rlax.sampled_policy_distillation_loss(_Normal(loc, jnp.ones(2)), target)

    a, w = np.asarray(target.actions), np.asarray(target.weights)
    logp = -0.5 * (a - np.asarray(loc)[None]) ** 2 - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(jax.jit(loss)(loc, target), -np.mean(w * logp), rtol=1e-6)
    g_loc, g_target = jax.grad(loss, argnums=(0, 1))(loc, target)
    np.testing.assert_allclose(g_loc, -(w * (a - np.asarray(loc)[None])).sum(0) / 4, rtol=1e-5)
    np.testing.assert_array_equal(g_target.weights, np.zeros((2, 2)))
    unstopped = jax.grad(
        lambda t: rlax.sampled_policy_distillation_loss(_Normal(loc, jnp.ones(2)), t, False)
    )(target)
    np.testing.assert_allclose(unstopped.weights, -logp / 4, rtol=1e-5)
