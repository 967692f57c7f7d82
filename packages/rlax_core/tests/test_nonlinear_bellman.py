"""Tests for rlax_core transformed (non-linear) Bellman operators and TxPairs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax

T, A = 5, 3


def np_lambda_returns(r, d, v, lam):
    out, g = np.zeros(len(r)), v[-1]
    for t in reversed(range(len(r))):
        g = r[t] + d[t] * ((1 - lam) * v[t] + lam * g)
        out[t] = g
    return out


def _traj(rng):
    return (
        rng.normal(size=T).astype(np.float32),
        rng.uniform(size=T).astype(np.float32),
        rng.normal(size=T).astype(np.float32),
    )


PAIRS = ["IDENTITY_PAIR", "SIGNED_LOGP1_PAIR", "SIGNED_HYPERBOLIC_PAIR", "HYPERBOLIC_SIN_PAIR"]


@pytest.mark.parametrize("pair", PAIRS)
def test_pairs_are_inverses(pair):
    tx = getattr(rlax, pair)
    assert isinstance(tx, rlax.TxPair)
    x = jnp.array([-20.0, -1.0, 0.0, 0.3, 7.0])
    np.testing.assert_allclose(tx.apply_inv(tx.apply(x)), x, rtol=1e-5, atol=1e-5)


def test_discount_pair():
    d = jnp.array([0.0, 0.5, 0.9])
    np.testing.assert_allclose(
        rlax.DISCOUNT_TRANSFORM_PAIR.apply(d), -np.log1p(-np.array(d)), rtol=1e-6
    )
    np.testing.assert_allclose(
        rlax.DISCOUNT_TRANSFORM_PAIR.apply_inv(rlax.DISCOUNT_TRANSFORM_PAIR.apply(d)), d, rtol=1e-6
    )


@pytest.mark.parametrize("pair", PAIRS)
def test_transformed_lambda_returns_matches_numpy(np_rng, pair):
    tx = getattr(rlax, pair)
    r, d, v = _traj(np_rng)
    raw_v = np.asarray(tx.apply_inv(v), np.float64)
    expected = np.asarray(tx.apply(jnp.float32(np_lambda_returns(r, d, raw_v, 0.6))))
    np.testing.assert_allclose(
        rlax.transformed_lambda_returns(tx, r, d, v, 0.6), expected, rtol=1e-5, atol=1e-5
    )


def test_identity_pair_reduces_to_untransformed(np_rng):
    r, d, v = _traj(np_rng)
    tx = rlax.IDENTITY_PAIR
    np.testing.assert_allclose(
        rlax.transformed_lambda_returns(tx, r, d, v, 0.5),
        rlax.lambda_returns(r, d, v, 0.5),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        rlax.transformed_n_step_returns(tx, r, d, v, 2),
        rlax.n_step_bootstrapped_returns(r, d, v, 2),
        rtol=1e-6,
    )
    q_tm1, q_t = (np_rng.normal(size=(T, A)).astype(np.float32) for _ in range(2))
    a_tm1, a_t = (np_rng.integers(0, A, size=T).astype(np.int32) for _ in range(2))
    np.testing.assert_allclose(
        rlax.transformed_q_lambda(q_tm1, a_tm1, r, d, q_t, 0.5),
        rlax.q_lambda(q_tm1, a_tm1, r, d, q_t, 0.5),
        rtol=1e-6,
    )
    pi = np.full((T, A), 1.0 / A, np.float32)
    mu = np.full(T, 0.5, np.float32)
    np.testing.assert_allclose(
        rlax.transformed_retrace(q_tm1, q_t, a_tm1, a_t, r, d, pi, mu, 0.9),
        rlax.retrace(q_tm1, q_t, a_tm1, a_t, r, d, pi, mu, 0.9),
        rtol=1e-6,
    )


def test_transformed_n_step_q_learning_hand_value():
    # n = 1, signed_logp1: target = h(r + d * h^-1(target_q_t[a_t])).
    q_tm1 = jnp.zeros((1, 2))
    target_q_t = jnp.array([[np.log(3.0), 0.0]], jnp.float32)  # h^-1 -> 2.0
    out = rlax.transformed_n_step_q_learning(
        q_tm1,
        jnp.array([0]),
        target_q_t,
        jnp.array([0]),
        jnp.array([1.0]),
        jnp.array([0.5]),
        1,
        tx_pair=rlax.SIGNED_LOGP1_PAIR,
    )
    np.testing.assert_allclose(out, [np.log1p(1.0 + 0.5 * 2.0)], rtol=1e-6)


def test_twohot_and_muzero_and_unbiased_pairs():
    tp = rlax.twohot_pair(-2.0, 2.0, 9)
    x = jnp.array([-1.3, 0.0, 1.7])
    np.testing.assert_allclose(tp.apply_inv(tp.apply(x)), x, atol=1e-4)
    mz = rlax.muzero_pair(-3.0, 3.0, 13, rlax.SIGNED_HYPERBOLIC_PAIR)
    v = jnp.array([-5.0, 0.5, 4.0])
    assert mz.apply(v).shape == (3, 13)
    np.testing.assert_allclose(mz.apply_inv(mz.apply(v)), v, rtol=1e-3, atol=1e-3)
    ub = rlax.unbiased_transform_pair(-3.0, 3.0, 7, rlax.SIGNED_HYPERBOLIC_PAIR)
    probs = ub.apply(v)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(ub.apply_inv(probs), v, rtol=1e-6)  # exact decoding
    support = np.asarray(rlax.signed_parabolic(jnp.linspace(-3.0, 3.0, 7)))
    np.testing.assert_allclose(ub.apply_inv(ub.apply(jnp.array([1e6]))), [support[-1]], rtol=1e-6)


def test_compose_tx_order():
    add = rlax.TxPair(lambda x: x + 1.0, lambda x: x - 1.0)
    dbl = rlax.TxPair(lambda x: 2.0 * x, lambda x: x / 2.0)
    c = rlax.compose_tx(add, dbl)
    assert float(c.apply(jnp.float32(1.0))) == 4.0  # (1 + 1) * 2
    assert float(c.apply_inv(jnp.float32(4.0))) == 1.0  # 4 / 2 - 1


def test_errors():
    x = jnp.ones(T)
    with pytest.raises(ValueError, match=r"transformed_q_lambda: `q_t` must have the same shape"):
        rlax.transformed_q_lambda(
            jnp.ones((T, 2)), jnp.zeros(T, jnp.int32), x, x, jnp.ones((T, 3)), 0.5
        )
    with pytest.raises(ValueError, match=r"transformed_n_step_q_learning: `a_t` must have rank 1"):
        rlax.transformed_n_step_q_learning(
            jnp.ones((T, 2)),
            jnp.zeros(T, jnp.int32),
            jnp.ones((T, 2)),
            jnp.zeros((T, 1), jnp.int32),
            x,
            x,
            2,
        )
