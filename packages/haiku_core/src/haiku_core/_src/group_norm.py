"""Group normalisation (Wu & He, 2018)."""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import (
    NormAxisError,
    channel_index,
    init_without_param_error,
    to_rank,
    value_with_param_error,
)
from haiku_core._src.errors import module_prefix
from haiku_core._src.layer_norm import AxisSpec, canonical_axis_spec, resolve_axes
from haiku_core._src.typing import Initializer

__all__ = ["GroupNorm", "InvalidGroupsError"]


class InvalidGroupsError(ValueError, TypeError, ZeroDivisionError):
    """``GroupNorm`` was asked for a number of groups that is not a positive integer.

    Subclasses :class:`ValueError`, :class:`TypeError` and :class:`ZeroDivisionError`
    so that handlers written for any of the errors such a count can otherwise
    trigger (a bad reshape, a modulo by zero) still catch it.
    """


class GroupNorm(hk_module.Module):
    """Splits the channels into ``groups`` and normalises each group over ``axis``.

    The channel axis is reshaped to ``[groups, C // groups]``; mean and variance
    are taken over the (non-batch) ``axis`` axes, where the channel axis stands
    for the within-group channels. Parameters ``scale`` (ones) and ``offset``
    (zeros) are ``[C]`` (channels last) or ``[C, 1, ..., 1]`` (channels first).

    References:
      Wu & He (2018), "Group Normalization", https://arxiv.org/abs/1803.08494

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.GroupNorm(2)(x))
    >>> f.init(None, jnp.ones([2, 4, 4, 6]))["group_norm"]["scale"].shape
    (6,)
    """

    def __init__(
        self,
        groups: int,
        axis: AxisSpec = slice(1, None, None),
        create_scale: bool = True,
        create_offset: bool = True,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        offset_init: Initializer | None = None,
        data_format: str = "channels_last",
        name: str | None = None,
    ):
        """Creates the module.

        Args:
          groups: number of channel groups; must divide the channel count.
          axis: axes to normalise over (default every axis but the batch axis); the
            channel axis, if included, means the channels within a group.
          create_scale: learn a ``scale`` parameter.
          create_offset: learn an ``offset`` parameter.
          eps: added to the variance before the square root.
          scale_init: initializer for ``scale`` (default ones).
          offset_init: initializer for ``offset`` (default zeros).
          data_format: ``channels_last`` (default), ``channels_first`` or a layout
            such as ``NHWC`` / ``NCHW``.
          name: module name; defaults to ``group_norm``.

        Raises:
          ValueError: if an initializer is given for a parameter that is not created,
            or ``axis`` is not an int, slice or iterable of ints.
        """
        super().__init__(name=name)
        owner = module_prefix(self)
        if scale_init is not None and not create_scale:
            raise init_without_param_error(owner, "scale_init", "create_scale")
        if offset_init is not None and not create_offset:
            raise init_without_param_error(owner, "offset_init", "create_offset")
        self.groups = groups
        self.axis: slice | tuple[int, ...] = canonical_axis_spec(axis, owner)
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.eps = eps
        self.scale_init: Initializer = scale_init or jnp.ones
        self.offset_init: Initializer = offset_init or jnp.zeros
        self.data_format = data_format
        self.channel_index: int = channel_index(data_format, owner)
        self.rank: int | None = None

    def __call__(
        self,
        x: jax.Array,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``x``.

        Args:
          x: ``[B, ..., C]`` (channels last) or ``[B, C, ...]``; C must be
            divisible by ``groups``. The rank must stay the same across calls.
          scale: scale to use when ``create_scale=False`` (shaped like the parameter).
          offset: offset to use when ``create_offset=False``.

        Returns:
          The normalised array, same shape and dtype as ``x``.

        Raises:
          ValueError: for a rank different from an earlier call, channels not
            divisible by ``groups``, or ``scale``/``offset`` passed although learned.
          InvalidGroupsError: if ``groups`` is not a positive integer.
          NormAxisError: (a ValueError and IndexError) if ``x`` lacks the channel
            axis or an axis named in ``axis``.
        """
        owner = module_prefix(self)
        x = jnp.asarray(x)
        ndim = x.ndim
        if self.rank is not None and ndim != self.rank:
            raise ValueError(
                f"{owner}: this module was first applied to a rank-{self.rank} input and "
                f"keeps that rank; got `x` of shape {x.shape} (rank {ndim})."
            )
        if scale is not None and self.create_scale:
            raise value_with_param_error(owner, "scale", "create_scale")
        if offset is not None and self.create_offset:
            raise value_with_param_error(owner, "offset", "create_offset")
        c_axis = self.channel_index + ndim if self.channel_index < 0 else self.channel_index
        if not 0 <= c_axis < ndim:
            raise NormAxisError(
                f"{owner}: `data_format`={self.data_format!r} puts the channels on axis "
                f"{self.channel_index}, which `x` of shape {x.shape} does not have."
            )
        channels = x.shape[c_axis]
        groups = self._group_count(owner)
        if channels % groups:
            raise ValueError(
                f"{owner}: {channels} channels (axis {c_axis} of `x` with shape {x.shape}) "
                f"cannot be split into `groups`={groups} equal groups."
            )
        reduce_axes = resolve_axes(self.axis, ndim, owner)
        self.rank = ndim

        # Split the channel axis c into [groups, channels // groups]; original axes
        # after c move one place right, and c itself becomes the within-group axis.
        split_shape = (*x.shape[:c_axis], groups, channels // groups, *x.shape[c_axis + 1 :])
        split_axes = tuple(a + (a >= c_axis) for a in reduce_axes)
        grouped = jnp.reshape(x, split_shape)
        centre = jnp.mean(grouped, axis=split_axes, keepdims=True)
        spread = jnp.var(grouped, axis=split_axes, keepdims=True)
        eps = jax.lax.convert_element_type(self.eps, spread.dtype)
        out = jnp.reshape((grouped - centre) * jax.lax.rsqrt(spread + eps), x.shape)

        # Parameters are [C] (channels last) or [C, 1, ..., 1] (channels first).
        pshape = (channels,) + (1,) * (ndim - c_axis - 1)
        if self.create_scale:
            scale = base.get_parameter("scale", pshape, x.dtype, init=self.scale_init)
        if self.create_offset:
            offset = base.get_parameter("offset", pshape, x.dtype, init=self.offset_init)
        if scale is not None:
            out = out * to_rank(scale, ndim)
        if offset is not None:
            out = out + to_rank(offset, ndim)
        return out

    def _group_count(self, owner: str) -> int:
        try:
            groups = operator.index(self.groups)
        except TypeError:
            groups = None
        if groups is None or groups < 1:
            raise InvalidGroupsError(
                f"{owner}: `groups` must be a positive integer, got {self.groups!r}."
            )
        return groups


# Public objects report their public home (reprs, docs, pickling).
for _obj in (GroupNorm,):
    _obj.__module__ = "haiku_core"
del _obj
