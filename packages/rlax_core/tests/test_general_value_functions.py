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


def test_control_rewards_error_types():
    obs = np.zeros((3, 4, 4, 1), np.float32)
    for err in (AssertionError, TypeError):
        with pytest.raises(err, match=r"pixel_control_rewards.*float"):
            rlax.pixel_control_rewards(obs.astype(np.int32), 2)
        with pytest.raises(err, match=r"feature_control_rewards.*float"):
            rlax.feature_control_rewards(np.zeros((3, 2), np.int32), "increase")
    with pytest.raises(AssertionError, match=r"pixel_control_rewards.*rank 4"):
        rlax.pixel_control_rewards(obs[0], 2)
    with pytest.raises(AssertionError, match=r"feature_control_rewards.*rank 2"):
        rlax.feature_control_rewards(np.zeros(3, np.float32), "increase")
    # A cell size that does not divide H, W fails like the reshape it guards (TypeError).
    with pytest.raises(TypeError, match=r"pixel_control_rewards.*`cell_size`"):
        rlax.pixel_control_rewards(obs, 3)
    with pytest.raises(TypeError, match=r"feature_control_rewards.*`discount`"):
        rlax.feature_control_rewards(np.zeros((3, 2), np.float32), "potential")


def test_feature_control_rewards_keeps_numpy_dtype_and_broadcasts_discount():
    f = np.array([[1.0, 2.0], [3.0, 1.0], [0.0, 5.0]])  # float64 NumPy
    inc = rlax.feature_control_rewards(f, "increase")
    assert isinstance(inc, np.ndarray) and inc.dtype == np.float64
    np.testing.assert_array_equal(inc, [[2.0, -1.0], [-3.0, 4.0]])
    # A [D] discount broadcasts over time (explicitly, also for JAX inputs).
    d = np.array([0.5, 1.0])
    expected = d * f[1:] - f[:-1]
    np.testing.assert_allclose(rlax.feature_control_rewards(f, "potential", discount=d), expected)
    out = rlax.feature_control_rewards(jnp.asarray(f, jnp.float32), "potential", jnp.asarray(d))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
