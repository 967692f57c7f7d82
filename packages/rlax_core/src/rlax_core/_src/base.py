"""Base utilities shared by the rlax-core losses: one-hot, gathers, masking, sums.

These are small array helpers that the value-learning, policy-gradient and
distributional functions build on. They are pure and work on any leading shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

__all__ = ["AllSum", "batched_index", "lhs_broadcast", "one_hot", "replace_masked"]


def one_hot(indices: ArrayLike, num_classes: int, dtype: DTypeLike = jnp.float32) -> jax.Array:
    """One-hot encodes integer indices.

    Indices outside ``[0, num_classes)`` encode as all-zero vectors.

    Args:
      indices: ``[...]`` integer indices.
      num_classes: static number of classes ``A``.
      dtype: dtype of the result (default float32).

    Returns:
      ``[..., A]`` array with a 1 at each index and 0 elsewhere.

    Examples:
      >>> one_hot(jnp.array([0, 2]), 3).tolist()
      [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return jax.nn.one_hot(indices, num_classes, dtype=dtype)


def batched_index(values: ArrayLike, indices: ArrayLike, keepdims: bool = False) -> jax.Array:
    """Gathers ``values[..., indices]`` along the last axis for every leading index.

    Typical use: the Q-values of the actions taken, ``batched_index(q [B, A], a [B]) -> [B]``.
    Out-of-range indices give NaN for float values (JAX's gather fill value), as upstream.

    Args:
      values: ``[..., A]`` values.
      indices: ``[...]`` integer indices into the last axis of ``values``; same leading shape.
      keepdims: if True the result keeps a trailing axis of size 1.

    Returns:
      ``[...]`` gathered values (``[..., 1]`` if ``keepdims``).

    Raises:
      ValueError: if ``values`` does not have exactly one more dimension than ``indices``.

    Examples:
      >>> batched_index(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([1, 0])).tolist()
      [2.0, 3.0]
    """
    values = jnp.asarray(values)
    indices = jnp.asarray(indices)
    if values.ndim != indices.ndim + 1:
        raise ValueError(
            "rlax_core.batched_index: `values` must have rank rank(`indices`) + 1 = "
            f"{indices.ndim + 1}, got shapes values {values.shape}, indices {indices.shape}."
        )
    if values.shape[:-1] != indices.shape:
        raise ValueError(
            "rlax_core.batched_index: leading shape of `values` must equal the shape of "
            f"`indices`, got values {values.shape}, indices {indices.shape}."
        )
    gathered = jnp.take_along_axis(values, indices[..., None], axis=-1)
    return gathered if keepdims else gathered[..., 0]


def lhs_broadcast(source: ArrayLike, target: ArrayLike) -> jax.Array:
    """Appends trailing unit axes to ``source`` so it broadcasts against ``target`` from the left.

    Args:
      source: ``[B...]`` array whose shape is a prefix of ``target``'s (dims of size 1 allowed).
      target: ``[B..., D...]`` array.

    Returns:
      ``source`` reshaped to ``[B..., 1...]`` with ``target.ndim`` dimensions.

    Raises:
      ValueError: if ``source``'s shape is not compatible with the leading dims of ``target``.

    Examples:
      >>> lhs_broadcast(jnp.ones(3), jnp.ones((3, 4))).shape
      (3, 1)
    """
    source = jnp.asarray(source)
    tshape = np.shape(target)
    ok = source.ndim <= len(tshape) and all(
        s == t or s == 1 for s, t in zip(source.shape, tshape[: source.ndim], strict=True)
    )
    if not ok:
        raise ValueError(
            f"rlax_core.lhs_broadcast: `source` shape {source.shape} is not compatible with "
            f"the leading dims of `target` shape {tshape}."
        )
    return jnp.reshape(source, source.shape + (1,) * (len(tshape) - source.ndim))


def replace_masked(data: ArrayLike, replacement: ArrayLike | None, mask: ArrayLike) -> jax.Array:
    """Replaces the entries of ``data`` where ``mask`` is true (nonzero).

    Args:
      data: ``[B..., D...]`` data.
      replacement: array of ``data``'s shape, or None to replace with zeros.
      mask: ``[B...]`` mask whose shape is a prefix of ``data``'s; nonzero entries are replaced.

    Returns:
      ``[B..., D...]`` array equal to ``replacement`` where ``mask`` and to ``data`` elsewhere.

    Examples:
      >>> replace_masked(jnp.array([1.0, 2.0]), None, jnp.array([1, 0])).tolist()
      [0.0, 2.0]
    """
    data = jnp.asarray(data)
    replacement = jnp.zeros_like(data) if replacement is None else jnp.asarray(replacement)
    return jnp.where(lhs_broadcast(mask, data).astype(bool), replacement, data)


class AllSum:
    """Sums an array, then across devices when built with an ``axis_name``.

    ``AllSum()(x, axis)`` is ``jnp.sum(x, axis)``; ``AllSum("i")(x, axis)`` additionally
    ``psum``-s the result over the named (pmap/vmap/shard_map) axis ``"i"``.

    Args:
      axis_name: optional name of a mapped axis to sum over as well.

    Examples:
      >>> AllSum()(jnp.array([1.0, 2.0])).item()
      3.0
    """

    def __init__(self, axis_name: str | None = None):
        self._axis_name = axis_name

    def __call__(self, x: ArrayLike, axis: int | Sequence[int] | None = None) -> jax.Array:
        """Sums ``x`` over ``axis`` (all axes if None), then over ``axis_name`` if set.

        Args:
          x: array of any shape.
          axis: axis or axes to sum over locally; None sums everything.

        Returns:
          The (all-)reduced sum.
        """
        axis = tuple(axis) if isinstance(axis, Sequence) else axis
        s = jnp.sum(x, axis=axis)
        if self._axis_name is not None:
            s = jax.lax.psum(s, axis_name=self._axis_name)
        return s
