"""Reverse-time linear recurrences ``x_t = b_t + a_t * x_{t+1}``: sequential and associative.

Every multistep return in rlax-core (discounted / lambda returns, GAE, V-trace's correction,
Retrace and the general off-policy returns) is an affine recurrence run backwards in time:

    x_{T-1} = b_{T-1} + a_{T-1} * init,    x_t = b_t + a_t * x_{t+1}.

Two implementations compute it:

* ``"sequential"``: ``jax.lax.scan(reverse=True)``; ``O(T)`` depth, cheap to compile, usually
  fastest on CPU. ``unroll`` is forwarded to ``jax.lax.scan``.
* ``"associative"``: ``jax.lax.associative_scan`` over affine maps ``f_t(x) = b_t + a_t x``,
  composed as ``(f_t o f_{t+1})(x) = (b_t + a_t b_{t+1}) + a_t a_{t+1} x``; ``O(log T)`` depth,
  which pays off on accelerators for long horizons.

``"auto"`` (the default) picks ``"associative"`` only on GPU/TPU backends with
``T >= ASSOCIATIVE_MIN_LENGTH``; on CPU it always picks ``"sequential"`` (see
``benchmarks/rlax_scan_methods.py`` for the measurements behind this rule). Measured on a
2-core CPU (jax 0.10.2, ``jit(vmap)``, batch 64; ``lambda_returns`` / ``vtrace``, median run
time, sequential vs associative): T=128: 0.04-0.06 vs 0.05-0.09 ms; T=2048: 0.7 vs 1.0-1.6 ms;
T=16384: 8.4 / 5.8 vs 10.6 / 17.0 ms. Compile time: 0.3 s vs 0.9-3.6 s. ``unroll=8`` was
never faster than ``unroll=1`` beyond T=128. The GPU threshold is not measured here (no
accelerator was available); it follows the reported several-fold GPU speed-ups of the
associative form for long horizons.

Numerics: both forms compute the same sums of products in a different order, so they agree
to float rounding. With float32 and ``|a_t| <= 1`` the difference is below
``SCAN_RTOL * max_t |x_t| + SCAN_ATOL`` (tested for T up to a few thousand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp

__all__ = [
    "ASSOCIATIVE_MIN_LENGTH",
    "IN_BODY_MAX_LENGTH",
    "SCAN_ATOL",
    "SCAN_RTOL",
    "Method",
    "affine_recurrence_reverse",
    "linear_recurrence_reverse",
    "resolve_method",
]

Method = Literal["auto", "sequential", "associative"]

# Shortest horizon for which "auto" uses the associative form on GPU/TPU. Not measured on this
# project's hardware (CPU only); taken from reports of several-fold GPU speed-ups for long
# horizons (rlax PR #168) and the log-depth vs linear-depth trade-off.
ASSOCIATIVE_MIN_LENGTH = 512

# Documented agreement between the two methods (float32), relative to the largest |x_t|.
SCAN_RTOL = 1e-5
SCAN_ATOL = 1e-6

# Default longest horizon for which ``affine_recurrence_reverse`` builds the coefficients inside
# the sequential scan body. Measured (2-core CPU, jax 0.10.2, jit(vmap), batch 64, median ms,
# in-body vs precomputed): lambda_returns T=128 0.031 vs 0.069, T=512 0.10 vs 0.17, T=2048
# 0.72 vs 0.73, T=4096 1.36 vs 1.30, T=16384 5.8 vs 5.0. Per-step slicing of several ``xs``
# arrays costs more than one vectorised pass for long horizons.
IN_BODY_MAX_LENGTH = 2048

_METHODS = ("auto", "sequential", "associative")


def resolve_method(method: str, length: int, fn: str = "rlax_core") -> str:
    """Resolves ``method`` to ``"sequential"`` or ``"associative"``.

    Args:
      method: ``"auto"``, ``"sequential"`` or ``"associative"``.
      length: static sequence length ``T``.
      fn: public name of the calling function, for error messages.

    Returns:
      ``"sequential"`` or ``"associative"``.

    Raises:
      ValueError: if ``method`` is not one of the three names.
    """
    if method not in _METHODS:
        raise ValueError(f"{fn}: `method` must be one of {_METHODS}, got {method!r}.")
    if method != "auto":
        return method
    backend = jax.default_backend()
    if backend in ("gpu", "cuda", "rocm", "tpu") and length >= ASSOCIATIVE_MIN_LENGTH:
        return "associative"
    return "sequential"


def _check_unroll(unroll: int | bool, fn: str) -> None:
    if isinstance(unroll, bool):
        return
    if not isinstance(unroll, int) or unroll < 1:
        raise ValueError(f"{fn}: `unroll` must be a positive int (or bool), got {unroll!r}.")


def linear_recurrence_reverse(
    a: jax.Array,
    b: jax.Array,
    init: jax.Array,
    *,
    method: Method = "auto",
    unroll: int | bool = 1,
    fn: str = "rlax_core",
) -> jax.Array:
    """Solves ``x_t = b_t + a_t * x_{t+1}`` backwards from ``x_T = init``.

    Args:
      a: ``[T, ...]`` multiplicative coefficients.
      b: ``[T, ...]`` additive terms (same shape as ``a``).
      init: ``[...]`` value after the last step (``x_T``).
      method: ``"auto"``, ``"sequential"`` or ``"associative"`` (see module docstring).
      unroll: ``unroll`` for ``jax.lax.scan`` (sequential form only).
      fn: public name of the caller, for error messages.

    Returns:
      ``[T, ...]`` the solution ``x_0 .. x_{T-1}``.

    Raises:
      ValueError: for an unknown ``method`` or a bad ``unroll``.
    """
    _check_unroll(unroll, fn)
    # Mixed input dtypes (e.g. a bfloat16 bootstrap with float32 rewards) promote as jnp would;
    # the scan carry needs one dtype.
    dtype = jnp.result_type(a, b, init)
    a, b, init = (jnp.asarray(x, dtype) for x in (a, b, init))
    length = a.shape[0]
    resolved = resolve_method(method, length, fn)
    if length == 0:
        return b
    if resolved == "sequential":

        def body(carry, xs):
            a_t, b_t = xs
            carry = b_t + a_t * carry
            return carry, carry

        _, xs = jax.lax.scan(body, init, (a, b), reverse=True, unroll=unroll)
        return xs

    # Fold the initial value into the last step, then compose affine maps right-to-left.
    b = b.at[-1].set(b[-1] + a[-1] * init)

    def compose(later, earlier):
        # ``later`` holds the composite of steps after those in ``earlier`` (reverse scan).
        a_l, b_l = later
        a_e, b_e = earlier
        return a_e * a_l, b_e + a_e * b_l

    _, xs = jax.lax.associative_scan(compose, (a, b), reverse=True)
    return xs


def affine_recurrence_reverse(
    coefficients: Callable[[Any], tuple[jax.Array, jax.Array]],
    xs: Any,
    init: jax.Array,
    *,
    method: Method = "auto",
    unroll: int | bool = 1,
    fn: str = "rlax_core",
    in_body_max_length: int = IN_BODY_MAX_LENGTH,
) -> jax.Array:
    """Solves ``x_t = b_t + a_t * x_{t+1}`` with ``(a_t, b_t) = coefficients(xs_t)``.

    Same recurrence as :func:`linear_recurrence_reverse`, but the coefficients are built from
    per-step inputs by an elementwise ``coefficients`` function. The sequential form calls it
    inside the scan body, so no ``[T, ...]`` coefficient arrays are materialised before the
    scan (on CPU the separate elementwise passes and layout copies cost more than the scan
    itself for short horizons); the associative form applies it to the whole ``[T, ...]``
    arrays and composes affine maps as :func:`linear_recurrence_reverse` does.

    Args:
      coefficients: elementwise function of one step of ``xs`` (or of all of ``xs``) returning
        ``(a, b)`` of ``init``'s dtype; it may close over scalars (``[]``), never over
        ``[T]`` arrays.
      xs: pytree of ``[T, ...]`` per-step inputs, all of ``init``'s dtype.
      init: ``[...]`` value after the last step (``x_T``).
      method: ``"auto"``, ``"sequential"`` or ``"associative"`` (see module docstring).
      unroll: ``unroll`` for ``jax.lax.scan`` (sequential form only).
      fn: public name of the caller, for error messages.
      in_body_max_length: for ``T`` above this the sequential form also precomputes the
        coefficients (cheaper for long horizons, see ``IN_BODY_MAX_LENGTH``).

    Returns:
      ``[T, ...]`` the solution ``x_0 .. x_{T-1}``.

    Raises:
      ValueError: for an unknown ``method`` or a bad ``unroll``.
    """
    _check_unroll(unroll, fn)
    length = jax.tree_util.tree_leaves(xs)[0].shape[0]
    resolved = resolve_method(method, length, fn)
    if resolved == "associative" or length == 0 or length > in_body_max_length:
        a, b = coefficients(xs)
        method_: Method = "associative" if resolved == "associative" else "sequential"
        return linear_recurrence_reverse(a, b, init, method=method_, unroll=unroll, fn=fn)

    def body(carry, x_t):
        a_t, b_t = coefficients(x_t)
        carry = b_t + a_t * carry
        return carry, carry

    _, out = jax.lax.scan(body, init, xs, reverse=True, unroll=unroll)
    return out
