"""Tests for haiku_core depthwise convolutions: DepthwiseConv1D/2D/3D, SeparableDepthwiseConv2D."""

from __future__ import annotations

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing import assert_grads_numerical, check_variants

import haiku_core as hk


def spec(f, *args):
    """[(module, name, shape, dtype)] of ``init`` in creation order, without compiling."""
    names = []

    def g(key, *a):
        params = hk.transform(f).init(key, *a)
        flat = [(m, n) for m, b in params.items() for n in b]
        names.extend(flat)
        return [params[m][n] for m, n in flat]

    shapes = jax.eval_shape(g, jax.random.PRNGKey(0), *args)
    return [(m, n, tuple(s.shape), str(s.dtype)) for (m, n), s in zip(names, shapes, strict=True)]


def apply(f, params, *args):
    return hk.transform(f).apply(params, None, *args)


def np_depthwise(x, w, stride, pads, rate):
    """Channels-last depthwise conv by loops. x [B, *S, C], w [*K, 1, C*m]."""
    n = x.ndim - 2
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    kshape, cout = w.shape[:n], w.shape[-1]
    mult = cout // x.shape[-1]
    eff = [(k - 1) * r + 1 for k, r in zip(kshape, rate, strict=True)]
    out_sp = [(x.shape[1 + d] - eff[d]) // stride[d] + 1 for d in range(n)]
    out = np.zeros((x.shape[0], *out_sp, cout))
    for b in range(x.shape[0]):
        for pos in itertools.product(*[range(o) for o in out_sp]):
            for o in range(cout):
                c = o // mult  # output channel o reads input channel o // m
                acc = 0.0
                for kpos in itertools.product(*[range(k) for k in kshape]):
                    idx = tuple(pos[d] * stride[d] + kpos[d] * rate[d] for d in range(n))
                    acc += x[(b, *idx, c)] * w[(*kpos, 0, o)]
                out[(b, *pos, o)] = acc
    return out


def same_pads(size, k, s, r=1):
    eff = (k - 1) * r + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return (total // 2, total - total // 2)


# ----------------------------------------------------------------------------- param trees


@pytest.mark.parametrize(
    "make,shape,expected",
    [
        (
            lambda: hk.DepthwiseConv1D(2, 3),
            (2, 8, 3),
            [("depthwise_conv1_d", "w", (3, 1, 6)), ("depthwise_conv1_d", "b", (6,))],
        ),
        (
            lambda: hk.DepthwiseConv2D(2, 3),
            (2, 8, 8, 3),
            [("depthwise_conv2_d", "w", (3, 3, 1, 6)), ("depthwise_conv2_d", "b", (6,))],
        ),
        (
            lambda: hk.DepthwiseConv2D(2, 3, data_format="NCHW"),
            (2, 3, 8, 8),
            [("depthwise_conv2_d", "w", (3, 3, 1, 6)), ("depthwise_conv2_d", "b", (6, 1, 1))],
        ),
        (
            lambda: hk.DepthwiseConv1D(2, 3, data_format="NCW"),
            (2, 3, 8),
            [("depthwise_conv1_d", "w", (3, 1, 6)), ("depthwise_conv1_d", "b", (6, 1))],
        ),
        (
            lambda: hk.DepthwiseConv3D(2, 3),
            (2, 4, 4, 4, 3),
            [("depthwise_conv3_d", "w", (3, 3, 3, 1, 6)), ("depthwise_conv3_d", "b", (6,))],
        ),
        (
            lambda: hk.SeparableDepthwiseConv2D(2, 3),
            (2, 8, 8, 3),
            [
                ("separable_depthwise_conv2_d/~/depthwise_conv2_d", "w", (3, 1, 1, 6)),
                ("separable_depthwise_conv2_d/~/depthwise_conv2_d_1", "w", (1, 3, 1, 6)),
                ("separable_depthwise_conv2_d/~/depthwise_conv2_d_1", "b", (6,)),
            ],
        ),
    ],
)
def test_param_tree_snapshot(make, shape, expected):
    assert spec(lambda x: make()(x), jnp.ones(shape)) == [
        (m, n, s, "float32") for m, n, s in expected
    ]


def test_params_follow_input_dtype():
    got = spec(lambda x: hk.DepthwiseConv2D(2, 3)(x), jnp.ones([1, 4, 4, 3], jnp.bfloat16))
    assert {d for *_, d in got} == {"bfloat16"}


def test_default_init_stddev_uses_kernel_size_only():
    t = hk.transform(lambda x: hk.DepthwiseConv2D(40, 5)(x))
    w = np.asarray(t.init(jax.random.PRNGKey(0), jnp.ones([1, 5, 5, 20]))["depthwise_conv2_d"]["w"])
    stddev = 1 / 5.0  # 1/sqrt(5 * 5), independent of the channel count
    assert np.abs(w).max() <= 2 * stddev + 1e-6
    assert abs(w.std() - 0.8796 * stddev) < 0.05 * stddev


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "n,kw,shape,mult",
    [
        (1, dict(kernel_shape=3), (2, 6, 3), 2),
        (1, dict(kernel_shape=2, stride=2, rate=2, padding="VALID"), (1, 9, 2), 1),
        (2, dict(kernel_shape=(3, 2), stride=(2, 1)), (1, 5, 4, 2), 3),
        (2, dict(kernel_shape=3, padding=[(0, 2), (1, 1)]), (1, 4, 4, 2), 2),
        (3, dict(kernel_shape=2), (1, 3, 3, 3, 2), 2),
    ],
)
def test_depthwise_matches_numpy_loop(n, kw, shape, mult, np_rng):
    cls = {1: hk.DepthwiseConv1D, 2: hk.DepthwiseConv2D, 3: hk.DepthwiseConv3D}[n]
    name = {1: "depthwise_conv1_d", 2: "depthwise_conv2_d", 3: "depthwise_conv3_d"}[n]
    k = kw["kernel_shape"]
    k = (k,) * n if isinstance(k, int) else tuple(k)
    s = kw.get("stride", 1)
    s = (s,) * n if isinstance(s, int) else tuple(s)
    r = kw.get("rate", 1)
    r = (r,) * n if isinstance(r, int) else tuple(r)
    padding = kw.get("padding", "SAME")
    if padding == "SAME":
        pads = [
            same_pads(sz, kk, ss, rr) for sz, kk, ss, rr in zip(shape[1:-1], k, s, r, strict=True)
        ]
    elif padding == "VALID":
        pads = [(0, 0)] * n
    else:
        pads = list(padding)
    cout = shape[-1] * mult
    x = np_rng.normal(size=shape).astype(np.float32)
    w = np_rng.normal(size=(*k, 1, cout)).astype(np.float32)
    b = np_rng.normal(size=(cout,)).astype(np.float32)
    out = apply(lambda x: cls(mult, **kw)(x), {name: {"w": w, "b": b}}, x)
    expected = np_depthwise(x, w, s, pads, r) + b
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_depthwise_padding_function(np_rng):
    x = np_rng.normal(size=(1, 6, 2)).astype(np.float32)
    p = {"depthwise_conv1_d": {"w": np_rng.normal(size=(3, 1, 2)).astype(np.float32)}}
    out = apply(lambda x: hk.DepthwiseConv1D(1, 3, padding=hk.pad.causal, with_bias=False)(x), p, x)
    expected = np_depthwise(x, p["depthwise_conv1_d"]["w"], (1,), [(2, 0)], (1,))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 2])
