"""Value learning: TD errors for state values and action values (one transition or trajectory).

Single-transition functions take scalars ``[]`` and action-value vectors ``[A]``; trajectory
functions take time-major ``[T]`` / ``[T, A]`` arrays. All return *errors* (target minus
prediction); square them (e.g. ``rlax_core.l2_loss``) for a loss. ``stop_target_gradients``
defaults to True, as in rlax: gradients then flow only into the prediction.

Distributional learners (categorical / quantile) live in :mod:`rlax_core._src.distributional`.

References:
  Sutton (1988), Learning to predict by the methods of temporal differences, Machine Learning 3.
  Watkins & Dayan (1992), Q-learning, Machine Learning 8.
  Sutton & Barto (2018), Reinforcement Learning: An Introduction, 2nd ed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import base, checks, multistep, scan

__all__ = [
    "double_q_learning",
    "expected_sarsa",
    "persistent_q_learning",
    "q_lambda",
    "q_learning",
    "qv_learning",
    "qv_max",
    "retrace",
    "retrace_continuous",
    "sarsa",
    "sarsa_lambda",
    "td_lambda",
    "td_learning",
]

_stop = multistep.maybe_stop_gradient


def _check_transition(fn: str, q_tm1, a_tm1, r_t, discount_t, **next_values) -> None:
    """Checks a ``(q_tm1 [A], a_tm1 [], r_t [], discount_t [], <next> [A])`` transition."""
    checks.check_rank(
        fn,
        q_tm1=(q_tm1, 1),
        a_tm1=(a_tm1, 0),
        r_t=(r_t, 0),
        discount_t=(discount_t, 0),
        **{k: (v, 1) for k, v in next_values.items()},
    )
    checks.check_type(
        fn,
        q_tm1=(q_tm1, "float"),
        a_tm1=(a_tm1, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        **{k: (v, "float") for k, v in next_values.items()},
    )
    checks.check_equal_shape(fn, q_tm1=q_tm1, **next_values)


def td_learning(
    v_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """TD(0) error ``r_t + discount_t * v_t - v_tm1`` for one transition.

    Args:
      v_tm1: ``[]`` value of the state at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount (0 at termination).
      v_t: ``[]`` value of the next state.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` TD error.

    Raises:
      ValueError: if an input is not a scalar.
      TypeError: if an input is not floating point.

    References:
      Sutton (1988), Learning to predict by the methods of temporal differences, Mach. Learn. 3.

    Examples:
      >>> td_learning(1.0, 1.0, 0.5, 2.0).item()
      1.0
    """
    fn = "rlax_core.td_learning"
    checks.check_rank(fn, v_tm1=(v_tm1, 0), r_t=(r_t, 0), discount_t=(discount_t, 0), v_t=(v_t, 0))
    checks.check_type(
        fn,
        v_tm1=(v_tm1, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        v_t=(v_t, "float"),
    )
    target_tm1 = r_t + discount_t * jnp.asarray(v_t)
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - v_tm1


def td_lambda(
    v_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_t: ArrayLike,
    lambda_: ArrayLike,
    stop_target_gradients: bool = True,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """TD(lambda) errors along one trajectory: lambda-returns minus ``v_tm1``.

    Args:
      v_tm1: ``[T]`` values of the states ``s_0 .. s_{T-1}``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      v_t: ``[T]`` values of the states ``s_1 .. s_T``.
      lambda_: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      method: recurrence solver, keyword-only (``"auto" | "sequential" | "associative"``).
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` TD(lambda) errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: if an input is not floating point.

    References:
      Sutton & Barto (2018), Reinforcement Learning: An Introduction, 2nd ed., chapter 12.

    Examples:
      >>> print(td_lambda(jnp.zeros(2), jnp.ones(2), jnp.full(2, 0.5), jnp.ones(2), 0.5))
      [1.625 1.5  ]
    """
    fn = "rlax_core.td_lambda"
    checks.check_rank(fn, v_tm1=(v_tm1, 1), r_t=(r_t, 1), discount_t=(discount_t, 1), v_t=(v_t, 1))
    checks.check_type(
        fn,
        v_tm1=(v_tm1, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        v_t=(v_t, "float"),
        lambda_=(lambda_, "float"),
    )
    checks.check_equal_shape(fn, v_tm1=v_tm1, r_t=r_t, discount_t=discount_t, v_t=v_t)
    v_tm1, r_t, discount_t, v_t = map(jnp.asarray, (v_tm1, r_t, discount_t, v_t))
    multistep.check_per_step(fn, "lambda_", lambda_, r_t.shape[0])
    target_tm1 = multistep._lambda_returns(
        r_t, discount_t, v_t, lambda_, stop_target_gradients, method=method, unroll=unroll, fn=fn
    )
    return target_tm1 - v_tm1


def sarsa(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    a_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """SARSA error ``r_t + discount_t * q_t[a_t] - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t: ``[A]`` action values at t.
      a_t: ``[]`` int action taken at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` SARSA error.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes (actions int, the rest float).

    References:
      Rummery & Niranjan (1994), On-line Q-learning using connectionist systems, CUED/F-INFENG/
      TR 166, Cambridge University.

    Examples:
      >>> print(sarsa(jnp.array([1.0, 2.0]), 0, 1.0, 0.5, jnp.array([4.0, 0.0]), 1))
      0.0
    """
    fn = "rlax_core.sarsa"
    _check_transition(fn, q_tm1, a_tm1, r_t, discount_t, q_t=q_t)
    checks.check_rank(fn, a_t=(a_t, 0))
    checks.check_type(fn, a_t=(a_t, "int"))
    target_tm1 = r_t + discount_t * jnp.asarray(q_t)[a_t]
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def expected_sarsa(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    probs_a_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Expected-SARSA error ``r_t + discount_t * sum_a probs_a_t q_t - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t: ``[A]`` action values at t.
      probs_a_t: ``[A]`` target-policy probabilities at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` expected-SARSA error.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      van Seijen et al. (2009), A theoretical and empirical analysis of Expected Sarsa, IEEE
      ADPRL.

    Examples:
      >>> print(expected_sarsa(jnp.array([1.0, 2.0]), 0, 1.0, 0.5, jnp.array([4.0, 0.0]), jnp.array([0.5, 0.5])))
      1.0
    """
    fn = "rlax_core.expected_sarsa"
    _check_transition(fn, q_tm1, a_tm1, r_t, discount_t, q_t=q_t, probs_a_t=probs_a_t)
    target_tm1 = r_t + discount_t * jnp.dot(q_t, probs_a_t)
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def sarsa_lambda(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    a_t: ArrayLike,
    lambda_: ArrayLike,
    stop_target_gradients: bool = True,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """SARSA(lambda) errors along a trajectory (lambda-returns over ``q_t[a_t]``).

    Args:
      q_tm1: ``[T, A]`` action values at the states ``s_0 .. s_{T-1}``.
      a_tm1: ``[T]`` int actions taken at those states.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      q_t: ``[T, A]`` action values at ``s_1 .. s_T``.
      a_t: ``[T]`` int actions taken at ``s_1 .. s_T``.
      lambda_: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` SARSA(lambda) errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Sutton & Barto (2018), Reinforcement Learning: An Introduction, 2nd ed., section 12.7.

    Examples:
      >>> print(sarsa_lambda(jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.ones(2), jnp.full(2, 0.5), jnp.ones((2, 2)),
      ...                    jnp.array([1, 0]), 0.5))
      [1.625 1.5  ]
    """
    fn = "rlax_core.sarsa_lambda"
    _check_trajectory(fn, q_tm1, a_tm1, r_t, discount_t, q_t, lambda_)
    checks.check_rank(fn, a_t=(a_t, 1))
    checks.check_type(fn, a_t=(a_t, "int"))
    checks.check_equal_shape(fn, a_tm1=a_tm1, a_t=a_t)
    q_tm1, a_tm1, r_t, discount_t, q_t, a_t = map(
        jnp.asarray, (q_tm1, a_tm1, r_t, discount_t, q_t, a_t)
    )
    qa_tm1 = base.batched_index(q_tm1, a_tm1)
    qa_t = base.batched_index(q_t, a_t)
    target_tm1 = multistep._lambda_returns(
        r_t, discount_t, qa_t, lambda_, stop_target_gradients, method=method, unroll=unroll, fn=fn
    )
    return target_tm1 - qa_tm1


def _check_trajectory(fn, q_tm1, a_tm1, r_t, discount_t, q_t, lambda_, lambda_type=True):
    checks.check_rank(
        fn,
        q_tm1=(q_tm1, 2),
        a_tm1=(a_tm1, 1),
        r_t=(r_t, 1),
        discount_t=(discount_t, 1),
        q_t=(q_t, 2),
    )
    types = dict(
        q_tm1=(q_tm1, "float"),
        a_tm1=(a_tm1, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        q_t=(q_t, "float"),
    )
    if lambda_type:
        types["lambda_"] = (lambda_, "float")
    checks.check_type(fn, **types)
    checks.check_equal_shape(fn, q_tm1=q_tm1, q_t=q_t)
    checks.check_equal_shape(fn, a_tm1=a_tm1, r_t=r_t, discount_t=discount_t)
    checks.check_leading_dims(fn, 1, q_tm1=q_tm1, a_tm1=a_tm1)
    multistep.check_per_step(fn, "lambda_", lambda_, jnp.shape(r_t)[0])


def q_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Q-learning error ``r_t + discount_t * max_a q_t - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t: ``[A]`` action values at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` Q-learning error.

    Raises:
      ValueError: on rank or shape mismatch, e.g.
        ``rlax_core.q_learning: `q_tm1` must have rank 1, got shape (4, 3).``
      TypeError: on wrong dtypes (``a_tm1`` int, the rest float).

    References:
      Watkins & Dayan (1992), Q-learning, Machine Learning 8.

    Examples:
      >>> q_learning(jnp.array([1.0, 2.0]), 0, 1.0, 0.5, jnp.array([0.0, 4.0])).item()
      2.0
    """
    fn = "rlax_core.q_learning"
    _check_transition(fn, q_tm1, a_tm1, r_t, discount_t, q_t=q_t)
    target_tm1 = r_t + discount_t * jnp.max(q_t)
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def double_q_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t_value: ArrayLike,
    q_t_selector: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Double Q-learning error: ``r_t + discount_t * q_t_value[argmax q_t_selector] - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t_value: ``[A]`` action values at t used to evaluate the action (e.g. target network).
      q_t_selector: ``[A]`` action values at t used to select the action (e.g. online network).
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` double Q-learning error.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      van Hasselt (2010), Double Q-learning, NeurIPS.
      van Hasselt, Guez & Silver (2016), Deep Reinforcement Learning with Double Q-learning, AAAI.

    Examples:
      >>> print(double_q_learning(jnp.array([1.0, 2.0]), 0, 1.0, 0.5, jnp.array([4.0, 0.0]), jnp.array([0.0, 9.0])))
      0.0
    """
    fn = "rlax_core.double_q_learning"
    _check_transition(
        fn, q_tm1, a_tm1, r_t, discount_t, q_t_value=q_t_value, q_t_selector=q_t_selector
    )
    target_tm1 = r_t + discount_t * jnp.asarray(q_t_value)[jnp.argmax(q_t_selector)]
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def persistent_q_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    action_gap_scale: float,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Persistent Q-learning error (the bootstrap mixes ``max_a q_t`` and ``q_t[a_tm1]``).

    Target: ``r_t + discount_t * ((1 - action_gap_scale) * max_a q_t
    + action_gap_scale * q_t[a_tm1])``; the persistent (repeat-action) term widens the action
    gap.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t: ``[A]`` action values at t.
      action_gap_scale: float in ``[0, 1]``; 0 recovers Q-learning.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` persistent Q-learning error.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Bellemare et al. (2016), Increasing the Action Gap: New Operators for Reinforcement
      Learning, AAAI. https://arxiv.org/abs/1512.04860

    Examples:
      >>> print(persistent_q_learning(jnp.array([1.0, 2.0]), 0, 1.0, 0.5, jnp.array([4.0, 0.0]), 0.5))
      2.0
    """
    fn = "rlax_core.persistent_q_learning"
    _check_transition(fn, q_tm1, a_tm1, r_t, discount_t, q_t=q_t)
    q_t = jnp.asarray(q_t)
    corrected_q_t = (1.0 - action_gap_scale) * jnp.max(q_t) + action_gap_scale * q_t[a_tm1]
    target_tm1 = r_t + discount_t * corrected_q_t
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def qv_learning(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """QV-learning error ``r_t + discount_t * v_t - q_tm1[a_tm1]``.

    Args:
      q_tm1: ``[A]`` action values at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      v_t: ``[]`` state value at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` QV-learning error.

    Raises:
      ValueError: on rank mismatch.
      TypeError: on wrong dtypes.

    References:
      Wiering (2005), QV(lambda)-learning: A New On-policy Reinforcement Learning Algorithm,
      EWRL.

    Examples:
      >>> print(qv_learning(jnp.array([1.0, 2.0]), 1, 1.0, 0.5, 4.0))
      1.0
    """
    fn = "rlax_core.qv_learning"
    _check_transition(fn, q_tm1, a_tm1, r_t, discount_t)
    checks.check_rank(fn, v_t=(v_t, 0))
    checks.check_type(fn, v_t=(v_t, "float"))
    target_tm1 = r_t + discount_t * jnp.asarray(v_t)
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - jnp.asarray(q_tm1)[a_tm1]


def qv_max(
    v_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """QVMAX error ``r_t + discount_t * max_a q_t - v_tm1``.

    Args:
      v_tm1: ``[]`` state value at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_t: ``[A]`` action values at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` QVMAX error.

    Raises:
      ValueError: on rank mismatch.
      TypeError: on wrong dtypes.

    References:
      Wiering & van Hasselt (2009), The QV Family Compared to Other Reinforcement Learning
      Algorithms, IEEE ADPRL.

    Examples:
      >>> print(qv_max(1.0, 1.0, 0.5, jnp.array([4.0, 0.0])))
      2.0
    """
    fn = "rlax_core.qv_max"
    checks.check_rank(fn, v_tm1=(v_tm1, 0), r_t=(r_t, 0), discount_t=(discount_t, 0), q_t=(q_t, 1))
    checks.check_type(
        fn,
        v_tm1=(v_tm1, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        q_t=(q_t, "float"),
    )
    target_tm1 = r_t + discount_t * jnp.max(q_t)
    target_tm1 = _stop(target_tm1, stop_target_gradients)
    return target_tm1 - v_tm1


def q_lambda(
    q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_t: ArrayLike,
    lambda_: ArrayLike,
    stop_target_gradients: bool = True,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Peng's Q(lambda) errors: lambda-returns bootstrapping on ``max_a q_t``.

    With ``lambda_ = 0`` this is one-step Q-learning at every step; per-step ``lambda_`` can
    cut traces (e.g. Watkins' variant: 0 where the action taken is not greedy).

    Args:
      q_tm1: ``[T, A]`` action values at ``s_0 .. s_{T-1}``.
      a_tm1: ``[T]`` int actions taken.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      q_t: ``[T, A]`` action values at ``s_1 .. s_T``.
      lambda_: ``[]`` or ``[T]`` lambda.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` Q(lambda) errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Peng & Williams (1996), Incremental Multi-Step Q-Learning, Machine Learning 22.
      Watkins (1989), Learning from Delayed Rewards, PhD thesis, King's College Cambridge.

    Examples:
      >>> print(q_lambda(jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.ones(2), jnp.full(2, 0.5), jnp.ones((2, 2)), 0.5))
      [1.625 1.5  ]
    """
    fn = "rlax_core.q_lambda"
    _check_trajectory(fn, q_tm1, a_tm1, r_t, discount_t, q_t, lambda_)
    q_tm1, a_tm1, r_t, discount_t, q_t = map(jnp.asarray, (q_tm1, a_tm1, r_t, discount_t, q_t))
    qa_tm1 = base.batched_index(q_tm1, a_tm1)
    v_t = jnp.max(q_t, axis=-1)
    target_tm1 = multistep._lambda_returns(
        r_t, discount_t, v_t, lambda_, stop_target_gradients, method=method, unroll=unroll, fn=fn
    )
    return target_tm1 - qa_tm1


def retrace(
    q_tm1: ArrayLike,
    q_t: ArrayLike,
    a_tm1: ArrayLike,
    a_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    pi_t: ArrayLike,
    mu_t: ArrayLike,
    lambda_: ArrayLike,
    eps: float = 1e-8,
    stop_target_gradients: bool = True,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Retrace errors for discrete actions along a trajectory.

    Traces ``c_t = lambda_ * min(1, pi_t[a_t] / (mu_t + eps))``; the target is the general
    off-policy return from ``q_t``, ``pi_t`` and these traces.

    Args:
      q_tm1: ``[T, A]`` action values at ``s_0 .. s_{T-1}``.
      q_t: ``[T, A]`` action values at ``s_1 .. s_T``.
      a_tm1: ``[T]`` int actions taken at ``s_0 .. s_{T-1}``.
      a_t: ``[T]`` int actions taken at ``s_1 .. s_T``.
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      pi_t: ``[T, A]`` target-policy probabilities at ``s_1 .. s_T``.
      mu_t: ``[T]`` behaviour-policy probabilities of ``a_t``.
      lambda_: ``[]`` or ``[T]`` trace decay.
      eps: small constant added to ``mu_t`` in the ratio.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` Retrace errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Munos et al. (2016), Safe and Efficient Off-Policy Reinforcement Learning, NeurIPS.
      https://arxiv.org/abs/1606.02647

    Examples:
      >>> print(retrace(jnp.zeros((2, 2)), jnp.ones((2, 2)), jnp.array([0, 0]), jnp.array([0, 1]), jnp.ones(2),
      ...               jnp.full(2, 0.5), jnp.full((2, 2), 0.5), jnp.full(2, 0.5), 1.0))
      [1.75 1.5 ]
    """
    fn = "rlax_core.retrace"
    args = _check_retrace(fn, q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t, lambda_)
    q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t = args
    pi_a_t = base.batched_index(pi_t, a_t)
    c_t = jnp.minimum(1.0, pi_a_t / (mu_t + eps)) * lambda_
    target_tm1 = multistep._off_policy_from_action_values(
        q_t,
        a_t,
        r_t,
        discount_t,
        c_t,
        pi_t,
        stop_target_gradients,
        method=method,
        unroll=unroll,
        fn=fn,
    )
    return target_tm1 - base.batched_index(q_tm1, a_tm1)


