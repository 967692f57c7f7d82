"""Tests for hk.data_structures: behaviour tables, FlatMap, sizes, errors."""

from __future__ import annotations

import copy
import pickle
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from haiku_core import data_structures as ds
from haiku_core._src.data_structures import FlatMap


def _params():
    return {
        "mlp/~/linear_1": {"w": np.ones((3, 2), np.float32), "b": np.zeros(2, np.float32)},
        "mlp/~/linear_0": {"w": np.ones((4, 3), np.float32), "b": np.zeros(3, np.float32)},
        "bn": {"scale": np.ones(3, np.float16)},
    }


def _keys(structure):
    """Nested key lists, in order, for order-sensitive comparisons."""
    return [(m, list(b)) for m, b in structure.items()]


# --- traverse -----------------------------------------------------------------------


def test_traverse_sorted_by_module_then_name():
    got = [(m, n) for m, n, _ in ds.traverse(_params())]
    assert got == [
        ("bn", "scale"),
        ("mlp/~/linear_0", "b"),
        ("mlp/~/linear_0", "w"),
        ("mlp/~/linear_1", "b"),
        ("mlp/~/linear_1", "w"),
    ]


def test_traverse_yields_values():
    p = {"a": {"x": 1, "y": 2}}
    assert list(ds.traverse(p)) == [("a", "x", 1), ("a", "y", 2)]


def test_traverse_non_two_level_raises():
    with pytest.raises(TypeError, match=r"traverse.*'x'.*int"):
        list(ds.traverse({"x": 3}))


# --- filter / partition / partition_n / map ---------------------------------------------


def test_filter_by_name_keeps_order_and_drops_empty_modules():
    p = _params()
    out = ds.filter(lambda m, n, v: n == "w", p)
    assert _keys(out) == [("mlp/~/linear_0", ["w"]), ("mlp/~/linear_1", ["w"])]
    assert out["mlp/~/linear_0"]["w"] is p["mlp/~/linear_0"]["w"]  # leaves shared
    assert type(out) is dict and type(out["mlp/~/linear_0"]) is dict


def test_filter_callback_arguments():
    seen = []
    ds.filter(lambda m, n, v: seen.append((m, n, v)) or True, {"a": {"x": 7}})
    assert seen == [("a", "x", 7)]


def test_filter_nothing_and_everything():
    p = _params()
    assert ds.filter(lambda m, n, v: False, p) == {}
    out = ds.filter(lambda m, n, v: True, p)
    assert {(m, n) for m, n, _ in ds.traverse(out)} == {(m, n) for m, n, _ in ds.traverse(p)}


def test_filter_by_value():
    out = ds.filter(lambda m, n, v: v.dtype == np.float16, _params())
    assert _keys(out) == [("bn", ["scale"])]


def test_partition_splits_by_module():
    p = _params()
    a, b = ds.partition(lambda m, n, v: m.startswith("mlp"), p)
    assert _keys(a) == [("mlp/~/linear_0", ["b", "w"]), ("mlp/~/linear_1", ["b", "w"])]
    assert _keys(b) == [("bn", ["scale"])]


def test_partition_then_merge_roundtrip():
    p = _params()
    a, b = ds.partition(lambda m, n, v: n == "b", p)
    merged = ds.merge(a, b)
    assert {(m, n): v for m, n, v in ds.traverse(merged)} == {
        (m, n): v for m, n, v in ds.traverse(p)
    }


def test_partition_n_buckets():
    p = {"a": {"x": 0, "y": 1}, "b": {"x": 2}, "c": {"z": 4}}
    outs = ds.partition_n(lambda m, n, v: v % 3, p, 3)
    assert outs == ({"a": {"x": 0}}, {"a": {"y": 1}, "c": {"z": 4}}, {"b": {"x": 2}})
    assert ds.partition_n(lambda m, n, v: 0, p, 2)[1] == {}


@pytest.mark.parametrize("bad", [3, -1, 1.0])
def test_partition_n_out_of_range_raises(bad):
    with pytest.raises(ValueError, match=rf"partition_n.*\[0, 3\).*{bad}.*'a'.*'x'"):
        ds.partition_n(lambda m, n, v: bad, {"a": {"x": 0}}, 3)


def test_map_applies_fn_with_names():
    p = {"b": {"w": 1}, "a": {"y": 2, "x": 3}}
    out = ds.map(lambda m, n, v: f"{m}.{n}={v}", p)
    assert out == {"a": {"x": "a.x=3", "y": "a.y=2"}, "b": {"w": "b.w=1"}}
    assert _keys(out) == [("a", ["x", "y"]), ("b", ["w"])]


