"""Off-policy actor-critic losses and targets: Soft Actor-Critic (continuous and discrete) and TD3.

Every function here is elementwise over any leading batch shape: inputs broadcast
together with NumPy rules (explicitly, so ``JAX_NUMPY_RANK_PROMOTION=raise`` is fine)
and the result has the broadcast shape. The discrete-action functions take an extra
trailing action axis ``[..., A]`` and reduce it.

Gradient conventions (each documented per function):

* targets (``sac_soft_q_target``, ``sac_discrete_soft_value``,
  ``td3_clipped_double_q_target``) stop their gradient when ``stop_target_gradients``;
* the temperature ``alpha`` is a constant in the actor losses;
* the temperature losses only differentiate ``log_alpha``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks

__all__ = [
    "sac_actor_loss",
    "sac_discrete_actor_loss",
    "sac_discrete_soft_value",
    "sac_discrete_temperature_loss",
    "sac_soft_q_target",
    "sac_temperature_loss",
    "td3_clipped_double_q_target",
    "td3_target_policy_smoothing",
]


def _maybe_stop(x: jax.Array, stop: bool) -> jax.Array:
    return jax.lax.stop_gradient(x) if stop else x


def _check_has_action_axis(fn: str, **arrays: ArrayLike) -> None:
    """Checks that every array has rank >= 1 and that all share the size of their last axis."""
    sizes: dict[str, int] = {}
    for name, x in arrays.items():
        shape = jnp.shape(x)
        if len(shape) < 1:
            raise checks.ShapeAssertionError(
                f"{fn}: `{name}` must have rank >= 1 with the actions on its last axis "
                f"[..., A], got shape {shape}."
            )
        sizes[name] = shape[-1]
    if len(set(sizes.values())) > 1:
        desc = ", ".join(f"`{n}` {jnp.shape(x)}" for n, x in arrays.items())
        raise checks.ShapeAssertionError(
            f"{fn}: the action axis (last) must have the same size in every input, got {desc}."
        )


def _policy_terms(logits: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Returns ``(pi, log_pi)`` of ``softmax(logits)`` with ``log_pi`` set to 0 where ``pi == 0``.

    Masked actions (logit ``-inf``) then contribute exactly 0 to ``sum_a pi * f(log_pi)``
    instead of ``0 * -inf = nan``.
    """
    log_pi = jax.nn.log_softmax(logits, axis=-1)
    pi = jnp.exp(log_pi)
    safe_log_pi = jnp.where(pi > 0, log_pi, jnp.zeros_like(log_pi))
    return pi, safe_log_pi


def _expand_last(x: ArrayLike) -> jax.Array:
    """Appends a unit trailing axis so a per-state quantity broadcasts over actions."""
    x = jnp.asarray(x)
    return jnp.reshape(x, (*x.shape, 1))


