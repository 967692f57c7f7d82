"""Tests for hk.RMSNorm."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import haiku_core as hk


def _np_rms(x, axes, eps=1e-5):
    x = np.asarray(x, np.float64)
    ms = np.mean(np.square(x), axis=axes, keepdims=True)
    return x / np.sqrt(ms + eps)


def test_param_tree_snapshot():
    f = hk.transform(lambda x: hk.RMSNorm(-1)(x))
    params = f.init(None, jnp.ones([2, 8, 8, 3]))
    assert [(m, n, v.shape, str(v.dtype)) for m, d in params.items() for n, v in d.items()] == [
        ("rms_norm", "scale", (3,), "float32")
    ]
    f = hk.transform(lambda x: hk.RMSNorm((1, 2), param_axis=(1, 2))(x))
    assert f.init(None, jnp.ones([2, 3, 4]))["rms_norm"]["scale"].shape == (1, 3, 4)
    assert (
        hk.transform(lambda x: hk.RMSNorm(-1, create_scale=False)(x)).init(None, jnp.ones([2, 3]))
        == {}
    )


def test_hand_computed():
    # rms of [3, 4] = sqrt(12.5) -> [0.8485, 1.1314]
    f = hk.transform(lambda x: hk.RMSNorm(-1, eps=0.0)(x))
    x = jnp.array([[3.0, 4.0]])
    params = {"rms_norm": {"scale": jnp.array([1.0, 2.0])}}
    np.testing.assert_allclose(
        f.apply(params, None, x), [[3 / np.sqrt(12.5), 8 / np.sqrt(12.5)]], rtol=1e-6
    )


@pytest.mark.parametrize("axis,axes", [(-1, (2,)), ((1, 2), (1, 2)), (slice(1, None), (1, 2))])
def test_matches_numpy(np_rng, axis, axes):
    x = np_rng.normal(size=(2, 3, 4)).astype(np.float32)
    f = hk.transform(lambda x: hk.RMSNorm(axis, create_scale=False)(x))
    np.testing.assert_allclose(f.apply({}, None, x), _np_rms(x, axes), rtol=1e-5, atol=1e-6)


def test_variants_and_bf16(np_rng):
    x = np_rng.normal(size=(3, 4)).astype(np.float32)
    f = hk.without_apply_rng(hk.transform(lambda x: hk.RMSNorm(-1)(x)))
    params = f.init(None, x[0])
    check_variants(lambda x: f.apply(params, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-6)
    xb = jnp.asarray(x, jnp.bfloat16)
    pb = f.init(None, xb)
    out = f.apply(pb, xb)
    assert pb["rms_norm"]["scale"].dtype == jnp.bfloat16 and out.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(out, np.float32), _np_rms(x, (1,)), atol=3e-2, rtol=3e-2)


def test_errors():
    with pytest.raises(IndexError, match=r"rms_norm.*`axis`=\(3,\).*rank 2"):
        hk.transform(lambda x: hk.RMSNorm(3)(x)).init(None, jnp.ones([2, 3]))
    with pytest.raises(ValueError, match="scale_init"):
        hk.transform(lambda x: hk.RMSNorm(-1, scale_init=jnp.ones, create_scale=False)(x)).init(
            None, jnp.ones([2, 3])
        )
