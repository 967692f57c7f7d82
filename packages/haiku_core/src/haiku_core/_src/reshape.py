"""Reshape and Flatten modules (no parameters)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import module as hk_module
from haiku_core._src.basic import where

__all__ = ["Flatten", "Reshape"]


class ReshapeSizeError(TypeError, ValueError):
    """The trailing axes of a ``Reshape`` input do not fit ``output_shape``.

    A ``TypeError`` (what ``jnp.reshape`` raises for a size mismatch, and so what
    dm-haiku raises) that is also a ``ValueError``.
    """


class Reshape(hk_module.Module):
    """Reshapes the trailing axes of the input to ``output_shape``.

    The first ``preserve_dims`` axes are kept; the rest are reshaped to
    ``output_shape`` (which may contain one ``-1``). A negative ``preserve_dims``
    keeps all but the last ``-preserve_dims`` axes (at least none). With a positive
    ``preserve_dims`` and an input of rank <= ``preserve_dims`` the input is returned
    unchanged.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Reshape((4, -1))(x))
    >>> f.apply({}, None, jnp.ones([2, 3, 4])).shape
    (2, 4, 3)
    """

    def __init__(
        self, output_shape: Sequence[int], preserve_dims: int = 1, name: str | None = None
    ):
        """Constructs a Reshape module.

        Args:
          output_shape: shape of the trailing axes; at most one ``-1``.
          preserve_dims: number of leading axes to keep (non-zero; negative counts
            from the end).
          name: module name; default ``reshape``.

        Raises:
          ValueError: if ``preserve_dims`` is 0 or ``output_shape`` has several -1.
        """
        super().__init__(name=name)
        if preserve_dims == 0:
            raise ValueError(
                f"haiku_core.{type(self).__name__}: `preserve_dims` must be a non-zero "
                f"int (positive keeps leading axes, negative drops trailing ones), got "
                f"{preserve_dims}."
            )
        output_shape = tuple(int(d) for d in output_shape)
        if output_shape.count(-1) > 1:
            raise ValueError(
                f"haiku_core.{type(self).__name__}: `output_shape` may hold at most one "
                f"-1 (inferred axis), got {output_shape}."
            )
        self.output_shape = output_shape
        self.preserve_dims = preserve_dims

    def __call__(self, inputs: jax.typing.ArrayLike) -> jax.Array:
        """Reshapes ``inputs``.

        Args:
          inputs: array ``[*preserved, *rest]``.

        Returns:
          Array ``[*preserved, *output_shape]``.

        Raises:
          ReshapeSizeError: (a ``TypeError`` and ``ValueError``) if ``rest`` cannot be
            reshaped to ``output_shape``.
        """
        inputs = jnp.asarray(inputs)
        if self.preserve_dims > 0:
            if inputs.ndim <= self.preserve_dims:
                return inputs
            keep = self.preserve_dims
        else:
            keep = max(0, inputs.ndim + self.preserve_dims)
        kept, rest = inputs.shape[:keep], inputs.shape[keep:]
        size = math.prod(rest)
        out = list(self.output_shape)
        known = math.prod(d for d in out if d != -1)
        if -1 in out:
            if known == 0 or size % known:
                raise ReshapeSizeError(
                    f"{where(self)}: cannot reshape the trailing axes {tuple(rest)} of "
                    f"`inputs` (shape {inputs.shape}, preserve_dims={self.preserve_dims}) "
                    f"to output_shape {self.output_shape}."
                )
            out[out.index(-1)] = size // known
        elif known != size:
            raise ReshapeSizeError(
                f"{where(self)}: cannot reshape the trailing axes {tuple(rest)} (size "
                f"{size}) of `inputs` (shape {inputs.shape}, preserve_dims="
                f"{self.preserve_dims}) to output_shape {self.output_shape} (size {known})."
            )
        return jnp.reshape(inputs, (*kept, *out))


class Flatten(Reshape):
    """Flattens the input, keeping the first ``preserve_dims`` axes.

    ``Flatten()`` maps ``[B, H, W, C]`` to ``[B, H * W * C]``. Inputs of rank <=
    ``preserve_dims`` are returned unchanged.

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> hk.transform(lambda x: hk.Flatten()(x)).apply({}, None, jnp.ones([2, 3, 4])).shape
    (2, 12)
    """

    def __init__(self, preserve_dims: int = 1, name: str | None = None):
        """Constructs a Flatten module.

        Args:
          preserve_dims: number of leading axes to keep (non-zero; negative counts
            from the end).
          name: module name; default ``flatten``.
        """
        super().__init__(output_shape=(-1,), preserve_dims=preserve_dims, name=name)
