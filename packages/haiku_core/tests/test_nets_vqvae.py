"""Tests for hk.nets.VectorQuantizer and hk.nets.VectorQuantizerEMA."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _np_nearest(x, emb):
    """Index of the nearest codebook column for every row (plain loop)."""
    flat = x.reshape(-1, emb.shape[0])
    out = []
    for row in flat:
        d = [float(((row - emb[:, j]) ** 2).sum()) for j in range(emb.shape[1])]
        out.append(int(np.argmin(d)))
    return np.array(out)


def test_param_tree_snapshot():
    params = hk.transform(lambda x: hk.nets.VectorQuantizer(4, 10, 0.25)(x, True)).init(
        jax.random.PRNGKey(0), jnp.ones([2, 4])
    )
    assert [(m, n, v.shape) for m, d in params.items() for n, v in d.items()] == [
        ("vector_quantizer", "embeddings", (4, 10))
    ]


def test_quantizes_to_nearest_code_and_losses(np_rng):
    x = np_rng.normal(size=(3, 5, 4)).astype(np.float32)
    f = hk.transform(lambda x: hk.nets.VectorQuantizer(4, 6, 0.25)(x, is_training=True))
    params = f.init(jax.random.PRNGKey(0), x)
    emb = np_rng.normal(size=(4, 6)).astype(np.float32)
    params = {"vector_quantizer": {"embeddings": emb}}
    out = f.apply(params, None, x)
    idx = _np_nearest(x, emb)
    np.testing.assert_array_equal(out["encoding_indices"], idx.reshape(3, 5))
    q = emb.T[idx].reshape(x.shape)
    np.testing.assert_allclose(out["quantize"], q, rtol=1e-5, atol=1e-5)
    mse = ((q - x) ** 2).mean()
    np.testing.assert_allclose(out["loss"], mse * 1.25, rtol=1e-5)
    assert out["encodings"].shape == (15, 6) and out["distances"].shape == (15, 6)
    probs = np.bincount(idx, minlength=6) / 15
    np.testing.assert_allclose(
        out["perplexity"], np.exp(-(probs * np.log(probs + 1e-10)).sum()), rtol=1e-5
    )


def test_straight_through_gradient(np_rng):
    x = np_rng.normal(size=(4, 3)).astype(np.float32)
    f = hk.transform(lambda x: hk.nets.VectorQuantizer(3, 5, 0.25)(x, True)["quantize"])
    params = f.init(jax.random.PRNGKey(0), x)
    g = jax.grad(lambda x: jnp.sum(f.apply(params, None, x) * 2.0))(x)
    np.testing.assert_allclose(g, np.full_like(x, 2.0))


def test_ema_state_tree_and_codebook_update(np_rng):
    f = hk.transform_with_state(
        lambda x: hk.nets.VectorQuantizerEMA(2, 3, 0.25, decay=0.5, epsilon=0.0)(x, True)
    )
    x = np.array([[1.0, 0.0], [1.2, 0.0], [0.0, 5.0]], np.float32)
    params, state = f.init(jax.random.PRNGKey(0), x)
    assert params == {}
    assert list(state) == [
        "vector_quantizer_ema",
        "vector_quantizer_ema/~/ema_cluster_size",
        "vector_quantizer_ema/~/ema_dw",
    ]
    assert list(state["vector_quantizer_ema/~/ema_cluster_size"]) == [
        "hidden",
        "average",
        "counter",
    ]
    emb = np.array([[1.0, 0.0, -9.0], [0.0, 5.0, -9.0]], np.float32)  # code 2 unused
    state = dict(state, vector_quantizer_ema={"embeddings": emb})
    state["vector_quantizer_ema/~/ema_cluster_size"] = {
        "hidden": np.zeros(3, np.float32),
        "average": np.zeros(3, np.float32),
        "counter": np.array(0, np.int32),
    }
    state["vector_quantizer_ema/~/ema_dw"] = {
        "hidden": np.zeros((2, 3), np.float32),
        "average": np.zeros((2, 3), np.float32),
        "counter": np.array(0, np.int32),
    }
    out, new_state = f.apply(params, state, None, x)
    np.testing.assert_array_equal(out["encoding_indices"], [0, 0, 1])
    # After one debiased update the averages equal the batch statistics, so each used code
    # becomes the mean of its assigned inputs (cluster sizes renormalised with epsilon=0).
    new_emb = np.asarray(new_state["vector_quantizer_ema"]["embeddings"])
    np.testing.assert_allclose(new_emb[:, 0], [1.1, 0.0], rtol=1e-5)
    np.testing.assert_allclose(new_emb[:, 1], [0.0, 5.0], rtol=1e-5)
    np.testing.assert_allclose(out["loss"], 0.25 * 0.2**2 / 6, rtol=1e-5)  # only x[1] moves
    # Evaluation does not touch the state.
    g = hk.transform_with_state(lambda x: hk.nets.VectorQuantizerEMA(2, 3, 0.25, 0.5)(x, False))
    _, eval_state = g.apply(params, new_state, None, x)
    jax.tree.map(np.testing.assert_array_equal, eval_state, new_state)


def test_errors():
    # dm-haiku fails with a TypeError (a reshape); ours is a ValueError and a TypeError.
    with pytest.raises(TypeError, match=r"vector_quantizer.*embedding_dim=4.*\(2, 3\)"):
        hk.transform(lambda x: hk.nets.VectorQuantizer(4, 10, 0.25)(x, True)).init(
            jax.random.PRNGKey(0), jnp.ones([2, 3])
        )
    with pytest.raises(ValueError, match=r"`decay` is a moving-average weight.*got 1.5"):
        hk.transform_with_state(
            lambda x: hk.nets.VectorQuantizerEMA(4, 10, 0.25, 1.5)(x, True)
        ).init(jax.random.PRNGKey(0), jnp.ones([2, 4]))
