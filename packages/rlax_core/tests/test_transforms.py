"""Tests for rlax_core value transforms and the two-hot representation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlax_core as rlax

X = np.array([-100.0, -3.0, -0.5, 0.0, 0.5, 3.0, 100.0], np.float32)


def test_hand_values():
    np.testing.assert_allclose(rlax.signed_logp1(X), np.sign(X) * np.log1p(np.abs(X)), rtol=1e-6)
    np.testing.assert_allclose(
        rlax.signed_expm1(jnp.array([0.0, np.log(3.0)])), [0.0, 2.0], rtol=1e-6
    )
    # h(3) = sqrt(4) - 1 + eps * 3.
    np.testing.assert_allclose(
        rlax.signed_hyperbolic(jnp.array([3.0, -3.0])), [1.003, -1.003], rtol=1e-6
    )
    np.testing.assert_allclose(rlax.sigmoid(jnp.array([0.0])), [0.5])
    np.testing.assert_allclose(rlax.logit(jnp.array([0.5, 0.75])), [0.0, np.log(3.0)], rtol=1e-6)
    np.testing.assert_array_equal(rlax.identity(X), X)
    np.testing.assert_allclose(rlax.power(X, 1.0), X, rtol=1e-6)
    # power(x, 2) = x + x**2 / (2 sqrt 2) for x >= 0 (unit slope at 0).
    np.testing.assert_allclose(
        rlax.power(jnp.array([2.0]), 2.0), [2.0 + 4.0 / (2 * np.sqrt(2))], rtol=1e-6
    )


@pytest.mark.parametrize(
    "fwd,inv",
    [
        ("signed_hyperbolic", "signed_parabolic"),
        ("signed_logp1", "signed_expm1"),
        ("sigmoid", "logit"),
    ],
)
def test_pairs_invert_each_other(fwd, inv):
    x = X if fwd != "sigmoid" else np.clip(X, -10, 10)
    back = getattr(rlax, inv)(getattr(rlax, fwd)(x))
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-4)


_hyp = jax.jit(rlax.signed_hyperbolic)
_par = jax.jit(rlax.signed_parabolic)


@given(st.floats(-1e4, 1e4, width=32), st.sampled_from([1e-3, 1e-2, 0.1]))
def test_signed_parabolic_inverts_hyperbolic(x, eps):
    x = jnp.float32(x)
    np.testing.assert_allclose(_par(_hyp(x, eps), eps), x, rtol=2e-5, atol=1e-4)
    np.testing.assert_allclose(_hyp(_par(x, eps), eps), x, rtol=2e-5, atol=1e-4)


def test_signed_parabolic_is_accurate():
    x = np.array([0.3, 2.0, 7.5, -20.0, 1e4])
    eps = 1e-3
    exact = np.sign(x) * (((np.sqrt(1 + 4 * eps * (eps + 1 + np.abs(x))) - 1) / (2 * eps)) ** 2 - 1)
    np.testing.assert_allclose(rlax.signed_parabolic(jnp.float32(x)), exact, rtol=1e-6)


def test_two_hot_hand_values():
    out = rlax.transform_to_2hot(jnp.array([0.25, 3.0, -9.0, 1.0]), 0.0, 2.0, 5)
    # bins 0, .5, 1, 1.5, 2: 0.25 splits evenly between bins 0 and 1 (up to the 1e-5 guard).
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0, 0, 0], atol=2e-5)
    np.testing.assert_allclose(out[1], [0, 0, 0, 0, 1])  # clipped to max
    np.testing.assert_allclose(out[2], [1, 0, 0, 0, 0])  # clipped to min
    np.testing.assert_allclose(out[3], [0, 0, 1, 0, 0])  # exactly on a bin
    assert out.shape == (4, 5)


def test_two_hot_round_trip_and_shapes(np_rng):
    x = np_rng.uniform(-3, 5, size=(2, 3)).astype(np.float32)
    probs = rlax.transform_to_2hot(x, -3.0, 5.0, 17)
    assert probs.shape == (2, 3, 17)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(rlax.transform_from_2hot(probs, -3.0, 5.0, 17), x, atol=1e-4)


def test_two_hot_errors():
    with pytest.raises(ValueError, match=r"transform_from_2hot: `probs` must have a last axis"):
        rlax.transform_from_2hot(jnp.ones((2, 4)), 0.0, 1.0, 5)
    with pytest.raises(ValueError, match=r"`num_bins` must be a static int >= 1"):
        rlax.transform_to_2hot(jnp.ones(2), 0.0, 1.0, 0)
    with pytest.raises(TypeError, match=r"signed_hyperbolic: `x` must have a float dtype"):
        rlax.signed_hyperbolic(jnp.ones(2, jnp.int32))


def test_grads_and_jit():
    g = jax.grad(lambda x: jnp.sum(rlax.signed_hyperbolic(x)))(jnp.array([1.0, 3.0, -3.0]))
    np.testing.assert_allclose(g, [0.5 / np.sqrt(2.0) + 1e-3, 0.25 + 1e-3, 0.25 + 1e-3], rtol=1e-6)
    np.testing.assert_allclose(
        jax.jit(rlax.signed_parabolic)(X), rlax.signed_parabolic(X), rtol=1e-6
    )
    # d/dx power(x, p) = (1 + |x| / sqrt(p)) ** (p - 1): close to 1 near the origin.
    g = jax.grad(lambda x: jnp.sum(rlax.power(x, 0.5)))(jnp.array([1e-3, 2.0]))
    np.testing.assert_allclose(g, (1 + np.array([1e-3, 2.0]) / np.sqrt(0.5)) ** -0.5, rtol=1e-5)
