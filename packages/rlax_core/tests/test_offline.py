"""Tests for rlax_core's offline-RL losses: CQL regularisers and IQL value / policy losses.

References are written from the papers' equations with explicit loops in float64.
"""

import doctest
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from shared_testing.variants import check_variants

import rlax_core as rlax
from rlax_core._src import offline

B, A, N = 5, 4, 6


def _ref_cql_discrete(q_row, a, temp):
    z = sum(math.exp(float(q) / temp) for q in q_row)
    return temp * math.log(z) - float(q_row[a])


def _ref_cql_continuous(q_row, logd_row, q_data, temp):
    # T * log( (1/N) sum_i exp(Q_i / T) / mu_i ) - Q_data
    mean = sum(math.exp(float(q) / temp - float(ld)) for q, ld in zip(q_row, logd_row, strict=True))
    return temp * math.log(mean / len(q_row)) - float(q_data)


# --- CQL. ---


def test_cql_discrete_regularizer_matches_reference(np_rng):
    q = np_rng.normal(size=(B, A)).astype(np.float32)
    a = np_rng.integers(0, A, size=B).astype(np.int32)
    out = check_variants(rlax.cql_discrete_regularizer, q, a, vmap_args=(q, a))
    np.testing.assert_allclose(
        out, [_ref_cql_discrete(q[i], a[i], 1.0) for i in range(B)], rtol=1e-5
    )
    out = check_variants(functools.partial(rlax.cql_discrete_regularizer, temperature=0.5), q, a)
    np.testing.assert_allclose(
        out, [_ref_cql_discrete(q[i], a[i], 0.5) for i in range(B)], rtol=1e-5
    )
    temps = np.array([0.5, 1.0, 2.0, 0.1, 3.0], np.float32)
    out = rlax.cql_discrete_regularizer(q, a, temps)
    expected = [_ref_cql_discrete(q[i], a[i], float(temps[i])) for i in range(B)]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    # Bounds: max q - q[a] <= value <= max q - q[a] + T log A.
    gap = q.max(-1) - q[np.arange(B), a]
    assert np.all(out >= gap - 1e-5) and np.all(out <= gap + temps * math.log(A) + 1e-5)


def test_cql_discrete_regularizer_gradient(np_rng):
    q = np_rng.normal(size=(B, A)).astype(np.float32)
    a = np_rng.integers(0, A, size=B).astype(np.int32)
    g = jax.grad(lambda q: jnp.sum(rlax.cql_discrete_regularizer(q, a)))(q)
    softmax = np.exp(q - q.max(-1, keepdims=True))
    softmax /= softmax.sum(-1, keepdims=True)
    np.testing.assert_allclose(g, softmax - np.eye(A)[a], rtol=1e-5, atol=1e-6)


def test_cql_discrete_step_lowers_unseen_actions_relative_to_data(np_rng):
    q = jnp.asarray(np_rng.normal(size=(16, A)), jnp.float32)
    a = jnp.asarray(np_rng.integers(0, A, size=16), jnp.int32)
    loss = lambda q: jnp.mean(rlax.cql_discrete_regularizer(q, a))
    updates, _ = optax.sgd(0.5).update(jax.grad(loss)(q), optax.sgd(0.5).init(q))
    new = optax.apply_updates(q, updates)
    assert float(loss(new)) < float(loss(q))
    margin = lambda q: jnp.mean(rlax.batched_index(q, a) - jnp.mean(q, axis=-1))
    assert float(margin(new)) > float(margin(q))


