"""Padding functions for convolutions and pooling (``hk.pad``).

A padding function (:data:`PadFn`) maps an *effective* kernel size
``k_eff = (kernel - 1) * rate + 1`` (the span of a dilated kernel) to a
``(before, after)`` pair of padding amounts for one spatial dimension:

=================  ===================  ==========================================
function           ``(before, after)``  effect at stride 1
=================  ===================  ==========================================
``valid``          ``(0, 0)``           output length ``L - k_eff + 1``
``same``           ``((k-1)//2, k//2)`` output length ``L`` (extra pad goes after)
``full``           ``(k-1, k-1)``       output length ``L + k_eff - 1``
``causal``         ``(k-1, 0)``         output ``t`` sees inputs ``<= t`` only
``reverse_causal`` ``(0, k-1)``         output ``t`` sees inputs ``>= t`` only
=================  ===================  ==========================================

:func:`create_from_padfn` turns one padding function (or one per dimension) into
explicit per-dimension pairs, and :func:`create_from_tuple` does the same for
explicit pairs; both return a tuple of ``n`` ``(before, after)`` tuples, the form
``jax.lax.conv_general_dilated`` accepts.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from haiku_core._src import typing as hk_typing

__all__ = [
    "PadFn",
    "causal",
    "create",
    "create_from_padfn",
    "create_from_tuple",
    "full",
    "is_padfn",
    "reverse_causal",
    "same",
    "valid",
]

# Type alias: effective kernel size -> ``(before, after)`` (shared with ``_src.typing``).
PadFn = hk_typing.PadFn

_PUBLIC = "haiku_core.pad"


def valid(effective_kernel_size: int) -> tuple[int, int]:
    """No padding: ``(0, 0)``.

    Args:
      effective_kernel_size: ``(kernel - 1) * rate + 1`` (unused).

    Returns:
      ``(0, 0)``.

    >>> import haiku_core as hk
    >>> hk.pad.valid(3)
    (0, 0)
    """
    del effective_kernel_size
    return (0, 0)


def same(effective_kernel_size: int) -> tuple[int, int]:
    """Pads so the output length equals the input length at stride 1.

    The total ``k - 1`` is split as ``((k - 1) // 2, k // 2)``: for even kernels the
    extra element goes after.

    Args:
      effective_kernel_size: ``(kernel - 1) * rate + 1``.

    Returns:
      ``(before, after)``.

    >>> import haiku_core as hk
    >>> hk.pad.same(4)
    (1, 2)
    """
    return ((effective_kernel_size - 1) // 2, effective_kernel_size // 2)


def full(effective_kernel_size: int) -> tuple[int, int]:
    """Pads ``k - 1`` on both sides, so every partial overlap is computed.

    Args:
      effective_kernel_size: ``(kernel - 1) * rate + 1``.

    Returns:
      ``(k - 1, k - 1)``.

    >>> import haiku_core as hk
    >>> hk.pad.full(3)
    (2, 2)
    """
    return (effective_kernel_size - 1, effective_kernel_size - 1)


def causal(effective_kernel_size: int) -> tuple[int, int]:
    """Pads ``k - 1`` before only: an output never sees later inputs.

    Args:
      effective_kernel_size: ``(kernel - 1) * rate + 1``.

    Returns:
      ``(k - 1, 0)``.

    >>> import haiku_core as hk
    >>> hk.pad.causal(3)
    (2, 0)
    """
    return (effective_kernel_size - 1, 0)


def reverse_causal(effective_kernel_size: int) -> tuple[int, int]:
    """Pads ``k - 1`` after only: an output never sees earlier inputs.

    Args:
      effective_kernel_size: ``(kernel - 1) * rate + 1``.

    Returns:
      ``(0, k - 1)``.

    >>> import haiku_core as hk
    >>> hk.pad.reverse_causal(3)
    (0, 2)
    """
    return (0, effective_kernel_size - 1)


def _replicate(value: Any, n: int, what: str, where: str) -> tuple[Any, ...]:
    """Returns ``n`` copies of a scalar, or a length-1 / length-n sequence as n items."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        return (value,) * n
    if len(value) == 1:
        return tuple(value) * n
    if len(value) == n:
        return tuple(value)
    raise TypeError(
        f"{_PUBLIC}.{where}: `{what}` must be a scalar or a sequence of length 1 or {n}, "
        f"got length {len(value)}: {value!r}."
    )


def is_padfn(padding: PadFn | Sequence[PadFn] | Any) -> bool:
    """True if ``padding`` is a padding function or a non-empty sequence of them.

    Args:
      padding: anything (a padding function, a sequence of them, a string, a tuple...).

    Returns:
      Whether :func:`create_from_padfn` accepts it.

    >>> import haiku_core as hk
    >>> hk.pad.is_padfn(hk.pad.same), hk.pad.is_padfn("SAME"), hk.pad.is_padfn((1, 2))
    (True, False, False)
    """
    if callable(padding):
        return True
    if isinstance(padding, (str, bytes)) or not isinstance(padding, Sequence):
        return False
    return len(padding) > 0 and all(callable(p) for p in padding)


def create_from_padfn(
    padding: PadFn | Sequence[PadFn],
    kernel: int | Sequence[int],
    rate: int | Sequence[int],
    n: int,
) -> Sequence[tuple[int, int]]:
    """Computes per-dimension ``(before, after)`` pairs from padding function(s).

    For each of the ``n`` dimensions, ``padfn((kernel - 1) * rate + 1)``.

    Args:
      padding: a padding function, or a sequence of 1 or ``n`` of them.
      kernel: kernel size, or a sequence of 1 or ``n`` sizes.
      rate: dilation rate, or a sequence of 1 or ``n`` rates.
      n: number of spatial dimensions.

    Returns:
      A tuple of ``n`` ``(before, after)`` tuples.

    Raises:
      TypeError: if a sequence argument has a length other than 1 or ``n``, or a
        padding entry is not callable.

    >>> import haiku_core as hk
    >>> hk.pad.create_from_padfn(hk.pad.same, kernel=3, rate=(1, 2), n=2)
    ((1, 1), (2, 2))
    """
    padfns = _replicate(padding, n, "padding", "create_from_padfn")
    kernels = _replicate(kernel, n, "kernel", "create_from_padfn")
    rates = _replicate(rate, n, "rate", "create_from_padfn")
    out = []
    for padfn, k, r in zip(padfns, kernels, rates, strict=True):
        if not callable(padfn):
            raise TypeError(
                f"{_PUBLIC}.create_from_padfn: `padding` must be a padding function "
                f"(e.g. hk.pad.same) or a sequence of them, got {padfn!r}."
            )
        pair: Any = padfn((k - 1) * r + 1)
        before, after = pair
        out.append((before, after))
    return tuple(out)


create = create_from_padfn


class _EmptyPaddingError(AssertionError, TypeError):
    """``create_from_tuple`` got an empty (falsy) ``padding``."""


def _is_empty(padding: Any) -> bool:
    """Whether ``padding`` is falsy (``None``, ``()``, ``[]``, ``0``)."""
    try:
        return not padding
    except (TypeError, ValueError):
        return False


def create_from_tuple(
    padding: tuple[int, int] | Sequence[tuple[int, int]],
    n: int,
) -> Sequence[tuple[int, int]]:
    """Expands explicit padding into ``n`` per-dimension ``(before, after)`` pairs.

    Args:
      padding: one ``(before, after)`` pair of ints (used for every dimension), or a
        sequence of 1 or ``n`` such pairs. When ``padding[0]`` is an int, the whole of
        ``padding`` is repeated ``n`` times whatever its length (as in dm-haiku), so
        ``((1, 2, 3), 2)`` gives ``((1, 2, 3), (1, 2, 3))``.
      n: number of spatial dimensions.

    Returns:
      A tuple of ``n`` ``(before, after)`` tuples.

    Raises:
      AssertionError: (also a ``TypeError``) if ``padding`` is empty or ``None``.
      TypeError: if ``padding`` is not a sequence, or a sequence of pairs of a length
        other than 1 or ``n``.

    >>> import haiku_core as hk
    >>> hk.pad.create_from_tuple((1, 2), 2)
    ((1, 2), (1, 2))
    >>> hk.pad.create_from_tuple([(0, 1), (2, 3)], 2)
    ((0, 1), (2, 3))
    """
    if _is_empty(padding):
        raise _EmptyPaddingError(
            f"{_PUBLIC}.create_from_tuple: `padding` must not be empty, got {padding!r}."
        )
    if isinstance(padding, (str, bytes)) or not isinstance(padding, Sequence):
        raise TypeError(
            f"{_PUBLIC}.create_from_tuple: `padding` must be a (before, after) pair of ints "
            f"or a sequence of 1 or {n} such pairs, got {padding!r}."
        )
    if isinstance(padding[0], numbers.Integral):
        pairs: tuple[Any, ...] = (padding,) * n
    elif len(padding) == 1:
        pairs = tuple(padding) * n
    elif len(padding) == n:
        pairs = tuple(padding)
    else:
        raise TypeError(
            f"{_PUBLIC}.create_from_tuple: `padding` {padding!r} must be a (before, after) "
            f"pair or a sequence of length 1 or {n} of pairs, got length {len(padding)}."
        )
    return tuple(_as_entry(entry) for entry in pairs)


def _as_entry(entry: Any) -> Any:
    """One ``create_from_tuple`` entry: a list/tuple becomes a tuple (ints as ``int``).

    Entries are not checked to be pairs: like dm-haiku, any entry is passed through
    and a malformed one is reported by the convolution that uses it.
    """
    if isinstance(entry, (list, tuple)):
        return tuple(int(v) if isinstance(v, numbers.Integral) else v for v in entry)
    return entry


# Public functions report the public namespace (reprs, docs, doctest collection).
for _fn in (
    causal,
    create_from_padfn,
    create_from_tuple,
    full,
    is_padfn,
    reverse_causal,
    same,
    valid,
):
    _fn.__module__ = _PUBLIC
del _fn
