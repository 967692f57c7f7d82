"""Batch normalisation (Ioffe & Szegedy, 2015) and data-format helpers for norms."""

from __future__ import annotations

import re
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import base, moving_averages
from haiku_core._src import module as hk_module
from haiku_core._src.typing import Initializer

__all__ = ["BatchNorm"]


def channel_index(data_format: str, owner: str) -> int:
    """Channel axis for a data format: -1 (channels last) or 1 (channels first).

    Accepts ``channels_last`` / ``channels_first`` and spatial / sequential
    layout strings such as ``NWC``, ``NHWC``, ``NDHWC``, ``NCW``, ``NCHW``,
    ``NCDHW`` and ``BTHWD``.
    """
    if not isinstance(data_format, str):
        raise TypeError(
            f"{owner}: `data_format` must be a string, got {type(data_format).__name__}."
        )
    if data_format == "channels_last":
        return -1
    if data_format == "channels_first":
        return 1
    if re.fullmatch(r"N[DHW]*C", data_format) or re.fullmatch(r"BT[DHW]*D", data_format):
        return -1
    if re.fullmatch(r"NC[DHW]*", data_format):
        return 1
    raise ValueError(
        f"{owner}: unable to extract the channel axis from `data_format`={data_format!r}. "
        "Expected 'channels_last', 'channels_first', a spatial layout such as 'NHWC' / 'NCHW' "
        "or a sequential layout such as 'BTHWD'."
    )


def check_is_training(is_training, owner: str) -> None:
    """Static check that ``is_training`` is a Python bool (not None / a tracer)."""
    if is_training is None:
        raise ValueError(
            f"{owner}: `is_training` must be True or False, got None. Pass "
            "is_training=True while training (batch statistics, EMA update) and False "
            "for evaluation (moving averages from state)."
        )
    if isinstance(is_training, jax.Array):
        try:
            bool(is_training)
        except jax.errors.ConcretizationTypeError:
            raise TypeError(
                f"{owner}: `is_training` must be a Python bool known at trace time, got a "
                f"traced array of shape {jnp.shape(is_training)}. Mark it static (e.g. "
                "jax.jit(..., static_argnums=...)) or close over it."
            ) from None


