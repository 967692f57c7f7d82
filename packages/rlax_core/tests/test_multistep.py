"""Tests for rlax_core multistep returns against hand values and NumPy reference loops."""

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

T = 5


# ----------------------------------------------------------------- NumPy references
def np_lambda_returns(r, d, v, lam):
    lam = np.broadcast_to(np.asarray(lam, np.float64), np.shape(r))
    out = np.zeros(len(r))
    g = v[-1]
    for t in reversed(range(len(r))):
        g = r[t] + d[t] * ((1 - lam[t]) * v[t] + lam[t] * g)
        out[t] = g
    return out


def np_n_step(r, d, v, n, lam=1.0):
    """Explicit per-t window: G = r_t + d_t((1-l)v_t + l(... r_{t+k} ... v_{min(t+n-1,T-1)}))."""
    length = len(r)
    lam = np.broadcast_to(np.asarray(lam, np.float64), (length,))
    out = np.zeros(length)
    for t in range(length):
        end = min(t + n, length)  # exclusive end of the window, cut at the trajectory end
        g = v[end - 1]  # bootstrap: v_{t+n-1}, or the last value when the window is cut
        for k in reversed(range(t, end)):
            g = r[k] + d[k] * ((1 - lam[k]) * v[k] + lam[k] * g)
        out[t] = g
    return out


def np_gae(r, d, lam, values):
    lam = np.broadcast_to(np.asarray(lam, np.float64), np.shape(r))
    adv = np.zeros(len(r))
    a = 0.0
    for t in reversed(range(len(r))):
        delta = r[t] + d[t] * values[t + 1] - values[t]
        a = delta + d[t] * lam[t] * a
        adv[t] = a
    return adv


def np_off_policy_q_and_v(q, v, r, d, c):
    length = len(r)
    out = np.zeros(length)
    g = r[-1] + d[-1] * v[-1]
    out[-1] = g
    for t in reversed(range(length - 1)):
        g = r[t] + d[t] * (v[t] - c[t] * q[t] + c[t] * g)
        out[t] = g
    return out


def _rand(rng, *shape):
    return rng.normal(size=shape).astype(np.float32)


