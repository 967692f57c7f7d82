"""Tests for munchausen_q_learning against a NumPy reference written from Vieillard et al. (2020)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax

A, N = 4, 6


def _np_policy(q, tau):
    """Boltzmann policy softmax(q / tau) in float64, with an explicit max shift."""
    q = [float(v) / tau for v in q]
    top = max(q)
    w = [math.exp(v - top) for v in q]
    z = sum(w)
    return [v / z for v in w]


def _np_mdqn_error(q_tm1, a, r, discount, q_t_tgt, q_tm1_tgt, tau, alpha, l0):
    """M-DQN target (paper eq. 2 / appendix) minus q_tm1[a], term by term."""
    pi_tm1 = _np_policy(q_tm1_tgt, tau)
    bonus = alpha * min(max(tau * math.log(pi_tm1[a]), l0), 0.0)
    pi_t = _np_policy(q_t_tgt, tau)
    soft_v = 0.0
    for b in range(len(q_t_tgt)):
        if pi_t[b] > 0:
            soft_v += pi_t[b] * (float(q_t_tgt[b]) - tau * math.log(pi_t[b]))
    return float(r) + bonus + float(discount) * soft_v - float(q_tm1[a])


@pytest.fixture
def batch(np_rng):
    return dict(
        q_tm1=np_rng.normal(size=(N, A)).astype(np.float32),
        a_tm1=np_rng.integers(0, A, size=N).astype(np.int32),
        r_t=np_rng.normal(size=N).astype(np.float32),
        discount_t=np_rng.uniform(0.0, 1.0, size=N).astype(np.float32),
        q_t_target=np_rng.normal(size=(N, A)).astype(np.float32),
        q_tm1_target=np_rng.normal(size=(N, A)).astype(np.float32),
    )


def _args(b, i=None):
    keys = ("q_tm1", "a_tm1", "r_t", "discount_t", "q_t_target", "q_tm1_target")
    return tuple(b[k] if i is None else b[k][i] for k in keys)


@pytest.mark.parametrize("tau, alpha, l0", [(0.03, 0.9, -1.0), (1.0, 0.5, -0.5), (0.3, 0.0, -1.0)])
def test_munchausen_matches_numpy(batch, tau, alpha, l0):
    fn = functools.partial(rlax.munchausen_q_learning, tau=tau, alpha=alpha, clip_value_min=l0)
    out = check_variants(fn, *_args(batch, 0), vmap_args=_args(batch), rtol=1e-5, atol=1e-5)
    assert out.shape == () and out.dtype == jnp.float32
    errors = jax.vmap(fn)(*_args(batch))
    expected = [_np_mdqn_error(*_args(batch, i), tau, alpha, l0) for i in range(N)]
    np.testing.assert_allclose(errors, expected, rtol=1e-4, atol=1e-5)


def test_munchausen_hand_value():
    # q = [1, 2], tau = 1: log pi = q - logsumexp(q) = [-1.3133, -0.3133]; the bonus for a=0 is
    # 0.9 * clip(-1.3133, -1, 0) = -0.9; the soft value is logsumexp(q) = 2.3133.
    q = jnp.array([1.0, 2.0])
    err = rlax.munchausen_q_learning(q, 0, 1.0, 0.5, q, q, tau=1.0, alpha=0.9)
    lse = math.log(math.exp(1.0) + math.exp(2.0))
    np.testing.assert_allclose(err, 1.0 - 0.9 + 0.5 * lse - 1.0, rtol=1e-6)


def test_munchausen_limits(batch):
    q_tm1, a, r, d, q_t, q_tm1_t = _args(batch, 0)
    # alpha = 0: soft Q-learning, target r + discount * tau * logsumexp(q_t / tau).
    tau = 0.5
    soft = r + d * tau * math.log(sum(math.exp(v / tau) for v in np.float64(q_t))) - q_tm1[a]
    np.testing.assert_allclose(
        rlax.munchausen_q_learning(q_tm1, a, r, d, q_t, q_tm1_t, tau=tau, alpha=0.0),
        soft,
        rtol=1e-5,
    )
    # alpha = 0 and a tiny temperature: hard Q-learning, r + discount * max q_t - q_tm1[a].
    np.testing.assert_allclose(
        rlax.munchausen_q_learning(q_tm1, a, r, d, q_t, q_tm1_t, tau=1e-4, alpha=0.0),
        r + d * np.max(q_t) - q_tm1[a],
        atol=1e-3,
    )
    # The bonus is never positive and never below alpha * clip_value_min.
    for b in range(A):
        no_bonus = rlax.munchausen_q_learning(q_tm1, b, r, d, q_t, q_tm1_t, alpha=0.0)
        with_bonus = rlax.munchausen_q_learning(q_tm1, b, r, d, q_t, q_tm1_t, alpha=0.9)
        assert -0.9 - 1e-6 <= float(with_bonus - no_bonus) <= 0.0


def test_munchausen_numerically_stable_at_small_temperature():
    # Q-values of magnitude 1e3 with tau = 1e-3 would overflow exp(q / tau) in a naive softmax.
    q_t = jnp.array([1000.0, 999.0, -1000.0])
    q_tm1_t = jnp.array([-1000.0, 1000.0, 0.0])
    err = rlax.munchausen_q_learning(jnp.zeros(3), 0, 0.0, 1.0, q_t, q_tm1_t, tau=1e-3)
    # Action 0 has log-prob about -2e6 under the tm1 policy: the bonus clips at 0.9 * -1, and
    # the soft value is ~ max q_t = 1000.
    np.testing.assert_allclose(err, -0.9 + 1000.0, rtol=1e-5)
    g = jax.grad(
        lambda q: rlax.munchausen_q_learning(
            q, 0, 0.0, 1.0, q_t, q_tm1_t, tau=1e-3, stop_target_gradients=False
        )
    )(q_t)
    assert np.all(np.isfinite(g))


def test_munchausen_gradients(batch):
    q_tm1, a, r, d, q_t, q_tm1_t = _args(batch, 0)
    grads = jax.grad(rlax.munchausen_q_learning, argnums=(0, 4, 5))(q_tm1, a, r, d, q_t, q_tm1_t)
    np.testing.assert_allclose(grads[0], -np.eye(A)[a], rtol=1e-6)
    np.testing.assert_array_equal(grads[1], np.zeros(A))
    np.testing.assert_array_equal(grads[2], np.zeros(A))
    # Without stopping, d target / d q_t_target = discount * pi_t (gradient of the soft max).
    g = jax.grad(
        functools.partial(rlax.munchausen_q_learning, stop_target_gradients=False, tau=0.5),
        argnums=4,
    )(q_tm1, a, r, d, q_t, q_tm1_t)
    np.testing.assert_allclose(g, d * np.asarray(_np_policy(q_t, 0.5)), rtol=1e-4, atol=1e-6)


def test_munchausen_update_moves_q_towards_target(batch):
    # A one-step SGD update on 0.5 * error^2 of a tabular Q moves q_tm1[a] towards the target.
    q = jnp.asarray(batch["q_tm1"])
    args = _args(batch)[1:]

    def loss(q_tm1):
        errors = jax.vmap(rlax.munchausen_q_learning)(q_tm1, *args)
        return jnp.mean(0.5 * jnp.square(errors))

    opt = optax.sgd(1.0)
    updates, _ = opt.update(jax.grad(loss)(q), opt.init(q))
    new_q = optax.apply_updates(q, updates)
    before = jax.vmap(rlax.munchausen_q_learning)(q, *args)
    after = jax.vmap(rlax.munchausen_q_learning)(new_q, *args)
    assert np.all(np.abs(np.asarray(after)) < np.abs(np.asarray(before)))
    assert float(loss(new_q)) < float(loss(q))


def test_munchausen_errors(batch):
    q_tm1, a, r, d, q_t, q_tm1_t = _args(batch, 0)
    with pytest.raises(ValueError, match=r"munchausen_q_learning.*`q_tm1`.*rank 1"):
        rlax.munchausen_q_learning(batch["q_tm1"], a, r, d, q_t, q_tm1_t)
    with pytest.raises(ValueError, match=r"munchausen_q_learning.*`q_tm1_target`.*same shape"):
        rlax.munchausen_q_learning(q_tm1, a, r, d, q_t, q_tm1_t[:-1])
    with pytest.raises(TypeError, match=r"munchausen_q_learning.*`a_tm1`.*int"):
        rlax.munchausen_q_learning(q_tm1, np.float32(1.0), r, d, q_t, q_tm1_t)
    with pytest.raises(TypeError, match=r"munchausen_q_learning.*`r_t`.*float"):
        rlax.munchausen_q_learning(q_tm1, a, np.int32(1), d, q_t, q_tm1_t)
    with pytest.raises(ValueError, match=r"munchausen_q_learning.*`tau`.*> 0.*got 0"):
        rlax.munchausen_q_learning(q_tm1, a, r, d, q_t, q_tm1_t, tau=0.0)
    with pytest.raises(ValueError, match=r"munchausen_q_learning.*`clip_value_min`.*<= 0.*got 0.5"):
        rlax.munchausen_q_learning(q_tm1, a, r, d, q_t, q_tm1_t, clip_value_min=0.5)