def test_depthwise_channels_first_matches_channels_last(n, np_rng):
    cls = {1: hk.DepthwiseConv1D, 2: hk.DepthwiseConv2D}[n]
    name = {1: "depthwise_conv1_d", 2: "depthwise_conv2_d"}[n]
    fmt = {1: "NCW", 2: "NCHW"}[n]
    x = np_rng.normal(size=(2, *([5] * n), 3)).astype(np.float32)
    w = np_rng.normal(size=(*([3] * n), 1, 6)).astype(np.float32)
    b = np_rng.normal(size=(6,)).astype(np.float32)
    last = apply(lambda x: cls(2, 3)(x), {name: {"w": w, "b": b}}, x)
    perm = (0, n + 1, *range(1, n + 1))
    first = apply(
        lambda x: cls(2, 3, data_format=fmt)(x),
        {name: {"w": w, "b": b.reshape(6, *([1] * n))}},
        x.transpose(perm),
    )
    np.testing.assert_allclose(first, np.asarray(last).transpose(perm), rtol=1e-5, atol=1e-5)


def test_depthwise_unbatched_input(np_rng):
    x = np_rng.normal(size=(5, 5, 2)).astype(np.float32)
    p = {
        "depthwise_conv2_d": {
            "w": np_rng.normal(size=(3, 3, 1, 4)).astype(np.float32),
            "b": np.ones(4, np.float32),
        }
    }
    f = lambda x: hk.DepthwiseConv2D(2, 3)(x)
    np.testing.assert_allclose(apply(f, p, x), apply(f, p, x[None])[0], rtol=1e-6)


