"""Tests for the PPO companions and KL estimators against NumPy references from the papers."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax

T, B = 7, 4


# ----------------------------------------------------------------------------- clipped value loss


def _np_clipped_value_loss(v, v_old, ret, eps):
    """CleanRL / PPO2: 0.5 * max(unclipped, clipped) squared error, one element at a time."""
    v, v_old, ret = np.broadcast_arrays(*(np.asarray(a, np.float64) for a in (v, v_old, ret)))
    out = np.empty(v.shape)
    for i in np.ndindex(v.shape):
        delta = min(max(v[i] - v_old[i], -eps), eps)
        out[i] = 0.5 * max((v[i] - ret[i]) ** 2, (v_old[i] + delta - ret[i]) ** 2)
    return out


def test_clipped_value_loss_matches_numpy(np_rng):
    v, v_old, ret = (np_rng.normal(size=(B, T)).astype(np.float32) for _ in range(3))
    fn = functools.partial(rlax.clipped_value_loss, clip_epsilon=0.2)
    out = check_variants(fn, v[0], v_old[0], ret[0], vmap_args=(v, v_old, ret))
    np.testing.assert_allclose(out, _np_clipped_value_loss(v[0], v_old[0], ret[0], 0.2), rtol=1e-6)
    full = fn(v, v_old, ret)
    assert full.shape == (B, T) and full.dtype == jnp.float32
    np.testing.assert_allclose(full, _np_clipped_value_loss(v, v_old, ret, 0.2), rtol=1e-6)
    # Broadcasting: a scalar return target.
    np.testing.assert_allclose(
        fn(v[0], v_old[0], np.float32(0.5)),
        _np_clipped_value_loss(v[0], v_old[0], 0.5, 0.2),
        rtol=1e-6,
    )


def test_clipped_value_loss_hand_values_and_gradients():
    # Element 0: v moved 1.0 towards R=2 but the clipped prediction (0.5) is further from R:
    # 0.5 * (0.5 - 2)^2 = 1.125, and its gradient w.r.t. v is 0 (the clip is flat).
    # Element 1: v overshoots R=0; clipped 0.5 is closer, so the unclipped 0.5 * 9 = 4.5 wins
    # with gradient v - R = 3.
    v = jnp.array([1.0, 3.0])
    v_old = jnp.zeros(2)
    ret = jnp.array([2.0, 0.0])
    out = rlax.clipped_value_loss(v, v_old, ret, 0.5)
    np.testing.assert_allclose(out, [1.125, 4.5], rtol=1e-6)
    g = jax.grad(lambda x: jnp.sum(rlax.clipped_value_loss(x, v_old, ret, 0.5)))(v)
    np.testing.assert_allclose(g, [0.0, 3.0], rtol=1e-6)
    # Inside the band, the loss is the plain 0.5 * squared error.
    np.testing.assert_allclose(
        rlax.clipped_value_loss(jnp.array([0.1]), jnp.zeros(1), jnp.array([1.0]), 0.5),
        [0.5 * 0.81],
        rtol=1e-6,
    )
    # v_old and the returns receive no gradient by default.
    g_old, g_ret = jax.grad(
        lambda a, b: jnp.sum(rlax.clipped_value_loss(v, a, b, 0.5)), argnums=(0, 1)
    )(v_old, ret)
    np.testing.assert_array_equal(g_old, np.zeros(2))
    np.testing.assert_array_equal(g_ret, np.zeros(2))
    g_ret = jax.grad(
        lambda b: jnp.sum(rlax.clipped_value_loss(v, v_old, b, 0.5, use_stop_gradient=False))
    )(ret)
    np.testing.assert_allclose(g_ret, [1.5, -3.0], rtol=1e-6)


def test_clipped_value_loss_update_lowers_loss(np_rng):
    # Linear value function on random features; one SGD step on the mean loss lowers it.
    x = jnp.asarray(np_rng.normal(size=(32, 3)), jnp.float32)
    w = jnp.asarray(np_rng.normal(size=3), jnp.float32)
    v_old = x @ w
    returns = v_old + jnp.asarray(np_rng.normal(size=32), jnp.float32)

    def loss(params):
        return jnp.mean(rlax.clipped_value_loss(x @ params, v_old, returns, 0.2))

    opt = optax.sgd(0.05)
    # First step from the old parameters (inside the band), then a second one.
    params = w
    state = opt.init(params)
    for _ in range(2):
        before = float(loss(params))
        updates, state = opt.update(jax.grad(loss)(params), state)
        params = optax.apply_updates(params, updates)
        assert float(loss(params)) < before


def test_clipped_value_loss_errors():
    with pytest.raises(TypeError, match=r"clipped_value_loss.*`returns_t`.*float"):
        rlax.clipped_value_loss(jnp.zeros(3), jnp.zeros(3), jnp.zeros(3, jnp.int32), 0.2)
    with pytest.raises(ValueError, match=r"clipped_value_loss.*do not broadcast.*`v_old_t` \(2,\)"):
        rlax.clipped_value_loss(jnp.zeros(3), jnp.zeros(2), jnp.zeros(3), 0.2)


# ----------------------------------------------------------------------------- dual-clip PPO


def _np_dual_clip(ratios, adv, eps, c):
    """Ye et al. (2020) eq. (5), as a loss averaged over time."""
    total = 0.0
    for r, a in zip(np.float64(ratios), np.float64(adv), strict=True):
        ppo = min(r * a, min(max(r, 1 - eps), 1 + eps) * a)
        total += max(ppo, c * a) if a < 0 else ppo
    return -total / len(ratios)


def test_dual_clip_ppo_loss_matches_numpy(np_rng):
    ratios = np.exp(np_rng.normal(scale=1.0, size=(B, T))).astype(np.float32)
    adv = np_rng.normal(size=(B, T)).astype(np.float32)
    fn = functools.partial(rlax.dual_clip_ppo_loss, epsilon=0.2, dual_clip_c=2.0)
    out = check_variants(fn, ratios[0], adv[0], vmap_args=(ratios, adv))
    np.testing.assert_allclose(out, _np_dual_clip(ratios[0], adv[0], 0.2, 2.0), rtol=1e-5)
    assert out.shape == () and out.dtype == jnp.float32
    for b in range(B):
        np.testing.assert_allclose(
            rlax.dual_clip_ppo_loss(ratios[b], adv[b], 0.1),
            _np_dual_clip(ratios[b], adv[b], 0.1, 3.0),
            rtol=1e-5,
        )


def test_dual_clip_ppo_loss_reduces_to_ppo_and_hand_values():
    ratios = jnp.array([5.0, 0.5, 1.5, 0.5])
    adv = jnp.array([-1.0, -1.0, 2.0, 2.0])
    # Hand values (eps = 0.2, c = 3): -3 (dual clip), -0.8, 2.4 (clipped), 1.0.
    np.testing.assert_allclose(
        rlax.dual_clip_ppo_loss(ratios, adv, 0.2), -(-3.0 - 0.8 + 2.4 + 1.0) / 4, rtol=1e-6
    )
    # Without the dual bound it is PPO: r = 5 with A = -1 gives -5.
    ppo_hand = -(-5.0 - 0.8 + 2.4 + 1.0) / 4
    np.testing.assert_allclose(
        rlax.dual_clip_ppo_loss(ratios, adv, 0.2, dual_clip_c=np.inf), ppo_hand, rtol=1e-6
    )
    np.testing.assert_allclose(
        rlax.clipped_surrogate_pg_loss(ratios, adv, 0.2), ppo_hand, rtol=1e-6
    )


def test_dual_clip_ppo_loss_gradients():
    ratios = jnp.array([5.0, 0.9, 1.1])
    adv = jnp.array([-1.0, -1.0, 1.0])
    g = jax.grad(rlax.dual_clip_ppo_loss)(ratios, adv, 0.2)
    # Dual-clipped element: constant c*A, no gradient; the others: -A / T.
    np.testing.assert_allclose(g, [0.0, 1.0 / 3, -1.0 / 3], rtol=1e-6)
    np.testing.assert_array_equal(
        jax.grad(rlax.dual_clip_ppo_loss, argnums=1)(ratios, adv, 0.2), np.zeros(3)
    )
    g_adv = jax.grad(
        functools.partial(rlax.dual_clip_ppo_loss, use_stop_gradient=False), argnums=1
    )(ratios, adv, 0.2)
    np.testing.assert_allclose(g_adv, [-3.0 / 3, -0.9 / 3, -1.1 / 3], rtol=1e-6)


def test_dual_clip_ppo_update_moves_probabilities(np_rng):
    # Softmax policy over 3 actions; one Adam step raises pi(a) where A > 0 and lowers it
    # where A < 0 (ratios start at 1).
    logits = jnp.asarray(np_rng.normal(size=(2, 3)), jnp.float32)
    actions = jnp.array([0, 1])
    adv = jnp.array([1.0, -1.0])
    old_logp = jax.nn.log_softmax(logits)[jnp.arange(2), actions]

    def loss(p):
        logp = jax.nn.log_softmax(p)[jnp.arange(2), actions]
        return rlax.dual_clip_ppo_loss(jnp.exp(logp - old_logp), adv, 0.2)

    opt = optax.adam(1e-2)
    updates, _ = opt.update(jax.grad(loss)(logits), opt.init(logits))
    new_logp = jax.nn.log_softmax(optax.apply_updates(logits, updates))[jnp.arange(2), actions]
    assert float(new_logp[0]) > float(old_logp[0])
    assert float(new_logp[1]) < float(old_logp[1])


def test_dual_clip_ppo_loss_errors():
    x = jnp.ones(3)
    with pytest.raises(ValueError, match=r"dual_clip_ppo_loss.*`prob_ratios_t`.*rank 1"):
        rlax.dual_clip_ppo_loss(jnp.ones((2, 3)), jnp.ones((2, 3)), 0.2)
    with pytest.raises(ValueError, match=r"dual_clip_ppo_loss.*`dual_clip_c`.*> 1.*got 1.0"):
        rlax.dual_clip_ppo_loss(x, x, 0.2, dual_clip_c=1.0)
    with pytest.raises(TypeError, match=r"dual_clip_ppo_loss.*`adv_t`.*float"):
        rlax.dual_clip_ppo_loss(x, jnp.ones(3, jnp.int32), 0.2)
    with pytest.raises(ValueError, match=r"dual_clip_ppo_loss.*do not broadcast"):
        rlax.dual_clip_ppo_loss(x, jnp.ones(2), 0.2)


# ----------------------------------------------------------------------------- KL estimators


_Q = np.array([0.8, 0.15, 0.05])  # sampling distribution
_P = np.array([0.2, 0.3, 0.5])  # other distribution


def _kl(a, b):
    return float(sum(x * math.log(x / y) for x, y in zip(a, b, strict=True)))


@pytest.fixture
def kl_samples(np_rng):
    x = np_rng.choice(3, size=200_000, p=_Q)
    return np.log(_Q)[x].astype(np.float32), np.log(_P)[x].astype(np.float32)


def test_kl_estimators_direction_and_bias(kl_samples):
    sample_logp, other_logp = kl_samples
    kl_qp, kl_pq = _kl(_Q, _P), _kl(_P, _Q)
    assert abs(kl_qp - kl_pq) > 0.1  # the two directions differ clearly here
    k1 = rlax.kl_k1(sample_logp, other_logp)
    k2 = rlax.kl_k2(sample_logp, other_logp)
    k3 = rlax.kl_k3(sample_logp, other_logp)
    # k1 and k3 are unbiased for KL(sampling || other).
    assert abs(float(jnp.mean(k1)) - kl_qp) < 0.02
    assert abs(float(jnp.mean(k3)) - kl_qp) < 0.02
    # k2 and k3 are never negative; k1 is for some samples.
    assert float(jnp.min(k2)) >= 0 and float(jnp.min(k3)) >= 0 and float(jnp.min(k1)) < 0
    # k2 is biased for distributions this far apart; its expectation is the f-divergence
    # E_q[(log p/q)^2 / 2].
    k2_expected = sum(q * 0.5 * math.log(p / q) ** 2 for q, p in zip(_Q, _P, strict=True))
    assert abs(float(jnp.mean(k2)) - k2_expected) < 0.02
    assert abs(k2_expected - kl_qp) > 0.03


def test_kl_estimators_variance_close_distributions(np_rng):
    # For nearby distributions k3 has far lower variance than k1, and k2 is nearly unbiased.
    q = np.array([0.3, 0.3, 0.4])
    p = np.array([0.32, 0.29, 0.39])
    x = np_rng.choice(3, size=100_000, p=q)
    s, o = np.log(q)[x].astype(np.float32), np.log(p)[x].astype(np.float32)
    k1, k2, k3 = rlax.kl_k1(s, o), rlax.kl_k2(s, o), rlax.kl_k3(s, o)
    assert float(jnp.std(k3)) < 0.2 * float(jnp.std(k1))
    true = _kl(q, p)
    assert abs(float(jnp.mean(k2)) - true) < 0.1 * true + 1e-5


def test_kl_estimators_hand_values_and_variants(np_rng):
    s = np.log(np.array([0.5, 0.25], np.float32))
    o = np.log(np.array([0.25, 0.5], np.float32))
    r = np.array([0.5, 2.0])
    np.testing.assert_allclose(rlax.kl_k1(s, o), -np.log(r), rtol=1e-6)
    np.testing.assert_allclose(rlax.kl_k2(s, o), 0.5 * np.log(r) ** 2, rtol=1e-6)
    np.testing.assert_allclose(rlax.kl_k3(s, o), r - 1 - np.log(r), rtol=1e-5)
    # Identical distributions: all three are exactly 0.
    for est in (rlax.kl_k1, rlax.kl_k2, rlax.kl_k3):
        np.testing.assert_array_equal(est(s, s), np.zeros(2, np.float32))
    a, b = (np_rng.normal(size=(B, T)).astype(np.float32) for _ in range(2))
    for est in (rlax.kl_k1, rlax.kl_k2, rlax.kl_k3):
        out = check_variants(est, a[0], b[0], vmap_args=(a, b))
        assert out.shape == (T,) and out.dtype == jnp.float32
        assert est(a, np.float32(0.0)).shape == (B, T)  # broadcasts


def test_kl_k3_update_lowers_true_kl(np_rng):
    # Fit a softmax q_theta towards p by one Adam step on the q-weighted k3 values,
    # sum_x q(x) k3(x), whose value is exactly KL(q || p): the true KL must go down.
    p = jnp.asarray(_P, jnp.float32)
    theta = jnp.asarray(np_rng.normal(size=3), jnp.float32)

    def expected_k3(th):
        logq = jax.nn.log_softmax(th)
        return jnp.sum(jnp.exp(logq) * rlax.kl_k3(logq, jnp.log(p)))

    def true_kl(th):
        q = np.asarray(jax.nn.softmax(th), np.float64)
        return _kl(q, np.asarray(p, np.float64))

    opt = optax.adam(5e-2)
    updates, _ = opt.update(jax.grad(expected_k3)(theta), opt.init(theta))
    new_theta = optax.apply_updates(theta, updates)
    assert true_kl(new_theta) < true_kl(theta)


def test_kl_estimators_errors():
    for est in (rlax.kl_k1, rlax.kl_k2, rlax.kl_k3):
        name = est.__name__
        with pytest.raises(TypeError, match=rf"{name}.*`other_logp`.*float"):
            est(jnp.zeros(3), jnp.zeros(3, jnp.int32))
        with pytest.raises(ValueError, match=rf"{name}.*do not broadcast.*`sample_logp` \(3,\)"):
            est(jnp.zeros(3), jnp.zeros(2))


# ----------------------------------------------------------------------------- adaptive KL


def _np_adaptive(beta, d, d_targ, tol=1.5, factor=2.0):
    """PPO paper, sec. 4."""
    if d < d_targ / tol:
        return beta / factor
    if d > d_targ * tol:
        return beta * factor
    return beta


def test_adaptive_kl_coefficient_branches(np_rng):
    kls = [0.001, 0.0066, 0.01, 0.0149, 0.016, 0.5]
    out = rlax.adaptive_kl_coefficient(jnp.full(len(kls), 0.3), jnp.asarray(kls), 0.01)
    np.testing.assert_allclose(out, [_np_adaptive(0.3, d, 0.01) for d in kls], rtol=1e-6)
    # Custom band and factor.
    out = rlax.adaptive_kl_coefficient(0.3, 0.05, 0.01, tolerance=2.0, factor=10.0)
    np.testing.assert_allclose(out, 3.0, rtol=1e-6)
    # Exactly on a band edge: unchanged (strict inequalities).
    np.testing.assert_allclose(rlax.adaptive_kl_coefficient(1.0, 0.5, 0.25, 2.0), 1.0)
    np.testing.assert_allclose(rlax.adaptive_kl_coefficient(1.0, 0.125, 0.25, 2.0), 1.0)


def test_adaptive_kl_coefficient_jit_vmap_and_dtype(np_rng):
    coef = np_rng.uniform(0.1, 1.0, size=5).astype(np.float32)
    kl = np_rng.uniform(0.0, 0.05, size=5).astype(np.float32)
    out = check_variants(
        rlax.adaptive_kl_coefficient,
        coef[0],
        kl[0],
        np.float32(0.01),
        vmap_args=(coef, kl, np.full(5, 0.01, np.float32)),
    )
    assert out.dtype == jnp.float32 and out.shape == ()
    np.testing.assert_allclose(
        jax.jit(rlax.adaptive_kl_coefficient)(coef, kl, 0.01),
        [_np_adaptive(c, d, 0.01) for c, d in zip(coef, kl, strict=True)],
        rtol=1e-6,
    )
    # A coefficient held in a training loop stays in its dtype.
    assert rlax.adaptive_kl_coefficient(jnp.float32(1.0), 0.5, 0.1).dtype == jnp.float32


def test_adaptive_kl_coefficient_moves_towards_target():
    # Repeated updates against a KL that shrinks as beta grows push beta up until the
    # measured KL enters the band, then hold it.
    beta = jnp.float32(0.01)
    for _ in range(20):
        kl = 0.1 / (1.0 + 100.0 * beta)  # a penalty-sensitive KL, as in training
        beta = rlax.adaptive_kl_coefficient(beta, kl, 0.01)
    final_kl = 0.1 / (1.0 + 100.0 * float(beta))
    assert 0.01 / 1.5 <= final_kl <= 0.01 * 1.5
    assert float(beta) > 0.01


def test_adaptive_kl_coefficient_errors():
    with pytest.raises(ValueError, match=r"adaptive_kl_coefficient.*`factor`.*> 0.*got 0"):
        rlax.adaptive_kl_coefficient(1.0, 0.1, 0.1, factor=0.0)
    with pytest.raises(ValueError, match=r"adaptive_kl_coefficient.*`tolerance`.*got -1"):
        rlax.adaptive_kl_coefficient(1.0, 0.1, 0.1, tolerance=-1.0)
    with pytest.raises(TypeError, match=r"adaptive_kl_coefficient.*`coef`.*float"):
        rlax.adaptive_kl_coefficient(jnp.int32(1), 0.1, 0.1)
    with pytest.raises(ValueError, match=r"adaptive_kl_coefficient.*do not broadcast"):
        rlax.adaptive_kl_coefficient(jnp.ones(3), jnp.ones(2), 0.1)


# ----------------------------------------------------------------------------- advantages


def _np_normalize(adv, mask, eps, axis, ddof):
    """Masked standardisation with explicit Python sums; `axis` None reduces over everything."""
    adv = np.asarray(adv, np.float64)
    mask = np.broadcast_to(np.asarray(mask) != 0, adv.shape)
    if axis is None:
        rows_adv, rows_mask = adv.reshape(1, -1), mask.reshape(1, -1)
    else:
        rows_adv = np.moveaxis(adv, axis, -1).reshape(-1, adv.shape[axis])
        rows_mask = np.moveaxis(mask, axis, -1).reshape(-1, adv.shape[axis])
    out = np.zeros_like(rows_adv)
    for r in range(rows_adv.shape[0]):
        vals = [v for v, m in zip(rows_adv[r], rows_mask[r], strict=True) if m]
        if not vals:
            continue
        mean = sum(vals) / len(vals)
        std = math.sqrt(sum((v - mean) ** 2 for v in vals) / max(len(vals) - ddof, 1))
        for j in range(rows_adv.shape[1]):
            if rows_mask[r, j]:
                out[r, j] = (rows_adv[r, j] - mean) / (std + eps)
    if axis is None:
        return out.reshape(adv.shape)
    moved = np.moveaxis(adv, axis, -1).shape
    return np.moveaxis(out.reshape(moved), -1, axis)


@pytest.mark.parametrize("axis, ddof", [(None, 0), (None, 1), (0, 0), (1, 1)])
def test_normalize_advantages_matches_numpy(np_rng, axis, ddof):
    adv = np_rng.normal(loc=3.0, scale=2.0, size=(T, B)).astype(np.float32)
    mask = np_rng.uniform(size=(T, B)) < 0.7
    fn = functools.partial(rlax.normalize_advantages, axis=axis, ddof=ddof)
    out = check_variants(fn, adv, mask)
    np.testing.assert_allclose(
        out, _np_normalize(adv, mask, 1e-8, axis, ddof), rtol=1e-5, atol=1e-6
    )
    assert out.dtype == jnp.float32 and out.shape == (T, B)
    # No mask: every entry counts.
    np.testing.assert_allclose(
        fn(adv), _np_normalize(adv, np.ones_like(mask), 1e-8, axis, ddof), rtol=1e-5, atol=1e-6
    )


def test_normalize_advantages_mask_semantics():
    adv = jnp.array([1.0, 3.0, jnp.nan, jnp.inf])
    mask = jnp.array([1.0, 1.0, 0.0, 0.0])
    out = rlax.normalize_advantages(adv, mask)
    np.testing.assert_allclose(out, [-1.0, 1.0, 0.0, 0.0], rtol=1e-6)
    g = jax.grad(lambda a: jnp.sum(rlax.normalize_advantages(a, mask) * jnp.arange(4.0)))(adv)
    assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[2:] == 0)
    # Broadcast mask: a [T, 1] time mask over [T, B] advantages.
    adv2 = jnp.arange(6.0).reshape(3, 2)
    out2 = rlax.normalize_advantages(adv2, jnp.array([[1], [1], [0]]))
    np.testing.assert_allclose(out2[2], [0.0, 0.0])
    np.testing.assert_allclose(
        out2[:2], _np_normalize(adv2[:2], np.ones((2, 2)), 1e-8, None, 0), rtol=1e-5
    )
    # Nothing valid, or a constant batch: zeros with finite gradients.
    np.testing.assert_array_equal(
        rlax.normalize_advantages(adv2, jnp.zeros((3, 2))), np.zeros((3, 2))
    )
    np.testing.assert_array_equal(rlax.normalize_advantages(jnp.full(4, 2.0)), np.zeros(4))
    g = jax.grad(lambda a: jnp.sum(rlax.normalize_advantages(a) * jnp.arange(4.0)))(
        jnp.full(4, 2.0)
    )
    assert np.all(np.isfinite(g))
    # Low precision: a constant float16 batch (where eps = 1e-8 underflows) gives zeros, and
    # bfloat16 stays bfloat16.
    np.testing.assert_array_equal(
        rlax.normalize_advantages(jnp.full(4, 2.0, jnp.float16)), np.zeros(4, np.float16)
    )
    low = rlax.normalize_advantages(jnp.array([1.0, 2.0, 3.0], jnp.bfloat16))
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(low, np.float32), [-1.2247, 0.0, 1.2247], rtol=1e-2)
    # vmap over environments (per-column normalisation) equals axis=0.
    np.testing.assert_allclose(
        jax.vmap(rlax.normalize_advantages, in_axes=1, out_axes=1)(adv2),
        rlax.normalize_advantages(adv2, axis=0),
        rtol=1e-6,
    )


def test_normalized_advantages_turn_all_positive_returns_into_a_preference(np_rng):
    # All raw advantages positive: plain REINFORCE raises every taken action's probability.
    # After normalisation the worst action gets a negative weight, so one SGD step on the
    # policy-gradient loss lowers its probability (a learned baseline in one line).
    logits = jnp.zeros((3, 3))
    actions = jnp.array([0, 1, 2])
    adv = rlax.normalize_advantages(jnp.array([1.0, 2.0, 3.0]))
    loss = functools.partial(rlax.policy_gradient_loss, a_t=actions, adv_t=adv, w_t=jnp.ones(3))
    opt = optax.sgd(0.5)
    updates, _ = opt.update(jax.grad(loss)(logits), opt.init(logits))
    pi = jax.nn.softmax(optax.apply_updates(logits, updates))
    assert float(pi[0, 0]) < 1 / 3 < float(pi[2, 2])


def test_normalize_advantages_errors():
    with pytest.raises(ValueError, match=r"normalize_advantages.*`mask`.*\(4,\).*got \(3,\)"):
        rlax.normalize_advantages(jnp.zeros(4), jnp.ones(3))
    with pytest.raises(TypeError, match=r"normalize_advantages.*`adv`.*float"):
        rlax.normalize_advantages(jnp.arange(4))