def _check_retrace(fn, q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t, lambda_):
    checks.check_rank(
        fn,
        q_tm1=(q_tm1, 2),
        q_t=(q_t, 2),
        a_tm1=(a_tm1, 1),
        a_t=(a_t, 1),
        r_t=(r_t, 1),
        discount_t=(discount_t, 1),
        pi_t=(pi_t, 2),
        mu_t=(mu_t, 1),
    )
    checks.check_type(
        fn,
        q_tm1=(q_tm1, "float"),
        q_t=(q_t, "float"),
        a_tm1=(a_tm1, "int"),
        a_t=(a_t, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        pi_t=(pi_t, "float"),
        mu_t=(mu_t, "float"),
    )
    checks.check_equal_shape(fn, q_tm1=q_tm1, q_t=q_t, pi_t=pi_t)
    checks.check_equal_shape(fn, a_tm1=a_tm1, a_t=a_t, r_t=r_t, discount_t=discount_t, mu_t=mu_t)
    checks.check_leading_dims(fn, 1, q_tm1=q_tm1, a_tm1=a_tm1)
    multistep.check_per_step(fn, "lambda_", lambda_, jnp.shape(r_t)[0])
    return tuple(map(jnp.asarray, (q_tm1, q_t, a_tm1, a_t, r_t, discount_t, pi_t, mu_t)))


def retrace_continuous(
    q_tm1: ArrayLike,
    q_t: ArrayLike,
    v_t: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    log_rhos: ArrayLike,
    lambda_: ArrayLike,
    stop_target_gradients: bool = True,
    *,
    method: scan.Method = "auto",
    unroll: int | bool = 1,
) -> jax.Array:
    """Retrace errors for continuous actions, from log importance ratios and state values.

    Traces ``c_t = lambda_ * min(1, exp(log_rhos))``; the target is
    ``general_off_policy_returns_from_q_and_v(q_t, v_t, r_t, discount_t, c_t)``.

    Args:
      q_tm1: ``[T]`` Q-values of the actions taken at ``s_0 .. s_{T-1}``.
      q_t: ``[T-1]`` Q-values of the actions taken at ``s_1 .. s_{T-1}``.
      v_t: ``[T]`` state values at ``s_1 .. s_T`` (e.g. expected Q under pi).
      r_t: ``[T]`` rewards.
      discount_t: ``[T]`` discounts.
      log_rhos: ``[T-1]`` log importance ratios ``log pi(a_t|s_t) - log mu(a_t|s_t)`` for
        ``t = 1 .. T-1``.
      lambda_: ``[]`` or ``[T-1]`` trace decay.
      stop_target_gradients: whether to stop gradients through the targets (default True).
      method: recurrence solver, keyword-only.
      unroll: ``jax.lax.scan`` unroll for the sequential solver, keyword-only.

    Returns:
      ``[T]`` Retrace errors.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Munos et al. (2016), Safe and Efficient Off-Policy Reinforcement Learning, NeurIPS.
      https://arxiv.org/abs/1606.02647

    Examples:
      >>> print(retrace_continuous(jnp.zeros(2), jnp.ones(1), jnp.ones(2), jnp.ones(2), jnp.full(2, 0.5),
      ...                          jnp.zeros(1), 1.0))
      [1.75 1.5 ]
    """
    fn = "rlax_core.retrace_continuous"
    checks.check_rank(
        fn,
        q_tm1=(q_tm1, 1),
        q_t=(q_t, 1),
        v_t=(v_t, 1),
        r_t=(r_t, 1),
        discount_t=(discount_t, 1),
        log_rhos=(log_rhos, 1),
    )
    checks.check_type(
        fn,
        q_tm1=(q_tm1, "float"),
        q_t=(q_t, "float"),
        v_t=(v_t, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        log_rhos=(log_rhos, "float"),
    )
    checks.check_equal_shape(fn, q_tm1=q_tm1, v_t=v_t, r_t=r_t, discount_t=discount_t)
    checks.check_equal_shape(fn, q_t=q_t, log_rhos=log_rhos)
    length = jnp.shape(r_t)[0]
    checks.check_shape(fn, q_t=(q_t, (length - 1,)))
    multistep.check_per_step(fn, "lambda_", lambda_, length - 1)
    q_tm1, q_t, v_t, r_t, discount_t, log_rhos = map(
        jnp.asarray, (q_tm1, q_t, v_t, r_t, discount_t, log_rhos)
    )
    c_t = jnp.minimum(1.0, jnp.exp(log_rhos)) * lambda_
    target_tm1 = multistep._off_policy_returns(
        q_t, v_t, r_t, discount_t, c_t, stop_target_gradients, method=method, unroll=unroll, fn=fn
    )
    return target_tm1 - q_tm1
