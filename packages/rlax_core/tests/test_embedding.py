"""Tests for rlax_core.embed_oar."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_embed_oar_layout():
    feats = jnp.arange(6.0).reshape(2, 3)
    out = jax.jit(rlax.embed_oar, static_argnums=3)(
        feats, jnp.array([0, 2]), jnp.array([0.5, -3.0]), 4
    )
    expected = np.array(
        [[0, 1, 2, 1, 0, 0, 0, np.tanh(0.5)], [3, 4, 5, 0, 0, 1, 0, np.tanh(-3.0)]], np.float32
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_embed_oar_errors():
    with pytest.raises(ValueError, match=r"embed_oar.*`features`.*rank 2"):
        rlax.embed_oar(jnp.ones(3), jnp.asarray(1), jnp.asarray(0.0), 4)
    with pytest.raises(ValueError, match=r"embed_oar.*`reward`"):
        rlax.embed_oar(jnp.ones((2, 3)), jnp.array([0, 1]), jnp.zeros(3), 4)


def test_embed_oar_promotes_dtypes_like_concatenation():
    # Integer features: the one-hot and tanh(reward) columns are float32, so the result is
    # float32 and the reward is squashed as a float (tanh(0.5), not tanh(0)).
    out = rlax.embed_oar(np.ones((2, 3), np.int32), np.array([0, 1]), np.array([0.5, -1.0]), 3)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out[:, -1], np.tanh([0.5, -1.0]), rtol=1e-6)
    # bfloat16 features with float32 rewards: promoted to float32 (reward not rounded).
    out = rlax.embed_oar(
        jnp.ones((2, 3), jnp.bfloat16), np.array([0, 1]), np.array([0.5, -1.0], np.float32), 3
    )
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out[:, -1], np.tanh([0.5, -1.0]), rtol=1e-6)


def test_embed_oar_error_types():
    # Rank errors are AssertionErrors (and ValueErrors); batch mismatches TypeErrors.
    with pytest.raises(AssertionError, match=r"embed_oar.*`features`"):
        rlax.embed_oar(np.ones(3, np.float32), np.array([0, 1, 1]), np.array([1.0, 0.0]), 3)
    with pytest.raises(TypeError, match=r"embed_oar.*`action`"):
        rlax.embed_oar(np.ones((2, 3), np.float32), np.array([0, 1, 1]), np.array([1.0, 0.0]), 3)
