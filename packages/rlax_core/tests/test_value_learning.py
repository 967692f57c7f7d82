"""Tests for rlax_core TD / Q-learning errors: hand values, NumPy references, grads, checks."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_testing.variants import check_variants

import rlax_core as rlax

T, A = 5, 3


def np_lambda_returns(r, d, v, lam):
    lam = np.broadcast_to(np.asarray(lam, np.float64), np.shape(r))
    out, g = np.zeros(len(r)), v[-1]
    for t in reversed(range(len(r))):
        g = r[t] + d[t] * ((1 - lam[t]) * v[t] + lam[t] * g)
        out[t] = g
    return out


def np_retrace_targets(q_t, a_t, r, d, pi, mu, lam, eps=1e-8):
    """Munos et al. (2016) recursion written per step."""
    length = len(r)
    c = lam * np.minimum(1.0, pi[np.arange(length), a_t] / (mu + eps))
    exp_q = (pi * q_t).sum(-1)
    q_a = q_t[np.arange(length), a_t]
    g = np.zeros(length)
    g[-1] = r[-1] + d[-1] * exp_q[-1]
    for t in reversed(range(length - 1)):
        g[t] = r[t] + d[t] * (exp_q[t] + c[t] * (g[t + 1] - q_a[t]))
    return g


def _transition(rng):
    return dict(
        q_tm1=jnp.asarray(rng.normal(size=A), jnp.float32),
        a_tm1=jnp.int32(rng.integers(A)),
        r_t=jnp.float32(rng.normal()),
        discount_t=jnp.float32(rng.uniform()),
        q_t=jnp.asarray(rng.normal(size=A), jnp.float32),
    )


def _trajectory(rng):
    d = rng.uniform(0.5, 1, size=T).astype(np.float32)
    d[2] = 0.0
    return dict(
        q_tm1=rng.normal(size=(T, A)).astype(np.float32),
        a_tm1=rng.integers(0, A, size=T).astype(np.int32),
        r_t=rng.normal(size=T).astype(np.float32),
        discount_t=d,
        q_t=rng.normal(size=(T, A)).astype(np.float32),
    )


# ----------------------------------------------------------------- hand values
def test_single_transition_hand_values():
    q_tm1 = jnp.array([1.0, 2.0, 3.0])
    q_t = jnp.array([4.0, 0.0, 2.0])
    a, r, d = jnp.int32(1), jnp.float32(1.0), jnp.float32(0.5)
    assert rlax.td_learning(2.0, 1.0, 0.5, 4.0) == 1.0 + 2.0 - 2.0
    assert rlax.q_learning(q_tm1, a, r, d, q_t) == 1.0 + 0.5 * 4.0 - 2.0
    assert rlax.sarsa(q_tm1, a, r, d, q_t, jnp.int32(2)) == 1.0 + 0.5 * 2.0 - 2.0
    probs = jnp.array([0.5, 0.25, 0.25])
    assert rlax.expected_sarsa(q_tm1, a, r, d, q_t, probs) == 1.0 + 0.5 * 2.5 - 2.0
    sel = jnp.array([0.0, 0.0, 9.0])  # selects action 2, valued 2.0 by q_t
    assert rlax.double_q_learning(q_tm1, a, r, d, q_t, sel) == 1.0 + 0.5 * 2.0 - 2.0
    # persistent: (1 - 0.25) * max(q_t) + 0.25 * q_t[a_tm1] = 3 + 0 = 3.
    assert rlax.persistent_q_learning(q_tm1, a, r, d, q_t, 0.25) == 1.0 + 0.5 * 3.0 - 2.0
    assert rlax.qv_learning(q_tm1, a, r, d, jnp.float32(6.0)) == 1.0 + 3.0 - 2.0
    assert rlax.qv_max(jnp.float32(1.0), r, d, q_t) == 1.0 + 2.0 - 1.0


def test_persistent_q_learning_zero_scale_is_q_learning(np_rng):
    tr = _transition(np_rng)
    np.testing.assert_allclose(
        rlax.persistent_q_learning(**tr, action_gap_scale=0.0), rlax.q_learning(**tr), rtol=1e-6
    )


# ----------------------------------------------------------------- trajectories vs NumPy
@pytest.mark.parametrize("lam", [0.0, 0.6, 1.0])
def test_q_lambda_sarsa_lambda_td_lambda_match_numpy(np_rng, lam):
    tr = _trajectory(np_rng)
    q_tm1, a_tm1, r, d, q_t = (tr[k] for k in ("q_tm1", "a_tm1", "r_t", "discount_t", "q_t"))
    qa_tm1 = q_tm1[np.arange(T), a_tm1]
    expected = np_lambda_returns(r, d, q_t.max(-1), lam) - qa_tm1
    np.testing.assert_allclose(rlax.q_lambda(**tr, lambda_=lam), expected, rtol=1e-5, atol=1e-5)
    a_t = np_rng.integers(0, A, size=T).astype(np.int32)
    expected = np_lambda_returns(r, d, q_t[np.arange(T), a_t], lam) - qa_tm1
    np.testing.assert_allclose(
        rlax.sarsa_lambda(q_tm1, a_tm1, r, d, q_t, a_t, lam), expected, rtol=1e-5, atol=1e-5
    )
    v_tm1, v_t = q_tm1[:, 0], q_t[:, 0]
    expected = np_lambda_returns(r, d, v_t, lam) - v_tm1
    np.testing.assert_allclose(
        rlax.td_lambda(v_tm1, r, d, v_t, lam), expected, rtol=1e-5, atol=1e-5
    )


def test_retrace_matches_numpy(np_rng):
    tr = _trajectory(np_rng)
    a_t = np_rng.integers(0, A, size=T).astype(np.int32)
    pi = np.exp(np_rng.normal(size=(T, A)))
    pi = (pi / pi.sum(-1, keepdims=True)).astype(np.float32)
    mu = np_rng.uniform(0.1, 1, size=T).astype(np.float32)
    out = rlax.retrace(
        tr["q_tm1"], tr["q_t"], tr["a_tm1"], a_t, tr["r_t"], tr["discount_t"], pi, mu, 0.9
    )
    expected = np_retrace_targets(tr["q_t"], a_t, tr["r_t"], tr["discount_t"], pi, mu, 0.9)
    expected = expected - tr["q_tm1"][np.arange(T), tr["a_tm1"]]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_retrace_continuous_matches_numpy(np_rng):
    q_tm1 = np_rng.normal(size=T).astype(np.float32)
    q_t = np_rng.normal(size=T - 1).astype(np.float32)
    v_t = np_rng.normal(size=T).astype(np.float32)
    r = np_rng.normal(size=T).astype(np.float32)
    d = np_rng.uniform(size=T).astype(np.float32)
    log_rhos = np_rng.normal(size=T - 1).astype(np.float32)
    c = 0.8 * np.minimum(1.0, np.exp(log_rhos))
    g = np.zeros(T)
    g[-1] = r[-1] + d[-1] * v_t[-1]
    for t in reversed(range(T - 1)):
        g[t] = r[t] + d[t] * (v_t[t] + c[t] * (g[t + 1] - q_t[t]))
    np.testing.assert_allclose(
        rlax.retrace_continuous(q_tm1, q_t, v_t, r, d, log_rhos, 0.8),
        g - q_tm1,
        rtol=1e-5,
        atol=1e-5,
    )


# ----------------------------------------------------------------- identities
_q_lambda = jax.jit(rlax.q_lambda)
_q_learning_batch = jax.jit(jax.vmap(rlax.q_learning))
_td_lambda = jax.jit(rlax.td_lambda)
_td_batch = jax.jit(jax.vmap(rlax.td_learning))


@given(st.integers(0, 2**31 - 1))
def test_q_lambda_zero_equals_one_step_q_learning(seed):
    tr = _trajectory(np.random.default_rng(seed))
    np.testing.assert_allclose(
        _q_lambda(**tr, lambda_=0.0), _q_learning_batch(**tr), rtol=1e-5, atol=1e-5
    )


@given(st.integers(0, 2**31 - 1))
def test_td_lambda_zero_equals_td0(seed):
    rng = np.random.default_rng(seed)
    v_tm1, r, v_t = (rng.normal(size=T).astype(np.float32) for _ in range(3))
    d = rng.uniform(size=T).astype(np.float32)
    np.testing.assert_allclose(
        _td_lambda(v_tm1, r, d, v_t, 0.0), _td_batch(v_tm1, r, d, v_t), rtol=1e-5, atol=1e-5
    )


def test_retrace_with_on_policy_full_traces_is_lambda_one_expected_sarsa_return(np_rng):
    # pi == mu on the taken action and lambda = 1: c = 1, Retrace = on-policy multi-step return
    # correction; with deterministic pi (one-hot on a_t) it is SARSA(1) / Monte Carlo.
    tr = _trajectory(np_rng)
    a_t = np_rng.integers(0, A, size=T).astype(np.int32)
    pi = np.eye(A, dtype=np.float32)[a_t]
    mu = np.ones(T, np.float32)
    out = rlax.retrace(
        tr["q_tm1"], tr["q_t"], tr["a_tm1"], a_t, tr["r_t"], tr["discount_t"], pi, mu, 1.0
    )
    expected = rlax.sarsa_lambda(
        tr["q_tm1"], tr["a_tm1"], tr["r_t"], tr["discount_t"], tr["q_t"], a_t, 1.0
    )
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------- gradients
def test_stop_target_gradients_single_transition():
    q_tm1 = jnp.array([1.0, 2.0])
    q_t = jnp.array([3.0, 0.0])

    def loss(q_tm1, q_t, stop):
        return rlax.q_learning(q_tm1, jnp.int32(0), 1.0, 0.5, q_t, stop) ** 2 / 2

    g_tm1, g_t = jax.grad(loss, argnums=(0, 1))(q_tm1, q_t, True)
    err = 1.0 + 1.5 - 1.0
    np.testing.assert_allclose(g_tm1, [-err, 0.0])
    np.testing.assert_array_equal(g_t, 0.0)
    g_tm1, g_t = jax.grad(loss, argnums=(0, 1))(q_tm1, q_t, False)
    np.testing.assert_allclose(g_t, [0.5 * err, 0.0])


@pytest.mark.parametrize(
    "fn_name", ["td_lambda", "sarsa_lambda", "q_lambda", "retrace", "retrace_continuous"]
)
def test_trajectory_stop_gradients(np_rng, fn_name):
    tr = _trajectory(np_rng)
    a_t = np_rng.integers(0, A, size=T).astype(np.int32)
    pi = np.full((T, A), 1.0 / A, np.float32)
    mu = np.full(T, 0.5, np.float32)
    if fn_name == "td_lambda":
        args = (tr["q_tm1"][:, 0], tr["r_t"], tr["discount_t"], tr["q_t"][:, 0], 0.5)
        target_idx = 3
    elif fn_name == "sarsa_lambda":
        args = (tr["q_tm1"], tr["a_tm1"], tr["r_t"], tr["discount_t"], tr["q_t"], a_t, 0.5)
        target_idx = 4
    elif fn_name == "q_lambda":
        args = (*tr.values(), 0.5)
        target_idx = 4
    elif fn_name == "retrace":
        args = (tr["q_tm1"], tr["q_t"], tr["a_tm1"], a_t, tr["r_t"], tr["discount_t"], pi, mu, 0.9)
        target_idx = 1
    else:
        args = (
            tr["q_tm1"][:, 0],
            tr["q_t"][:-1, 0],
            tr["q_t"][:, 1],
            tr["r_t"],
            tr["discount_t"],
            tr["q_t"][:-1, 2],
            0.9,
        )
        target_idx = 2
    fn = getattr(rlax, fn_name)

    def loss(x, stop):
        a = list(args)
        a[target_idx] = x
        return jnp.sum(fn(*a, stop_target_gradients=stop) ** 2)

    x = jnp.asarray(args[target_idx])
    np.testing.assert_array_equal(jax.grad(loss)(x, True), 0.0)
    assert np.abs(np.asarray(jax.grad(loss)(x, False))).sum() > 0


def test_grads_match_finite_differences():
    tr = _trajectory(np.random.default_rng(0))
    q_tm1 = jnp.asarray(tr["q_tm1"], jnp.float32)

    def loss(q_tm1):
        return jnp.sum(
            rlax.q_lambda(q_tm1, tr["a_tm1"], tr["r_t"], tr["discount_t"], tr["q_t"], 0.5) ** 2
        )

    g = jax.grad(loss)(q_tm1)
    eps = 1e-2
    for idx in [
        (0, int(tr["a_tm1"][0])),
        (3, int(tr["a_tm1"][3])),
        (1, (int(tr["a_tm1"][1]) + 1) % A),
    ]:
        e = jnp.zeros_like(q_tm1).at[idx].set(eps)
        fd = (loss(q_tm1 + e) - loss(q_tm1 - e)) / (2 * eps)
        np.testing.assert_allclose(g[idx], fd, rtol=2e-2, atol=1e-3)


# ----------------------------------------------------------------- jit / vmap
def test_variants(np_rng):
    b = 3
    trs = [_transition(np_rng) for _ in range(b)]
    batched = {k: jnp.stack([t[k] for t in trs]) for k in trs[0]}
    check_variants(
        rlax.q_learning, *trs[0].values(), vmap_args=tuple(batched.values()), rtol=1e-6, atol=1e-6
    )
    trajs = [_trajectory(np_rng) for _ in range(2)]
    tb = {k: jnp.stack([t[k] for t in trajs]) for k in trajs[0]}
    check_variants(
        functools.partial(rlax.q_lambda, lambda_=0.7),
        *trajs[0].values(),
        vmap_args=tuple(tb.values()),
        rtol=1e-5,
        atol=1e-6,
    )


# ----------------------------------------------------------------- errors
def test_error_messages_name_function_argument_and_shapes():
    q = jnp.ones(A)
    with pytest.raises(
        ValueError, match=r"^rlax_core\.q_learning: `q_tm1` must have rank 1, got shape \(4, 3\)\.$"
    ):
        rlax.q_learning(jnp.ones((4, 3)), 0, 1.0, 0.9, q)
    with pytest.raises(
        ValueError, match=r"rlax_core\.q_learning: `q_t` must have the same shape as `q_tm1`"
    ):
        rlax.q_learning(q, 0, 1.0, 0.9, jnp.ones(4))
    with pytest.raises(
        TypeError, match=r"rlax_core\.q_learning: `r_t` must have a float dtype, got int32"
    ):
        rlax.q_learning(q, 0, 1, 0.9, q)
    with pytest.raises(TypeError, match=r"`a_tm1` must have a int dtype"):
        rlax.sarsa(q, 0.0, 1.0, 0.9, q, 0)
    with pytest.raises(ValueError, match=r"rlax_core\.td_learning: `v_t` must have rank 0"):
        rlax.td_learning(1.0, 1.0, 0.9, jnp.ones(1))
    x = jnp.ones(T)
    with pytest.raises(
        ValueError, match=r"rlax_core\.td_lambda: `v_t` must have rank 1, got shape \(5, 1\)"
    ):
        rlax.td_lambda(x, x, x, x[:, None], 0.5)
    with pytest.raises(
        ValueError, match=r"rlax_core\.sarsa_lambda: `q_t` must have the same shape"
    ):
        rlax.sarsa_lambda(
            jnp.ones((T, 2)), jnp.zeros(T, int), x, x, jnp.ones((T, 3)), jnp.zeros(T, int), 0.5
        )
    with pytest.raises(
        ValueError, match=r"rlax_core\.retrace_continuous: `lambda_` must have shape \(4\)"
    ):
        rlax.retrace_continuous(x, x[:-1], x, x, x, x[:-1], x)


def test_extreme_values_stay_finite():
    big = jnp.array([1e30, -1e30, 0.0])
    assert jnp.isfinite(rlax.q_learning(big, 2, 1.0, 0.0, big))
    assert rlax.q_learning(jnp.zeros(3), 0, 1.0, 1.0, jnp.zeros(3)) == 1.0  # discount 1
