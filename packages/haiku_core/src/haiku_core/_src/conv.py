"""Convolutions: ConvND / Conv1D-3D and their transposes, plus ``get_channel_index``.

Parameters (same names, shapes and default initialisers as dm-haiku 0.0.17, created
in the dtype of the input):

* ``ConvND``: ``w`` ``[*kernel, C_in / feature_group_count, C_out]``; ``b`` ``[C_out]``
  (channels last) or ``[C_out, 1, ..., 1]`` (channels first).
* ``ConvNDTranspose``: ``w`` ``[*kernel, C_out, C_in]`` (note: out before in); ``b`` as
  above.

Default ``w_init`` is ``TruncatedNormal(stddev=1/sqrt(fan_in))`` with ``fan_in`` =
``prod(kernel) * C_in / feature_group_count`` (``prod(kernel) * C_in`` for the
transposes); ``b_init`` defaults to zeros.

Inputs are batched ``[N, *spatial, C]`` (or ``[N, C, *spatial]`` with a
channels-first ``data_format``) or unbatched (the same without ``N``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from haiku_core._src import base
from haiku_core._src import initializers as hk_init
from haiku_core._src import module as hk_module
from haiku_core._src import sharding as hk_sharding
from haiku_core._src.basic import get_weight, where

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvND",
    "ConvNDTranspose",
    "get_channel_index",
]

Initializer = Callable[[Sequence[int], Any], jax.Array]
PadFn = Callable[[int], tuple[int, int]]
Padding = str | Sequence[tuple[int, int]] | PadFn | Sequence[PadFn]


def get_channel_index(data_format: str) -> int:
    """Returns the channel axis (``1`` or ``-1``) for a data format string.

    Accepted (case-sensitive, as dm-haiku): ``"channels_first"`` (1),
    ``"channels_last"`` (-1), ``"NC..."`` with no further ``C`` (1, e.g. ``"NCHW"``),
    ``"N...C"`` with ``C`` only at the end (-1, e.g. ``"NHWC"``), and sequence
    formats ``"BT...D"`` or ``"TB...D"`` (-1, e.g. ``"BTHWD"``, ``"TBD"``).

    Args:
      data_format: the format string.

    Returns:
      ``1`` for channels first, ``-1`` for channels last.

    Raises:
      ValueError: for any other string.
      TypeError: if ``data_format`` is not a string.

    >>> import haiku_core as hk
    >>> hk.get_channel_index("NCHW"), hk.get_channel_index("NHWC")
    (1, -1)
    """
    if data_format == "channels_first":
        return 1
    if data_format == "channels_last":
        return -1
    if not isinstance(data_format, str):
        raise TypeError(
            f"haiku_core.get_channel_index: `data_format` must be a string, got "
            f"{type(data_format).__name__}: {data_format!r}."
        )
    # ``$`` (not fullmatch) so that a single trailing newline is tolerated, as upstream.
    if re.match(r"NC[^C]*$", data_format):
        return 1
    if re.match(r"N[^C]*C$", data_format) or re.match(r"(?:BT|TB)[^D]*D$", data_format):
        return -1
    raise ValueError(
        f"haiku_core.get_channel_index: Unable to extract channel information from "
        f"`data_format` {data_format!r}. Valid data formats are spatial (e.g. 'NCHW', "
        f"'NHWC'), sequential (e.g. 'BTHWD'), 'channels_first' and 'channels_last'."
    )


def replicate(where_: str, arg: str, value: int | Sequence[int], n: int) -> tuple[int, ...]:
    """An int or a length-1/length-n sequence as an n-tuple of ints."""
    if isinstance(value, int) or (hasattr(value, "ndim") and getattr(value, "ndim", 1) == 0):
        return (int(value),) * n  # type: ignore[arg-type]
    try:
        values = tuple(int(v) for v in value)  # type: ignore[union-attr]
    except TypeError:
        raise TypeError(
            f"{where_}: `{arg}` must be an int or a sequence of ints, got {value!r}."
        ) from None
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise ValueError(
            f"{where_}: `{arg}` must be an int or a sequence of length 1 or {n}, got "
            f"{value!r} (length {len(values)})."
        )
    return values


def is_padfn(padding: Any) -> bool:
    """True for a callable or a non-empty sequence of callables."""
    if callable(padding):
        return True
    return (
        isinstance(padding, Sequence)
        and not isinstance(padding, str)
        and len(padding) > 0
        and all(callable(p) for p in padding)
    )


def explicit_padding(
    where_: str,
    padding: Padding,
    kernel: tuple[int, ...],
    rate: tuple[int, ...],
    *,
    allow_padfn: bool = True,
) -> str | tuple[tuple[int, int], ...]:
    """Normalises ``padding`` to ``"SAME"``/``"VALID"`` or n ``(low, high)`` pairs.

    A pad function gets the effective kernel size ``(k - 1) * rate + 1`` of its axis.
    """
    n = len(kernel)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in ("SAME", "VALID", "SAME_LOWER"):
            raise ValueError(
                f"{where_}: `padding` string must be 'SAME' or 'VALID', got {padding!r}."
            )
        return mode
    if is_padfn(padding):
        if not allow_padfn:
            raise TypeError(
                f"{where_}: `padding` must be 'SAME', 'VALID' or a sequence of (low, high) "
                f"pairs, got a padding function {padding!r}."
            )
        fns: list[Any] = [padding] * n if callable(padding) else list(padding)  # type: ignore[arg-type]
        if len(fns) == 1:
            fns = fns * n
        if len(fns) != n:
            raise ValueError(
                f"{where_}: `padding` must be one padding function or {n} of them, got {len(fns)}."
            )
        pairs = []
        for fn, k, r in zip(fns, kernel, rate, strict=True):
            lo, hi = fn((k - 1) * r + 1)
            pairs.append((int(lo), int(hi)))
        return tuple(pairs)
    if (
        isinstance(padding, Sequence)
        and len(padding) == 2
        and all(isinstance(p, int) for p in padding)
    ):
        return ((int(padding[0]), int(padding[1])),) * n  # type: ignore[arg-type]
    try:
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)  # type: ignore[union-attr,misc]
    except (TypeError, ValueError):
        raise TypeError(
            f"{where_}: `padding` must be a string, a (low, high) pair, a sequence of 1 or "
            f"{n} (low, high) pairs, or padding function(s); got {padding!r}."
        ) from None
    if len(pairs) == 1:
        pairs = pairs * n
    if len(pairs) != n:
        raise ValueError(
            f"{where_}: `padding` must be a (low, high) pair or a sequence of 1 or {n} "
            f"pairs, got {len(pairs)} pairs: {padding!r}."
        )
    return pairs


def dimension_numbers(
    num_spatial_dims: int, channel_index: int, *, transpose: bool = False
) -> jax.lax.ConvDimensionNumbers:
    """Dimension numbers for inputs in ``data_format`` and ``w`` ``[*k, I, O]``.

    With ``transpose=True`` the kernel is ``[*k, O, I]``.
    """
    n = num_spatial_dims
    spatial = tuple(range(1, n + 1))
    if channel_index == -1:
        lhs = (0, n + 1, *spatial)
    else:
        lhs = (0, 1, *range(2, n + 2))
    kernel_spatial = tuple(range(n))
    rhs = (n, n + 1, *kernel_spatial) if transpose else (n + 1, n, *kernel_spatial)
    return jax.lax.ConvDimensionNumbers(lhs_spec=lhs, rhs_spec=rhs, out_spec=lhs)


def check_input_rank(module: Any, inputs: jax.Array, num_spatial_dims: int) -> bool:
    """Checks the input rank; returns True when the input is unbatched."""
    rank = num_spatial_dims + 2
    if inputs.ndim not in (rank, rank - 1):
        layout = "N, C, *spatial" if module.channel_index == 1 else "N, *spatial, C"
        raise ValueError(
            f"{where(module)}: `inputs` must have rank {rank} ([{layout}], "
            f"{num_spatial_dims} spatial dims) or {rank - 1} (unbatched), got shape "
            f"{inputs.shape} (rank {inputs.ndim})."
        )
    return inputs.ndim == rank - 1


def add_bias(
    module: Any, out: jax.Array, output_channels: int, num_spatial_dims: int, dtype: Any
) -> jax.Array:
    """Adds ``b`` (``[C_out]`` or ``[C_out, 1, ..., 1]`` for channels first)."""
    if module.channel_index == -1:
        shape: tuple[int, ...] = (output_channels,)
    else:
        shape = (output_channels,) + (1,) * num_spatial_dims
    b = base.get_parameter("b", shape, dtype, init=module.b_init)
    hk_sharding.default_axes("b", ("conv_out",) + (None,) * (len(shape) - 1))
    return out + jnp.broadcast_to(b, out.shape)


class ConvND(hk_module.Module):
    """N-dimensional convolution (cross-correlation), as ``jax.lax.conv_general_dilated``.

    ``w``: ``[*kernel, C_in / feature_group_count, C_out]``; ``b``: ``[C_out]`` (channels
    last) or ``[C_out, 1, ..., 1]`` (channels first). See the module docstring for the
    default initialisers.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.ConvND(2, 4, 3)(x))
    >>> x = jnp.ones([1, 8, 8, 3])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x).shape
    (1, 8, 8, 4)
    """

    def __init__(
        self,
        num_spatial_dims: int,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "channels_last",
        mask: jax.typing.ArrayLike | None = None,
        feature_group_count: int = 1,
        name: str | None = None,
    ):
        """Constructs a convolution module.

        Args:
          num_spatial_dims: number of spatial axes (> 0).
          output_channels: ``C_out``.
          kernel_shape: kernel size, an int or one per spatial axis.
          stride: stride, an int or one per spatial axis.
          rate: kernel dilation rate (atrous convolution), an int or one per axis.
          padding: ``"SAME"``, ``"VALID"``, a ``(low, high)`` pair, a sequence of pairs
            (one per spatial axis), or padding function(s) from ``hk.pad``
            (``PadFn(effective_kernel_size) -> (low, high)``).
          with_bias: whether to add ``b``.
          w_init: initializer for ``w``; see the module docstring for the default.
          b_init: initializer for ``b``; default zeros.
          data_format: ``"channels_last"`` (default), ``"channels_first"`` or a string
            such as ``"NHWC"`` / ``"NCHW"``.
          mask: optional array of ``w``'s shape multiplied into ``w`` before use.
          feature_group_count: number of groups; ``C_in`` and ``C_out`` must be
            multiples of it.
          name: module name; default snake_case of the class name (``conv_nd``).

        Raises:
          ValueError: for a non-positive ``num_spatial_dims``, shape arguments of the
            wrong length, an unknown padding string or data format.
          TypeError: for a padding of the wrong kind.
        """
        super().__init__(name=name)
        w = f"haiku_core.{type(self).__name__}"
        if num_spatial_dims <= 0:
            raise ValueError(
                f"{w}: `num_spatial_dims` (the number of spatial axes to convolve over) "
                f"must be a positive int, got {num_spatial_dims}."
            )
        n = num_spatial_dims
        # Per-axis geometry, validated in argument order so the first bad one is reported.
        kernel, strides, dilation = (
            replicate(w, arg, value, n)
            for arg, value in (("kernel_shape", kernel_shape), ("stride", stride), ("rate", rate))
        )
        layout_axis = get_channel_index(data_format)
        pads = explicit_padding(w, padding, kernel, dilation)

        # What the layer computes.
        self.num_spatial_dims = n
        self.output_channels = output_channels
        self.feature_group_count = feature_group_count
        self.with_bias = with_bias
        # Window geometry (lax.conv_general_dilated arguments).
        self.kernel_shape = kernel
        self.stride = strides
        self.kernel_dilation = dilation
        self.lhs_dilation: tuple[int, ...] = (1,) * n
        self.padding = pads
        # Memory layout.
        self.data_format = data_format
        self.channel_index = layout_axis
        self.dimension_numbers: jax.lax.ConvDimensionNumbers = dimension_numbers(n, layout_axis)
        # Parameter creation.
        self.w_init = w_init
        self.b_init: Initializer = b_init or jnp.zeros
        self.mask = mask

    def __call__(
        self, inputs: jax.typing.ArrayLike, *, precision: jax.lax.Precision | None = None
    ) -> jax.Array:
        """Applies the convolution.

        Args:
          inputs: ``[N, *spatial, C_in]`` (or channels first), or the same without
            ``N``.
          precision: convolution precision.

        Returns:
          ``[N, *out_spatial, C_out]`` (or channels first; without ``N`` for an
          unbatched input).

        Raises:
          ValueError: for an input of the wrong rank, ``C_in`` or ``C_out`` not a
            multiple of ``feature_group_count``, a ``mask`` of the wrong shape, or
            ``C_in`` disagreeing with an existing ``w``.
        """
        inputs = jnp.asarray(inputs)
        unbatched = check_input_rank(self, inputs, self.num_spatial_dims)
        if unbatched:
            inputs = jnp.expand_dims(inputs, axis=0)
        in_channels = inputs.shape[self.channel_index]
        groups = self.feature_group_count
        if in_channels % groups:
            raise ValueError(
                f"{where(self)}: the input channel count {in_channels} of `inputs` (shape "
                f"{inputs.shape}) is not divisible by feature_group_count={groups}."
            )
        if self.output_channels % groups:
            raise ValueError(
                f"{where(self)}: output_channels={self.output_channels} must be a multiple "
                f"of feature_group_count={groups}."
            )
        w_shape = (*self.kernel_shape, in_channels // groups, self.output_channels)
        if self.mask is not None and tuple(jnp.shape(self.mask)) != w_shape:
            raise ValueError(
                f"{where(self)}: `mask` must have the shape of `w` {w_shape}, got "
                f"{tuple(jnp.shape(self.mask))}."
            )
        w_init = self.w_init
        if w_init is None:
            fan_in = math.prod(w_shape[:-1])
            w_init = hk_init.TruncatedNormal(stddev=1.0 / math.sqrt(fan_in))
        w = get_weight(
            self,
            "w",
            w_shape,
            inputs.dtype,
            w_init,
            arg_shape=inputs.shape,
            explain=f" (C_in={in_channels})",
        )
        hk_sharding.default_axes("w", (*(None,) * self.num_spatial_dims, "conv_in", "conv_out"))
        if self.mask is not None:
            w = w * self.mask
        out = jax.lax.conv_general_dilated(
            inputs,
            w,
            window_strides=self.stride,
            padding=self.padding,
            lhs_dilation=self.lhs_dilation,
            rhs_dilation=self.kernel_dilation,
            dimension_numbers=self.dimension_numbers,
            feature_group_count=groups,
            precision=precision,
        )
        if self.with_bias:
            out = add_bias(self, out, self.output_channels, self.num_spatial_dims, inputs.dtype)
        if unbatched:
            out = jnp.squeeze(out, axis=0)
        return out


class Conv1D(ConvND):
    """1-D convolution; ``data_format`` ``"NWC"`` (default) or ``"NCW"``.

    ``w``: ``[k, C_in / groups, C_out]``; ``b``: ``[C_out]``. See :class:`ConvND`.
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NWC",
        mask: jax.typing.ArrayLike | None = None,
        feature_group_count: int = 1,
        name: str | None = None,
    ):
        """Constructs a Conv1D module; arguments as :class:`ConvND` (default name ``conv1_d``)."""
        super().__init__(
            num_spatial_dims=1,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            rate=rate,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            feature_group_count=feature_group_count,
            name=name,
        )


