"""MPO and V-MPO policy-improvement losses with Lagrangian (dual) constraints.

Both losses have an E-step (non-parametric weights from a temperature dual) and an
M-step (weighted maximum likelihood kept close to the old policy by KL constraints whose
multipliers ``alpha`` are learned by their own dual losses).

``use_stop_gradient`` flags may be Python bools or traced boolean scalars (they
select between the stopped and unstopped value, so they work under ``jax.jit``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, multistep
from rlax_core._src.tree_util import checks_raise_assertion_errors


class LagrangePenalty(NamedTuple):
    """A Lagrange multiplier and the bound it enforces.

    Fields:
      alpha: [] or [D] multiplier pre-activation (passed through ``projection_operator``).
      epsilon: bound of the constraint (KL or temperature).
      per_dimension: whether ``alpha`` has one entry per action dimension (KLs ``[..., D]``
        are then summed over ``D`` after weighting).
    """

    alpha: jax.Array
    epsilon: float | int
    per_dimension: bool = False


class MpoOutputs(NamedTuple):
    """Diagnostics returned with the MPO / V-MPO losses (each term before weighting)."""

    temperature_loss: jax.Array
    policy_loss: jax.Array
    kl_loss: jax.Array
    alpha_loss: jax.Array
    normalized_weights: jax.Array
    num_samples: jax.Array | int | float


_DEFAULT_PROJECTION = functools.partial(jnp.clip, min=1e-10)


def _maybe_stop(x: jax.Array, stop: bool | ArrayLike) -> jax.Array:
    """Stops the gradient of ``x`` when ``stop`` holds; ``stop`` may be a traced bool."""
    return multistep.maybe_stop_gradient(x, stop)


def compute_parametric_kl_penalty_and_dual_loss(
    kl_constraints: Sequence[tuple[ArrayLike, LagrangePenalty]],
    projection_operator: Callable[[jax.Array], jax.Array],
    use_stop_gradient: bool = True,
) -> tuple[jax.Array, jax.Array]:
    """KL penalties for the policy and dual losses for their multipliers.

    For each ``(kl, LagrangePenalty(alpha, epsilon, per_dimension))`` with
    ``a = projection_operator(alpha)``: penalty ``sg(a) * kl`` and dual loss
    ``a * (epsilon - sg(kl))``; with ``per_dimension`` both are summed over the last axis.
    The terms of all constraints are added.

    Args:
      kl_constraints: sequence of ``(kl [...] or [..., D], LagrangePenalty)``.
      projection_operator: maps ``alpha`` to a positive multiplier.
      use_stop_gradient: stop gradients as above (multiplier in the penalty, KL in the dual).

    Returns:
      ``(kl_penalty_loss, alpha_loss)`` with the shape of the (reduced) KLs.

    Raises:
      ValueError: if ``kl_constraints`` is empty.

    References:
      Abdolmaleki et al. (2018), Maximum a Posteriori Policy Optimisation,
      https://arxiv.org/abs/1806.06920.

    Examples:
      >>> penalty, dual = compute_parametric_kl_penalty_and_dual_loss(
      ...     [(jnp.array(0.5), LagrangePenalty(jnp.array(2.0), 0.1))], jnp.abs)
      >>> print(penalty, dual)
      1.0 -0.8
    """
    if not kl_constraints:
        raise ValueError(
            "rlax_core.compute_parametric_kl_penalty_and_dual_loss: `kl_constraints` must "
            "hold at least one (kl, LagrangePenalty) pair."
        )
    kl_loss: Any = 0.0
    alpha_loss: Any = 0.0
    for kl, constraint in kl_constraints:
        kl = jnp.asarray(kl)
        alpha = projection_operator(jnp.asarray(constraint.alpha))
        # Explicit broadcasting (e.g. a per-dimension [D] alpha against [B, D] KLs).
        shape = jnp.broadcast_shapes(alpha.shape, kl.shape)
        alpha, kl = jnp.broadcast_to(alpha, shape), jnp.broadcast_to(kl, shape)
        penalty = _maybe_stop(alpha, use_stop_gradient) * kl
        dual = alpha * (constraint.epsilon - _maybe_stop(kl, use_stop_gradient))
        if constraint.per_dimension:
            penalty = jnp.sum(penalty, axis=-1)
            dual = jnp.sum(dual, axis=-1)
        kl_loss = kl_loss + penalty
        alpha_loss = alpha_loss + dual
    return kl_loss, alpha_loss


def mpo_compute_weights_and_temperature_loss(
    sample_q_values: ArrayLike,
    temperature_constraint: LagrangePenalty,
    projection_operator: Callable[[jax.Array], jax.Array],
    sample_axis: int = 0,
) -> tuple[jax.Array, jax.Array, float | int]:
    """MPO E-step: sample weights ``softmax(Q / eta)`` and the temperature dual loss.

    With ``eta = projection_operator(alpha)`` the dual is
    ``eta * (epsilon + logsumexp_s(Q_s / eta) - log S)``.

    Args:
      sample_q_values: [S, ...] Q-values of S sampled actions (sample axis ``sample_axis``).
      temperature_constraint: ``LagrangePenalty`` of the temperature ``eta``.
      projection_operator: maps ``alpha`` to a positive temperature.
      sample_axis: axis indexing the samples.

    Returns:
      ``(temperature_loss [...], normalized_weights [S, ...], num_samples)``; gradients
      are not stopped here (``mpo_loss`` stops them through the weights).

    References:
      Abdolmaleki et al. (2018), Maximum a Posteriori Policy Optimisation,
      https://arxiv.org/abs/1806.06920.

    Examples:
      >>> print(mpo_compute_weights_and_temperature_loss(jnp.zeros((2, 1)), LagrangePenalty(jnp.array(1.0), 0.1), jnp.abs)[1])
      [[0.5]
       [0.5]]
    """
    q = jnp.asarray(sample_q_values)
    temperature = projection_operator(jnp.asarray(temperature_constraint.alpha))
    # A per-dimension temperature ([D]) applies along the trailing axis of Q ([S, ..., D]).
    tempered = q / jnp.broadcast_to(temperature, q.shape)
    num_samples = q.shape[sample_axis]
    weights = jax.nn.softmax(tempered, axis=sample_axis)
    lse = jax.nn.logsumexp(tempered, axis=sample_axis)
    temperature = jnp.broadcast_to(temperature, lse.shape)
    loss = temperature * (temperature_constraint.epsilon + lse - math.log(num_samples))
    return loss, weights, num_samples


def mpo_loss(
    sample_log_probs: ArrayLike,
    sample_q_values: ArrayLike,
    temperature_constraint: LagrangePenalty,
    kl_constraints: Sequence[tuple[ArrayLike, LagrangePenalty]],
    projection_operator: Callable[[jax.Array], jax.Array] = _DEFAULT_PROJECTION,
    policy_loss_weight: float = 1.0,
    temperature_loss_weight: float = 1.0,
    kl_loss_weight: float = 1.0,
    alpha_loss_weight: float = 1.0,
    sample_axis: int = 0,
    use_stop_gradient: bool = True,
) -> tuple[jax.Array, MpoOutputs]:
    """MPO policy-improvement loss from sampled actions.

    ``loss = w_pi * policy + w_eta * temperature + w_kl * kl_penalty + w_alpha * alpha``
    with ``policy = -sum_s weights_s * log pi(a_s)`` (weights from the E-step).

    Args:
      sample_log_probs: [S, ...] log-probabilities of the sampled actions under the policy.
      sample_q_values: [S, ...] their Q-values.
      temperature_constraint: ``LagrangePenalty`` of the E-step temperature.
      kl_constraints: sequence of ``(kl [...] or [..., D], LagrangePenalty)``.
      projection_operator: maps multipliers to positive values.
      policy_loss_weight: weight of the policy term.
      temperature_loss_weight: weight of the temperature dual.
      kl_loss_weight: weight of the KL penalty.
      alpha_loss_weight: weight of the KL duals.
      sample_axis: axis indexing the samples.
      use_stop_gradient: stop gradients through the E-step weights in the policy term and
        in the KL terms (see ``compute_parametric_kl_penalty_and_dual_loss``).

    Returns:
      ``(loss [...], MpoOutputs)`` with per-element (un-reduced) terms.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if the two sample arrays
        differ in shape, a KL has the wrong rank, or the loss terms do not line up.

    References:
      Abdolmaleki et al. (2018), Maximum a Posteriori Policy Optimisation,
      https://arxiv.org/abs/1806.06920.

    Examples:
      >>> print(mpo_loss(jnp.zeros((2, 1)), jnp.zeros((2, 1)), LagrangePenalty(jnp.array(1.0), 0.1), [(jnp.zeros(1), LagrangePenalty(jnp.array(1.0), 0.1))])[0])
      [0.20000002]
    """
    fn = "rlax_core.mpo_loss"
    checks.check_equal_shape(fn, sample_log_probs=sample_log_probs, sample_q_values=sample_q_values)
    q_rank = jnp.ndim(sample_q_values)
    for i, (kl, constraint) in enumerate(kl_constraints):
        # Per-dimension KLs keep the action axis ([E*, D]); the others do not ([E*]).
        want = q_rank if constraint.per_dimension else q_rank - 1
        checks.check_rank(fn, **{f"kl_constraints[{i}] kl": (kl, want)})
    # Incompatible shapes further down are reported as assertion-compatible errors.
    with checks_raise_assertion_errors():
        temperature_loss, weights, num_samples = mpo_compute_weights_and_temperature_loss(
            sample_q_values, temperature_constraint, projection_operator, sample_axis
        )
        weights = _maybe_stop(weights, use_stop_gradient)
        policy_loss = -jnp.sum(weights * jnp.asarray(sample_log_probs), axis=sample_axis)
        kl_loss, alpha_loss = compute_parametric_kl_penalty_and_dual_loss(
            kl_constraints, projection_operator, use_stop_gradient
        )
        checks.check_equal_shape(
            fn, policy_loss=policy_loss, kl_loss=kl_loss, alpha_loss=alpha_loss
        )
    loss = (
        policy_loss_weight * policy_loss
        + temperature_loss_weight * temperature_loss
        + kl_loss_weight * kl_loss
        + alpha_loss_weight * alpha_loss
    )
    return loss, MpoOutputs(
        temperature_loss=temperature_loss,
        policy_loss=policy_loss,
        kl_loss=kl_loss,
        alpha_loss=alpha_loss,
        normalized_weights=weights,
        num_samples=num_samples,
    )


def kl_constraint_loss(
    kl: ArrayLike,
    penalty: LagrangePenalty,
    projection_operator: Callable[[jax.Array], jax.Array],
    use_stop_gradient: bool | ArrayLike = True,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One hard KL constraint as two coordinate-ascent losses.

    With ``alpha = projection_operator(penalty.alpha)``: the multiplier loss
    ``alpha * (epsilon - sg(kl))`` raises ``alpha`` while the KL exceeds ``epsilon``; the
    policy loss ``sg(alpha) * kl`` then shrinks the KL. With ``per_dimension`` both sum
    over the last axis.

    Args:
      kl: [...] or [..., D] KL divergences.
      penalty: ``LagrangePenalty(alpha, epsilon, per_dimension)``.
      projection_operator: maps ``alpha`` to a positive multiplier.
      use_stop_gradient: apply the stop-gradients above (Python or traced bool).

    Returns:
      ``(kl_loss, alpha_loss, alpha)``; ``alpha`` is the projected multiplier.

    Raises:
      DtypeAssertionError: (a ``TypeError``/``AssertionError``) on non-float inputs.

    Examples:
      >>> kl_loss, alpha_loss, alpha = kl_constraint_loss(
      ...     jnp.array(0.5), LagrangePenalty(jnp.array(2.0), 0.1), jnp.abs)
      >>> print(kl_loss, alpha_loss, alpha)
      1.0 -0.8 2.0
    """
    fn = "rlax_core.kl_constraint_loss"
    checks.check_type(
        fn, kl=(kl, "float"), alpha=(penalty.alpha, "float"), epsilon=(penalty.epsilon, "float")
    )
    kl = jnp.asarray(kl)
    alpha = projection_operator(jnp.asarray(penalty.alpha))
    alpha_loss = alpha * (penalty.epsilon - _maybe_stop(kl, use_stop_gradient))
    kl_loss = _maybe_stop(alpha, use_stop_gradient) * kl
    if penalty.per_dimension:
        kl_loss = jnp.sum(kl_loss, axis=-1)
        alpha_loss = jnp.sum(alpha_loss, axis=-1)
    return kl_loss, alpha_loss, alpha


