"""Drop-in regressions for distributions, losses, policy gradients and policy targets.

Each test pins an input the reference library accepts (masked ``-inf`` logits,
broadcasting, traced flags, optional arguments, low-precision dtypes) and checks our
values, shapes and dtypes against an independent NumPy computation or, where noted,
against a literal recorded from the reference library's output.
"""

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax

NINF = -np.inf


def _np_log_softmax(x):
    x = np.asarray(x, np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def _np_entropy_masked(logits):
    """Entropy over the finite logits only (masked actions have probability 0)."""
    lp = _np_log_softmax(logits)
    p = np.exp(lp)
    return -np.sum(np.where(p > 0, p * np.where(p > 0, lp, 0.0), 0.0), axis=-1)


MASKED = np.array([[1.0, NINF, 0.5], [0.2, 0.3, NINF]], np.float32)
DENSE = np.array([[1.0, 2.0, 0.5], [0.2, 0.3, 0.1]], np.float32)


# ---- masked (-inf) logits stay finite -------------------------------------------------


@pytest.mark.parametrize("factory", [rlax.softmax, rlax.clipped_entropy_softmax])
def test_softmax_family_entropy_with_masked_logits_is_finite(factory):
    got = factory().entropy(MASKED)
    np.testing.assert_allclose(got, _np_entropy_masked(MASKED), rtol=1e-5)
    got_1d = factory().entropy(MASKED[0])
    np.testing.assert_allclose(got_1d, _np_entropy_masked(MASKED[0]), rtol=1e-5)


def test_clipped_entropy_softmax_caps_masked_entropy():
    got = rlax.clipped_entropy_softmax(entropy_clip=0.3).entropy(MASKED)
    expected = np.minimum(_np_entropy_masked(MASKED), 0.3 * np.log(3.0))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_softmax_kl_with_masked_logits():
    d = rlax.softmax()
    lp, lq = _np_log_softmax(MASKED), _np_log_softmax(DENSE)
    p = np.exp(lp)
    expected = np.sum(np.where(p > 0, p * (np.where(p > 0, lp, 0.0) - lq), 0.0), axis=-1)
    np.testing.assert_allclose(d.kl(MASKED, DENSE), expected, rtol=1e-5)
    np.testing.assert_allclose(rlax.categorical_kl_divergence(MASKED, DENSE), expected, rtol=1e-5)
    # KL of a masked distribution to itself is exactly zero.
    np.testing.assert_array_equal(d.kl(MASKED, MASKED), [0.0, 0.0])
    # q masking an action p uses gives +inf (p puts mass where q has none).
    assert np.all(np.isinf(np.asarray(d.kl(DENSE, MASKED))))


def test_softmax_logprob_of_unmasked_action_and_out_of_range():
    d = rlax.softmax()
    got = d.logprob(jnp.array([0, 1]), MASKED)
    lp = _np_log_softmax(MASKED)
    np.testing.assert_allclose(got, [lp[0, 0], lp[1, 1]], rtol=1e-5)
    # The masked action itself has log-probability -inf.
    assert np.isneginf(np.asarray(d.logprob(jnp.array([1, 2]), MASKED))).all()
    # Actions outside [0, A) have log-probability -inf (not NaN).
    out = d.logprob(jnp.array([3, -1]), DENSE)
    assert np.isneginf(np.asarray(out)).all()


def test_categorical_cross_entropy_zero_label_on_masked_logit():
    labels = np.array([0.0, 0.5, 0.5], np.float32)
    logits = np.array([NINF, 1.0, 0.5], np.float32)
    expected = -np.sum(labels[1:] * _np_log_softmax(logits[1:]))
    np.testing.assert_allclose(rlax.categorical_cross_entropy(labels, logits), expected, rtol=1e-5)


def test_categorical_cross_entropy_normalises_labels_and_broadcasts():
    labels = np.array([0.0, 1.0, 1.0], np.float32)  # normalised to [0, .5, .5]
    expected = -np.sum((labels / 2.0) * _np_log_softmax(DENSE), axis=-1)
    got = rlax.categorical_cross_entropy(labels, DENSE)
    assert got.shape == (2,)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_sampled_policy_distillation_loss_masked_action_with_zero_weight():
    logits = jnp.array([0.0, NINF, 0.0])

    class _Dist:
        def log_prob(self, a):
            return rlax.softmax().logprob(a, logits)

    targets = rlax.PolicyTarget(actions=jnp.array([0, 1, 2]), weights=jnp.array([1.0, 0.0, 1.0]))
    got = rlax.sampled_policy_distillation_loss(_Dist(), targets)
    # -mean([log .5, 0 * (clamped -inf), log .5])
    np.testing.assert_allclose(got, -(2 * np.log(0.5)) / 3, rtol=1e-6)
    assert np.isfinite(np.asarray(got))


def test_sampled_policy_distillation_loss_traced_flag_and_shape_error():
    class _Dist:
        def log_prob(self, a):
            return -jnp.abs(a)

    targets = rlax.PolicyTarget(actions=jnp.array([1.0, 3.0]), weights=jnp.array([1.0, 1.0]))
    f = jax.jit(lambda s: rlax.sampled_policy_distillation_loss(_Dist(), targets, s))
    np.testing.assert_allclose(f(jnp.array(True)), 2.0)
    np.testing.assert_allclose(f(jnp.array(False)), 2.0)
    bad = rlax.PolicyTarget(actions=jnp.array([1.0, 3.0]), weights=jnp.ones(3))
    with pytest.raises(AssertionError, match=r"sampled_policy_distillation_loss.*weights"):
        rlax.sampled_policy_distillation_loss(_Dist(), bad)


# ---- categorical_sample: -1 for invalid probability vectors ---------------------------


@pytest.mark.parametrize(
    "probs",
    [[0.0, 0.0, 0.0], [-1.0, 10.0, -1.0], [1.0, 2.0, np.nan], [1.0, np.inf, 3.0], [1.0, 2.0, NINF]],
)
def test_categorical_sample_invalid_rows_give_minus_one(key, probs):
    got = rlax.categorical_sample(key, jnp.array(probs))
    assert got.dtype == jnp.int32 and got.shape == ()
    assert int(got) == -1
    assert int(jax.jit(rlax.categorical_sample)(key, jnp.array(probs))) == -1


def test_categorical_sample_batch_marks_only_invalid_rows(key):
    got = rlax.categorical_sample(key, jnp.array([[0.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(got, [1, -1])


def test_categorical_sample_normalises_unnormalised_weights(key):
    keys = jax.random.split(key, 4000)
    draws = jax.vmap(rlax.categorical_sample, in_axes=(0, None))(keys, jnp.array([1.0, 3.0]))
    np.testing.assert_allclose(np.mean(np.asarray(draws)), 0.75, atol=0.03)


def test_softmax_sample_gives_minus_one_for_nan_logits(key):
    got = rlax.softmax().sample(key, jnp.array([[jnp.nan, 1.0], [0.0, NINF]]))
    np.testing.assert_array_equal(got, [-1, 0])


# ---- greedy / epsilon-greedy dtypes and edge cases ------------------------------------


def test_greedy_probabilities_are_default_float_for_bf16_and_int():
    prefs = jnp.array([[1.0, 2.0, 2.0]], jnp.bfloat16)
    for d in (rlax.greedy(), rlax.epsilon_greedy(0.1)):
        assert d.probs(prefs).dtype == jnp.float32
        assert d.entropy(prefs).dtype == jnp.float32
        assert d.logprob(jnp.array([1]), prefs).dtype == jnp.float32
    np.testing.assert_allclose(rlax.greedy().probs(prefs), [[0.0, 0.5, 0.5]])
    np.testing.assert_allclose(rlax.greedy().entropy(prefs), [np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(rlax.greedy().probs(jnp.array([1, 2, 2])), [0.0, 0.5, 0.5])


def test_greedy_logprob_out_of_range_is_minus_inf():
    out = rlax.greedy().logprob(jnp.array([3, -1]), DENSE)
    assert np.isneginf(np.asarray(out)).all()
    out = rlax.epsilon_greedy(0.1).logprob(jnp.array([3, -1]), DENSE)
    assert np.isneginf(np.asarray(out)).all()


def test_epsilon_greedy_nan_preferences_fall_back_to_uniform():
    # A row with no maximum has no greedy action; the mixture is then uniform
    # (upstream's output for this input is [0.5, 0.5]).
    np.testing.assert_allclose(
        rlax.epsilon_greedy(0.1).probs(jnp.array([jnp.nan, 1.0])), [0.5, 0.5]
    )


def test_epsilon_greedy_missing_epsilon_is_a_type_error():
    with pytest.raises(TypeError, match=r"epsilon_greedy.*epsilon"):
        rlax.epsilon_greedy().probs(DENSE)
    with pytest.raises(TypeError, match=r"gaussian_diagonal.*sigma"):
        rlax.gaussian_diagonal().entropy(jnp.zeros(2))


# ---- importance ratios ----------------------------------------------------------------


def test_importance_ratios_accept_float_actions_and_broadcast():
    pi, mu = DENSE, DENSE[::-1]
    lp, lm = _np_log_softmax(pi), _np_log_softmax(mu)
    expected = np.exp([lp[0, 0] - lm[0, 0], lp[1, 1] - lm[1, 1]])
    got = rlax.categorical_importance_sampling_ratios(pi, mu, jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # A scalar action broadcasts over the batch.
    got = rlax.categorical_importance_sampling_ratios(pi, mu, jnp.array(1))
    np.testing.assert_allclose(got, np.exp(lp[:, 1] - lm[:, 1]), rtol=1e-5)
    # Behaviour logits without a batch axis broadcast too.
    got = rlax.categorical_importance_sampling_ratios(pi, mu[0], jnp.array([0, 1]))
    np.testing.assert_allclose(got, np.exp([lp[0, 0] - lm[0, 0], lp[1, 1] - lm[0, 1]]), rtol=1e-5)


# ---- squashed Gaussian without an action spec -----------------------------------------


def test_squashed_gaussian_without_action_spec(key):
    d = rlax.squashed_gaussian()
    mu = jnp.array([[0.1, -0.2], [0.3, 0.5]])
    sigma = jnp.array([[0.0, 1.0], [-1.0, 0.5]])
    sample = d.sample(key, mu, sigma, None)
    assert sample.shape == (2, 2) and sample.dtype == jnp.float32
    assert np.all(np.abs(np.asarray(sample)) < 1.0)
    y = np.array([[0.2, -0.4], [0.0, 0.9]])
    m = np.tanh(np.asarray(mu, np.float64))
    s = np.exp(-4.0 + 0.5 * 4.0 * (np.tanh(np.asarray(sigma, np.float64)) + 1.0))
    x = np.arctanh(y)
    log_normal = np.sum(-0.5 * ((x - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi), axis=-1)
    expected = log_normal - np.sum(np.log(1.0 - y**2), axis=-1)
    np.testing.assert_allclose(d.logprob(y, mu, sigma, None), expected, rtol=1e-4)
    np.testing.assert_allclose(d.prob(y, mu, sigma, None), np.exp(expected), rtol=1e-4)
    bf = d.sample(key, mu.astype(jnp.bfloat16), sigma.astype(jnp.bfloat16), None)
    assert bf.dtype == jnp.bfloat16


def test_squashed_gaussian_float_spec_with_bf16_sample_promotes():
    spec = collections.namedtuple("Spec", "minimum maximum")(
        np.array([-1.0, 0.0], np.float32), np.array([1.0, 3.0], np.float32)
    )
    d = rlax.squashed_gaussian()
    y = jnp.array([[0.1, 0.5]], jnp.bfloat16)
    got = d.logprob(y, jnp.zeros((1, 2)), jnp.zeros((1, 2)), spec)
    assert got.dtype == jnp.float32
    yy = np.asarray(y, np.float64)
    u = 2 * (yy - spec.minimum) / (spec.maximum - spec.minimum) - 1
    s = np.exp(-4.0 + 0.5 * 4.0)
    log_normal = np.sum(-0.5 * (np.arctanh(u) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi))
    expected = log_normal - np.sum(np.log(1 - u**2) + np.log((spec.maximum - spec.minimum) / 2))
    np.testing.assert_allclose(got, [expected], rtol=1e-4)


# ---- losses: broadcasting, dtypes -----------------------------------------------------


def test_l2_loss_broadcasts_targets():
    preds = np.ones((5, 3), np.float32)
    targets = np.arange(3.0, dtype=np.float32)
    got = rlax.l2_loss(preds, targets)
    assert got.shape == (5, 3)
    np.testing.assert_allclose(got, 0.5 * (preds - targets[None]) ** 2)


def test_likelihood_and_log_loss_broadcast_and_exact_endpoints():
    p = np.array([[0.2, 0.9], [0.0, 1.0]], np.float32)
    t = np.array([0.0, 1.0], np.float32)
    lik = rlax.likelihood(p, t)
    expected = np.where(t == 1.0, p, 1.0 - p)
    np.testing.assert_allclose(lik, expected, rtol=1e-6)
    np.testing.assert_allclose(rlax.log_loss(p, t), -np.log(expected), rtol=1e-6)


# ---- traced boolean flags -------------------------------------------------------------


def test_policy_gradient_losses_accept_traced_stop_gradient_flags():
    logits = jnp.asarray(DENSE)
    q = jnp.asarray(DENSE[::-1])
    a, adv, w = jnp.array([0, 2]), jnp.array([1.0, -0.5]), jnp.array([1.0, 0.5])
    calls = {
        "policy_gradient_loss": lambda s: rlax.policy_gradient_loss(logits, a, adv, w, s),
        "clipped_surrogate_pg_loss": lambda s: rlax.clipped_surrogate_pg_loss(
            adv + 1.0, adv, 0.2, s
        ),
        "dpg_loss": lambda s: rlax.dpg_loss(adv, adv[::-1], None, s),
        "qpg_loss": lambda s: rlax.qpg_loss(logits, q, s),
        "rm_loss": lambda s: rlax.rm_loss(logits, q, s),
        "rpg_loss": lambda s: rlax.rpg_loss(logits, q, s),
    }
    for name, f in calls.items():
        for flag in (True, False):
            np.testing.assert_allclose(
                jax.jit(f)(jnp.array(flag)), f(flag), rtol=1e-6, atol=1e-6, err_msg=name
            )


def test_traced_false_flag_lets_the_advantage_gradient_through():
    logits = jnp.asarray(DENSE)
    a, w = jnp.array([0, 2]), jnp.array([1.0, 1.0])

    def grad_adv(flag):
        return jax.grad(lambda adv: rlax.policy_gradient_loss(logits, a, adv, w, flag))(
            jnp.array([1.0, -0.5])
        )

    lp = _np_log_softmax(DENSE)
    np.testing.assert_allclose(
        jax.jit(grad_adv)(jnp.array(False)), -np.array([lp[0, 0], lp[1, 2]]) / 2, rtol=1e-5
    )
    np.testing.assert_array_equal(jax.jit(grad_adv)(jnp.array(True)), [0.0, 0.0])


def test_dpg_loss_traced_clipping_and_broadcast():
    a = jnp.array([0.1, -0.3])
    dq = jnp.array([3.0, 4.0])
    got = jax.jit(lambda c: rlax.dpg_loss(a, dq, c))(1.0)
    np.testing.assert_allclose(got, 0.5 * np.array([0.6, 0.8]) ** 2, rtol=1e-5)
    got = rlax.dpg_loss(a, jnp.array([2.0]))
    np.testing.assert_allclose(got, [2.0, 2.0], rtol=1e-5)
    g = jax.grad(lambda d: rlax.dpg_loss(a, d, 1.0, False).sum())(jnp.zeros(2))
    assert np.all(np.isfinite(np.asarray(g)))


# ---- exploration and transforms: dtypes and shapes ------------------------------------


def test_exploration_noise_promotes_bf16_actions_to_float32(key):
    action = jnp.array([[0.5, -0.2]], jnp.bfloat16)
    noisy = rlax.add_gaussian_noise(key, action, 0.3)
    assert noisy.dtype == jnp.float32 and noisy.shape == (1, 2)
    # Same draw as for a float32 action: the noise does not depend on the action dtype.
    ref = rlax.add_gaussian_noise(key, action.astype(jnp.float32), 0.3)
    np.testing.assert_allclose(noisy, ref, atol=1e-6)
    ou = rlax.add_ornstein_uhlenbeck_noise(key, action[0], action[0], 0.15, 0.2)
    assert ou.dtype == jnp.float32
    prior = jnp.array([[0.2, 0.3, 0.5]], jnp.bfloat16)
    mixed = rlax.add_dirichlet_noise(key, prior, 0.3, 0.25)
    assert mixed.dtype == jnp.float32
    np.testing.assert_allclose(np.sum(np.asarray(mixed), axis=-1), [1.0], rtol=1e-2)


def test_exploration_rejects_integer_actions_as_assertion_errors(key):
    with pytest.raises(AssertionError, match=r"add_gaussian_noise.*action"):
        rlax.add_gaussian_noise(key, jnp.array([1, 2]), 0.3)
    with pytest.raises(TypeError, match=r"add_gaussian_noise.*action"):
        rlax.add_gaussian_noise(key, jnp.array([1, 2]), 0.3)
    with pytest.raises(AssertionError, match=r"add_ornstein_uhlenbeck_noise.*action"):
        rlax.add_ornstein_uhlenbeck_noise(key, jnp.array([1, 2]), jnp.zeros(2), 0.1, 0.1)


def test_transform_from_2hot_rank1_probs_keeps_a_unit_axis():
    probs = np.array([0.1, 0.2, 0.3, 0.2, 0.2], np.float32)
    support = np.linspace(0.0, 2.0, 5)
    got = rlax.transform_from_2hot(probs, 0.0, 2.0, 5)
    assert got.shape == (1,)
    np.testing.assert_allclose(got, [np.sum(probs * support)], rtol=1e-6)
    got = rlax.transform_from_2hot(probs[None, None], 0.0, 2.0, 5)
    assert got.shape == (1, 1)
    with pytest.raises(TypeError, match=r"transform_from_2hot.*num_bins"):
        rlax.transform_from_2hot(probs, 0.0, 2.0, 4)


def test_transform_to_2hot_accepts_reversed_bounds_and_one_bin():
    # Reversed bounds: the scalar is clipped to [2, 0] -> 0 (jnp.clip takes the max bound
    # last), i.e. bin position (0 - 2) / (0 - 2) * 4 = 4, all mass on the last bin.
    got = rlax.transform_to_2hot(jnp.array([0.3]), 2.0, 0.0, 5)
    assert got.shape == (1, 5)
    np.testing.assert_allclose(np.sum(np.asarray(got)), 1.0, rtol=1e-5)
    got = rlax.transform_to_2hot(jnp.array([0.3]), 0.0, 2.0, 1)
    assert got.shape == (1, 1)


def test_mpo_losses_accept_traced_stop_gradient_flags():
    lp = jnp.array([[-1.0, -0.5], [-0.2, -2.0], [-0.7, -0.1]])
    q = jnp.array([[0.3, -0.1], [1.0, 0.2], [-0.5, 0.4]])
    kl = jnp.array([0.2, 0.05])

    def loss(flag):
        out, _ = rlax.mpo_loss(
            lp,
            q,
            rlax.LagrangePenalty(alpha=jnp.array(1.0), epsilon=0.1),
            [(kl, rlax.LagrangePenalty(alpha=jnp.array(0.5), epsilon=0.01))],
            use_stop_gradient=flag,
        )
        return out

    for flag in (True, False):
        np.testing.assert_allclose(jax.jit(loss)(jnp.array(flag)), loss(flag), rtol=1e-6)
    with pytest.raises(AssertionError, match=r"mpo_loss.*kl"):
        rlax.mpo_loss(
            lp,
            q,
            rlax.LagrangePenalty(alpha=jnp.array(1.0), epsilon=0.1),
            [(jnp.ones((2, 2)), rlax.LagrangePenalty(alpha=jnp.array(0.5), epsilon=0.01))],
        )


# ---- multistep: importance-corrected TD errors ----------------------------------------


def _np_importance_corrected_td_errors(r, d, rho, lam, v):
    """Forward-view definition: rho_t * (G_t - v_t) with lambda-returns using lam * rho."""
    n = len(r)
    lam = np.broadcast_to(lam, (n,))
    rho_next = np.append(rho[1:], 1.0)
    g = np.zeros(n)
    nxt = v[-1]
    for t in reversed(range(n)):
        mix = lam[t] * rho_next[t]
        g[t] = r[t] + d[t] * ((1 - mix) * v[t + 1] + mix * nxt)
        nxt = g[t]
    return rho * (g - v[:-1])


def test_importance_corrected_td_errors_matches_forward_view():
    from rlax_core._src import multistep

    r = np.array([0.5, -1.0, 2.0, 0.3], np.float32)
    d = np.array([0.9, 0.8, 0.0, 0.95], np.float32)
    rho = np.array([1.2, 0.5, 0.9, 2.0], np.float32)
    v = np.array([0.1, 0.4, -0.3, 1.0, 0.7], np.float32)
    for lam in (0.7, np.array([1.0, 0.5, 0.2, 0.9], np.float32)):
        got = multistep.importance_corrected_td_errors(r, d, rho, lam, v)
        expected = _np_importance_corrected_td_errors(r, d, rho, lam, v)
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    f = jax.jit(lambda s: multistep.importance_corrected_td_errors(r, d, rho, 0.7, v, s))
    np.testing.assert_allclose(f(jnp.array(True)), f(jnp.array(False)), rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match=r"importance_corrected_td_errors.*values"):
        multistep.importance_corrected_td_errors(r, d, rho, 0.7, v[:-1])


# ---- mpo_ops: kl_constraint_loss and get_top_k_weights --------------------------------


def test_kl_constraint_loss_values_and_stop_gradients():
    from rlax_core._src import mpo_ops

    kl = jnp.array([0.3, 0.05])
    penalty = rlax.LagrangePenalty(alpha=jnp.array(2.0), epsilon=0.1)
    kl_loss, alpha_loss, alpha = mpo_ops.kl_constraint_loss(kl, penalty, jnp.abs)
    np.testing.assert_allclose(kl_loss, [0.6, 0.1], rtol=1e-6)
    np.testing.assert_allclose(alpha_loss, [2.0 * (0.1 - 0.3), 2.0 * (0.1 - 0.05)], rtol=1e-6)
    np.testing.assert_allclose(alpha, 2.0)

    def total(k, a, flag):
        p = rlax.LagrangePenalty(alpha=a, epsilon=0.1)
        kl_l, alpha_l, _ = mpo_ops.kl_constraint_loss(k, p, jnp.abs, flag)
        return jnp.sum(kl_l + alpha_l)

    g_kl, g_alpha = jax.jit(jax.grad(total, argnums=(0, 1)))(kl, jnp.array(2.0), jnp.array(True))
    # Stopped: kl only gets alpha (from the kl loss), alpha only gets sum(eps - kl).
    np.testing.assert_allclose(g_kl, [2.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(g_alpha, 2 * 0.1 - 0.35, rtol=1e-5)
    g_kl, g_alpha = jax.jit(jax.grad(total, argnums=(0, 1)))(kl, jnp.array(2.0), jnp.array(False))
    np.testing.assert_allclose(g_kl, [0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(g_alpha, 2 * 0.1, rtol=1e-5)


def test_get_top_k_weights_skips_restarts():
    from rlax_core._src import mpo_ops

    adv = jnp.array([5.0, 4.0, 1.0, 3.0])
    restart = jnp.array([0.0, 1.0, 1.0, 1.0])
    got = mpo_ops.get_top_k_weights(0.5, restart, adv)
    # The restarted step (advantage 5) does not count: the top two valid are 4 and 3.
    np.testing.assert_array_equal(got, [0.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(mpo_ops.get_top_k_weights(1.0, restart, adv), restart)
    with pytest.raises(ValueError, match=r"get_top_k_weights.*top_k_fraction"):
        mpo_ops.get_top_k_weights(0.1, restart, adv)
