"""Tests for rlax_core categorical (C51) and quantile (QR-DQN) learners."""

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


def np_project(z_p, probs, z_q):
    """Reference C51 projection: each (clipped) atom splits its mass between neighbours."""
    out = np.zeros(len(z_q))
    for zj, pj in zip(np.clip(z_p, z_q[0], z_q[-1]), probs, strict=True):
        i = np.searchsorted(z_q, zj, side="right") - 1
        if i >= len(z_q) - 1:
            out[-1] += pj
            continue
        w = (zj - z_q[i]) / (z_q[i + 1] - z_q[i])
        out[i] += pj * (1 - w)
        out[i + 1] += pj * w
    return out


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_projection_hand_values():
    z_q = jnp.array([0.0, 1.0, 2.0])
    # atom at 0.25 -> 0.75 / 0.25 on atoms 0 / 1; atom at 5 clipped to 2.
    out = rlax.categorical_l2_project(jnp.array([0.25, 5.0]), jnp.array([0.4, 0.6]), z_q)
    np.testing.assert_allclose(out, [0.3, 0.1, 0.6], rtol=1e-6)


@pytest.mark.parametrize("uneven", [False, True])
def test_projection_matches_numpy(np_rng, uneven):
    z_q = np.cumsum(np_rng.uniform(0.2, 1.0, 7)) - 3 if uneven else np.linspace(-2, 2, 7)
    z_q = z_q.astype(np.float32)
    z_p = (np_rng.normal(size=9) * 3).astype(np.float32)
    probs = np_softmax(np_rng.normal(size=9)).astype(np.float32)
    out = rlax.categorical_l2_project(z_p, probs, z_q)
    np.testing.assert_allclose(out, np_project(z_p, probs, z_q), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.sum(out), 1.0, rtol=1e-5)


_project = jax.jit(rlax.categorical_l2_project)