def test_cql_continuous_regularizer_matches_reference(np_rng):
    q = np_rng.normal(size=(B, N)).astype(np.float32)
    logd = np_rng.normal(size=(B, N)).astype(np.float32)
    q_data = np_rng.normal(size=B).astype(np.float32)
    out = check_variants(
        rlax.cql_continuous_regularizer, q, logd, q_data, vmap_args=(q, logd, q_data)
    )
    expected = [_ref_cql_continuous(q[i], logd[i], q_data[i], 1.0) for i in range(B)]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    out = rlax.cql_continuous_regularizer(q, logd, q_data, temperature=2.0)
    expected = [_ref_cql_continuous(q[i], logd[i], q_data[i], 2.0) for i in range(B)]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # A [N] uniform log-density broadcasts against [B, N] Q-values.
    flat = rlax.cql_continuous_regularizer(q, np.zeros(N, np.float32), q_data)
    expected = [_ref_cql_continuous(q[i], np.zeros(N), q_data[i], 1.0) for i in range(B)]
    np.testing.assert_allclose(flat, expected, rtol=1e-5, atol=1e-5)


def test_cql_continuous_regularizer_relation_to_authors_form(np_rng):
    # For T = 1 the authors' logsumexp(q - log_density) differs by the constant log N.
    q = np_rng.normal(size=(B, N)).astype(np.float32)
    logd = np_rng.normal(size=(B, N)).astype(np.float32)
    out = rlax.cql_continuous_regularizer(q, logd, np.zeros(B, np.float32))
    authors = [
        math.log(sum(math.exp(float(a) - float(b)) for a, b in zip(qr, lr, strict=True)))
        for qr, lr in zip(q, logd, strict=True)
    ]
    np.testing.assert_allclose(np.asarray(out) + math.log(N), authors, rtol=1e-5)


def test_cql_continuous_uniform_samples_estimate_the_soft_maximum(key):
    # Q(a) = -a^2 on [-1, 1]: log of the integral of exp(-a^2) over [-1, 1] is log(sqrt(pi) erf(1)).
    a = jax.random.uniform(key, (200000,), minval=-1.0, maxval=1.0)
    value = rlax.cql_continuous_regularizer(-jnp.square(a), jnp.full_like(a, math.log(0.5)), 0.0)
    exact = math.log(math.sqrt(math.pi) * math.erf(1.0))
    np.testing.assert_allclose(value, exact, atol=5e-3)


def test_cql_continuous_gradients(np_rng):
    q = np_rng.normal(size=(B, N)).astype(np.float32)
    logd = np_rng.normal(size=(B, N)).astype(np.float32)
    q_data = np_rng.normal(size=B).astype(np.float32)
    g_q, g_ld, g_data = jax.grad(
        lambda *x: jnp.sum(rlax.cql_continuous_regularizer(*x)), argnums=(0, 1, 2)
    )(q, logd, q_data)
    w = np.exp(q.astype(np.float64) - logd)
    np.testing.assert_allclose(g_q, w / w.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(g_ld, np.zeros((B, N)))
    np.testing.assert_allclose(g_data, -np.ones(B))


def test_cql_continuous_step_lowers_sampled_q_relative_to_data(np_rng):
    q = jnp.asarray(np_rng.normal(size=(8, N)), jnp.float32)
    q_data = jnp.asarray(np_rng.normal(size=8), jnp.float32)
    logd = jnp.full((N,), math.log(0.5))
    loss = lambda p: jnp.mean(rlax.cql_continuous_regularizer(p[0], logd, p[1]))
    params = (q, q_data)
    opt = optax.adam(0.05)
    updates, _ = opt.update(jax.grad(loss)(params), opt.init(params))
    new_q, new_data = optax.apply_updates(params, updates)
    assert float(jnp.mean(new_q)) < float(jnp.mean(q))
    assert float(jnp.mean(new_data)) > float(jnp.mean(q_data))


def test_cql_errors():
    with pytest.raises(ValueError, match=r"cql_discrete_regularizer.*`q_tm1`.*\+ \(A,\)"):
        rlax.cql_discrete_regularizer(jnp.zeros((3, 4)), jnp.zeros(2, jnp.int32))
    with pytest.raises(TypeError, match=r"cql_discrete_regularizer.*`a_tm1`.*int"):
        rlax.cql_discrete_regularizer(jnp.zeros(4), jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"cql_discrete_regularizer.*`temperature`.*> 0"):
        rlax.cql_discrete_regularizer(jnp.zeros(4), jnp.int32(1), temperature=0.0)
    with pytest.raises(ValueError, match=r"cql_continuous_regularizer.*`q_sampled`.*rank >= 1"):
        rlax.cql_continuous_regularizer(jnp.float32(1.0), jnp.zeros(3), 0.0)
    with pytest.raises(ValueError, match=r"cql_continuous_regularizer.*do not broadcast"):
        rlax.cql_continuous_regularizer(jnp.zeros((2, 3)), jnp.zeros(4), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"cql_continuous_regularizer.*do not broadcast.*`q_data`"):
        rlax.cql_continuous_regularizer(jnp.zeros((2, 3)), jnp.zeros(3), jnp.zeros(5))
    with pytest.raises(TypeError, match=r"cql_continuous_regularizer.*`log_density`.*float"):
        rlax.cql_continuous_regularizer(jnp.zeros(3), jnp.zeros(3, jnp.int32), 0.0)


# --- IQL. ---


def test_iql_expectile_value_loss_matches_reference(np_rng):
    q = np_rng.normal(size=(3, B)).astype(np.float32)
    v = np_rng.normal(size=(3, B)).astype(np.float32)
    out = check_variants(rlax.iql_expectile_value_loss, q, v, vmap_args=(q, v))
    expected = np.zeros((3, B))
    for i in range(3):
        for j in range(B):
            u = float(q[i, j]) - float(v[i, j])
            expected[i, j] = (0.7 if u >= 0 else 0.3) * u * u
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-7)
    # Same values as the existing expectile_loss with V as prediction and Q as target.
    np.testing.assert_allclose(out, rlax.expectile_loss(v, q, 0.7), rtol=1e-6)
    # Broadcasting: one V per state against K sampled Q-values.
    out = rlax.iql_expectile_value_loss(q, v[:, :1], expectile=0.9)
    assert out.shape == (3, B)


