"""Distributional value learning: categorical (C51) and quantile (QR-DQN) losses.

Single-transition functions (vmap for batches). Categorical learners return the
cross-entropy between the projected target distribution and the predicted one; quantile
learners return the (Huber) quantile-regression loss.

References:
  Bellemare, Dabney & Munos (2017), A Distributional Perspective on Reinforcement Learning,
  ICML. https://arxiv.org/abs/1707.06887
  Dabney et al. (2018), Distributional Reinforcement Learning with Quantile Regression, AAAI.
  https://arxiv.org/abs/1710.10044
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, clipping, multistep

__all__ = [
    "categorical_double_q_learning",
    "categorical_l2_project",
    "categorical_q_learning",
    "categorical_td_learning",
    "quantile_expected_sarsa",
    "quantile_q_learning",
    "quantile_regression_loss",
]

_stop = multistep.maybe_stop_gradient


def categorical_l2_project(z_p: ArrayLike, probs: ArrayLike, z_q: ArrayLike) -> jax.Array:
    """Projects a categorical distribution on support ``z_p`` onto the support ``z_q``.

    Each atom ``z_p[j]`` (clipped to ``[z_q[0], z_q[-1]]``) splits its mass ``probs[j]`` between
    its two neighbouring atoms of ``z_q`` in proportion to proximity (the hat-function / L2
    projection of C51). ``z_q`` must be sorted ascending; it need not be evenly spaced.

    Args:
      z_p: ``[N]`` support of the source distribution.
      probs: ``[N]`` probabilities of the source distribution.
      z_q: ``[M]`` sorted target support.

    Returns:
      ``[M]`` projected probabilities.

    Raises:
      ValueError: on rank mismatch or if ``z_p`` and ``probs`` differ in shape.
      TypeError: if an input is not floating point.

    References:
      Bellemare, Dabney & Munos (2017), A Distributional Perspective on Reinforcement Learning,
      ICML (Algorithm 1). https://arxiv.org/abs/1707.06887

    Examples:
      >>> print(categorical_l2_project(jnp.array([0.25, 5.0]), jnp.array([0.4, 0.6]), jnp.array([0.0, 1.0, 2.0])))
      [0.3 0.1 0.6]
    """
    fn = "rlax_core.categorical_l2_project"
    checks.check_rank(fn, z_p=(z_p, 1), probs=(probs, 1), z_q=(z_q, 1))
    checks.check_type(fn, z_p=(z_p, "float"), probs=(probs, "float"), z_q=(z_q, "float"))
    checks.check_equal_shape(fn, z_p=z_p, probs=probs)
    return _project(jnp.asarray(z_p), jnp.asarray(probs), jnp.asarray(z_q))


def _project(z_p: jax.Array, probs: jax.Array, z_q: jax.Array) -> jax.Array:
    v_min, v_max = z_q[0], z_q[-1]
    # Spacing to the right / left neighbour of each target atom (0 at the ends: never used
    # there except for exact hits, where a zero inverse spacing gives full weight).
    right = jnp.concatenate([z_q[1:] - z_q[:-1], jnp.zeros((1,), z_q.dtype)])
    left = jnp.concatenate([jnp.zeros((1,), z_q.dtype), z_q[1:] - z_q[:-1]])
    inv_right = jnp.where(right > 0, 1.0 / jnp.where(right > 0, right, 1.0), 0.0)
    inv_left = jnp.where(left > 0, 1.0 / jnp.where(left > 0, left, 1.0), 0.0)
    z = jnp.clip(z_p, v_min, v_max)[:, None]  # [N, 1]
    dist = z - z_q[None, :]  # [N, M]; >= 0 when the source atom is right of the target atom
    above = (dist >= 0).astype(probs.dtype)
    scaled = above * dist * inv_right[None, :] - (1.0 - above) * dist * inv_left[None, :]
    weights = jnp.clip(1.0 - scaled, 0.0, 1.0)
    return jnp.sum(weights * probs[:, None], axis=0)


def _cross_entropy(target_probs: jax.Array, logits: jax.Array) -> jax.Array:
    return -jnp.sum(target_probs * jax.nn.log_softmax(logits))


def categorical_td_learning(
    v_atoms_tm1: ArrayLike,
    v_logits_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    v_atoms_t: ArrayLike,
    v_logits_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Categorical (distributional) TD loss for state values.

    The target distribution puts ``softmax(v_logits_t)`` on atoms ``r_t + discount_t *
    v_atoms_t``, projected onto ``v_atoms_tm1``; the loss is its cross-entropy with
    ``softmax(v_logits_tm1)``.

    Args:
      v_atoms_tm1: ``[N]`` support at t-1.
      v_logits_tm1: ``[N]`` logits at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      v_atoms_t: ``[N]`` support at t.
      v_logits_t: ``[N]`` logits at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` cross-entropy loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: if an input is not floating point.

    References:
      Bellemare, Dabney & Munos (2017), A Distributional Perspective on Reinforcement Learning,
      ICML. https://arxiv.org/abs/1707.06887

    Examples:
      >>> atoms = jnp.linspace(-1.0, 1.0, 3)
      >>> print(categorical_td_learning(atoms, jnp.zeros(3), 0.0, 1.0, atoms, jnp.array([0.0, 9.0, 0.0])).round(4))
      1.0986
    """
    fn = "rlax_core.categorical_td_learning"
    checks.check_rank(
        fn,
        v_atoms_tm1=(v_atoms_tm1, 1),
        v_logits_tm1=(v_logits_tm1, 1),
        r_t=(r_t, 0),
        discount_t=(discount_t, 0),
        v_atoms_t=(v_atoms_t, 1),
        v_logits_t=(v_logits_t, 1),
    )
    checks.check_type(
        fn,
        v_atoms_tm1=(v_atoms_tm1, "float"),
        v_logits_tm1=(v_logits_tm1, "float"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        v_atoms_t=(v_atoms_t, "float"),
        v_logits_t=(v_logits_t, "float"),
    )
    checks.check_equal_shape(fn, v_atoms_tm1=v_atoms_tm1, v_logits_tm1=v_logits_tm1)
    checks.check_equal_shape(fn, v_atoms_t=v_atoms_t, v_logits_t=v_logits_t)
    target_z = r_t + discount_t * jnp.asarray(v_atoms_t)
    v_t_probs = jax.nn.softmax(v_logits_t)
    target = _project(jnp.asarray(target_z), v_t_probs, jnp.asarray(v_atoms_tm1))
    target = _stop(target, stop_target_gradients)
    return _cross_entropy(target, jnp.asarray(v_logits_tm1))


def _check_categorical_q(
    fn, q_atoms_tm1, q_logits_tm1, a_tm1, r_t, discount_t, q_atoms_t, q_logits_t
):
    checks.check_rank(
        fn,
        q_atoms_tm1=(q_atoms_tm1, 1),
        q_logits_tm1=(q_logits_tm1, 2),
        a_tm1=(a_tm1, 0),
        r_t=(r_t, 0),
        discount_t=(discount_t, 0),
        q_atoms_t=(q_atoms_t, 1),
        q_logits_t=(q_logits_t, 2),
    )
    checks.check_type(
        fn,
        q_atoms_tm1=(q_atoms_tm1, "float"),
        q_logits_tm1=(q_logits_tm1, "float"),
        a_tm1=(a_tm1, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        q_atoms_t=(q_atoms_t, "float"),
        q_logits_t=(q_logits_t, "float"),
    )
    checks.check_shape(
        fn,
        q_logits_tm1=(q_logits_tm1, (None, jnp.shape(q_atoms_tm1)[0])),
        q_logits_t=(q_logits_t, (jnp.shape(q_logits_tm1)[0], jnp.shape(q_atoms_t)[0])),
    )


def _categorical_q_loss(
    q_atoms_tm1, q_logits_tm1, a_tm1, r_t, discount_t, q_atoms_t, q_logits_t, a_t, stop
):
    q_logits_tm1 = jnp.asarray(q_logits_tm1)
    q_logits_t = jnp.asarray(q_logits_t)
    target_z = r_t + discount_t * jnp.asarray(q_atoms_t)
    p_target_z = jax.nn.softmax(q_logits_t[a_t])
    target = _project(target_z, p_target_z, jnp.asarray(q_atoms_tm1))
    target = _stop(target, stop)
    return _cross_entropy(target, q_logits_tm1[a_tm1])


def categorical_q_learning(
    q_atoms_tm1: ArrayLike,
    q_logits_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_atoms_t: ArrayLike,
    q_logits_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """C51 distributional Q-learning loss (greedy next action by mean value).

    Args:
      q_atoms_tm1: ``[N]`` support at t-1.
      q_logits_tm1: ``[A, N]`` logits at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_atoms_t: ``[N]`` support at t.
      q_logits_t: ``[A, N]`` logits at t.
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` cross-entropy loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Bellemare, Dabney & Munos (2017), A Distributional Perspective on Reinforcement Learning,
      ICML. https://arxiv.org/abs/1707.06887

    Examples:
      >>> atoms = jnp.linspace(-1.0, 1.0, 3)
      >>> print(categorical_q_learning(atoms, jnp.zeros((2, 3)), 0, 0.0, 1.0, atoms, jnp.zeros((2, 3))).round(4))
      1.0986
    """
    fn = "rlax_core.categorical_q_learning"
    _check_categorical_q(
        fn, q_atoms_tm1, q_logits_tm1, a_tm1, r_t, discount_t, q_atoms_t, q_logits_t
    )
    q_t_mean = jnp.sum(jax.nn.softmax(q_logits_t) * jnp.asarray(q_atoms_t)[None, :], axis=-1)
    a_t = jnp.argmax(q_t_mean)
    return _categorical_q_loss(
        q_atoms_tm1,
        q_logits_tm1,
        a_tm1,
        r_t,
        discount_t,
        q_atoms_t,
        q_logits_t,
        a_t,
        stop_target_gradients,
    )


def categorical_double_q_learning(
    q_atoms_tm1: ArrayLike,
    q_logits_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q_atoms_t: ArrayLike,
    q_logits_t: ArrayLike,
    q_t_selector: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Distributional double Q-learning loss: next action ``argmax q_t_selector``.

    Args:
      q_atoms_tm1: ``[N]`` support at t-1.
      q_logits_tm1: ``[A, N]`` logits at t-1.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      q_atoms_t: ``[N]`` support at t.
      q_logits_t: ``[A, N]`` logits at t (evaluation network).
      q_t_selector: ``[A]`` action values at t used to pick the action (online network).
      stop_target_gradients: whether to stop gradients through the target (default True).

    Returns:
      ``[]`` cross-entropy loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Hessel et al. (2018), Rainbow: Combining Improvements in Deep Reinforcement Learning, AAAI.
      https://arxiv.org/abs/1710.02298

    Examples:
      >>> atoms = jnp.linspace(-1.0, 1.0, 3)
      >>> print(categorical_double_q_learning(
      ...     atoms, jnp.zeros((2, 3)), 0, 0.0, 1.0, atoms, jnp.zeros((2, 3)), jnp.array([0.0, 1.0])).round(4))
      1.0986
    """
    fn = "rlax_core.categorical_double_q_learning"
    _check_categorical_q(
        fn, q_atoms_tm1, q_logits_tm1, a_tm1, r_t, discount_t, q_atoms_t, q_logits_t
    )
    checks.check_rank(fn, q_t_selector=(q_t_selector, 1))
    checks.check_type(fn, q_t_selector=(q_t_selector, "float"))
    checks.check_shape(fn, q_t_selector=(q_t_selector, (jnp.shape(q_logits_t)[0],)))
    a_t = jnp.argmax(q_t_selector)
    return _categorical_q_loss(
        q_atoms_tm1,
        q_logits_tm1,
        a_tm1,
        r_t,
        discount_t,
        q_atoms_t,
        q_logits_t,
        a_t,
        stop_target_gradients,
    )


def quantile_regression_loss(
    dist_src: ArrayLike,
    tau_src: ArrayLike,
    dist_target: ArrayLike,
    huber_param: float = 0.0,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """(Huber) quantile-regression loss of source quantiles against target samples.

    With ``u_ij = dist_target[j] - dist_src[i]``, the loss is
    ``sum_i mean_j |tau_src[i] - 1{u_ij < 0}| * rho(u_ij)`` where ``rho`` is ``|u|`` if
    ``huber_param == 0`` else ``huber_loss(u, huber_param)`` (not divided by ``huber_param``).

    Args:
      dist_src: ``[N]`` source quantile values.
      tau_src: ``[N]`` quantile levels of ``dist_src`` in ``(0, 1)``.
      dist_target: ``[M]`` target samples.
      huber_param: Huber threshold; 0 for the plain quantile (pinball) loss.
      stop_target_gradients: whether to stop gradients through ``dist_target`` (default True).

    Returns:
      ``[]`` loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: if an input is not floating point.

    References:
      Dabney et al. (2018), Distributional Reinforcement Learning with Quantile Regression,
      AAAI. https://arxiv.org/abs/1710.10044

    Examples:
      >>> print(quantile_regression_loss(jnp.array([0.0, 1.0]), jnp.array([0.25, 0.75]), jnp.array([0.5])))
      0.25
    """
    fn = "rlax_core.quantile_regression_loss"
    checks.check_rank(
        fn, dist_src=(dist_src, 1), tau_src=(tau_src, 1), dist_target=(dist_target, 1)
    )
    checks.check_type(
        fn,
        dist_src=(dist_src, "float"),
        tau_src=(tau_src, "float"),
        dist_target=(dist_target, "float"),
    )
    checks.check_equal_shape(fn, dist_src=dist_src, tau_src=tau_src)
    return _quantile_loss(
        jnp.asarray(dist_src),
        jnp.asarray(tau_src),
        jnp.asarray(dist_target),
        None,
        huber_param,
        stop_target_gradients,
    )


def _quantile_loss(dist_src, tau_src, targets, target_weights, huber_param, stop):
    """Quantile-regression loss of ``dist_src`` [N] (levels ``tau_src`` [N]) against targets.

    ``targets`` is either ``[M]`` samples of one target distribution (``target_weights`` is
    then ignored), or ``[M, K]``: ``K`` target distributions mixed with ``target_weights`` [K].

    Layout matters on CPU: XLA handles a trailing size-1 or reduced mixture axis badly
    (``[N, M, 1]`` / ``[N, M, K]`` ran 10-30x slower than the same maths in 2-D), so a single
    target stays 2-D ``[N, M]`` and the mixture is laid out ``[N, K, M]`` and contracted
    over ``K`` with a dot.
    """
    targets = _stop(targets, stop)
    if targets.ndim == 1:
        delta = targets[None, :] - dist_src[:, None]  # [N, M]
        tau = tau_src[:, None]
    else:
        delta = jnp.transpose(targets)[None, :, :] - dist_src[:, None, None]  # [N, K, M]
        tau = tau_src[:, None, None]
    below = (delta < 0).astype(delta.dtype)
    weight = jnp.abs(tau - below)
    if huber_param > 0:
        loss = clipping.huber_loss(delta, huber_param)
    else:
        loss = jnp.abs(delta)
    loss = weight * loss
    if targets.ndim > 1:
        loss = jnp.einsum(
            "nkm,k->nm", loss, target_weights, precision=jax.lax.Precision.HIGHEST
        )  # [N, M]
    return jnp.sum(jnp.mean(loss, axis=-1))


def _check_quantile_q(fn, dist_q_tm1, tau_q_tm1, a_tm1, r_t, discount_t, dist_q_t, **extra):
    checks.check_rank(
        fn,
        dist_q_tm1=(dist_q_tm1, 2),
        tau_q_tm1=(tau_q_tm1, 1),
        a_tm1=(a_tm1, 0),
        r_t=(r_t, 0),
        discount_t=(discount_t, 0),
        dist_q_t=(dist_q_t, 2),
        **{k: (v, r) for k, (v, r) in extra.items()},
    )
    checks.check_type(
        fn,
        dist_q_tm1=(dist_q_tm1, "float"),
        tau_q_tm1=(tau_q_tm1, "float"),
        a_tm1=(a_tm1, "int"),
        r_t=(r_t, "float"),
        discount_t=(discount_t, "float"),
        dist_q_t=(dist_q_t, "float"),
        **{k: (v, "float") for k, (v, _) in extra.items()},
    )
    num_actions = jnp.shape(dist_q_tm1)[1]
    checks.check_shape(
        fn,
        tau_q_tm1=(tau_q_tm1, (jnp.shape(dist_q_tm1)[0],)),
        dist_q_t=(dist_q_t, (None, num_actions)),
    )


def quantile_q_learning(
    dist_q_tm1: ArrayLike,
    tau_q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    dist_q_t_selector: ArrayLike,
    dist_q_t: ArrayLike,
    huber_param: float = 0.0,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """QR-DQN quantile Q-learning loss.

    The next action maximises the mean of ``dist_q_t_selector``; the target samples are
    ``r_t + discount_t * dist_q_t[:, a_t]``.

    Args:
      dist_q_tm1: ``[N, A]`` quantiles of Q at t-1.
      tau_q_tm1: ``[N]`` quantile levels.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      dist_q_t_selector: ``[M, A]`` quantiles at t used to pick the action.
      dist_q_t: ``[M, A]`` quantiles at t used as targets.
      huber_param: Huber threshold; 0 for the plain quantile loss.
      stop_target_gradients: whether to stop gradients through the targets (default True).

    Returns:
      ``[]`` loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Dabney et al. (2018), Distributional Reinforcement Learning with Quantile Regression,
      AAAI. https://arxiv.org/abs/1710.10044

    Examples:
      >>> print(quantile_q_learning(jnp.zeros((2, 2)), jnp.array([0.25, 0.75]), 0, 1.0, 0.5, jnp.ones((2, 2)), jnp.ones((2, 2))))
      1.5
    """
    fn = "rlax_core.quantile_q_learning"
    _check_quantile_q(
        fn,
        dist_q_tm1,
        tau_q_tm1,
        a_tm1,
        r_t,
        discount_t,
        dist_q_t,
        dist_q_t_selector=(dist_q_t_selector, 2),
    )
    checks.check_equal_shape(fn, dist_q_t=dist_q_t, dist_q_t_selector=dist_q_t_selector)
    dist_qa_tm1 = jnp.asarray(dist_q_tm1)[:, a_tm1]
    a_t = jnp.argmax(jnp.mean(jnp.asarray(dist_q_t_selector), axis=0))
    dist_qa_t = jnp.asarray(dist_q_t)[:, a_t]
    target = r_t + discount_t * dist_qa_t
    return _quantile_loss(
        dist_qa_tm1,
        jnp.asarray(tau_q_tm1),
        target,
        None,
        huber_param,
        stop_target_gradients,
    )


def quantile_expected_sarsa(
    dist_q_tm1: ArrayLike,
    tau_q_tm1: ArrayLike,
    a_tm1: ArrayLike,
    r_t: ArrayLike,
    discount_t: ArrayLike,
    dist_q_t: ArrayLike,
    probs_a_t: ArrayLike,
    huber_param: float = 0.0,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Quantile expected-SARSA loss: the target is the ``probs_a_t`` mixture over actions.

    Equivalent to ``sum_a probs_a_t[a] * quantile_regression_loss(dist_q_tm1[:, a_tm1],
    tau_q_tm1, r_t + discount_t * dist_q_t[:, a])``.

    Args:
      dist_q_tm1: ``[N, A]`` quantiles of Q at t-1.
      tau_q_tm1: ``[N]`` quantile levels.
      a_tm1: ``[]`` int action taken at t-1.
      r_t: ``[]`` reward.
      discount_t: ``[]`` discount.
      dist_q_t: ``[M, A]`` quantiles at t.
      probs_a_t: ``[A]`` target-policy probabilities at t.
      huber_param: Huber threshold; 0 for the plain quantile loss.
      stop_target_gradients: whether to stop gradients through the targets (default True).

    Returns:
      ``[]`` loss.

    Raises:
      ValueError: on rank or shape mismatch.
      TypeError: on wrong dtypes.

    References:
      Dabney et al. (2018), Distributional Reinforcement Learning with Quantile Regression,
      AAAI. https://arxiv.org/abs/1710.10044

    Examples:
      >>> print(quantile_expected_sarsa(jnp.zeros((2, 2)), jnp.array([0.25, 0.75]), 0, 1.0, 0.5, jnp.ones((2, 2)), jnp.array([0.5, 0.5])))
      1.5
    """
    fn = "rlax_core.quantile_expected_sarsa"
    _check_quantile_q(
        fn, dist_q_tm1, tau_q_tm1, a_tm1, r_t, discount_t, dist_q_t, probs_a_t=(probs_a_t, 1)
    )
    checks.check_shape(fn, probs_a_t=(probs_a_t, (jnp.shape(dist_q_t)[1],)))
    dist_qa_tm1 = jnp.asarray(dist_q_tm1)[:, a_tm1]
    target = r_t + discount_t * jnp.asarray(dist_q_t)  # [M, A]
    probs = _stop(jnp.asarray(probs_a_t), stop_target_gradients)
    return _quantile_loss(
        dist_qa_tm1, jnp.asarray(tau_q_tm1), target, probs, huber_param, stop_target_gradients
    )
