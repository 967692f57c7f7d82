"""Tests for rlax_core's DreamerV3 ops: symlog/symexp, two-hot, return normaliser, KL balancing, unimix.

References follow the DreamerV3 paper's equations, written with explicit loops in float64.
"""

import doctest
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax
from rlax_core._src import dreamer


def _np_softmax(row):
    m = max(float(v) for v in row)
    e = [math.exp(float(v) - m) for v in row]
    s = sum(e)
    return [v / s for v in e]


def _ref_twohot(x, bins):
    """Two-hot weights of one scalar by scanning for the enclosing pair of bins."""
    bins = [float(b) for b in bins]
    w = [0.0] * len(bins)
    x = float(x)
    if x <= bins[0]:
        w[0] = 1.0
        return w
    if x >= bins[-1]:
        w[-1] = 1.0
        return w
    for k in range(len(bins) - 1):
        if bins[k] <= x < bins[k + 1]:
            frac = (x - bins[k]) / (bins[k + 1] - bins[k])
            w[k] = 1.0 - frac
            w[k + 1] = frac
            return w
    raise AssertionError("unreachable")


def _ref_kl(p_logits, q_logits):
    p = _np_softmax(p_logits)
    q = _np_softmax(q_logits)
    return sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q, strict=True) if pi > 0)


# --- symlog / symexp. ---


def test_symlog_symexp_match_formula_and_invert(np_rng):
    x = (np_rng.normal(size=(3, 5)) * 50).astype(np.float32)
    out = check_variants(rlax.symlog, x, vmap_args=(x,))
    expected = [[math.copysign(math.log(1 + abs(float(v))), v) for v in row] for row in x]
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    back = check_variants(rlax.symexp, out, vmap_args=(out,))
    np.testing.assert_allclose(back, x, rtol=1e-5)
    # Same functions as the existing signed_logp1 / signed_expm1 transforms.
    np.testing.assert_array_equal(rlax.symlog(x), rlax.signed_logp1(x))
    np.testing.assert_array_equal(rlax.symexp(out), rlax.signed_expm1(out))
    assert rlax.symlog(jnp.ones(2, jnp.bfloat16)).dtype == jnp.bfloat16
    # d symlog / dx = 1 / (1 + |x|).
    g = jax.grad(lambda v: jnp.sum(rlax.symlog(v)))(jnp.array([-3.0, 0.5]))
    np.testing.assert_allclose(g, [0.25, 1 / 1.5], rtol=1e-6)


def test_symlog_errors():
    with pytest.raises(TypeError, match=r"rlax_core\.symlog.*`x`.*float"):
        rlax.symlog(jnp.arange(3))
    with pytest.raises(TypeError, match=r"rlax_core\.symexp.*`x`.*float"):
        rlax.symexp(np.array([1, 2]))


# --- Two-hot. ---


def test_twohot_bins_formula_and_errors():
    bins = rlax.twohot_bins()
    assert bins.shape == (255,) and bins.dtype == jnp.float32
    for i in (0, 50, 127, 200, 254):
        z = -20.0 + 40.0 * i / 254
        np.testing.assert_allclose(
            bins[i], math.copysign(math.expm1(abs(z)), z), rtol=1e-5, atol=1e-6
        )
    assert bool(jnp.all(jnp.diff(bins) > 0))
    with pytest.raises(ValueError, match=r"twohot_bins.*`num_bins`.*>= 2"):
        rlax.twohot_bins(1)
    with pytest.raises(ValueError, match=r"twohot_bins.*`high`"):
        rlax.twohot_bins(5, 1.0, 1.0)


