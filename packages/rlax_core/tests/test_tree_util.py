"""Tests for rlax_core tree utilities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


@pytest.fixture
def tree(np_rng):
    return {
        "a": jnp.asarray(np_rng.normal(size=(3, 2))),
        "b": (jnp.asarray(np_rng.normal(size=3)),),
    }


def test_tree_select(tree):
    other = jax.tree.map(lambda x: x + 1, tree)
    out = jax.jit(rlax.tree_select)(jnp.asarray(False), tree, other)
    np.testing.assert_array_equal(out["a"], other["a"])
    np.testing.assert_array_equal(
        rlax.tree_select(jnp.asarray(True), tree, other)["b"][0], tree["b"][0]
    )
    # A non-scalar predicate must match a leaf's shape (jax.lax.select): TypeError otherwise.
    with pytest.raises(TypeError):
        rlax.tree_select(jnp.array([True, False]), tree, other)
    out = rlax.tree_select(jnp.array([True, False]), {"x": jnp.ones(2)}, {"x": jnp.zeros(2)})
    np.testing.assert_array_equal(out["x"], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"tree_select.*`on_false`"):
        rlax.tree_select(jnp.asarray(True), tree, {"a": tree["a"]})


def test_tree_map_zipped_and_tree_fn(tree):
    out = rlax.tree_map_zipped(lambda x, y, z: x + y * z, [tree, tree, tree])
    np.testing.assert_allclose(out["a"], tree["a"] + tree["a"] ** 2)
    assert rlax.tree_map_zipped(lambda x: x, []) == []
    summed = rlax.tree_fn(jnp.sum, axis=0)(tree)
    np.testing.assert_allclose(summed["a"], np.asarray(tree["a"]).sum(0))
    added = rlax.tree_fn(jnp.add)(tree, tree)
    np.testing.assert_allclose(added["b"][0], 2 * tree["b"][0])


def test_tree_split_key(key, tree):
    new_key, keys = rlax.tree_split_key(key, tree)
    expected = jax.random.split(key, 3)
    np.testing.assert_array_equal(new_key, expected[0])
    np.testing.assert_array_equal(keys["a"], expected[1])
    np.testing.assert_array_equal(keys["b"][0], expected[2])


def test_tree_split_leaves(tree):
    parts = rlax.tree_split_leaves(tree)
    assert len(parts) == 3
    np.testing.assert_array_equal(parts[1]["a"], tree["a"][1])
    kept = rlax.tree_split_leaves(tree, axis=0, keepdim=True)
    assert kept[2]["b"][0].shape == (1,)
    with pytest.raises(ValueError, match=r"tree_split_leaves"):
        rlax.tree_split_leaves({"x": jnp.zeros(2), "y": jnp.zeros(3)})


def test_tree_replace_masked(tree):
    mask = jnp.array([True, False, True])
    out = rlax.tree_replace_masked(tree, None, mask)
    np.testing.assert_array_equal(out["a"][0], np.zeros(2))
    np.testing.assert_array_equal(out["a"][1], tree["a"][1])
    other = jax.tree.map(lambda x: x + 10, tree)
    out = rlax.tree_replace_masked(tree, other, mask)
    np.testing.assert_array_equal(out["b"][0], np.where(mask, other["b"][0], tree["b"][0]))


def test_transposes():
    x = {"a": jnp.zeros((2, 3, 4))}
    assert rlax.transpose_first_axis_to_last(x)["a"].shape == (3, 4, 2)
    assert rlax.transpose_last_axis_to_first(x)["a"].shape == (4, 2, 3)
    y = jnp.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(
        rlax.transpose_last_axis_to_first(rlax.transpose_first_axis_to_last(y)), y
    )


_PART2_MODULES = (
    "policy_gradients distributions exploration episodic_memory mpo_ops pop_art policy_targets "
    "general_value_functions model_learning interruptions nested_updates embedding "
    "moving_averages tree_util"
).split()


@pytest.mark.parametrize("module", _PART2_MODULES)
def test_part2_docstring_examples_run(module):
    import doctest
    import importlib

    mod = importlib.import_module(f"rlax_core._src.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{module}: no examples found"
    assert result.failed == 0, f"{module}: {result.failed} docstring example(s) failed"


def test_tree_split_leaves_keeps_numpy_leaves_and_empty_containers():
    parts = rlax.tree_split_leaves({"a": np.arange(6.0).reshape(2, 3), "b": jnp.arange(2)})
    assert isinstance(parts[0]["a"], np.ndarray) and parts[0]["a"].dtype == np.float64
    np.testing.assert_array_equal(parts[1]["a"], [3.0, 4.0, 5.0])
    assert isinstance(parts[1]["b"], jax.Array) and int(parts[1]["b"]) == 1
    # Every leaf is cut into N (= first leaf's size) equal pieces.
    parts = rlax.tree_split_leaves(
        {"a": np.arange(2), "b": np.arange(8.0).reshape(4, 2)}, keepdim=True
    )
    np.testing.assert_array_equal(parts[1]["b"], [[4.0, 5.0], [6.0, 7.0]])
    assert rlax.tree_split_leaves({}) == {} and rlax.tree_split_leaves([]) == []
    with pytest.raises(IndexError, match=r"tree_split_leaves"):
        rlax.tree_split_leaves({"a": None})
    # Works on traced leaves too.
    out = jax.jit(lambda t: rlax.tree_split_leaves(t, axis=1))({"a": jnp.arange(6.0).reshape(2, 3)})
    np.testing.assert_array_equal(out[2]["a"], [2.0, 5.0])


def test_tree_map_zipped_empty_returns_input_and_tree_fn_maps_prefix():
    assert rlax.tree_map_zipped(lambda *x: x, ()) == ()
    # The first tree may be a prefix of the others (jax.tree.map semantics).
    out = rlax.tree_fn(lambda x, y: (x, y))({"a": 1.0}, {"a": (3.0, 4.0)})
    assert out == {"a": (1.0, (3.0, 4.0))}
    with pytest.raises(TypeError, match=r"tree_fn"):
        rlax.tree_fn(lambda: 1)()


def test_transposes_reject_non_array_leaves_with_attribute_error():
    # A Python number has no `ndim` (upstream fails with AttributeError on it).
    for fn in (rlax.transpose_last_axis_to_first, rlax.transpose_first_axis_to_last):
        with pytest.raises(AttributeError, match=r"transpose_.*leaf"):
            fn({"a": 1.0})
