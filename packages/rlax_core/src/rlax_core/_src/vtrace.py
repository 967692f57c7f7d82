"""V-trace off-policy corrections (IMPALA) and the leaky variant.

Given importance ratios ``rho_tm1 = pi(a|s) / mu(a|s)`` of one trajectory, V-trace targets are
``v_s = V(s) + sum_k (prod c) rho_bar_k delta_k``, computed by the reverse recurrence

    err_t = rho_bar_t * delta_t + discount_t * c_t * err_{t+1},   err_T = 0,

with ``delta_t = r_t + discount_t * v_t - v_tm1``, ``rho_bar_t = min(clip_rho_threshold, rho_t)``
and ``c_t = lambda_t * min(1, rho_t)``. Steps with ``sample_mask == False`` pass the
accumulated correction through unchanged (``err_t = err_{t+1}``) and contribute nothing.

References:
  Espeholt et al. (2018), IMPALA: Scalable Distributed Deep-RL with Importance Weighted
  Actor-Learner Architectures, ICML. https://arxiv.org/abs/1802.01561
  Zahavy et al. (2020), A Self-Tuning Actor-Critic Algorithm, NeurIPS (leaky V-trace).
  https://arxiv.org/abs/2002.12928
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, multistep, scan

__all__ = [
    "VTraceOutput",
    "leaky_vtrace",
    "leaky_vtrace_td_error_and_advantage",
    "vtrace",
    "vtrace_td_error_and_advantage",
]


class VTraceOutput(NamedTuple):
    """Output of ``vtrace_td_error_and_advantage`` (all ``[T]``).

    Attributes:
      errors: V-trace errors ``v_s - v_tm1`` (for the value loss).
      pg_advantage: clipped-rho policy-gradient advantages ``rho_bar_pg (q_s - v_tm1)``.
      q_estimate: ``r_t + discount_t * v_{s+1}`` estimates of ``Q(s_t, a_t)``.

    Examples:
      >>> out = VTraceOutput(errors=jnp.zeros(1), pg_advantage=jnp.ones(1), q_estimate=jnp.ones(1))
      >>> print(out._fields)
      ('errors', 'pg_advantage', 'q_estimate')
    """

    errors: jax.Array
    pg_advantage: jax.Array
    q_estimate: jax.Array


def _check(fn, v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, sample_mask):
    checks.check_rank(
        fn,
        v_tm1=(v_tm1, 1),
        v_t=(v_t, 1),
        r_t=(r_t, 1),
        discount_t=(discount_t, 1),
        rho_tm1=(rho_tm1, 1),
    )
    checks.check_type(
        fn,
        v_tm1=(v_tm1, "float"),
        v_t=(v_t, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        rho_tm1=(rho_tm1, "float"),
        lambda_=(lambda_, "float"),
    )
    checks.check_equal_shape(
        fn, v_tm1=v_tm1, v_t=v_t, r_t=r_t, discount_t=discount_t, rho_tm1=rho_tm1
    )
    length = jnp.shape(r_t)[0]
    multistep.check_per_step(fn, "lambda_", lambda_, length)
    if sample_mask is not None:
        checks.check_rank(fn, sample_mask=(sample_mask, 1))
        checks.check_type(fn, sample_mask=(sample_mask, "bool"))
        checks.check_equal_shape(fn, r_t=r_t, sample_mask=sample_mask)
    return tuple(map(jnp.asarray, (v_tm1, v_t, r_t, discount_t, rho_tm1)))


def _errors(
    v_tm1, v_t, r_t, discount_t, c_tm1, clipped_rhos_tm1, sample_mask, stop, method, unroll, fn
):
    td_errors = clipped_rhos_tm1 * (r_t + discount_t * v_t - v_tm1)
    a = discount_t * c_tm1
    b = td_errors
    if sample_mask is not None:
        mask = jnp.asarray(sample_mask)
        a = jnp.where(mask, a, jnp.ones_like(a))
        b = jnp.where(mask, b, jnp.zeros_like(b))
    err = scan.linear_recurrence_reverse(
        a, b, jnp.zeros((), b.dtype), method=method, unroll=unroll, fn=fn
    )
    target_tm1 = multistep.maybe_stop_gradient(err + v_tm1, stop)
    return target_tm1 - v_tm1


def vtrace(
    v_tm1: ArrayLike,
    v_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    rho_tm1: ArrayLike,
    lambda_: ArrayLike = 1.0,
    clip_rho_threshold: float = 1.0,
    stop_target_gradients: bool = True,
    sample_mask: ArrayLike | None = None,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """V-trace errors ``v_s - v_tm1`` for one trajectory.

    Args:
      v_tm1: ``[T]`` values at ``s_0 .. s_{T-1}``.
      v_t: ``[T]`` values at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      rho_tm1: ``[T]`` importance ratios ``pi(a_tm1|s_tm1) / mu(a_tm1|s_tm1)``.
      lambda_: ``[]`` or ``[T]`` trace mixing.
      clip_rho_threshold: truncation ``rho_bar`` of the TD-error weights.
      stop_target_gradients: whether to stop gradients through ``v_s`` (default True).
      sample_mask: optional ``[T]`` bool mask; False steps are skipped.
      method: recurrence solver, keyword-only (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` V-trace errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes (``sample_mask`` must be bool, the rest float).

    References:
      Espeholt et al. (2018), IMPALA: Scalable Distributed Deep-RL with Importance Weighted
      Actor-Learner Architectures, ICML. https://arxiv.org/abs/1802.01561

    Examples:
      >>> print(vtrace(jnp.zeros(2), jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5), jnp.full(2, 2.0)))
      [1.5 1. ]
    """
    fn = "rlax_core.vtrace"
    v_tm1, v_t, r_t, discount_t, rho_tm1 = _check(
        fn, v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, sample_mask
    )
    lambda_ = multistep.per_step(lambda_, discount_t)
    c_tm1 = jnp.minimum(1.0, rho_tm1) * lambda_
    clipped_rhos_tm1 = jnp.minimum(clip_rho_threshold, rho_tm1)
    return _errors(
        v_tm1,
        v_t,
        r_t,
        discount_t,
        c_tm1,
        clipped_rhos_tm1,
        sample_mask,
        stop_target_gradients,
        method,
        unroll,
        fn,
    )


def leaky_vtrace(
    v_tm1: ArrayLike,
    v_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    rho_tm1: ArrayLike,
    alpha_: float = 1.0,
    lambda_: ArrayLike = 1.0,
    clip_rho_threshold: float = 1.0,
    stop_target_gradients: bool = True,
    sample_mask: ArrayLike | None = None,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Leaky V-trace errors: clipped and unclipped importance weights mixed by ``alpha_``.

    ``c_t = lambda_ * (alpha_ * min(1, rho) + (1 - alpha_) * rho)`` and
    ``rho_bar_t = alpha_ * min(clip_rho_threshold, rho) + (1 - alpha_) * rho``;
    ``alpha_ = 1`` recovers V-trace.

    Args:
      v_tm1: ``[T]`` values at ``s_0 .. s_{T-1}``.
      v_t: ``[T]`` values at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      rho_tm1: ``[T]`` importance ratios.
      alpha_: float in ``[0, 1]``, weight of the clipped ratios.
      lambda_: ``[]`` or ``[T]`` trace mixing.
      clip_rho_threshold: truncation of the TD-error weights.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      sample_mask: optional ``[T]`` bool mask; False steps are skipped.
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` leaky V-trace errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Zahavy et al. (2020), A Self-Tuning Actor-Critic Algorithm, NeurIPS.
      https://arxiv.org/abs/2002.12928

    Examples:
      >>> print(leaky_vtrace(jnp.zeros(2), jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5), jnp.full(2, 2.0), alpha_=0.5))
      [2.625 1.5  ]
    """
    fn = "rlax_core.leaky_vtrace"
    v_tm1, v_t, r_t, discount_t, rho_tm1 = _check(
        fn, v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, sample_mask
    )
    lambda_ = multistep.per_step(lambda_, discount_t)
    c_tm1 = (alpha_ * jnp.minimum(1.0, rho_tm1) + (1.0 - alpha_) * rho_tm1) * lambda_
    clipped_rhos_tm1 = alpha_ * jnp.minimum(clip_rho_threshold, rho_tm1) + (1.0 - alpha_) * rho_tm1
    return _errors(
        v_tm1,
        v_t,
        r_t,
        discount_t,
        c_tm1,
        clipped_rhos_tm1,
        sample_mask,
        stop_target_gradients,
        method,
        unroll,
        fn,
    )


def _with_advantage(errors, v_tm1, v_t, r_t, discount_t, lambda_, clipped_pg_rho_tm1):
    targets_tm1 = errors + v_tm1
    # q_s = r_t + discount_t * v_{s+1}, with v_{s+1} mixed by lambda as in the V-trace targets.
    q_bootstrap = jnp.concatenate(
        [lambda_[:-1] * targets_tm1[1:] + (1.0 - lambda_[:-1]) * v_tm1[1:], v_t[-1:]]
    )
    q_estimate = r_t + discount_t * q_bootstrap
    # As in rlax, no stop-gradient here: gradients reach `v_tm1` through `- v_tm1`.
    pg_advantages = clipped_pg_rho_tm1 * (q_estimate - v_tm1)
    return VTraceOutput(errors=errors, pg_advantage=pg_advantages, q_estimate=q_estimate)


def vtrace_td_error_and_advantage(
    v_tm1: ArrayLike,
    v_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    rho_tm1: ArrayLike,
    lambda_: ArrayLike = 1.0,
    clip_rho_threshold: float = 1.0,
    clip_pg_rho_threshold: float = 1.0,
    stop_target_gradients: bool = True,
    sample_mask: ArrayLike | None = None,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> VTraceOutput:
    """V-trace errors plus policy-gradient advantages and Q estimates (IMPALA).

    Args:
      v_tm1: ``[T]`` values at ``s_0 .. s_{T-1}``.
      v_t: ``[T]`` values at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      rho_tm1: ``[T]`` importance ratios.
      lambda_: ``[]`` or ``[T]`` trace mixing.
      clip_rho_threshold: truncation of the TD-error weights.
      clip_pg_rho_threshold: truncation of the policy-gradient weights.
      stop_target_gradients: whether to stop gradients through the value targets (default
        True). As in rlax, ``pg_advantage`` is not gradient-stopped (gradients reach
        ``v_tm1`` through it); stop it yourself when using it as a fixed advantage.
      sample_mask: optional ``[T]`` bool mask; False steps are skipped.
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``VTraceOutput(errors [T], pg_advantage [T], q_estimate [T])``.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Espeholt et al. (2018), IMPALA, ICML. https://arxiv.org/abs/1802.01561

    Examples:
      >>> out = vtrace_td_error_and_advantage(jnp.zeros(2), jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5), jnp.ones(2))
      >>> print(out.q_estimate)
      [1.5 1. ]
    """
    fn = "rlax_core.vtrace_td_error_and_advantage"
    errors = vtrace(
        v_tm1,
        v_t,
        r_t,
        discount_t,
        rho_tm1,
        lambda_,
        clip_rho_threshold,
        stop_target_gradients,
        sample_mask,
        method=method,
        unroll=unroll,
    )
    v_tm1, v_t, r_t, discount_t, rho_tm1 = _check(
        fn, v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, sample_mask
    )
    lambda_ = multistep.per_step(lambda_, discount_t)
    clipped_pg_rho_tm1 = jnp.minimum(clip_pg_rho_threshold, rho_tm1)
    return _with_advantage(errors, v_tm1, v_t, r_t, discount_t, lambda_, clipped_pg_rho_tm1)


def leaky_vtrace_td_error_and_advantage(
    v_tm1: ArrayLike,
    v_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    rho_tm1: ArrayLike,
    alpha: float = 1.0,
    lambda_: ArrayLike = 1.0,
    clip_rho_threshold: float = 1.0,
    clip_pg_rho_threshold: float = 1.0,
    stop_target_gradients: bool = True,
    sample_mask: ArrayLike | None = None,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> VTraceOutput:
    """Leaky V-trace errors plus policy-gradient advantages and Q estimates.

    As ``vtrace_td_error_and_advantage`` with leaky importance weights; the policy-gradient
    weights are ``alpha * min(clip_pg_rho_threshold, rho) + (1 - alpha) * rho``. Note the
    mixing argument is named ``alpha`` here but ``alpha_`` in ``leaky_vtrace`` (as rlax).

    Args:
      v_tm1: ``[T]`` values at ``s_0 .. s_{T-1}``.
      v_t: ``[T]`` values at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      rho_tm1: ``[T]`` importance ratios.
      alpha: float in ``[0, 1]``, weight of the clipped ratios.
      lambda_: ``[]`` or ``[T]`` trace mixing.
      clip_rho_threshold: truncation of the TD-error weights.
      clip_pg_rho_threshold: truncation of the policy-gradient weights.
      stop_target_gradients: whether to stop gradients through the value targets (default
        True). As in rlax, ``pg_advantage`` is not gradient-stopped (gradients reach
        ``v_tm1`` through it); stop it yourself when using it as a fixed advantage.
      sample_mask: optional ``[T]`` bool mask; False steps are skipped.
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``VTraceOutput(errors [T], pg_advantage [T], q_estimate [T])``.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Zahavy et al. (2020), A Self-Tuning Actor-Critic Algorithm, NeurIPS.
      https://arxiv.org/abs/2002.12928

    Examples:
      >>> out = leaky_vtrace_td_error_and_advantage(
      ...     jnp.zeros(2), jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5), jnp.ones(2), alpha=0.5)
      >>> print(out.errors)
      [1.5 1. ]
    """
    fn = "rlax_core.leaky_vtrace_td_error_and_advantage"
    errors = leaky_vtrace(
        v_tm1,
        v_t,
        r_t,
        discount_t,
        rho_tm1,
        alpha,
        lambda_,
        clip_rho_threshold,
        stop_target_gradients,
        sample_mask,
        method=method,
        unroll=unroll,
    )
    v_tm1, v_t, r_t, discount_t, rho_tm1 = _check(
        fn, v_tm1, v_t, r_t, discount_t, rho_tm1, lambda_, sample_mask
    )
    lambda_ = multistep.per_step(lambda_, discount_t)
    clipped_pg_rho_tm1 = (
        alpha * jnp.minimum(clip_pg_rho_threshold, rho_tm1) + (1.0 - alpha) * rho_tm1
    )
    return _with_advantage(errors, v_tm1, v_t, r_t, discount_t, lambda_, clipped_pg_rho_tm1)
