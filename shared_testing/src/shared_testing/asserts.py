"""Pytree, shape, rank and dtype assertions with messages that say *where* and *what*.

Every failure raises :class:`AssertionError` whose message names the function, the
path of the offending leaf (``jax.tree_util.keystr`` style, e.g. ``['linear']['w']``),
and shows expected vs got.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

__all__ = [
    "assert_dtype",
    "assert_rank",
    "assert_shape",
    "assert_tree_all_finite",
    "assert_tree_shapes_equal",
    "assert_trees_allclose",
    "assert_trees_close",
    "assert_trees_equal",
]

# How many elements of an array to show in a failure message.
_MAX_SHOWN = 8


def _leaves_with_paths(tree: Any) -> list[tuple[str, Any]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(path) or "<root>", leaf) for path, leaf in leaves]


def _path_list(tree: Any) -> list[str]:
    return [p for p, _ in _leaves_with_paths(tree)]


def _check_same_structure(fn_name: str, actual: Any, expected: Any) -> None:
    actual_def = jax.tree_util.tree_structure(actual)
    expected_def = jax.tree_util.tree_structure(expected)
    if actual_def == expected_def:
        return
    actual_paths = _path_list(actual)
    expected_paths = _path_list(expected)
    only_actual = [p for p in actual_paths if p not in set(expected_paths)]
    only_expected = [p for p in expected_paths if p not in set(actual_paths)]
    lines = [f"{fn_name}: tree structures differ."]
    if only_actual:
        lines.append(f"  leaves only in actual:   {only_actual}")
    if only_expected:
        lines.append(f"  leaves only in expected: {only_expected}")
    if not only_actual and not only_expected:
        lines.append("  same leaf paths, but container types or node metadata differ.")
    lines.append(f"  actual structure:   {actual_def}")
    lines.append(f"  expected structure: {expected_def}")
    raise AssertionError("\n".join(lines))


def _fmt(x: np.ndarray) -> str:
    flat = x.reshape(-1)
    body = np.array2string(flat[:_MAX_SHOWN], precision=7, separator=", ")
    if flat.size > _MAX_SHOWN:
        body = body[:-1] + f", ... ({flat.size} elements)]"
    return body


def _dtype_of(x: Any) -> np.dtype:
    if hasattr(x, "dtype"):
        return np.dtype(x.dtype)
    return np.dtype(jax.numpy.result_type(x))


def _as_numpy(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    # bfloat16 / float8 etc. are not understood by numpy's isclose; compare in float32/64.
    if arr.dtype.kind == "V" or (arr.dtype.kind == "f" and arr.dtype.itemsize < 4):
        arr = arr.astype(np.float32)
    elif arr.dtype.kind not in "biufcSUO":
        arr = arr.astype(np.float32)
    return arr


def _leaf_mismatch(
    path: str,
    got: Any,
    want: Any,
    *,
    rtol: float,
    atol: float,
    exact: bool,
) -> str | None:
    """Returns a description of the mismatch for one leaf, or None if the leaves agree."""
    got_arr = _as_numpy(got)
    want_arr = _as_numpy(want)
    if got_arr.shape != want_arr.shape:
        return f"  at {path}: shape mismatch: expected {want_arr.shape}, got {got_arr.shape}"
    numeric = got_arr.dtype.kind in "biufc" and want_arr.dtype.kind in "biufc"
    if not numeric:
        if np.array_equal(got_arr, want_arr):
            return None
        return f"  at {path}: values differ\n    expected: {want_arr!r}\n    got:      {got_arr!r}"
    if exact:
        ok = np.equal(got_arr, want_arr) | (np.isnan(got_arr) & np.isnan(want_arr))
        ok = np.asarray(ok)
    else:
        ok = np.isclose(got_arr, want_arr, rtol=rtol, atol=atol, equal_nan=True)
    if np.all(ok):
        return None
    bad = ~ok
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(
            got_arr.astype(np.complex128 if got_arr.dtype.kind == "c" else np.float64)
            - want_arr.astype(np.complex128 if want_arr.dtype.kind == "c" else np.float64)
        )
    diff = np.real(np.where(bad, diff, 0.0))
    max_abs = float(np.nanmax(diff)) if np.any(~np.isnan(diff)) else float("nan")
    worst = np.unravel_index(int(np.nanargmax(np.where(np.isnan(diff), np.inf, diff))), diff.shape)
    worst_idx = tuple(int(i) for i in worst)
    lines = [
        f"  at {path}: {int(bad.sum())} of {bad.size} elements differ "
        f"(max abs diff {max_abs:.6g}; rtol={rtol:g}, atol={atol:g})"
        if not exact
        else f"  at {path}: {int(bad.sum())} of {bad.size} elements differ "
        f"(max abs diff {max_abs:.6g}; exact comparison)",
        f"    shape {want_arr.shape}; worst at index {worst_idx}: "
        f"expected {want_arr[worst_idx]!r}, got {got_arr[worst_idx]!r}",
        f"    expected: {_fmt(want_arr)}",
        f"    got:      {_fmt(got_arr)}",
    ]
    return "\n".join(lines)


def _compare_trees(
    fn_name: str,
    actual: Any,
    expected: Any,
    *,
    rtol: float,
    atol: float,
    exact: bool,
    check_dtypes: bool,
    err_msg: str,
) -> None:
    _check_same_structure(fn_name, actual, expected)
    problems = []
    for (path, got), (_, want) in zip(
        _leaves_with_paths(actual), _leaves_with_paths(expected), strict=True
    ):
        if check_dtypes:
            got_dt, want_dt = _dtype_of(got), _dtype_of(want)
            if got_dt != want_dt:
                problems.append(f"  at {path}: dtype mismatch: expected {want_dt}, got {got_dt}")
                continue
        msg = _leaf_mismatch(path, got, want, rtol=rtol, atol=atol, exact=exact)
        if msg is not None:
            problems.append(msg)
    if problems:
        header = f"{fn_name}: {len(problems)} leaf/leaves differ"
        if err_msg:
            header += f" ({err_msg})"
        raise AssertionError(header + ":\n" + "\n".join(problems))


def assert_trees_allclose(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    check_dtypes: bool = False,
    err_msg: str = "",
) -> None:
    """Asserts two pytrees have the same structure and numerically close leaves.

    Leaves are compared with ``|actual - expected| <= atol + rtol * |expected|``
    (NaNs compare equal to NaNs). Shapes must match exactly (no broadcasting).

    Args:
      actual: the tree produced by the code under test.
      expected: the reference tree.
      rtol: relative tolerance.
      atol: absolute tolerance.
      check_dtypes: also require every leaf's dtype to match.
      err_msg: extra context appended to the failure header.

    Raises:
      AssertionError: naming each differing leaf path with expected vs got and the
        max abs diff, or listing the leaf paths present in only one tree.
    """
    _compare_trees(
        "assert_trees_allclose",
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        exact=False,
        check_dtypes=check_dtypes,
        err_msg=err_msg,
    )


def assert_trees_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    check_dtypes: bool = False,
    err_msg: str = "",
) -> None:
    """Alias of :func:`assert_trees_allclose` (name used in STYLE.md)."""
    assert_trees_allclose(
        actual,
        expected,
        rtol=rtol,
        atol=atol,
        check_dtypes=check_dtypes,
        err_msg=err_msg,
    )


def assert_trees_equal(
    actual: Any, expected: Any, *, check_dtypes: bool = False, err_msg: str = ""
) -> None:
    """Asserts two pytrees have the same structure and exactly equal leaves (NaN == NaN).

    Raises:
      AssertionError: naming each differing leaf path with expected vs got.
    """
    _compare_trees(
        "assert_trees_equal",
        actual,
        expected,
        rtol=0.0,
        atol=0.0,
        exact=True,
        check_dtypes=check_dtypes,
        err_msg=err_msg,
    )


def assert_tree_shapes_equal(actual: Any, expected: Any) -> None:
    """Asserts two pytrees have the same structure and the same leaf shapes."""
    _check_same_structure("assert_tree_shapes_equal", actual, expected)
    problems = []
    for (path, got), (_, want) in zip(
        _leaves_with_paths(actual), _leaves_with_paths(expected), strict=True
    ):
        if np.shape(got) != np.shape(want):
            problems.append(f"  at {path}: expected shape {np.shape(want)}, got {np.shape(got)}")
    if problems:
        raise AssertionError("assert_tree_shapes_equal: shapes differ:\n" + "\n".join(problems))


def assert_tree_all_finite(tree: Any) -> None:
    """Asserts every leaf of ``tree`` is free of NaN and Inf."""
    problems = []
    for path, leaf in _leaves_with_paths(tree):
        arr = _as_numpy(leaf)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            n_bad = int((~np.isfinite(arr)).sum())
            problems.append(f"  at {path}: {n_bad} of {arr.size} elements are NaN/Inf: {_fmt(arr)}")
    if problems:
        raise AssertionError("assert_tree_all_finite: non-finite values:\n" + "\n".join(problems))


def _where(path: str) -> str:
    return "" if path == "<root>" else f" at {path}"


def assert_shape(x: Any, shape: Sequence[int | None]) -> None:
    """Asserts ``x`` (an array, or every leaf of a pytree) has ``shape``.

    Args:
      x: an array-like, or a pytree of them (every leaf is checked).
      shape: the expected shape; ``None`` entries match any size.

    Raises:
      AssertionError: ``assert_shape: expected shape (3, None), got (3, 4, 5)``,
        with the leaf path when ``x`` is a tree.
    """
    want = tuple(shape)
    for path, leaf in _leaves_with_paths(x):
        got = tuple(np.shape(leaf))
        ok = len(got) == len(want) and all(
            w is None or w == g for g, w in zip(got, want, strict=True)
        )
        if not ok:
            shown = "(" + ", ".join("None" if w is None else str(w) for w in want)
            shown += ",)" if len(want) == 1 else ")"
            raise AssertionError(f"assert_shape{_where(path)}: expected shape {shown}, got {got}")


def assert_rank(x: Any, rank: int | Sequence[int]) -> None:
    """Asserts ``x`` (an array, or every leaf of a pytree) has rank ``rank``.

    Args:
      x: an array-like, or a pytree of them.
      rank: the expected rank, or a collection of allowed ranks.

    Raises:
      AssertionError: naming the expected and actual rank and the shape.
    """
    allowed = {rank} if isinstance(rank, int) else set(rank)
    for path, leaf in _leaves_with_paths(x):
        got = np.ndim(leaf)
        if got not in allowed:
            want = rank if isinstance(rank, int) else sorted(allowed)
            raise AssertionError(
                f"assert_rank{_where(path)}: expected rank {want}, got rank {got} "
                f"(shape {tuple(np.shape(leaf))})"
            )


def assert_dtype(x: Any, dtype: Any) -> None:
    """Asserts ``x`` (an array, or every leaf of a pytree) has dtype ``dtype``.

    Args:
      x: an array-like, or a pytree of them.
      dtype: anything ``jax.numpy.dtype`` accepts (``jnp.float32``, ``"bfloat16"`` ...).

    Raises:
      AssertionError: naming the expected and actual dtype.
    """
    want = jax.numpy.dtype(dtype)
    for path, leaf in _leaves_with_paths(x):
        got = _dtype_of(leaf)
        if got != want:
            raise AssertionError(f"assert_dtype{_where(path)}: expected dtype {want}, got {got}")