class Conv2D(ConvND):
    """2-D convolution; ``data_format`` ``"NHWC"`` (default) or ``"NCHW"``.

    ``w``: ``[kh, kw, C_in / groups, C_out]`` (HWIO); ``b``: ``[C_out]``. See :class:`ConvND`.

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.Conv2D(4, 3, stride=2)(x))
    >>> x = jnp.ones([1, 8, 8, 3])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x).shape
    (1, 4, 4, 4)
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NHWC",
        mask: jax.typing.ArrayLike | None = None,
        feature_group_count: int = 1,
        name: str | None = None,
    ):
        """Constructs a Conv2D module; arguments as :class:`ConvND` (default name ``conv2_d``)."""
        super().__init__(
            num_spatial_dims=2,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            rate=rate,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            feature_group_count=feature_group_count,
            name=name,
        )


class Conv3D(ConvND):
    """3-D convolution; ``data_format`` ``"NDHWC"`` (default) or ``"NCDHW"``.

    ``w``: ``[kd, kh, kw, C_in / groups, C_out]``; ``b``: ``[C_out]``. See :class:`ConvND`.
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        rate: int | Sequence[int] = 1,
        padding: Padding = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NDHWC",
        mask: jax.typing.ArrayLike | None = None,
        feature_group_count: int = 1,
        name: str | None = None,
    ):
        """Constructs a Conv3D module; arguments as :class:`ConvND` (default name ``conv3_d``)."""
        super().__init__(
            num_spatial_dims=3,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            rate=rate,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            feature_group_count=feature_group_count,
            name=name,
        )


