"""Elementwise losses (L2, Bernoulli likelihood / log loss, expectile) and pixel control.

All elementwise losses work on arrays of any shape and return the same shape; reduce
(e.g. ``jnp.mean``) yourself.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import checks, value_learning

__all__ = ["expectile_loss", "l2_loss", "likelihood", "log_loss", "pixel_control_loss"]


def l2_loss(predictions: ArrayLike, targets: ArrayLike | None = None) -> jax.Array:
    """Elementwise ``0.5 * (predictions - targets) ** 2``.

    Args:
      predictions: float array of any shape.
      targets: float array broadcastable with ``predictions``, or None for zeros (then
        the loss is ``0.5 * predictions**2``, e.g. for TD errors).

    Returns:
      Array of the broadcast shape of ``predictions`` and ``targets``.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if an input is not floating point.
      ShapeAssertionError: (a ``ValueError``) if the shapes do not broadcast.

    Examples:
      >>> l2_loss(jnp.array([2.0]), jnp.array([1.0])).tolist()
      [0.5]
    """
    fn = "rlax_core.l2_loss"
    if targets is None:
        checks.check_type(fn, predictions=(predictions, "float"))
        targets = jnp.zeros_like(predictions)
    else:
        checks.check_type(fn, predictions=(predictions, "float"), targets=(targets, "float"))
    predictions, targets = checks.broadcast_arrays(fn, predictions=predictions, targets=targets)
    return 0.5 * (predictions - targets) ** 2


def likelihood(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
    """Elementwise Bernoulli likelihood ``p**t * (1 - p)**(1 - t)``.

    For binary targets this is ``p`` where ``t == 1`` and ``1 - p`` where ``t == 0``.

    Args:
      predictions: float array of probabilities ``p`` in ``[0, 1]``, any shape.
      targets: float array of targets ``t`` in ``[0, 1]``, broadcastable with ``predictions``.

    Returns:
      Array of the broadcast shape. Where ``p == t`` with ``t`` in ``{0, 1}`` the value is
      exactly 1.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if an input is not floating point.
      ShapeAssertionError: (a ``ValueError``) if the shapes do not broadcast.

    Examples:
      >>> likelihood(jnp.array([0.25]), jnp.array([0.0])).tolist()
      [0.75]
    """
    fn = "rlax_core.likelihood"
    checks.check_type(fn, predictions=(predictions, "float"), targets=(targets, "float"))
    p, t = checks.broadcast_arrays(fn, predictions=predictions, targets=targets)
    values = jnp.power(p, t) * jnp.power(1.0 - p, 1.0 - t)
    exact = jnp.logical_or(jnp.logical_and(t == 1, p == 1), jnp.logical_and(t == 0, p == 0))
    return jnp.where(exact, jnp.ones((), values.dtype), values)


def log_loss(predictions: ArrayLike, targets: ArrayLike) -> jax.Array:
    """Elementwise binary cross-entropy ``-(t log p + (1 - t) log(1 - p))``.

    Equals ``-log(likelihood(predictions, targets))``; ``0 * log 0`` is taken as 0.

    Args:
      predictions: float array of probabilities ``p`` in ``[0, 1]``, any shape.
      targets: float array of targets ``t`` in ``[0, 1]``, broadcastable with ``predictions``.

    Returns:
      Array of the broadcast shape.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if an input is not floating point.
      ShapeAssertionError: (a ``ValueError``) if the shapes do not broadcast.

    Examples:
      >>> round(log_loss(jnp.array([0.5]), jnp.array([1.0]))[0].item(), 4)
      0.6931
    """
    fn = "rlax_core.log_loss"
    checks.check_type(fn, predictions=(predictions, "float"), targets=(targets, "float"))
    return -jnp.log(likelihood(predictions, targets))


def expectile_loss(predictions: ArrayLike, targets: ArrayLike, expectile: float) -> jax.Array:
    """Elementwise asymmetric squared loss (expectile regression).

    With ``u = targets - predictions``: ``expectile * u**2`` if ``u > 0`` else
    ``(1 - expectile) * u**2``. ``expectile = 0.5`` gives half the squared error.

    Args:
      predictions: float array of any shape.
      targets: float array of the same shape.
      expectile: float in ``[0, 1]``; values above 0.5 penalise under-estimates more.

    Returns:
      Array of the inputs' shape.

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if the shapes differ.

    References:
      Newey & Powell (1987), Asymmetric Least Squares Estimation and Testing, Econometrica 55(4).
      Kostrikov, Nair & Levine (2022), Offline Reinforcement Learning with Implicit Q-Learning,
      ICLR. https://arxiv.org/abs/2110.06169

    Examples:
      >>> expectile_loss(jnp.array([1.0]), jnp.array([3.0]), 0.8).tolist()
      [3.200000047683716]
    """
    fn = "rlax_core.expectile_loss"
    checks.check_equal_shape(fn, predictions=predictions, targets=targets)
    diff = jnp.asarray(targets) - jnp.asarray(predictions)
    # |expectile - 1[diff < 0]|: `expectile` for under-predictions, `1 - expectile` otherwise.
    weight = jnp.abs(expectile - (diff < 0))
    return weight * diff**2


def pixel_control_loss(
    observations: ArrayLike,
    actions: ArrayLike,
    action_values: ArrayLike,
    discount_factor: ArrayLike,
    cell_size: int,
) -> jax.Array:
    """Pixel-control auxiliary loss: Q(lambda=1) learning of per-cell pixel changes.

    The pseudo-reward of cell ``(i, j)`` at step ``t`` is the mean absolute change of the
    observation pixels (and channels) in that ``cell_size x cell_size`` cell between
    ``observations[t]`` and ``observations[t + 1]``. For each cell an independent
    Q(lambda = 1) learner with ``action_values[:-1]`` / ``action_values[1:]`` is trained; the
    loss is ``0.5 * td_error**2`` per step and cell (targets gradient-stopped).

    Args:
      observations: ``[T+1, H, W, C]`` float observations (``H, W`` divisible by ``cell_size``).
      actions: ``[T]`` int actions taken.
      action_values: ``[T+1, H/cell_size, W/cell_size, A]`` float per-cell action values.
      discount_factor: ``[]`` or ``[T]`` float discount.
      cell_size: static size of the square cells.

    Returns:
      ``[T, H/cell_size, W/cell_size]`` per-step, per-cell losses.

    Raises:
      ValueError: on rank / shape mismatch or if ``H``/``W`` is not divisible by ``cell_size``.
      TypeError: on wrong dtypes.

    References:
      Jaderberg et al. (2017), Reinforcement Learning with Unsupervised Auxiliary Tasks, ICLR.
      https://arxiv.org/abs/1611.05397

    Examples:
      >>> print(pixel_control_loss(jnp.zeros((3, 2, 2, 1)), jnp.array([0, 1]), jnp.zeros((3, 1, 1, 2)), 0.9, 2).shape)
      (2, 1, 1)
    """
    fn = "rlax_core.pixel_control_loss"
    checks.check_rank(
        fn,
        observations=(observations, 4),
        actions=(actions, 1),
        action_values=(action_values, 4),
        discount_factor=(discount_factor, {0, 1}),
    )
    checks.check_type(
        fn,
        observations=(observations, "float"),
        actions=(actions, "int"),
        action_values=(action_values, "float"),
        discount_factor=(discount_factor, "float"),
    )
    observations = jnp.asarray(observations)
    action_values = jnp.asarray(action_values)
    t1, h, w, c = observations.shape
    t = t1 - 1
    if h % cell_size or w % cell_size:
        raise ValueError(
            f"{fn}: observation height and width {(h, w)} must be divisible by "
            f"`cell_size` {cell_size}."
        )
    hc, wc = h // cell_size, w // cell_size
    checks.check_shape(
        fn, actions=(actions, (t,)), action_values=(action_values, (t1, hc, wc, None))
    )
    if jnp.ndim(discount_factor) == 1:
        checks.check_shape(fn, discount_factor=(discount_factor, (t,)))
    diff = jnp.abs(observations[1:] - observations[:-1])
    cells = diff.reshape(t, hc, cell_size, wc, cell_size, c)
    pseudo_rewards = jnp.mean(cells, axis=(2, 4, 5))  # [T, H', W']
    discount = jnp.broadcast_to(
        jnp.reshape(jnp.asarray(discount_factor, observations.dtype), (-1,)), (t,)
    ).astype(pseudo_rewards.dtype)
    num_actions = action_values.shape[-1]
    # Move the cells to a leading batch axis: [H'*W', T(+1), ...].
    q = jnp.moveaxis(action_values.reshape(t1, hc * wc, num_actions), 1, 0)
    r = jnp.moveaxis(pseudo_rewards.reshape(t, hc * wc), 1, 0)

    def cell_loss(q_cell: jax.Array, r_cell: jax.Array) -> jax.Array:
        td = value_learning.q_lambda(
            q_cell[:-1], actions, r_cell, discount, q_cell[1:], jnp.asarray(1.0, r_cell.dtype)
        )
        return 0.5 * td**2

    losses = jax.vmap(cell_loss)(q, r)  # [H'*W', T]
    return jnp.moveaxis(losses, 0, 1).reshape(t, hc, wc)
