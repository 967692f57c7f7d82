"""Batch normalisation (Ioffe & Szegedy, 2015) and data-format helpers for norms."""

from __future__ import annotations

import re
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from haiku_core._src import base, moving_averages
from haiku_core._src import module as hk_module
from haiku_core._src.errors import module_prefix
from haiku_core._src.typing import Initializer

__all__ = ["BatchNorm"]


class NormAxisError(ValueError, IndexError):
    """An axis given to a normalisation module does not exist in the input.

    Subclasses both :class:`ValueError` and :class:`IndexError`, so it is caught
    by handlers written for either.
    """


class ScalarInputError(ValueError, ZeroDivisionError):
    """A per-example normalisation module was given a rank-0 input.

    Subclasses both :class:`ValueError` and :class:`ZeroDivisionError`, so it is
    caught by handlers written for either.
    """


def init_without_param_error(owner: str, init_arg: str, flag_arg: str) -> ValueError:
    """The error for an initializer given for a parameter the module will not create.

    Args:
      owner: module description used as the message prefix.
      init_arg: the initializer argument, e.g. ``"scale_init"``.
      flag_arg: the flag that disabled the parameter, e.g. ``"create_scale"``.

    Returns:
      A :class:`ValueError` to raise.
    """
    return ValueError(
        f"{owner}: `{init_arg}` was given but `{flag_arg}=False`, so no parameter will be "
        f"created for it to initialise; drop `{init_arg}` or set `{flag_arg}=True`."
    )


def value_with_param_error(owner: str, arg: str, flag_arg: str) -> ValueError:
    """The error for a call-time value that clashes with a learned parameter.

    Args:
      owner: module description used as the message prefix.
      arg: the call argument, e.g. ``"scale"``.
      flag_arg: the constructor flag that made it learned, e.g. ``"create_scale"``.

    Returns:
      A :class:`ValueError` to raise.
    """
    return ValueError(
        f"{owner}: got a call-time `{arg}` although the module learns its own "
        f"(`{flag_arg}=True`); construct it with `{flag_arg}=False` to pass `{arg}` per call."
    )


def to_rank(value: jax.Array, ndim: int) -> jax.Array:
    """Prepends size-1 axes to ``value`` until it has rank ``ndim`` (explicit broadcasting).

    Args:
      value: an array of rank <= ``ndim``.
      ndim: the target rank.

    Returns:
      ``value`` reshaped to ``[1, ..., 1, *value.shape]`` (unchanged if already rank ``ndim``).
    """
    value = jnp.asarray(value)
    missing = ndim - value.ndim
    if missing <= 0:
        return value
    return jnp.reshape(value, (1,) * missing + value.shape)


def channel_index(data_format: str, owner: str) -> int:
    """Channel axis for a data format: -1 (channels last) or 1 (channels first).

    Accepts ``channels_last`` / ``channels_first``; spatial layouts that start with
    ``N`` and have exactly one ``C``, either second (``NC...``: channels first, e.g.
    ``NCHW``) or last (``N...C``: channels last, e.g. ``NHWC``); and sequential
    layouts ``BT...D`` / ``TB...D`` (channels last, e.g. ``BTHWD``).

    Args:
      data_format: the layout string.
      owner: module description used as the error-message prefix.

    Returns:
      ``1`` or ``-1``.

    Raises:
      TypeError: if ``data_format`` is not a string.
      ValueError: if the layout is not recognised.
    """
    if not isinstance(data_format, str):
        raise TypeError(
            f"{owner}: `data_format` must be a string, got {type(data_format).__name__}."
        )
    named = {"channels_last": -1, "channels_first": 1}
    if data_format in named:
        return named[data_format]
    layouts = (
        (r"NC[^C]*", 1),
        (r"N[^C]*C", -1),
        (r"(?:BT|TB)[^D]*D", -1),
    )
    for pattern, index in layouts:
        if re.fullmatch(pattern, data_format):
            return index
    raise ValueError(
        f"{owner}: cannot tell which axis holds the channels in `data_format`="
        f"{data_format!r}. Use 'channels_last', 'channels_first', a spatial layout "
        "('NHWC', 'NCHW', ...) or a sequential layout ('BTHWD', ...)."
    )


def check_is_training(is_training: object, owner: str) -> None:
    """Rejects an ``is_training`` flag that is only known at run time.

    ``None`` (and any other falsy value) selects evaluation mode; a traced array
    cannot choose a Python branch and is refused.

    Args:
      is_training: the flag passed to the module.
      owner: module description used as the error-message prefix.

    Raises:
      TypeError: if ``is_training`` is a traced (abstract) array.
    """
    if isinstance(is_training, jax.Array):
        try:
            bool(is_training)
        except jax.errors.ConcretizationTypeError:
            raise TypeError(
                f"{owner}: `is_training` must be a Python bool known at trace time, got a "
                f"traced array of shape {jnp.shape(is_training)}. Mark it static (e.g. "
                "jax.jit(..., static_argnums=...)) or close over it."
            ) from None


