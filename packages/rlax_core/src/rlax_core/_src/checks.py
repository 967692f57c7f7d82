"""Static shape, rank and dtype checks for rlax-core (no chex).

Every check runs at trace time on static shapes, so it costs nothing inside
``jax.jit`` and never syncs with the device. Arguments are passed by keyword so
each message names the function and the argument, and shows expected vs got::

    check_rank("rlax_core.q_learning", q_tm1=(q_tm1, 1), a_tm1=(a_tm1, 0))
    # ShapeAssertionError: rlax_core.q_learning: `q_tm1` must have rank 1, got shape (4, 3).

Shape and rank failures raise ``ShapeAssertionError`` (a ``ValueError`` and an
``AssertionError``); dtype failures raise ``DtypeAssertionError`` (a ``TypeError`` and
an ``AssertionError``), so callers may catch either family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rlax_core._src.tree_util import DtypeAssertionError, ShapeAssertionError

RankSpec = int | Sequence[int] | set[int]


class ShapeBroadcastError(ShapeAssertionError, TypeError):
    """Inputs whose shapes do not broadcast together.

    Also a ``TypeError``: elementwise ``jax.numpy`` arithmetic on such shapes raises one,
    so code that catches either kind keeps working.
    """


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _ranks(spec: RankSpec) -> tuple[int, ...]:
    if isinstance(spec, int):
        return (spec,)
    return tuple(sorted(spec))


def check_rank(fn: str, **arrays: tuple[Any, RankSpec]) -> None:
    """Checks each ``name=(array, rank_or_ranks)``; raises ``ValueError`` naming ``fn`` and ``name``.

    ``rank_or_ranks`` is an int or a collection of allowed ints. Python scalars have rank 0.
    """
    for name, (x, spec) in arrays.items():
        allowed = _ranks(spec)
        shape = _shape(x)
        if len(shape) not in allowed:
            want = str(allowed[0]) if len(allowed) == 1 else " or ".join(map(str, allowed))
            raise ShapeAssertionError(f"{fn}: `{name}` must have rank {want}, got shape {shape}.")


def check_equal_shape(fn: str, **arrays: Any) -> None:
    """Checks that all given arrays have exactly the same shape (no broadcasting)."""
    items = list(arrays.items())
    if not items:
        return
    first_name, first = items[0]
    first_shape = _shape(first)
    for name, x in items[1:]:
        if _shape(x) != first_shape:
            desc = ", ".join(f"`{n}` {_shape(a)}" for n, a in items)
            raise ShapeAssertionError(
                f"{fn}: `{name}` must have the same shape as `{first_name}` {first_shape}, "
                f"got {_shape(x)} (shapes: {desc}). Inputs are not broadcast; reshape them explicitly."
            )


def check_shape(fn: str, **arrays: tuple[Any, Sequence[int | None]]) -> None:
    """Checks each ``name=(array, expected_shape)``; ``None`` in ``expected_shape`` matches any size."""
    for name, (x, expected) in arrays.items():
        shape = _shape(x)
        expected = tuple(expected)
        ok = len(shape) == len(expected) and all(
            e is None or e == s for s, e in zip(shape, expected, strict=True)
        )
        if not ok:
            want = "(" + ", ".join("*" if e is None else str(e) for e in expected) + ")"
            raise ShapeAssertionError(f"{fn}: `{name}` must have shape {want}, got {shape}.")


def check_leading_dims(fn: str, n: int, **arrays: Any) -> None:
    """Checks that the given arrays agree on their first ``n`` dimensions (e.g. ``T`` or ``T, A``)."""
    items = list(arrays.items())
    if not items:
        return
    first_name, first = items[0]
    lead = _shape(first)[:n]
    for name, x in items:
        shape = _shape(x)
        if len(shape) < n or shape[:n] != lead:
            desc = ", ".join(f"`{k}` {_shape(v)}" for k, v in items)
            raise ShapeAssertionError(
                f"{fn}: `{name}` must share the leading {n} dim(s) {lead} of `{first_name}`, "
                f"got shape {shape} (shapes: {desc})."
            )


def check_type(fn: str, **arrays: tuple[Any, str]) -> None:
    """Checks each ``name=(array, kind)`` with kind in ``{"float", "int", "bool"}``."""
    for name, (x, kind) in arrays.items():
        dtype = jnp.result_type(x)
        ok = {
            "float": jnp.issubdtype(dtype, jnp.floating),
            "int": jnp.issubdtype(dtype, jnp.integer),
            "bool": dtype == jnp.bool_,
            "numeric": jnp.issubdtype(dtype, jnp.number),
        }[kind]
        if not ok:
            raise DtypeAssertionError(f"{fn}: `{name}` must have a {kind} dtype, got {dtype}.")


def broadcast_arrays(fn: str, **arrays: Any) -> list[jax.Array]:
    """Broadcasts the given arrays explicitly to their common shape (NumPy rules).

    Use where the reference implementation combines its inputs elementwise without
    checking shapes: the same inputs are accepted, and no implicit rank promotion
    happens inside the library.

    Returns:
      The arrays, in argument order, as ``jax.Array`` of the common shape.

    Raises:
      ShapeBroadcastError: naming every argument and shape if they do not broadcast.
    """
    values = [jnp.asarray(x) for x in arrays.values()]
    try:
        shape = jnp.broadcast_shapes(*(v.shape for v in values))
    except ValueError:
        desc = ", ".join(f"`{n}` {v.shape}" for n, v in zip(arrays, values, strict=True))
        raise ShapeBroadcastError(f"{fn}: shapes do not broadcast together: {desc}.") from None
    return [jnp.broadcast_to(v, shape) for v in values]
