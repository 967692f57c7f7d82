"""Policy-gradient losses: REINFORCE/A2C, entropy, PPO, DPG and the QPG/RM/RPG family.

All losses take one sequence (or batch) along their leading axis and reduce it to a
scalar, except ``dpg_loss`` which works on one action vector (vmap over a batch).

``use_stop_gradient`` flags may be Python bools or traced boolean scalars (they
select between the stopped and unstopped value, so they work under ``jax.jit``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, distributions, multistep


def _maybe_stop(x: jax.Array, stop: bool | ArrayLike) -> jax.Array:
    """Stops the gradient of ``x`` when ``stop`` holds; ``stop`` may be a traced bool."""
    return multistep.maybe_stop_gradient(x, stop)


def policy_gradient_loss(
    logits_t: ArrayLike,
    a_t: ArrayLike,
    adv_t: ArrayLike,
    w_t: ArrayLike,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """Weighted policy-gradient (REINFORCE / actor-critic) loss over a sequence.

    ``mean_t(-w_t * adv_t * log pi(a_t | logits_t))``, where ``pi = softmax(logits_t)``.

    Args:
      logits_t: [T, A] unnormalised action preferences.
      a_t: [T] integer actions taken.
      adv_t: [T] advantage estimates.
      w_t: [T] per-step weights (e.g. a mask).
      use_stop_gradient: stop the gradient through ``adv_t``.

    Returns:
      [] loss (minimise it to ascend the policy gradient).

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) if ``a_t`` is not integer or
        another input is not floating point.

    References:
      Williams (1992), Simple statistical gradient-following algorithms for connectionist
      reinforcement learning. Mnih et al. (2016), Asynchronous Methods for Deep RL (A3C),
      https://arxiv.org/abs/1602.01783.

    Examples:
      >>> print(policy_gradient_loss(jnp.zeros((2, 2)), jnp.array([0, 1]), jnp.array([1.0, 3.0]), jnp.ones(2)))
      1.3862944
    """
    fn = "rlax_core.policy_gradient_loss"
    checks.check_rank(fn, logits_t=(logits_t, 2), a_t=(a_t, 1), adv_t=(adv_t, 1), w_t=(w_t, 1))
    checks.check_type(
        fn,
        logits_t=(logits_t, "float"),
        a_t=(a_t, "int"),
        adv_t=(adv_t, "float"),
        w_t=(w_t, "float"),
    )
    log_pi_a = distributions.softmax().logprob(a_t, logits_t)
    adv_t = _maybe_stop(jnp.asarray(adv_t), use_stop_gradient)
    log_pi_a, adv_t, w_t = checks.broadcast_arrays(fn, log_pi_a_t=log_pi_a, adv_t=adv_t, w_t=w_t)
    return jnp.mean(-log_pi_a * adv_t * w_t)


def entropy_loss(logits_t: ArrayLike, w_t: ArrayLike) -> jax.Array:
    """Negative weighted mean entropy of softmax policies (minimise to raise entropy).

    Args:
      logits_t: [T, A] unnormalised action preferences.
      w_t: [T] per-step weights.

    Returns:
      [] ``-mean_t(w_t * H(softmax(logits_t)))``.

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Mnih et al. (2016), Asynchronous Methods for Deep Reinforcement Learning,
      https://arxiv.org/abs/1602.01783.

    Examples:
      >>> print(entropy_loss(jnp.zeros((1, 2)), jnp.ones(1)))
      -0.6931472
    """
    fn = "rlax_core.entropy_loss"
    checks.check_rank(fn, logits_t=(logits_t, 2), w_t=(w_t, 1))
    checks.check_type(fn, logits_t=(logits_t, "float"), w_t=(w_t, "float"))
    entropy = distributions.softmax().entropy(logits_t)
    entropy, w_t = checks.broadcast_arrays(fn, entropy_t=entropy, w_t=w_t)
    return -jnp.mean(entropy * w_t)


def clipped_surrogate_pg_loss(
    prob_ratios_t: ArrayLike,
    adv_t: ArrayLike,
    epsilon: float | int,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """PPO clipped surrogate objective, as a loss.

    ``-mean_t(min(r_t * adv_t, clip(r_t, 1 - epsilon, 1 + epsilon) * adv_t))``.

    Args:
      prob_ratios_t: [T] ratios ``pi(a_t) / pi_old(a_t)``.
      adv_t: [T] advantage estimates.
      epsilon: clipping half-width (a Python float).
      use_stop_gradient: stop the gradient through ``adv_t``.

    Returns:
      [] loss.

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Schulman et al. (2017), Proximal Policy Optimization Algorithms,
      https://arxiv.org/abs/1707.06347.

    Examples:
      >>> print(clipped_surrogate_pg_loss(jnp.array([0.5, 1.5]), jnp.array([1.0, 1.0]), 0.2))
      -0.85
    """
    fn = "rlax_core.clipped_surrogate_pg_loss"
    checks.check_rank(fn, prob_ratios_t=(prob_ratios_t, 1), adv_t=(adv_t, 1))
    checks.check_type(fn, prob_ratios_t=(prob_ratios_t, "float"), adv_t=(adv_t, "float"))
    ratios = jnp.asarray(prob_ratios_t)
    adv_t = _maybe_stop(jnp.asarray(adv_t), use_stop_gradient)
    ratios, adv_t = checks.broadcast_arrays(fn, prob_ratios_t=ratios, adv_t=adv_t)
    clipped = jnp.clip(ratios, 1.0 - epsilon, 1.0 + epsilon)
    objective = jnp.fmin(ratios * adv_t, clipped * adv_t)
    return -jnp.mean(objective)


def dpg_loss(
    a_t: ArrayLike,
    dqda_t: ArrayLike,
    dqda_clipping: float | int | None = None,
    use_stop_gradient: bool = True,
) -> jax.Array:
    """Deterministic policy gradient loss for one action vector.

    The target is ``a_t + dQ/da`` (dQ/da optionally rescaled to norm <= ``dqda_clipping``); the
    loss ``0.5 * (target - a_t)^2`` has gradient ``-dQ/da`` w.r.t. ``a_t``.

    Args:
      a_t: [A] continuous action produced by the policy.
      dqda_t: [A] gradient of the critic w.r.t. the action.
      dqda_clipping: optional positive bound on the Euclidean norm of ``dqda_t``.
      use_stop_gradient: stop the gradient through the target.

    Returns:
      [A] per-dimension loss (vmap over a batch, then reduce).

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Silver et al. (2014), Deterministic Policy Gradient Algorithms, ICML.

    Examples:
      >>> print([round(float(x), 4) for x in dpg_loss(jnp.zeros(2), jnp.array([3.0, 4.0]), dqda_clipping=1.0)])
      [0.18, 0.32]
    """
    fn = "rlax_core.dpg_loss"
    checks.check_rank(fn, a_t=(a_t, 1), dqda_t=(dqda_t, 1))
    checks.check_type(fn, a_t=(a_t, "float"), dqda_t=(dqda_t, "float"))
    a_t = jnp.asarray(a_t)
    dqda_t = jnp.asarray(dqda_t)
    if dqda_clipping is not None:
        # Rescale dQ/da so that its Euclidean norm is at most `dqda_clipping`. The square
        # root only sees positive values, so a zero dQ/da keeps a finite gradient.
        sum_sq = jnp.sum(jnp.square(dqda_t))
        positive = sum_sq > 0
        norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, sum_sq, 1.0)), sum_sq)
        dqda_t = dqda_t * dqda_clipping / jnp.maximum(norm, dqda_clipping)
    dqda_t, a_t = checks.broadcast_arrays(fn, dqda_t=dqda_t, a_t=a_t)
    target_tm1 = _maybe_stop(dqda_t + a_t, use_stop_gradient)
    return 0.5 * jnp.square(target_tm1 - a_t)


def _check_logits_q(fn: str, logits_t: ArrayLike, q_t: ArrayLike) -> None:
    checks.check_rank(fn, logits_t=(logits_t, 2), q_t=(q_t, 2))
    checks.check_type(fn, logits_t=(logits_t, "float"), q_t=(q_t, "float"))


def _advantages(
    fn: str, logits_t: jax.Array, q_t: jax.Array, use_relu: bool
) -> tuple[jax.Array, jax.Array]:
    """Returns ``(pi, adv)`` with ``adv = q - sum_a pi(a) q(a)`` (optionally ReLU'd).

    ``q`` is always gradient-stopped (these losses train the policy only); the policy
    inside the baseline keeps its gradient (callers may stop ``adv`` as a whole).
    """
    pi = jax.nn.softmax(logits_t, axis=-1)
    q_t = jax.lax.stop_gradient(q_t)
    pi, q_t = checks.broadcast_arrays(fn, logits_t=pi, q_t=q_t)
    baseline = jnp.sum(pi * q_t, axis=-1, keepdims=True)
    adv = q_t - baseline
    if use_relu:
        adv = jax.nn.relu(adv)
    return pi, adv


def qpg_loss(logits_t: ArrayLike, q_t: ArrayLike, use_stop_gradient: bool = True) -> jax.Array:
    """Q-based policy gradient (QPG) loss using all action values.

    ``-mean_t sum_a pi(a) * sg(q(a) - sum_b pi(b) q(b))``.

    Args:
      logits_t: [T, A] policy logits.
      q_t: [T, A] action values.
      use_stop_gradient: stop gradients through the advantages (``q_t`` never gets one).

    Returns:
      [] loss.

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Srinivasan et al. (2018), Actor-Critic Policy Optimization in Partially Observable
      Multiagent Environments, https://arxiv.org/abs/1810.09026.

    Examples:
      >>> print(qpg_loss(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]])))
      -0.0
    """
    fn = "rlax_core.qpg_loss"
    _check_logits_q(fn, logits_t, q_t)
    pi, adv = _advantages(fn, jnp.asarray(logits_t), jnp.asarray(q_t), False)
    adv = _maybe_stop(adv, use_stop_gradient)
    return -jnp.mean(jnp.sum(pi * adv, axis=-1), axis=0)


def rm_loss(logits_t: ArrayLike, q_t: ArrayLike, use_stop_gradient: bool = True) -> jax.Array:
    """Regret-matching policy gradient (RMPG) loss: QPG with ReLU'd advantages.

    ``-mean_t sum_a pi(a) * sg(relu(q(a) - sum_b pi(b) q(b)))``.

    Args:
      logits_t: [T, A] policy logits.
      q_t: [T, A] action values.
      use_stop_gradient: stop gradients through the advantages (``q_t`` never gets one).

    Returns:
      [] loss.

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Srinivasan et al. (2018), Actor-Critic Policy Optimization in Partially Observable
      Multiagent Environments, https://arxiv.org/abs/1810.09026.

    Examples:
      >>> print(rm_loss(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]])))
      -0.25
    """
    fn = "rlax_core.rm_loss"
    _check_logits_q(fn, logits_t, q_t)
    pi, adv = _advantages(fn, jnp.asarray(logits_t), jnp.asarray(q_t), True)
    adv = _maybe_stop(adv, use_stop_gradient)
    return -jnp.mean(jnp.sum(pi * adv, axis=-1), axis=0)


def rpg_loss(logits_t: ArrayLike, q_t: ArrayLike, use_stop_gradient: bool = True) -> jax.Array:
    """Regret policy gradient (RPG) loss: the total positive regret of the policy.

    ``mean_t sum_a relu(q(a) - sum_b pi(b) q(b))``, differentiated through ``pi``.

    Args:
      logits_t: [T, A] policy logits.
      q_t: [T, A] action values.
      use_stop_gradient: stop gradients through ``q_t``.

    Returns:
      [] loss.

    Raises:
      ShapeAssertionError: (a ``ValueError``) on a wrong rank or shapes that do not
        broadcast; DtypeAssertionError: (a ``TypeError``) on non-float inputs.

    References:
      Srinivasan et al. (2018), Actor-Critic Policy Optimization in Partially Observable
      Multiagent Environments, https://arxiv.org/abs/1810.09026.

    Examples:
      >>> print(rpg_loss(jnp.zeros((1, 2)), jnp.array([[1.0, 0.0]])))
      0.5
    """
    fn = "rlax_core.rpg_loss"
    _check_logits_q(fn, logits_t, q_t)
    logits_t = jnp.asarray(logits_t)
    q_t = _maybe_stop(jnp.asarray(q_t), use_stop_gradient)
    pi = jax.nn.softmax(logits_t, axis=-1)
    pi, q_t = checks.broadcast_arrays(fn, logits_t=pi, q_t=q_t)
    baseline = jnp.sum(pi * q_t, axis=-1, keepdims=True)
    regrets = jnp.sum(jax.nn.relu(q_t - baseline), axis=-1)
    return jnp.mean(regrets)
