"""Losses for reinforcement learning on sequence models: GRPO and DPO.

Sequences are handled as arrays of per-token log-probabilities of the tokens that were
actually sampled (``[..., L]``), so these losses never see vocabulary-sized logits; any
number of leading batch axes is accepted. Padding is described by a ``mask`` (1 for a
real token, 0 for padding).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, multistep
from rlax_core._src.policy_optimisation import k3_from_log_ratio

__all__ = ["dpo_loss", "grpo_advantages", "grpo_loss"]


def _shape(x: ArrayLike) -> tuple[int, ...]:
    return tuple(jnp.shape(x))


def _check_number(fn: str, name: str, value: object, *, low: float, high: float) -> None:
    """Raises ValueError if a concrete Python number lies outside ``[low, high]``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not low <= float(value) <= high:
            raise ValueError(f"{fn}: `{name}` must lie in [{low}, {high}], got {value}.")


def grpo_advantages(rewards: ArrayLike, *, eps: float = 1e-6, ddof: int = 0) -> jax.Array:
    """Group-relative advantages of GRPO: rewards standardised within each group.

    ``A_i = (r_i - mean_j r_j) / (std_j r_j + eps)``, where ``j`` runs over the ``G`` answers
    sampled for the same prompt (the last axis). A group whose rewards are all equal gets
    zero advantages.

    Args:
      rewards: ``[..., G]`` float rewards; the last axis is the group of samples that share a
        prompt; leading axes are batch axes.
      eps: added to the standard deviation before dividing.
      ddof: delta degrees of freedom of the standard deviation: 0 (default) is the
        population std; 1 is the sample std (what ``torch.Tensor.std`` computes, as in
        TRL's GRPO trainer). Needs ``G > ddof``.

    Returns:
      ``[..., G]`` advantages, same dtype as ``rewards``.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``rewards`` is a scalar or the group is too
        small for ``ddof``. DtypeAssertionError: (a ``TypeError``) if it is not floating point.

    References:
      Shao et al. (2024), DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open
      Language Models, sec. 4.1.2 (outcome supervision), https://arxiv.org/abs/2402.03300.

    Examples:
      >>> print(grpo_advantages(jnp.array([1.0, 0.0, 0.0, 1.0])).round(4))
      [ 1. -1. -1.  1.]
    """
    fn = "rlax_core.grpo_advantages"
    checks.check_type(fn, rewards=(rewards, "float"))
    shape = _shape(rewards)
    if len(shape) < 1:
        raise checks.ShapeAssertionError(
            f"{fn}: `rewards` must have rank >= 1 (last axis = group), got shape {shape}."
        )
    if shape[-1] <= ddof:
        raise checks.ShapeAssertionError(
            f"{fn}: the group axis of `rewards` must have more than ddof={ddof} entries, "
            f"got shape {shape}."
        )
    rewards = jnp.asarray(rewards)
    mean = jnp.mean(rewards, axis=-1, keepdims=True)
    std = jnp.std(rewards, axis=-1, keepdims=True, ddof=ddof)
    return (rewards - mean) / (std + eps)


