"""Per-example normalisation: LayerNorm, InstanceNorm and RMSNorm."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import channel_index
from haiku_core._src.typing import Initializer

__all__ = ["InstanceNorm", "LayerNorm", "RMSNorm"]

AxisSpec = int | Sequence[int] | slice


def to_axes(axis: AxisSpec, ndim: int, owner: str, arg: str = "axis") -> tuple[int, ...]:
    """Normalises an int / sequence / slice axis spec to sorted non-negative axes."""
    if isinstance(axis, slice):
        axes = tuple(range(ndim)[axis])
    elif isinstance(axis, int):
        axes = (axis,)
    elif isinstance(axis, Sequence) and all(isinstance(a, int) for a in axis):
        axes = tuple(axis)
    else:
        raise TypeError(
            f"{owner}: `{arg}` must be an int, a sequence of ints or a slice, got {axis!r}."
        )
    bad = [a for a in axes if not -ndim <= a < ndim]
    if bad:
        raise ValueError(
            f"{owner}: `{arg}`={axis!r} is out of range for `inputs` of rank {ndim}; "
            f"valid axes are {-ndim}..{ndim - 1}."
        )
    return tuple(sorted({a % ndim for a in axes}))


def param_shape(shape: Sequence[int], param_axis: AxisSpec | None, owner: str) -> tuple[int, ...]:
    """Shape of scale/offset: ``[C]`` for the last axis, else broadcast-shaped."""
    ndim = len(shape)
    if param_axis is None:
        if ndim < 1:
            raise ValueError(f"{owner}: `inputs` must have rank >= 1, got a scalar.")
        return (shape[-1],)
    axes = to_axes(param_axis, ndim, owner, "param_axis")
    if axes == (ndim - 1,):
        return (shape[-1],)
    return tuple(shape[i] if i in axes else 1 for i in range(ndim))


def _broadcast_param(p: jax.Array, ndim: int) -> jax.Array:
    # A [C] parameter for the last axis: make the rank explicit (rank-promotion clean).
    if p.ndim == ndim:
        return p
    return jnp.reshape(p, (1,) * (ndim - p.ndim) + p.shape)


class LayerNorm(hk_module.Module):
    """Normalises each example over ``axis`` (mean 0, variance 1), then scales/offsets.

    Parameters ``scale`` (init ones) and ``offset`` (init zeros) have shape
    ``[C]`` (``param_axis`` -1, the default) or, for another ``param_axis``,
    the input shape with every other axis set to 1.

    References:
      Ba, Kiros & Hinton (2016), "Layer Normalization", https://arxiv.org/abs/1607.06450

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x))
    >>> x = jnp.array([[1.0, 3.0]])
    >>> f.apply(f.init(None, x), None, x).round(3).tolist()
    [[-1.0, 1.0]]
    """

    def __init__(
        self,
        axis: int | Sequence[int] | slice,
        create_scale: bool,
        create_offset: bool,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        offset_init: Initializer | None = None,
        use_fast_variance: bool = False,
        name: str | None = None,
        *,
        param_axis: int | Sequence[int] | slice | None = None,
    ):
        """Creates the module.

        Args:
          axis: axis or axes to normalise over (int, sequence of ints or slice).
          create_scale: learn a ``scale`` parameter.
          create_offset: learn an ``offset`` parameter.
          eps: added to the variance before the square root.
          scale_init: initializer for ``scale`` (default ones).
          offset_init: initializer for ``offset`` (default zeros).
          use_fast_variance: compute the variance as ``E[x^2] - E[x]^2`` (one pass,
            less accurate) instead of ``E[(x - E[x])^2]``.
          name: module name; defaults to ``layer_norm`` (``instance_norm`` for
            InstanceNorm).
          param_axis: axes the parameters span (default -1, i.e. ``[C]``).

        Raises:
          ValueError: if an initializer is given for a parameter that is not created.
        """
        super().__init__(name=name)
        owner = f"haiku_core.{type(self).__name__} ({self.module_name})"
        if not create_scale and scale_init is not None:
            raise ValueError(f"{owner}: cannot set `scale_init` if `create_scale=False`.")
        if not create_offset and offset_init is not None:
            raise ValueError(f"{owner}: cannot set `offset_init` if `create_offset=False`.")
        if not isinstance(axis, (int, slice)) and not (
            isinstance(axis, Sequence) and all(isinstance(a, int) for a in axis)
        ):
            raise TypeError(
                f"{owner}: `axis` must be an int, a sequence of ints or a slice, got {axis!r}."
            )
        self.axis = axis if isinstance(axis, (int, slice)) else tuple(axis)
        self.eps = eps
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.scale_init = scale_init or jnp.ones
        self.offset_init = offset_init or jnp.zeros
        self.use_fast_variance = use_fast_variance
        self.param_axis = param_axis

    def __call__(
        self,
        inputs: jax.Array,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[..., C]`` array; ``axis`` must be valid for its rank.
          scale: scale to use when ``create_scale=False`` (same shape as the parameter).
          offset: offset to use when ``create_offset=False``.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ValueError: if ``scale``/``offset`` are passed although they are learned, or
            ``axis``/``param_axis`` do not fit the rank of ``inputs``.
        """
        owner = f"haiku_core.{type(self).__name__} ({self.module_name})"
        if self.create_scale and scale is not None:
            raise ValueError(f"{owner}: cannot pass `scale` at call time if `create_scale=True`.")
        if self.create_offset and offset is not None:
            raise ValueError(f"{owner}: cannot pass `offset` at call time if `create_offset=True`.")
        inputs = jnp.asarray(inputs)
        axes = to_axes(self.axis, inputs.ndim, owner)
        mean = jnp.mean(inputs, axis=axes, keepdims=True)
        if self.use_fast_variance:
            mean_of_squares = jnp.mean(jnp.square(inputs), axis=axes, keepdims=True)
            variance = mean_of_squares - jnp.square(mean)
        else:
            variance = jnp.var(inputs, axis=axes, keepdims=True)

        shape = param_shape(inputs.shape, self.param_axis, owner)
        if self.create_scale:
            scale = base.get_parameter("scale", shape, inputs.dtype, init=self.scale_init)
        if self.create_offset:
            offset = base.get_parameter("offset", shape, inputs.dtype, init=self.offset_init)

        eps = jax.lax.convert_element_type(self.eps, variance.dtype)
        inv = jax.lax.rsqrt(variance + eps)
        if scale is not None:
            inv = inv * _broadcast_param(jnp.asarray(scale), inputs.ndim)
        out = inv * (inputs - mean)
        if offset is not None:
            out = out + _broadcast_param(jnp.asarray(offset), inputs.ndim)
        return out