def get_top_k_weights(
    top_k_fraction: float,
    restarting_weights: ArrayLike,
    scaled_advantages: ArrayLike,
    axis_name: str | None = None,
    use_stop_gradient: bool | ArrayLike = True,
) -> jax.Array:
    """Restarting weights that also keep only the top ``top_k_fraction`` of advantages.

    Entries with a zero restarting weight are pushed down by ``1e6`` before ranking, so
    they do not take top-k places. With ``axis_name`` the threshold is computed over the
    advantages of all devices. ``top_k_fraction == 1`` returns ``restarting_weights``.

    Args:
      top_k_fraction: fraction in ``(0, 1]`` of entries to keep.
      restarting_weights: [E*] 0/1 float weights (0 marks an ignored step).
      scaled_advantages: [E*] float advantages divided by the temperature.
      axis_name: optional mapped axis to gather the advantages over.
      use_stop_gradient: stop the gradient through the top-k indicator.

    Returns:
      [E*] ``restarting_weights * 1[advantage >= k-th largest]``.

    Raises:
      ShapeAssertionError: if the two arrays differ in shape.
      DtypeAssertionError: if they are not floating point.
      ValueError: if ``top_k_fraction`` is outside ``(0, 1]`` or keeps no entry.

    Examples:
      >>> get_top_k_weights(0.5, jnp.ones(4), jnp.array([1.0, 4.0, 2.0, 3.0])).tolist()
      [0.0, 1.0, 0.0, 1.0]
    """
    fn = "rlax_core.get_top_k_weights"
    checks.check_equal_shape(
        fn, scaled_advantages=scaled_advantages, restarting_weights=restarting_weights
    )
    checks.check_type(
        fn,
        scaled_advantages=(scaled_advantages, "float"),
        restarting_weights=(restarting_weights, "float"),
    )
    if not 0.0 < top_k_fraction <= 1.0:
        raise ValueError(f"{fn}: `top_k_fraction` must be in (0, 1], got {top_k_fraction}.")
    restarting_weights = jnp.asarray(restarting_weights)
    if top_k_fraction >= 1.0:
        return restarting_weights
    valid = jnp.asarray(scaled_advantages) - (1.0 - restarting_weights) * 1e6
    pool = valid if axis_name is None else jax.lax.all_gather(valid, axis_name=axis_name)
    k = int(top_k_fraction * pool.size)
    if k == 0:
        raise ValueError(
            f"{fn}: top_k_fraction {top_k_fraction} of {pool.size} entries keeps no valid "
            "scaled advantages; raise it."
        )
    threshold = jnp.sort(jnp.reshape(pool, (-1,)))[-k]
    keep = (valid >= threshold).astype(jnp.float32)
    return restarting_weights * _maybe_stop(keep, use_stop_gradient)


