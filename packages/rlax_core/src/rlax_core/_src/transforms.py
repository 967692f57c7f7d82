"""Value transforms: invertible squashing functions and the two-hot representation.

Squashing the scale of returns lets one network fit values of very different magnitudes;
each squashing function here has an inverse (``signed_hyperbolic`` / ``signed_parabolic``,
``signed_logp1`` / ``signed_expm1``, ``sigmoid`` / ``logit``). ``transform_to_2hot`` /
``transform_from_2hot`` encode scalars as categorical distributions over a fixed support.

References:
  Pohlen et al. (2018), Observe and Look Further: Achieving Consistent Performance on Atari.
  https://arxiv.org/abs/1805.11593
  Kapturowski et al. (2019), Recurrent Experience Replay in Distributed Reinforcement Learning
  (R2D2), ICLR.
  Schrittwieser et al. (2020), Mastering Atari, Go, Chess and Shogi by Planning with a Learned
  Model (MuZero), Nature 588 (two-hot value targets).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from rlax_core._src import base, checks
from rlax_core._src.tree_util import ShapeTypeError

__all__ = [
    "identity",
    "logit",
    "power",
    "sigmoid",
    "signed_expm1",
    "signed_hyperbolic",
    "signed_logp1",
    "signed_parabolic",
    "transform_from_2hot",
    "transform_to_2hot",
]


def identity(x: ArrayLike) -> jax.Array:
    """Returns ``x`` unchanged (as an array).

    Args:
      x: array of any shape.

    Returns:
      ``x``.

    Raises:
      TypeError: if ``x`` is not floating point (as rlax).

    Examples:
      >>> print(identity(jnp.array([1.0, -2.0])))
      [ 1. -2.]
    """
    checks.check_type("rlax_core.identity", x=(x, "float"))
    return jnp.asarray(x)


def sigmoid(x: ArrayLike) -> jax.Array:
    """Logistic function ``1 / (1 + exp(-x))``, elementwise.

    Args:
      x: float array of any shape.

    Returns:
      Array of ``x``'s shape with values in ``(0, 1)``.

    Raises:
      TypeError: if ``x`` is not floating point.

    Examples:
      >>> print(sigmoid(jnp.array([0.0])))
      [0.5]
    """
    checks.check_type("rlax_core.sigmoid", x=(x, "float"))
    return jax.nn.sigmoid(x)


def logit(x: ArrayLike) -> jax.Array:
    """Inverse of ``sigmoid``: ``log(x) - log(1 - x)``, elementwise.

    Args:
      x: float array of probabilities in ``(0, 1)``, any shape.

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    Examples:
      >>> print(logit(jnp.array([0.5])))
      [0.]
    """
    checks.check_type("rlax_core.logit", x=(x, "float"))
    x = jnp.asarray(x)
    return jnp.log(x) - jnp.log1p(-x)


def signed_logp1(x: ArrayLike) -> jax.Array:
    """Signed logarithmic squashing ``sign(x) * log(1 + |x|)``.

    Args:
      x: float array of any shape.

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    Examples:
      >>> print(signed_logp1(jnp.array([0.0, -1.0])).round(4))
      [ 0.     -0.6931]
    """
    checks.check_type("rlax_core.signed_logp1", x=(x, "float"))
    return jnp.sign(x) * jnp.log1p(jnp.abs(x))


def signed_expm1(x: ArrayLike) -> jax.Array:
    """Inverse of ``signed_logp1``: ``sign(x) * (exp(|x|) - 1)``.

    Args:
      x: float array of any shape.

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    Examples:
      >>> print(signed_expm1(jnp.array([0.0, -1.0])).round(4))
      [ 0.     -1.7183]
    """
    checks.check_type("rlax_core.signed_expm1", x=(x, "float"))
    return jnp.sign(x) * jnp.expm1(jnp.abs(x))


def signed_hyperbolic(x: ArrayLike, eps: float = 1e-3) -> jax.Array:
    """R2D2 value squashing ``h(x) = sign(x) * (sqrt(|x| + 1) - 1) + eps * x``.

    Args:
      x: float array of any shape.
      eps: small linear term that keeps ``h`` invertible with a Lipschitz inverse.

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    References:
      Pohlen et al. (2018), Observe and Look Further: Achieving Consistent Performance on
      Atari. https://arxiv.org/abs/1805.11593

    Examples:
      >>> round(signed_hyperbolic(jnp.array(3.0), eps=0.0).item(), 6)
      1.0
    """
    checks.check_type("rlax_core.signed_hyperbolic", x=(x, "float"))
    x = jnp.asarray(x)
    return jnp.sign(x) * (jnp.sqrt(jnp.abs(x) + 1.0) - 1.0) + eps * x


def signed_parabolic(x: ArrayLike, eps: float = 1e-3) -> jax.Array:
    """Inverse of ``signed_hyperbolic`` for the same ``eps``.

    ``h^-1(x) = sign(x) * (((sqrt(1 + 4 eps (|x| + 1 + eps)) - 1) / (2 eps))**2 - 1)``,
    evaluated in the cancellation-free form ``z = 2 (|x| + 1 + eps) / (sqrt(...) + 1)`` so it
    is accurate to float32 rounding (the textbook form loses ~1e-4 relative for small
    ``eps``; rlax's numbers carry that error).

    Args:
      x: float array of any shape.
      eps: the ``eps`` used by ``signed_hyperbolic`` (must be > 0).

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    References:
      Pohlen et al. (2018), Observe and Look Further: Achieving Consistent Performance on
      Atari, Proposition A.2. https://arxiv.org/abs/1805.11593

    Examples:
      >>> print(signed_parabolic(signed_hyperbolic(jnp.array([10.0]))).round(4))
      [10.]
    """
    checks.check_type("rlax_core.signed_parabolic", x=(x, "float"))
    x = jnp.asarray(x)
    u = eps + 1.0 + jnp.abs(x)
    z = 2.0 * u / (jnp.sqrt(1.0 + 4.0 * eps * u) + 1.0)
    return jnp.sign(x) * (jnp.square(z) - 1.0)


def hyperbolic_sin(x: ArrayLike) -> jax.Array:
    """Elementwise ``sinh(x)``; inverse of ``hyperbolic_arcsin``.

    Args:
      x: float array of any shape.

    Returns:
      Array of ``x``'s shape and dtype.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``x`` is not floating point.

    Examples:
      >>> print(hyperbolic_sin(jnp.array([0.0])))
      [0.]
    """
    checks.check_type("rlax_core.hyperbolic_sin", x=(x, "float"))
    return jnp.sinh(jnp.asarray(x))


def hyperbolic_arcsin(x: ArrayLike) -> jax.Array:
    """Elementwise ``arcsinh(x)``: a signed, roughly logarithmic squashing.

    Args:
      x: float array of any shape.

    Returns:
      Array of ``x``'s shape and dtype.

    Raises:
      DtypeAssertionError: (a ``TypeError``) if ``x`` is not floating point.

    Examples:
      >>> print(hyperbolic_arcsin(jnp.array([0.0])))
      [0.]
    """
    checks.check_type("rlax_core.hyperbolic_arcsin", x=(x, "float"))
    return jnp.arcsinh(jnp.asarray(x))


def power(x: ArrayLike, p: float) -> jax.Array:
    """Signed power squashing with unit slope at the origin.

    ``sign(x) * ((1 + |x| / sqrt(p))**p - 1) * sqrt(p) / p``; ``p = 1`` is the identity,
    ``p < 1`` squashes and ``p > 1`` expands. ``power(., 1/p)`` is not its inverse in general.

    Args:
      x: float array of any shape.
      p: positive exponent.

    Returns:
      Array of ``x``'s shape.

    Raises:
      TypeError: if ``x`` is not floating point.

    Examples:
      >>> print(power(jnp.array([2.0]), 1.0))
      [2.]
    """
    checks.check_type("rlax_core.power", x=(x, "float"))
    x = jnp.asarray(x)
    scale = jnp.sqrt(p)
    return jnp.sign(x) * (jnp.power(1.0 + jnp.abs(x) / scale, p) - 1.0) * scale / p


def _bin_values(min_value: float, max_value: float, num_bins: int, dtype) -> jax.Array:
    return jnp.linspace(min_value, max_value, num_bins, dtype=dtype)


def transform_to_2hot(
    scalar: ArrayLike, min_value: float, max_value: float, num_bins: int
) -> jax.Array:
    """Encodes scalars as two-hot vectors over ``num_bins`` evenly spaced bin values.

    The scalar (clipped to ``[min_value, max_value]``) puts mass on its two neighbouring bins,
    linearly in its distance to each, so ``transform_from_2hot`` recovers it. As in rlax, the
    weights use a ``1e-5`` guard in the denominator (so the decoded value is exact only to
    about ``1e-5`` relative to the bin spacing).

    Args:
      scalar: ``[...]`` float values.
      min_value: smallest bin value.
      max_value: largest bin value.
      num_bins: static number of bins (``>= 1``; one bin divides by zero, as in rlax).

    Returns:
      ``[..., num_bins]`` two-hot probabilities.

    Raises:
      ShapeTypeError: (a ``ValueError``/``TypeError``) if ``num_bins`` is not a static int >= 1.

    References:
      Schrittwieser et al. (2020), Mastering Atari, Go, Chess and Shogi by Planning with a
      Learned Model, Nature 588. https://arxiv.org/abs/1911.08265

    Examples:
      >>> print(transform_to_2hot(jnp.array([1.0, 2.0]), 0.0, 2.0, 3))
      [[0. 1. 0.]
       [0. 0. 1.]]
    """
    fn = "rlax_core.transform_to_2hot"
    _check_support(fn, min_value, max_value, num_bins)
    scalar = jnp.asarray(scalar)
    if not jnp.issubdtype(scalar.dtype, jnp.floating):
        scalar = scalar.astype(jnp.float32)
    scalar = jnp.clip(scalar, min_value, max_value)
    position = (scalar - min_value) / (max_value - min_value) * (num_bins - 1)
    lower = jnp.floor(position)
    upper = jnp.ceil(position)
    span = max_value - min_value
    lower_value = (lower / (num_bins - 1.0)) * span + min_value
    upper_value = (upper / (num_bins - 1.0)) * span + min_value
    p_lower = (upper_value - scalar) / (upper_value - lower_value + 1e-5)
    p_upper = 1.0 - p_lower
    dtype = scalar.dtype
    return (
        base.one_hot(lower.astype(jnp.int32), num_bins, dtype) * p_lower[..., None]
        + base.one_hot(upper.astype(jnp.int32), num_bins, dtype) * p_upper[..., None]
    )


def transform_from_2hot(
    probs: ArrayLike, min_value: float, max_value: float, num_bins: int
) -> jax.Array:
    """Decodes a distribution over the two-hot bins back to its expected scalar.

    Args:
      probs: ``[..., num_bins]`` float probabilities.
      min_value: smallest bin value.
      max_value: largest bin value.
      num_bins: static number of bins.

    Returns:
      ``[...]`` expected values ``sum_i probs[..., i] * bin_i``; a rank-1 ``probs`` gives
      shape ``[1]`` (the bin values carry a leading unit axis, as in rlax).

    Raises:
      ShapeTypeError: (a ``ValueError``/``TypeError``) if the last axis of ``probs`` is
        not ``num_bins``.
      DtypeAssertionError: (a ``TypeError``) if ``probs`` is not floating point.

    Examples:
      >>> print(transform_from_2hot(jnp.array([[0.25, 0.75, 0.0]]), 0.0, 2.0, 3))
      [0.75]
    """
    fn = "rlax_core.transform_from_2hot"
    _check_support(fn, min_value, max_value, num_bins)
    checks.check_type(fn, probs=(probs, "float"))
    probs = jnp.asarray(probs)
    if probs.ndim < 1 or probs.shape[-1] != num_bins:
        raise ShapeTypeError(
            f"{fn}: `probs` must have a last axis of size num_bins={num_bins}, "
            f"got shape {probs.shape}."
        )
    bins = _bin_values(min_value, max_value, num_bins, probs.dtype)
    lead = max(probs.ndim - 1, 1)
    bins = jnp.reshape(bins, (1,) * lead + (num_bins,))
    probs = jnp.reshape(probs, (1,) * (lead + 1 - probs.ndim) + probs.shape)
    return jnp.sum(probs * bins, axis=-1)


def _check_support(fn: str, min_value: float, max_value: float, num_bins: int) -> None:
    if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins < 1:
        raise ShapeTypeError(f"{fn}: `num_bins` must be a static int >= 1, got {num_bins!r}.")
