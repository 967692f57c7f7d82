"""PPO companions: value clipping, dual-clip PPO, KL estimators, adaptive KL, advantage scaling.

These are the small pieces that PPO-style agents write by hand around
``clipped_surrogate_pg_loss``. Elementwise functions broadcast their inputs and return
per-element values (reduce them yourself); ``dual_clip_ppo_loss`` follows
``clipped_surrogate_pg_loss`` and returns the mean over a ``[T]`` sequence.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, multistep

__all__ = [
    "adaptive_kl_coefficient",
    "clipped_value_loss",
    "dual_clip_ppo_loss",
    "kl_k1",
    "kl_k2",
    "kl_k3",
    "normalize_advantages",
]


def _check_positive(fn: str, name: str, value: object, bound: float = 0.0) -> None:
    """Raises ValueError if ``value`` is a concrete Python number not greater than ``bound``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not float(value) > bound:
            raise ValueError(f"{fn}: `{name}` must be > {bound:g}, got {value}.")


def clipped_value_loss(
    v_t: ArrayLike,
    v_old_t: ArrayLike,
    returns_t: ArrayLike,
    clip_epsilon: float | ArrayLike,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """PPO value loss with the value prediction clipped around its old value.

    ``0.5 * max((v - R)^2, (v_old + clip(v - v_old, -eps, eps) - R)^2)``, elementwise: the
    pessimistic of the unclipped and the clipped squared errors, as in OpenAI baselines'
    PPO2 and CleanRL. The factor 0.5 is included (so the gradient of an unclipped element
    w.r.t. ``v`` is ``v - R``); scale it in the caller's value-loss coefficient.

    Args:
      v_t: ``[...]`` float value predictions of the network being trained.
      v_old_t: ``[...]`` value predictions of the network that collected the data.
      returns_t: ``[...]`` value targets (e.g. GAE returns).
      clip_epsilon: how far (absolute, in value units) the prediction may move from
        ``v_old_t`` before the clipped branch stops its gradient.
      use_stop_gradient: stop gradients through ``v_old_t`` and ``returns_t`` (default
        True).

    Returns:
      ``[...]`` per-element loss (the broadcast shape of the inputs); take the mean yourself.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Schulman et al. (2017), Proximal Policy Optimization Algorithms,
      https://arxiv.org/abs/1707.06347; the value clipping comes from OpenAI baselines'
      ``ppo2`` (see Engstrom et al. (2020), Implementation Matters in Deep Policy Gradients,
      https://arxiv.org/abs/2005.12729, sec. 3).

    Examples:
      >>> print(clipped_value_loss(jnp.array([1.0, 3.0]), jnp.array([0.0, 0.0]), jnp.array([2.0, 0.0]), 0.5))
      [1.125 4.5  ]
    """
    fn = "rlax_core.clipped_value_loss"
    checks.check_type(
        fn, v_t=(v_t, "float"), v_old_t=(v_old_t, "float"), returns_t=(returns_t, "float")
    )
    v_old_t = multistep.maybe_stop_gradient(v_old_t, use_stop_gradient)
    returns_t = multistep.maybe_stop_gradient(returns_t, use_stop_gradient)
    v, v_old, ret = checks.broadcast_arrays(fn, v_t=v_t, v_old_t=v_old_t, returns_t=returns_t)
    eps = jnp.asarray(clip_epsilon)
    v_clipped = v_old + jnp.clip(v - v_old, -eps, eps)
    return 0.5 * jnp.maximum(jnp.square(v - ret), jnp.square(v_clipped - ret))


def dual_clip_ppo_loss(
    prob_ratios_t: ArrayLike,
    adv_t: ArrayLike,
    epsilon: float | ArrayLike,
    dual_clip_c: float | ArrayLike = 3.0,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """Dual-clip PPO surrogate loss over a sequence.

    The PPO objective ``o_t = min(r_t A_t, clip(r_t, 1 - epsilon, 1 + epsilon) A_t)`` is
    unbounded below when ``A_t < 0`` and ``r_t`` is large; dual clip bounds it by ``c A_t``::

        o'_t = max(o_t, c * A_t)  if A_t < 0,   o_t otherwise
        loss = -mean_t(o'_t)

    With ``c = inf`` this equals :func:`clipped_surrogate_pg_loss`.

    Args:
      prob_ratios_t: ``[T]`` float ratios ``pi(a_t | s_t) / pi_old(a_t | s_t)``.
      adv_t: ``[T]`` float advantage estimates.
      epsilon: PPO clipping half-width.
      dual_clip_c: lower-bound factor ``c`` (> 1; the paper uses 3).
      use_stop_gradient: stop the gradient through ``adv_t`` (default True).

    Returns:
      ``[]`` loss, dtype of the inputs.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if an input does not have rank 1 or the two do
        not broadcast. DtypeAssertionError: (a ``TypeError``) on non-float inputs.
      ValueError: if a concrete ``dual_clip_c`` is not > 1.

    References:
      Ye et al. (2020), Mastering Complex Control in MOBA Games with Deep Reinforcement
      Learning, AAAI, eq. (5), https://arxiv.org/abs/1912.09729.

    Examples:
      >>> print(dual_clip_ppo_loss(jnp.array([5.0, 0.5]), jnp.array([-1.0, -1.0]), 0.2))
      1.9
    """
    fn = "rlax_core.dual_clip_ppo_loss"
    checks.check_rank(fn, prob_ratios_t=(prob_ratios_t, 1), adv_t=(adv_t, 1))
    checks.check_type(fn, prob_ratios_t=(prob_ratios_t, "float"), adv_t=(adv_t, "float"))
    _check_positive(fn, "dual_clip_c", dual_clip_c, bound=1.0)
    adv = multistep.maybe_stop_gradient(adv_t, use_stop_gradient)
    ratios, adv = checks.broadcast_arrays(fn, prob_ratios_t=prob_ratios_t, adv_t=adv)
    clipped = jnp.clip(ratios, 1.0 - epsilon, 1.0 + epsilon)
    ppo_objective = jnp.fmin(ratios * adv, clipped * adv)
    bounded = jnp.fmax(ppo_objective, dual_clip_c * adv)
    objective = jnp.where(adv < 0, bounded, ppo_objective)
    return -jnp.mean(objective)


def _log_ratio(fn: str, sample_logp: ArrayLike, other_logp: ArrayLike) -> jax.Array:
    checks.check_type(fn, sample_logp=(sample_logp, "float"), other_logp=(other_logp, "float"))
    sample, other = checks.broadcast_arrays(fn, sample_logp=sample_logp, other_logp=other_logp)
    return other - sample


def kl_k1(sample_logp: ArrayLike, other_logp: ArrayLike) -> jax.Array:
    """Naive single-sample estimator of ``KL(q || p)`` (Schulman's k1).

    For ``x ~ q`` (the distribution the sample was drawn from) and ``log r = log p(x) -
    log q(x)``: ``k1 = -log r``. Unbiased, high variance, can be negative.

    Args:
      sample_logp: ``[...]`` float ``log q(x)``: log-prob of each sample under the
        distribution it was drawn from.
      other_logp: ``[...]`` float ``log p(x)``: log-prob of the same sample under the
        other distribution.

    Returns:
      ``[...]`` per-sample estimates; their mean over samples estimates ``KL(q || p)``.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Schulman (2020), Approximating KL Divergence, http://joschu.net/blog/kl-approx.html.

    Examples:
      >>> print(kl_k1(jnp.log(jnp.array([0.5, 0.25])), jnp.log(jnp.array([0.25, 0.5]))).round(4))
      [ 0.6931 -0.6931]
    """
    return -_log_ratio("rlax_core.kl_k1", sample_logp, other_logp)


def kl_k2(sample_logp: ArrayLike, other_logp: ArrayLike) -> jax.Array:
    """Low-variance, biased single-sample estimator of ``KL(q || p)`` (Schulman's k2).

    For ``x ~ q`` and ``log r = log p(x) - log q(x)``: ``k2 = (log r)^2 / 2`` (always >= 0;
    its expectation is an f-divergence that matches KL to second order when ``p ~ q``).

    Args:
      sample_logp: ``[...]`` float ``log q(x)`` under the sampling distribution.
      other_logp: ``[...]`` float ``log p(x)`` under the other distribution.

    Returns:
      ``[...]`` per-sample estimates; average them over samples.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Schulman (2020), Approximating KL Divergence, http://joschu.net/blog/kl-approx.html.

    Examples:
      >>> print(kl_k2(jnp.log(jnp.array([0.5, 0.25])), jnp.log(jnp.array([0.25, 0.5]))).round(4))
      [0.2402 0.2402]
    """
    log_r = _log_ratio("rlax_core.kl_k2", sample_logp, other_logp)
    return 0.5 * jnp.square(log_r)


def kl_k3(sample_logp: ArrayLike, other_logp: ArrayLike) -> jax.Array:
    """Unbiased, low-variance, non-negative estimator of ``KL(q || p)`` (Schulman's k3).

    For ``x ~ q`` and ``log r = log p(x) - log q(x)``: ``k3 = (r - 1) - log r`` (always >= 0;
    ``E_q[r - 1] = 0`` acts as a control variate for k1). This is the KL penalty of GRPO,
    with the policy as ``q`` and the reference model as ``p``.

    Args:
      sample_logp: ``[...]`` float ``log q(x)`` under the sampling distribution.
      other_logp: ``[...]`` float ``log p(x)`` under the other distribution.

    Returns:
      ``[...]`` per-sample estimates; average them over samples.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Schulman (2020), Approximating KL Divergence, http://joschu.net/blog/kl-approx.html.

    Examples:
      >>> est = kl_k3(jnp.log(jnp.array([0.5, 0.25])), jnp.log(jnp.array([0.25, 0.5])))
      >>> print([round(float(e), 4) for e in est])
      [0.1931, 0.3069]
    """
    return k3_from_log_ratio(_log_ratio("rlax_core.kl_k3", sample_logp, other_logp))


def k3_from_log_ratio(log_r: jax.Array) -> jax.Array:
    """Schulman's k3 ``(r - 1) - log r`` from ``log r`` (no checks; shared with GRPO)."""
    return jnp.expm1(log_r) - log_r


def adaptive_kl_coefficient(
    coef: ArrayLike,
    kl: ArrayLike,
    target_kl: ArrayLike,
    tolerance: float | ArrayLike = 1.5,
    factor: float | ArrayLike = 2.0,
) -> jax.Array:
    """One update of PPO's adaptive KL-penalty coefficient.

    With ``d`` the measured KL and ``d_targ`` the target::

        beta <- beta / factor   if d < d_targ / tolerance
        beta <- beta * factor   if d > d_targ * tolerance
        beta                    otherwise

    Uses ``jnp.where``, so it works under ``jax.jit`` with traced inputs.

    Args:
      coef: ``[...]`` float current coefficient ``beta``.
      kl: ``[...]`` measured KL divergence ``d`` (e.g. averaged over the last update).
      target_kl: ``[...]`` target KL ``d_targ``.
      tolerance: band half-width as a ratio (paper: 1.5).
      factor: multiplicative step (paper: 2).

    Returns:
      ``[...]`` updated coefficient (broadcast shape of ``coef``, ``kl``, ``target_kl``).

    Raises:
      ShapeAssertionError: (a ``ValueError``) if the inputs do not broadcast.
      DtypeAssertionError: (a ``TypeError``) if ``coef`` is not floating point.
      ValueError: if a concrete ``tolerance`` or ``factor`` is not > 0.

    References:
      Schulman et al. (2017), Proximal Policy Optimization Algorithms, sec. 4,
      https://arxiv.org/abs/1707.06347.

    Examples:
      >>> print(adaptive_kl_coefficient(jnp.array([1.0, 1.0, 1.0]), jnp.array([0.001, 0.01, 0.1]), 0.01))
      [0.5 1.  2. ]
    """
    fn = "rlax_core.adaptive_kl_coefficient"
    checks.check_type(fn, coef=(coef, "float"))
    _check_positive(fn, "tolerance", tolerance)
    _check_positive(fn, "factor", factor)
    coef_, kl_, target_ = checks.broadcast_arrays(fn, coef=coef, kl=kl, target_kl=target_kl)
    lowered = jnp.where(kl_ < target_ / tolerance, coef_ / factor, coef_)
    return jnp.where(kl_ > target_ * tolerance, coef_ * factor, lowered).astype(coef_.dtype)


def normalize_advantages(
    adv: ArrayLike,
    mask: ArrayLike | None = None,
    eps: float = 1e-8,
    axis: int | Sequence[int] | None = None,
    ddof: int = 0,
) -> jax.Array:
    """Standardises advantages over a batch, counting only the valid (unmasked) entries.

    ``(adv - mean) / (std + eps)``, with mean and std taken over the entries where ``mask``
    is nonzero (along ``axis``, or over everything when ``axis`` is None). Masked entries are
    returned as 0 and never affect the statistics (even when they hold NaN or inf).

    Args:
      adv: ``[...]`` float advantages.
      mask: optional ``[...]`` bool/int/float mask broadcastable to ``adv``'s shape (nonzero =
        valid); None means every entry is valid.
      eps: added to the standard deviation before dividing.
      axis: axis or axes to reduce over; None reduces over all axes (one batch).
      ddof: delta degrees of freedom of the std: 0 (default) population, 1 sample (what
        ``torch.Tensor.std`` gives, as in CleanRL / Stable-Baselines3). The divisor is
        ``max(count - ddof, 1)``.

    Returns:
      ``[...]`` normalised advantages with ``adv``'s shape and dtype; 0 where masked, and 0
      everywhere in a slice with no valid entry.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``mask`` does not broadcast to ``adv``.
      DtypeAssertionError: (a ``TypeError``) if ``adv`` is not floating point.

    References:
      Andrychowicz et al. (2021), What Matters in On-Policy Reinforcement Learning? A
      Large-Scale Empirical Study, https://arxiv.org/abs/2006.05990 (advantage
      normalisation, sec. 3.5 / C.3).

    Examples:
      >>> print(normalize_advantages(jnp.array([1.0, 3.0, 100.0]), jnp.array([1, 1, 0])))
      [-1.  1.  0.]
    """
    fn = "rlax_core.normalize_advantages"
    checks.check_type(fn, adv=(adv, "float"))
    x = jnp.asarray(adv)
    if mask is None:
        valid = jnp.ones(x.shape, jnp.bool_)
    else:
        mask_shape = tuple(jnp.shape(mask))
        try:
            valid = jnp.broadcast_to(jnp.asarray(mask) != 0, x.shape)
        except ValueError:
            raise checks.ShapeAssertionError(
                f"{fn}: `mask` must broadcast to the shape of `adv` {x.shape}, got {mask_shape}."
            ) from None
    axes = None if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    weights = valid.astype(x.dtype)
    x0 = jnp.where(valid, x, jnp.zeros((), x.dtype))
    count = jnp.sum(weights, axis=axes, keepdims=True)
    mean = jnp.sum(x0, axis=axes, keepdims=True) / jnp.maximum(count, 1.0)
    centred = jnp.where(valid, x0 - mean, jnp.zeros((), x.dtype))
    var = jnp.sum(jnp.square(centred), axis=axes, keepdims=True) / jnp.maximum(count - ddof, 1.0)
    # A zero variance means every centred entry is 0; dividing those by 1 instead of by
    # ``0 + eps`` gives the same zeros without 0/0 where ``eps`` underflows (float16), and
    # the square root only sees positive values, so gradients stay finite.
    positive = var > 0
    std = jnp.where(positive, jnp.sqrt(jnp.where(positive, var, 1.0)), 1.0 - eps)
    return (centred / (std + eps)).astype(x.dtype)