def _top_k_mask(
    top_k_fraction: float,
    restarting_weights: jax.Array,
    advantages: jax.Array,
    axis_name: str | None,
) -> jax.Array:
    """Weights that keep the top ``top_k_fraction`` of valid advantages (times restarts).

    With ``axis_name`` the top-k is taken over the advantages of all devices.
    """
    fn = "rlax_core.vmpo_compute_weights_and_temperature_loss"
    if not 0.0 < top_k_fraction <= 1.0:
        raise ValueError(f"{fn}: `top_k_fraction` must be in (0, 1], got {top_k_fraction}.")
    if top_k_fraction >= 1.0:
        return restarting_weights
    lowest = jnp.finfo(advantages.dtype).min
    # Entries without a full restarting weight drop to (about) the lowest float.
    valid = restarting_weights * advantages + (1.0 - restarting_weights) * lowest
    pool = jnp.reshape(valid, (-1,))
    if axis_name is not None:
        pool = jnp.reshape(jax.lax.all_gather(pool, axis_name), (-1,))
    k = int(top_k_fraction * pool.size)
    if k == 0:
        raise ValueError(
            f"{fn}: top_k_fraction too low to get any valid scaled advantages "
            f"({top_k_fraction} of {pool.size} entries rounds down to 0)."
        )
    threshold = jax.lax.top_k(pool, k)[0][-1]
    return (valid >= threshold).astype(advantages.dtype) * restarting_weights