def test_map_over_arrays():
    out = ds.map(lambda m, n, v: v.shape, _params())
    assert out["mlp/~/linear_0"] == {"b": (3,), "w": (4, 3)}


# --- merge ------------------------------------------------------------------------------


def test_merge_later_wins_and_order():
    out = ds.merge({"b": {"y": 1, "x": 2}}, {"a": {"x": 3}}, {"b": {"y": 9}})
    assert out == {"b": {"x": 2, "y": 9}, "a": {"x": 3}}
    assert _keys(out) == [("b", ["x", "y"]), ("a", ["x"])]


def test_merge_no_structures():
    assert ds.merge() == {}


def test_merge_check_duplicates_same_shape_dtype_ok():
    a = {"m": {"w": jnp.ones(2)}}
    b = {"m": {"w": jnp.zeros(2)}}
    out = ds.merge(a, b, check_duplicates=True)
    np.testing.assert_array_equal(out["m"]["w"], [0.0, 0.0])


@pytest.mark.parametrize(
    "second,got",
    [
        (np.zeros(3, np.float32), r"float32\[3\]"),
        (np.zeros(2, np.int32), r"int32\[2\]"),
        (1.0, r"1\.0"),
    ],
)
def test_merge_check_duplicates_mismatch_raises(second, got):
    a = {"m": {"w": np.ones(2, np.float32)}}
    with pytest.raises(ValueError, match=rf"merge.*m/w.*float32\[2\] vs {got}"):
        ds.merge(a, {"m": {"w": second}}, check_duplicates=True)
    # Without the check the later one wins silently.
    assert ds.merge(a, {"m": {"w": second}})["m"]["w"] is second


def test_merge_check_duplicates_non_arrays_not_compared():
    assert ds.merge({"a": {"x": 1}}, {"a": {"x": 2}}, check_duplicates=True) == {"a": {"x": 2}}


# --- is_subset --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subset,expected",
    [
        ({"bn": {"scale": None}}, True),
        ({"bn": {"offset": None}}, False),
        ({"other": {"w": None}}, False),
        ({}, True),
        ({"other": {}}, True),  # no entries -> vacuously a subset
        (_params(), True),
    ],
)
def test_is_subset(subset, expected):
    assert ds.is_subset(subset=subset, superset=_params()) is expected


def test_is_subset_keyword_only():
    with pytest.raises(TypeError):
        ds.is_subset({}, {})  # type: ignore[misc]


# --- sizes ------------------------------------------------------------------------------


def test_tree_size_and_bytes_hand_computed():
    p = _params()
    # sizes: 6 + 2 + 12 + 3 + 3 = 26; bytes: 23 * 4 (float32) + 3 * 2 (float16) = 98
    assert ds.tree_size(p) == 26
    assert ds.tree_bytes(p) == 98


def test_tree_size_other_leaf_kinds():
    tree = [jnp.ones((2, 2), jnp.bfloat16), jax.ShapeDtypeStruct((5,), jnp.int8), None]
    assert ds.tree_size(tree) == 9
    assert ds.tree_bytes(tree) == 4 * 2 + 5 * 1
    assert ds.tree_size({}) == 0 and ds.tree_bytes({}) == 0
    assert ds.tree_size(np.zeros(())) == 1


def test_tree_size_non_array_leaf_raises():
    with pytest.raises(TypeError, match=r"tree_size.*float"):
        ds.tree_size({"a": 1.0})
    with pytest.raises(TypeError, match=r"tree_bytes.*int"):
        ds.tree_bytes([2])


# --- conversions ------------------------------------------------------------------------


def test_to_immutable_dict_is_read_only_and_nested():
    im = ds.to_immutable_dict(_params())
    assert isinstance(im, FlatMap) and isinstance(im["bn"], FlatMap)
    with pytest.raises(TypeError):
        im["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        im["bn"]["scale"] = 1  # type: ignore[index]
    assert list(im) == ["mlp/~/linear_1", "mlp/~/linear_0", "bn"]  # insertion order kept


def test_flatmap_pytree_sorted_leaves_and_paths():
    im = ds.to_immutable_dict({"b": {"y": 1, "x": 2}, "a": {"z": 3}})
    assert jax.tree.leaves(im) == [3, 2, 1]
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_leaves_with_path(im)]
    assert paths == ["['a']['z']", "['b']['x']", "['b']['y']"]
    doubled = jax.tree.map(lambda v: 2 * v, im)
    assert isinstance(doubled, FlatMap) and doubled == {"a": {"z": 6}, "b": {"x": 4, "y": 2}}