def test_twohot_encode_matches_reference(np_rng):
    bins = np.array([-3.0, -1.0, 0.0, 0.5, 2.0, 10.0], np.float32)
    x = np.array([[-5.0, -3.0, -2.0, 0.0], [0.25, 1.0, 9.0, 12.0]], np.float32)
    out = check_variants(rlax.twohot_encode, x, bins, vmap_args=(x, bins), in_axes=(0, None))
    expected = [[_ref_twohot(v, bins) for v in row] for row in x]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)
    assert out.shape == (2, 4, 6)
    # Within range, the weights reproduce x exactly (sum_i w_i b_i = x).
    inside = np_rng.uniform(-3.0, 10.0, size=50).astype(np.float32)
    w = np.asarray(rlax.twohot_encode(inside, bins), np.float64)
    np.testing.assert_allclose(w @ bins.astype(np.float64), inside, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-6)


def test_twohot_encode_default_bins_round_trip_over_many_scales():
    bins = rlax.twohot_bins()
    x = jnp.array([0.0, 1e-3, -0.7, 3.3, -250.0, 1234.5, 4e6])
    w = rlax.twohot_encode(x, bins)
    decoded = jnp.sum(w * bins[None, :], axis=-1)
    np.testing.assert_allclose(decoded, x, rtol=1e-5, atol=1e-6)
    # Symlog-space variant: uniform bins, symlog targets, symexp of the expectation.
    sbins = jnp.linspace(-20.0, 20.0, 255)
    w = rlax.twohot_encode(rlax.symlog(x), sbins)
    decoded = rlax.symexp(jnp.sum(w * sbins[None, :], axis=-1))
    np.testing.assert_allclose(decoded, x, rtol=1e-4, atol=1e-5)


def test_twohot_decode_and_cross_entropy_match_reference(np_rng):
    bins = np.linspace(-2.0, 2.0, 7).astype(np.float32)
    logits = np_rng.normal(size=(5, 7)).astype(np.float32)
    target = np.array([-3.0, -0.1, 0.0, 1.3, 2.0], np.float32)
    dec = check_variants(
        rlax.twohot_decode, logits, bins, vmap_args=(logits, bins), in_axes=(0, None)
    )
    expected = [
        sum(p * float(b) for p, b in zip(_np_softmax(row), bins, strict=True)) for row in logits
    ]
    np.testing.assert_allclose(dec, expected, rtol=1e-5, atol=1e-6)
    ce = check_variants(
        rlax.twohot_cross_entropy_loss,
        logits,
        target,
        bins,
        vmap_args=(logits, target, bins),
        in_axes=(0, 0, None),
    )
    expected = []
    for row, t in zip(logits, target, strict=True):
        p = _np_softmax(row)
        expected.append(
            -sum(w * math.log(pi) for w, pi in zip(_ref_twohot(t, bins), p, strict=True))
        )
    np.testing.assert_allclose(ce, expected, rtol=1e-5)
    # d CE / d logits = softmax - twohot; no gradient into the target.
    g_logits, g_target = jax.grad(
        lambda lg, t: jnp.sum(rlax.twohot_cross_entropy_loss(lg, t, bins)), argnums=(0, 1)
    )(logits, target)
    twohot = np.array([_ref_twohot(t, bins) for t in target])
    np.testing.assert_allclose(
        g_logits, np.array([_np_softmax(r) for r in logits]) - twohot, atol=1e-6
    )
    np.testing.assert_array_equal(g_target, np.zeros(5))


def test_twohot_errors():
    bins = jnp.linspace(-1.0, 1.0, 4)
    with pytest.raises(ValueError, match=r"twohot_encode.*`bins`.*rank 1"):
        rlax.twohot_encode(jnp.zeros(2), jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"twohot_encode.*`bins`.*at least 2"):
        rlax.twohot_encode(jnp.zeros(2), jnp.zeros(1))
    with pytest.raises(TypeError, match=r"twohot_encode.*`x`.*float"):
        rlax.twohot_encode(jnp.arange(2), bins)
    with pytest.raises(
        ValueError, match=r"twohot_decode.*`logits`.*last axis of size len\(bins\)=4"
    ):
        rlax.twohot_decode(jnp.zeros((2, 3)), bins)
    with pytest.raises(
        ValueError, match=r"twohot_cross_entropy_loss.*`logits`.*size len\(bins\)=4"
    ):
        rlax.twohot_cross_entropy_loss(jnp.zeros(5), jnp.float32(0.0), bins)
    with pytest.raises(ValueError, match=r"twohot_cross_entropy_loss.*do not broadcast"):
        rlax.twohot_cross_entropy_loss(jnp.zeros((3, 4)), jnp.zeros(2), bins)


