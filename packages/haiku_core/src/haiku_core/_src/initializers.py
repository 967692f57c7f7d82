"""Parameter initializers: callables ``init(shape, dtype) -> jax.Array``.

Every initializer here is a small object whose ``__call__(shape, dtype)`` returns a
new array.  Random initializers draw exactly one key with ``base.next_rng_key()``
per call, so they must run inside a transformed function (``hk.transform``), which
is where ``hk.get_parameter`` calls them.  For a given key, each initializer issues
the same ``jax.random`` call as dm-haiku, so the same key gives the same values.

Fan computation (used by :class:`VarianceScaling`), for a kernel ``shape``:

* rank 0: ``fan_in = fan_out = 1``;
* rank 1: ``fan_in = fan_out = shape[0]``;
* rank 2 (dense ``[D_in, D_out]``): ``fan_in, fan_out = shape``;
* rank >= 3 (conv ``[*spatial, C_in, C_out]``): with ``rf = prod(shape[:-2])``
  (the receptive field), ``fan_in = shape[-2] * rf`` and ``fan_out = shape[-1] * rf``;
  or, if ``fan_in_axes`` is given, ``fan_in`` is the product of those axes and
  ``fan_out`` the product of the remaining ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from haiku_core._src import base
from haiku_core._src import typing as hk_typing

__all__ = [
    "Constant",
    "Identity",
    "Initializer",
    "Orthogonal",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "UniformScaling",
    "VarianceScaling",
]

# Type alias: a callable ``(shape, dtype) -> jax.Array`` (shared with ``_src.typing``).
Initializer = hk_typing.Initializer

_PUBLIC = "haiku_core.initializers"

# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it makes a
# truncated-normal sample have the requested variance (as in dm-haiku and
# Keras' ``VarianceScaling``).
_TRUNCATED_STDDEV = 0.87962566103423978


_C = TypeVar("_C", bound=type)


def _public(cls: _C) -> _C:
    cls.__module__ = _PUBLIC
    return cls


def _next_key() -> jax.Array:
    return base.next_rng_key()


def _as_shape(where: str, shape: Sequence[int]) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{_PUBLIC}.{where}: `shape` must be a sequence of ints, got {shape!r}."
        ) from e
    if any(d < 0 for d in out):
        raise ValueError(f"{_PUBLIC}.{where}: `shape` must be non-negative, got {out}.")
    return out


class InexactDtypeError(TypeError, ValueError):
    """A random initializer was asked for a non-floating dtype.

    A ``TypeError`` that is also a ``ValueError`` (what ``jax.random`` raises for such
    a dtype, and so what dm-haiku's initializers raise).
    """


def _check_inexact(where: str, dtype: Any, *, allow_complex: bool = True) -> None:
    dt = jnp.dtype(dtype)
    ok = jnp.issubdtype(dt, jnp.floating) or (
        allow_complex and jnp.issubdtype(dt, jnp.complexfloating)
    )
    if not ok:
        kinds = "a floating or complex" if allow_complex else "a floating"
        raise InexactDtypeError(f"{_PUBLIC}.{where}: `dtype` must be {kinds} dtype, got {dt}.")


def _compute_fans(
    shape: tuple[int, ...], fan_in_axes: Sequence[int] | None = None
) -> tuple[float, float]:
    """Returns ``(fan_in, fan_out)`` for a kernel of the given shape (see module doc)."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    if fan_in_axes is not None:
        bad = [a for a in fan_in_axes if not -len(shape) <= a < len(shape)]
        if bad:
            raise ValueError(
                f"{_PUBLIC}.VarianceScaling: `fan_in_axes` {tuple(fan_in_axes)} has axes "
                f"{bad} out of range for a kernel of shape {shape}."
            )
        axes = {a % len(shape) for a in fan_in_axes}
        fan_in = math.prod(shape[a] for a in sorted(axes))
        fan_out = math.prod(d for i, d in enumerate(shape) if i not in axes)
        return fan_in, fan_out
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


@_public
class Constant:
    """Initializes with a constant (a scalar or an array broadcastable to the shape).

    >>> import jax.numpy as jnp
    >>> import haiku_core as hk
    >>> hk.initializers.Constant(0.5)((2,), jnp.float32)
    Array([0.5, 0.5], dtype=float32)
    """

    def __init__(self, constant: float | int | complex | np.ndarray | jax.Array):
        """Constructs a Constant initializer.

        Args:
          constant: the value to fill with; a scalar or an array that broadcasts to
            the requested shape.
        """
        self.constant = constant

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns the constant broadcast to ``shape`` and cast to ``dtype``.

        Raises:
          ValueError: if the constant does not broadcast to ``shape``.
        """
        shape = _as_shape("Constant", shape)
        value = jnp.asarray(self.constant)
        try:
            out = jnp.broadcast_to(value, shape)
        except ValueError as e:
            raise ValueError(
                f"{_PUBLIC}.Constant: `constant` of shape {value.shape} does not "
                f"broadcast to the requested shape {shape}."
            ) from e
        return out.astype(dtype)


@_public
class RandomNormal:
    """Samples from a normal distribution ``N(mean, stddev**2)``.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.RandomNormal(0.01)((2, 3), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).shape
    (2, 3)
    """

    def __init__(self, stddev: float | jax.Array = 1.0, mean: float | jax.Array = 0.0):
        """Constructs a RandomNormal initializer.

        Args:
          stddev: standard deviation of the normal distribution.
          mean: mean of the normal distribution.
        """
        self.stddev = stddev
        self.mean = mean

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns a sample of the given shape and (floating or complex) dtype.

        Raises:
          TypeError: if ``dtype`` is not floating or complex.
        """
        shape = _as_shape("RandomNormal", shape)
        _check_inexact("RandomNormal", dtype)
        m = jax.lax.convert_element_type(self.mean, dtype)
        s = jax.lax.convert_element_type(self.stddev, dtype)
        return m + s * jax.random.normal(_next_key(), shape, dtype)


@_public
class TruncatedNormal:
    """Samples a unit normal truncated to ``[lower, upper]``, then ``stddev * x + mean``.

    Note ``lower``/``upper`` are in units of the *unscaled* normal, i.e. the output
    lies in ``[mean + stddev * lower, mean + stddev * upper]``.  For a complex dtype
    the real and imaginary parts are sampled independently.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.TruncatedNormal(0.1)((4,), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).dtype
    dtype('float32')
    """

    def __init__(
        self,
        stddev: float | jax.Array = 1.0,
        mean: float | complex | jax.Array = 0.0,
        lower: float | jax.Array = -2.0,
        upper: float | jax.Array = 2.0,
    ):
        """Constructs a TruncatedNormal initializer.

        Args:
          stddev: scale applied to the truncated unit normal.
          mean: shift applied after scaling.
          lower: lower truncation bound of the unit normal.
          upper: upper truncation bound of the unit normal.
        """
        self.stddev = stddev
        self.mean = mean
        self.lower = lower
        self.upper = upper

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns a sample of the given shape and (floating or complex) dtype.

        Raises:
          TypeError: if ``dtype`` is not floating or complex.
        """
        shape = _as_shape("TruncatedNormal", shape)
        _check_inexact("TruncatedNormal", dtype)
        # Complex outputs draw the real and imaginary parts as two stacked real samples.
        is_complex = jnp.issubdtype(dtype, jnp.complexfloating)
        component = jnp.finfo(dtype).dtype
        draws = jax.random.truncated_normal(
            _next_key(), self.lower, self.upper, (2, *shape) if is_complex else shape, component
        )
        z = jax.lax.complex(draws[0], draws[1]) if is_complex else draws
        scale = jax.lax.convert_element_type(self.stddev, component)
        shift = jax.lax.convert_element_type(self.mean, dtype)
        return z * scale + shift


@_public
class RandomUniform:
    """Samples uniformly from ``[minval, maxval)``.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.RandomUniform(-1.0, 1.0)((3,), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).shape
    (3,)
    """

    def __init__(self, minval: float | jax.Array = 0.0, maxval: float | jax.Array = 1.0):
        """Constructs a RandomUniform initializer.

        Args:
          minval: inclusive lower bound.
          maxval: exclusive upper bound.
        """
        self.minval = minval
        self.maxval = maxval

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns a sample of the given shape and floating dtype.

        Raises:
          TypeError: if ``dtype`` is not floating.
        """
        shape = _as_shape("RandomUniform", shape)
        _check_inexact("RandomUniform", dtype, allow_complex=False)
        return jax.random.uniform(_next_key(), shape, dtype, self.minval, self.maxval)


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


@_public
class VarianceScaling:
    """Scale-adaptive initializer (Glorot/He/LeCun family).

    With ``fan`` = ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (``mode``; see
    the module docstring for how fans are computed, at least 1), samples have variance
    ``scale / fan``:

    * ``truncated_normal``: normal truncated to 2 standard deviations, with stddev
      ``sqrt(scale / fan) / 0.87962566103423978`` (the stddev of the truncated unit
      normal) so the sample variance is ``scale / fan``;
    * ``normal``: normal with stddev ``sqrt(scale / fan)``;
    * ``uniform``: uniform in ``[-limit, limit)`` with ``limit = sqrt(3 * scale / fan)``.

    ``VarianceScaling(2.0, "fan_in", "truncated_normal")`` is He initialization and
    ``VarianceScaling(1.0, "fan_avg", "uniform")`` is Glorot (Xavier) uniform.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.VarianceScaling(2.0, "fan_in")((3, 3, 8, 16), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).shape
    (3, 3, 8, 16)

    References:
      Glorot & Bengio (2010), Understanding the difficulty of training deep feedforward
      neural networks, AISTATS. https://proceedings.mlr.press/v9/glorot10a.html
      He et al. (2015), Delving Deep into Rectifiers, ICCV. https://arxiv.org/abs/1502.01852
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        fan_in_axes: Sequence[int] | None = None,
    ):
        """Constructs a VarianceScaling initializer.

        Args:
          scale: positive scale of the variance.
          mode: one of ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``.
          distribution: one of ``"truncated_normal"``, ``"normal"``, ``"uniform"``.
          fan_in_axes: optional axes whose product is ``fan_in`` for kernels of rank
            >= 3 (the remaining axes give ``fan_out``); ignored for rank <= 2.

        Raises:
          ValueError: for a non-positive scale or an unknown mode or distribution.
        """
        if not scale > 0.0:
            raise ValueError(f"{_PUBLIC}.VarianceScaling: `scale` must be positive, got {scale}.")
        if mode not in _MODES:
            raise ValueError(
                f"{_PUBLIC}.VarianceScaling: invalid `mode` {mode!r}; expected one of {_MODES}."
            )
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(
                f"{_PUBLIC}.VarianceScaling: invalid `distribution` {distribution!r}; "
                f"expected one of {_DISTRIBUTIONS}."
            )
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.fan_in_axes = fan_in_axes

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns a sample of the given shape and dtype.

        Raises:
          TypeError: if ``dtype`` is not floating (or complex, for the normal forms).
        """
        shape = _as_shape("VarianceScaling", shape)
        fan_in, fan_out = _compute_fans(shape, self.fan_in_axes)
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)

        if self.distribution == "truncated_normal":
            _check_inexact("VarianceScaling", dtype)
            # The constant is rounded to `dtype` first and the division is done in
            # float64 on the host (as dm-haiku does, so values are bit-identical).
            distribution_stddev = np.asarray(_TRUNCATED_STDDEV, dtype=jnp.dtype(dtype))
            stddev = np.sqrt(scale) / distribution_stddev
            return TruncatedNormal(stddev=stddev)(shape, dtype)
        if self.distribution == "normal":
            return RandomNormal(stddev=np.sqrt(scale))(shape, dtype)
        limit = np.sqrt(3.0 * scale)
        return RandomUniform(minval=-limit, maxval=limit)(shape, dtype)