def test_flatmap_structure_independent_of_order_and_jittable():
    a = ds.to_immutable_dict({"x": 1.0, "y": 2.0})
    b = ds.to_immutable_dict({"y": 2.0, "x": 1.0})
    assert jax.tree.structure(a) == jax.tree.structure(b)
    assert a == b and hash(a) == hash(b)
    out = jax.jit(lambda t: jax.tree.map(lambda v: v + 1, t))(a)
    assert isinstance(out, FlatMap) and float(out["x"]) == 2.0


def test_flatmap_mapping_protocol():
    im = ds.to_immutable_dict({"a": 1})
    assert len(im) == 1 and "a" in im and im.get("b") is None
    assert im == {"a": 1} and im != {"a": 2}
    assert repr(im) == "FlatMap({'a': 1})"


def test_flatmap_pickles_and_copies_to_plain_dicts():
    im = ds.to_immutable_dict({"a": {"b": 1}})
    for out in [pickle.loads(pickle.dumps(im)), copy.deepcopy(im)]:
        assert type(out) is dict and type(out["a"]) is dict and out == {"a": {"b": 1}}


def test_to_mutable_dict_converts_flatmaps_shares_plain_dicts():
    im = ds.to_immutable_dict({"b": {"z": 1, "y": 2}, "a": {"x": {"deep": 3}}})
    mu = ds.to_mutable_dict(im)
    assert type(mu) is dict and type(mu["b"]) is dict and type(mu["a"]["x"]) is dict
    assert _keys(mu) == [("b", ["z", "y"]), ("a", ["x"])]
    mu["c"] = {}
    assert "c" not in im
    plain = {"a": {"x": 1}}
    out = ds.to_mutable_dict(plain)
    assert out is not plain and out["a"] is plain["a"]


def test_to_haiku_dict_deep_copies_mappings():
    plain = {"a": {"x": {"y": 1}}}
    out = ds.to_haiku_dict(plain)
    assert out == plain and out["a"] is not plain["a"] and out["a"]["x"] is not plain["a"]["x"]
    proxy = types.MappingProxyType({"a": types.MappingProxyType({"b": 1})})
    out = ds.to_haiku_dict(proxy)
    assert type(out) is dict and type(out["a"]) is dict
    assert ds.to_haiku_dict({"a": 1}) == {"a": 1}


@pytest.mark.parametrize("fn", [ds.to_immutable_dict, ds.to_mutable_dict, ds.to_haiku_dict])
def test_conversions_reject_non_mappings(fn):
    with pytest.raises(TypeError, match=rf"{fn.__name__}.*Mapping.*list"):
        fn([1, 2])


# --- properties -------------------------------------------------------------------------

_names = st.text(alphabet="abc/~_0", min_size=1, max_size=4)
_structures = st.dictionaries(
    _names, st.dictionaries(_names, st.integers(-5, 5), min_size=1, max_size=3), max_size=4
)


def _entries(structure):
    return {(m, n): v for m, n, v in ds.traverse(structure)}


@given(structure=_structures, n=st.integers(1, 4))
def test_partition_n_is_a_disjoint_cover(structure, n):
    parts = ds.partition_n(lambda m, name, v: abs(v) % n, structure, n)
    assert len(parts) == n
    seen: dict = {}
    for i, part in enumerate(parts):
        for key, v in _entries(part).items():
            assert key not in seen and abs(v) % n == i
            seen[key] = v
    assert seen == _entries(structure)
    assert _entries(ds.merge(*parts)) == _entries(structure)


@given(structure=_structures)
def test_partition_filter_map_agree(structure):
    pred = lambda m, n, v: v > 0
    yes, no = ds.partition(pred, structure)
    assert yes == ds.filter(pred, structure)
    assert no == ds.filter(lambda m, n, v: not pred(m, n, v), structure)
    assert _entries(ds.map(lambda m, n, v: v * 2, structure)) == {
        k: v * 2 for k, v in _entries(structure).items()
    }
    assert ds.is_subset(subset=yes, superset=structure)
    assert ds.is_subset(subset=structure, superset=ds.merge(yes, no))
