"""Tests for the sequence-model RL losses (GRPO, DPO) against NumPy references from the papers."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from shared_testing.grads import assert_grads_numerical
from shared_testing.variants import check_variants

import rlax_core as rlax

P, G, L = 3, 4, 6


# ----------------------------------------------------------------------------- references


def _np_group_advantages(rewards, eps, ddof):
    """Shao et al. (2024) outcome supervision, one group at a time with explicit loops."""
    rewards = np.asarray(rewards, np.float64)
    out = np.zeros_like(rewards)
    for idx in np.ndindex(rewards.shape[:-1]):
        group = rewards[idx]
        n = len(group)
        mean = sum(group) / n
        var = sum((g - mean) ** 2 for g in group) / (n - ddof)
        out[idx] = [(g - mean) / (math.sqrt(var) + eps) for g in group]
    return out


def _np_grpo(logp, logp_old, logp_ref, adv, mask, clip_eps, beta):
    """DeepSeekMath eq. (3) as a loss, token by token."""
    logp = np.asarray(logp, np.float64).reshape(-1, np.shape(logp)[-1])
    logp_old = np.asarray(logp_old, np.float64).reshape(logp.shape)
    logp_ref = np.asarray(logp_ref, np.float64).reshape(logp.shape)
    mask = np.asarray(mask, np.float64).reshape(logp.shape)
    adv = np.asarray(adv, np.float64).reshape(-1)
    per_seq = []
    for i in range(logp.shape[0]):
        total, count = 0.0, 0.0
        for t in range(logp.shape[1]):
            if mask[i, t] == 0:
                continue
            ratio = math.exp(logp[i, t] - logp_old[i, t])
            clipped = min(max(ratio, 1 - clip_eps), 1 + clip_eps)
            surrogate = min(ratio * adv[i], clipped * adv[i])
            # pi_ref / pi - log(pi_ref / pi) - 1, the paper's unbiased KL estimator.
            q = math.exp(logp_ref[i, t]) / math.exp(logp[i, t])
            kl = q - math.log(q) - 1
            total += -(surrogate - beta * kl)
            count += 1
        per_seq.append(total / count if count else 0.0)
    return sum(per_seq) / len(per_seq)


def _np_dpo(pc, pr, rc, rr, beta, ls):
    """Rafailov et al. (2023) eq. (7) with cDPO smoothing; log sigmoid(x) = -log(1 + e^-x)."""
    h = beta * ((np.float64(pc) - rc) - (np.float64(pr) - rr))
    return (1 - ls) * np.logaddexp(0.0, -h) + ls * np.logaddexp(0.0, h)


@pytest.fixture
def seq_inputs(np_rng):
    logp = np.log(np_rng.uniform(0.05, 0.95, size=(P, G, L))).astype(np.float32)
    logp_old = (logp + np_rng.normal(scale=0.3, size=logp.shape)).astype(np.float32)
    logp_ref = (logp + np_rng.normal(scale=0.5, size=logp.shape)).astype(np.float32)
    adv = np_rng.normal(size=(P, G)).astype(np.float32)
    lengths = np_rng.integers(1, L + 1, size=(P, G))
    mask = (np.arange(L)[None, None, :] < lengths[..., None]).astype(np.float32)
    return logp, logp_old, logp_ref, adv, mask


# ----------------------------------------------------------------------------- advantages


@pytest.mark.parametrize("ddof", [0, 1])
def test_grpo_advantages_matches_numpy(np_rng, ddof):
    rewards = np_rng.normal(size=(P, G)).astype(np.float32)
    fn = functools.partial(rlax.grpo_advantages, ddof=ddof)
    out = check_variants(fn, rewards[0], vmap_args=(rewards,))
    np.testing.assert_allclose(out, _np_group_advantages(rewards[0], 1e-6, ddof)[0:], rtol=1e-5)
    np.testing.assert_allclose(fn(rewards), _np_group_advantages(rewards, 1e-6, ddof), rtol=1e-5)
    assert fn(rewards).dtype == jnp.float32 and fn(rewards).shape == (P, G)


def test_grpo_advantages_hand_computed_and_constant_group():
    # Binary rewards {1, 0, 0, 1}: mean 0.5, population std 0.5 -> +-1.
    out = rlax.grpo_advantages(jnp.array([[1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0]]), eps=0.0)
    np.testing.assert_allclose(out[0], [1.0, -1.0, -1.0, 1.0], rtol=1e-6)
    # A group with equal rewards carries no learning signal: advantages are 0 (eps > 0).
    np.testing.assert_array_equal(
        rlax.grpo_advantages(jnp.full((G,), 2.0)), np.zeros(G, np.float32)
    )
    # Each group is normalised on its own: the batch axis is never mixed.
    np.testing.assert_allclose(
        rlax.grpo_advantages(jnp.array([[0.0, 1.0], [0.0, 100.0]])),
        [[-1.0, 1.0], [-1.0, 1.0]],
        rtol=1e-5,
    )


def test_grpo_advantages_errors():
    with pytest.raises(ValueError, match=r"grpo_advantages.*`rewards`.*rank >= 1"):
        rlax.grpo_advantages(jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"grpo_advantages.*ddof=1.*\(1,\)"):
        rlax.grpo_advantages(jnp.ones(1), ddof=1)
    with pytest.raises(TypeError, match=r"grpo_advantages.*`rewards`.*float"):
        rlax.grpo_advantages(jnp.array([1, 0, 1]))


# ----------------------------------------------------------------------------- GRPO loss


def test_grpo_loss_matches_numpy(seq_inputs):
    logp, logp_old, logp_ref, adv, mask = seq_inputs
    fn = functools.partial(rlax.grpo_loss, clip_epsilon=0.2, kl_coef=0.04)
    out = check_variants(fn, logp, logp_old, logp_ref, adv, mask)
    expected = _np_grpo(logp, logp_old, logp_ref, adv, mask, 0.2, 0.04)
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert out.shape == () and out.dtype == jnp.float32
    # Other hyper-parameters, and a bool mask.
    out = rlax.grpo_loss(
        logp, logp_old, logp_ref, adv, mask.astype(bool), clip_epsilon=0.1, kl_coef=0.5
    )
    expected = _np_grpo(logp, logp_old, logp_ref, adv, mask, 0.1, 0.5)
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_grpo_loss_vmap_over_prompts(seq_inputs):
    logp, logp_old, logp_ref, adv, mask = seq_inputs
    per_prompt = check_variants(
        rlax.grpo_loss,
        logp[0],
        logp_old[0],
        logp_ref[0],
        adv[0],
        mask[0],
        vmap_args=(logp, logp_old, logp_ref, adv, mask),
    )
    expected = _np_grpo(logp[0], logp_old[0], logp_ref[0], adv[0], mask[0], 0.2, 0.04)
    np.testing.assert_allclose(per_prompt, expected, rtol=1e-5)
    # Every prompt has the same number of sequences, so the mean of the per-prompt losses
    # is the loss of the whole batch.
    batched = jax.vmap(rlax.grpo_loss)(logp, logp_old, logp_ref, adv, mask)
    np.testing.assert_allclose(
        jnp.mean(batched), rlax.grpo_loss(logp, logp_old, logp_ref, adv, mask), rtol=1e-5
    )


def test_grpo_loss_single_sequence_and_default_mask(seq_inputs):
    logp, logp_old, logp_ref, adv, _ = seq_inputs
    one = rlax.grpo_loss(logp[0, 0], logp_old[0, 0], logp_ref[0, 0], adv[0, 0])
    expected = _np_grpo(
        logp[0, 0], logp_old[0, 0], logp_ref[0, 0], adv[0, 0], np.ones(L), 0.2, 0.04
    )
    np.testing.assert_allclose(one, expected, rtol=1e-5)
    np.testing.assert_allclose(
        rlax.grpo_loss(logp, logp_old, logp_ref, adv),
        rlax.grpo_loss(logp, logp_old, logp_ref, adv, np.ones_like(logp)),
        rtol=1e-6,
    )


def test_grpo_loss_ignores_padding_and_empty_sequences(seq_inputs):
    logp, logp_old, logp_ref, adv, mask = seq_inputs
    base = rlax.grpo_loss(logp, logp_old, logp_ref, adv, mask)
    # Garbage in padded positions changes nothing, in the value or in the gradient.
    pad = mask == 0
    junk = np.where(pad, np.float32(-50.0), logp)
    np.testing.assert_allclose(rlax.grpo_loss(junk, logp_old, logp_ref, adv, mask), base, rtol=1e-6)
    g = jax.grad(rlax.grpo_loss)(junk, logp_old, logp_ref, adv, mask)
    assert np.all(np.asarray(g)[pad] == 0.0)
    assert np.all(np.isfinite(g))
    # A sequence without real tokens adds 0 but still counts as a sequence.
    mask2 = mask.copy()
    mask2[0, 0] = 0.0
    out = rlax.grpo_loss(logp, logp_old, logp_ref, adv, mask2)
    np.testing.assert_allclose(
        out, _np_grpo(logp, logp_old, logp_ref, adv, mask2, 0.2, 0.04), rtol=1e-5
    )


def test_grpo_loss_length_normalisation_is_per_sequence():
    # Two sequences with A = +1 and -1, ratio 1 and no KL: each sequence averages to -A
    # whatever its length, so the loss is 0 (a token-level mean would give -(3-1)/4 = -0.5).
    logp = jnp.log(jnp.full((2, 3), 0.5))
    mask = jnp.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    out = rlax.grpo_loss(logp, logp, logp, jnp.array([1.0, -1.0]), mask)
    np.testing.assert_allclose(out, 0.0, atol=1e-7)


def test_grpo_loss_clipping_and_gradients():
    # kl_coef = 0 isolates the surrogate. Ratio 1.5 = exp(log 1.5) with A > 0 is clipped
    # (flat, no gradient); with A < 0 the unclipped branch r*A is the minimum (gradient -r*A).
    logp_old = jnp.zeros((2, 1))
    logp = jnp.full((2, 1), np.log(1.5), jnp.float32)
    adv = jnp.array([1.0, -1.0])
    loss = functools.partial(rlax.grpo_loss, kl_coef=0.0)
    np.testing.assert_allclose(loss(logp, logp_old, logp, adv), -(1.2 - 1.5) / 2, rtol=1e-6)
    g = jax.grad(loss)(logp, logp_old, logp, adv)
    np.testing.assert_allclose(g, [[0.0], [1.5 / 2]], rtol=1e-6)
    # By default only logp_t is trained; without stop-gradient the other inputs get gradients.
    grads = jax.grad(loss, argnums=(1, 2, 3))(logp, logp_old, logp, adv)
    for gi in grads:
        np.testing.assert_array_equal(gi, np.zeros_like(gi))
    loss_ns = functools.partial(rlax.grpo_loss, kl_coef=0.1, use_stop_gradient=False)
    grads = jax.grad(loss_ns, argnums=(1, 2, 3))(logp, logp_old, logp - 0.3, adv)
    assert all(np.any(np.asarray(gi) != 0) for gi in grads)


def test_grpo_loss_grads_match_finite_differences(seq_inputs):
    logp, logp_old, _, adv, mask = seq_inputs
    # Stay away from the clip kinks: ratios close to 1.
    logp_old = (logp + 0.01).astype(np.float64)
    logp_ref = (logp - 0.4).astype(np.float64)
    with jax.enable_x64(True):
        fn = functools.partial(
            rlax.grpo_loss,
            logp_old_t=logp_old,
            logp_ref_t=logp_ref,
            advantages=adv.astype(np.float64),
            mask=mask,
        )
        assert_grads_numerical(fn, (logp.astype(np.float64),), order=1, modes=("fwd", "rev"))


def test_grpo_kl_term_estimates_kl_to_reference(np_rng):
    # k3 averaged over tokens sampled from pi estimates KL(pi || pi_ref) (Schulman 2020).
    # With ratio 1 and A = 0 the loss is kl_coef times that average.
    pi = np.array([0.7, 0.2, 0.1])
    ref = np.array([0.1, 0.1, 0.8])
    tokens = np_rng.choice(3, size=(1, 100_000), p=pi)
    logp = np.log(pi)[tokens].astype(np.float32)
    logp_ref = np.log(ref)[tokens].astype(np.float32)
    out = rlax.grpo_loss(logp, logp, logp_ref, np.zeros(1, np.float32), kl_coef=1.0)
    kl_pi_ref = float(np.sum(pi * np.log(pi / ref)))
    kl_ref_pi = float(np.sum(ref * np.log(ref / pi)))
    assert abs(float(out) - kl_pi_ref) < 0.03
    assert abs(kl_pi_ref - kl_ref_pi) > 0.05  # the two directions are distinguishable here


def test_grpo_loss_errors(seq_inputs):
    logp, logp_old, logp_ref, adv, mask = seq_inputs
    with pytest.raises(ValueError, match=r"grpo_loss.*`logp_old_t`.*same shape"):
        rlax.grpo_loss(logp, logp_old[..., :-1], logp_ref, adv, mask)
    with pytest.raises(ValueError, match=r"grpo_loss.*`advantages`.*\(3, 4\).*got \(3, 4, 6\)"):
        rlax.grpo_loss(logp, logp_old, logp_ref, logp, mask)
    with pytest.raises(ValueError, match=r"grpo_loss.*`mask`.*same shape"):
        rlax.grpo_loss(logp, logp_old, logp_ref, adv, mask[..., :-1])
    with pytest.raises(ValueError, match=r"grpo_loss.*`logp_t`.*rank >= 1"):
        rlax.grpo_loss(np.float32(0.0), np.float32(0.0), np.float32(0.0), np.float32(0.0))
    with pytest.raises(TypeError, match=r"grpo_loss.*`advantages`.*float"):
        rlax.grpo_loss(logp, logp_old, logp_ref, adv.astype(np.int32), mask)


def _sequence_logp(theta, tokens):
    """log pi(tokens) per token for a position-wise categorical policy theta [L, V]."""
    logp_all = jax.nn.log_softmax(theta, axis=-1)  # [L, V]
    return jnp.take_along_axis(logp_all[None], tokens[..., None], axis=-1)[..., 0]  # [N, L]


def test_grpo_update_raises_logp_of_good_sequences(np_rng):
    # One Adam step on GRPO raises the advantage-weighted log-likelihood of the group.
    V = 5
    theta = jnp.asarray(np_rng.normal(scale=0.1, size=(L, V)), jnp.float32)
    tokens = jnp.asarray(np_rng.integers(0, V, size=(G * 2, L)))
    rewards = jnp.asarray((np.asarray(tokens) == 0).mean(axis=-1), jnp.float32)
    adv = rlax.grpo_advantages(rewards)
    logp_old = jax.lax.stop_gradient(_sequence_logp(theta, tokens))

    def loss(th):
        return rlax.grpo_loss(_sequence_logp(th, tokens), logp_old, logp_old, adv)

    def weighted_loglik(th):
        return float(jnp.sum(adv * jnp.sum(_sequence_logp(th, tokens), axis=-1)))

    opt = optax.adam(1e-2)
    updates, _ = opt.update(jax.grad(loss)(theta), opt.init(theta))
    new_theta = optax.apply_updates(theta, updates)
    assert weighted_loglik(new_theta) > weighted_loglik(theta)
    assert float(loss(new_theta)) < float(loss(theta))


# ----------------------------------------------------------------------------- DPO


@pytest.mark.parametrize("beta, ls", [(0.1, 0.0), (0.5, 0.0), (1.0, 0.2)])
def test_dpo_loss_matches_numpy(np_rng, beta, ls):
    pc, pr, rc, rr = (np_rng.normal(loc=-5, size=(4, 8)).astype(np.float32) for _ in range(4))
    fn = functools.partial(rlax.dpo_loss, beta=beta, label_smoothing=ls)
    out = check_variants(fn, pc[0], pr[0], rc[0], rr[0], vmap_args=(pc, pr, rc, rr))
    np.testing.assert_allclose(out, _np_dpo(pc[0], pr[0], rc[0], rr[0], beta, ls), rtol=1e-5)
    assert out.shape == (8,) and out.dtype == jnp.float32


def test_dpo_loss_hand_values_and_broadcasting():
    # Zero margin: -log sigmoid(0) = log 2, whatever the smoothing.
    z = jnp.zeros(3)
    np.testing.assert_allclose(rlax.dpo_loss(z, z, z, z), np.full(3, np.log(2.0)), rtol=1e-6)
    np.testing.assert_allclose(
        rlax.dpo_loss(z, z, z, z, label_smoothing=0.3), np.full(3, np.log(2.0)), rtol=1e-6
    )
    # Scalar references broadcast against a batch of policy log-probs.
    pc = jnp.array([-1.0, -2.0])
    out = rlax.dpo_loss(pc, jnp.array([-3.0, -3.0]), -2.0, -2.0, beta=1.0)
    np.testing.assert_allclose(out, np.log1p(np.exp(-np.array([2.0, 1.0]))), rtol=1e-6)
    # Large margins stay finite (log-sigmoid, not log of sigmoid).
    big = rlax.dpo_loss(jnp.array(0.0), jnp.array(-1e4), 0.0, 0.0, beta=1.0, label_smoothing=0.1)
    np.testing.assert_allclose(big, 0.1 * 1e4, rtol=1e-6)


def test_dpo_loss_gradient_signs(np_rng):
    pc, pr, rc, rr = (np_rng.normal(size=5).astype(np.float32) for _ in range(4))
    g_pc, g_pr = jax.grad(lambda a, b: jnp.sum(rlax.dpo_loss(a, b, rc, rr)), argnums=(0, 1))(pc, pr)
    assert np.all(np.asarray(g_pc) < 0) and np.all(np.asarray(g_pr) > 0)
    # d/dpc = -beta * sigmoid(-beta h) for ls = 0.
    h = 0.1 * ((pc - rc) - (pr - rr))
    np.testing.assert_allclose(g_pc, -0.1 / (1 + np.exp(h)), rtol=1e-5)


def test_dpo_update_grows_margin(np_rng):
    # One SGD step on the mean DPO loss widens the chosen-vs-rejected log-ratio margin.
    V, N = 4, 16
    theta = jnp.asarray(np_rng.normal(scale=0.1, size=(L, V)), jnp.float32)
    chosen = jnp.asarray(np_rng.integers(0, V, size=(N, L)))
    rejected = jnp.asarray(np_rng.integers(0, V, size=(N, L)))
    ref_c = jnp.sum(_sequence_logp(theta, chosen), -1)
    ref_r = jnp.sum(_sequence_logp(theta, rejected), -1)

    def margin(th):
        pc = jnp.sum(_sequence_logp(th, chosen), -1)
        pr = jnp.sum(_sequence_logp(th, rejected), -1)
        return pc, pr

    def loss(th):
        pc, pr = margin(th)
        return jnp.mean(rlax.dpo_loss(pc, pr, ref_c, ref_r, beta=0.5))

    opt = optax.sgd(0.5)
    updates, _ = opt.update(jax.grad(loss)(theta), opt.init(theta))
    new_theta = optax.apply_updates(theta, updates)
    before = margin(theta)
    after = margin(new_theta)
    assert float(jnp.mean(after[0] - after[1])) > float(jnp.mean(before[0] - before[1]))
    assert float(loss(new_theta)) < float(loss(theta))


def test_dpo_loss_errors():
    x = jnp.zeros(3)
    with pytest.raises(ValueError, match=r"dpo_loss.*`beta`.*> 0.*got 0"):
        rlax.dpo_loss(x, x, x, x, beta=0.0)
    with pytest.raises(ValueError, match=r"dpo_loss.*`label_smoothing`.*\[0.0, 1.0\].*got 1.5"):
        rlax.dpo_loss(x, x, x, x, label_smoothing=1.5)
    with pytest.raises(ValueError, match=r"dpo_loss.*do not broadcast.*`ref_chosen_logp` \(2,\)"):
        rlax.dpo_loss(x, x, jnp.zeros(2), x)
    with pytest.raises(TypeError, match=r"dpo_loss.*`policy_rejected_logp`.*float"):
        rlax.dpo_loss(x, jnp.zeros(3, jnp.int32), x, x)
    # Traced hyper-parameters are accepted (no concrete range check possible).
    out = jax.jit(rlax.dpo_loss)(x, x, x, x, jnp.float32(0.2), jnp.float32(0.1))
    np.testing.assert_allclose(out, np.full(3, np.log(2.0)), rtol=1e-6)