def _discounts(rng, n):
    d = rng.uniform(0.5, 1.0, size=n).astype(np.float32)
    d[n // 2] = 0.0  # an episode boundary in the middle
    return d


# ----------------------------------------------------------------- hand-computed values
def test_lambda_returns_hand_values():
    r = jnp.array([1.0, 2.0, 3.0])
    d = jnp.array([0.5, 0.5, 0.0])
    v = jnp.array([10.0, 20.0, 30.0])
    # lambda = 0: one-step targets r + d v.
    np.testing.assert_allclose(rlax.lambda_returns(r, d, v, 0.0), [6.0, 12.0, 3.0])
    # lambda = 1: G2 = 3, G1 = 2 + 0.5*3 = 3.5, G0 = 1 + 0.5*3.5 = 2.75.
    np.testing.assert_allclose(rlax.lambda_returns(r, d, v, 1.0), [2.75, 3.5, 3.0])
    # lambda = 0.5: G2 = 3; G1 = 2 + .5(.5*20 + .5*3) = 7.75; G0 = 1 + .5(.5*10 + .5*7.75).
    np.testing.assert_allclose(rlax.lambda_returns(r, d, v, 0.5), [5.4375, 7.75, 3.0])


def test_discounted_returns_scalar_and_vector_bootstrap():
    r = jnp.array([1.0, 1.0, 1.0])
    d = jnp.array([0.9, 0.9, 0.9])
    expected = [1 + 0.9 * (1 + 0.9 * (1 + 0.9 * 5.0)), 1 + 0.9 * (1 + 0.9 * 5.0), 1 + 0.9 * 5.0]
    np.testing.assert_allclose(rlax.discounted_returns(r, d, 5.0), expected, rtol=1e-6)
    # A [T] bootstrap uses only its last entry.
    v = jnp.array([-100.0, 100.0, 5.0])
    np.testing.assert_allclose(rlax.discounted_returns(r, d, v), expected, rtol=1e-6)


def test_gae_hand_values():
    r = jnp.array([1.0, 0.0])
    d = jnp.array([0.5, 0.5])
    values = jnp.array([0.0, 2.0, 4.0])
    # delta0 = 1 + 1 - 0 = 2, delta1 = 0 + 2 - 2 = 0; A1 = 0, A0 = 2 + 0.5*0.5*0 = 2.
    np.testing.assert_allclose(
        rlax.truncated_generalized_advantage_estimation(r, d, 0.5, values), [2.0, 0.0]
    )


def test_n_step_hand_values():
    r = jnp.array([1.0, 2.0, 3.0, 4.0])
    d = jnp.array([0.5, 0.5, 0.5, 0.5])
    v = jnp.array([8.0, 16.0, 32.0, 64.0])
    # n = 2: G_t = r_t + d r_{t+1} + d^2 v_{t+1}; the last bootstraps from v[-1] early.
    expected = [
        1 + 0.5 * 2 + 0.25 * 16,
        2 + 0.5 * 3 + 0.25 * 32,
        3 + 0.5 * 4 + 0.25 * 64,
        4 + 0.5 * 64,
    ]
    np.testing.assert_allclose(rlax.n_step_bootstrapped_returns(r, d, v, 2), expected)


# ----------------------------------------------------------------- NumPy references
@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, "vector"])
def test_lambda_returns_matches_numpy(np_rng, lam):
    r, v = _rand(np_rng, T), _rand(np_rng, T)
    d = _discounts(np_rng, T)
    lam_v = np_rng.uniform(size=T).astype(np.float32) if lam == "vector" else lam
    np.testing.assert_allclose(
        rlax.lambda_returns(r, d, v, lam_v), np_lambda_returns(r, d, v, lam_v), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("n", [1, 2, 3, T, T + 3])
@pytest.mark.parametrize("lam", [1.0, 0.6])
def test_n_step_matches_numpy(np_rng, n, lam):
    r, v = _rand(np_rng, T), _rand(np_rng, T)
    d = _discounts(np_rng, T)
    np.testing.assert_allclose(
        rlax.n_step_bootstrapped_returns(r, d, v, n, lam),
        np_n_step(r, d, v, n, lam),
        rtol=1e-5,
        atol=1e-6,
    )


def test_gae_matches_numpy(np_rng):
    r, values = _rand(np_rng, T), _rand(np_rng, T + 1)
    d = _discounts(np_rng, T)
    lam = np_rng.uniform(size=T).astype(np.float32)
    np.testing.assert_allclose(
        rlax.truncated_generalized_advantage_estimation(r, d, lam, values),
        np_gae(r, d, lam, values),
        rtol=1e-5,
        atol=1e-6,
    )


def test_general_off_policy_returns_match_numpy(np_rng):
    q, c = _rand(np_rng, T - 1), np_rng.uniform(size=T - 1).astype(np.float32)
    v, r = _rand(np_rng, T), _rand(np_rng, T)
    d = _discounts(np_rng, T)
    np.testing.assert_allclose(
        rlax.general_off_policy_returns_from_q_and_v(q, v, r, d, c),
        np_off_policy_q_and_v(q, v, r, d, c),
        rtol=1e-5,
        atol=1e-6,
    )


def test_off_policy_from_action_values_matches_numpy(np_rng):
    a_n = 3
    q_t = _rand(np_rng, T, a_n)
    a_t = np_rng.integers(0, a_n, size=T).astype(np.int32)
    pi = np.exp(_rand(np_rng, T, a_n))
    pi = (pi / pi.sum(-1, keepdims=True)).astype(np.float32)
    c = np_rng.uniform(size=T).astype(np.float32)
    r = _rand(np_rng, T)
    d = _discounts(np_rng, T)
    v = (pi * q_t).sum(-1)
    q_a = q_t[np.arange(T), a_t]
    # Target i corrects with the trace and Q of the action at the *same* index i (both refer
    # to s_{i+1}); the last entries of a_t / c_t are unused.
    expected = np_off_policy_q_and_v(q_a[:-1], v, r, d, c[:-1])
    np.testing.assert_allclose(
        rlax.general_off_policy_returns_from_action_values(q_t, a_t, r, d, c, pi),
        expected,
        rtol=1e-5,
        atol=1e-6,
    )


# ----------------------------------------------------------------- identities (hypothesis)
# Fixed shapes, drawn values; the functions are jitted once so examples reuse the compilation.
_floats = st.floats(-10, 10, width=32)
_traj = st.lists(st.tuples(_floats, st.floats(0, 1, width=32), _floats), min_size=T, max_size=T)
_lambda_returns = jax.jit(rlax.lambda_returns)
_discounted = jax.jit(rlax.discounted_returns)
_n_step = jax.jit(rlax.n_step_bootstrapped_returns, static_argnums=3)
_gae = jax.jit(rlax.truncated_generalized_advantage_estimation)


def _split(traj):
    return tuple(jnp.array(x, jnp.float32) for x in zip(*traj, strict=True))


@given(_traj)
def test_lambda_one_equals_discounted_returns(traj):
    r, d, v = _split(traj)
    np.testing.assert_allclose(
        _lambda_returns(r, d, v, 1.0), _discounted(r, d, v[-1]), rtol=1e-5, atol=1e-5
    )


@given(_traj)
def test_lambda_zero_and_one_step_equal_td_targets(traj):
    r, d, v = _split(traj)
    one_step = r + d * v
    np.testing.assert_allclose(_lambda_returns(r, d, v, 0.0), one_step, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_n_step(r, d, v, 1), one_step, rtol=1e-5, atol=1e-5)


@given(_traj, st.floats(0, 1, width=32))
def test_gae_plus_values_equals_lambda_returns(traj, lam):
    r, d, v = _split(traj)
    values = jnp.concatenate([jnp.array([0.7], jnp.float32), v])
    adv = _gae(r, d, jnp.float32(lam), values)
    np.testing.assert_allclose(
        adv + values[:-1], _lambda_returns(r, d, v, jnp.float32(lam)), rtol=1e-4, atol=1e-4
    )


@given(_traj)
def test_n_step_with_n_ge_length_equals_lambda_returns(traj):
    r, d, v = _split(traj)
    np.testing.assert_allclose(
        _n_step(r, d, v, T + 2, 0.5), _lambda_returns(r, d, v, 0.5), rtol=1e-5, atol=1e-5
    )


# ----------------------------------------------------------------- edge cases
def test_length_one_sequences():
    r, d, v = jnp.array([2.0]), jnp.array([0.5]), jnp.array([4.0])
    np.testing.assert_allclose(rlax.lambda_returns(r, d, v, 0.3), [4.0])
    np.testing.assert_allclose(rlax.discounted_returns(r, d, v), [4.0])
    np.testing.assert_allclose(rlax.n_step_bootstrapped_returns(r, d, v, 3), [4.0])
    np.testing.assert_allclose(
        rlax.truncated_generalized_advantage_estimation(r, d, 0.9, jnp.array([1.0, 4.0])), [3.0]
    )
    np.testing.assert_allclose(
        rlax.general_off_policy_returns_from_q_and_v(jnp.zeros((0,)), v, r, d, jnp.zeros((0,))),
        [4.0],
    )


def test_discount_zero_cuts_the_return():
    r = jnp.array([1.0, 2.0, 3.0])
    d = jnp.array([0.9, 0.0, 0.9])
    out = rlax.lambda_returns(r, d, jnp.array([5.0, 5.0, 5.0]), 1.0)
    assert out[1] == 2.0
    np.testing.assert_allclose(out[0], 1 + 0.9 * 2.0)


# ----------------------------------------------------------------- gradients
def test_stop_target_gradients_flag():
    r, d, v = jnp.array([1.0, 2.0]), jnp.array([0.9, 0.9]), jnp.array([3.0, 4.0])
    g_stop = jax.grad(lambda v: jnp.sum(rlax.lambda_returns(r, d, v, 0.5, True)))(v)
    np.testing.assert_array_equal(g_stop, 0.0)
    g = jax.grad(lambda v: jnp.sum(rlax.lambda_returns(r, d, v, 0.5)))(v)  # default False
    # dG1/dv = [0, 0.9]; dG0/dv = 0.9*[0.5, 0.5*0.9]; sum = [0.45, 0.9 + 0.405].
    np.testing.assert_allclose(g, [0.45, 1.305], rtol=1e-6)
    g_gae = jax.grad(
        lambda x: jnp.sum(rlax.truncated_generalized_advantage_estimation(r, d, 0.5, x, True))
    )(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(g_gae, 0.0)


# ----------------------------------------------------------------- jit / vmap
def test_variants_jit_and_vmap(np_rng):
    b = 3
    r, v = _rand(np_rng, b, T), _rand(np_rng, b, T)
    d = np_rng.uniform(size=(b, T)).astype(np.float32)
    values = _rand(np_rng, b, T + 1)
    check_variants(
        functools.partial(rlax.lambda_returns, lambda_=0.7),
        r[0],
        d[0],
        v[0],
        vmap_args=(r, d, v),
        rtol=1e-5,
        atol=1e-6,
    )
    check_variants(
        functools.partial(rlax.n_step_bootstrapped_returns, n=2),
        r[0],
        d[0],
        v[0],
        vmap_args=(r, d, v),
        rtol=1e-5,
        atol=1e-6,
    )
    check_variants(
        lambda r, d, x: rlax.truncated_generalized_advantage_estimation(r, d, 0.9, x),
        r[0],
        d[0],
        values[0],
        vmap_args=(r, d, values),
        rtol=1e-5,
        atol=1e-6,
    )


def test_time_major_batch_with_in_axes_1(np_rng):
    r, v = _rand(np_rng, T, 4), _rand(np_rng, T, 4)
    d = np_rng.uniform(size=(T, 4)).astype(np.float32)
    out = jax.vmap(rlax.lambda_returns, in_axes=(1, 1, 1, None), out_axes=1)(r, d, v, 0.5)
    for b in range(4):
        np.testing.assert_allclose(
            out[:, b], np_lambda_returns(r[:, b], d[:, b], v[:, b], 0.5), rtol=1e-5, atol=1e-6
        )


# ----------------------------------------------------------------- errors
def test_rejects_rank_mismatch_instead_of_broadcasting():
    x = jnp.ones(4)
    with pytest.raises(
        ValueError, match=r"rlax_core\.lambda_returns: `v_t` must have rank 1.*\(4, 1\)"
    ):
        rlax.lambda_returns(x, x, x[:, None])
    with pytest.raises(ValueError, match=r"`v_t` must have the same shape as `r_t`"):
        rlax.lambda_returns(x, x, jnp.ones(5))
    with pytest.raises(ValueError, match=r"`lambda_` must have shape \(4\)"):
        rlax.lambda_returns(x, x, x, jnp.ones(3))
    with pytest.raises(ValueError, match=r"`values` must have shape \(5\)"):
        rlax.truncated_generalized_advantage_estimation(x, x, 0.9, jnp.ones(4))
    with pytest.raises(ValueError, match=r"`n` must be a static int >= 1"):
        rlax.n_step_bootstrapped_returns(x, x, x, 0)
    with pytest.raises(ValueError, match=r"`q_t` must have shape \(3\)"):
        rlax.general_off_policy_returns_from_q_and_v(x, x, x, x, x)


def test_rejects_wrong_dtypes():
    x = jnp.ones(4)
    with pytest.raises(TypeError, match=r"`r_t` must have a float dtype, got int32"):
        rlax.lambda_returns(jnp.ones(4, jnp.int32), x, x)
    with pytest.raises(TypeError, match=r"`lambda_` must have a float dtype"):
        rlax.lambda_returns(x, x, x, 1)
    with pytest.raises(TypeError, match=r"`a_t` must have a int dtype"):
        rlax.general_off_policy_returns_from_action_values(
            jnp.ones((4, 2)), x, x, x, x, jnp.ones((4, 2))
        )


def test_dtype_preserved_bfloat16():
    x = jnp.ones(4, jnp.bfloat16)
    assert rlax.lambda_returns(x, x * 0.5, x, 0.5).dtype == jnp.bfloat16
    assert rlax.discounted_returns(x, x * 0.5, x).dtype == jnp.bfloat16


@pytest.mark.parametrize("length", [600, 2100])
def test_long_trajectories_match_numpy(np_rng, length):
    # Past the lengths where the sequential solver switches from in-scan-body coefficients to
    # precomputed ones (GAE: 512, lambda returns: 2048).
    r, v, values = _rand(np_rng, length), _rand(np_rng, length), _rand(np_rng, length + 1)
    d = _discounts(np_rng, length)
    lam = np_rng.uniform(size=length).astype(np.float32)
    np.testing.assert_allclose(
        rlax.lambda_returns(r, d, v, lam), np_lambda_returns(r, d, v, lam), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(
        rlax.lambda_returns(r, d, v, 0.8), np_lambda_returns(r, d, v, 0.8), rtol=1e-4, atol=1e-4
    )
    np.testing.assert_allclose(
        rlax.truncated_generalized_advantage_estimation(r, d, 0.8, values),
        np_gae(r, d, 0.8, values),
        rtol=1e-4,
        atol=1e-4,
    )
    np.testing.assert_allclose(
        rlax.discounted_returns(r, d, v), np_lambda_returns(r, d, v, 1.0), rtol=1e-4, atol=1e-4
    )


def test_static_lambda_one_shortcut_matches_traced_lambda_one(np_rng):
    # A Python `lambda_=1.0` skips the (1 - lambda) * v term; values and gradients must equal
    # those of the general path (a traced lambda of 1).
    r, v = _rand(np_rng, T), _rand(np_rng, T)
    d = _discounts(np_rng, T)

    def loss(r, d, v, lam):
        return jnp.sum(rlax.lambda_returns(r, d, v, lam) * jnp.arange(1.0, T + 1.0))

    static = jax.value_and_grad(loss, argnums=(0, 1, 2))(r, d, v, 1.0)
    traced = jax.jit(jax.value_and_grad(loss, argnums=(0, 1, 2)))(r, d, v, jnp.float32(1.0))
    np.testing.assert_allclose(static[0], traced[0], rtol=1e-6)
    for x, y in zip(static[1], traced[1], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
    # Only the last value bootstraps: no gradient to v_t[:-1].
    np.testing.assert_array_equal(np.asarray(static[1][2])[:-1], 0.0)
    np.testing.assert_allclose(
        rlax.discounted_returns(r, d, v), rlax.discounted_returns(r, d, v[-1]), rtol=1e-6
    )
