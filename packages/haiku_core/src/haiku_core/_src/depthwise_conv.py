"""Depthwise convolutions: DepthwiseConv1D/2D/3D and SeparableDepthwiseConv2D.

A depthwise convolution convolves every input channel separately with
``channel_multiplier`` filters (``feature_group_count = C_in``), giving
``C_in * channel_multiplier`` output channels; output channel ``j`` comes from input
channel ``j // channel_multiplier``.

Parameters (as dm-haiku, in the input dtype): ``w`` ``[*kernel, 1, C_in * m]``
(default ``TruncatedNormal(stddev=1/sqrt(prod(kernel)))``) and ``b`` ``[C_in * m]``
(channels last) or ``[C_in * m, 1, ..., 1]`` (channels first), zeros by default.

References:
  Chollet (2017), Xception: Deep Learning with Depthwise Separable Convolutions,
  CVPR. https://arxiv.org/abs/1610.02357
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src.basic import get_weight, where
from haiku_core._src.conv import (
    Padding,
    add_bias,
    check_input_rank,
    dimension_numbers,
    explicit_padding,
    get_channel_index,
    replicate,
)

__all__ = [
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "DepthwiseConv3D",
    "SeparableDepthwiseConv2D",
]

Initializer = Callable[[Sequence[int], Any], jax.Array]


class _DepthwiseConvND(hk_module.Module):
    """Shared implementation of the fixed-rank depthwise convolutions."""

    _num_spatial_dims: int = 0

    def __init__(
        self,
        channel_multiplier: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "channels_last",
        name: str | None = None,
    ):
        super().__init__(name=name)
        n = self._num_spatial_dims
        w = f"haiku_core.{type(self).__name__}"
        self.num_spatial_dims = n
        self.channel_multiplier = channel_multiplier
        self.kernel_shape: tuple[int, ...] = replicate(w, "kernel_shape", kernel_shape, n)
        self.stride: tuple[int, ...] = replicate(w, "stride", stride, n)
        self.rate: tuple[int, ...] = replicate(w, "rate", rate, n)
        self.kernel_dilation: tuple[int, ...] = self.rate
        self.lhs_dilation: tuple[int, ...] = (1,) * n
        self.padding: str | tuple[tuple[int, int], ...] = explicit_padding(
            w, padding, self.kernel_shape, self.rate
        )
        self.with_bias = with_bias
        self.w_init = w_init
        self.b_init: Initializer = b_init or jnp.zeros
        self.data_format = data_format
        self.channel_index: int = get_channel_index(data_format)
        self.dimension_numbers: jax.lax.ConvDimensionNumbers = dimension_numbers(
            n, self.channel_index
        )

    def __call__(self, inputs: jax.typing.ArrayLike) -> jax.Array:
        """Applies the depthwise convolution.

        Args:
          inputs: ``[N, *spatial, C_in]`` (or channels first), or the same without
            ``N``.

        Returns:
          ``[N, *out_spatial, C_in * channel_multiplier]`` (or channels first; without
          ``N`` for an unbatched input).

        Raises:
          ValueError: for an input of the wrong rank or a channel count that
            disagrees with an existing ``w``.
        """
        inputs = jnp.asarray(inputs)
        n = self.num_spatial_dims
        unbatched = check_input_rank(self, inputs, n)
        if unbatched:
            inputs = jnp.expand_dims(inputs, axis=0)
        in_channels = inputs.shape[self.channel_index]
        out_channels = in_channels * self.channel_multiplier
        w_shape = (*self.kernel_shape, 1, out_channels)
        w_init = self.w_init
        if w_init is None:
            w_init = hk_init.TruncatedNormal(stddev=1.0 / math.sqrt(math.prod(self.kernel_shape)))
        w = get_weight(
            self,
            "w",
            w_shape,
            inputs.dtype,
            w_init,
            arg_shape=inputs.shape,
            explain=f" (C_in={in_channels} x channel_multiplier={self.channel_multiplier})",
        )
        out = jax.lax.conv_general_dilated(
            inputs,
            w,
            window_strides=self.stride,
            padding=self.padding,
            lhs_dilation=self.lhs_dilation,
            rhs_dilation=self.kernel_dilation,
            dimension_numbers=self.dimension_numbers,
            feature_group_count=in_channels,
        )
        if self.with_bias:
            out = add_bias(self, out, out_channels, n, inputs.dtype)
        if unbatched:
            out = jnp.squeeze(out, axis=0)
        return out


class DepthwiseConv1D(_DepthwiseConvND):
    """1-D depthwise convolution; ``data_format`` ``"NWC"`` (default) or ``"NCW"``.

    ``w``: ``[k, 1, C_in * m]``; ``b``: ``[C_in * m]``. See the module docstring.
    """

    _num_spatial_dims = 1

    def __init__(
        self,
        channel_multiplier: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NWC",
        name: str | None = None,
    ):
        """Constructs a DepthwiseConv1D module.

        Args:
          channel_multiplier: ``m``, filters per input channel.
          kernel_shape: kernel size (int or length-1 sequence).
          stride: stride.
          rate: kernel dilation rate.
          padding: ``"SAME"``, ``"VALID"``, ``(low, high)`` pair(s) or padding
            function(s) (see ``hk.ConvND``).
          with_bias: whether to add ``b``.
          w_init: initializer for ``w``; default truncated normal, stddev
            ``1/sqrt(prod(kernel))``.
          b_init: initializer for ``b``; default zeros.
          data_format: ``"NWC"`` or ``"NCW"`` (or channels_last/first).
          name: module name; default ``depthwise_conv1_d``.
        """
        super().__init__(
            channel_multiplier,
            kernel_shape,
            stride,
            rate,
            padding,
            with_bias,
            w_init,
            b_init,
            data_format,
            name,
        )


class DepthwiseConv2D(_DepthwiseConvND):
    """2-D depthwise convolution; ``data_format`` ``"NHWC"`` (default) or ``"NCHW"``.

    ``w``: ``[kh, kw, 1, C_in * m]``; ``b``: ``[C_in * m]``. See the module docstring.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.DepthwiseConv2D(2, 3)(x))
    >>> x = jnp.ones([1, 8, 8, 3])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x).shape
    (1, 8, 8, 6)
    """

    _num_spatial_dims = 2

    def __init__(
        self,
        channel_multiplier: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NHWC",
        name: str | None = None,
    ):
        """Constructs a DepthwiseConv2D module.

        Args:
          channel_multiplier: ``m``, filters per input channel.
          kernel_shape: kernel size (int or one per spatial axis).
          stride: stride (int or one per spatial axis).
          rate: kernel dilation rate (int or one per spatial axis).
          padding: ``"SAME"``, ``"VALID"``, ``(low, high)`` pair(s) or padding
            function(s) (see ``hk.ConvND``).
          with_bias: whether to add ``b``.
          w_init: initializer for ``w``; default truncated normal, stddev
            ``1/sqrt(prod(kernel))``.
          b_init: initializer for ``b``; default zeros.
          data_format: ``"NHWC"`` or ``"NCHW"`` (or channels_last/first).
          name: module name; default ``depthwise_conv2_d``.
        """
        super().__init__(
            channel_multiplier,
            kernel_shape,
            stride,
            rate,
            padding,
            with_bias,
            w_init,
            b_init,
            data_format,
            name,
        )


class DepthwiseConv3D(_DepthwiseConvND):
    """3-D depthwise convolution; ``data_format`` ``"NDHWC"`` (default) or ``"NCDHW"``.

    ``w``: ``[kd, kh, kw, 1, C_in * m]``; ``b``: ``[C_in * m]``. See the module docstring.
    """

    _num_spatial_dims = 3

    def __init__(
        self,
        channel_multiplier: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NDHWC",
        name: str | None = None,
    ):
        """Constructs a DepthwiseConv3D module.

        Args:
          channel_multiplier: ``m``, filters per input channel.
          kernel_shape: kernel size (int or one per spatial axis).
          stride: stride (int or one per spatial axis).
          rate: kernel dilation rate (int or one per spatial axis).
          padding: ``"SAME"``, ``"VALID"``, ``(low, high)`` pair(s) or padding
            function(s) (see ``hk.ConvND``).
          with_bias: whether to add ``b``.
          w_init: initializer for ``w``; default truncated normal, stddev
            ``1/sqrt(prod(kernel))``.
          b_init: initializer for ``b``; default zeros.
          data_format: ``"NDHWC"`` or ``"NCDHW"`` (or channels_last/first).
          name: module name; default ``depthwise_conv3_d``.
        """
        super().__init__(
            channel_multiplier,
            kernel_shape,
            stride,
            rate,
            padding,
            with_bias,
            w_init,
            b_init,
            data_format,
            name,
        )


class SeparableDepthwiseConv2D(hk_module.Module):
    """2-D depthwise convolution factored into a ``k_h x 1`` then a ``1 x k_w`` pass.

    Two :class:`DepthwiseConv2D` children are created in ``__init__`` (so they live
    at ``<name>/~/depthwise_conv2_d`` and ``<name>/~/depthwise_conv2_d_1``): the first
    has kernel ``[k_h, 1]``, stride ``[s_h, 1]``, ``channel_multiplier`` and no bias;
    the second has kernel ``[1, k_w]``, stride ``[1, s_w]``, multiplier 1 and the bias.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.SeparableDepthwiseConv2D(2, 3)(x))
    >>> x = jnp.ones([1, 8, 8, 3])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x).shape
    (1, 8, 8, 6)
    """

    def __init__(
        self,
        channel_multiplier: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NHWC",
        name: str | None = None,
    ):
        """Constructs a SeparableDepthwiseConv2D module.

        Args:
          channel_multiplier: ``m``, filters per input channel (first pass).
          kernel_shape: ``(k_h, k_w)`` or an int.
          stride: ``(s_h, s_w)`` or an int.
          padding: padding for both passes (see :class:`DepthwiseConv2D`).
          with_bias: whether the second pass adds ``b``.
          w_init: initializer for both ``w``.
          b_init: initializer for ``b``.
          data_format: ``"NHWC"`` or ``"NCHW"``.
          name: module name; default ``separable_depthwise_conv2_d``.
        """
        super().__init__(name=name)
        w = f"haiku_core.{type(self).__name__}"
        kernel_shape = replicate(w, "kernel_shape", kernel_shape, 2)
        stride = replicate(w, "stride", stride, 2)
        self._conv1 = DepthwiseConv2D(
            channel_multiplier=channel_multiplier,
            kernel_shape=(kernel_shape[0], 1),
            stride=(stride[0], 1),
            padding=padding,
            with_bias=False,
            w_init=w_init,
            data_format=data_format,
        )
        self._conv2 = DepthwiseConv2D(
            channel_multiplier=1,
            kernel_shape=(1, kernel_shape[1]),
            stride=(1, stride[1]),
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
        )

    def __call__(self, inputs: jax.typing.ArrayLike) -> jax.Array:
        """Applies both passes.

        Args:
          inputs: ``[N, H, W, C_in]`` (or ``NCHW``), or unbatched.

        Returns:
          ``[N, H', W', C_in * channel_multiplier]`` (or ``NCHW``).

        Raises:
          ValueError: for an input of the wrong rank (see :class:`DepthwiseConv2D`).
        """
        if jnp.ndim(inputs) not in (3, 4):
            raise ValueError(
                f"{where(self)}: `inputs` must have rank 4 ([N, H, W, C] or [N, C, H, W]) "
                f"or 3 (unbatched), got shape {jnp.shape(inputs)}."
            )
        return self._conv2(self._conv1(inputs))