def transpose_padding(
    where_: str, input_size: int, output_size: int, kernel: int, stride: int, padding: str
) -> tuple[int, int]:
    """Explicit ``conv_transpose`` padding that yields ``output_size``.

    The transposed convolution is the gradient of a forward convolution that maps
    ``output_size`` to ``input_size`` with the given ``padding`` mode. Its forward
    padding before the data is 0 (VALID) or ``floor(total / 2)`` (SAME); the transpose
    then runs a stride-1 convolution over the stride-dilated input
    ``(input_size - 1) * stride + 1`` padded by ``(k - 1 - before, rest)``.
    """
    if padding == "VALID":
        expected = (output_size - kernel + stride) // stride
        before = 0
    elif padding == "SAME":
        expected = (output_size + stride - 1) // stride
        before = max(0, (input_size - 1) * stride + kernel - output_size) // 2
    else:
        raise ValueError(
            f"{where_}: with `output_shape`, `padding` must be 'SAME' or 'VALID', got {padding!r}."
        )
    if input_size != expected:
        raise ValueError(
            f"{where_}: `output_shape` entry {output_size} needs a spatial input size of "
            f"{expected} (kernel {kernel}, stride {stride}, {padding} padding), but "
            f"`inputs` has {input_size}."
        )
    dilated = (input_size - 1) * stride + 1
    lo = kernel - 1 - before
    hi = output_size + kernel - 1 - dilated - lo
    return (lo, hi)