def vmpo_compute_weights_and_temperature_loss(
    advantages: ArrayLike,
    restarting_weights: ArrayLike,
    importance_weights: ArrayLike,
    temperature_constraint: LagrangePenalty,
    projection_operator: Callable[[jax.Array], jax.Array],
    top_k_fraction: float,
    axis_name: str | None = None,
    use_stop_gradient: bool = True,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """V-MPO E-step over the top ``top_k_fraction`` of advantages.

    With ``eta = projection_operator(alpha)`` and ``m`` the top-k mask (times
    ``restarting_weights``): weights ``m * iw * exp(A / eta) / sum(m * iw * exp(A / eta))``
    and temperature dual ``eta * (epsilon + log(sum(m * iw * exp(A / eta)) / sum(m)))``.
    With ``axis_name`` the top-k and the sums run over all devices.

    Args:
      advantages: [...] advantages (e.g. [T, B]).
      restarting_weights: [...] 0/1 validity mask (0 after an episode restart).
      importance_weights: [...] importance weights.
      temperature_constraint: ``LagrangePenalty`` of the temperature.
      projection_operator: maps ``alpha`` to a positive temperature.
      top_k_fraction: fraction in (0, 1] of entries to keep.
      axis_name: optional mapped axis to aggregate over.
      use_stop_gradient: stop gradients through the importance weights and the returned
        weights (the temperature loss always differentiates w.r.t. the advantages).

    Returns:
      ``(temperature_loss [], normalized_weights [...], num_samples [])``.

    Raises:
      ValueError: on shape mismatches or a ``top_k_fraction`` that keeps nothing.

    References:
      Song et al. (2019), V-MPO: On-Policy Maximum a Posteriori Policy Optimization for
      Discrete and Continuous Control, https://arxiv.org/abs/1909.12238.

    Examples:
      >>> print(vmpo_compute_weights_and_temperature_loss(jnp.array([1.0, 0.0, 3.0, 2.0]), jnp.ones(4), jnp.ones(4), LagrangePenalty(jnp.array(100.0), 0.0), jnp.abs, 0.5)[1])
      [0.         0.         0.5025     0.49750003]
    """
    fn = "rlax_core.vmpo_compute_weights_and_temperature_loss"
    checks.check_equal_shape(
        fn,
        advantages=advantages,
        restarting_weights=restarting_weights,
        importance_weights=importance_weights,
    )
    advantages = jnp.asarray(advantages)
    importance_weights = _maybe_stop(jnp.asarray(importance_weights), use_stop_gradient)
    restarting_weights = jnp.asarray(restarting_weights, dtype=advantages.dtype)
    temperature = projection_operator(jnp.asarray(temperature_constraint.alpha))
    mask = _top_k_mask(top_k_fraction, restarting_weights, advantages, axis_name)
    # Advantages enter masked by the restarting weights (0/1, so values are unchanged; this
    # also fixes the gradient w.r.t. the restarting weights).
    tempered = restarting_weights * advantages / temperature
    # Stabilised sum_i mask_i * iw_i * exp(tempered_i), aggregated across devices.
    shift = jax.lax.stop_gradient(jnp.max(jnp.where(mask > 0, tempered, -jnp.inf)))
    if axis_name is not None:
        shift = jax.lax.pmax(shift, axis_name)
    shift = jnp.where(jnp.isfinite(shift), shift, 0.0)
    scaled = mask * importance_weights * jnp.exp(tempered - shift)
    total = jnp.sum(scaled)
    num_samples = jnp.sum(mask)
    if axis_name is not None:
        total = jax.lax.psum(total, axis_name)
        num_samples = jax.lax.psum(num_samples, axis_name)
    weights = _maybe_stop(scaled / total, use_stop_gradient)
    log_mean = jnp.log(total) + shift - jnp.log(num_samples)
    temperature_loss = temperature * (temperature_constraint.epsilon + log_mean)
    return temperature_loss, weights, num_samples


def vmpo_loss(
    sample_log_probs: ArrayLike,
    advantages: ArrayLike,
    temperature_constraint: LagrangePenalty,
    kl_constraints: Sequence[tuple[ArrayLike, LagrangePenalty]],
    projection_operator: Callable[[jax.Array], jax.Array] = _DEFAULT_PROJECTION,
    restarting_weights: ArrayLike | None = None,
    importance_weights: ArrayLike | None = None,
    top_k_fraction: float = 0.5,
    policy_loss_weight: float = 1.0,
    temperature_loss_weight: float = 1.0,
    kl_loss_weight: float = 1.0,
    alpha_loss_weight: float = 1.0,
    axis_name: str | None = None,
    use_stop_gradient: bool = True,
) -> tuple[jax.Array, MpoOutputs]:
    """V-MPO loss: top-k advantage-weighted likelihood with temperature and KL duals.

    The policy term is ``-log pi(a) * weights * N`` element-wise, with ``N`` the number of
    elements (times the number of devices with ``axis_name``), so that its *mean* is the
    weighted negative log-likelihood.

    Args:
      sample_log_probs: [...] log-probabilities of the taken actions (e.g. [T, B]).
      advantages: [...] advantages, same shape.
      temperature_constraint: ``LagrangePenalty`` of the temperature.
      kl_constraints: sequence of ``(kl, LagrangePenalty)``.
      projection_operator: maps multipliers to positive values.
      restarting_weights: [...] 0/1 validity mask; all ones if ``None``.
      importance_weights: [...] importance weights; all ones if ``None``.
      top_k_fraction: fraction of entries kept by the E-step.
      policy_loss_weight: weight of the policy term.
      temperature_loss_weight: weight of the temperature dual.
      kl_loss_weight: weight of the KL penalty.
      alpha_loss_weight: weight of the KL duals.
      axis_name: optional mapped axis to aggregate over.
      use_stop_gradient: stop gradients through importance weights, E-step weights and KL terms.

    Returns:
      ``(loss [...], MpoOutputs)`` with per-element terms (take their mean).

    Raises:
      ValueError: on shape mismatches.

    References:
      Song et al. (2019), V-MPO: On-Policy Maximum a Posteriori Policy Optimization for
      Discrete and Continuous Control, https://arxiv.org/abs/1909.12238.

    Examples:
      >>> print(vmpo_loss(jnp.zeros(4), jnp.array([1.0, 0.0, 3.0, 2.0]), LagrangePenalty(jnp.array(1.0), 0.1), [(jnp.zeros(4), LagrangePenalty(jnp.array(1.0), 0.1))])[1].num_samples)
      2.0
    """
    fn = "rlax_core.vmpo_loss"
    checks.check_equal_shape(fn, sample_log_probs=sample_log_probs, advantages=advantages)
    sample_log_probs = jnp.asarray(sample_log_probs)
    advantages = jnp.asarray(advantages)
    if restarting_weights is None:
        restarting_weights = jnp.ones_like(advantages)
    if importance_weights is None:
        importance_weights = jnp.ones_like(advantages)
    temperature_loss, weights, num_samples = vmpo_compute_weights_and_temperature_loss(
        advantages,
        restarting_weights,
        importance_weights,
        temperature_constraint,
        projection_operator,
        top_k_fraction,
        axis_name,
        use_stop_gradient,
    )
    size = float(advantages.size)
    if axis_name is not None:
        size = jax.lax.psum(size, axis_name)
    policy_loss = -sample_log_probs * weights * size
    kl_loss, alpha_loss = compute_parametric_kl_penalty_and_dual_loss(
        kl_constraints, projection_operator, use_stop_gradient
    )
    loss = (
        policy_loss_weight * policy_loss
        + temperature_loss_weight * temperature_loss
        + kl_loss_weight * kl_loss
        + alpha_loss_weight * alpha_loss
    )
    return loss, MpoOutputs(
        temperature_loss=temperature_loss,
        policy_loss=policy_loss,
        kl_loss=kl_loss,
        alpha_loss=alpha_loss,
        normalized_weights=weights,
        num_samples=num_samples,
    )