class InstanceNorm(LayerNorm):
    """Normalises each example and channel over its spatial axes.

    Equivalent to :class:`LayerNorm` over the spatial axes (every axis except
    batch and channel), with ``[C]`` parameters (channels last) or
    ``[1, C, 1, ...]`` parameters (channels first).

    References:
      Ulyanov, Vedaldi & Lempitsky (2016), "Instance Normalization: The Missing
      Ingredient for Fast Stylization", https://arxiv.org/abs/1607.08022

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.InstanceNorm(True, True)(x))
    >>> f.init(None, jnp.ones([2, 4, 4, 3]))["instance_norm"]["scale"].shape
    (3,)
    """

    def __init__(
        self,
        create_scale: bool,
        create_offset: bool,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        offset_init: Initializer | None = None,
        data_format: str = "channels_last",
        name: str | None = None,
    ):
        """Creates the module.

        Args:
          create_scale: learn a ``scale`` parameter.
          create_offset: learn an ``offset`` parameter.
          eps: added to the variance before the square root.
          scale_init: initializer for ``scale`` (default ones).
          offset_init: initializer for ``offset`` (default zeros).
          data_format: ``channels_last`` (default), ``channels_first`` or a layout
            such as ``NHWC`` / ``NCHW``.
          name: module name; defaults to ``instance_norm``.
        """
        cidx = channel_index(data_format, "haiku_core.InstanceNorm")
        if cidx == -1:
            axis, param_axis = slice(1, -1), -1
        else:
            axis, param_axis = slice(2, None), 1
        super().__init__(
            axis=axis,
            create_scale=create_scale,
            create_offset=create_offset,
            eps=eps,
            scale_init=scale_init,
            offset_init=offset_init,
            name=name,
            param_axis=param_axis,
        )
        self.data_format = data_format

    def __call__(
        self,
        inputs: jax.Array,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[B, ..., C]`` (channels last) or ``[B, C, ...]``, rank >= 3.
          scale: scale to use when ``create_scale=False``.
          offset: offset to use when ``create_offset=False``.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ValueError: if ``inputs`` has rank < 3 (no spatial axis).
        """
        if jnp.ndim(inputs) < 3:
            raise ValueError(
                f"haiku_core.InstanceNorm ({self.module_name}): `inputs` must have rank >= 3 "
                f"([B, spatial..., C]), got shape {jnp.shape(inputs)}."
            )
        return super().__call__(inputs, scale=scale, offset=offset)


class RMSNorm(hk_module.Module):
    """Divides by the root mean square over ``axis`` (no mean subtraction), then scales.

    ``out = x * scale / sqrt(mean(x^2 over axis) + eps)``; ``scale`` (init ones)
    is shaped as in :class:`LayerNorm`.

    References:
      Zhang & Sennrich (2019), "Root Mean Square Layer Normalization",
      https://arxiv.org/abs/1910.07467

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.RMSNorm(-1)(x))
    >>> x = jnp.array([[3.0, 4.0]])
    >>> [round(float(v), 3) for v in f.apply(f.init(None, x), None, x)[0]]
    [0.849, 1.131]
    """

    def __init__(
        self,
        axis: int | Sequence[int] | slice,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        name: str | None = None,
        create_scale: bool = True,
        *,
        param_axis: int | Sequence[int] | slice | None = None,
    ):
        """Creates the module.

        Args:
          axis: axis or axes to normalise over.
          eps: added to the mean square before the square root.
          scale_init: initializer for ``scale`` (default ones).
          name: module name; defaults to ``rms_norm``.
          create_scale: learn a ``scale`` parameter.
          param_axis: axes the scale spans (default -1, i.e. ``[C]``).

        Raises:
          ValueError: if ``scale_init`` is given with ``create_scale=False``.
        """
        super().__init__(name=name)
        if not create_scale and scale_init is not None:
            raise ValueError(
                f"haiku_core.RMSNorm ({self.module_name}): cannot set `scale_init` if "
                "`create_scale=False`."
            )
        self.axis = axis if isinstance(axis, (int, slice)) else tuple(axis)
        self.eps = eps
        self.create_scale = create_scale
        self.scale_init = scale_init or jnp.ones
        self.param_axis = param_axis

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[..., C]`` array; ``axis`` must be valid for its rank.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.
        """
        owner = f"haiku_core.RMSNorm ({self.module_name})"
        inputs = jnp.asarray(inputs)
        axes = to_axes(self.axis, inputs.ndim, owner)
        shape = param_shape(inputs.shape, self.param_axis, owner)
        if self.create_scale:
            scale = base.get_parameter("scale", shape, inputs.dtype, init=self.scale_init)
            scale = _broadcast_param(scale, inputs.ndim)
        else:
            scale = 1.0
        mean_squared = jnp.mean(jnp.square(inputs), axis=axes, keepdims=True)
        eps = jax.lax.convert_element_type(self.eps, mean_squared.dtype)
        return inputs * scale * jax.lax.rsqrt(mean_squared + eps)


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    LayerNorm,
    InstanceNorm,
    RMSNorm,
):
    _obj.__module__ = "haiku_core"
del _obj