def test_twohot_regression_step_moves_prediction_towards_target(np_rng):
    # A linear head over fixed features, trained with the two-hot loss on raw-space bins.
    bins = rlax.twohot_bins(41, -5.0, 5.0)
    feats = jnp.asarray(np_rng.normal(size=(16, 4)), jnp.float32)
    target = jnp.full((16,), 20.0)
    w = jnp.zeros((4, 41))
    loss = lambda w: jnp.mean(rlax.twohot_cross_entropy_loss(feats @ w, target, bins))
    opt = optax.adam(0.1)
    updates, _ = opt.update(jax.grad(loss)(w), opt.init(w))
    new = optax.apply_updates(w, updates)
    assert float(loss(new)) < float(loss(w))
    before = jnp.mean(rlax.twohot_decode(feats @ w, bins))
    after = jnp.mean(rlax.twohot_decode(feats @ new, bins))
    assert float(jnp.abs(after - 20.0)) < float(jnp.abs(before - 20.0))


# --- Percentile return normalisation. ---


def test_percentile_normalizer_matches_numpy_ema(np_rng):
    state = rlax.percentile_normalizer_init()
    assert float(state.range_ema) == 0.0 and state.range_ema.dtype == jnp.float32
    update = jax.jit(rlax.percentile_normalizer_update, static_argnames=("decay", "low", "high"))
    ema = 0.0
    for step in range(5):
        returns = (np_rng.normal(size=(8, 16)) * (10.0 + step)).astype(np.float32)
        state, scale = update(state, returns, decay=0.9)
        flat = returns.astype(np.float64).ravel()
        ema = 0.9 * ema + 0.1 * (np.percentile(flat, 95) - np.percentile(flat, 5))
        np.testing.assert_allclose(state.range_ema, ema, rtol=1e-5)
        np.testing.assert_allclose(scale, max(1.0, ema), rtol=1e-5)
    adv = np_rng.normal(size=7).astype(np.float32) * 30
    np.testing.assert_allclose(
        rlax.percentile_normalize(state, adv), adv / max(1.0, ema), rtol=1e-5
    )


def test_percentile_normalizer_small_returns_never_amplified_and_custom_percentiles():
    state, scale = rlax.percentile_normalizer_update(
        rlax.percentile_normalizer_init(), jnp.linspace(0.0, 0.1, 11), decay=0.0
    )
    assert float(scale) == 1.0
    np.testing.assert_allclose(state.range_ema, 0.09, rtol=1e-5)  # P95 - P5 of 0..0.1
    np.testing.assert_allclose(rlax.percentile_normalize(state, jnp.array([0.5])), [0.5])
    state, scale = rlax.percentile_normalizer_update(
        rlax.percentile_normalizer_init(), jnp.arange(101.0), decay=0.0, low=0.0, high=100.0
    )
    np.testing.assert_allclose(scale, 100.0)
    # Statistics carry no gradient into the returns or the normalised values' scale.
    g = jax.grad(
        lambda r: rlax.percentile_normalizer_update(rlax.percentile_normalizer_init(), r)[1]
    )(jnp.arange(10.0) * 100)
    np.testing.assert_array_equal(g, np.zeros(10))
    g = jax.grad(
        lambda s: jnp.sum(rlax.percentile_normalize(rlax.PercentileNormalizerState(s), jnp.ones(2)))
    )(jnp.float32(4.0))
    assert float(g) == 0.0