def batch_moments(
    x: jax.Array,
    axes: tuple[int, ...],
    replica_axis: str | Sequence[str] | None,
    replica_groups: Sequence[Sequence[int]] | None,
) -> tuple[jax.Array, jax.Array]:
    """Biased mean and variance of ``x`` over ``axes``, optionally across replicas.

    Both raw moments ``E[x]`` and ``E[x^2]`` are reduced locally and then, when
    ``replica_axis`` is set, averaged over the named axis in one collective; the
    variance is ``E[x^2] - E[x]^2``.

    Args:
      x: input array.
      axes: axes to reduce (kept as size-1 axes).
      replica_axis: named axis (or axes) to average over, or None / empty for none.
      replica_groups: replica groups for the cross-replica average.

    Returns:
      ``(mean, variance)``, each shaped like ``x`` with ``axes`` set to 1.
    """
    first = jnp.mean(x, axes, keepdims=True)
    second = jnp.mean(jnp.square(x), axes, keepdims=True)
    if replica_axis:
        first, second = jax.lax.pmean(
            (first, second), axis_name=replica_axis, axis_index_groups=replica_groups
        )
    return first, second - jnp.square(first)


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
        owner = module_prefix(self)
        if scale_init is not None and not create_scale:
            raise init_without_param_error(owner, "scale_init", "create_scale")
        if offset_init is not None and not create_offset:
            raise init_without_param_error(owner, "offset_init", "create_offset")
        if cross_replica_axis_index_groups is not None and cross_replica_axis is None:
            raise ValueError(
                f"{owner}: `cross_replica_axis_index_groups` only makes sense together with "
                "`cross_replica_axis`; got groups but no replica axis name."
            )
        self.create_scale = create_scale
        self.create_offset = create_offset
        self.eps = eps
        self.scale_init: Initializer = scale_init or jnp.ones
        self.offset_init: Initializer = offset_init or jnp.zeros
        self.axis = axis
        self.cross_replica_axis = cross_replica_axis
        self.cross_replica_axis_index_groups = cross_replica_axis_index_groups
        self.data_format = data_format
        self.channel_index: int = channel_index(data_format, owner)
        self.mean_ema: moving_averages.ExponentialMovingAverage = (
            moving_averages.ExponentialMovingAverage(decay_rate, name="mean_ema")
        )
        self.var_ema: moving_averages.ExponentialMovingAverage = (
            moving_averages.ExponentialMovingAverage(decay_rate, name="var_ema")
        )

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
          inputs: ``[B, ..., C]`` (channels last) or ``[B, C, ...]`` (channels first).
            Any rank: statistics are taken over every axis but the channel axis
            (or over ``axis``); a rank-0 input, or a rank-1 channels-last input,
            has nothing to reduce and normalises to ``offset``.
          is_training: truthy: use batch statistics and update the moving averages;
            falsy (False or None): use the moving averages from state.
          test_local_stats: with ``is_training=False``, still normalise with the batch
            statistics (the moving averages are not updated).
          scale: scale to use when ``create_scale=False``, broadcastable to the
            parameter shape; missing leading axes are added (default 1).
          offset: offset to use when ``create_offset=False`` (default 0).

        Returns:
          The normalised array, same shape and dtype as ``inputs``.

        Raises:
          ValueError: if ``scale``/``offset`` are passed although they are learned,
            or the moving averages are needed before they exist.
          NormAxisError: (a ValueError and IndexError) if ``axis`` names an axis
            ``inputs`` does not have.
          TypeError: if ``is_training`` is a traced array.
        """
        owner = module_prefix(self)
        if scale is not None and self.create_scale:
            raise value_with_param_error(owner, "scale", "create_scale")
        if offset is not None and self.create_offset:
            raise value_with_param_error(owner, "offset", "create_offset")
        check_is_training(is_training, owner)
        inputs = jnp.asarray(inputs)
        reduced = self._reduced_axes(inputs.shape, owner)
        use_batch_stats = bool(is_training or test_local_stats)
        if use_batch_stats:
            mean, var = batch_moments(
                inputs, reduced, self.cross_replica_axis, self.cross_replica_axis_index_groups
            )
        else:
            mean = self.mean_ema.average.astype(inputs.dtype)
            var = self.var_ema.average.astype(inputs.dtype)
        if is_training:
            self.mean_ema(mean)
            self.var_ema(var)

        param_shape = tuple(1 if a in reduced else n for a, n in enumerate(inputs.shape))
        dtype = inputs.dtype
        gain = self._affine("scale", scale, self.create_scale, self.scale_init, param_shape, dtype)
        bias = self._affine(
            "offset", offset, self.create_offset, self.offset_init, param_shape, dtype
        )
        gain = to_rank(gain, inputs.ndim)
        bias = to_rank(bias, inputs.ndim)

        eps = jax.lax.convert_element_type(self.eps, var.dtype)
        inv = gain * jax.lax.rsqrt(var + eps)
        return (inputs - mean) * inv + bias

    def _reduced_axes(self, shape: tuple[int, ...], owner: str) -> tuple[int, ...]:
        ndim = len(shape)
        if self.axis is None:
            # Every axis but the channel axis; for inputs too small to hold the channel
            # axis (rank 0, or rank 1 channels-first) nothing is excluded.
            kept = self.channel_index + ndim if self.channel_index < 0 else self.channel_index
            return tuple(a for a in range(ndim) if a != kept)
        requested = tuple(int(a) for a in self.axis)
        if any(a >= ndim or a < -ndim for a in requested):
            raise NormAxisError(
                f"{owner}: `axis`={tuple(self.axis)} names an axis that `inputs` of shape "
                f"{shape} (rank {ndim}) does not have; expected values in [{-ndim}, {ndim})."
            )
        return tuple(sorted({a % ndim for a in requested}))

    def _affine(
        self,
        name: str,
        given: jax.Array | None,
        learned: bool,
        init: Initializer,
        shape: tuple[int, ...],
        dtype: jnp.dtype,
    ) -> jax.Array:
        # A learned parameter, the value passed at call time, or the identity
        # (1 for the scale, 0 for the offset) as a scalar of the input dtype.
        if learned:
            return base.get_parameter(name, shape, dtype, init=init)
        if given is not None:
            return jnp.asarray(given)
        identity = 1 if name == "scale" else 0
        return jnp.full((), identity, dtype=dtype)


# Public objects report their public home (reprs, docs, pickling).
for _obj in (BatchNorm,):
    _obj.__module__ = "haiku_core"
del _obj