def test_iql_expectile_value_loss_gradients_and_fixed_point(np_rng):
    q = np_rng.normal(size=B).astype(np.float32)
    v = np_rng.normal(size=B).astype(np.float32)
    g_q, g_v = jax.grad(
        lambda q, v: jnp.sum(rlax.iql_expectile_value_loss(q, v, 0.8)), argnums=(0, 1)
    )(q, v)
    np.testing.assert_array_equal(g_q, np.zeros(B))
    u = q - v
    np.testing.assert_allclose(g_v, -2 * np.where(u >= 0, 0.8, 0.2) * u, rtol=1e-5, atol=1e-6)
    # Minimising over a scalar V gives the tau-expectile of the Q samples: for tau = 0.5 the
    # mean, for tau > 0.5 something above the mean (solved here by bisection in NumPy).
    samples = np_rng.normal(size=200).astype(np.float64)
    lo, hi = samples.min(), samples.max()
    for _ in range(60):
        m = 0.5 * (lo + hi)
        d = samples - m
        if np.sum(np.where(d >= 0, 0.9, 0.1) * d) > 0:
            lo = m
        else:
            hi = m
    v = jnp.float32(0.0)
    opt = optax.adam(0.05)
    state = opt.init(v)
    loss = lambda v: jnp.mean(rlax.iql_expectile_value_loss(samples.astype(np.float32), v, 0.9))
    for _ in range(400):
        updates, state = opt.update(jax.grad(loss)(v), state)
        v = optax.apply_updates(v, updates)
    np.testing.assert_allclose(v, 0.5 * (lo + hi), atol=2e-2)
    assert float(v) > samples.mean()