class BatchNorm(hk_module.Module):
    """Normalises activations with batch statistics (training) or moving averages.

    While training the mean and variance are taken over every axis except the
    channel axis (or over ``axis`` when given); their moving averages are kept
    in two :class:`ExponentialMovingAverage` children ``~/mean_ema`` and
    ``~/var_ema`` and are used for evaluation.

    Parameters ``scale`` (init ones) and ``offset`` (init zeros) are shaped like
    the input with every reduced axis set to 1, e.g. ``[1, 1, 1, C]`` for NHWC.

    References:
      Ioffe & Szegedy (2015), "Batch Normalization: Accelerating Deep Network
      Training by Reducing Internal Covariate Shift", https://arxiv.org/abs/1502.03167

    >>> import haiku_core as hk, jax.numpy as jnp
    >>> f = hk.transform_with_state(lambda x, t: hk.BatchNorm(True, True, 0.9)(x, t))
    >>> params, state = f.init(None, jnp.ones([4, 3]), True)
    >>> params["batch_norm"]["scale"].shape
    (1, 3)
    """

    def __init__(
        self,
        create_scale: bool,
        create_offset: bool,
        decay_rate: float,
        eps: float = 1e-5,
        scale_init: Initializer | None = None,
        offset_init: Initializer | None = None,
        axis: Sequence[int] | None = None,
        cross_replica_axis: str | Sequence[str] | None = None,
        cross_replica_axis_index_groups: Sequence[Sequence[int]] | None = None,
        data_format: str = "channels_last",
        name: str | None = None,
    ):
        """Creates the module.

        Args:
          create_scale: learn a ``scale`` parameter (else it may be passed at call time).
          create_offset: learn an ``offset`` parameter (else it may be passed at call time).
          decay_rate: decay of the moving averages of mean and variance.
          eps: added to the variance before the square root.
          scale_init: initializer for ``scale`` (default ones); only with ``create_scale``.
          offset_init: initializer for ``offset`` (default zeros); only with ``create_offset``.
          axis: axes to reduce over; default every axis except the channel axis.
          cross_replica_axis: named axis (or axes) to average statistics over with
            ``jax.lax.pmean`` (inside ``pmap``/``shard_map``).
          cross_replica_axis_index_groups: replica groups for ``pmean``.
          data_format: ``channels_last`` (default), ``channels_first`` or a layout such
            as ``NHWC`` / ``NCHW``.
          name: module name; defaults to ``batch_norm``.

        Raises:
          ValueError: for an initializer given without its parameter, index groups
            without a replica axis, or an unknown data format.
        """
        super().__init__(name=name)
        owner = f"haiku_core.BatchNorm ({self.module_name})"
        if not create_scale and scale_init is not None:
            raise ValueError(f"{owner}: cannot set `scale_init` if `create_scale=False`.")
        if not create_offset and offset_init is not None:
            raise ValueError(f"{owner}: cannot set `offset_init` if `create_offset=False`.")
        if cross_replica_axis is None and cross_replica_axis_index_groups is not None:
            raise ValueError(
                f"{owner}: `cross_replica_axis` must be given when "
                "`cross_replica_axis_index_groups` is."
            )
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.eps = eps
        self.scale_init = scale_init or jnp.ones
        self.offset_init = offset_init or jnp.zeros
        self.axis = axis
        self.cross_replica_axis = cross_replica_axis
        self.cross_replica_axis_index_groups = cross_replica_axis_index_groups
        self.data_format = data_format
        self.channel_index = channel_index(data_format, owner)
        self.mean_ema = moving_averages.ExponentialMovingAverage(decay_rate, name="mean_ema")
        self.var_ema = moving_averages.ExponentialMovingAverage(decay_rate, name="var_ema")

    def __call__(
        self,
        inputs: jax.Array,
        is_training: bool,
        test_local_stats: bool = False,
        scale: jax.Array | None = None,
        offset: jax.Array | None = None,
    ) -> jax.Array:
        """Normalises ``inputs``.

        Args:
          inputs: ``[B, ..., C]`` (channels last) or ``[B, C, ...]`` (channels first),
            rank >= 2 unless ``axis`` is given.
          is_training: True: use batch statistics and update the moving averages;
            False: use the moving averages from state.
          test_local_stats: with ``is_training=False``, still normalise with the batch
            statistics (the moving averages are not updated).
          scale: scale to use when ``create_scale=False``, broadcastable to the
            parameter shape (default 1).
          offset: offset to use when ``create_offset=False`` (default 0).

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ValueError: if ``scale``/``offset`` are passed although they are learned,
            ``is_training`` is None, or ``inputs`` has too low a rank for ``axis``.
          TypeError: if ``is_training`` is a traced array.
        """
        owner = f"haiku_core.BatchNorm ({self.module_name})"
        if self.create_scale and scale is not None:
            raise ValueError(f"{owner}: cannot pass `scale` at call time if `create_scale=True`.")
        if self.create_offset and offset is not None:
            raise ValueError(f"{owner}: cannot pass `offset` at call time if `create_offset=True`.")
        check_is_training(is_training, owner)
        inputs = jnp.asarray(inputs)
        ndim = inputs.ndim
        if self.axis is not None:
            axis = tuple(int(a) for a in self.axis)
            bad = [a for a in axis if not -ndim <= a < ndim]
            if bad:
                raise ValueError(
                    f"{owner}: `axis`={tuple(self.axis)} is out of range for `inputs` of "
                    f"rank {ndim} (shape {inputs.shape})."
                )
            axis = tuple(a % ndim for a in axis)
        else:
            if ndim < 2:
                raise ValueError(
                    f"{owner}: `inputs` must have rank >= 2 ([B, ..., C]), got shape "
                    f"{inputs.shape}. Pass `axis` to normalise a rank-1 input."
                )
            channel = self.channel_index % ndim
            axis = tuple(i for i in range(ndim) if i != channel)

        if is_training or test_local_stats:
            mean = jnp.mean(inputs, axis, keepdims=True)
            mean_of_squares = jnp.mean(jnp.square(inputs), axis, keepdims=True)
            if self.cross_replica_axis:
                mean = jax.lax.pmean(
                    mean,
                    axis_name=self.cross_replica_axis,
                    axis_index_groups=self.cross_replica_axis_index_groups,
                )
                mean_of_squares = jax.lax.pmean(
                    mean_of_squares,
                    axis_name=self.cross_replica_axis,
                    axis_index_groups=self.cross_replica_axis_index_groups,
                )
            var = mean_of_squares - jnp.square(mean)
        else:
            mean = self.mean_ema.average.astype(inputs.dtype)
            var = self.var_ema.average.astype(inputs.dtype)

        if is_training:
            self.mean_ema(mean)
            self.var_ema(var)

        w_shape = [1 if i in axis else inputs.shape[i] for i in range(ndim)]
        w_dtype = inputs.dtype
        if self.create_scale:
            w_scale = base.get_parameter("scale", w_shape, w_dtype, init=self.scale_init)
        elif scale is None:
            w_scale = jnp.ones([], dtype=w_dtype)
        else:
            w_scale = jnp.asarray(scale)
        if self.create_offset:
            w_offset = base.get_parameter("offset", w_shape, w_dtype, init=self.offset_init)
        elif offset is None:
            w_offset = jnp.zeros([], dtype=w_dtype)
        else:
            w_offset = jnp.asarray(offset)

        eps = jax.lax.convert_element_type(self.eps, var.dtype)
        inv = w_scale * jax.lax.rsqrt(var + eps)
        return (inputs - mean) * inv + w_offset


# Public objects report their public home (reprs, docs, pickling).
for _obj in (BatchNorm,):
    _obj.__module__ = "haiku_core"
del _obj
