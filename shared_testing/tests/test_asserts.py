"""Each assertion passes on good input and fails on bad input with a precise message."""

import re

import jax.numpy as jnp
import numpy as np
import pytest

from shared_testing.asserts import (
    assert_dtype,
    assert_rank,
    assert_shape,
    assert_tree_all_finite,
    assert_tree_shapes_equal,
    assert_trees_allclose,
    assert_trees_equal,
)


def _params(w_value=1.0):
    return {
        "linear": {
            "w": np.full((2, 3), w_value, np.float32),
            "b": np.zeros(3, np.float32),
        },
        "out": [np.arange(4.0, dtype=np.float32)],
    }


def test_allclose_passes_on_identical_and_close_trees():
    assert_trees_allclose(_params(), _params())
    assert_trees_allclose(_params(1.0 + 1e-8), _params(1.0))
    assert_trees_allclose(jnp.asarray([1.0, jnp.nan]), np.array([1.0, np.nan]))


def test_allclose_names_leaf_path_expected_got_and_max_diff():
    actual = _params()
    actual["linear"]["w"] = actual["linear"]["w"].copy()
    actual["linear"]["w"][1, 2] = 1.5
    with pytest.raises(AssertionError) as info:
        assert_trees_allclose(actual, _params())
    msg = str(info.value)
    assert "['linear']['w']" in msg
    assert "1 of 6 elements differ" in msg
    assert "max abs diff 0.5" in msg
    assert "worst at index (1, 2): expected np.float32(1.0), got np.float32(1.5)" in msg
    assert "expected: [1., 1., 1., 1., 1., 1.]" in msg
    assert "got:      [1. , 1. , 1. , 1. , 1. , 1.5]" in msg
    # Leaves that agree are not mentioned.
    assert "['b']" not in msg and "['out']" not in msg


def test_allclose_respects_tolerances():
    assert_trees_allclose(np.array([1.0]), np.array([1.01]), rtol=0.0, atol=0.02)
    with pytest.raises(AssertionError, match=r"rtol=0, atol=0\.001"):
        assert_trees_allclose(np.array([1.0]), np.array([1.01]), rtol=0.0, atol=1e-3)


def test_allclose_reports_missing_and_extra_leaves():
    actual = _params()
    del actual["linear"]["b"]
    actual["extra"] = np.zeros(1)
    with pytest.raises(AssertionError) as info:
        assert_trees_allclose(actual, _params())
    msg = str(info.value)
    assert "tree structures differ" in msg
    assert "leaves only in actual:   [\"['extra']\"]" in msg
    assert "leaves only in expected: [\"['linear']['b']\"]" in msg


def test_allclose_reports_container_type_mismatch():
    with pytest.raises(AssertionError, match="container types or node metadata differ"):
        assert_trees_allclose((np.zeros(2),), [np.zeros(2)])


def test_allclose_does_not_broadcast_shapes():
    with pytest.raises(
        AssertionError,
        match=r"at <root>: shape mismatch: expected \(3,\), got \(3, 1\)",
    ):
        assert_trees_allclose(np.zeros((3, 1)), np.zeros(3))


def test_allclose_nan_vs_number_fails():
    with pytest.raises(AssertionError, match=r"\[1\]: 1 of 2 elements differ"):
        assert_trees_allclose(
            {"a": [np.zeros(2), np.array([0.0, np.nan])]}["a"],
            [np.zeros(2), np.zeros(2)],
        )


def test_allclose_check_dtypes():
    assert_trees_allclose(np.zeros(2, np.float32), np.zeros(2, np.float64))
    with pytest.raises(AssertionError, match="dtype mismatch: expected float64, got float32"):
        assert_trees_allclose(np.zeros(2, np.float32), np.zeros(2, np.float64), check_dtypes=True)


def test_allclose_handles_bfloat16_and_err_msg():
    x = jnp.ones(3, jnp.bfloat16)
    assert_trees_allclose(x, np.ones(3, np.float32))
    with pytest.raises(AssertionError, match=r"1 leaf/leaves differ \(my context\)"):
        assert_trees_allclose(x, np.full(3, 2.0, np.float32), err_msg="my context")


def test_equal_is_exact():
    assert_trees_equal({"a": np.arange(3)}, {"a": np.arange(3)})
    assert_trees_equal(np.array([np.nan]), np.array([np.nan]))
    with pytest.raises(AssertionError) as info:
        assert_trees_equal({"a": np.array([1.0, 2.0])}, {"a": np.array([1.0, 2.0 + 1e-12])})
    msg = str(info.value)
    assert msg.startswith("assert_trees_equal: 1 leaf/leaves differ")
    assert "['a']" in msg and "exact comparison" in msg


def test_equal_non_numeric_leaves():
    with pytest.raises(AssertionError, match=r"at \['name'\]: values differ"):
        assert_trees_equal({"name": "relu"}, {"name": "tanh"})


def test_tree_shapes_equal():
    assert_tree_shapes_equal(_params(), _params(5.0))
    bad = _params()
    bad["out"][0] = np.zeros(5)
    with pytest.raises(
        AssertionError, match=re.escape("['out'][0]: expected shape (4,), got (5,)")
    ):
        assert_tree_shapes_equal(bad, _params())


def test_tree_all_finite():
    assert_tree_all_finite(_params())
    with pytest.raises(AssertionError, match=r"\['g'\]: 2 of 3 elements are NaN/Inf"):
        assert_tree_all_finite({"g": np.array([0.0, np.inf, np.nan])})


def test_assert_shape():
    x = jnp.zeros((3, 4))
    assert_shape(x, (3, 4))
    assert_shape(x, (None, 4))
    assert_shape(2.0, ())
    with pytest.raises(
        AssertionError,
        match=re.escape("assert_shape: expected shape (3, None, 5), got (3, 4)"),
    ):
        assert_shape(x, (3, None, 5))
    with pytest.raises(
        AssertionError, match=re.escape("assert_shape: expected shape (2,), got (3, 4)")
    ):
        assert_shape(x, (2,))


def test_assert_shape_on_tree_names_leaf():
    with pytest.raises(
        AssertionError,
        match=re.escape("assert_shape at ['b']: expected shape (3, 4), got (3,)"),
    ):
        assert_shape({"a": np.zeros((3, 4)), "b": np.zeros(3)}, (3, 4))


def test_assert_rank():
    assert_rank(jnp.zeros((2, 2)), 2)
    assert_rank(jnp.zeros((2,)), {1, 2})
    with pytest.raises(
        AssertionError,
        match=re.escape("assert_rank: expected rank 1, got rank 2 (shape (2, 2))"),
    ):
        assert_rank(jnp.zeros((2, 2)), 1)
    with pytest.raises(AssertionError, match=re.escape("expected rank [1, 2], got rank 0")):
        assert_rank(jnp.zeros(()), [1, 2])


def test_assert_dtype():
    assert_dtype(jnp.zeros(2, jnp.bfloat16), jnp.bfloat16)
    assert_dtype({"w": np.zeros(2, np.float32)}, "float32")
    with pytest.raises(AssertionError, match="assert_dtype: expected dtype float32, got int32"):
        assert_dtype(jnp.zeros(2, jnp.int32), jnp.float32)
    with pytest.raises(
        AssertionError,
        match=re.escape("assert_dtype at ['w']: expected dtype bfloat16, got float32"),
    ):
        assert_dtype({"w": np.zeros(2, np.float32)}, jnp.bfloat16)
