"""Pooling: ``max_pool``, ``avg_pool`` and their module forms ``MaxPool``, ``AvgPool``.

Window conventions (as dm-haiku):

* A sequence ``window_shape`` / ``strides`` covers the trailing axes of the input;
  when it is shorter than the input rank, the missing leading axes (batch axes)
  get size/stride 1. So ``(2, 2, 1)`` works for both ``[H, W, C]`` and
  ``[B, H, W, C]`` inputs, and under ``vmap``.
* An ``int`` (other than 1) is deprecated: it is applied to every axis except the
  first (assumed batch) and ``channel_axis``, which get 1, and a
  ``DeprecationWarning`` is issued, because under ``vmap`` the batch axis is not
  visible and the inferred window would be wrong. ``channel_axis=None`` (or 0,
  which dm-haiku treats the same way) pools over every non-leading axis.

``avg_pool`` with ``"SAME"`` padding averages only over the real (non-padded)
entries of each window.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import module as hk_module

__all__ = ["AvgPool", "MaxPool", "avg_pool", "max_pool"]

_INT_WINDOW_WARNING = (
    "Passing an `int` (other than 1) as `window_shape` or `strides` to hk.max_pool / "
    "hk.avg_pool is deprecated: the window is then inferred assuming axis 0 is the batch "
    "axis, which is wrong under vmap (the batch axis is not visible). Pass a sequence "
    "covering the unbatched input instead, e.g. window_shape=(3, 3, 1) for [H, W, C] "
    "images; leading batch axes are then padded with 1 automatically."
)


def _warn_if_int(window_shape: int | Sequence[int], strides: int | Sequence[int]) -> None:
    if any(isinstance(x, int) and x != 1 for x in (window_shape, strides)):
        warnings.warn(_INT_WINDOW_WARNING, DeprecationWarning, stacklevel=3)


def _infer_shape(
    where: str,
    arg: str,
    x: jax.Array,
    size: int | Sequence[int],
    channel_axis: int | None,
) -> tuple[int, ...]:
    """Full-rank window/stride tuple for ``x`` (see the module docstring)."""
    if isinstance(size, (int, np.integer)):
        if channel_axis and not 0 <= abs(channel_axis) < x.ndim:
            raise ValueError(
                f"{where}: `channel_axis` {channel_axis} is out of range for `value` of shape "
                f"{x.shape} (an int `{arg}` needs a channel axis in "
                f"[-{x.ndim - 1}, {x.ndim - 1}]; pass channel_axis=None if there is none)."
            )
        if channel_axis and channel_axis < 0:
            channel_axis = x.ndim + channel_axis
        return (1, *(1 if d == channel_axis else int(size) for d in range(1, x.ndim)))
    size = tuple(int(s) for s in size)
    if len(size) > x.ndim:
        raise ValueError(
            f"{where}: `{arg}` {size} has more entries ({len(size)}) than `value` has "
            f"axes (shape {x.shape})."
        )
    return (1,) * (x.ndim - len(size)) + size


def _check_padding(where: str, padding: str) -> None:
    if padding not in ("SAME", "VALID"):
        raise ValueError(f"{where}: `padding` must be 'SAME' or 'VALID', got {padding!r}.")


def max_pool(
    value: jax.typing.ArrayLike,
    window_shape: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str,
    channel_axis: int | None = -1,
) -> jax.Array:
    """Max pooling.

    Args:
      value: array ``[..., *spatial, C]`` (any rank >= 1).
      window_shape: window size per trailing axis (see the module docstring).
      strides: stride per trailing axis.
      padding: ``"SAME"`` or ``"VALID"``.
      channel_axis: axis excluded from pooling when ``window_shape``/``strides`` is an
        int; ``None`` for none.

    Returns:
      Pooled array of ``value``'s dtype.

    Raises:
      ValueError: for an unknown padding, an invalid channel axis, or a window with
        more entries than ``value`` has axes.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.max_pool(jnp.ones([2, 4, 4, 3]), (2, 2, 1), (2, 2, 1), "VALID").shape
    (2, 2, 2, 3)
    """
    where = "haiku_core.max_pool"
    _check_padding(where, padding)
    _warn_if_int(window_shape, strides)
    value = jnp.asarray(value)
    window = _infer_shape(where, "window_shape", value, window_shape, channel_axis)
    stride = _infer_shape(where, "strides", value, strides, channel_axis)
    if jnp.issubdtype(value.dtype, jnp.inexact):
        init = -jnp.inf
    elif value.dtype == jnp.bool_:
        init = False
    else:
        init = jnp.iinfo(value.dtype).min
    # A host constant, not a jax.Array: reduce_window is only differentiable under jit when
    # its init value is a literal (a traced init breaks linearization).
    init_value = np.array(init, dtype=value.dtype)
    return jax.lax.reduce_window(value, init_value, jax.lax.max, window, stride, padding)


def avg_pool(
    value: jax.typing.ArrayLike,
    window_shape: int | Sequence[int],
    strides: int | Sequence[int],
    padding: str,
    channel_axis: int | None = -1,
) -> jax.Array:
    """Average pooling.

    With ``"SAME"`` padding each output is the mean of the real input entries in its
    window (padding is not counted). Integer inputs give a float result.

    Args:
      value: array ``[..., *spatial, C]`` (any rank >= 1).
      window_shape: window size per trailing axis (see the module docstring).
      strides: stride per trailing axis.
      padding: ``"SAME"`` or ``"VALID"``.
      channel_axis: axis excluded from pooling when ``window_shape``/``strides`` is an
        int; ``None`` for none.

    Returns:
      Pooled array.

    Raises:
      ValueError: for an unknown padding, an invalid channel axis, or a window with
        more entries than ``value`` has axes.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.avg_pool(jnp.ones([2, 4, 4, 3]), (2, 2, 1), (2, 2, 1), "SAME").shape
    (2, 2, 2, 3)
    """
    where = "haiku_core.avg_pool"
    _check_padding(where, padding)
    _warn_if_int(window_shape, strides)
    value = jnp.asarray(value)
    window = _infer_shape(where, "window_shape", value, window_shape, channel_axis)
    stride = _infer_shape(where, "strides", value, strides, channel_axis)
    zero = jnp.zeros((), value.dtype)
    pooled = jax.lax.reduce_window(value, zero, jax.lax.add, window, stride, padding)
    if padding == "VALID":
        return pooled / math.prod(window)
    counts = jax.lax.reduce_window(jnp.ones_like(value), zero, jax.lax.add, window, stride, padding)
    return pooled / counts


class MaxPool(hk_module.Module):
    """Module form of :func:`max_pool` (no parameters).

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.MaxPool((2, 2, 1), (2, 2, 1), "VALID")(x))
    >>> f.apply({}, None, jnp.ones([1, 4, 4, 3])).shape
    (1, 2, 2, 3)
    """

    def __init__(
        self,
        window_shape: int | Sequence[int],
        strides: int | Sequence[int],
        padding: str,
        channel_axis: int | None = -1,
        name: str | None = None,
    ):
        """Constructs a MaxPool module.

        Args:
          window_shape: see :func:`max_pool`.
          strides: see :func:`max_pool`.
          padding: ``"SAME"`` or ``"VALID"``.
          channel_axis: see :func:`max_pool`.
          name: module name; default ``max_pool``.
        """
        super().__init__(name=name)
        self.window_shape = window_shape
        self.strides = strides
        self.padding = padding
        self.channel_axis = channel_axis

    def __call__(self, value: jax.typing.ArrayLike) -> jax.Array:
        """Max-pools ``value`` (see :func:`max_pool`)."""
        return max_pool(value, self.window_shape, self.strides, self.padding, self.channel_axis)


class AvgPool(hk_module.Module):
    """Module form of :func:`avg_pool` (no parameters).

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.AvgPool((2, 2, 1), (2, 2, 1), "VALID")(x))
    >>> f.apply({}, None, jnp.ones([1, 4, 4, 3])).shape
    (1, 2, 2, 3)
    """

    def __init__(
        self,
        window_shape: int | Sequence[int],
        strides: int | Sequence[int],
        padding: str,
        channel_axis: int | None = -1,
        name: str | None = None,
    ):
        """Constructs an AvgPool module.

        Args:
          window_shape: see :func:`avg_pool`.
          strides: see :func:`avg_pool`.
          padding: ``"SAME"`` or ``"VALID"``.
          channel_axis: see :func:`avg_pool`.
          name: module name; default ``avg_pool``.
        """
        super().__init__(name=name)
        self.window_shape = window_shape
        self.strides = strides
        self.padding = padding
        self.channel_axis = channel_axis

    def __call__(self, value: jax.typing.ArrayLike) -> jax.Array:
        """Average-pools ``value`` (see :func:`avg_pool`)."""
        return avg_pool(value, self.window_shape, self.strides, self.padding, self.channel_axis)
