"""Tests for rlax_core pixel- and feature-control pseudo-rewards."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_pixel_control_rewards_matches_loop(np_rng):
    obs = np_rng.uniform(size=(3, 4, 6, 2)).astype(np.float32)
    out = jax.jit(rlax.pixel_control_rewards, static_argnums=1)(obs, 2)
    assert out.shape == (2, 2, 3)
    for t in range(2):
        for i in range(2):
            for j in range(3):
                cell = np.abs(obs[t + 1] - obs[t])[2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
                np.testing.assert_allclose(out[t, i, j], cell.mean(), rtol=1e-5)


def test_pixel_control_rewards_errors():
    with pytest.raises(ValueError, match=r"pixel_control_rewards.*`cell_size`"):
        rlax.pixel_control_rewards(jnp.zeros((2, 4, 6, 1)), 4)
    with pytest.raises(ValueError, match=r"pixel_control_rewards.*`observations`.*rank 4"):
        rlax.pixel_control_rewards(jnp.zeros((2, 4, 6)), 2)


def test_feature_control_rewards_types():
    f = jnp.array([[1.0, -1.0], [3.0, -2.0], [2.0, 0.0]])
    diff = np.array([[2.0, -1.0], [-1.0, 2.0]])
    np.testing.assert_allclose(rlax.feature_control_rewards(f, "feature"), f[1:])
    np.testing.assert_allclose(rlax.feature_control_rewards(f), np.abs(diff))
    np.testing.assert_allclose(rlax.feature_control_rewards(f, "increase"), diff)
    np.testing.assert_allclose(rlax.feature_control_rewards(f, "decrease"), -diff)
    np.testing.assert_allclose(
        rlax.feature_control_rewards(f, "potential", discount=0.5),
        0.5 * np.asarray(f[1:]) - np.asarray(f[:-1]),
    )
    with pytest.raises(ValueError, match=r"feature_control_rewards.*discount"):
        rlax.feature_control_rewards(f, "potential")
    with pytest.raises(ValueError, match=r"Unknown cumulant_type 'bogus'"):
        rlax.feature_control_rewards(f, "bogus")
