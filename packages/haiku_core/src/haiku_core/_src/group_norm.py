"""Group normalisation (Wu & He, 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import module as hk_module
from haiku_core._src.batch_norm import channel_index
from haiku_core._src.layer_norm import to_axes
from haiku_core._src.typing import Initializer

__all__ = ["GroupNorm"]


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
        axis: int | slice | Sequence[int] = slice(1, None, None),
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
          ValueError: if ``groups`` is not positive or an initializer is given for a
            parameter that is not created.
        """
        super().__init__(name=name)
        owner = f"haiku_core.GroupNorm ({self.module_name})"
        if not isinstance(groups, int) or groups < 1:
            raise ValueError(f"{owner}: `groups` must be a positive int, got {groups!r}.")
        if not create_scale and scale_init is not None:
            raise ValueError(f"{owner}: cannot set `scale_init` if `create_scale=False`.")
        if not create_offset and offset_init is not None:
            raise ValueError(f"{owner}: cannot set `offset_init` if `create_offset=False`.")
        self.groups = groups
        self.axis = axis if isinstance(axis, (int, slice)) else tuple(axis)
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.eps = eps
        self.scale_init = scale_init or jnp.ones
        self.offset_init = offset_init or jnp.zeros
        self.data_format = data_format
        self.channel_index = channel_index(data_format, owner)
        self.rank: int | None = None

    def __call__(
        self,
        x: jax.Array,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``x``.

        Args:
          x: ``[B, ..., C]`` (channels last) or ``[B, C, ...]``, rank >= 2; C must be
            divisible by ``groups``.
          scale: scale to use when ``create_scale=False`` (shaped like the parameter).
          offset: offset to use when ``create_offset=False``.

        Returns:
          The normalised array, same shape and dtype as ``x``.

        Raises:
          ValueError: for rank < 2, a rank different from an earlier call, channels
            not divisible by ``groups``, or ``scale``/``offset`` passed although learned.
        """
        owner = f"haiku_core.GroupNorm ({self.module_name})"
        if self.create_scale and scale is not None:
            raise ValueError(f"{owner}: cannot pass `scale` at call time if `create_scale=True`.")
        if self.create_offset and offset is not None:
            raise ValueError(f"{owner}: cannot pass `offset` at call time if `create_offset=True`.")
        x = jnp.asarray(x)
        ndim = x.ndim
        if ndim < 2:
            raise ValueError(
                f"{owner}: `x` must have rank >= 2 ([B, ..., C]), got shape {x.shape}."
            )
        if self.rank is not None and ndim != self.rank:
            raise ValueError(
                f"{owner}: the rank of `x` cannot change between calls: first call had "
                f"rank {self.rank}, got shape {x.shape}."
            )
        self.rank = ndim
        cidx = self.channel_index % ndim
        channels = x.shape[cidx]
        if channels % self.groups != 0:
            raise ValueError(
                f"{owner}: the number of channels must be divisible by `groups`; got "
                f"channels={channels} (shape {x.shape}) and groups={self.groups}."
            )
        axes = to_axes(self.axis, ndim, owner)

        # Insert the group axis just before the (within-group) channel axis.
        grouped_shape = (
            *x.shape[:cidx],
            self.groups,
            channels // self.groups,
            *x.shape[cidx + 1 :],
        )
        # Original axis a -> new axis: a (< cidx), a + 1 (>= cidx, i.e. the within-group
        # channel axis for a == cidx and everything after it).
        new_axes = tuple(a if a < cidx else a + 1 for a in axes)
        xg = jnp.reshape(x, grouped_shape)
        mean = jnp.mean(xg, axis=new_axes, keepdims=True)
        var = jnp.var(xg, axis=new_axes, keepdims=True)
        eps = jax.lax.convert_element_type(self.eps, var.dtype)
        xg = (xg - mean) * jax.lax.rsqrt(var + eps)
        out = jnp.reshape(xg, x.shape)

        if cidx == ndim - 1:
            pshape: tuple[int, ...] = (channels,)
        else:
            pshape = (channels,) + (1,) * (ndim - cidx - 1)
        if self.create_scale:
            scale = base.get_parameter("scale", pshape, x.dtype, init=self.scale_init)
        if self.create_offset:
            offset = base.get_parameter("offset", pshape, x.dtype, init=self.offset_init)
        if scale is not None:
            scale = jnp.asarray(scale)
            out = out * jnp.reshape(scale, (1,) * (ndim - scale.ndim) + scale.shape)
        if offset is not None:
            offset = jnp.asarray(offset)
            out = out + jnp.reshape(offset, (1,) * (ndim - offset.ndim) + offset.shape)
        return out


# Public objects report their public home (reprs, docs, pickling).
for _obj in (GroupNorm,):
    _obj.__module__ = "haiku_core"
del _obj