@_public
class UniformScaling:
    """Uniform in ``[-limit, limit)`` with ``limit = scale * sqrt(3 / fan_in)``.

    ``fan_in`` is the product of all dimensions but the last (1 for a scalar shape).
    Keeps the scale of activations roughly constant through linear layers.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.UniformScaling()((4, 2), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).shape
    (4, 2)

    References:
      Sussillo & Abbott (2014), Random Walk Initialization for Training Very Deep
      Feedforward Networks. https://arxiv.org/abs/1412.6558
    """

    def __init__(self, scale: float = 1.0):
        """Constructs a UniformScaling initializer.

        Args:
          scale: multiplier of the uniform bound.
        """
        self.scale = scale

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns a sample of the given shape and floating dtype."""
        shape = _as_shape("UniformScaling", shape)
        input_size = max(math.prod(shape[:-1]), 1)
        max_val = np.sqrt(3 / input_size) * self.scale
        return RandomUniform(-max_val, max_val)(shape, dtype)


@_public
class Orthogonal:
    """Random (scaled) orthogonal initializer.

    Reshapes the kernel to a matrix ``[shape[axis], prod(other dims)]`` and fills it
    with rows (or columns, whichever are fewer) that are orthonormal, drawn uniformly
    (Haar measure) via the QR decomposition of a Gaussian matrix with sign
    correction, then multiplies by ``scale``.

    >>> import jax, jax.numpy as jnp
    >>> import haiku_core as hk
    >>> f = hk.transform(lambda: hk.initializers.Orthogonal()((3, 3), jnp.float32))
    >>> f.apply({}, jax.random.PRNGKey(0)).shape
    (3, 3)

    References:
      Saxe et al. (2014), Exact solutions to the nonlinear dynamics of learning in
      deep linear neural networks, ICLR. https://arxiv.org/abs/1312.6120
      Mezzadri (2007), How to generate random matrices from the classical compact
      groups, Notices of the AMS. https://arxiv.org/abs/math-ph/0609050
    """

    def __init__(self, scale: float = 1.0, axis: int = -1):
        """Constructs an Orthogonal initializer.

        Args:
          scale: multiplier applied to the orthogonal matrix.
          axis: the dimension along which the vectors are orthogonal.
        """
        self.scale = scale
        self.axis = axis

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns an orthogonal sample of the given shape (rank >= 2).

        Raises:
          ValueError: if ``shape`` has rank < 2 or ``axis`` is out of range.
          TypeError: if ``dtype`` is not floating or complex.
        """
        shape = _as_shape("Orthogonal", shape)
        if len(shape) < 2:
            raise ValueError(f"{_PUBLIC}.Orthogonal: requires a shape of rank >= 2, got {shape}.")
        if not -len(shape) <= self.axis < len(shape):
            raise ValueError(
                f"{_PUBLIC}.Orthogonal: `axis`={self.axis} is out of range for shape {shape}."
            )
        _check_inexact("Orthogonal", dtype)
        n_rows = shape[self.axis]
        n_cols = math.prod(shape) // n_rows if n_rows else 0
        matrix_shape = (n_rows, n_cols) if n_rows > n_cols else (n_cols, n_rows)
        norm_dst = jax.random.normal(_next_key(), matrix_shape, dtype)
        q_mat, r_mat = jnp.linalg.qr(norm_dst)
        # Sign correction makes the distribution uniform (Mezzadri, 2007).
        q_mat = q_mat * jnp.sign(jnp.diag(r_mat))[None, :]
        if n_rows < n_cols:
            q_mat = q_mat.T
        other = tuple(np.delete(np.asarray(shape), self.axis).tolist())
        q_mat = jnp.reshape(q_mat, (n_rows, *other))
        q_mat = jnp.moveaxis(q_mat, 0, self.axis)
        return jax.lax.convert_element_type(self.scale, dtype) * q_mat