def sac_soft_q_target(
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q1_t: ArrayLike,
    q2_t: ArrayLike,
    log_pi_t: ArrayLike,
    alpha: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Soft Bellman target of SAC with clipped double Q (continuous actions).

    ``y = r_t + discount_t * (min(q1_t, q2_t) - alpha * log_pi_t)`` where ``q1_t, q2_t``
    are the two target critics at ``(s_t, a_t)`` with ``a_t ~ pi(. | s_t)`` freshly
    sampled, and ``log_pi_t = log pi(a_t | s_t)``. Regress both critics
    ``Q_i(s_tm1, a_tm1)`` onto ``y``.

    Args:
      r_t: ``[...]`` rewards for the transition into ``s_t``.
      discount_t: ``[...]`` discounts, already ``gamma * (1 - terminal_t)``.
      q1_t: ``[...]`` first target critic at ``(s_t, a_t)``.
      q2_t: ``[...]`` second target critic at ``(s_t, a_t)``.
      log_pi_t: ``[...]`` log-density of ``a_t`` under the current policy.
      alpha: ``[]`` or ``[...]`` entropy temperature (``exp(log_alpha)``).
      stop_target_gradients: stop the gradient through the whole target (default).

    Returns:
      ``[...]`` targets (the broadcast shape of the inputs), floating dtype.

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast.
      DtypeAssertionError: (a ``TypeError``) if a critic or ``log_pi_t`` is not floating point.

    References:
      Haarnoja et al. (2018), Soft Actor-Critic Algorithms and Applications, eq. 3 and
      sec. 5 (clipped double Q), https://arxiv.org/abs/1812.05905.

    Examples:
      >>> y = sac_soft_q_target(1.0, 0.9, jnp.array([2.0]), jnp.array([3.0]), jnp.array([-1.0]), 0.5)
      >>> print([round(float(v), 4) for v in y])
      [3.25]
    """
    fn = "rlax_core.sac_soft_q_target"
    checks.check_type(
        fn,
        r_t=(r_t, "numeric"),
        discount_t=(discount_t, "numeric"),
        q1_t=(q1_t, "float"),
        q2_t=(q2_t, "float"),
        log_pi_t=(log_pi_t, "float"),
        alpha=(alpha, "numeric"),
    )
    r_t, discount_t, q1_t, q2_t, log_pi_t, alpha = checks.broadcast_arrays(
        fn,
        r_t=r_t,
        discount_t=discount_t,
        q1_t=q1_t,
        q2_t=q2_t,
        log_pi_t=log_pi_t,
        alpha=alpha,
    )
    soft_value = jnp.minimum(q1_t, q2_t) - alpha * log_pi_t
    return _maybe_stop(r_t + discount_t * soft_value, stop_target_gradients)


def sac_actor_loss(q1: ArrayLike, q2: ArrayLike, log_pi: ArrayLike, alpha: ArrayLike) -> jax.Array:
    """SAC policy loss for reparameterised continuous actions, per element.

    ``loss = alpha * log_pi - min(q1, q2)`` with ``a = f_phi(eps; s)`` sampled by
    reparameterisation, ``log_pi = log pi_phi(a | s)`` and ``q_i = Q_i(s, a)`` from the
    online critics. Gradients flow into ``q1``, ``q2`` (through the action) and
    ``log_pi``; ``alpha`` is a constant here (its gradient is stopped). Average over the
    batch yourself.

    Args:
      q1: ``[...]`` first critic at the sampled action.
      q2: ``[...]`` second critic at the sampled action.
      log_pi: ``[...]`` log-density of the sampled action.
      alpha: ``[]`` or ``[...]`` entropy temperature.

    Returns:
      ``[...]`` loss per element (broadcast shape of the inputs).

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast.
      DtypeAssertionError: (a ``TypeError``) if ``q1``, ``q2`` or ``log_pi`` is not floating point.

    References:
      Haarnoja et al. (2018), Soft Actor-Critic Algorithms and Applications, eq. 7,
      https://arxiv.org/abs/1812.05905.

    Examples:
      >>> loss = sac_actor_loss(jnp.array([1.0, 2.0]), jnp.array([3.0, 0.5]), jnp.array([-1.0, 0.0]), 0.2)
      >>> print([round(float(v), 4) for v in loss])
      [-1.2, -0.5]
    """
    fn = "rlax_core.sac_actor_loss"
    checks.check_type(
        fn,
        q1=(q1, "float"),
        q2=(q2, "float"),
        log_pi=(log_pi, "float"),
        alpha=(alpha, "numeric"),
    )
    q1, q2, log_pi, alpha = checks.broadcast_arrays(fn, q1=q1, q2=q2, log_pi=log_pi, alpha=alpha)
    alpha = jax.lax.stop_gradient(alpha)
    return alpha * log_pi - jnp.minimum(q1, q2)


def sac_temperature_loss(
    log_alpha: ArrayLike, log_pi: ArrayLike, target_entropy: ArrayLike
) -> jax.Array:
    """SAC automatic-temperature loss, per element.

    ``loss = -log_alpha * stop_gradient(log_pi + target_entropy)``. Minimising it raises
    ``alpha`` when the policy entropy ``E[-log_pi]`` is below ``target_entropy`` and lowers
    it when above. The paper writes the loss in ``alpha``; parameterising by ``log_alpha``
    keeps ``alpha > 0`` and has the same fixed point. A common ``target_entropy`` is
    ``-action_dim``.

    Args:
      log_alpha: ``[]`` or ``[...]`` log of the temperature (the learned parameter).
      log_pi: ``[...]`` log-densities of actions sampled from the current policy.
      target_entropy: ``[]`` or ``[...]`` desired entropy.

    Returns:
      ``[...]`` loss per element (broadcast shape); only ``log_alpha`` receives gradient.

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast.
      DtypeAssertionError: (a ``TypeError``) if ``log_alpha`` or ``log_pi`` is not floating point.

    References:
      Haarnoja et al. (2018), Soft Actor-Critic Algorithms and Applications, eq. 18,
      https://arxiv.org/abs/1812.05905.

    Examples:
      >>> print(round(float(sac_temperature_loss(jnp.log(2.0), jnp.array(1.0), -2.0)), 4))
      0.6931
    """
    fn = "rlax_core.sac_temperature_loss"
    checks.check_type(
        fn,
        log_alpha=(log_alpha, "float"),
        log_pi=(log_pi, "float"),
        target_entropy=(target_entropy, "numeric"),
    )
    log_alpha, log_pi, target_entropy = checks.broadcast_arrays(
        fn, log_alpha=log_alpha, log_pi=log_pi, target_entropy=target_entropy
    )
    return -log_alpha * jax.lax.stop_gradient(log_pi + target_entropy)


def sac_discrete_soft_value(
    q_t: ArrayLike,
    logits_t: ArrayLike,
    alpha: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """Soft state value of discrete SAC: ``V(s_t) = sum_a pi(a|s_t) (q_t[a] - alpha log pi(a|s_t))``.

    ``pi = softmax(logits_t)``. Pass the elementwise minimum of the two target critics
    (or a single critic) as ``q_t``. Build the critic target as ``r_t + discount_t * V``.
    Actions masked with a ``-inf`` logit contribute 0.

    Args:
      q_t: ``[..., A]`` target action values at ``s_t``.
      logits_t: ``[..., A]`` policy logits at ``s_t`` (leading shapes broadcast with ``q_t``).
      alpha: ``[]`` or ``[...]`` entropy temperature, one per state.
      stop_target_gradients: stop the gradient through the value (default).

    Returns:
      ``[...]`` soft values (the action axis is summed out).

    Raises:
      ShapeAssertionError: (a ``ValueError``) if an input has no action axis or the
        action axes differ; ShapeBroadcastError if the leading shapes do not broadcast;
        DtypeAssertionError: (a ``TypeError``) if ``q_t`` or ``logits_t`` is not floating point.

    References:
      Christodoulou (2019), Soft Actor-Critic for Discrete Action Settings, eq. 10,
      https://arxiv.org/abs/1910.07207.

    Examples:
      >>> print(round(float(sac_discrete_soft_value(jnp.array([1.0, 3.0]), jnp.zeros(2), 1.0)), 4))
      2.6931
    """
    fn = "rlax_core.sac_discrete_soft_value"
    checks.check_type(
        fn, q_t=(q_t, "float"), logits_t=(logits_t, "float"), alpha=(alpha, "numeric")
    )
    _check_has_action_axis(fn, q_t=q_t, logits_t=logits_t)
    q_t, logits_t, alpha = checks.broadcast_arrays(
        fn, q_t=q_t, logits_t=logits_t, alpha=_expand_last(alpha)
    )
    pi, log_pi = _policy_terms(logits_t)
    value = jnp.sum(jnp.where(pi > 0, pi * (q_t - alpha * log_pi), 0.0), axis=-1)
    return _maybe_stop(value, stop_target_gradients)


def sac_discrete_actor_loss(q: ArrayLike, logits: ArrayLike, alpha: ArrayLike) -> jax.Array:
    """Discrete SAC policy loss: ``sum_a pi(a|s) (alpha log pi(a|s) - q[a])``.

    ``pi = softmax(logits)``; the expectation over actions is exact, so no
    reparameterisation is needed. Only ``logits`` receives gradient: ``q`` (the online
    critics, e.g. their elementwise minimum) and ``alpha`` are constants here.

    Args:
      q: ``[..., A]`` action values at ``s``.
      logits: ``[..., A]`` policy logits at ``s`` (leading shapes broadcast with ``q``).
      alpha: ``[]`` or ``[...]`` entropy temperature, one per state.

    Returns:
      ``[...]`` loss per state (average over the batch yourself).

    Raises:
      ShapeAssertionError: (a ``ValueError``) if an input has no action axis or the
        action axes differ; ShapeBroadcastError if the leading shapes do not broadcast;
        DtypeAssertionError: (a ``TypeError``) if ``q`` or ``logits`` is not floating point.

    References:
      Christodoulou (2019), Soft Actor-Critic for Discrete Action Settings, eq. 12,
      https://arxiv.org/abs/1910.07207.

    Examples:
      >>> print(round(float(sac_discrete_actor_loss(jnp.array([1.0, 3.0]), jnp.zeros(2), 1.0)), 4))
      -2.6931
    """
    fn = "rlax_core.sac_discrete_actor_loss"
    checks.check_type(fn, q=(q, "float"), logits=(logits, "float"), alpha=(alpha, "numeric"))
    _check_has_action_axis(fn, q=q, logits=logits)
    q, logits, alpha = checks.broadcast_arrays(fn, q=q, logits=logits, alpha=_expand_last(alpha))
    q = jax.lax.stop_gradient(q)
    alpha = jax.lax.stop_gradient(alpha)
    pi, log_pi = _policy_terms(logits)
    return jnp.sum(jnp.where(pi > 0, pi * (alpha * log_pi - q), 0.0), axis=-1)


def sac_discrete_temperature_loss(
    log_alpha: ArrayLike, logits: ArrayLike, target_entropy: ArrayLike
) -> jax.Array:
    """Discrete SAC temperature loss: ``-log_alpha * stop_gradient(sum_a pi log pi + target_entropy)``.

    ``sum_a pi log pi`` is minus the exact policy entropy, so minimising the loss raises
    ``alpha`` while the entropy is below ``target_entropy``. Christodoulou suggests
    ``target_entropy = 0.98 * log(A)``.

    Args:
      log_alpha: ``[]`` or ``[...]`` log of the temperature (the learned parameter).
      logits: ``[..., A]`` policy logits.
      target_entropy: ``[]`` or ``[...]`` desired entropy (nats).

    Returns:
      ``[...]`` loss per state; only ``log_alpha`` receives gradient.

    Raises:
      ShapeAssertionError: (a ``ValueError``) if ``logits`` has no action axis;
        ShapeBroadcastError if the shapes do not broadcast; DtypeAssertionError:
        (a ``TypeError``) if ``log_alpha`` or ``logits`` is not floating point.

    References:
      Christodoulou (2019), Soft Actor-Critic for Discrete Action Settings, eq. 11,
      https://arxiv.org/abs/1910.07207.

    Examples:
      >>> print(round(float(sac_discrete_temperature_loss(jnp.log(2.0), jnp.zeros(2), 1.0)), 4))
      -0.2127
    """
    fn = "rlax_core.sac_discrete_temperature_loss"
    checks.check_type(
        fn,
        log_alpha=(log_alpha, "float"),
        logits=(logits, "float"),
        target_entropy=(target_entropy, "numeric"),
    )
    _check_has_action_axis(fn, logits=logits)
    pi, log_pi = _policy_terms(jnp.asarray(logits))
    neg_entropy = jnp.sum(pi * log_pi, axis=-1)
    log_alpha, neg_entropy, target_entropy = checks.broadcast_arrays(
        fn, log_alpha=log_alpha, neg_entropy=neg_entropy, target_entropy=target_entropy
    )
    return -log_alpha * jax.lax.stop_gradient(neg_entropy + target_entropy)


def td3_target_policy_smoothing(
    key: jax.Array,
    a_t: ArrayLike,
    noise_std: ArrayLike = 0.2,
    noise_clip: ArrayLike = 0.5,
    action_min: ArrayLike = -1.0,
    action_max: ArrayLike = 1.0,
) -> jax.Array:
    """TD3 target policy smoothing: ``clip(a_t + clip(eps, -c, c), action_min, action_max)``.

    ``eps ~ N(0, noise_std^2)`` independently per element of ``a_t``; ``c = noise_clip``.
    Apply it to the target actor's action at ``s_t`` before evaluating the target critics.
    The result carries no gradient into ``key``; its gradient w.r.t. ``a_t`` is 1 inside
    the bounds and 0 where clipped.

    Args:
      key: a JAX PRNG key.
      a_t: ``[..., D]`` (any shape) target-policy actions, floating point.
      noise_std: standard deviation of the Gaussian noise (scalar or broadcastable to ``a_t``).
      noise_clip: non-negative half-width of the noise clip (same broadcasting).
      action_min: lower action bound (scalar or broadcastable to ``a_t``, e.g. ``[D]``).
      action_max: upper action bound (same broadcasting).

    Returns:
      Smoothed actions with the shape and dtype of ``a_t``.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``a_t`` is not floating point.
      ShapeAssertionError: (a ``ValueError``) if a bound or noise parameter does not
        broadcast to the shape of ``a_t``.

    References:
      Fujimoto et al. (2018), Addressing Function Approximation Error in Actor-Critic
      Methods, eq. 15, https://arxiv.org/abs/1802.09477.

    Examples:
      >>> a = td3_target_policy_smoothing(jax.random.PRNGKey(0), jnp.array([0.9, -0.9, 0.0]))
      >>> print(a.shape, a.dtype, bool(jnp.all(jnp.abs(a) <= 1.0)))
      (3,) float32 True
    """
    fn = "rlax_core.td3_target_policy_smoothing"
    checks.check_type(fn, a_t=(a_t, "float"))
    a_t = jnp.asarray(a_t)
    params = {
        "noise_std": noise_std,
        "noise_clip": noise_clip,
        "action_min": action_min,
        "action_max": action_max,
    }
    casted: dict[str, jax.Array] = {}
    for name, value in params.items():
        value = jnp.asarray(value, dtype=a_t.dtype)
        try:
            out_shape = jnp.broadcast_shapes(value.shape, a_t.shape)
        except ValueError:
            out_shape = None
        if out_shape != a_t.shape:
            raise checks.ShapeAssertionError(
                f"{fn}: `{name}` must broadcast to the shape of `a_t` {a_t.shape}, "
                f"got shape {value.shape}."
            )
        casted[name] = jnp.broadcast_to(value, a_t.shape)
    noise = casted["noise_std"] * jax.random.normal(key, a_t.shape, a_t.dtype)
    noise = jnp.clip(noise, -casted["noise_clip"], casted["noise_clip"])
    return jnp.clip(a_t + noise, casted["action_min"], casted["action_max"])


def td3_clipped_double_q_target(
    r_t: ArrayLike,
    discount_t: ArrayLike,
    q1_t: ArrayLike,
    q2_t: ArrayLike,
    stop_target_gradients: bool = True,
) -> jax.Array:
    """TD3 clipped double-Q target: ``y = r_t + discount_t * min(q1_t, q2_t)``.

    ``q1_t, q2_t`` are the two target critics at ``(s_t, a~_t)`` with ``a~_t`` the
    smoothed target action (see ``td3_target_policy_smoothing``).

    Args:
      r_t: ``[...]`` rewards.
      discount_t: ``[...]`` discounts, already ``gamma * (1 - terminal_t)``.
      q1_t: ``[...]`` first target critic.
      q2_t: ``[...]`` second target critic.
      stop_target_gradients: stop the gradient through the target (default).

    Returns:
      ``[...]`` targets (broadcast shape of the inputs).

    Raises:
      ShapeBroadcastError: (a ``ValueError``/``TypeError``) if the shapes do not broadcast.
      DtypeAssertionError: (a ``TypeError``) if a critic is not floating point.

    References:
      Fujimoto et al. (2018), Addressing Function Approximation Error in Actor-Critic
      Methods, eq. 10, https://arxiv.org/abs/1802.09477.

    Examples:
      >>> y = td3_clipped_double_q_target(jnp.array([1.0]), jnp.array([0.5]), jnp.array([4.0]), jnp.array([2.0]))
      >>> print([round(float(v), 4) for v in y])
      [2.0]
    """
    fn = "rlax_core.td3_clipped_double_q_target"
    checks.check_type(
        fn,
        r_t=(r_t, "numeric"),
        discount_t=(discount_t, "numeric"),
        q1_t=(q1_t, "float"),
        q2_t=(q2_t, "float"),
    )
    r_t, discount_t, q1_t, q2_t = checks.broadcast_arrays(
        fn, r_t=r_t, discount_t=discount_t, q1_t=q1_t, q2_t=q2_t
    )
    return _maybe_stop(r_t + discount_t * jnp.minimum(q1_t, q2_t), stop_target_gradients)
