"""Per-example normalisation: LayerNorm, InstanceNorm and RMSNorm."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding
from haiku_core._src.batch_norm import (
    NormAxisError,
    ScalarInputError,
    channel_index,
    init_without_param_error,
    to_rank,
    value_with_param_error,
)
from haiku_core._src.errors import module_prefix
from haiku_core._src.typing import Initializer

__all__ = ["InstanceNorm", "LayerNorm", "RMSNorm"]

AxisSpec = int | Iterable[int] | slice

# When True, a LayerNorm that normalises over anything but the last axis and
# learns a scale or offset must be given `param_axis` explicitly.
ERROR_IF_PARAM_AXIS_NOT_EXPLICIT = False


def canonical_axis_spec(axis: AxisSpec, owner: str, arg: str = "axis") -> slice | tuple[int, ...]:
    """Checks an axis argument at construction time.

    Args:
      axis: an int, a slice, or an iterable whose items are all ints.
      owner: module description used as the error-message prefix.
      arg: the argument name used in the error message.

    Returns:
      A slice unchanged, an int as a 1-tuple, else the items as a tuple.

    Raises:
      ValueError: for anything else (e.g. a string, or an iterable holding a non-int).
    """
    if isinstance(axis, slice):
        return axis
    if isinstance(axis, int):
        return (axis,)
    if isinstance(axis, Iterable):
        items = tuple(axis)
        if all(isinstance(a, int) for a in items):
            return items
    raise ValueError(
        f"{owner}: `{arg}` takes an int, a slice or an iterable of ints; got "
        f"{axis!r} ({type(axis).__name__})."
    )


def resolve_axes(
    spec: slice | tuple[int, ...], ndim: int, owner: str, arg: str = "axis", wrap: bool = False
) -> tuple[int, ...]:
    """Turns a checked axis argument into sorted, distinct, non-negative axes.

    Args:
      spec: output of :func:`canonical_axis_spec`.
      ndim: rank of the input.
      owner: module description used as the error-message prefix.
      arg: the argument name used in the error message.
      wrap: take integer axes modulo ``ndim`` (so any int is accepted) instead of
        requiring ``-ndim <= axis < ndim``.

    Returns:
      The axes as a sorted tuple.

    Raises:
      NormAxisError: (a ValueError and IndexError) if ``wrap`` is False and an
        axis is out of range.
    """
    if isinstance(spec, slice):
        return tuple(range(ndim)[spec])
    items = tuple(spec)
    if not wrap:
        outside = [a for a in items if not -ndim <= a < ndim]
        if outside:
            raise NormAxisError(
                f"{owner}: `{arg}`={spec!r} names axes {outside} that an input of rank "
                f"{ndim} does not have; expected values in [{-ndim}, {ndim})."
            )
    return tuple(sorted({a % ndim for a in items}))


def param_shape(shape: Sequence[int], param_axes: tuple[int, ...]) -> tuple[int, ...]:
    """Shape of a learned scale/offset spanning ``param_axes`` of an input ``shape``.

    Args:
      shape: the input shape.
      param_axes: sorted non-negative axes the parameter spans.

    Returns:
      ``(C,)`` when the parameter spans only the last axis (the compact layout
      checkpoints use), otherwise ``shape`` with every other axis set to 1.
    """
    if param_axes == (len(shape) - 1,):
        return (shape[-1],)
    return tuple(n if a in param_axes else 1 for a, n in enumerate(shape))


def _reject_scalar(inputs: jax.Array, owner: str) -> None:
    if inputs.ndim == 0:
        raise ScalarInputError(
            f"{owner}: `inputs` must have at least one axis to normalise over and to hold "
            "the parameters; got a rank-0 array."
        )


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
        axis: AxisSpec,
        create_scale: bool,
        create_offset: bool,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        offset_init: Initializer | None = None,
        use_fast_variance: bool = False,
        name: str | None = None,
        *,
        param_axis: AxisSpec | None = None,
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
          ValueError: if an initializer is given for a parameter that is not created,
            or ``axis`` / ``param_axis`` is not an int, slice or iterable of ints.
        """
        super().__init__(name=name)
        owner = module_prefix(self)
        if scale_init is not None and not create_scale:
            raise init_without_param_error(owner, "scale_init", "create_scale")
        if offset_init is not None and not create_offset:
            raise init_without_param_error(owner, "offset_init", "create_offset")
        self.axis: slice | tuple[int, ...] = canonical_axis_spec(axis, owner)
        self.eps = eps
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.scale_init: Initializer = scale_init or jnp.ones
        self.offset_init: Initializer = offset_init or jnp.zeros
        self.use_fast_variance = use_fast_variance
        self._param_axis_given = param_axis is not None
        self.param_axis: slice | tuple[int, ...] = (
            (-1,) if param_axis is None else canonical_axis_spec(param_axis, owner, "param_axis")
        )

    def __call__(
        self,
        inputs: jax.Array,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[..., C]`` array of rank >= 1. Integer axes in ``axis`` and
            ``param_axis`` are taken modulo the rank.
          scale: scale to use when ``create_scale=False``, broadcastable to
            ``inputs`` (missing leading axes are added).
          offset: offset to use when ``create_offset=False``, likewise.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ValueError: if ``scale``/``offset`` are passed although they are learned,
            or (with ``ERROR_IF_PARAM_AXIS_NOT_EXPLICIT``) parameters are learned
            for a non-final ``axis`` without an explicit ``param_axis``.
          ScalarInputError: (a ValueError and ZeroDivisionError) for a rank-0 input.
        """
        owner = module_prefix(self)
        if scale is not None and self.create_scale:
            raise value_with_param_error(owner, "scale", "create_scale")
        if offset is not None and self.create_offset:
            raise value_with_param_error(owner, "offset", "create_offset")
        inputs = jnp.asarray(inputs)
        _reject_scalar(inputs, owner)
        ndim = inputs.ndim
        axes = resolve_axes(self.axis, ndim, owner, wrap=True)
        learns = self.create_scale or self.create_offset
        if (
            ERROR_IF_PARAM_AXIS_NOT_EXPLICIT
            and learns
            and not self._param_axis_given
            and axes != (ndim - 1,)
        ):
            raise ValueError(
                f"{owner}: normalising over axes {axes} of a rank-{ndim} input (not just the "
                "last axis) leaves the parameter layout ambiguous; pass `param_axis` "
                "explicitly in the ctor."
            )

        centre = jnp.mean(inputs, axis=axes, keepdims=True)
        if self.use_fast_variance:
            spread = jnp.mean(jnp.square(inputs), axis=axes, keepdims=True) - jnp.square(centre)
        else:
            spread = jnp.var(inputs, axis=axes, keepdims=True)

        shape = param_shape(inputs.shape, resolve_axes(self.param_axis, ndim, owner, wrap=True))
        if self.create_scale:
            scale = base.get_parameter("scale", shape, inputs.dtype, init=self.scale_init)
            hk_sharding.default_axes("scale", hk_sharding.channel_axes(len(shape), "embed"))
        if self.create_offset:
            offset = base.get_parameter("offset", shape, inputs.dtype, init=self.offset_init)
            hk_sharding.default_axes("offset", hk_sharding.channel_axes(len(shape), "embed"))

        eps = jax.lax.convert_element_type(self.eps, spread.dtype)
        factor = jax.lax.rsqrt(spread + eps)
        if scale is not None:
            factor = to_rank(scale, ndim) * factor
        out = factor * (inputs - centre)
        if offset is not None:
            out = out + to_rank(offset, ndim)
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
          inputs: ``[B, ..., C]`` (channels last) or ``[B, C, ...]``. Without a
            spatial axis (rank <= 2) there is nothing to reduce and the output is
            ``offset``.
          scale: scale to use when ``create_scale=False``.
          offset: offset to use when ``create_offset=False``.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ScalarInputError: (a ValueError and ZeroDivisionError) for a rank-0 input.
        """
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
        axis: AxisSpec,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        name: str | None = None,
        create_scale: bool = True,
        *,
        param_axis: AxisSpec | None = None,
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
          ValueError: if ``scale_init`` is given with ``create_scale=False``, or
            ``axis`` / ``param_axis`` is not an int, slice or iterable of ints.
        """
        super().__init__(name=name)
        owner = module_prefix(self)
        if scale_init is not None and not create_scale:
            raise init_without_param_error(owner, "scale_init", "create_scale")
        self.axis: slice | tuple[int, ...] = canonical_axis_spec(axis, owner)
        self.eps = eps
        self.create_scale = create_scale
        self.scale_init: Initializer = scale_init or jnp.ones
        self.param_axis: slice | tuple[int, ...] = (
            (-1,) if param_axis is None else canonical_axis_spec(param_axis, owner, "param_axis")
        )

    def __call__(self, inputs: jax.Array) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[..., C]`` array of rank >= 1; ``axis`` must name axes it has.

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          NormAxisError: (a ValueError and IndexError) if ``axis`` is out of range.
          ScalarInputError: (a ValueError and ZeroDivisionError) for a rank-0 input.
        """
        owner = module_prefix(self)
        inputs = jnp.asarray(inputs)
        _reject_scalar(inputs, owner)
        ndim = inputs.ndim
        axes = resolve_axes(self.axis, ndim, owner)
        shape = param_shape(inputs.shape, resolve_axes(self.param_axis, ndim, owner, wrap=True))
        gain = (
            to_rank(base.get_parameter("scale", shape, inputs.dtype, init=self.scale_init), ndim)
            if self.create_scale
            else 1.0
        )
        if self.create_scale:
            hk_sharding.default_axes("scale", hk_sharding.channel_axes(len(shape), "embed"))
        ms = jnp.mean(jnp.square(inputs), axis=axes, keepdims=True)
        eps = jax.lax.convert_element_type(self.eps, ms.dtype)
        return inputs * gain * jax.lax.rsqrt(ms + eps)


# Public objects report their public home (reprs, docs, pickling).
for _obj in (
    LayerNorm,
    InstanceNorm,
    RMSNorm,
):
    _obj.__module__ = "haiku_core"
del _obj