@_public
class Identity:
    """Identity matrix times ``gain`` over the last two dims (repeated over leading dims).

    For a non-square shape the ones are on the main diagonal (``jnp.eye(rows, cols)``).

    >>> import jax.numpy as jnp
    >>> import haiku_core as hk
    >>> hk.initializers.Identity(2.0)((2, 2), jnp.float32)
    Array([[2., 0.],
           [0., 2.]], dtype=float32)
    """

    def __init__(self, gain: float | np.ndarray | jax.Array = 1.0):
        """Constructs an Identity initializer.

        Args:
          gain: scalar (or broadcastable array) multiplier.
        """
        self.gain = gain

    def __call__(self, shape: Sequence[int], dtype: Any) -> jax.Array:
        """Returns ``gain * eye`` broadcast to ``shape`` (rank >= 2).

        Raises:
          ValueError: if ``shape`` has rank < 2.
        """
        shape = _as_shape("Identity", shape)
        if len(shape) < 2:
            raise ValueError(f"{_PUBLIC}.Identity: requires a shape of rank >= 2, got {shape}.")
        eye = jnp.eye(shape[-2], shape[-1], dtype=dtype)
        if eye.shape != shape:
            eye = jnp.broadcast_to(eye, shape)
        gain = jax.lax.convert_element_type(self.gain, dtype)
        return gain * eye