def test_percentile_normalizer_scale_tracks_a_wider_return_range(np_rng):
    state = rlax.percentile_normalizer_init()
    scales = []
    for _ in range(30):
        state, scale = rlax.percentile_normalizer_update(
            state, jnp.asarray(np_rng.uniform(-100.0, 100.0, size=256), jnp.float32)
        )
        scales.append(float(scale))
    assert all(b >= a for a, b in itertools.pairwise(scales))
    # After 30 updates with decay 0.99 the average reached 1 - 0.99^30 of the 180 range.
    np.testing.assert_allclose(scales[-1], (1 - 0.99**30) * 180.0, rtol=0.05)


def test_percentile_normalizer_errors():
    state = rlax.percentile_normalizer_init()
    with pytest.raises(ValueError, match=r"percentile_normalizer_update.*`decay`"):
        rlax.percentile_normalizer_update(state, jnp.ones(3), decay=1.0)
    with pytest.raises(ValueError, match=r"percentile_normalizer_update.*`high`.*\[0, 100\]"):
        rlax.percentile_normalizer_update(state, jnp.ones(3), high=101.0)
    with pytest.raises(ValueError, match=r"percentile_normalizer_update.*`high` must be >= `low`"):
        rlax.percentile_normalizer_update(state, jnp.ones(3), low=60.0, high=40.0)
    with pytest.raises(ValueError, match=r"percentile_normalizer_update.*`returns`.*empty"):
        rlax.percentile_normalizer_update(state, jnp.ones((0,)))
    with pytest.raises(TypeError, match=r"percentile_normalizer_update.*`returns`.*float"):
        rlax.percentile_normalizer_update(state, jnp.arange(3))
    with pytest.raises(TypeError, match=r"percentile_normalize.*`x`.*float"):
        rlax.percentile_normalize(state, jnp.arange(3))


# --- KL balancing. ---


