"""Tests for haiku_core.Embed and EmbedLookupStyle."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify
from shared_testing import check_variants

import haiku_core as hk

TABLE = np.arange(12, dtype=np.float32).reshape(6, 2)  # row r = [2r, 2r + 1]


def _apply(f, params, *args):
    return hk.transform(f).apply(params, None, *args)


def test_param_tree_snapshot_and_default_init():
    t = hk.transform(lambda i: hk.Embed(10, 4)(i))
    params = t.init(jax.random.PRNGKey(0), jnp.zeros([2, 5], jnp.int32))
    assert [(m, [(n, v.shape, str(v.dtype)) for n, v in b.items()]) for m, b in params.items()] == [
        ("embed", [("embeddings", (10, 4), "float32")])
    ]
    e = np.asarray(params["embed"]["embeddings"])
    assert np.abs(e).max() <= 2.0 and e.std() > 0.5  # truncated normal, stddev 1


@pytest.mark.parametrize(
    "style", ["ARRAY_INDEX", "ONE_HOT", "one_hot", hk.EmbedLookupStyle.ONE_HOT]
)
def test_lookup_values(style):
    ids = np.array([[0, 5, 2], [3, 3, 1]], np.int32)
    out = _apply(
        lambda i: hk.Embed(6, 2, lookup_style=style)(i), {"embed": {"embeddings": TABLE}}, ids
    )
    expected = np.array([[[2 * r, 2 * r + 1] for r in row] for row in ids], np.float32)
    assert out.shape == (2, 3, 2) and out.dtype == jnp.float32
    np.testing.assert_array_equal(out, expected)


def test_call_time_lookup_style_and_precision_override():
    def f(i):
        e = hk.Embed(6, 2)
        return e(i, lookup_style="ONE_HOT", precision=jax.lax.Precision.HIGHEST)

    ids = jnp.array([4, 1])
    jaxpr = str(jax.make_jaxpr(hk.transform(f).apply)({"embed": {"embeddings": TABLE}}, None, ids))
    assert "dot_general" in jaxpr and "HIGHEST" in jaxpr
    np.testing.assert_array_equal(
        _apply(f, {"embed": {"embeddings": TABLE}}, ids), [[8.0, 9.0], [2.0, 3.0]]
    )


def test_embedding_matrix_sets_sizes_values_and_dtype():
    matrix = TABLE.astype(np.float16)

    def f(i):
        e = hk.Embed(embedding_matrix=matrix)
        out = e(i)
        assert (e.vocab_size, e.embed_dim) == (6, 2)
        return out, e.embeddings

    t = hk.transform(f)
    params = t.init(None, jnp.array([1]))
    assert params["embed"]["embeddings"].dtype == jnp.float16
    np.testing.assert_array_equal(params["embed"]["embeddings"], matrix)
    out, table = t.apply(params, None, jnp.array([1]))
    np.testing.assert_array_equal(out, [[2.0, 3.0]])
    assert table.shape == (6, 2)


def test_list_and_scalar_ids():
    p = {"embed": {"embeddings": TABLE}}
    np.testing.assert_array_equal(_apply(lambda: hk.Embed(6, 2)([1, 2]), p), TABLE[[1, 2]])
    np.testing.assert_array_equal(_apply(lambda: hk.Embed(6, 2)(np.int32(3)), p), TABLE[3])


@pytest.mark.parametrize("style", ["ARRAY_INDEX", "ONE_HOT"])
def test_gradient_accumulates_per_id(style):
    t = hk.without_apply_rng(hk.transform(lambda i: hk.Embed(6, 2, lookup_style=style)(i)))
    ids = jnp.array([1, 1, 3])
    g = jax.grad(lambda p: t.apply(p, ids).sum())({"embed": {"embeddings": jnp.asarray(TABLE)}})
    expected = np.zeros((6, 2), np.float32)
    expected[1] = 2.0
    expected[3] = 1.0
    np.testing.assert_array_equal(g["embed"]["embeddings"], expected)


def test_jit_and_vmap_variants():
    t = hk.without_apply_rng(hk.transform(lambda i: hk.Embed(6, 2, lookup_style="ONE_HOT")(i)))
    p = {"embed": {"embeddings": jnp.asarray(TABLE)}}
    ids = jnp.array([[0, 1], [5, 4], [2, 2]])
    out = check_variants(lambda i: t.apply(p, i), ids[0], vmap_args=(ids,))
    np.testing.assert_array_equal(out, TABLE[[0, 1]])


def test_traced_out_of_range_ids_follow_documented_policy():
    """Under jit: ARRAY_INDEX wraps negatives >= -V and clamps others; ONE_HOT gives zeros."""
    ids = jnp.array([0, 5, 6, 100, -1, -7], jnp.int32)
    p = {"embed": {"embeddings": TABLE}}
    arr = jax.jit(hk.transform(lambda i: hk.Embed(6, 2)(i)).apply)(p, None, ids)
    np.testing.assert_array_equal(arr, TABLE[[0, 5, 5, 5, 5, 0]])
    one = jax.jit(hk.transform(lambda i: hk.Embed(6, 2, lookup_style="ONE_HOT")(i)).apply)(
        p, None, ids
    )
    np.testing.assert_array_equal(one, np.concatenate([TABLE[[0, 5]], np.zeros((4, 2))]))


def test_checkify_detects_out_of_range_ids_under_jit():
    f = hk.transform(lambda i: hk.Embed(6, 2)(i)).apply
    checked = jax.jit(checkify.checkify(f, errors=checkify.index_checks))
    p = {"embed": {"embeddings": TABLE}}
    err, _ = checked(p, None, jnp.array([1, 7]))
    assert "out of bounds" in err.get()
    err, out = checked(p, None, jnp.array([1, 5]))
    assert err.get() is None
    np.testing.assert_array_equal(out, TABLE[[1, 5]])


@pytest.mark.parametrize(
    "style,ids,expected_rows",
    [
        # ARRAY_INDEX clamps like an XLA gather; ONE_HOT gives a zero row. dm-haiku 0.0.17
        # returns exactly these rows for host (list / NumPy) ids, without raising.
        ("ARRAY_INDEX", [0, 6], [0, 5]),
        ("ARRAY_INDEX", np.array([[1, -7]]), [[1, 0]]),
        ("ONE_HOT", [-1, 2], [None, 2]),
        ("ONE_HOT", np.array([9, 9, 0]), [None, None, 0]),
    ],
)
def test_host_out_of_range_ids_follow_device_semantics(style, ids, expected_rows):
    out = _apply(lambda: hk.Embed(6, 2, lookup_style=style)(ids), {"embed": {"embeddings": TABLE}})
    zero = np.zeros(TABLE.shape[1], TABLE.dtype)
    expected = np.array(
        jax.tree.map(
            lambda r: zero if r is None else TABLE[r], expected_rows, is_leaf=lambda r: r is None
        )
    )
    np.testing.assert_array_equal(out, expected)


def test_host_negative_ids_in_range_index_from_the_end():
    out = _apply(lambda: hk.Embed(6, 2)(np.array([-1, -6])), {"embed": {"embeddings": TABLE}})
    np.testing.assert_array_equal(out, TABLE[[5, 0]])


def test_non_integer_ids_raise():
    with pytest.raises(ValueError, match=r"Embed 'embed'.*`ids`.*integer.*float32"):
        _apply(lambda i: hk.Embed(6, 2)(i), {"embed": {"embeddings": TABLE}}, jnp.array([1.0]))


def test_constructor_errors():
    def construct(**kw):
        hk.transform(lambda: hk.Embed(**kw)).init(None)

    with pytest.raises(ValueError, match=r"embedding_matrix.*embed_dim.*vocab_size"):
        construct(vocab_size=10)
    with pytest.raises(ValueError, match=r"`vocab_size`=5.*\(6, 2\)"):
        construct(vocab_size=5, embedding_matrix=TABLE)
    with pytest.raises(ValueError, match=r"`embed_dim`=3.*\(6, 2\)"):
        construct(embed_dim=3, embedding_matrix=TABLE)
    with pytest.raises(ValueError, match=r"rank 2.*\(3,\)"):
        construct(embedding_matrix=np.ones(3))
    with pytest.raises(IndexError, match=r"rank 2.*\(3,\)"):  # dm-haiku's type
        construct(embedding_matrix=np.ones(3))
    # An unknown style name is accepted by the constructor and rejected when called.
    construct(vocab_size=6, embed_dim=2, lookup_style="FOO")


def test_unknown_lookup_style_raises_attribute_error_on_call():
    # dm-haiku 0.0.17 raises AttributeError (at call time) for an unknown style name.
    params = {"embed": {"embeddings": TABLE}}
    with pytest.raises(AttributeError, match=r"Embed 'embed'.*`lookup_style`.*'FOO'"):
        _apply(lambda: hk.Embed(6, 2, lookup_style="FOO")(np.array([1])), params)
    with pytest.raises(AttributeError, match=r"`lookup_style`.*'bar'"):
        _apply(lambda: hk.Embed(6, 2)(np.array([1]), lookup_style="bar"), params)
    with pytest.raises(NotImplementedError, match=r"`lookup_style`.*3"):
        _apply(lambda: hk.Embed(6, 2, lookup_style=3)(np.array([1])), params)


def test_lookup_style_name_is_case_insensitive():
    params = {"embed": {"embeddings": TABLE}}
    out = _apply(lambda: hk.Embed(6, 2, lookup_style="one_hot")(np.array([4, 1])), params)
    np.testing.assert_array_equal(out, TABLE[[4, 1]])


def test_lookup_style_enum():
    assert [s.name for s in hk.EmbedLookupStyle] == ["ARRAY_INDEX", "ONE_HOT"]
    assert hk.EmbedLookupStyle.ARRAY_INDEX.value == 1 and hk.EmbedLookupStyle.ONE_HOT.value == 2
