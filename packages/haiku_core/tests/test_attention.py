"""Tests for hk.MultiHeadAttention (NumPy softmax reference, masks, sizes, errors)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import haiku_core as hk

VS = hk.initializers.VarianceScaling


def _mha(**kwargs):
    kw = dict(num_heads=2, key_size=3, w_init=VS(1.0))
    kw.update(kwargs)
    return hk.without_apply_rng(
        hk.transform(lambda q, k, v, m=None: hk.MultiHeadAttention(**kw)(q, k, v, mask=m))
    )


def _np_mha(params, q, k, v, mask, num_heads, key_size, value_size, name="multi_head_attention"):
    """Plain NumPy reference with an explicit per-head loop and a hand-written softmax."""

    def lin(x, n):
        p = params[f"{name}/{n}"]
        y = np.asarray(x, np.float64) @ np.asarray(p["w"], np.float64)
        return y + np.asarray(p["b"], np.float64) if "b" in p else y

    qh = lin(q, "query").reshape(*q.shape[:-1], num_heads, key_size)
    kh = lin(k, "key").reshape(*k.shape[:-1], num_heads, key_size)
    vh = lin(v, "value").reshape(*v.shape[:-1], num_heads, value_size)
    lead = q.shape[:-2]
    t, tk = q.shape[-2], k.shape[-2]
    out = np.zeros((*lead, t, num_heads, value_size))
    for idx in np.ndindex(*lead):
        for h in range(num_heads):
            for i in range(t):
                logits = np.array([qh[idx][i, h] @ kh[idx][j, h] for j in range(tk)]) / np.sqrt(
                    key_size
                )
                if mask is not None:
                    m = np.broadcast_to(mask, (*lead, num_heads, t, tk))[idx][h, i]
                    logits = np.where(m != 0, logits, -1e30)
                e = np.exp(logits - logits.max())
                w = e / e.sum()
                out[idx][i, h] = w @ vh[idx][:, h]
    return lin(out.reshape(*lead, t, num_heads * value_size), "linear")


def test_param_tree_snapshot():
    params = hk.transform(
        lambda x: hk.MultiHeadAttention(2, 4, w_init=VS(), model_size=7)(x, x, x)
    ).init(jax.random.PRNGKey(0), jnp.ones([2, 5, 6]))
    spec = [(m, n, v.shape) for m, d in params.items() for n, v in d.items()]
    assert spec == [
        ("multi_head_attention/query", "w", (6, 8)),
        ("multi_head_attention/query", "b", (8,)),
        ("multi_head_attention/key", "w", (6, 8)),
        ("multi_head_attention/key", "b", (8,)),
        ("multi_head_attention/value", "w", (6, 8)),
        ("multi_head_attention/value", "b", (8,)),
        ("multi_head_attention/linear", "w", (8, 7)),
        ("multi_head_attention/linear", "b", (7,)),
    ]


def _rand_params(params, np_rng):
    return jax.tree.map(lambda p: np_rng.normal(size=p.shape).astype(np.float32) * 0.5, params)


@pytest.mark.parametrize(
    "q_shape,kv_len,d_kv,kwargs,mask_shape",
    [
        ((4, 5), 4, 5, {}, None),
        ((2, 4, 5), 6, 3, dict(value_size=2, model_size=7, num_heads=3), None),
        ((2, 4, 5), 6, 5, {}, (2, 1, 4, 6)),
        ((4, 5), 4, 5, dict(with_bias=False), (1, 4, 4)),
    ],
)
def test_matches_numpy_reference(np_rng, q_shape, kv_len, d_kv, kwargs, mask_shape):
    q = np_rng.normal(size=q_shape).astype(np.float32)
    k = np_rng.normal(size=(*q_shape[:-2], kv_len, d_kv)).astype(np.float32)
    v = np_rng.normal(size=(*q_shape[:-2], kv_len, d_kv + 1)).astype(np.float32)
    mask = None
    if mask_shape is not None:
        mask = (np_rng.uniform(size=mask_shape) > 0.4).astype(np.float32)
        mask[..., 0, :] = 0  # fully masked row -> uniform weights
    f = _mha(**kwargs)
    params = _rand_params(f.init(jax.random.PRNGKey(0), q, k, v, mask), np_rng)
    out = f.apply(params, q, k, v, mask)
    kw = dict(num_heads=2, key_size=3)
    kw.update({n: kwargs[n] for n in ("num_heads",) if n in kwargs})
    expected = _np_mha(params, q, k, v, mask, kw["num_heads"], 3, kwargs.get("value_size", 3))
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_causal_mask_blocks_future(np_rng):
    x = np_rng.normal(size=(5, 4)).astype(np.float32)
    mask = np.tril(np.ones((5, 5)))[None]
    f = _mha()
    params = f.init(jax.random.PRNGKey(0), x, x, x, mask)
    out = f.apply(params, x, x, x, mask)
    x2 = x.copy()
    x2[3:] += 10.0  # changing future positions must not change earlier outputs
    out2 = f.apply(params, x2, x2, x2, mask)
    np.testing.assert_allclose(out[:3], out2[:3], rtol=1e-5, atol=1e-6)


def test_variants_and_grad(np_rng):
    x = np_rng.normal(size=(2, 4, 5)).astype(np.float32)
    f = _mha()
    params = f.init(jax.random.PRNGKey(0), x[0], x[0], x[0])
    fn = lambda x: f.apply(params, x, x, x)
    check_variants(fn, x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)
    g = jax.grad(lambda p: jnp.sum(f.apply(p, x[0], x[0], x[0]) ** 2))(params)
    assert all(np.all(np.isfinite(l)) and np.any(l != 0) for l in jax.tree.leaves(g))


def test_bf16():
    x = jnp.ones([4, 5], jnp.bfloat16)
    f = _mha()
    params = f.init(jax.random.PRNGKey(0), x, x, x)
    assert params["multi_head_attention/query"]["w"].dtype == jnp.bfloat16
    assert f.apply(params, x, x, x).dtype == jnp.bfloat16


@pytest.mark.parametrize(
    "mask_shape,match",
    [
        ((4, 4), r"same rank.*\(2, 4, 4\).*got mask shape \(4, 4\)"),
        ((3, 4, 4), r"\(3, 4, 4\) does not broadcast.*\(2, 4, 4\)"),
        ((1, 4, 5), r"does not broadcast"),
    ],
)
def test_mask_errors_name_module_and_shapes(mask_shape, match):
    x = jnp.ones([4, 5])
    f = hk.transform(
        lambda x, m: hk.MultiHeadAttention(2, 3, w_init=VS(), name="attn")(x, x, x, mask=m)
    )
    with pytest.raises(ValueError, match=r"MultiHeadAttention 'attn'.*`mask`"):
        f.init(jax.random.PRNGKey(0), x, jnp.ones(mask_shape))
    with pytest.raises(ValueError, match=match):
        f.init(jax.random.PRNGKey(0), x, jnp.ones(mask_shape))


def test_input_errors():
    f = _mha()
    with pytest.raises(ValueError, match=r"`query` must have rank >= 2.*\(5,\)"):
        f.init(jax.random.PRNGKey(0), jnp.ones([5]), jnp.ones([4, 5]), jnp.ones([4, 5]))
    with pytest.raises(ValueError, match=r"`key` and `value` must agree"):
        f.init(jax.random.PRNGKey(0), jnp.ones([4, 5]), jnp.ones([4, 5]), jnp.ones([3, 5]))


def test_w_init_errors_and_deprecated_scale():
    x = jnp.ones([4, 5])
    with pytest.raises(ValueError, match="w_init"):
        hk.transform(lambda x: hk.MultiHeadAttention(2, 3)(x, x, x)).init(None, x)
    with pytest.raises(ValueError, match="only `w_init`"):
        hk.transform(lambda x: hk.MultiHeadAttention(2, 3, 1.0, w_init=VS())(x, x, x)).init(None, x)
    with pytest.warns(DeprecationWarning, match="w_init_scale"):
        params = hk.transform(lambda x: hk.MultiHeadAttention(2, 3, 1.0)(x, x, x)).init(
            jax.random.PRNGKey(0), x
        )
    assert params["multi_head_attention/query"]["w"].shape == (5, 6)


def test_fused_path_equals_reference_path(np_rng):
    # The jax.nn.dot_product_attention path (kept for benchmarking; see attention.py)
    # gives the same float32 numbers as the einsum path used by default.
    from haiku_core._src import attention

    q, k, v = (np_rng.normal(size=(2, 5, 2, 4)).astype(np.float32) for _ in range(3))
    mask = np.tril(np.ones((5, 5), bool))[None, None]
    for m in (None, mask):
        np.testing.assert_allclose(
            attention._attend_fused(q, k, v, m, 4),
            attention._attend_einsum(q, k, v, m, 4),
            rtol=1e-6,
            atol=1e-6,
        )