@given(st.integers(0, 2**31 - 1))
def test_projection_preserves_mass_and_mean_inside_support(seed):
    rng = np.random.default_rng(seed)
    z_q = np.linspace(-5, 5, 11).astype(np.float32)
    z_p = rng.uniform(-5, 5, size=6).astype(np.float32)
    probs = np_softmax(rng.normal(size=6)).astype(np.float32)
    out = np.asarray(_project(z_p, probs, z_q))
    np.testing.assert_allclose(out.sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose((out * z_q).sum(), (probs * z_p).sum(), atol=1e-4)
    assert (out >= 0).all()


def test_categorical_td_learning_matches_reference(np_rng):
    atoms = np.linspace(-2, 2, 5).astype(np.float32)
    l_tm1, l_t = (np_rng.normal(size=5).astype(np.float32) for _ in range(2))
    r, d = np.float32(0.3), np.float32(0.9)
    target = np_project(r + d * atoms, np_softmax(l_t), atoms)
    expected = -(target * np.log(np_softmax(l_tm1))).sum()
    out = rlax.categorical_td_learning(atoms, l_tm1, r, d, atoms, l_t)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_categorical_q_learning_and_double(np_rng):
    atoms = np.linspace(-2, 2, 5).astype(np.float32)
    l_tm1 = np_rng.normal(size=(3, 5)).astype(np.float32)
    l_t = np_rng.normal(size=(3, 5)).astype(np.float32)
    r, d, a = np.float32(0.3), np.float32(0.9), np.int32(1)
    greedy = int(np.argmax((np_softmax(l_t) * atoms).sum(-1)))
    target = np_project(r + d * atoms, np_softmax(l_t[greedy]), atoms)
    expected = -(target * np.log(np_softmax(l_tm1[a]))).sum()
    out = rlax.categorical_q_learning(atoms, l_tm1, a, r, d, atoms, l_t)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    sel = np.zeros(3, np.float32)
    sel[(greedy + 1) % 3] = 1.0
    target = np_project(r + d * atoms, np_softmax(l_t[(greedy + 1) % 3]), atoms)
    expected = -(target * np.log(np_softmax(l_tm1[a]))).sum()
    out = rlax.categorical_double_q_learning(atoms, l_tm1, a, r, d, atoms, l_t, sel)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_categorical_stop_gradients_and_extreme_logits(np_rng):
    atoms = jnp.linspace(-2.0, 2.0, 5)
    l_tm1 = jnp.asarray(np_rng.normal(size=5), jnp.float32)
    l_t = jnp.array([100.0, -100.0, 0.0, 50.0, -50.0])

    def loss(l_tm1, l_t, stop):
        return rlax.categorical_td_learning(atoms, l_tm1, 0.1, 0.9, atoms, l_t, stop)

    g_tm1, g_t = jax.grad(loss, argnums=(0, 1))(l_tm1, l_t, True)
    np.testing.assert_array_equal(g_t, 0.0)
    assert np.isfinite(np.asarray(g_tm1)).all()
    assert np.isfinite(float(loss(l_tm1, l_t, True)))
    _, g_t = jax.grad(loss, argnums=(0, 1))(l_tm1, l_t * 0.01, False)
    assert np.abs(np.asarray(g_t)).sum() > 0


def np_quantile_loss(src, tau, tgt, kappa=0.0):
    u = tgt[None, :] - src[:, None]
    w = np.abs(tau[:, None] - (u < 0))
    if kappa > 0:
        rho = np.where(np.abs(u) <= kappa, 0.5 * u**2, kappa * (np.abs(u) - 0.5 * kappa))
    else:
        rho = np.abs(u)
    return (w * rho).mean(-1).sum()


@pytest.mark.parametrize("kappa", [0.0, 0.5])
def test_quantile_regression_loss(np_rng, kappa):
    src = np_rng.normal(size=4).astype(np.float32)
    tau = ((np.arange(4) + 0.5) / 4).astype(np.float32)
    tgt = np_rng.normal(size=6).astype(np.float32)
    np.testing.assert_allclose(
        rlax.quantile_regression_loss(src, tau, tgt, kappa),
        np_quantile_loss(src, tau, tgt, kappa),
        rtol=1e-5,
    )
    g = jax.grad(lambda t: rlax.quantile_regression_loss(src, tau, t, kappa))(tgt)
    np.testing.assert_array_equal(g, 0.0)  # stop_target_gradients=True by default


def test_quantile_q_learning_and_expected_sarsa(np_rng):
    n, m, a_n = 4, 5, 3
    dq_tm1 = np_rng.normal(size=(n, a_n)).astype(np.float32)
    tau = ((np.arange(n) + 0.5) / n).astype(np.float32)
    sel = np_rng.normal(size=(m, a_n)).astype(np.float32)
    dq_t = np_rng.normal(size=(m, a_n)).astype(np.float32)
    r, d, a = np.float32(0.5), np.float32(0.9), np.int32(2)
    a_star = int(np.argmax(sel.mean(0)))
    expected = np_quantile_loss(dq_tm1[:, a], tau, r + d * dq_t[:, a_star], 1.0)
    np.testing.assert_allclose(
        rlax.quantile_q_learning(dq_tm1, tau, a, r, d, sel, dq_t, 1.0), expected, rtol=1e-5
    )
    probs = np_softmax(np_rng.normal(size=a_n)).astype(np.float32)
    expected = sum(
        probs[b] * np_quantile_loss(dq_tm1[:, a], tau, r + d * dq_t[:, b]) for b in range(a_n)
    )
    np.testing.assert_allclose(
        rlax.quantile_expected_sarsa(dq_tm1, tau, a, r, d, dq_t, probs), expected, rtol=1e-5
    )


def test_variants(np_rng):
    atoms = jnp.linspace(-1.0, 1.0, 5)
    l_tm1 = jnp.asarray(np_rng.normal(size=(2, 3, 5)), jnp.float32)
    l_t = jnp.asarray(np_rng.normal(size=(2, 3, 5)), jnp.float32)
    a = jnp.array([0, 2])
    r = jnp.array([0.1, -0.4])
    d = jnp.array([0.9, 0.0])

    def fn(l_tm1, a, r, d, l_t):
        return rlax.categorical_q_learning(atoms, l_tm1, a, r, d, atoms, l_t)

    check_variants(
        fn,
        l_tm1[0],
        a[0],
        r[0],
        d[0],
        l_t[0],
        vmap_args=(l_tm1, a, r, d, l_t),
        rtol=1e-5,
        atol=1e-6,
    )


def test_errors():
    atoms = jnp.linspace(-1.0, 1.0, 5)
    with pytest.raises(
        ValueError, match=r"categorical_l2_project: `probs` must have the same shape"
    ):
        rlax.categorical_l2_project(atoms, jnp.ones(4), atoms)
    with pytest.raises(
        ValueError, match=r"categorical_q_learning: `q_logits_tm1` must have shape \(\*, 5\)"
    ):
        rlax.categorical_q_learning(atoms, jnp.ones((3, 4)), 0, 0.0, 0.9, atoms, jnp.ones((3, 5)))
    with pytest.raises(
        ValueError, match=r"quantile_regression_loss: `tau_src` must have the same shape"
    ):
        rlax.quantile_regression_loss(jnp.ones(3), jnp.ones(4), jnp.ones(5))
    with pytest.raises(TypeError, match=r"quantile_q_learning: `a_tm1` must have a int dtype"):
        rlax.quantile_q_learning(
            jnp.ones((3, 2)), jnp.ones(3), 0.0, 0.0, 0.9, jnp.ones((4, 2)), jnp.ones((4, 2))
        )


@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_quantile_gradients_match_numerical(np_rng, kappa):
    # Gradients w.r.t. the source quantiles (single-target 2-D path and the [N, K, M]
    # mixture path), and w.r.t. targets / mixture weights when not stopped.
    n, m, a_n = 3, 4, 3
    dq_tm1 = np_rng.normal(size=(n, a_n))
    tau = (np.arange(n) + 0.5) / n
    dq_t = np_rng.normal(size=(m, a_n))
    probs = np_softmax(np_rng.normal(size=a_n))
    r, d, a = 0.5, 0.9, 1

    def np_sarsa(dq_tm1, dq_t, probs):
        return sum(
            probs[b] * np_quantile_loss(dq_tm1[:, a], tau, r + d * dq_t[:, b], kappa)
            for b in range(a_n)
        )

    def numerical(f, x, eps=1e-3):
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            e = np.zeros_like(x)
            e[i] = eps
            g[i] = (f(x + e) - f(x - e)) / (2 * eps)
        return g

    f32 = functools.partial(jnp.asarray, dtype=jnp.float32)
    args = (f32(dq_tm1), f32(tau), a, f32(r), f32(d), f32(dq_t), f32(probs), kappa)
    g_src, g_t, g_p = jax.grad(rlax.quantile_expected_sarsa, argnums=(0, 5, 6))(
        *args, stop_target_gradients=False
    )
    np.testing.assert_allclose(
        g_src, numerical(lambda x: np_sarsa(x, dq_t, probs), dq_tm1), rtol=1e-2, atol=1e-3
    )
    np.testing.assert_allclose(
        g_t, numerical(lambda x: np_sarsa(dq_tm1, x, probs), dq_t), rtol=1e-2, atol=1e-3
    )
    np.testing.assert_allclose(
        g_p, numerical(lambda x: np_sarsa(dq_tm1, dq_t, x), probs), rtol=1e-2, atol=1e-3
    )
    g_stopped = jax.grad(rlax.quantile_expected_sarsa, argnums=(5, 6))(*args)
    np.testing.assert_array_equal(g_stopped[0], 0.0)
    np.testing.assert_array_equal(g_stopped[1], 0.0)

    tgt = dq_t[:, 0]
    g_src, g_tgt = jax.grad(rlax.quantile_regression_loss, argnums=(0, 2))(
        f32(dq_tm1[:, 0]), f32(tau), f32(tgt), kappa, False
    )
    np.testing.assert_allclose(
        g_src,
        numerical(lambda x: np_quantile_loss(x, tau, tgt, kappa), dq_tm1[:, 0]),
        rtol=1e-2,
        atol=1e-3,
    )
    np.testing.assert_allclose(
        g_tgt,
        numerical(lambda x: np_quantile_loss(dq_tm1[:, 0], tau, x, kappa), tgt),
        rtol=1e-2,
        atol=1e-3,
    )
