"""Offline-RL losses: Conservative Q-Learning (CQL) regularisers and Implicit Q-Learning (IQL).

Elementwise over any leading batch shape; the functions that take a set of actions
(``[..., A]`` Q-values or ``[..., N]`` sampled actions) reduce that last axis.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, losses

__all__ = [
    "cql_continuous_regularizer",
    "cql_discrete_regularizer",
    "iql_awr_policy_loss",
    "iql_expectile_value_loss",
]


def _check_temperature(fn: str, temperature: ArrayLike) -> None:
    if isinstance(temperature, (int, float)) and not temperature > 0:
        raise ValueError(f"{fn}: `temperature` must be > 0, got {temperature}.")


def cql_discrete_regularizer(
    q_tm1: ArrayLike, a_tm1: ArrayLike, temperature: ArrayLike = 1.0
) -> jax.Array:
    """CQL(H) regulariser for discrete actions: ``T * logsumexp(q_tm1 / T) - q_tm1[a_tm1]``.

    Pushes down a soft maximum of the Q-values over all actions while pushing up the
    Q-value of the dataset action. Add ``cql_alpha * mean(regulariser)`` to the usual TD
    loss. With ``T = 1`` this is the paper's ``log sum_a exp Q(s, a) - Q(s, a_data)``.
    Gradients flow into every ``q_tm1`` entry.

    Args:
      q_tm1: ``[..., A]`` Q-values at ``s_tm1``.
      a_tm1: ``[...]`` integer dataset actions.
      temperature: ``T > 0`` of the soft maximum (scalar or ``[...]``).

    Returns:
      ``[...]`` regulariser per state, in the promoted float dtype; always
      ``max_a q - q[a] <= value <= max_a q - q[a] + T log A``, hence ``>= 0``.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``q_tm1`` is not ``a_tm1``'s shape plus
        an action axis; DtypeAssertionError: (a ``TypeError``) if ``q_tm1`` is not
        floating point or ``a_tm1`` is not integer; ValueError for a non-positive Python
        ``temperature``.

    References:
      Kumar et al. (2020), Conservative Q-Learning for Offline Reinforcement Learning,
      eq. 4 (CQL(H)), https://arxiv.org/abs/2006.04779.

    Examples:
      >>> print(round(float(cql_discrete_regularizer(jnp.array([1.0, 1.0]), jnp.array(0))), 4))
      0.6931
    """
    fn = "rlax_core.cql_discrete_regularizer"
    checks.check_type(fn, q_tm1=(q_tm1, "float"), a_tm1=(a_tm1, "int"))
    _check_temperature(fn, temperature)
    q_tm1 = jnp.asarray(q_tm1)
    a_tm1 = jnp.asarray(a_tm1)
    if q_tm1.ndim != a_tm1.ndim + 1 or q_tm1.shape[:-1] != a_tm1.shape:
        raise checks.ShapeAssertionError(
            f"{fn}: `q_tm1` must have shape `a_tm1`.shape + (A,) = {a_tm1.shape} + (A,), "
            f"got q_tm1 {q_tm1.shape} and a_tm1 {a_tm1.shape}."
        )
    temperature = jnp.reshape(jnp.asarray(temperature, q_tm1.dtype), (*jnp.shape(temperature), 1))
    q_scaled, temperature = checks.broadcast_arrays(fn, q_tm1=q_tm1, temperature=temperature)
    soft_max = temperature[..., 0] * jax.nn.logsumexp(q_scaled / temperature, axis=-1)
    q_data = jnp.take_along_axis(q_tm1, a_tm1[..., None], axis=-1)[..., 0]
    return soft_max - q_data


def cql_continuous_regularizer(
    q_sampled: ArrayLike,
    log_density: ArrayLike,
    q_data: ArrayLike,
    temperature: ArrayLike = 1.0,
) -> jax.Array:
    """Importance-sampled CQL(H) regulariser for continuous actions.

    The soft maximum ``T log integral exp(Q(s, a) / T) da`` is estimated from ``N`` actions
    ``a_i`` drawn from proposal densities ``mu_i`` (CQL uses uniform actions and actions
    from the current policy at ``s`` and ``s'``, concatenated)::

        value = T * (logsumexp_i(q_sampled_i / T - log_density_i) - log N) - q_data

    ``log_density_i = log mu(a_i)`` (e.g. ``-D log 2`` for uniform actions on ``[-1, 1]^D``,
    or the policy's log-prob). The log-densities carry no gradient; the Q-values do.
    Relation to the authors' code: it uses ``T * logsumexp((q - log_density) / T)`` and drops
    ``log N``; for ``T = 1`` that differs from this value by the constant ``log N`` only.

    Args:
      q_sampled: ``[..., N]`` Q-values at the sampled actions.
      log_density: ``[..., N]`` log proposal density of each sampled action (broadcasts
        with ``q_sampled``).
      q_data: ``[...]`` Q-value of the dataset action.
      temperature: ``T > 0`` (scalar or ``[...]``).

    Returns:
      ``[...]`` regulariser per state (add ``cql_alpha * mean(value)`` to the TD loss).

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``q_sampled``/``log_density`` have no sample
        axis or the shapes do not broadcast; DtypeAssertionError: (a ``TypeError``) on
        non-float inputs; ValueError for a non-positive Python ``temperature``.

    References:
      Kumar et al. (2020), Conservative Q-Learning for Offline Reinforcement Learning,
      eq. 4 and appendix F, https://arxiv.org/abs/2006.04779.

    Examples:
      >>> q = jnp.array([1.0, 1.0])
      >>> print(round(float(cql_continuous_regularizer(q, jnp.log(jnp.array([0.5, 0.5])), 1.0)), 4))
      0.6931
    """
    fn = "rlax_core.cql_continuous_regularizer"
    checks.check_type(
        fn,
        q_sampled=(q_sampled, "float"),
        log_density=(log_density, "float"),
        q_data=(q_data, "float"),
        temperature=(temperature, "numeric"),
    )
    _check_temperature(fn, temperature)
    for name, x in (("q_sampled", q_sampled), ("log_density", log_density)):
        if jnp.ndim(x) < 1:
            raise checks.ShapeAssertionError(
                f"{fn}: `{name}` must have rank >= 1 with the samples on its last axis "
                f"[..., N], got shape {jnp.shape(x)}."
            )
    temp = jnp.asarray(temperature)
    temp_n = jnp.reshape(temp, (*temp.shape, 1))
    q_sampled, log_density, temp_n = checks.broadcast_arrays(
        fn, q_sampled=q_sampled, log_density=log_density, temperature=temp_n
    )
    n = q_sampled.shape[-1]
    log_density = jax.lax.stop_gradient(log_density)
    soft_max = jax.nn.logsumexp(q_sampled / temp_n - log_density, axis=-1) - math.log(n)
    soft_max, q_data, temp = checks.broadcast_arrays(
        fn, q_sampled=soft_max, q_data=q_data, temperature=temp
    )
    return temp * soft_max - q_data


def iql_expectile_value_loss(
    q_t: ArrayLike, v_t: ArrayLike, expectile: ArrayLike = 0.7
) -> jax.Array:
    """IQL value loss: expectile regression of ``V(s)`` onto ``Q(s, a)`` from the dataset.

    ``loss = |tau - 1(u < 0)| * u^2`` with ``u = q_t - v_t`` and ``tau = expectile``. The
    same as ``rlax_core.expectile_loss(v_t, stop_gradient(q_t), expectile)`` (no 1/2
    factor), but broadcasting its inputs and stopping the gradient into ``q_t`` (the
    target critic). ``tau > 0.5`` makes ``V`` approach an upper expectile of ``Q``,
    i.e. an in-sample soft maximum.

    Args:
      q_t: ``[...]`` target-critic values ``Q(s, a)`` at dataset actions.
      v_t: ``[...]`` value predictions ``V(s)``.
      expectile: ``tau`` in ``[0, 1]`` (paper: 0.7 locomotion, 0.9 AntMaze).

    Returns:
      ``[...]`` loss per element (broadcast shape); only ``v_t`` receives gradient.

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast;
      DtypeAssertionError: (a ``TypeError``) on non-float inputs; ValueError for a
      Python ``expectile`` outside ``[0, 1]``.

    References:
      Kostrikov, Nair & Levine (2021), Offline Reinforcement Learning with Implicit
      Q-Learning, eq. 5, https://arxiv.org/abs/2110.06169.

    Examples:
      >>> loss = iql_expectile_value_loss(jnp.array([3.0, 0.0]), jnp.array([1.0, 1.0]), 0.7)
      >>> print([round(float(x), 4) for x in loss])
      [2.8, 0.3]
    """
    fn = "rlax_core.iql_expectile_value_loss"
    checks.check_type(fn, q_t=(q_t, "float"), v_t=(v_t, "float"))
    if isinstance(expectile, (int, float)) and not 0.0 <= expectile <= 1.0:
        raise ValueError(f"{fn}: `expectile` must be in [0, 1], got {expectile}.")
    q_t, v_t = checks.broadcast_arrays(fn, q_t=q_t, v_t=v_t)
    return losses.expectile_loss(v_t, jax.lax.stop_gradient(q_t), expectile)  # pyright: ignore[reportArgumentType]


def iql_awr_policy_loss(
    log_pi_a: ArrayLike,
    q: ArrayLike,
    v: ArrayLike,
    beta: ArrayLike = 3.0,
    max_weight: ArrayLike = 100.0,
) -> jax.Array:
    """IQL policy extraction by advantage-weighted regression.

    ``loss = -min(exp(beta * (q - v)), max_weight) * log_pi_a`` with the weight a
    constant (gradient stopped), so only the policy's ``log_pi_a`` is trained: dataset
    actions with a higher advantage get a higher log-likelihood. The exponent is capped
    at ``log(max_weight)`` before ``exp`` so large advantages never overflow.

    Args:
      log_pi_a: ``[...]`` log-probability/density of the dataset action under the policy.
      q: ``[...]`` target-critic values at the dataset action.
      v: ``[...]`` state values.
      beta: inverse temperature ``> 0`` (paper: 3.0 locomotion, 10.0 AntMaze).
      max_weight: cap on the weight ``> 0`` (paper code: 100).

    Returns:
      ``[...]`` loss per element (broadcast shape).

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast;
      DtypeAssertionError: (a ``TypeError``) on non-float inputs; ValueError for a
      non-positive Python ``max_weight``.

    References:
      Kostrikov, Nair & Levine (2021), Offline Reinforcement Learning with Implicit
      Q-Learning, eq. 7, https://arxiv.org/abs/2110.06169.

    Examples:
      >>> loss = iql_awr_policy_loss(jnp.array([-1.0, -1.0]), jnp.array([1.0, 10.0]), jnp.array([1.0, 0.0]))
      >>> print(loss.round(4))
      [  1. 100.]
    """
    fn = "rlax_core.iql_awr_policy_loss"
    checks.check_type(
        fn,
        log_pi_a=(log_pi_a, "float"),
        q=(q, "float"),
        v=(v, "float"),
        beta=(beta, "numeric"),
        max_weight=(max_weight, "numeric"),
    )
    if isinstance(max_weight, (int, float)) and not max_weight > 0:
        raise ValueError(f"{fn}: `max_weight` must be > 0, got {max_weight}.")
    log_pi_a, q, v, beta, max_weight = checks.broadcast_arrays(
        fn, log_pi_a=log_pi_a, q=q, v=v, beta=beta, max_weight=max_weight
    )
    exponent = jnp.minimum(beta * (q - v), jnp.log(max_weight))
    weight = jax.lax.stop_gradient(jnp.exp(exponent))
    return -weight * log_pi_a