class ConvNDTranspose(hk_module.Module):
    """N-dimensional transposed convolution (``jax.lax.conv_transpose``).

    ``w``: ``[*kernel, C_out, C_in]`` (out before in, as dm-haiku); ``b``: ``[C_out]``
    (channels last) or ``[C_out, 1, ..., 1]`` (channels first). Without
    ``output_shape`` the spatial output size is ``in * stride`` (SAME) or
    ``in * stride + max(k - stride, 0)`` (VALID).

    >>> import haiku_core as hk, jax, jax.numpy as jnp
    >>> f = hk.transform(lambda x: hk.ConvNDTranspose(2, 4, 3, stride=2)(x))
    >>> x = jnp.ones([1, 8, 8, 3])
    >>> f.apply(f.init(jax.random.PRNGKey(0), x), None, x).shape
    (1, 16, 16, 4)
    """

    def __init__(
        self,
        num_spatial_dims: int,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        output_shape: int | Sequence[int] | None = None,
        padding: str | Sequence[tuple[int, int]] = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "channels_last",
        mask: jax.typing.ArrayLike | None = None,
        name: str | None = None,
    ):
        """Constructs a transposed convolution module.

        Args:
          num_spatial_dims: number of spatial axes (> 0).
          output_channels: ``C_out``.
          kernel_shape: kernel size, an int or one per spatial axis.
          stride: stride (upsampling factor), an int or one per spatial axis.
          output_shape: optional spatial output size, an int or one per axis; needs
            ``padding`` ``"SAME"`` or ``"VALID"``.
          padding: ``"SAME"``, ``"VALID"``, or explicit ``(low, high)`` pair(s) passed
            to ``jax.lax.conv_transpose``.
          with_bias: whether to add ``b``.
          w_init: initializer for ``w``; default truncated normal with stddev
            ``1/sqrt(prod(kernel) * C_in)``.
          b_init: initializer for ``b``; default zeros.
          data_format: ``"channels_last"`` (default), ``"channels_first"`` or a string
            such as ``"NHWC"`` / ``"NCHW"``.
          mask: optional array of ``w``'s shape multiplied into ``w`` before use.
          name: module name; default ``conv_nd_transpose``.

        Raises:
          ValueError: for a non-positive ``num_spatial_dims``, shape arguments of the
            wrong length, an unknown padding string or data format, or
            ``output_shape`` with explicit padding.
          TypeError: for a padding of the wrong kind (padding functions are not
            supported here).
        """
        super().__init__(name=name)
        w = f"haiku_core.{type(self).__name__}"
        if num_spatial_dims <= 0:
            raise ValueError(
                f"{w}: `num_spatial_dims` (the number of spatial axes to convolve over) "
                f"must be a positive int, got {num_spatial_dims}."
            )
        self.num_spatial_dims = num_spatial_dims
        self.output_channels = output_channels
        self.kernel_shape: tuple[int, ...] = replicate(
            w, "kernel_shape", kernel_shape, num_spatial_dims
        )
        self.output_shape: tuple[int, ...] | None = None
        if output_shape is not None:
            self.output_shape = replicate(w, "output_shape", output_shape, num_spatial_dims)
            if not isinstance(padding, str):
                raise ValueError(
                    f"{w}: an explicit `output_shape` needs `padding` 'SAME' or 'VALID' "
                    f"(the padding is then derived from the output size), got {padding!r}."
                )
        self.with_bias = with_bias
        self.stride: tuple[int, ...] = replicate(w, "stride", stride, num_spatial_dims)
        self.w_init = w_init
        self.b_init: Initializer = b_init or jnp.zeros
        self.mask = mask
        self.data_format = data_format
        self.channel_index: int = get_channel_index(data_format)
        self.dimension_numbers: jax.lax.ConvDimensionNumbers = dimension_numbers(
            num_spatial_dims, self.channel_index, transpose=True
        )
        self.padding: str | tuple[tuple[int, int], ...] = explicit_padding(
            w, padding, self.kernel_shape, (1,) * num_spatial_dims, allow_padfn=False
        )

    def __call__(
        self, inputs: jax.typing.ArrayLike, *, precision: jax.lax.Precision | None = None
    ) -> jax.Array:
        """Applies the transposed convolution.

        Args:
          inputs: ``[N, *spatial, C_in]`` (or channels first), or the same without
            ``N``.
          precision: convolution precision.

        Returns:
          ``[N, *out_spatial, C_out]`` (or channels first; without ``N`` for an
          unbatched input).

        Raises:
          ValueError: for an input of the wrong rank, a ``mask`` of the wrong shape,
            ``C_in`` disagreeing with an existing ``w``, or spatial sizes that cannot
            give ``output_shape``.
        """
        inputs = jnp.asarray(inputs)
        unbatched = check_input_rank(self, inputs, self.num_spatial_dims)
        if unbatched:
            inputs = jnp.expand_dims(inputs, axis=0)
        in_channels = inputs.shape[self.channel_index]
        w_shape = (*self.kernel_shape, self.output_channels, in_channels)
        if self.mask is not None and tuple(jnp.shape(self.mask)) != w_shape:
            raise ValueError(
                f"{where(self)}: `mask` must have the shape of `w` {w_shape}, got "
                f"{tuple(jnp.shape(self.mask))}."
            )
        w_init = self.w_init
        if w_init is None:
            fan_in = math.prod(self.kernel_shape) * in_channels
            w_init = hk_init.TruncatedNormal(stddev=1.0 / math.sqrt(fan_in))
        w = get_weight(
            self,
            "w",
            w_shape,
            inputs.dtype,
            w_init,
            arg_shape=inputs.shape,
            explain=f" (C_in={in_channels})",
        )
        hk_sharding.default_axes("w", (*(None,) * self.num_spatial_dims, "conv_out", "conv_in"))
        if self.mask is not None:
            w = w * self.mask
        padding = self.padding
        if self.output_shape is not None:
            spatial = inputs.shape[2:] if self.channel_index == 1 else inputs.shape[1:-1]
            padding = tuple(
                transpose_padding(where(self), i, o, k, s, self.padding)  # type: ignore[arg-type]
                for i, o, k, s in zip(
                    spatial, self.output_shape, self.kernel_shape, self.stride, strict=True
                )
            )
        out = jax.lax.conv_transpose(
            inputs,
            w,
            strides=self.stride,
            padding=padding,
            dimension_numbers=self.dimension_numbers,
            precision=precision,
        )
        if self.with_bias:
            out = add_bias(self, out, self.output_channels, self.num_spatial_dims, inputs.dtype)
        if unbatched:
            out = jnp.squeeze(out, axis=0)
        return out


