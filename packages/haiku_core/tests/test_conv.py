"""Tests for haiku_core convolutions: ConvND, Conv1D/2D/3D, ConvNDTranspose and 1D/2D/3D."""

from __future__ import annotations

import itertools
import math
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


def out_struct(f, *args):
    """Shape/dtype of ``apply(init(...))`` without compiling."""
    t = hk.transform(f)
    return jax.eval_shape(lambda *a: t.apply(t.init(jax.random.PRNGKey(0), *a), None, *a), *args)


def apply(f, params, *args):
    return hk.transform(f).apply(params, None, *args)


# ----------------------------------------------------------------------------- NumPy reference


def same_pads(size, k, s, r=1):
    """TF/XLA 'SAME': output ceil(size / s); the extra padding goes after."""
    eff = (k - 1) * r + 1
    out = -(-size // s)
    total = max((out - 1) * s + eff - size, 0)
    return (total // 2, total - total // 2)


def np_conv(x, w, stride, pads, rate, groups=1):
    """Channels-last N-d cross-correlation by explicit loops. x [B, *S, C], w [*K, C/g, O]."""
    n = x.ndim - 2
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    kshape, cin_g, cout = w.shape[:n], w.shape[n], w.shape[n + 1]
    out_g = cout // groups
    eff = [(k - 1) * r + 1 for k, r in zip(kshape, rate, strict=True)]
    out_sp = [(x.shape[1 + d] - eff[d]) // stride[d] + 1 for d in range(n)]
    out = np.zeros((x.shape[0], *out_sp, cout))
    for b in range(x.shape[0]):
        for pos in itertools.product(*[range(o) for o in out_sp]):
            for o in range(cout):
                g = o // out_g
                acc = 0.0
                for kpos in itertools.product(*[range(k) for k in kshape]):
                    idx = tuple(pos[d] * stride[d] + kpos[d] * rate[d] for d in range(n))
                    for ci in range(cin_g):
                        acc += x[(b, *idx, g * cin_g + ci)] * w[(*kpos, ci, o)]
                out[(b, *pos, o)] = acc
    return out


def np_conv_transpose(x, w, stride, pads):
    """Channels-last transposed conv: dilate x by stride, pad, correlate with w [*K, O, I]."""
    n = x.ndim - 2
    dil = np.zeros(
        (
            x.shape[0],
            *[(s - 1) * st + 1 for s, st in zip(x.shape[1:-1], stride, strict=True)],
            x.shape[-1],
        )
    )
    dil[(slice(None), *[slice(None, None, st) for st in stride], slice(None))] = x
    w_io = np.swapaxes(w, n, n + 1)  # [*K, I, O]
    return np_conv(dil, w_io, (1,) * n, pads, (1,) * n)


def jax_transpose_pads(k, s, padding):
    """Padding jax.lax.conv_transpose applies to the dilated input for 'SAME'/'VALID'."""
    if padding == "SAME":
        pad_len = k + s - 2
        lo = k - 1 if s > k - 1 else math.ceil(pad_len / 2)
    else:
        pad_len = k + s - 2 + max(k - s, 0)
        lo = k - 1
    return (lo, pad_len - lo)


# ----------------------------------------------------------------------------- param trees


@pytest.mark.parametrize(
    "make,shape,expected",
    [
        (lambda: hk.Conv1D(4, 3), (2, 8, 3), [("conv1_d", "w", (3, 3, 4)), ("conv1_d", "b", (4,))]),
        (
            lambda: hk.Conv2D(4, 3),
            (2, 8, 8, 3),
            [("conv2_d", "w", (3, 3, 3, 4)), ("conv2_d", "b", (4,))],
        ),
        (
            lambda: hk.Conv2D(4, 3, data_format="NCHW"),
            (2, 3, 8, 8),
            [("conv2_d", "w", (3, 3, 3, 4)), ("conv2_d", "b", (4, 1, 1))],
        ),
        (
            lambda: hk.Conv2D(6, 3, feature_group_count=3),
            (2, 8, 8, 3),
            [("conv2_d", "w", (3, 3, 1, 6)), ("conv2_d", "b", (6,))],
        ),
        (
            lambda: hk.Conv3D(4, 3),
            (2, 4, 4, 4, 3),
            [("conv3_d", "w", (3, 3, 3, 3, 4)), ("conv3_d", "b", (4,))],
        ),
        (
            lambda: hk.ConvND(2, 4, 3),
            (2, 8, 8, 3),
            [("conv_nd", "w", (3, 3, 3, 4)), ("conv_nd", "b", (4,))],
        ),
        (
            lambda: hk.Conv1DTranspose(4, 3),
            (2, 8, 3),
            [("conv1_d_transpose", "w", (3, 4, 3)), ("conv1_d_transpose", "b", (4,))],
        ),
        (
            lambda: hk.Conv2DTranspose(4, 3),
            (2, 8, 8, 3),
            [("conv2_d_transpose", "w", (3, 3, 4, 3)), ("conv2_d_transpose", "b", (4,))],
        ),
        (
            lambda: hk.Conv3DTranspose(4, 3),
            (2, 4, 4, 4, 3),
            [("conv3_d_transpose", "w", (3, 3, 3, 4, 3)), ("conv3_d_transpose", "b", (4,))],
        ),
        (
            lambda: hk.ConvNDTranspose(2, 4, 3),
            (2, 8, 8, 3),
            [("conv_nd_transpose", "w", (3, 3, 4, 3)), ("conv_nd_transpose", "b", (4,))],
        ),
        (
            lambda: hk.Conv2DTranspose(4, 3, data_format="NCHW", with_bias=True),
            (2, 3, 8, 8),
            [("conv2_d_transpose", "w", (3, 3, 4, 3)), ("conv2_d_transpose", "b", (4, 1, 1))],
        ),
        (
            lambda: hk.Conv2D(4, [3, 2], with_bias=False),
            (2, 8, 8, 3),
            [("conv2_d", "w", (3, 2, 3, 4))],
        ),
    ],
)
def test_param_tree_snapshot(make, shape, expected):
    got = spec(lambda x: make()(x), jnp.ones(shape))
    assert got == [(m, n, s, "float32") for m, n, s in expected]


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_params_and_outputs_follow_input_dtype(dtype):
    for make in (lambda: hk.Conv2D(4, 3), lambda: hk.Conv2DTranspose(4, 3, stride=2)):
        got = spec(lambda x, make=make: make()(x), jnp.ones([1, 4, 4, 3], dtype))
        assert {d for *_, d in got} == {jnp.dtype(dtype).name}
        out = out_struct(lambda x, make=make: make()(x), jnp.ones([1, 4, 4, 3], dtype))
        assert out.dtype == dtype


def test_default_init_is_truncated_normal_fan_in_and_zero_bias():
    t = hk.transform(lambda x: hk.Conv1D(64, 3)(x))
    params = t.init(jax.random.PRNGKey(0), jnp.ones([1, 4, 30]))
    w = np.asarray(params["conv1_d"]["w"])
    stddev = 1 / np.sqrt(3 * 30)
    assert np.abs(w).max() <= 2 * stddev + 1e-6
    assert abs(w.std() - 0.8796 * stddev) < 0.06 * stddev
    np.testing.assert_array_equal(params["conv1_d"]["b"], np.zeros(64))


# ----------------------------------------------------------------------------- values


CONV_CASES = [
    # (num_spatial, kwargs, input shape, C_out)
    (1, dict(kernel_shape=3), (2, 7, 3), 4),
    (1, dict(kernel_shape=3, stride=2, padding="VALID"), (1, 8, 2), 3),
    (1, dict(kernel_shape=2, rate=3, padding=[(1, 2)]), (1, 7, 2), 2),
    (2, dict(kernel_shape=(3, 2), stride=(2, 1)), (2, 5, 4, 3), 4),
    (2, dict(kernel_shape=3, rate=2, padding="VALID"), (1, 6, 6, 2), 3),
    (2, dict(kernel_shape=3, padding=(2, 0)), (1, 4, 4, 2), 2),
    (2, dict(kernel_shape=3, feature_group_count=2), (1, 4, 4, 4), 6),
    (3, dict(kernel_shape=2, stride=2), (1, 4, 3, 4, 2), 2),
]


def _pads(num_spatial, kw, in_spatial):
    k = kw["kernel_shape"]
    k = (k,) * num_spatial if isinstance(k, int) else tuple(k)
    s = kw.get("stride", 1)
    s = (s,) * num_spatial if isinstance(s, int) else tuple(s)
    r = kw.get("rate", 1)
    r = (r,) * num_spatial if isinstance(r, int) else tuple(r)
    padding = kw.get("padding", "SAME")
    if padding == "SAME":
        pads = [same_pads(n, kk, ss, rr) for n, kk, ss, rr in zip(in_spatial, k, s, r, strict=True)]
    elif padding == "VALID":
        pads = [(0, 0)] * num_spatial
    elif isinstance(padding[0], int):
        pads = [tuple(padding)] * num_spatial
    else:
        pads = [tuple(p) for p in padding]
    return k, s, r, pads


@pytest.mark.parametrize("n,kw,shape,cout", CONV_CASES)
def test_conv_matches_numpy_loop(n, kw, shape, cout, np_rng):
    k, s, r, pads = _pads(n, kw, shape[1:-1])
    groups = kw.get("feature_group_count", 1)
    x = np_rng.normal(size=shape).astype(np.float32)
    w = np_rng.normal(size=(*k, shape[-1] // groups, cout)).astype(np.float32)
    b = np_rng.normal(size=(cout,)).astype(np.float32)
    out = apply(lambda x: hk.ConvND(n, cout, **kw)(x), {"conv_nd": {"w": w, "b": b}}, x)
    expected = np_conv(x, w, s, pads, r, groups) + b
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_conv_padding_functions_match_explicit_pairs(np_rng):
    x = np_rng.normal(size=(1, 6, 6, 2)).astype(np.float32)
    params = {
        "conv2_d": {
            "w": np_rng.normal(size=(3, 3, 2, 2)).astype(np.float32),
            "b": np.zeros(2, np.float32),
        }
    }
    # rate 2 -> effective kernel 5: causal pads (4, 0), full pads (4, 4).
    out_fn = apply(
        lambda x: hk.Conv2D(2, 3, rate=2, padding=[hk.pad.causal, hk.pad.full])(x), params, x
    )
    out_pairs = apply(lambda x: hk.Conv2D(2, 3, rate=2, padding=[(4, 0), (4, 4)])(x), params, x)
    assert out_fn.shape == (1, 6, 10, 2)
    np.testing.assert_allclose(out_fn, out_pairs, rtol=1e-6)
    out_one = apply(lambda x: hk.Conv2D(2, 3, padding=lambda k: (k - 1, 0))(x), params, x)
    expected = np_conv(x, params["conv2_d"]["w"], (1, 1), [(2, 0), (2, 0)], (1, 1))
    np.testing.assert_allclose(out_one, expected, rtol=1e-4, atol=1e-4)


def test_conv_nchw_matches_nhwc(np_rng):
    x = np_rng.normal(size=(2, 5, 5, 3)).astype(np.float32)
    w = np_rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b = np_rng.normal(size=(4,)).astype(np.float32)
    nhwc = apply(lambda x: hk.Conv2D(4, 3, stride=2)(x), {"conv2_d": {"w": w, "b": b}}, x)
    nchw = apply(
        lambda x: hk.Conv2D(4, 3, stride=2, data_format="NCHW")(x),
        {"conv2_d": {"w": w, "b": b.reshape(4, 1, 1)}},
        x.transpose(0, 3, 1, 2),
    )
    np.testing.assert_allclose(nchw, np.asarray(nhwc).transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)


def test_conv_unbatched_input_matches_batched(np_rng):
    x = np_rng.normal(size=(5, 5, 3)).astype(np.float32)
    p = {
        "conv2_d": {
            "w": np_rng.normal(size=(3, 3, 3, 2)).astype(np.float32),
            "b": np.ones(2, np.float32),
        }
    }
    f = lambda x: hk.Conv2D(2, 3)(x)
    out = apply(f, p, x)
    assert out.shape == (5, 5, 2)
    np.testing.assert_allclose(out, apply(f, p, x[None])[0], rtol=1e-6)


def test_conv_mask_is_applied_to_weights(np_rng):
    x = np_rng.normal(size=(1, 4, 4, 2)).astype(np.float32)
    w = np_rng.normal(size=(3, 3, 2, 2)).astype(np.float32)
    mask = (np_rng.uniform(size=w.shape) > 0.5).astype(np.float32)
    p = {"conv2_d": {"w": w}}
    out = apply(lambda x: hk.Conv2D(2, 3, mask=mask, with_bias=False)(x), p, x)
    ref = apply(lambda x: hk.Conv2D(2, 3, with_bias=False)(x), {"conv2_d": {"w": w * mask}}, x)
    np.testing.assert_allclose(out, ref, rtol=1e-6)


def test_conv_low_precision_compute_close_to_float32(np_rng):
    x = np_rng.normal(size=(1, 5, 5, 2)).astype(np.float32)
    w = np_rng.normal(size=(3, 3, 2, 3)).astype(np.float32) * 0.3
    b = np.zeros(3, np.float32)
    ref = np_conv(x, w, (1, 1), [(1, 1), (1, 1)], (1, 1))
    for dtype in (jnp.bfloat16, jnp.float16):
        p = jax.tree.map(lambda v, d=dtype: jnp.asarray(v, d), {"conv2_d": {"w": w, "b": b}})
        out = apply(lambda x: hk.Conv2D(3, 3)(x), p, jnp.asarray(x, dtype))
        assert out.dtype == dtype
        np.testing.assert_allclose(np.asarray(out, np.float32), ref, rtol=5e-2, atol=5e-2)


# ----------------------------------------------------------------------------- transposed


TRANSPOSE_CASES = [
    (1, dict(kernel_shape=3, stride=2), (1, 4, 2), 3),
    (1, dict(kernel_shape=4, stride=3, padding="VALID"), (2, 3, 2), 2),
    (1, dict(kernel_shape=2, stride=1), (1, 5, 1), 2),
    (2, dict(kernel_shape=(3, 2), stride=(2, 1)), (1, 3, 4, 2), 2),
    (2, dict(kernel_shape=3, stride=2, padding=[(1, 1), (2, 0)]), (1, 3, 3, 2), 2),
]


@pytest.mark.parametrize("n,kw,shape,cout", TRANSPOSE_CASES)
def test_conv_transpose_matches_numpy(n, kw, shape, cout, np_rng):
    k = kw["kernel_shape"]
    k = (k,) * n if isinstance(k, int) else tuple(k)
    s = kw["stride"]
    s = (s,) * n if isinstance(s, int) else tuple(s)
    padding = kw.get("padding", "SAME")
    if isinstance(padding, str):
        pads = [jax_transpose_pads(kk, ss, padding) for kk, ss in zip(k, s, strict=True)]
    else:
        pads = list(padding)
    x = np_rng.normal(size=shape).astype(np.float32)
    w = np_rng.normal(size=(*k, cout, shape[-1])).astype(np.float32)
    b = np_rng.normal(size=(cout,)).astype(np.float32)
    out = apply(
        lambda x: hk.ConvNDTranspose(n, cout, **kw)(x), {"conv_nd_transpose": {"w": w, "b": b}}, x
    )
    expected = np_conv_transpose(x, w, s, pads) + b
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_conv_transpose_output_sizes():
    def out_shape(**kw):
        return out_struct(lambda x: hk.Conv2DTranspose(2, 3, **kw)(x), jnp.ones([1, 8, 8, 3])).shape

    assert out_shape(stride=2) == (1, 16, 16, 2)  # in * stride
    assert out_shape(stride=2, padding="VALID") == (1, 17, 17, 2)  # in * stride + k - stride
    assert out_shape(stride=2, output_shape=[15, 16]) == (1, 15, 16, 2)
    assert out_shape(stride=2, output_shape=17, padding="VALID") == (1, 17, 17, 2)


@pytest.mark.parametrize("padding,size", [("SAME", 8), ("VALID", 9)])
def test_conv_transpose_output_shape_equal_to_default_gives_same_values(padding, size, np_rng):
    x = np_rng.normal(size=(1, 4, 2)).astype(np.float32)
    p = {
        "conv1_d_transpose": {
            "w": np_rng.normal(size=(3, 2, 2)).astype(np.float32),
            "b": np.zeros(2, np.float32),
        }
    }
    default = apply(lambda x: hk.Conv1DTranspose(2, 3, stride=2, padding=padding)(x), p, x)
    explicit = apply(
        lambda x: hk.Conv1DTranspose(2, 3, stride=2, padding=padding, output_shape=size)(x), p, x
    )
    assert default.shape == (1, size, 2)
    np.testing.assert_allclose(explicit, default, rtol=1e-5, atol=1e-6)


def test_conv_transpose_nchw_and_unbatched(np_rng):
    x = np_rng.normal(size=(2, 3, 3, 2)).astype(np.float32)
    w = np_rng.normal(size=(3, 3, 4, 2)).astype(np.float32)
    b = np_rng.normal(size=(4,)).astype(np.float32)
    p = {"conv2_d_transpose": {"w": w, "b": b}}
    nhwc = apply(lambda x: hk.Conv2DTranspose(4, 3, stride=2)(x), p, x)
    nchw = apply(
        lambda x: hk.Conv2DTranspose(4, 3, stride=2, data_format="NCHW")(x),
        {"conv2_d_transpose": {"w": w, "b": b.reshape(4, 1, 1)}},
        x.transpose(0, 3, 1, 2),
    )
    np.testing.assert_allclose(nchw, np.asarray(nhwc).transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-5)
    single = apply(lambda x: hk.Conv2DTranspose(4, 3, stride=2)(x), p, x[0])
    np.testing.assert_allclose(single, nhwc[0], rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- transforms


def test_conv_jit_vmap_and_grads(np_rng):
    p = {
        "conv1_d": {
            "w": jnp.asarray(np_rng.normal(size=(3, 2, 2)), jnp.float32),
            "b": jnp.asarray(np_rng.normal(size=(2,)), jnp.float32),
        }
    }
    f = hk.without_apply_rng(hk.transform(lambda x: hk.Conv1D(2, 3, stride=2)(x))).apply
    x = jnp.asarray(np_rng.normal(size=(3, 5, 2)), jnp.float32)
    # Unbatched [W, C] inputs under vmap agree with the batched call.
    check_variants(lambda x: f(p, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(jax.vmap(lambda x: f(p, x))(x), f(p, x), rtol=1e-5, atol=1e-6)
    assert_grads_numerical(lambda p, x: f(p, x), (p, x), eps=1e-2, rtol=2e-2, atol=2e-2)


def test_conv_transpose_grads(np_rng):
    p = {
        "conv1_d_transpose": {
            "w": jnp.asarray(np_rng.normal(size=(3, 2, 2)), jnp.float32),
            "b": jnp.asarray(np_rng.normal(size=(2,)), jnp.float32),
        }
    }
    f = hk.without_apply_rng(hk.transform(lambda x: hk.Conv1DTranspose(2, 3, stride=2)(x))).apply
    x = jnp.asarray(np_rng.normal(size=(1, 3, 2)), jnp.float32)
    assert_grads_numerical(lambda p, x: f(p, x), (p, x), eps=1e-2, rtol=2e-2, atol=2e-2)


def test_conv_under_scan_shares_params():
    def f(xs):
        conv = hk.Conv1D(2, 3, w_init=jnp.ones)
        out, _ = hk.scan(lambda carry, x: (conv(carry) + x, None), jnp.zeros([1, 4, 2]), xs)
        return out

    t = hk.transform(f)
    xs = jnp.ones([3, 1, 4, 2])
    params = t.init(jax.random.PRNGKey(0), xs)
    assert list(params) == ["conv1_d"] and params["conv1_d"]["w"].shape == (3, 2, 2)
    # NumPy reference: three steps of the same all-ones kernel.
    carry = np.zeros([1, 4, 2])
    for _ in range(3):
        carry = np_conv(carry, np.ones([3, 2, 2]), (1,), [(1, 1)], (1,)) + 1.0
    np.testing.assert_allclose(t.apply(params, None, xs), carry, rtol=1e-5)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "make,shape,name",
    [
        (lambda: hk.Conv2D(4, 3), (8, 3), r"Conv2D 'conv2_d'"),
        (lambda: hk.Conv2D(4, 3), (1, 2, 8, 8, 3), r"Conv2D 'conv2_d'"),
        (lambda: hk.Conv1D(4, 3), (8,), r"Conv1D 'conv1_d'"),
        (lambda: hk.Conv2DTranspose(4, 3), (8, 3), r"Conv2DTranspose 'conv2_d_transpose'"),
    ],
)
def test_wrong_input_rank_raises(make, shape, name):
    with pytest.raises(ValueError, match=name + r".*`inputs`.*rank.*" + re.escape(str(shape))):
        spec(lambda x: make()(x), jnp.ones(shape))


def test_channel_count_disagreeing_with_params_raises_clearly():
    t = hk.transform(lambda x: hk.Conv2D(8, 3)(x))
    params = {"conv2_d": {"w": jnp.zeros([3, 3, 4, 8]), "b": jnp.zeros([8])}}
    with pytest.raises(
        ValueError,
        match=r"Conv2D 'conv2_d'.*`inputs`.*\(1, 5, 5, 5\).*\(3, 3, 5, 8\).*C_in=5.*\(3, 3, 4, 8\)",
    ):
        t.apply(params, None, jnp.ones([1, 5, 5, 5]))
    t = hk.transform(lambda x: hk.Conv2DTranspose(8, 3)(x))
    params = {"conv2_d_transpose": {"w": jnp.zeros([3, 3, 8, 4]), "b": jnp.zeros([8])}}
    with pytest.raises(ValueError, match=r"conv2_d_transpose.*\(3, 3, 8, 5\).*\(3, 3, 8, 4\)"):
        t.apply(params, None, jnp.ones([1, 5, 5, 5]))


def construct(make):
    """Builds a module inside a transform (modules need one)."""
    hk.transform(lambda: make()).init(None)


def test_constructor_and_call_errors():
    with pytest.raises(ValueError, match=r"num_spatial_dims"):
        construct(lambda: hk.ConvND(0, 4, 3))
    with pytest.raises(ValueError, match=r"Conv2D.*`kernel_shape`.*length 1 or 2"):
        construct(lambda: hk.Conv2D(4, [3, 3, 3]))
    with pytest.raises(ValueError, match=r"Conv2D.*`padding`.*'FOO'"):
        construct(lambda: hk.Conv2D(4, 3, padding="FOO"))
    with pytest.raises(ValueError, match=r"`padding`.*1 or 2.*3 pairs"):
        construct(lambda: hk.Conv2D(4, 3, padding=[(1, 1), (0, 0), (2, 2)]))
    with pytest.raises(TypeError, match=r"Conv2D.*`padding`"):
        construct(lambda: hk.Conv2D(4, 3, padding=1))
    with pytest.raises(ValueError, match=r"data_format|channel information"):
        construct(lambda: hk.Conv2D(4, 3, data_format="HWC"))
    with pytest.raises(TypeError, match=r"Conv2DTranspose.*padding function"):
        construct(lambda: hk.Conv2DTranspose(4, 3, padding=hk.pad.causal))
    with pytest.raises(ValueError, match=r"output_shape.*'SAME' or 'VALID'"):
        construct(lambda: hk.Conv2DTranspose(4, 3, output_shape=8, padding=[(1, 1)]))
    with pytest.raises(
        ValueError, match=r"channel count 3.*not divisible by feature_group_count=2"
    ):
        spec(lambda x: hk.Conv2D(4, 3, feature_group_count=2)(x), jnp.ones([1, 4, 4, 3]))
    with pytest.raises(ValueError, match=r"output_channels=4.*feature_group_count=3"):
        spec(lambda x: hk.Conv2D(4, 3, feature_group_count=3)(x), jnp.ones([1, 4, 4, 3]))
    with pytest.raises(ValueError, match=r"`mask`.*\(3, 3, 3, 4\).*\(3, 3, 3, 5\)"):
        spec(lambda x: hk.Conv2D(4, 3, mask=jnp.ones([3, 3, 3, 5]))(x), jnp.ones([1, 4, 4, 3]))
    with pytest.raises(ValueError, match=r"`output_shape` entry 20.*input size of 10.*8"):
        spec(
            lambda x: hk.Conv2DTranspose(4, 3, stride=2, output_shape=20)(x), jnp.ones([1, 8, 8, 3])
        )


@pytest.mark.parametrize(
    "data_format,index",
    [
        ("channels_last", -1),
        ("channels_first", 1),
        ("NHWC", -1),
        ("NCHW", 1),
        ("NWC", -1),
        ("NCDHW", 1),
        ("NC", 1),
        ("BTHWD", -1),
    ],
)
def test_get_channel_index(data_format, index):
    assert hk.get_channel_index(data_format) == index


@pytest.mark.parametrize("bad", ["nhwc", "HWC", "CHW", "NCHWC", "N", "BTHWC"])
def test_get_channel_index_rejects(bad):
    with pytest.raises(ValueError, match=r"get_channel_index.*" + bad):
        hk.get_channel_index(bad)


@pytest.mark.parametrize("data_format", ["TBD", "TBHWD", "BTWHD", "TBHD"])
def test_get_channel_index_sequence_formats_are_channels_last(data_format):
    # dm-haiku 0.0.17 returns -1 for both BT...D and TB...D layouts.
    assert hk.get_channel_index(data_format) == -1


@pytest.mark.parametrize("bad", ["BTDTD", "TD", "TBDD"])
def test_get_channel_index_rejects_bad_sequence_formats(bad):
    with pytest.raises(ValueError, match=r"get_channel_index"):
        hk.get_channel_index(bad)


def test_get_channel_index_non_string_is_type_error():
    # dm-haiku 0.0.17 raises TypeError for a non-string data format.
    with pytest.raises(TypeError, match=r"get_channel_index.*string.*NoneType"):
        hk.get_channel_index(None)
