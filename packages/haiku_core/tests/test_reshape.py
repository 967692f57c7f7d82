"""Tests for haiku_core.Reshape and haiku_core.Flatten."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing import check_variants

import haiku_core as hk


def run(make, x):
    t = hk.transform(lambda x: make()(x))
    assert t.init(None, x) == {}  # no parameters
    return t.apply({}, None, x)


@pytest.mark.parametrize(
    "make,in_shape,out_shape",
    [
        (lambda: hk.Reshape((4, -1)), (2, 3, 4), (2, 4, 3)),
        (lambda: hk.Reshape([4, 3]), (2, 3, 4), (2, 4, 3)),
        (lambda: hk.Reshape((-1, 2), preserve_dims=2), (2, 3, 4), (2, 3, 2, 2)),
        (lambda: hk.Reshape((2, 2), preserve_dims=-1), (2, 3, 4), (2, 3, 2, 2)),
        (lambda: hk.Reshape((3, 2, 2), preserve_dims=-2), (5, 2, 3, 4), (5, 2, 3, 2, 2)),
        (lambda: hk.Reshape((24,), preserve_dims=-3), (2, 3, 4), (24,)),
        (lambda: hk.Reshape((2, 12), preserve_dims=-5), (2, 3, 4), (2, 12)),
        (lambda: hk.Reshape((5,), preserve_dims=3), (2, 3, 4), (2, 3, 4)),  # rank <= keep
        (lambda: hk.Flatten(), (2, 3, 4), (2, 12)),
        (lambda: hk.Flatten(2), (2, 3, 4, 5), (2, 3, 20)),
        (lambda: hk.Flatten(-1), (2, 3, 4, 5), (2, 3, 4, 5)),
        (lambda: hk.Flatten(-2), (2, 3, 4, 5), (2, 3, 20)),
        (lambda: hk.Flatten(-4), (2, 3, 4), (24,)),
        (lambda: hk.Flatten(), (2,), (2,)),
        (lambda: hk.Flatten(), (2, 0, 3), (2, 0)),
    ],
)
def test_output_shapes(make, in_shape, out_shape):
    x = jnp.arange(int(np.prod(in_shape)), dtype=jnp.float32).reshape(in_shape)
    out = run(make, x)
    assert out.shape == out_shape
    # Row-major order is kept: the data is unchanged.
    np.testing.assert_array_equal(np.asarray(out).ravel(), np.arange(int(np.prod(in_shape))))


def test_dtype_kept_and_module_names():
    def f(x):
        r, fl = hk.Reshape((-1,)), hk.Flatten()
        assert (r.module_name, fl.module_name) == ("reshape", "flatten")
        assert isinstance(fl, hk.Reshape)
        return fl(r(x))

    out = hk.transform(f).apply({}, None, jnp.ones([2, 3, 4], jnp.bfloat16))
    assert out.dtype == jnp.bfloat16 and out.shape == (2, 12)


def test_jit_and_vmap():
    f = hk.transform(lambda x: hk.Reshape((2, -1), preserve_dims=-2)(x)).apply
    x = jnp.arange(48.0).reshape(2, 2, 3, 4)
    out = check_variants(lambda x: f({}, None, x), x[0], vmap_args=(x,))
    assert out.shape == (2, 2, 6)


def test_errors():
    def construct(make):
        hk.transform(lambda: make()).init(None)

    with pytest.raises(ValueError, match=r"`preserve_dims` must be a non-zero"):
        construct(lambda: hk.Flatten(0))
    with pytest.raises(ValueError, match=r"`preserve_dims` must be a non-zero"):
        construct(lambda: hk.Reshape((4,), preserve_dims=0))
    with pytest.raises(ValueError, match=r"at most one -1.*\(-1, -1\)"):
        construct(lambda: hk.Reshape((-1, -1)))
    with pytest.raises(ValueError, match=r"Reshape 'reshape'.*\(3, 4\).*\(2, 3, 4\).*\(5,\)"):
        run(lambda: hk.Reshape((5,)), jnp.ones([2, 3, 4]))
    with pytest.raises(ValueError, match=r"Reshape 'reshape'.*\(5, -1\)"):
        run(lambda: hk.Reshape((5, -1)), jnp.ones([2, 3, 4]))


def test_under_hk_vmap():
    f = hk.transform(lambda x: hk.vmap(hk.Flatten(), split_rng=False)(x))
    x = jnp.arange(120.0).reshape(2, 3, 4, 5)
    # Per example [3, 4, 5] -> [3, 20]; batched -> [2, 3, 20].
    out = f.apply({}, None, x)
    np.testing.assert_array_equal(out, np.arange(120.0).reshape(2, 3, 20))