class Conv1DTranspose(ConvNDTranspose):
    """1-D transposed convolution; ``data_format`` ``"NWC"`` (default) or ``"NCW"``.

    ``w``: ``[k, C_out, C_in]``; ``b``: ``[C_out]``. See :class:`ConvNDTranspose`.
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        output_shape: int | Sequence[int] | None = None,
        padding: str | Sequence[tuple[int, int]] = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NWC",
        mask: jax.typing.ArrayLike | None = None,
        name: str | None = None,
    ):
        """Constructs a Conv1DTranspose; arguments as :class:`ConvNDTranspose`."""
        super().__init__(
            num_spatial_dims=1,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            output_shape=output_shape,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            name=name,
        )


class Conv2DTranspose(ConvNDTranspose):
    """2-D transposed convolution; ``data_format`` ``"NHWC"`` (default) or ``"NCHW"``.

    ``w``: ``[kh, kw, C_out, C_in]``; ``b``: ``[C_out]``. See :class:`ConvNDTranspose`.
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        output_shape: int | Sequence[int] | None = None,
        padding: str | Sequence[tuple[int, int]] = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NHWC",
        mask: jax.typing.ArrayLike | None = None,
        name: str | None = None,
    ):
        """Constructs a Conv2DTranspose; arguments as :class:`ConvNDTranspose`."""
        super().__init__(
            num_spatial_dims=2,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            output_shape=output_shape,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            name=name,
        )


class Conv3DTranspose(ConvNDTranspose):
    """3-D transposed convolution; ``data_format`` ``"NDHWC"`` (default) or ``"NCDHW"``.

    ``w``: ``[kd, kh, kw, C_out, C_in]``; ``b``: ``[C_out]``. See :class:`ConvNDTranspose`.
    """

    def __init__(
        self,
        output_channels: int,
        kernel_shape: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        output_shape: int | Sequence[int] | None = None,
        padding: str | Sequence[tuple[int, int]] = "SAME",
        with_bias: bool = True,
        w_init: Initializer | None = None,
        b_init: Initializer | None = None,
        data_format: str = "NDHWC",
        mask: jax.typing.ArrayLike | None = None,
        name: str | None = None,
    ):
        """Constructs a Conv3DTranspose; arguments as :class:`ConvNDTranspose`."""
        super().__init__(
            num_spatial_dims=3,
            output_channels=output_channels,
            kernel_shape=kernel_shape,
            stride=stride,
            output_shape=output_shape,
            padding=padding,
            with_bias=with_bias,
            w_init=w_init,
            b_init=b_init,
            data_format=data_format,
            mask=mask,
            name=name,
        )
