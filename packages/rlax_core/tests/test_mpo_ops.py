"""Tests for rlax_core MPO / V-MPO losses against NumPy references."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax

PROJ = functools.partial(jnp.clip, min=1e-10)


def _np_logsumexp(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def test_mpo_e_step_matches_numpy(np_rng):
    q = np_rng.normal(size=(5, 3)).astype(np.float32)
    tc = rlax.LagrangePenalty(jnp.asarray(0.7), 0.1)
    loss, w, n = rlax.mpo_compute_weights_and_temperature_loss(q, tc, PROJ)
    qt = q.astype(np.float64) / 0.7
    np.testing.assert_allclose(w, np.exp(qt - _np_logsumexp(qt, 0)[None]), rtol=1e-5)
    np.testing.assert_allclose(loss, 0.7 * (0.1 + _np_logsumexp(qt, 0) - np.log(5)), rtol=1e-5)
    assert n == 5
    # Temperature gradient: d/d eta of eta*(eps + lse(q/eta) - log n).
    g = jax.grad(
        lambda a: jnp.sum(
            rlax.mpo_compute_weights_and_temperature_loss(q, tc._replace(alpha=a), PROJ)[0]
        )
    )(jnp.asarray(0.7))
    wq = (np.exp(qt - _np_logsumexp(qt, 0)[None]) * q).sum(0)
    expected = (0.1 + _np_logsumexp(qt, 0) - np.log(5) - wq / 0.7).sum()
    np.testing.assert_allclose(g, expected, rtol=1e-4)


def test_kl_penalty_and_dual_loss():
    kl = jnp.array([[0.2, 0.4], [0.1, 0.0]])
    c = [(kl, rlax.LagrangePenalty(jnp.asarray(2.0), 0.05))]
    pen, dual = rlax.compute_parametric_kl_penalty_and_dual_loss(c, PROJ)
    np.testing.assert_allclose(pen, 2.0 * np.asarray(kl))
    np.testing.assert_allclose(dual, 2.0 * (0.05 - np.asarray(kl)), rtol=1e-6)
    pd = [(kl, rlax.LagrangePenalty(jnp.array([1.0, 3.0]), 0.05, True))]
    pen, dual = rlax.compute_parametric_kl_penalty_and_dual_loss(pd, PROJ)
    np.testing.assert_allclose(pen, [0.2 + 1.2, 0.1], rtol=1e-6)
    np.testing.assert_allclose(
        dual, [(0.05 - 0.2) + 3 * (0.05 - 0.4), (0.05 - 0.1) + 3 * 0.05], rtol=1e-5
    )
    # Gradients: penalty trains the KL only, dual trains alpha only.
    g_kl, g_alpha = jax.grad(
        lambda k, a: sum(
            jnp.sum(x)
            for x in rlax.compute_parametric_kl_penalty_and_dual_loss(
                [(k, rlax.LagrangePenalty(a, 0.05))], PROJ
            )
        ),
        argnums=(0, 1),
    )(kl, jnp.asarray(2.0))
    np.testing.assert_allclose(g_kl, np.full((2, 2), 2.0))
    np.testing.assert_allclose(g_alpha, (0.05 - np.asarray(kl)).sum(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"kl_constraints"):
        rlax.compute_parametric_kl_penalty_and_dual_loss([], PROJ)


def test_mpo_loss_combines_terms(np_rng):
    lp = np_rng.normal(size=(4, 3)).astype(np.float32)
    q = np_rng.normal(size=(4, 3)).astype(np.float32)
    kl = np_rng.uniform(size=3).astype(np.float32)
    tc = rlax.LagrangePenalty(jnp.asarray(0.5), 0.1)
    kc = [(kl, rlax.LagrangePenalty(jnp.asarray(2.0), 0.01))]
    fn = functools.partial(
        rlax.mpo_loss, temperature_constraint=tc, kl_constraints=kc, policy_loss_weight=2.0
    )
    loss, out = check_variants(fn, lp, q)
    w = np.asarray(out.normalized_weights)
    np.testing.assert_allclose(out.policy_loss, -(w * lp).sum(0), rtol=1e-5)
    np.testing.assert_allclose(
        loss, 2.0 * out.policy_loss + out.temperature_loss + out.kl_loss + out.alpha_loss, rtol=1e-5
    )
    # Policy gradient flows into log-probs only through the (stopped) weights.
    g_q = jax.grad(lambda q_: jnp.sum(fn(lp, q_)[1].policy_loss))(q)
    np.testing.assert_array_equal(g_q, np.zeros_like(q))
    with pytest.raises(ValueError, match=r"mpo_loss.*`sample_q_values`"):
        fn(lp, q[:, :2])


def _np_vmpo(adv, rw, iw, eta, eps, frac):
    flat = adv.ravel()
    valid = rw.ravel() > 0
    k = int(frac * flat.size)
    order = [i for i in np.argsort(-flat, kind="stable") if valid[i]][:k]
    mask = np.zeros(flat.size)
    mask[order] = 1.0
    mask = mask.reshape(adv.shape)
    e = mask * iw * np.exp(adv / eta)
    weights = e / e.sum()
    temp_loss = eta * (eps + np.log(e.sum() / mask.sum()))
    return temp_loss, weights, mask.sum()


@pytest.mark.parametrize("frac", [0.5, 1.0, 0.25])
def test_vmpo_e_step_matches_numpy(np_rng, frac):
    adv = np_rng.normal(size=(4, 2)).astype(np.float64)
    rw = np.ones((4, 2))
    rw[1, 1] = 0.0
    iw = np_rng.uniform(0.5, 2.0, size=(4, 2))
    tc = rlax.LagrangePenalty(jnp.asarray(0.5), 0.1)
    loss, w, n = rlax.vmpo_compute_weights_and_temperature_loss(
        jnp.asarray(adv, jnp.float32),
        jnp.asarray(rw, jnp.float32),
        jnp.asarray(iw, jnp.float32),
        tc,
        PROJ,
        frac,
    )
    e_loss, e_w, e_n = _np_vmpo(adv, rw, iw, 0.5, 0.1, frac)
    np.testing.assert_allclose(w, e_w, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(loss, e_loss, rtol=1e-5)
    np.testing.assert_allclose(n, e_n)


def test_vmpo_loss_policy_term_and_large_advantages(np_rng):
    lp = np_rng.normal(size=(4, 2)).astype(np.float32)
    adv = np_rng.normal(size=(4, 2)).astype(np.float32) * 1000.0
    kl = np_rng.uniform(size=(4, 2)).astype(np.float32)
    tc = rlax.LagrangePenalty(jnp.asarray(0.5), 0.1)
    kc = [(kl, rlax.LagrangePenalty(jnp.asarray(2.0), 0.01))]
    loss, out = jax.jit(lambda lp, adv: rlax.vmpo_loss(lp, adv, tc, kc))(lp, adv)
    assert np.all(np.isfinite(loss))
    w = np.asarray(out.normalized_weights)
    # Huge advantages: all weight on the best entry.
    np.testing.assert_allclose(w.max(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(out.policy_loss, -lp * w * 8, rtol=1e-5)
    with pytest.raises(ValueError, match=r"top_k_fraction"):
        rlax.vmpo_loss(lp, adv, tc, kc, top_k_fraction=0.01)
    with pytest.raises(ValueError, match=r"vmpo_loss.*`advantages`"):
        rlax.vmpo_loss(lp, adv[:2], tc, kc)


@pytest.mark.multidevice
def test_vmpo_cross_device_equals_single_device(np_rng):
    assert jax.device_count() == 8
    lp = np_rng.normal(size=(8, 3)).astype(np.float32)
    adv = np_rng.normal(size=(8, 3)).astype(np.float32)
    kl = np_rng.uniform(size=(8, 3)).astype(np.float32)
    tc = rlax.LagrangePenalty(jnp.asarray(0.5), 0.1)

    def fn(lp, adv, kl, axis_name=None):
        kc = [(kl, rlax.LagrangePenalty(jnp.asarray(2.0), 0.01))]
        return rlax.vmpo_loss(lp, adv, tc, kc, axis_name=axis_name)

    sharded = jax.pmap(functools.partial(fn, axis_name="d"), axis_name="d")(lp, adv, kl)
    whole = fn(lp, adv, kl)
    np.testing.assert_allclose(
        sharded[1].normalized_weights, whole[1].normalized_weights, rtol=1e-5
    )
    np.testing.assert_allclose(sharded[0], whole[0], rtol=1e-5)


def test_mpo_per_dimension_temperature_broadcasts_explicitly(np_rng):
    q = np_rng.normal(size=(4, 3, 2)).astype(np.float32)
    tc = rlax.LagrangePenalty(jnp.array([0.5, 2.0]), 0.1, True)
    loss, w, _ = rlax.mpo_compute_weights_and_temperature_loss(q, tc, PROJ)
    for d, eta in enumerate([0.5, 2.0]):
        qt = q[..., d].astype(np.float64) / eta
        np.testing.assert_allclose(w[..., d], np.exp(qt - _np_logsumexp(qt, 0)[None]), rtol=1e-5)
        np.testing.assert_allclose(
            loss[:, d], eta * (0.1 + _np_logsumexp(qt, 0) - np.log(4)), rtol=1e-5
        )


@pytest.mark.x64
def test_mpo_and_vmpo_temperature_grads_match_finite_differences(np_rng):
    from shared_testing.grads import assert_grads_numerical

    q = jnp.asarray(np_rng.normal(size=(4, 3)))
    adv = jnp.asarray(np_rng.normal(size=(6,)))
    ones = jnp.ones(6)

    def mpo_temp(alpha, q):
        tc = rlax.LagrangePenalty(alpha, 0.1)
        return jnp.sum(rlax.mpo_compute_weights_and_temperature_loss(q, tc, PROJ)[0])

    def vmpo_temp(alpha, adv):
        tc = rlax.LagrangePenalty(alpha, 0.1)
        out = rlax.vmpo_compute_weights_and_temperature_loss(adv, ones, ones, tc, PROJ, 0.5)
        return out[0]

    assert_grads_numerical(mpo_temp, (jnp.asarray(0.7), q), order=1, modes=("rev",))
    assert_grads_numerical(vmpo_temp, (jnp.asarray(0.7), adv), order=1, modes=("rev",))