def test_separable_equals_two_depthwise_passes(np_rng):
    x = np_rng.normal(size=(1, 7, 6, 2)).astype(np.float32)
    w1 = np_rng.normal(size=(3, 1, 1, 4)).astype(np.float32)
    w2 = np_rng.normal(size=(1, 5, 1, 4)).astype(np.float32)
    b = np_rng.normal(size=(4,)).astype(np.float32)
    params = {
        "separable_depthwise_conv2_d/~/depthwise_conv2_d": {"w": w1},
        "separable_depthwise_conv2_d/~/depthwise_conv2_d_1": {"w": w2, "b": b},
    }
    out = apply(lambda x: hk.SeparableDepthwiseConv2D(2, [3, 5], stride=[2, 1])(x), params, x)
    h = np_depthwise(x, w1, (2, 1), [same_pads(7, 3, 2), (0, 0)], (1, 1))
    expected = np_depthwise(h, w2, (1, 1), [(0, 0), same_pads(6, 5, 1)], (1, 1)) + b
    assert out.shape == (1, 4, 6, 4)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_depthwise_jit_vmap_grads(np_rng):
    p = {
        "depthwise_conv1_d": {
            "w": jnp.asarray(np_rng.normal(size=(3, 1, 4)), jnp.float32),
            "b": jnp.asarray(np_rng.normal(size=(4,)), jnp.float32),
        }
    }
    f = hk.without_apply_rng(hk.transform(lambda x: hk.DepthwiseConv1D(2, 3)(x))).apply
    x = jnp.asarray(np_rng.normal(size=(3, 5, 2)), jnp.float32)
    check_variants(lambda x: f(p, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)
    assert_grads_numerical(lambda p, x: f(p, x), (p, x), eps=1e-2, rtol=2e-2, atol=2e-2)


def test_depthwise_bf16_compute_close_to_float32(np_rng):
    x = np_rng.normal(size=(1, 5, 5, 2)).astype(np.float32)
    w = np_rng.normal(size=(3, 3, 1, 2)).astype(np.float32) * 0.3
    p = {
        "depthwise_conv2_d": {"w": jnp.asarray(w, jnp.bfloat16), "b": jnp.zeros([2], jnp.bfloat16)}
    }
    out = apply(lambda x: hk.DepthwiseConv2D(1, 3)(x), p, jnp.asarray(x, jnp.bfloat16))
    assert out.dtype == jnp.bfloat16
    expected = np_depthwise(x, w, (1, 1), [(1, 1), (1, 1)], (1, 1))
    np.testing.assert_allclose(np.asarray(out, np.float32), expected, rtol=5e-2, atol=5e-2)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make,shape,name",
    [
        (lambda: hk.DepthwiseConv2D(2, 3), (8, 3), r"DepthwiseConv2D 'depthwise_conv2_d'"),
        (lambda: hk.DepthwiseConv2D(2, 3), (1, 1, 4, 4, 3), r"DepthwiseConv2D"),
        (lambda: hk.SeparableDepthwiseConv2D(2, 3), (4, 3), r"separable_depthwise_conv2_d"),
    ],
)
def test_wrong_rank_raises(make, shape, name):
    with pytest.raises(ValueError, match=name + r".*`inputs`.*rank.*" + re.escape(str(shape))):
        spec(lambda x: make()(x), jnp.ones(shape))


def test_channel_count_disagreeing_with_params_raises_clearly():
    t = hk.transform(lambda x: hk.DepthwiseConv2D(2, 3)(x))
    params = {"depthwise_conv2_d": {"w": jnp.zeros([3, 3, 1, 6]), "b": jnp.zeros([6])}}
    with pytest.raises(
        ValueError,
        match=r"depthwise_conv2_d.*`inputs`.*\(1, 4, 4, 4\).*\(3, 3, 1, 8\).*\(3, 3, 1, 6\)",
    ):
        t.apply(params, None, jnp.ones([1, 4, 4, 4]))


def test_bad_constructor_arguments():
    def construct(make):
        hk.transform(lambda: make()).init(None)

    with pytest.raises(ValueError, match=r"DepthwiseConv2D.*`stride`.*length 1 or 2"):
        construct(lambda: hk.DepthwiseConv2D(2, 3, stride=(1, 2, 3)))
    with pytest.raises(ValueError, match=r"`padding`.*'BAD'"):
        construct(lambda: hk.DepthwiseConv1D(2, 3, padding="BAD"))
