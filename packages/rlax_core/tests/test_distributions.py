"""Tests for rlax_core distributions: NumPy references, sampling statistics and properties."""

import collections
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_testing import strategies

import rlax_core as rlax


def _np_softmax(x, axis=-1):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.fixture
def logits(np_rng):
    return (np_rng.normal(size=(4, 5)) * 2).astype(np.float32)


@pytest.mark.parametrize("temperature", [1.0, 0.5])
def test_softmax_functions_match_numpy(logits, temperature):
    d = rlax.softmax(temperature)
    p = _np_softmax(logits / temperature)
    np.testing.assert_allclose(d.probs(logits), p, rtol=1e-5)
    a = np.array([0, 4, 2, 1])
    np.testing.assert_allclose(d.logprob(a, logits), np.log(p[np.arange(4), a]), rtol=1e-5)
    np.testing.assert_allclose(d.entropy(logits), -(p * np.log(p)).sum(-1), rtol=1e-5)
    q = _np_softmax(logits[::-1] / temperature)
    np.testing.assert_allclose(
        d.kl(logits, logits[::-1]), (p * (np.log(p) - np.log(q))).sum(-1), rtol=1e-4, atol=1e-6
    )


def test_softmax_sampling_frequencies(key):
    logits = jnp.log(jnp.array([0.1, 0.2, 0.7]))
    samples = jax.vmap(rlax.softmax().sample, in_axes=(0, None))(
        jax.random.split(key, 2000), logits
    )
    assert samples.dtype == jnp.int32 and samples.shape == (2000,)
    freq = np.bincount(np.asarray(samples), minlength=3) / 2000
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.03)


def test_softmax_sample_batched_shape_and_jit(key, logits):
    d = rlax.softmax()
    s = d.sample(key, logits)
    assert s.shape == (4,)
    np.testing.assert_array_equal(jax.jit(d.sample)(key, logits), s)
    # Deterministic per key.
    np.testing.assert_array_equal(d.sample(key, logits), s)


def test_softmax_very_large_logits_are_finite():
    d = rlax.softmax()
    big = jnp.array([1e4, -1e4, 0.0])
    np.testing.assert_allclose(d.probs(big), [1.0, 0.0, 0.0], atol=1e-7)
    assert np.isfinite(d.entropy(big))
    np.testing.assert_allclose(d.logprob(jnp.array(0), big), 0.0, atol=1e-6)
    assert np.all(np.isfinite(jax.grad(lambda x: d.entropy(x))(big)))


@given(n=st.integers(1, 8), c=st.floats(-50, 50))
def test_uniform_softmax_entropy_is_log_n(n, c):
    ent = rlax.softmax().entropy(jnp.full((n,), c, jnp.float32))
    np.testing.assert_allclose(ent, math.log(n), rtol=1e-5, atol=1e-6)


@given(x=strategies.logits((3, 4)), t=st.sampled_from([0.5, 1.0, 2.0]))
def test_kl_with_itself_is_zero_and_nonnegative(x, t):
    np.testing.assert_allclose(rlax.categorical_kl_divergence(x, x, t), 0.0, atol=1e-6)
    np.testing.assert_allclose(rlax.softmax(t).kl(x, x), 0.0, atol=1e-6)
    assert np.all(np.asarray(rlax.categorical_kl_divergence(x, x[::-1], t)) >= -1e-6)


def test_clipped_entropy_softmax_caps_entropy(logits):
    d = rlax.clipped_entropy_softmax(entropy_clip=0.5)
    flat = jnp.zeros((2, 5))
    np.testing.assert_allclose(d.entropy(flat), 0.5 * np.log(5), rtol=1e-6)
    p = _np_softmax(logits)
    ent = -(p * np.log(p)).sum(-1)
    np.testing.assert_allclose(d.entropy(logits), np.minimum(ent, 0.5 * np.log(5)), rtol=1e-5)
    np.testing.assert_allclose(d.probs(logits, action_spec=None), p, rtol=1e-5)


