"""Munchausen Q-learning: soft Q-learning plus a scaled, clipped log-policy reward bonus."""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import multistep, value_learning

__all__ = ["munchausen_q_learning"]


def munchausen_q_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t_target: ArrayLike,
    q_tm1_target: ArrayLike,
    tau: float | ArrayLike = 0.03,
    alpha: float | ArrayLike = 0.9,
    clip_value_min: float | ArrayLike = -1.0,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Munchausen-DQN TD error for one transition.

    With the target network's softmax policy ``pi(.|s) = softmax(q_target(s, .) / tau)``::

        bonus  = alpha * clip(tau * log pi(a_tm1 | s_tm1), clip_value_min, 0)
        soft_v = sum_a pi(a | s_t) * (q_t_target[a] - tau * log pi(a | s_t))
        target = r_t + bonus + discount_t * soft_v
        error  = target - q_tm1[a_tm1]

    ``tau * log pi`` is computed as ``q - tau * logsumexp(q / tau)`` (a stable log-softmax),
    so small temperatures do not overflow. ``alpha = 0`` gives soft (entropy-regularised)
    Q-learning; ``tau -> 0`` with ``alpha = 0`` approaches ``q_learning``.

    Args:
      q_tm1: ``[A]`` float online action values at ``s_tm1`` (being trained).
      a_tm1: ``[]`` int action taken at ``s_tm1``.
      r_t: ``[]`` float reward.
      discount_t: ``[]`` float discount.
      q_t_target: ``[A]`` float target-network action values at ``s_t``.
      q_tm1_target: ``[A]`` float target-network action values at ``s_tm1`` (they define
        the policy whose log-probability of ``a_tm1`` is the Munchausen bonus).
      tau: entropy temperature (> 0; paper: 0.03).
      alpha: Munchausen scaling (paper: 0.9).
      clip_value_min: lower clip ``l_0`` of the scaled log-policy (<= 0; paper: -1).
      stop_target_gradients: stop gradients through the target (default True).

    Returns:
      ``[]`` TD error ``target - q_tm1[a_tm1]`` (as ``q_learning``: square or Huber it
      yourself).

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or if the three Q-value vectors
        differ in shape. DtypeAssertionError: (a ``TypeError``) if ``a_tm1`` is not integer or
        another array input is not floating point.
      ValueError: if a concrete ``tau`` is not > 0 or ``clip_value_min`` is > 0.

    References:
      Vieillard, Pietquin & Geist (2020), Munchausen Reinforcement Learning, NeurIPS, eq. (2)
      and appendix (M-DQN), https://arxiv.org/abs/2007.14430.

    Examples:
      >>> q = jnp.array([1.0, 2.0])
      >>> err = munchausen_q_learning(q, 0, 1.0, 0.5, q, q, tau=1.0, alpha=0.9)
      >>> print(round(float(err), 4))
      0.2566
    """
    fn = "rlax_core.munchausen_q_learning"
    value_learning._check_transition(  # pyright: ignore[reportPrivateUsage]
        fn, q_tm1, a_tm1, r_t, discount_t, q_t_target=q_t_target, q_tm1_target=q_tm1_target
    )
    if isinstance(tau, numbers.Real) and not isinstance(tau, bool) and not float(tau) > 0:
        raise ValueError(f"{fn}: `tau` must be > 0, got {tau}.")
    if (
        isinstance(clip_value_min, numbers.Real)
        and not isinstance(clip_value_min, bool)
        and float(clip_value_min) > 0
    ):
        raise ValueError(f"{fn}: `clip_value_min` must be <= 0, got {clip_value_min}.")
    q_t = jnp.asarray(q_t_target)
    q_tm1_tgt = jnp.asarray(q_tm1_target)
    a = jnp.asarray(a_tm1)

    # tau * log softmax(q / tau), without forming exp(q / tau).
    tau_log_pi_tm1 = tau * jax.nn.log_softmax(q_tm1_tgt / tau)
    tau_log_pi_t = tau * jax.nn.log_softmax(q_t / tau)
    pi_t = jax.nn.softmax(q_t / tau)

    bonus = alpha * jnp.clip(tau_log_pi_tm1[a], clip_value_min, 0.0)
    soft_value_t = jnp.sum(pi_t * (q_t - tau_log_pi_t))
    target = r_t + bonus + discount_t * soft_value_t
    target = multistep.maybe_stop_gradient(target, stop_target_gradients)
    return target - jnp.asarray(q_tm1)[a]
