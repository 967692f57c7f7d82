"""Tests for haiku_core pooling: max_pool, avg_pool, MaxPool, AvgPool."""

from __future__ import annotations

import itertools
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing import assert_grads_numerical, check_variants

import haiku_core as hk


def np_pool(x, window, strides, padding, op):
    """Pooling by loops over a full-rank window; SAME pads like XLA (extra after)."""
    x = np.asarray(x, np.float64)
    pads = []
    for size, k, s in zip(x.shape, window, strides, strict=True):
        if padding == "SAME":
            out = -(-size // s)
            total = max((out - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        else:
            pads.append((0, 0))
    out_shape = [
        (size + lo + hi - k) // s + 1
        for size, (lo, hi), k, s in zip(x.shape, pads, window, strides, strict=True)
    ]
    out = np.zeros(out_shape)
    for pos in itertools.product(*[range(o) for o in out_shape]):
        vals = []
        for kpos in itertools.product(*[range(k) for k in window]):
            idx = [
                p * s + k - lo for p, s, k, (lo, _) in zip(pos, strides, kpos, pads, strict=True)
            ]
            if all(0 <= i < n for i, n in zip(idx, x.shape, strict=True)):
                vals.append(x[tuple(idx)])  # padding entries are skipped
        out[pos] = max(vals) if op == "max" else sum(vals) / len(vals)
    return out


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
@pytest.mark.parametrize(
    "window,strides",
    [((1, 2, 2, 1), (1, 2, 2, 1)), ((1, 3, 3, 1), (1, 2, 2, 1)), ((1, 3, 2, 2), (1, 1, 2, 1))],
)
def test_pool_matches_numpy(window, strides, padding, np_rng):
    x = np_rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    for fn, op in ((hk.max_pool, "max"), (hk.avg_pool, "avg")):
        out = fn(x, window, strides, padding)
        expected = np_pool(x, window, strides, padding, op)
        assert out.shape == expected.shape
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6, err_msg=op)


def test_avg_pool_same_ignores_padding_hand_example():
    x = jnp.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # [[1 2 3] [4 5 6] [7 8 9]]
    out = hk.avg_pool(x, (1, 2, 2, 1), (1, 2, 2, 1), "SAME")
    # windows: {1,2,4,5}, {3,6}, {7,8}, {9}
    np.testing.assert_allclose(out[0, :, :, 0], [[3.0, 4.5], [7.5, 9.0]])
    out = hk.max_pool(x, (1, 2, 2, 1), (1, 2, 2, 1), "SAME")
    np.testing.assert_allclose(out[0, :, :, 0], [[5.0, 6.0], [8.0, 9.0]])


def test_short_window_covers_trailing_axes_batched_and_unbatched(np_rng):
    x = np_rng.normal(size=(2, 6, 6, 3)).astype(np.float32)
    batched = hk.max_pool(x, (2, 2, 1), (2, 2, 1), "VALID")
    np.testing.assert_allclose(batched, hk.max_pool(x, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"))
    unbatched = hk.max_pool(x[0], (2, 2, 1), (2, 2, 1), "VALID")
    np.testing.assert_allclose(unbatched, batched[0])
    check_variants(
        lambda v: hk.avg_pool(v, (2, 2, 1), (1, 1, 1), "SAME"), x[0], vmap_args=(x,), rtol=1e-6
    )


def test_int_window_excludes_batch_and_channel_axes_and_warns(np_rng):
    x = np_rng.normal(size=(2, 4, 4, 3)).astype(np.float32)
    with pytest.warns(DeprecationWarning, match=r"int.*vmap"):
        out = hk.max_pool(x, 2, 2, "VALID")
    np.testing.assert_allclose(out, np_pool(x, (1, 2, 2, 1), (1, 2, 2, 1), "VALID", "max"))
    with pytest.warns(DeprecationWarning):
        out = hk.avg_pool(x, 2, 2, "VALID", channel_axis=None)
    assert out.shape == (2, 2, 2, 1)
    np.testing.assert_allclose(
        out, np_pool(x, (1, 2, 2, 2), (1, 2, 2, 2), "VALID", "avg"), rtol=1e-6
    )
    with pytest.warns(DeprecationWarning):
        out = hk.max_pool(x.transpose(0, 3, 1, 2), 2, 2, "VALID", channel_axis=1)
    np.testing.assert_allclose(
        out, np.asarray(hk.max_pool(x, (2, 2, 1), (2, 2, 1), "VALID")).transpose(0, 3, 1, 2)
    )


def test_no_warning_for_sequences_or_int_one():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hk.max_pool(jnp.ones([1, 4, 4, 1]), (2, 2, 1), (1, 1, 1), "VALID")
        hk.avg_pool(jnp.ones([1, 4, 4, 1]), 1, 1, "VALID")


def test_dtypes():
    x = jnp.arange(16).reshape(1, 4, 4, 1)
    mx = hk.max_pool(x, (2, 2, 1), (2, 2, 1), "SAME")
    assert mx.dtype == x.dtype
    np.testing.assert_array_equal(mx[0, :, :, 0], [[5, 7], [13, 15]])
    av = hk.avg_pool(x, (2, 2, 1), (2, 2, 1), "VALID")
    assert jnp.issubdtype(av.dtype, jnp.floating)
    np.testing.assert_allclose(av[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    for dtype in (jnp.bfloat16, jnp.float16):
        y = hk.avg_pool(x.astype(dtype), (2, 2, 1), (2, 2, 1), "SAME")
        assert y.dtype == dtype
        np.testing.assert_allclose(
            np.asarray(y, np.float32)[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]]
        )
        assert hk.max_pool(x.astype(dtype), (2, 2, 1), (2, 2, 1), "SAME").dtype == dtype


def test_grads(np_rng):
    x = jnp.asarray(np_rng.permutation(36).reshape(1, 6, 6, 1) / 7.0, jnp.float32)  # distinct
    assert_grads_numerical(
        lambda v: hk.avg_pool(v, (3, 3, 1), (2, 2, 1), "SAME"), (x,), eps=1e-2, rtol=1e-2, atol=1e-2
    )
    assert_grads_numerical(
        lambda v: hk.max_pool(v, (2, 2, 1), (2, 2, 1), "VALID"),
        (x,),
        eps=1e-3,
        rtol=1e-2,
        atol=1e-2,
    )


def test_modules_have_no_params_and_match_functions(np_rng):
    x = np_rng.normal(size=(1, 4, 4, 2)).astype(np.float32)

    def f(x):
        m = hk.MaxPool((2, 2, 1), (1, 1, 1), "VALID")
        a = hk.AvgPool((2, 2, 1), (2, 2, 1), "SAME")
        assert (m.module_name, a.module_name) == ("max_pool", "avg_pool")
        assert (m.window_shape, m.strides, m.padding, m.channel_axis) == (
            (2, 2, 1),
            (1, 1, 1),
            "VALID",
            -1,
        )
        return m(x), a(x)

    t = hk.transform(f)
    assert t.init(None, x) == {}
    mx, av = t.apply({}, None, x)
    np.testing.assert_allclose(mx, hk.max_pool(x, (2, 2, 1), (1, 1, 1), "VALID"))
    np.testing.assert_allclose(av, hk.avg_pool(x, (2, 2, 1), (2, 2, 1), "SAME"))


def test_errors():
    x = jnp.ones([2, 4, 4, 3])
    with pytest.raises(ValueError, match=r"max_pool.*`padding`.*'SAME' or 'VALID'.*'same'"):
        hk.max_pool(x, (2, 2, 1), (2, 2, 1), "same")
    with pytest.raises(ValueError, match=r"avg_pool.*`window_shape`.*5.*\(2, 4, 4, 3\)"):
        hk.avg_pool(x, (1, 1, 2, 2, 1), (1, 1, 1, 1, 1), "VALID")
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(ValueError, match=r"`channel_axis` 4.*\(2, 4, 4, 3\)"),
    ):
        hk.max_pool(x, 2, 2, "VALID", channel_axis=4)


def test_max_pool_is_differentiable_under_jit():
    # Regression: a jax.Array init value made reduce_window fail to linearize under jit.
    import jax

    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    g = jax.jit(jax.grad(lambda v: jnp.sum(hk.max_pool(v, 2, 2, "VALID"))))(x)
    expected = np.zeros((1, 4, 4, 1), np.float32)
    expected[0, [1, 1, 3, 3], [1, 3, 1, 3], 0] = 1.0  # the max of each 2x2 window
    np.testing.assert_array_equal(np.asarray(g), expected)