def test_greedy_ties_share_probability_and_sampling(key):
    prefs = jnp.array([[1.0, 3.0, 3.0, 0.0], [2.0, 0.0, 0.0, 0.0]])
    d = rlax.greedy()
    np.testing.assert_allclose(d.probs(prefs), [[0, 0.5, 0.5, 0], [1, 0, 0, 0]])
    np.testing.assert_allclose(d.entropy(prefs), [np.log(2), 0.0], atol=1e-7)
    np.testing.assert_allclose(d.logprob(jnp.array([1, 0]), prefs), [np.log(0.5), 0.0], atol=1e-7)
    assert d.logprob(jnp.array([0, 1]), prefs)[0] == -np.inf
    samples = jax.vmap(d.sample, in_axes=(0, None))(jax.random.split(key, 100), prefs)
    assert set(np.unique(samples[:, 0])) == {1, 2}
    assert set(np.unique(samples[:, 1])) == {0}
    assert d.kl is None


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 1.0])
def test_epsilon_greedy_probs_entropy(epsilon):
    prefs = jnp.array([[1.0, 3.0, 2.0, 0.0]])
    d = rlax.epsilon_greedy(epsilon)
    expected = np.full(4, epsilon / 4) + (1 - epsilon) * np.array([0, 1, 0, 0])
    np.testing.assert_allclose(d.probs(prefs)[0], expected, rtol=1e-6)
    nz = expected[expected > 0]
    np.testing.assert_allclose(d.entropy(prefs)[0], -(nz * np.log(nz)).sum(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d.logprob(jnp.array([1]), prefs), np.log(expected[1]), rtol=1e-6)


@given(prefs=strategies.float_arrays((3, 4), -5, 5))
def test_epsilon_zero_equals_greedy(prefs):
    key = jax.random.PRNGKey(0)
    eg, g = rlax.epsilon_greedy(0.0), rlax.greedy()
    np.testing.assert_allclose(eg.probs(prefs), g.probs(prefs), atol=1e-7)
    np.testing.assert_array_equal(eg.sample(key, prefs), g.sample(key, prefs))


def test_epsilon_one_is_uniform_and_epsilon_per_call(key):
    prefs = jnp.array([5.0, 0.0, 0.0, 0.0])
    d = rlax.epsilon_greedy()
    np.testing.assert_allclose(d.probs(prefs, 1.0), np.full(4, 0.25))
    samples = jax.vmap(lambda k: d.sample(k, prefs, 1.0))(jax.random.split(key, 2000))
    freq = np.bincount(np.asarray(samples), minlength=4) / 2000
    np.testing.assert_allclose(freq, np.full(4, 0.25), atol=0.04)
    out = jax.jit(d.sample)(key, prefs, jnp.asarray(0.0))
    assert int(out) == 0
    with pytest.raises(ValueError, match=r"epsilon_greedy.*`epsilon`"):
        d.probs(prefs)


def test_categorical_sample_never_draws_zero_probability(key):
    probs = jnp.array([[0.0, 0.5, 0.0, 0.5], [1.0, 0.0, 0.0, 0.0]])
    s = jax.vmap(rlax.categorical_sample, in_axes=(0, None))(jax.random.split(key, 100), probs)
    assert set(np.unique(s[:, 0])) <= {1, 3}
    assert set(np.unique(s[:, 1])) == {0}
    with pytest.raises(ValueError, match=r"categorical_sample.*`probs`"):
        rlax.categorical_sample(key, jnp.asarray(1.0))


def _np_gauss_logpdf(x, mu, sigma):
    return (-0.5 * ((x - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)).sum(-1)


def test_gaussian_diagonal_matches_numpy(np_rng, key):
    mu = np_rng.normal(size=(3, 2)).astype(np.float32)
    sigma = np_rng.uniform(0.3, 2.0, size=(3, 2)).astype(np.float32)
    x = np_rng.normal(size=(3, 2)).astype(np.float32)
    d = rlax.gaussian_diagonal()
    np.testing.assert_allclose(d.logprob(x, mu, sigma), _np_gauss_logpdf(x, mu, sigma), rtol=1e-5)
    np.testing.assert_allclose(
        d.prob(x, mu, sigma), np.exp(_np_gauss_logpdf(x, mu, sigma)), rtol=1e-5
    )
    ent = (0.5 * np.log(2 * np.pi * np.e * sigma**2)).sum(-1)
    np.testing.assert_allclose(d.entropy(mu, sigma), ent, rtol=1e-5)
    kl_std = (0.5 * (sigma**2 + mu**2 - 1) - np.log(sigma)).sum(-1)
    np.testing.assert_allclose(d.kl_to_standard_normal(mu, sigma), kl_std, rtol=1e-5, atol=1e-6)
    s = d.sample(key, mu, sigma)
    assert s.shape == (3, 2)
    np.testing.assert_allclose(
        s, mu + sigma * np.asarray(jax.random.normal(key, (1, 3, 2)))[0], rtol=1e-6
    )


def test_gaussian_diagonal_default_sigma_and_degenerate(key):
    d = rlax.gaussian_diagonal(sigma=jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(
        d.entropy(jnp.zeros(2)), np.log(2 * np.pi * np.e) + np.log(2.0), rtol=1e-6
    )
    # sigma -> 0: samples collapse onto the mean.
    tiny = rlax.gaussian_diagonal(sigma=jnp.full((2,), 1e-20))
    np.testing.assert_allclose(tiny.sample(key, jnp.array([1.0, -1.0])), [1.0, -1.0])
    with pytest.raises(ValueError, match=r"gaussian_diagonal.*`sigma`"):
        rlax.gaussian_diagonal().sample(key, jnp.zeros(2))


def test_multivariate_normal_kl_properties(np_rng):
    mu = np_rng.normal(size=(2, 3)).astype(np.float32)
    s = np_rng.uniform(0.5, 2, size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(rlax.multivariate_normal_kl_divergence(mu, s, mu, s), 0.0, atol=1e-6)
    mu1, s1 = mu[::-1], s[::-1]
    expected = (np.log(s1 / s) + (s**2 + (mu - mu1) ** 2) / (2 * s1**2) - 0.5).sum(-1)
    np.testing.assert_allclose(
        rlax.multivariate_normal_kl_divergence(mu, s, mu1, s1), expected, rtol=1e-5
    )


def test_squashed_gaussian_samples_in_bounds_and_logprob(key):
    Spec = collections.namedtuple("Spec", "minimum maximum")
    spec = Spec(np.array([-1.0, 0.0]), np.array([1.0, 4.0]))
    d = rlax.squashed_gaussian()
    mu, sigma = jnp.array([0.3, -0.2]), jnp.array([0.1, 0.5])
    samples = jax.vmap(d.sample, in_axes=(0, None, None, None))(
        jax.random.split(key, 200), mu, sigma, spec
    )
    samples = np.asarray(samples)
    assert np.all(samples >= spec.minimum) and np.all(samples <= spec.maximum)
    batch = d.sample(key, jnp.stack([mu, mu]), jnp.stack([sigma, sigma]), spec)
    assert batch.shape == (2, 2)
    # log-density by change of variables, written out in NumPy.
    y = np.array([0.2, 1.5])
    m, s = np.tanh(np.asarray(mu)), np.exp(-4 + 0.5 * 4 * (np.tanh(np.asarray(sigma)) + 1))
    u = 2 * (y - spec.minimum) / (spec.maximum - spec.minimum) - 1
    x = np.arctanh(u)
    expected = _np_gauss_logpdf(x, m, s) - np.sum(
        np.log(1 - u**2) + np.log((spec.maximum - spec.minimum) / 2)
    )
    np.testing.assert_allclose(d.logprob(y, mu, sigma, spec), expected, rtol=1e-4)
    np.testing.assert_allclose(
        d.entropy(mu, sigma), (0.5 * np.log(2 * np.pi * np.e * s**2)).sum(), rtol=1e-5
    )


def test_categorical_helpers_match_numpy(np_rng):
    pi = np_rng.normal(size=(4, 3)).astype(np.float32)
    mu = np_rng.normal(size=(4, 3)).astype(np.float32)
    a = np.array([0, 2, 1, 1], np.int32)
    ratios = rlax.categorical_importance_sampling_ratios(pi, mu, a)
    expected = _np_softmax(pi)[np.arange(4), a] / _np_softmax(mu)[np.arange(4), a]
    np.testing.assert_allclose(ratios, expected, rtol=1e-5)
    labels = _np_softmax(mu).astype(np.float32)
    ce = rlax.categorical_cross_entropy(labels, pi)
    np.testing.assert_allclose(ce, -(labels * np.log(_np_softmax(pi))).sum(-1), rtol=1e-5)
    with pytest.raises(ValueError, match=r"categorical_importance_sampling_ratios.*`a_t`"):
        rlax.categorical_importance_sampling_ratios(pi, mu, a[:2])
    with pytest.raises(ValueError, match=r"categorical_cross_entropy.*`logits`"):
        rlax.categorical_cross_entropy(labels, pi[:, :2])


def test_distribution_functions_vmap_and_grad(logits):
    d = rlax.softmax()
    a = jnp.array([0, 1, 2, 3])
    per_row = jax.vmap(d.logprob)(a, logits)
    np.testing.assert_allclose(per_row, d.logprob(a, logits), rtol=1e-6)
    g = jax.grad(lambda x: jnp.sum(d.logprob(a, x)))(logits)
    np.testing.assert_allclose(g, np.eye(5)[a] - _np_softmax(logits), rtol=1e-4, atol=1e-6)


def test_gaussian_broadcasts_sigma_explicitly(key):
    # A [D] sigma against [B, D] means (works under jax_numpy_rank_promotion='raise').
    d = rlax.gaussian_diagonal(sigma=jnp.array([1.0, 2.0]))
    mu = jnp.zeros((3, 2))
    assert d.sample(key, mu).shape == (3, 2)
    np.testing.assert_allclose(
        d.logprob(mu, mu), np.full(3, -np.log(2.0) - np.log(2 * np.pi)), rtol=1e-6
    )
    np.testing.assert_allclose(
        d.kl_to_standard_normal(mu), np.full(3, 1.5 - np.log(2.0)), rtol=1e-6
    )


@pytest.mark.x64
def test_x64_dtypes_follow_jax_defaults(key):
    logits = jnp.zeros((2, 3), jnp.float64)
    assert rlax.softmax().sample(key, logits).dtype == jnp.int64
    assert rlax.greedy().sample(key, logits).dtype == jnp.int64
    assert rlax.gaussian_diagonal().sample(key, logits, jnp.ones(3)).dtype == jnp.float64
    np.testing.assert_allclose(rlax.softmax().entropy(logits), np.full(2, np.log(3.0)), rtol=1e-12)


def test_logprob_sample_shape_errors_and_broadcast(logits):
    d = rlax.softmax()
    with pytest.raises(ValueError, match=r"softmax.logprob.*`sample`.*\(3,\)"):
        d.logprob(jnp.zeros(3, jnp.int32), logits)
    # A scalar action broadcasts over the batch.
    np.testing.assert_allclose(
        d.logprob(jnp.asarray(1), logits), d.logprob(jnp.ones(4, jnp.int32), logits)
    )
