"""Tests for rlax_core exploration noise and NGU episodic novelty rewards."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax


def test_add_gaussian_noise_uses_one_normal_draw(key):
    action = jnp.array([0.5, -0.2, 1.0])
    out = check_variants(lambda k, a: rlax.add_gaussian_noise(k, a, 0.3), key, action)
    np.testing.assert_allclose(out, action + 0.3 * jax.random.normal(key, (3,)), rtol=1e-6)
    np.testing.assert_allclose(rlax.add_gaussian_noise(key, action, 0.0), action)


def test_add_gaussian_noise_statistics(key):
    out = rlax.add_gaussian_noise(key, jnp.zeros(20000), 0.5)
    assert abs(float(out.mean())) < 0.02
    assert abs(float(out.std()) - 0.5) < 0.02


def test_ornstein_uhlenbeck_recurrence(key):
    action, noise = jnp.array([0.5, -0.2]), jnp.array([0.1, 0.2])
    out = rlax.add_ornstein_uhlenbeck_noise(key, action, noise, 0.15, 0.3)
    z = np.asarray(jax.random.normal(key, (2,)))
    np.testing.assert_allclose(
        out, np.asarray(action) + 0.85 * np.asarray(noise) + 0.3 * z, rtol=1e-6
    )
    # Zero stddev and full damping: no noise at all.
    np.testing.assert_allclose(
        rlax.add_ornstein_uhlenbeck_noise(key, action, noise, 1.0, 0.0), action
    )
    keys = jax.random.split(key, 3)
    batched = jax.vmap(rlax.add_ornstein_uhlenbeck_noise, in_axes=(0, 0, 0, None, None))(
        keys, jnp.stack([action] * 3), jnp.stack([noise] * 3), 0.15, 0.3
    )
    assert batched.shape == (3, 2)
    with pytest.raises(ValueError, match=r"add_ornstein_uhlenbeck_noise.*`action`.*rank 1"):
        rlax.add_ornstein_uhlenbeck_noise(key, action[None], noise[None], 0.1, 0.1)
    with pytest.raises(ValueError, match=r"add_ornstein_uhlenbeck_noise.*`noise_tm1`"):
        rlax.add_ornstein_uhlenbeck_noise(key, action, jnp.zeros(3), 0.1, 0.1)


@pytest.mark.parametrize("fraction", [0.0, 0.25, 1.0])
def test_add_dirichlet_noise_mixture(key, fraction):
    prior = jax.nn.softmax(jnp.array([[1.0, 0.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0]]))
    out = rlax.add_dirichlet_noise(key, prior, 0.3, fraction)
    noise = jax.random.dirichlet(key, jnp.full((4,), 0.3), shape=(2,))
    np.testing.assert_allclose(out, fraction * noise + (1 - fraction) * prior, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.sum(-1), np.ones(2), rtol=1e-5)
    assert np.all(np.asarray(out) >= 0)


def test_add_dirichlet_noise_rank_error(key):
    with pytest.raises(ValueError, match=r"add_dirichlet_noise.*`prior`.*rank 2"):
        rlax.add_dirichlet_noise(key, jnp.ones(3) / 3, 0.3, 0.25)


def _np_ngu(embeddings, memory, k, scale, dsum, dcount, c=0.001, eps=1e-4, xi=0.008, smax=8.0):
    """Plain-loop reference of one NGU step (memory queried before the writes)."""
    neg = []
    for e in embeddings:
        d = np.sort(((memory - e) ** 2).sum(-1))[:k]
        neg.append(-d)
    neg = np.array(neg)
    dsum, dcount = dsum + neg.sum(), dcount + neg.size
    rewards = []
    for row in neg:
        dn = np.maximum(row / (dsum / dcount + c) - xi, 0.0)
        s = np.sqrt((eps / (dn + eps)).sum()) + c
        rewards.append(0.0 if s > smax else scale / s)
    return np.array(rewards), dsum, dcount


def test_episodic_memory_intrinsic_rewards_matches_loop(np_rng):
    size, dim, k = 6, 2, 2
    state = None
    np_memory = np.zeros((size, dim))  # an empty memory is queried as zeros
    dsum = dcount = 0.0
    for step in range(3):
        emb = np_rng.normal(size=(4, dim)).astype(np.float32)
        rewards, state = rlax.episodic_memory_intrinsic_rewards(
            emb, k, 2.0, state, max_memory_size=size
        )
        expected, dsum, dcount = _np_ngu(emb, np_memory, k, 2.0, dsum, dcount)
        np.testing.assert_allclose(rewards, expected, rtol=1e-4)
        if step == 0:
            np_memory = np.full((size, dim), np.inf)
        for i, e in enumerate(emb):
            np_memory[(4 * step + i) % size] = e
        np.testing.assert_allclose(state.memory, np_memory)
        assert int(state.next_memory_index) == (4 * step) % size + 4
        np.testing.assert_allclose(state.distance_sum, dsum, rtol=1e-5)


def test_episodic_memory_intrinsic_rewards_jit_and_max_similarity():
    emb = jnp.array([[1.0, 0.0], [0.0, 0.0], [0.0, 3.0]])
    init = rlax._src.exploration.IntrinsicRewardState(memory=jnp.zeros((5, 2)))
    fn = jax.jit(rlax.episodic_memory_intrinsic_rewards, static_argnums=(1,))
    rewards, state = fn(emb, 1, 1.0, init)
    assert int(state.next_memory_index) == 3 and int(state.distance_count) == 3
    eager, _ = rlax.episodic_memory_intrinsic_rewards(emb, 1, 1.0, init)
    np.testing.assert_allclose(rewards, eager, rtol=1e-5)
    # The embedding at the origin is identical to the (zero) memory: similarity 1 + c.
    np.testing.assert_allclose(rewards[1], 1.0 / 1.001, rtol=1e-5)
    capped, _ = rlax.episodic_memory_intrinsic_rewards(emb, 1, 1.0, init, max_similarity=0.5)
    assert capped[1] == 0.0
    with pytest.raises(ValueError, match=r"episodic_memory_intrinsic_rewards.*`embeddings`"):
        rlax.episodic_memory_intrinsic_rewards(emb[0], 1, 1.0)
