"""Auxiliary cumulants for general value functions (UNREAL-style control tasks)."""

from __future__ import annotations

from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from rlax_core._src import checks
from rlax_core._src.tree_util import ShapeTypeError, checks_raise_assertion_errors


def pixel_control_rewards(observations: ArrayLike, cell_size: int) -> jax.Array:
    """Pixel-control pseudo-rewards: mean absolute pixel change within each cell.

    Args:
      observations: [T+1, H, W, C] observations.
      cell_size: static cell side length; must divide ``H`` and ``W``.

    Returns:
      [T, H // cell_size, W // cell_size] rewards (averaged over cell and channels).

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if the rank is not 4.
      DtypeAssertionError: (a ``TypeError``/``AssertionError``) for non-float observations.
      ShapeTypeError: (a ``ValueError``/``TypeError``) if ``cell_size`` does not divide
        ``H`` and ``W``.

    References:
      Jaderberg et al. (2016), Reinforcement Learning with Unsupervised Auxiliary Tasks
      (UNREAL), https://arxiv.org/abs/1611.05397.

    Examples:
      >>> print(pixel_control_rewards(jnp.stack([jnp.zeros((2, 2, 1)), jnp.ones((2, 2, 1))]), 2))
      [[[1.]]]
    """
    fn = "rlax_core.pixel_control_rewards"
    with checks_raise_assertion_errors():
        checks.check_rank(fn, observations=(observations, 4))
        checks.check_type(fn, observations=(observations, "float"))
    observations = jnp.asarray(observations)
    t1, h, w, c = observations.shape
    if h % cell_size or w % cell_size:
        raise ShapeTypeError(
            f"{fn}: `cell_size` ({cell_size}) must divide H and W, got observations of "
            f"shape {observations.shape}."
        )
    abs_diff = jnp.abs(observations[1:] - observations[:-1])
    cells = jnp.reshape(abs_diff, (t1 - 1, h // cell_size, cell_size, w // cell_size, cell_size, c))
    return jnp.mean(cells, axis=(2, 4, 5))


def feature_control_rewards(
    features: ArrayLike, cumulant_type: str = "absolute_change", discount: ArrayLike | None = None
) -> jax.Array | np.ndarray:
    """Feature-control pseudo-rewards, one per feature.

    ``cumulant_type`` selects the cumulant for ``f = features``:
    ``"feature"``: ``f[1:]``; ``"absolute_change"``: ``|f[1:] - f[:-1]|``;
    ``"increase"``: ``f[1:] - f[:-1]``; ``"decrease"``: ``f[:-1] - f[1:]``;
    ``"potential"``: ``discount * f[1:] - f[:-1]`` (potential-based shaping).

    Args:
      features: [T+1, D] features.
      cumulant_type: one of the names above.
      discount: discount broadcastable to [T, D] (e.g. [], [D] or [T, D]), required for
        ``"potential"``.

    Returns:
      [T, D] rewards. ``"absolute_change"`` returns a JAX array; the other types keep the
      array type of ``features`` (a NumPy input gives a NumPy result of its dtype).

    Raises:
      ShapeAssertionError: (a ``ValueError``/``AssertionError``) if ``features`` is not rank 2.
      DtypeAssertionError: (a ``TypeError``/``AssertionError``) for non-float features.
      ShapeTypeError: (a ``ValueError``/``TypeError``) for ``"potential"`` without a discount.
      ValueError: for an unknown ``cumulant_type``.

    References:
      Jaderberg et al. (2016), Reinforcement Learning with Unsupervised Auxiliary Tasks,
      https://arxiv.org/abs/1611.05397.

    Examples:
      >>> print(feature_control_rewards(jnp.array([[1.0], [3.0], [2.0]]), 'increase'))
      [[ 2.]
       [-1.]]
    """
    fn = "rlax_core.feature_control_rewards"
    with checks_raise_assertion_errors():
        checks.check_rank(fn, features=(features, 2))
        checks.check_type(fn, features=(features, "float"))
    # NumPy input stays NumPy (dtype kept) where only slicing and arithmetic are involved.
    f = cast(
        "jax.Array | np.ndarray", features if hasattr(features, "shape") else jnp.asarray(features)
    )
    if cumulant_type == "feature":
        return f[1:]
    if cumulant_type == "absolute_change":
        return jnp.abs(f[1:] - f[:-1])
    if cumulant_type == "increase":
        return f[1:] - f[:-1]
    if cumulant_type == "decrease":
        return f[:-1] - f[1:]
    if cumulant_type == "potential":
        if discount is None:
            raise ShapeTypeError(f"{fn}: cumulant_type 'potential' needs a `discount`, got None.")
        nxt = f[1:]
        if np.ndim(discount) not in (0, nxt.ndim):
            # Explicit broadcast of e.g. a [D] discount (no implicit rank promotion).
            jax_in = isinstance(discount, jax.Array) or isinstance(nxt, jax.Array)
            discount = (jnp if jax_in else np).broadcast_to(discount, nxt.shape)
        return discount * nxt - f[:-1]
    raise ValueError(
        f"{fn}: Unknown cumulant_type {cumulant_type!r}; expected one of 'feature', "
        "'absolute_change', 'increase', 'decrease', 'potential'."
    )
