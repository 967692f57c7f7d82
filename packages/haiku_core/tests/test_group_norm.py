"""Tests for hk.GroupNorm."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import haiku_core as hk


def _np_group_norm(x, groups, eps=1e-5):
    """Channels-last reference: each (example, group) normalised over spatial + group channels."""
    x = np.asarray(x, np.float64)
    b, c = x.shape[0], x.shape[-1]
    per = c // groups
    out = np.empty_like(x)
    for i in range(b):
        for g in range(groups):
            v = x[i, ..., g * per : (g + 1) * per]
            mean = v.mean()
            var = ((v - mean) ** 2).mean()
            out[i, ..., g * per : (g + 1) * per] = (v - mean) / np.sqrt(var + eps)
    return out


def test_param_tree_snapshot():
    f = hk.transform(lambda x: hk.GroupNorm(3)(x))
    params = f.init(None, jnp.ones([2, 8, 8, 3]))
    assert [(m, n, v.shape) for m, d in params.items() for n, v in d.items()] == [
        ("group_norm", "scale", (3,)),
        ("group_norm", "offset", (3,)),
    ]
    f = hk.transform(lambda x: hk.GroupNorm(2, data_format="channels_first")(x))
    assert f.init(None, jnp.ones([2, 4, 3, 3]))["group_norm"]["scale"].shape == (4, 1, 1)


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_matches_numpy_channels_last(np_rng, groups):
    x = np_rng.normal(size=(2, 3, 3, 4)).astype(np.float32) * 2 + 1
    f = hk.transform(lambda x: hk.GroupNorm(groups, create_scale=False, create_offset=False)(x))
    np.testing.assert_allclose(
        f.apply({}, None, x), _np_group_norm(x, groups), rtol=1e-4, atol=1e-4
    )


def test_channels_first_equals_transposed_channels_last(np_rng):
    x = np_rng.normal(size=(2, 3, 3, 4)).astype(np.float32)
    f = hk.transform(lambda x: hk.GroupNorm(2, data_format="NCHW")(x))
    xt = np.transpose(x, (0, 3, 1, 2))
    params = f.init(None, xt)
    params = {
        "group_norm": {
            "scale": np.arange(1.0, 5.0, dtype=np.float32).reshape(4, 1, 1),
            "offset": np.ones([4, 1, 1], np.float32),
        }
    }
    out = np.transpose(f.apply(params, None, xt), (0, 2, 3, 1))
    np.testing.assert_allclose(
        out, _np_group_norm(x, 2) * np.arange(1.0, 5.0) + 1.0, rtol=1e-4, atol=1e-4
    )


def test_variants(np_rng):
    x = np_rng.normal(size=(3, 2, 5, 4)).astype(np.float32)
    f = hk.without_apply_rng(hk.transform(lambda x: hk.GroupNorm(2)(x)))
    params = f.init(None, x[0])
    check_variants(lambda x: f.apply(params, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match=r"group_norm.*3 channels.*`groups`=2"):
        hk.transform(lambda x: hk.GroupNorm(2)(x)).init(None, jnp.ones([2, 3]))
    # A rank-0 input has no channel axis: IndexError as in dm-haiku.
    with pytest.raises(IndexError, match=r"group_norm.*channels on axis -1.*shape \(\)"):
        hk.transform(lambda x: hk.GroupNorm(1)(x)).init(None, jnp.ones([]))

    def twice(x):
        gn = hk.GroupNorm(1)
        gn(x)
        return gn(x[None])

    with pytest.raises(ValueError, match="first applied to a rank-2 input"):
        hk.transform(twice).init(None, jnp.ones([2, 3]))