def test_kl_balance_loss_matches_reference(np_rng):
    post = (np_rng.normal(size=(3, 4, 5)) * 2).astype(np.float32)
    prior = (np_rng.normal(size=(3, 4, 5)) * 2).astype(np.float32)
    out = check_variants(rlax.kl_balance_loss, post, prior, vmap_args=(post, prior))
    expected = []
    for b in range(3):
        kl = sum(_ref_kl(post[b, l], prior[b, l]) for l in range(4))
        expected.append(0.5 * max(1.0, kl) + 0.1 * max(1.0, kl))
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    out = rlax.kl_balance_loss(post, prior, dyn_scale=1.0, rep_scale=0.0, free_bits=0.0)
    expected = [sum(_ref_kl(post[b, l], prior[b, l]) for l in range(4)) for b in range(3)]
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_kl_balance_loss_gradient_split_and_free_bits(np_rng):
    post = (np_rng.normal(size=(4, 3)) * 3).astype(np.float32)
    prior = (np_rng.normal(size=(4, 3)) * 3).astype(np.float32)
    kl = sum(_ref_kl(post[l], prior[l]) for l in range(4))
    assert kl > 1.0

    def fd(f, x, eps=1e-3):
        g = np.zeros_like(x, np.float64)
        for idx in np.ndindex(*x.shape):
            d = np.zeros_like(x, np.float64)
            d[idx] = eps
            g[idx] = (f(x + d) - f(x - d)) / (2 * eps)
        return g

    post64, prior64 = post.astype(np.float64), prior.astype(np.float64)
    kl_of_prior = lambda pr: sum(_ref_kl(post64[l], pr[l]) for l in range(4))
    kl_of_post = lambda po: sum(_ref_kl(po[l], prior64[l]) for l in range(4))
    g_post, g_prior = jax.grad(
        lambda po, pr: rlax.kl_balance_loss(po, pr, dyn_scale=0.5, rep_scale=0.1), argnums=(0, 1)
    )(post, prior)
    # The prior only sees the dynamics term, the posterior only the representation term.
    np.testing.assert_allclose(g_prior, 0.5 * fd(kl_of_prior, prior64), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(g_post, 0.1 * fd(kl_of_post, post64), rtol=1e-3, atol=1e-4)
    # Below the free bits the loss is flat: value = (0.5 + 0.1) * free_bits and no gradient.
    near = post + 0.01
    value, grads = jax.value_and_grad(rlax.kl_balance_loss, argnums=(0, 1))(post, near)
    np.testing.assert_allclose(value, 0.6, rtol=1e-6)
    for g in grads:
        np.testing.assert_array_equal(g, np.zeros_like(g))


def test_kl_balance_step_brings_prior_towards_posterior(np_rng):
    post = jnp.asarray(np_rng.normal(size=(8, 6, 4)) * 3, jnp.float32)
    prior = jnp.zeros((8, 6, 4))
    kl = lambda pr: jnp.mean(
        rlax.kl_balance_loss(post, pr, dyn_scale=1.0, rep_scale=0.0, free_bits=0.0)
    )
    loss = lambda pr: jnp.mean(rlax.kl_balance_loss(post, pr))
    opt = optax.adam(0.1)
    updates, _ = opt.update(jax.grad(loss)(prior), opt.init(prior))
    assert float(kl(optax.apply_updates(prior, updates))) < float(kl(prior))


def test_kl_balance_errors():
    with pytest.raises(ValueError, match=r"kl_balance_loss.*`post_logits`.*rank >= 2"):
        rlax.kl_balance_loss(jnp.zeros(4), jnp.zeros(4))
    with pytest.raises(ValueError, match=r"kl_balance_loss.*do not broadcast"):
        rlax.kl_balance_loss(jnp.zeros((2, 3, 4)), jnp.zeros((5, 3, 4)))
    with pytest.raises(TypeError, match=r"kl_balance_loss.*`prior_logits`.*float"):
        rlax.kl_balance_loss(jnp.zeros((3, 4)), jnp.zeros((3, 4), jnp.int32))


# --- Unimix. ---


def test_unimix_logits_matches_reference(np_rng):
    logits = np_rng.normal(size=(3, 5)).astype(np.float32)
    out = check_variants(rlax.unimix_logits, logits, vmap_args=(logits,))
    expected = [[math.log(0.99 * p + 0.01 / 5) for p in _np_softmax(row)] for row in logits]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jnp.sum(jnp.exp(out), -1), np.ones(3), rtol=1e-6)
    np.testing.assert_allclose(
        rlax.unimix_logits(logits, 0.0), jax.nn.log_softmax(logits), rtol=1e-6, atol=1e-6
    )
    np.testing.assert_allclose(
        rlax.unimix_logits(logits, 1.0), np.full((3, 5), -math.log(5)), rtol=1e-6
    )
    # Every class keeps at least unimix / K probability, even a -inf logit.
    p = jnp.exp(rlax.unimix_logits(jnp.array([0.0, -jnp.inf, -jnp.inf, -jnp.inf])))
    np.testing.assert_allclose(p[1:], [0.0025] * 3, rtol=1e-5)
    g = jax.grad(lambda lg: rlax.unimix_logits(lg)[0])(jnp.array([1.0, 2.0]))
    assert bool(jnp.all(jnp.isfinite(g)))


def test_unimix_errors():
    with pytest.raises(ValueError, match=r"unimix_logits.*`unimix`.*\[0, 1\]"):
        rlax.unimix_logits(jnp.zeros(3), 1.5)
    with pytest.raises(ValueError, match=r"unimix_logits.*`logits`.*rank >= 1"):
        rlax.unimix_logits(jnp.float32(0.0))
    with pytest.raises(TypeError, match=r"unimix_logits.*`logits`.*float"):
        rlax.unimix_logits(jnp.arange(3))


def test_docstring_examples_run():
    result = doctest.testmod(dreamer, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 12 and result.failed == 0
