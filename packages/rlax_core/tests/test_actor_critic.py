"""Tests for rlax_core SAC (continuous and discrete) and TD3 ops.

References are written from the papers' equations with explicit Python loops in float64.
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
from rlax_core._src import actor_critic

B, A = 6, 4


@pytest.fixture
def batch(np_rng):
    f = lambda *s: np_rng.normal(size=s).astype(np.float32)
    return dict(
        r=f(B),
        discount=np_rng.uniform(0.0, 1.0, size=B).astype(np.float32),
        q1=f(B),
        q2=f(B),
        log_pi=f(B),
        alpha=np.float32(0.3),
        q=f(B, A),
        logits=f(B, A),
    )


def _np_softmax(row):
    m = max(row)
    e = [math.exp(float(x) - m) for x in row]
    s = sum(e)
    return [x / s for x in e]


# --- References written from the equations (explicit loops, float64). ---


def _ref_soft_target(r, d, q1, q2, logp, alpha):
    return np.array(
        [
            float(r[i]) + float(d[i]) * (min(float(q1[i]), float(q2[i])) - alpha * float(logp[i]))
            for i in range(len(r))
        ]
    )


def _ref_discrete_terms(q, logits, alpha):
    """Per row: (sum_a pi (q - alpha log pi), sum_a pi (alpha log pi - q), sum_a pi log pi)."""
    values, actor, neg_ent = [], [], []
    for qrow, lrow in zip(q, logits, strict=True):
        pi = _np_softmax(lrow)
        v = a = n = 0.0
        for p, qa in zip(pi, qrow, strict=True):
            if p == 0.0:
                continue
            v += p * (float(qa) - alpha * math.log(p))
            a += p * (alpha * math.log(p) - float(qa))
            n += p * math.log(p)
        values.append(v)
        actor.append(a)
        neg_ent.append(n)
    return np.array(values), np.array(actor), np.array(neg_ent)


# --- Continuous SAC. ---


def test_sac_soft_q_target_matches_reference(batch):
    x = batch
    out = check_variants(
        rlax.sac_soft_q_target,
        x["r"],
        x["discount"],
        x["q1"],
        x["q2"],
        x["log_pi"],
        x["alpha"],
        vmap_args=(
            x["r"],
            x["discount"],
            x["q1"],
            x["q2"],
            x["log_pi"],
            np.full(B, 0.3, np.float32),
        ),
    )
    expected = _ref_soft_target(x["r"], x["discount"], x["q1"], x["q2"], x["log_pi"], 0.3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert out.shape == (B,) and out.dtype == jnp.float32


def test_sac_soft_q_target_terminal_and_broadcast():
    # discount 0 (terminal): the target is the reward, whatever the critics say.
    out = rlax.sac_soft_q_target(
        2.0, 0.0, jnp.array([5.0]), jnp.array([7.0]), jnp.array([1.0]), 1.0
    )
    np.testing.assert_allclose(out, [2.0])
    # A [B, 1] critic broadcasts against [1, K] log-probs (explicit NumPy broadcasting).
    out = rlax.sac_soft_q_target(
        jnp.zeros((2, 1)), 1.0, jnp.ones((2, 1)), jnp.ones((2, 1)), jnp.zeros((1, 3)), 0.5
    )
    assert out.shape == (2, 3)


def test_sac_soft_q_target_gradients(batch):
    x = batch
    args = (x["r"], x["discount"], x["q1"], x["q2"], x["log_pi"], x["alpha"])
    total = lambda *a, **k: jnp.sum(rlax.sac_soft_q_target(*a, **k))
    grads = jax.grad(total, argnums=(2, 3, 4, 5))(*args)
    for g in grads:
        np.testing.assert_array_equal(g, np.zeros_like(g))
    g1, g2, glp, galpha = jax.grad(
        functools.partial(total, stop_target_gradients=False), argnums=(2, 3, 4, 5)
    )(*args)
    first = x["q1"] <= x["q2"]
    np.testing.assert_allclose(g1, np.where(first, x["discount"], 0.0), rtol=1e-6)
    np.testing.assert_allclose(g2, np.where(first, 0.0, x["discount"]), rtol=1e-6)
    np.testing.assert_allclose(glp, -0.3 * x["discount"], rtol=1e-5)
    np.testing.assert_allclose(galpha, -np.sum(x["discount"] * x["log_pi"]), rtol=1e-4)


def test_sac_actor_loss_matches_reference_and_stops_alpha(batch):
    x = batch
    out = check_variants(
        rlax.sac_actor_loss,
        x["q1"],
        x["q2"],
        x["log_pi"],
        x["alpha"],
        vmap_args=(x["q1"], x["q2"], x["log_pi"], np.full(B, 0.3, np.float32)),
    )
    expected = [
        0.3 * float(x["log_pi"][i]) - min(float(x["q1"][i]), float(x["q2"][i])) for i in range(B)
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    g_alpha = jax.grad(lambda al: jnp.sum(rlax.sac_actor_loss(x["q1"], x["q2"], x["log_pi"], al)))(
        jnp.float32(0.3)
    )
    assert float(g_alpha) == 0.0
    g_logp = jax.grad(lambda lp: jnp.sum(rlax.sac_actor_loss(x["q1"], x["q2"], lp, 0.3)))(
        x["log_pi"]
    )
    np.testing.assert_allclose(g_logp, np.full(B, 0.3), rtol=1e-6)


def test_sac_temperature_loss_matches_reference_and_gradients(batch):
    x = batch
    log_alpha = np.float32(-0.7)
    out = check_variants(
        rlax.sac_temperature_loss,
        log_alpha,
        x["log_pi"],
        -2.0,
        vmap_args=(np.full(B, log_alpha), x["log_pi"], np.full(B, -2.0, np.float32)),
    )
    expected = [0.7 * (float(lp) - 2.0) for lp in x["log_pi"]]  # -log_alpha = 0.7
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    g_la, g_lp = jax.grad(
        lambda la, lp: jnp.sum(rlax.sac_temperature_loss(la, lp, -2.0)), argnums=(0, 1)
    )(jnp.float32(log_alpha), x["log_pi"])
    np.testing.assert_allclose(g_la, -np.sum(x["log_pi"].astype(np.float64) - 2.0), rtol=1e-5)
    np.testing.assert_array_equal(g_lp, np.zeros(B))


# --- Discrete SAC. ---


def test_sac_discrete_ops_match_reference(batch):
    x = batch
    values, actor, neg_ent = _ref_discrete_terms(x["q"], x["logits"], 0.3)
    out_v = check_variants(
        rlax.sac_discrete_soft_value,
        x["q"],
        x["logits"],
        x["alpha"],
        vmap_args=(x["q"], x["logits"], np.full(B, 0.3, np.float32)),
    )
    np.testing.assert_allclose(out_v, values, rtol=1e-5, atol=1e-6)
    out_a = check_variants(
        rlax.sac_discrete_actor_loss,
        x["q"],
        x["logits"],
        x["alpha"],
        vmap_args=(x["q"], x["logits"], np.full(B, 0.3, np.float32)),
    )
    np.testing.assert_allclose(out_a, actor, rtol=1e-5, atol=1e-6)
    out_t = check_variants(
        rlax.sac_discrete_temperature_loss,
        np.float32(0.2),
        x["logits"],
        1.0,
        vmap_args=(np.full(B, 0.2, np.float32), x["logits"], np.ones(B, np.float32)),
    )
    np.testing.assert_allclose(out_t, [-0.2 * (n + 1.0) for n in neg_ent], rtol=1e-5, atol=1e-6)
    assert out_v.shape == out_a.shape == out_t.shape == (B,)


def test_sac_discrete_per_state_alpha_and_masked_actions():
    q = jnp.array([[1.0, 2.0, 100.0], [0.0, 1.0, -3.0]])
    logits = jnp.array([[0.0, 0.0, -jnp.inf], [0.5, -0.5, 1.0]])
    alpha = jnp.array([1.0, 0.1])
    v = rlax.sac_discrete_soft_value(q, logits, alpha)
    values, _, _ = _ref_discrete_terms(np.asarray(q)[:1], np.asarray(logits)[:1], 1.0)
    # Row 0: the masked action (pi = 0) contributes nothing, its q of 100 is ignored.
    np.testing.assert_allclose(v[0], values[0], rtol=1e-6)
    np.testing.assert_allclose(v[0], 1.5 + math.log(2.0), rtol=1e-6)
    values, _, _ = _ref_discrete_terms(np.asarray(q)[1:], np.asarray(logits)[1:], 0.1)
    np.testing.assert_allclose(v[1], values[0], rtol=1e-6)
    g = jax.grad(lambda lg: jnp.sum(rlax.sac_discrete_actor_loss(q, lg, alpha)))(logits)
    assert bool(jnp.all(jnp.isfinite(g)))
    assert float(g[0, 2]) == 0.0


def test_sac_discrete_gradient_conventions(batch):
    x = batch
    total = lambda f, *a, **k: jnp.sum(f(*a, **k))
    g_q, g_alpha = jax.grad(
        lambda q, al: total(rlax.sac_discrete_actor_loss, q, x["logits"], al), argnums=(0, 1)
    )(x["q"], jnp.float32(0.3))
    np.testing.assert_array_equal(g_q, np.zeros((B, A)))
    assert float(g_alpha) == 0.0
    g_q = jax.grad(lambda q: total(rlax.sac_discrete_soft_value, q, x["logits"], 0.3))(x["q"])
    np.testing.assert_array_equal(g_q, np.zeros((B, A)))
    # Without the stop, dV/dq = pi.
    g_q = jax.grad(
        lambda q: total(
            rlax.sac_discrete_soft_value, q, x["logits"], 0.3, stop_target_gradients=False
        )
    )(x["q"])
    pi = np.array([_np_softmax(row) for row in x["logits"]])
    np.testing.assert_allclose(g_q, pi, rtol=1e-5, atol=1e-7)
    g_logits = jax.grad(
        lambda lg: total(rlax.sac_discrete_temperature_loss, jnp.float32(0.1), lg, 1.0)
    )(x["logits"])
    np.testing.assert_array_equal(g_logits, np.zeros((B, A)))


def test_sac_discrete_actor_loss_gradient_matches_finite_differences():
    q = np.array([0.3, -1.2, 0.8], np.float64)
    logits = np.array([0.1, 0.4, -0.3], np.float64)

    def ref(lg):
        _, actor, _ = _ref_discrete_terms(q[None], lg[None], 0.5)
        return actor[0]

    eps = 1e-3
    fd = []
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        fd.append((ref(logits + d) - ref(logits - d)) / (2 * eps))
    g = jax.grad(lambda lg: rlax.sac_discrete_actor_loss(q.astype(np.float32), lg, 0.5))(
        logits.astype(np.float32)
    )
    np.testing.assert_allclose(g, fd, rtol=1e-3, atol=1e-4)


# --- TD3. ---


def test_td3_clipped_double_q_target_matches_reference(batch):
    x = batch
    out = check_variants(
        rlax.td3_clipped_double_q_target,
        x["r"],
        x["discount"],
        x["q1"],
        x["q2"],
        vmap_args=(x["r"], x["discount"], x["q1"], x["q2"]),
    )
    expected = [
        float(x["r"][i]) + float(x["discount"][i]) * min(float(x["q1"][i]), float(x["q2"][i]))
        for i in range(B)
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    g = jax.grad(lambda q: jnp.sum(rlax.td3_clipped_double_q_target(x["r"], 0.9, q, x["q2"])))(
        x["q1"]
    )
    np.testing.assert_array_equal(g, np.zeros(B))
    g = jax.grad(
        lambda q: jnp.sum(
            rlax.td3_clipped_double_q_target(x["r"], 0.9, q, x["q2"], stop_target_gradients=False)
        )
    )(x["q1"])
    np.testing.assert_allclose(g, np.where(x["q1"] <= x["q2"], 0.9, 0.0), rtol=1e-6)


def test_td3_target_policy_smoothing_matches_equation(key):
    a = jnp.array([[0.95, -0.95, 0.0], [0.2, -0.4, 0.6]], jnp.float32)
    std, clip, lo, hi = 0.3, 0.1, np.array([-1.0, -1.0, -0.5]), np.array([1.0, 1.0, 0.5])
    out = check_variants(
        functools.partial(
            rlax.td3_target_policy_smoothing,
            noise_std=std,
            noise_clip=clip,
            action_min=lo,
            action_max=hi,
        ),
        key,
        a,
        vmap_args=(jax.random.split(key, 2), a),
    )
    eps = np.asarray(jax.random.normal(key, a.shape, jnp.float32), np.float64)
    an = np.asarray(a, np.float64)
    expected = np.empty_like(an)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            n = min(max(std * eps[i, j], -clip), clip)
            expected[i, j] = min(max(an[i, j] + n, lo[j]), hi[j])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    assert out.shape == a.shape and out.dtype == jnp.float32


def test_td3_target_policy_smoothing_statistics(key):
    a = jnp.zeros((20000,), jnp.float32)
    out = np.asarray(rlax.td3_target_policy_smoothing(key, a, noise_std=0.2, noise_clip=0.5))
    assert np.all(np.abs(out) <= 0.5)
    np.testing.assert_allclose(out.mean(), 0.0, atol=0.01)
    # Std of N(0, 1) clipped to [-2.5, 2.5] is 0.98872 (from the normal CDF/PDF at 2.5).
    np.testing.assert_allclose(out.std(), 0.2 * 0.98872, rtol=0.03)
    np.testing.assert_array_equal(
        rlax.td3_target_policy_smoothing(key, jnp.array([0.25, 2.0]), noise_std=0.0), [0.25, 1.0]
    )
    g = jax.grad(lambda x: jnp.sum(rlax.td3_target_policy_smoothing(key, x, noise_std=0.0)))(
        jnp.array([0.3, 2.0])
    )
    np.testing.assert_array_equal(g, [1.0, 0.0])
    b16 = rlax.td3_target_policy_smoothing(key, jnp.zeros(3, jnp.bfloat16))
    assert b16.dtype == jnp.bfloat16


# --- Errors. ---


def test_errors_name_function_and_argument(key):
    with pytest.raises(TypeError, match=r"rlax_core\.sac_soft_q_target.*`q1_t`.*float"):
        rlax.sac_soft_q_target(1.0, 0.9, jnp.array([1]), jnp.array([1.0]), jnp.array([0.0]), 0.1)
    with pytest.raises(ValueError, match=r"rlax_core\.sac_actor_loss.*do not broadcast.*`q2`"):
        rlax.sac_actor_loss(jnp.zeros(3), jnp.zeros(4), jnp.zeros(3), 0.1)
    with pytest.raises(TypeError, match=r"rlax_core\.sac_temperature_loss.*`log_alpha`"):
        rlax.sac_temperature_loss(jnp.array(1), jnp.zeros(3), -1.0)
    with pytest.raises(ValueError, match=r"rlax_core\.sac_discrete_soft_value.*`q_t`.*rank >= 1"):
        rlax.sac_discrete_soft_value(jnp.float32(1.0), jnp.zeros(3), 0.1)
    with pytest.raises(ValueError, match=r"rlax_core\.sac_discrete_actor_loss.*action axis"):
        rlax.sac_discrete_actor_loss(jnp.zeros((2, 3)), jnp.zeros((2, 4)), 0.1)
    with pytest.raises(ValueError, match=r"rlax_core\.sac_discrete_actor_loss.*action axis"):
        rlax.sac_discrete_actor_loss(jnp.zeros((2, 1)), jnp.zeros((2, 4)), 0.1)
    with pytest.raises(ValueError, match=r"sac_discrete_temperature_loss.*`logits`.*rank >= 1"):
        rlax.sac_discrete_temperature_loss(jnp.float32(0.0), jnp.float32(1.0), 1.0)
    with pytest.raises(ValueError, match=r"td3_clipped_double_q_target.*do not broadcast"):
        rlax.td3_clipped_double_q_target(jnp.zeros(2), 0.9, jnp.zeros(3), jnp.zeros(3))
    with pytest.raises(TypeError, match=r"td3_target_policy_smoothing.*`a_t`.*float"):
        rlax.td3_target_policy_smoothing(key, jnp.array([1, 2]))
    with pytest.raises(ValueError, match=r"td3_target_policy_smoothing.*`action_min`.*\(3,\)"):
        rlax.td3_target_policy_smoothing(key, jnp.zeros(3), action_min=jnp.zeros(2))
    with pytest.raises(ValueError, match=r"td3_target_policy_smoothing.*`noise_std`"):
        rlax.td3_target_policy_smoothing(key, jnp.zeros(3), noise_std=jnp.ones((2, 3)))


# --- One optimiser step moves the learned quantity in the expected direction. ---


def test_temperature_rises_when_entropy_below_target():
    # log_pi = 1.5 means entropy -1.5, below a target of -1 (= -action_dim): alpha must grow.
    log_pi = jnp.full((32,), 1.5)
    opt = optax.adam(1e-2)
    log_alpha = jnp.float32(0.0)
    state = opt.init(log_alpha)
    loss = lambda la: jnp.mean(rlax.sac_temperature_loss(la, log_pi, -1.0))
    updates, state = opt.update(jax.grad(loss)(log_alpha), state)
    assert float(optax.apply_updates(log_alpha, updates)) > 0.0
    # Entropy above the target: alpha shrinks.
    loss = lambda la: jnp.mean(rlax.sac_temperature_loss(la, -log_pi, -1.0))
    updates, _ = opt.update(jax.grad(loss)(log_alpha), opt.init(log_alpha))
    assert float(optax.apply_updates(log_alpha, updates)) < 0.0


def test_discrete_temperature_rises_when_entropy_below_target():
    logits = jnp.array([[5.0, 0.0, 0.0]] * 8)  # entropy ~0.1 nats, far below 0.98 log 3
    loss = lambda la: jnp.mean(rlax.sac_discrete_temperature_loss(la, logits, 0.98 * math.log(3.0)))
    opt = optax.sgd(0.1)
    la = jnp.float32(-1.0)
    updates, _ = opt.update(jax.grad(loss)(la), opt.init(la))
    assert float(optax.apply_updates(la, updates)) > -1.0


def test_actor_step_moves_gaussian_mean_towards_higher_q(key):
    # Reparameterised 1-D Gaussian actor; both critics peak at a = 2 (the second is lower).
    eps = jax.random.normal(key, (256,))
    q1_fn = lambda a: -jnp.square(a - 2.0)
    q2_fn = lambda a: -jnp.square(a - 2.0) - 0.1

    def loss(params):
        mu, log_std = params
        a = mu + jnp.exp(log_std) * eps
        log_pi = -0.5 * jnp.square(eps) - log_std - 0.5 * jnp.log(2 * jnp.pi)
        return jnp.mean(rlax.sac_actor_loss(q1_fn(a), q2_fn(a), log_pi, 0.1))

    params = jnp.array([0.0, -1.0])
    opt = optax.sgd(0.05)
    updates, _ = opt.update(jax.grad(loss)(params), opt.init(params))
    new = optax.apply_updates(params, updates)
    assert float(new[0]) > 0.0  # mean moves towards the optimum at 2
    assert float(loss(new)) < float(loss(params))


def test_critic_step_towards_soft_target_reduces_td_error(np_rng):
    n, d = 64, 3
    feats = jnp.asarray(np_rng.normal(size=(n, d)), jnp.float32)
    r = jnp.asarray(np_rng.normal(size=n), jnp.float32)
    q1_t, q2_t, logp = (jnp.asarray(np_rng.normal(size=n), jnp.float32) for _ in range(3))
    y = rlax.sac_soft_q_target(r, 0.99, q1_t, q2_t, logp, 0.2)

    def loss(w):
        return jnp.mean(jnp.square(feats @ w - y))

    w = jnp.zeros(d)
    opt = optax.adam(0.05)
    updates, _ = opt.update(jax.grad(loss)(w), opt.init(w))
    assert float(loss(optax.apply_updates(w, updates))) < float(loss(w))


def test_td3_critic_step_reduces_td_error(np_rng, key):
    n = 64
    q_pred = jnp.asarray(np_rng.normal(size=n), jnp.float32)
    r = jnp.asarray(np_rng.normal(size=n), jnp.float32)
    a_t = rlax.td3_target_policy_smoothing(key, jnp.zeros((n, 2)))
    q1_t, q2_t = -jnp.sum(jnp.square(a_t), -1), -jnp.sum(jnp.square(a_t - 0.1), -1)
    y = rlax.td3_clipped_double_q_target(r, 0.99, q1_t, q2_t)
    loss = lambda q: jnp.mean(jnp.square(q - y))
    updates, _ = optax.sgd(0.1).update(jax.grad(loss)(q_pred), optax.sgd(0.1).init(q_pred))
    assert float(loss(optax.apply_updates(q_pred, updates))) < float(loss(q_pred))


def test_discrete_actor_step_raises_probability_of_best_action():
    q = jnp.array([[0.0, 1.0, 3.0]] * 4)
    logits = jnp.zeros((4, 3))
    loss = lambda lg: jnp.mean(rlax.sac_discrete_actor_loss(q, lg, 0.1))
    updates, _ = optax.sgd(0.5).update(jax.grad(loss)(logits), optax.sgd(0.5).init(logits))
    new = optax.apply_updates(logits, updates)
    assert float(jax.nn.softmax(new)[0, 2]) > 1.0 / 3.0


def test_docstring_examples_run():
    result = doctest.testmod(actor_critic, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0
