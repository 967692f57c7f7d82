"""Tests for rlax_core policy-gradient losses against hand-written NumPy references."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from shared_testing import strategies
from shared_testing.variants import check_variants

import rlax_core as rlax

T, A = 5, 3


def _np_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


@pytest.fixture
def inputs(np_rng):
    return dict(
        logits=np_rng.normal(size=(T, A)).astype(np.float32),
        q=np_rng.normal(size=(T, A)).astype(np.float32),
        a=np_rng.integers(0, A, size=T).astype(np.int32),
        adv=np_rng.normal(size=T).astype(np.float32),
        w=np_rng.uniform(size=T).astype(np.float32),
    )


def test_policy_gradient_loss_matches_numpy(inputs):
    x = inputs
    out = check_variants(rlax.policy_gradient_loss, x["logits"], x["a"], x["adv"], x["w"])
    logp = _np_log_softmax(x["logits"])
    expected = np.mean([-logp[t, x["a"][t]] * x["adv"][t] * x["w"][t] for t in range(T)])
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_policy_gradient_loss_hand_computed():
    # Uniform policy over 2 actions: log pi = -log 2 everywhere.
    logits = jnp.zeros((2, 2))
    out = rlax.policy_gradient_loss(logits, jnp.array([0, 1]), jnp.array([1.0, 3.0]), jnp.ones(2))
    np.testing.assert_allclose(out, np.log(2.0) * 2.0, rtol=1e-6)


def test_policy_gradient_loss_grads_and_stop_gradient(inputs):
    x = inputs
    g_adv = jax.grad(rlax.policy_gradient_loss, argnums=2)(x["logits"], x["a"], x["adv"], x["w"])
    np.testing.assert_array_equal(g_adv, np.zeros(T))
    g_adv = jax.grad(
        functools.partial(rlax.policy_gradient_loss, use_stop_gradient=False), argnums=2
    )(x["logits"], x["a"], x["adv"], x["w"])
    logp = _np_log_softmax(x["logits"])
    np.testing.assert_allclose(
        g_adv, -logp[np.arange(T), x["a"]] * x["w"] / T, rtol=1e-5, atol=1e-7
    )
    # Gradient w.r.t. logits: -(onehot - pi) * adv * w / T.
    g = jax.grad(rlax.policy_gradient_loss)(x["logits"], x["a"], x["adv"], x["w"])
    pi = np.exp(logp)
    onehot = np.eye(A)[x["a"]]
    expected = -(onehot - pi) * (x["adv"] * x["w"] / T)[:, None]
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-6)


def test_policy_gradient_loss_errors(inputs):
    x = inputs
    with pytest.raises(ValueError, match=r"policy_gradient_loss.*`logits_t`.*rank 2"):
        rlax.policy_gradient_loss(x["logits"][0], x["a"], x["adv"], x["w"])
    with pytest.raises(ValueError, match=r"policy_gradient_loss.*`w_t`"):
        rlax.policy_gradient_loss(x["logits"], x["a"], x["adv"], x["w"][:-1])
    with pytest.raises(TypeError, match=r"policy_gradient_loss.*`a_t`.*int"):
        rlax.policy_gradient_loss(x["logits"], x["a"].astype(np.float32), x["adv"], x["w"])


def test_entropy_loss_matches_numpy_and_uniform(inputs):
    x = inputs
    out = check_variants(rlax.entropy_loss, x["logits"], x["w"])
    logp = _np_log_softmax(x["logits"])
    ent = -(np.exp(logp) * logp).sum(-1)
    np.testing.assert_allclose(out, -np.mean(ent * x["w"]), rtol=1e-5)
    # Uniform policy: entropy is log(A).
    np.testing.assert_allclose(
        rlax.entropy_loss(jnp.zeros((2, 4)), jnp.ones(2)), -np.log(4.0), rtol=1e-6
    )


def test_entropy_loss_large_logits_is_finite():
    logits = jnp.array([[1e4, -1e4, 0.0], [50.0, 50.0, -1e4]])
    out = rlax.entropy_loss(logits, jnp.ones(2))
    np.testing.assert_allclose(out, -np.log(2.0) / 2, rtol=1e-5)
    assert np.all(np.isfinite(jax.grad(rlax.entropy_loss)(logits, jnp.ones(2))))


def test_clipped_surrogate_matches_numpy(np_rng):
    ratios = np.array([0.5, 0.9, 1.0, 1.1, 1.5], np.float32)
    adv = np.array([1.0, -1.0, 2.0, 1.0, -2.0], np.float32)
    eps = 0.2
    out = check_variants(
        functools.partial(rlax.clipped_surrogate_pg_loss, epsilon=eps), ratios, adv
    )
    clipped = np.clip(ratios, 1 - eps, 1 + eps)
    expected = -np.mean(np.minimum(ratios * adv, clipped * adv))
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    # Hand value: min terms [0.5, -0.9, 2, 1.1, -3] -> mean -0.06 -> loss 0.06.
    np.testing.assert_allclose(out, 0.06, rtol=1e-5)


@given(adv=strategies.float_arrays((6,), -5, 5))
def test_clipped_surrogate_equals_plain_pg_when_ratios_are_one(adv):
    ratios = jnp.ones(6)
    for eps in [0.0, 0.2]:
        loss = rlax.clipped_surrogate_pg_loss(ratios, adv, eps)
        np.testing.assert_allclose(loss, -np.mean(adv), rtol=1e-5, atol=1e-6)
        g = jax.grad(rlax.clipped_surrogate_pg_loss)(ratios, adv, 0.2)
        np.testing.assert_allclose(g, -adv / 6, rtol=1e-5, atol=1e-6)


def test_clipped_surrogate_errors():
    with pytest.raises(ValueError, match=r"clipped_surrogate_pg_loss.*`adv_t`"):
        rlax.clipped_surrogate_pg_loss(jnp.ones(3), jnp.ones(4), 0.2)
    with pytest.raises(ValueError, match=r"`prob_ratios_t`.*rank 1"):
        rlax.clipped_surrogate_pg_loss(jnp.ones((3, 1)), jnp.ones(3), 0.2)


def test_dpg_loss_gradient_is_minus_dqda(np_rng):
    a = np_rng.normal(size=A).astype(np.float32)
    dqda = np_rng.normal(size=A).astype(np.float32)
    out = check_variants(
        rlax.dpg_loss, a, dqda, vmap_args=(np.stack([a, a]), np.stack([dqda, -dqda]))
    )
    np.testing.assert_allclose(out, 0.5 * dqda**2, rtol=1e-6)
    g = jax.grad(lambda x: jnp.sum(rlax.dpg_loss(x, dqda)))(a)
    np.testing.assert_allclose(g, -dqda, rtol=1e-6)


def test_dpg_loss_clipping_rescales_norm():
    dqda = jnp.array([3.0, 4.0])  # norm 5
    out = rlax.dpg_loss(jnp.zeros(2), dqda, dqda_clipping=1.0)
    np.testing.assert_allclose(out, 0.5 * np.array([0.6, 0.8]) ** 2, rtol=1e-6)
    out = rlax.dpg_loss(jnp.zeros(2), dqda, dqda_clipping=10.0)  # inside the bound
    np.testing.assert_allclose(out, 0.5 * np.array([3.0, 4.0]) ** 2, rtol=1e-6)
    # A zero bound scales dQ/da to zero (upstream's rescaling, no error): zero loss.
    np.testing.assert_allclose(rlax.dpg_loss(jnp.zeros(2), dqda, dqda_clipping=0.0), [0.0, 0.0])


def _np_pi_adv(logits, q):
    pi = np.exp(_np_log_softmax(logits))
    v = (pi * q).sum(-1, keepdims=True)
    return pi, q - v


def test_qpg_rm_rpg_values(inputs):
    x = inputs
    pi, adv = _np_pi_adv(x["logits"], x["q"])
    qpg = check_variants(rlax.qpg_loss, x["logits"], x["q"])
    np.testing.assert_allclose(qpg, -np.mean((pi * adv).sum(-1)), atol=1e-6)
    rm = check_variants(rlax.rm_loss, x["logits"], x["q"])
    np.testing.assert_allclose(rm, -np.mean((pi * np.maximum(adv, 0)).sum(-1)), rtol=1e-5)
    rpg = check_variants(rlax.rpg_loss, x["logits"], x["q"])
    np.testing.assert_allclose(rpg, np.mean(np.maximum(adv, 0).sum(-1)), rtol=1e-5)


def test_qpg_gradient_is_all_actions_policy_gradient(inputs):
    x = inputs
    pi, adv = _np_pi_adv(x["logits"], x["q"])
    g = jax.grad(rlax.qpg_loss)(x["logits"], x["q"])
    # d/dlogits_b of sum_a pi_a * adv_a (adv fixed) = pi_b * (adv_b - sum_a pi_a adv_a).
    expected = -pi * (adv - (pi * adv).sum(-1, keepdims=True)) / T
    np.testing.assert_allclose(g, expected, rtol=1e-4, atol=1e-6)
    # q never receives a gradient from these policy losses.
    for fn in [rlax.qpg_loss, rlax.rm_loss]:
        gq = jax.grad(fn, argnums=1)(x["logits"], x["q"])
        np.testing.assert_array_equal(gq, np.zeros_like(gq))


def test_rpg_zero_when_policy_is_greedy_on_best_action():
    q = jnp.array([[1.0, 0.0, -1.0]])
    logits = jnp.array([[100.0, 0.0, 0.0]])
    np.testing.assert_allclose(rlax.rpg_loss(logits, q), 0.0, atol=1e-6)


def test_q_losses_errors():
    with pytest.raises(ValueError, match=r"qpg_loss.*`q_t`"):
        rlax.qpg_loss(jnp.zeros((2, 3)), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"rpg_loss.*`logits_t`.*rank 2"):
        rlax.rpg_loss(jnp.zeros(3), jnp.zeros(3))


@pytest.mark.x64
def test_policy_losses_grads_match_finite_differences(np_rng):
    from shared_testing.grads import assert_grads_numerical

    logits = jnp.asarray(np_rng.normal(size=(T, A)))
    q = jnp.asarray(np_rng.normal(size=(T, A)))
    a = jnp.asarray(np_rng.integers(0, A, size=T))
    adv, w = jnp.asarray(np_rng.normal(size=T)), jnp.ones(T)
    assert_grads_numerical(lambda lg: rlax.policy_gradient_loss(lg, a, adv, w), (logits,))
    assert_grads_numerical(lambda lg: rlax.entropy_loss(lg, w), (logits,))
    assert_grads_numerical(lambda lg, qq: rlax.rpg_loss(lg, qq, False), (logits, q))
