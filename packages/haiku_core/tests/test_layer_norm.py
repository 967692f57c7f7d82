"""Tests for hk.LayerNorm and hk.InstanceNorm."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.grads import assert_grads_numerical
from shared_testing.variants import check_variants

import haiku_core as hk


def _tree_spec(tree):
    return [(m, n, tuple(v.shape), str(v.dtype)) for m, d in tree.items() for n, v in d.items()]


def _np_layer_norm(x, axes, scale=1.0, offset=0.0, eps=1e-5):
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    other = [a for a in range(x.ndim) if a not in axes]
    moved = np.moveaxis(x, other, list(range(len(other))))
    res = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[: len(other)]):
        v = moved[idx]
        n = v.size
        mean = sum(v.ravel()) / n
        var = sum((e - mean) ** 2 for e in v.ravel()) / n
        res[idx] = (v - mean) / np.sqrt(var + eps)
    out = np.moveaxis(res, list(range(len(other))), other)
    return out * scale + offset


def test_param_tree_snapshot():
    f = hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x))
    assert _tree_spec(f.init(None, jnp.ones([2, 8, 8, 3]))) == [
        ("layer_norm", "scale", (3,), "float32"),
        ("layer_norm", "offset", (3,), "float32"),
    ]


@pytest.mark.parametrize(
    "param_axis,shape",
    [
        (None, (4,)),
        (-1, (4,)),
        (2, (4,)),
        (1, (1, 3, 1)),
        ((1, 2), (1, 3, 4)),
        (slice(1, 2), (1, 3, 1)),
    ],
)
def test_param_axis_shapes(param_axis, shape):
    f = hk.transform(lambda x: hk.LayerNorm(1, True, True, param_axis=param_axis)(x))
    params = f.init(None, jnp.ones([2, 3, 4]))
    assert params["layer_norm"]["scale"].shape == shape


def test_no_params_when_disabled():
    f = hk.transform(lambda x: hk.LayerNorm(-1, False, False)(x))
    assert f.init(None, jnp.ones([2, 3])) == {}


def test_known_values_hand_computed():
    # mean 2, variance ((1-2)^2 + (3-2)^2)/2 = 1 -> (x - 2)/sqrt(1 + eps).
    f = hk.transform(lambda x: hk.LayerNorm(-1, True, True, eps=0.0)(x))
    x = jnp.array([[1.0, 3.0], [10.0, 10.0 + 4.0]])
    params = {"layer_norm": {"scale": jnp.array([2.0, 1.0]), "offset": jnp.array([0.5, 0.0])}}
    out = f.apply(params, None, x)
    np.testing.assert_allclose(out, [[-1.5, 1.0], [-1.5, 1.0]], rtol=1e-6)


@pytest.mark.parametrize("axis", [-1, (1, 2), slice(1, None), [0, 2]])
@pytest.mark.parametrize("fast", [False, True])
def test_matches_numpy_reference(np_rng, axis, fast):
    x = np_rng.normal(size=(2, 3, 4)).astype(np.float32) * 3 + 2
    f = hk.transform(lambda x: hk.LayerNorm(axis, True, True, use_fast_variance=fast)(x))
    params = f.init(None, x)
    scale = np_rng.normal(size=(4,)).astype(np.float32)
    offset = np_rng.normal(size=(4,)).astype(np.float32)
    params = {"layer_norm": {"scale": scale, "offset": offset}}
    axes = {-1: (2,), (1, 2): (1, 2)}.get(axis if not isinstance(axis, list | slice) else None)
    if axes is None:
        axes = (1, 2) if isinstance(axis, slice) else (0, 2)
    np.testing.assert_allclose(
        f.apply(params, None, x), _np_layer_norm(x, axes, scale, offset), rtol=1e-4, atol=1e-4
    )


def test_scale_offset_at_call_time():
    f = hk.transform(
        lambda x: hk.LayerNorm(-1, False, False)(x, scale=jnp.full([2], 3.0), offset=jnp.ones([2]))
    )
    x = jnp.array([[1.0, 3.0]])
    np.testing.assert_allclose(f.apply({}, None, x), [[-2.0, 4.0]], rtol=1e-4)


def test_jit_vmap_grad(np_rng):
    x = np_rng.normal(size=(3, 2, 5)).astype(np.float32)
    f = hk.without_apply_rng(hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x)))
    params = f.init(None, x[0])
    fn = lambda x: f.apply(params, x)
    check_variants(fn, x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)
    assert_grads_numerical(
        lambda x: jnp.sum(jnp.sin(fn(x)) * jnp.arange(5.0)[None, :]),
        (x[0],),
        eps=1e-2,
        rtol=5e-2,
        atol=5e-2,
    )


def test_bfloat16():
    x = jnp.array([[1.0, 2.0, 4.0]], jnp.bfloat16)
    f = hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x))
    params = f.init(None, x)
    assert params["layer_norm"]["scale"].dtype == jnp.bfloat16
    out = f.apply(params, None, x)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(out, np.float32), _np_layer_norm(np.asarray(x, np.float32), (1,)), atol=3e-2
    )


def test_errors():
    with pytest.raises(ZeroDivisionError, match=r"layer_norm.*rank-0"):
        hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x)).init(None, jnp.ones([]))
    with pytest.raises(ValueError, match="scale_init"):
        hk.transform(lambda x: hk.LayerNorm(-1, False, True, scale_init=jnp.ones)(x)).init(
            None, jnp.ones([2, 3])
        )
    with pytest.raises(ValueError, match=r"`offset`.*create_offset=True"):
        hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x, offset=jnp.ones([3]))).init(
            None, jnp.ones([2, 3])
        )
    # A non-int axis is refused at construction with a ValueError (as dm-haiku).
    with pytest.raises(ValueError, match=r"layer_norm.*`axis` takes an int.*'a'"):
        hk.transform(lambda x: hk.LayerNorm("a", True, True)(x)).init(None, jnp.ones([2, 3]))


# ---------------------------------------------------------------------- InstanceNorm


@pytest.mark.parametrize(
    "data_format,shape", [("channels_last", (3,)), ("NHWC", (3,)), ("channels_first", (1, 4, 1, 1))]
)
def test_instance_norm_params(data_format, shape):
    f = hk.transform(lambda x: hk.InstanceNorm(True, True, data_format=data_format)(x))
    params = f.init(None, jnp.ones([2, 4, 5, 3]))
    assert list(params) == ["instance_norm"]
    assert params["instance_norm"]["scale"].shape == shape


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_instance_norm_matches_reference(np_rng, data_format):
    x = np_rng.normal(size=(2, 3, 4, 5)).astype(np.float32) * 2 + 1
    f = hk.transform(lambda x: hk.InstanceNorm(False, False, data_format=data_format)(x))
    axes = (1, 2) if data_format == "channels_last" else (2, 3)
    np.testing.assert_allclose(f.apply({}, None, x), _np_layer_norm(x, axes), rtol=1e-4, atol=1e-4)


def test_instance_norm_without_spatial_axes_outputs_offset():
    # [B, C] has no spatial axis: nothing is reduced, so x - mean(x) == 0 and the
    # output is the offset (dm-haiku accepts this input too).
    f = hk.transform(lambda x: hk.InstanceNorm(True, True)(x))
    x = jnp.arange(6.0).reshape(2, 3)
    params = f.init(None, x)
    assert params["instance_norm"]["scale"].shape == (3,)
    np.testing.assert_array_equal(f.apply(params, None, x), np.zeros((2, 3), np.float32))


def test_under_layer_stack_and_remat(np_rng):
    # Per-layer LayerNorm params are stacked by hk.layer_stack; hk.remat keeps the numbers.
    x = np_rng.normal(size=(2, 4)).astype(np.float32)

    def body(x):
        return hk.LayerNorm(-1, True, True)(x) * 2.0

    stacked = hk.transform(lambda x: hk.layer_stack(3)(body)(x))
    params = stacked.init(None, x)
    (mod,) = list(params)
    assert params[mod]["scale"].shape == (3, 4)
    out = stacked.apply(params, None, x)
    expected = x
    for _ in range(3):
        expected = _np_layer_norm(expected, (1,)) * 2.0
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    remat = hk.transform(lambda x: hk.remat(body)(x))
    p = remat.init(None, x)
    g = jax.grad(lambda x: jnp.sum(remat.apply(p, None, x) ** 2))(x)
    g_ref = jax.grad(lambda x: jnp.sum(hk.transform(body).apply(p, None, x) ** 2))(x)
    np.testing.assert_allclose(g, g_ref, rtol=1e-5, atol=1e-6)
