"""Hypothesis strategies for RL / NN test inputs.

All strategies draw NumPy arrays of a *fixed* shape (keep shapes fixed, draw values:
that keeps jit compilation to one trace per test). NaN/Inf and subnormals are never
drawn. ``bfloat16`` (and other non-NumPy dtypes) are drawn as float32 and cast.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = ["discounts", "float_arrays", "logits", "probabilities"]

Shape = int | Sequence[int]


def _shape(shape: Shape) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(shape)


def _draw_dtype(dtype: Any) -> tuple[np.dtype, np.dtype]:
    """Returns (dtype hypothesis draws in, dtype to cast to)."""
    target = np.dtype(dtype)
    if target in (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)):
        return target, target
    return np.dtype(np.float32), target


def float_arrays(
    shape: Shape,
    min_value: float = -10.0,
    max_value: float = 10.0,
    dtype: Any = np.float32,
) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with finite floats in ``[min_value, max_value]``.

    Args:
      shape: fixed output shape (int or tuple).
      min_value: smallest value drawn.
      max_value: largest value drawn.
      dtype: output dtype (float16/32/64, or e.g. ``jnp.bfloat16``).

    Returns:
      A strategy of ``np.ndarray``.
    """
    if min_value > max_value:
        raise ValueError(f"float_arrays: min_value {min_value} > max_value {max_value}")
    draw_dt, target = _draw_dtype(dtype)
    width = cast("Literal[16, 32, 64]", draw_dt.itemsize * 8)
    # Bounds must be representable at the drawn width.
    lo = float(draw_dt.type(min_value))
    hi = float(draw_dt.type(max_value))
    if lo < min_value:
        lo = float(np.nextafter(draw_dt.type(lo), draw_dt.type(np.inf)))
    if hi > max_value:
        hi = float(np.nextafter(draw_dt.type(hi), draw_dt.type(-np.inf)))
    elements = st.floats(
        min_value=lo,
        max_value=hi,
        width=width,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )
    strat = hnp.arrays(draw_dt, _shape(shape), elements=elements)
    if target != draw_dt:
        return strat.map(lambda x: x.astype(target))
    return strat


def discounts(
    shape: Shape,
    min_value: float = 0.0,
    max_value: float = 1.0,
    dtype: Any = np.float32,
) -> st.SearchStrategy[np.ndarray]:
    """Discount arrays of ``shape`` with values in ``[min_value, max_value]`` ⊆ ``[0, 1]``."""
    if not 0.0 <= min_value <= max_value <= 1.0:
        raise ValueError(
            f"discounts: need 0 <= min_value <= max_value <= 1, got [{min_value}, {max_value}]"
        )
    return float_arrays(shape, min_value, max_value, dtype)


def _normalise(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    x = x.astype(np.float64)
    total = x.sum(axis=-1, keepdims=True)
    n = x.shape[-1]
    safe = np.where(total > 0, total, 1.0)
    p = np.where(total > 0, x / safe, 1.0 / n)
    return p.astype(dtype)


def probabilities(shape: Shape, dtype: Any = np.float32) -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with non-negative entries whose LAST axis sums to 1.

    Exact zeros can be drawn (rows of all zeros become uniform).
    """
    shp = _shape(shape)
    if len(shp) == 0 or shp[-1] < 1:
        raise ValueError(f"probabilities: shape needs a last axis of size >= 1, got {shp}")
    target = np.dtype(dtype)
    return float_arrays(shp, 0.0, 1.0, np.float64).map(lambda x: _normalise(x, target))


def logits(
    shape: Shape,
    min_value: float = -5.0,
    max_value: float = 5.0,
    dtype: Any = np.float32,
) -> st.SearchStrategy[np.ndarray]:
    """Unnormalised log-probabilities of ``shape`` in ``[min_value, max_value]``."""
    return float_arrays(shape, min_value, max_value, dtype)