def grpo_loss(
    logp_t: ArrayLike,
    logp_old_t: ArrayLike,
    logp_ref_t: ArrayLike,
    advantages: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    clip_epsilon: float = 0.2,
    kl_coef: float = 0.04,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """GRPO loss: PPO-clipped token objective with a k3 KL penalty to a reference policy.

    For every token ``t`` of sequence ``i``, with ``r = exp(logp - logp_old)`` and
    ``d = logp_ref - logp``::

        l_it = -( min(r * A_i, clip(r, 1 - clip_epsilon, 1 + clip_epsilon) * A_i)
                  - kl_coef * (exp(d) - d - 1) )

    ``exp(d) - d - 1`` is Schulman's k3 estimator of ``KL(pi || pi_ref)`` from tokens
    sampled from ``pi`` (always >= 0). The loss is the mean over sequences of the mean over
    each sequence's real tokens: ``1/N sum_i 1/|o_i| sum_{t in o_i} l_it`` (the paper's
    ``1/G sum_i 1/|o_i| sum_t``, with all leading axes treated as sequences). A sequence
    with no real token contributes 0 to the sum (it still counts in ``N``).

    Args:
      logp_t: ``[..., L]`` float log-probabilities of the sampled tokens under the current
        policy (the one being optimised).
      logp_old_t: ``[..., L]`` the same under the policy that sampled the tokens.
      logp_ref_t: ``[..., L]`` the same under the frozen reference policy.
      advantages: ``[...]`` float, one advantage per sequence (e.g. from
        :func:`grpo_advantages`).
      mask: optional ``[..., L]`` bool/int/float, 1 (True) for real tokens and 0 for padding;
        None means every token is real.
      clip_epsilon: PPO clipping half-width of the ratio.
      kl_coef: weight ``beta`` of the KL penalty.
      use_stop_gradient: stop gradients through ``logp_old_t``, ``logp_ref_t`` and
        ``advantages`` (default True): only ``logp_t`` is trained.

    Returns:
      ``[]`` scalar loss to minimise, dtype of ``logp_t``.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the log-probabilities or mask differ in
        shape, or ``advantages`` is not ``logp_t.shape[:-1]``. DtypeAssertionError: (a
        ``TypeError``) on non-float log-probabilities or advantages.

    References:
      Shao et al. (2024), DeepSeekMath, eq. (3), https://arxiv.org/abs/2402.03300.
      Schulman (2020), Approximating KL Divergence, http://joschu.net/blog/kl-approx.html.

    Examples:
      >>> logp = jnp.log(jnp.full((2, 3), 0.5))  # current policy
      >>> logp_old = jnp.log(jnp.full((2, 3), 0.4))  # ratio 1.25, clipped to 1.2 when A > 0
      >>> mask = jnp.array([[1, 1, 0], [1, 1, 1]])
      >>> print(round(float(grpo_loss(logp, logp_old, logp, jnp.array([1.0, -1.0]), mask)), 4))
      0.025
    """
    fn = "rlax_core.grpo_loss"
    checks.check_type(
        fn,
        logp_t=(logp_t, "float"),
        logp_old_t=(logp_old_t, "float"),
        logp_ref_t=(logp_ref_t, "float"),
        advantages=(advantages, "float"),
    )
    shape = _shape(logp_t)
    if len(shape) < 1:
        raise checks.ShapeAssertionError(
            f"{fn}: `logp_t` must have rank >= 1 ([..., L] per-token log-probs), got shape {shape}."
        )
    checks.check_equal_shape(fn, logp_t=logp_t, logp_old_t=logp_old_t, logp_ref_t=logp_ref_t)
    if _shape(advantages) != shape[:-1]:
        raise checks.ShapeAssertionError(
            f"{fn}: `advantages` must have shape logp_t.shape[:-1] = {shape[:-1]} (one per "
            f"sequence), got {_shape(advantages)}."
        )
    logp = jnp.asarray(logp_t)
    if mask is None:
        weights = jnp.ones(shape, logp.dtype)
    else:
        checks.check_equal_shape(fn, logp_t=logp_t, mask=mask)
        weights = jnp.asarray(mask).astype(logp.dtype)
    logp_old = multistep.maybe_stop_gradient(logp_old_t, use_stop_gradient)
    logp_ref = multistep.maybe_stop_gradient(logp_ref_t, use_stop_gradient)
    adv = multistep.maybe_stop_gradient(advantages, use_stop_gradient)[..., None]

    ratio = jnp.exp(logp - logp_old)
    clipped_ratio = jnp.clip(ratio, 1.0 - clip_epsilon, 1.0 + clip_epsilon)
    surrogate = jnp.minimum(ratio * adv, clipped_ratio * adv)
    per_token = kl_coef * k3_from_log_ratio(logp_ref - logp) - surrogate

    token_count = jnp.sum(weights, axis=-1)
    per_sequence = jnp.sum(per_token * weights, axis=-1) / jnp.maximum(token_count, 1.0)
    return jnp.mean(per_sequence).astype(logp.dtype)


def dpo_loss(
    policy_chosen_logp: ArrayLike,
    policy_rejected_logp: ArrayLike,
    ref_chosen_logp: ArrayLike,
    ref_rejected_logp: ArrayLike,
    beta: float = 0.1,
    label_smoothing: float = 0.0,
) -> jax.Array:
    """Direct Preference Optimisation loss, per preference pair.

    With the implicit reward margin
    ``h = (policy_chosen_logp - ref_chosen_logp) - (policy_rejected_logp - ref_rejected_logp)``::

        loss = -(1 - label_smoothing) * log sigmoid(beta * h)
               - label_smoothing * log sigmoid(-beta * h)

    ``label_smoothing = 0`` is the original DPO loss; ``label_smoothing = eps > 0`` is the
    conservative variant (cDPO) that assumes each preference label is flipped with
    probability ``eps``. Log-probabilities are of whole responses (sums of token log-probs).

    Args:
      policy_chosen_logp: ``[...]`` float log-prob of the preferred response under the policy.
      policy_rejected_logp: ``[...]`` the same for the dispreferred response.
      ref_chosen_logp: ``[...]`` log-prob of the preferred response under the reference model.
      ref_rejected_logp: ``[...]`` the same for the dispreferred response.
      beta: inverse temperature of the implicit reward (> 0).
      label_smoothing: probability that a label is wrong, in ``[0, 1]`` (typically < 0.5).

    Returns:
      ``[...]`` per-pair loss (the broadcast shape of the inputs); take the mean over a batch.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      ValueError: if a concrete ``beta`` or ``label_smoothing`` is out of range.
      DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Rafailov et al. (2023), Direct Preference Optimization: Your Language Model is Secretly
      a Reward Model, eq. (7), https://arxiv.org/abs/2305.18290. Mitchell (2023), A note on
      DPO with noisy preferences and relationship to IPO (cDPO).

    Examples:
      >>> print(dpo_loss(jnp.array([-1.0]), jnp.array([-3.0]), jnp.array([-2.0]), jnp.array([-2.0]), beta=1.0).round(4))
      [0.1269]
    """
    fn = "rlax_core.dpo_loss"
    checks.check_type(
        fn,
        policy_chosen_logp=(policy_chosen_logp, "float"),
        policy_rejected_logp=(policy_rejected_logp, "float"),
        ref_chosen_logp=(ref_chosen_logp, "float"),
        ref_rejected_logp=(ref_rejected_logp, "float"),
    )
    if isinstance(beta, numbers.Real) and not isinstance(beta, bool) and not float(beta) > 0:
        raise ValueError(f"{fn}: `beta` must be > 0, got {beta}.")
    _check_number(fn, "label_smoothing", label_smoothing, low=0.0, high=1.0)
    pc, pr, rc, rr = checks.broadcast_arrays(
        fn,
        policy_chosen_logp=policy_chosen_logp,
        policy_rejected_logp=policy_rejected_logp,
        ref_chosen_logp=ref_chosen_logp,
        ref_rejected_logp=ref_rejected_logp,
    )
    logits = beta * ((pc - rc) - (pr - rr))
    return -(1.0 - label_smoothing) * jax.nn.log_sigmoid(logits) - label_smoothing * (
        jax.nn.log_sigmoid(-logits)
    )