def test_iql_awr_policy_loss_matches_reference(np_rng):
    logp = -np_rng.uniform(0.1, 3.0, size=B).astype(np.float32)
    q = np_rng.normal(size=B).astype(np.float32)
    v = np_rng.normal(size=B).astype(np.float32)
    out = check_variants(rlax.iql_awr_policy_loss, logp, q, v, vmap_args=(logp, q, v))
    expected = [
        -min(math.exp(3.0 * (float(q[i]) - float(v[i]))), 100.0) * float(logp[i]) for i in range(B)
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    out = rlax.iql_awr_policy_loss(logp, q, v, beta=10.0, max_weight=5.0)
    expected = [
        -min(math.exp(10.0 * (float(q[i]) - float(v[i]))), 5.0) * float(logp[i]) for i in range(B)
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    # Huge advantages do not overflow; the weight is capped.
    out = rlax.iql_awr_policy_loss(jnp.array([-1.0]), jnp.array([1e4]), jnp.array([0.0]))
    np.testing.assert_allclose(out, [100.0], rtol=1e-6)
    g = jax.grad(
        lambda q: jnp.sum(rlax.iql_awr_policy_loss(jnp.array([-1.0]), q, jnp.array([0.0])))
    )(jnp.array([1e4]))
    assert bool(jnp.all(jnp.isfinite(g)))


def test_iql_awr_weight_is_constant(np_rng):
    logp = -np_rng.uniform(0.1, 3.0, size=B).astype(np.float32)
    q = np_rng.normal(size=B).astype(np.float32) * 0.3
    v = np_rng.normal(size=B).astype(np.float32) * 0.3
    g_logp, g_q, g_v = jax.grad(
        lambda *x: jnp.sum(rlax.iql_awr_policy_loss(*x)), argnums=(0, 1, 2)
    )(logp, q, v)
    np.testing.assert_allclose(g_logp, -np.minimum(np.exp(3.0 * (q - v)), 100.0), rtol=1e-5)
    np.testing.assert_array_equal(g_q, np.zeros(B))
    np.testing.assert_array_equal(g_v, np.zeros(B))


def test_iql_awr_step_raises_advantage_weighted_log_prob(np_rng):
    # Softmax policy over A actions in one state; dataset actions with their advantages.
    actions = jnp.array([0, 1, 2, 3, 2, 2])
    q = jnp.array([0.0, -0.5, 1.0, -1.0, 1.0, 1.0])
    v = jnp.zeros(6)
    logits = jnp.zeros(A)

    def loss(lg):
        logp = jax.nn.log_softmax(lg)[actions]
        return jnp.mean(rlax.iql_awr_policy_loss(logp, q, v))

    def weighted_logp(lg):
        w = jnp.exp(3.0 * (q - v))
        return jnp.sum(w * jax.nn.log_softmax(lg)[actions]) / jnp.sum(w)

    updates, _ = optax.sgd(0.1).update(jax.grad(loss)(logits), optax.sgd(0.1).init(logits))
    new = optax.apply_updates(logits, updates)
    assert float(weighted_logp(new)) > float(weighted_logp(logits))
    assert int(jnp.argmax(new)) == 2


def test_iql_errors():
    with pytest.raises(ValueError, match=r"iql_expectile_value_loss.*do not broadcast"):
        rlax.iql_expectile_value_loss(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match=r"iql_expectile_value_loss.*`expectile`.*\[0, 1\]"):
        rlax.iql_expectile_value_loss(jnp.zeros(3), jnp.zeros(3), 1.5)
    with pytest.raises(TypeError, match=r"iql_expectile_value_loss.*`q_t`.*float"):
        rlax.iql_expectile_value_loss(jnp.zeros(3, jnp.int32), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"iql_awr_policy_loss.*do not broadcast"):
        rlax.iql_awr_policy_loss(jnp.zeros(3), jnp.zeros(4), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"iql_awr_policy_loss.*`max_weight`.*> 0"):
        rlax.iql_awr_policy_loss(jnp.zeros(3), jnp.zeros(3), jnp.zeros(3), max_weight=0.0)
    with pytest.raises(TypeError, match=r"iql_awr_policy_loss.*`log_pi_a`.*float"):
        rlax.iql_awr_policy_loss(jnp.zeros(3, jnp.int32), jnp.zeros(3), jnp.zeros(3))


def test_docstring_examples_run():
    result = doctest.testmod(offline, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
