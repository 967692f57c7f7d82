"""Tests for hk.nets.MLP."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.variants import check_variants

import haiku_core as hk


def test_param_tree_snapshot_and_names():
    params = hk.transform(lambda x: hk.nets.MLP([4, 3], name="policy")(x)).init(
        jax.random.PRNGKey(0), jnp.ones([2, 3])
    )
    assert [(m, n, v.shape) for m, d in params.items() for n, v in d.items()] == [
        ("policy/~/linear_0", "w", (3, 4)),
        ("policy/~/linear_0", "b", (4,)),
        ("policy/~/linear_1", "w", (4, 3)),
        ("policy/~/linear_1", "b", (3,)),
    ]


@pytest.mark.parametrize("activate_final", [False, True])
def test_known_values_vs_numpy(np_rng, activate_final):
    x = np_rng.normal(size=(2, 3)).astype(np.float32)
    f = hk.without_apply_rng(
        hk.transform(lambda x: hk.nets.MLP([4, 2], activate_final=activate_final)(x))
    )
    params = jax.tree.map(
        lambda p: np_rng.normal(size=p.shape).astype(np.float32), f.init(jax.random.PRNGKey(0), x)
    )
    h = np.maximum(x @ params["mlp/~/linear_0"]["w"] + params["mlp/~/linear_0"]["b"], 0)
    y = h @ params["mlp/~/linear_1"]["w"] + params["mlp/~/linear_1"]["b"]
    if activate_final:
        y = np.maximum(y, 0)
    np.testing.assert_allclose(f.apply(params, x), y, rtol=1e-5, atol=1e-5)


def test_without_bias_and_custom_activation():
    f = hk.without_apply_rng(
        hk.transform(
            lambda x: hk.nets.MLP([2, 2], with_bias=False, w_init=jnp.ones, activation=jnp.tanh)(x)
        )
    )
    params = f.init(None, jnp.ones([1, 3]))
    assert all(set(d) == {"w"} for d in params.values())
    np.testing.assert_allclose(
        f.apply(params, jnp.ones([1, 3])), [[2 * np.tanh(3.0)] * 2], rtol=1e-6
    )


def test_dropout_is_random_and_rate_zero_is_identity(key):
    def f(x, rate):
        return hk.nets.MLP([16, 16, 4])(x, dropout_rate=rate, rng=hk.next_rng_key())

    t = hk.transform(f)
    x = jnp.ones([2, 8])
    params = t.init(key, x, 0.5)
    plain = hk.without_apply_rng(hk.transform(lambda x: hk.nets.MLP([16, 16, 4])(x)))
    np.testing.assert_allclose(t.apply(params, key, x, 0.0), plain.apply(params, x), rtol=1e-6)
    k1, k2 = jax.random.split(key)
    assert not np.allclose(t.apply(params, k1, x, 0.5), t.apply(params, k2, x, 0.5))


def test_reverse_mirrors_sizes_and_nests_name():
    def f(x):
        mlp = hk.nets.MLP([4, 3], name="enc")
        y = mlp(x)
        return mlp.reverse()(y)

    params = hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([2, 5]))
    assert params["enc/~reverse/enc_reversed/~/linear_0"]["w"].shape == (3, 4)
    assert params["enc/~reverse/enc_reversed/~/linear_1"]["w"].shape == (4, 5)


def test_variants_and_bf16(np_rng):
    x = np_rng.normal(size=(3, 5)).astype(np.float32)
    f = hk.without_apply_rng(hk.transform(lambda x: hk.nets.MLP([4, 2])(x)))
    params = f.init(jax.random.PRNGKey(0), x[0])
    check_variants(lambda x: f.apply(params, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-6)
    xb = jnp.asarray(x, jnp.bfloat16)
    assert f.apply(f.init(jax.random.PRNGKey(0), xb), xb).dtype == jnp.bfloat16


def test_errors():
    with pytest.raises(ValueError, match=r"`b_init` was given but `with_bias=False`"):
        hk.transform(lambda x: hk.nets.MLP([2], with_bias=False, b_init=jnp.zeros)(x)).init(
            None, jnp.ones([1, 2])
        )
    t = hk.transform(lambda x: hk.nets.MLP([2])(x, dropout_rate=0.5))
    with pytest.raises(ValueError, match=r"mlp.*got `dropout_rate` without `rng`"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 2]))
    t = hk.transform(lambda x: hk.nets.MLP([2])(x, rng=jax.random.PRNGKey(0)))
    with pytest.raises(ValueError, match=r"mlp.*got `rng` without `dropout_rate`"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 2]))
    t = hk.transform(lambda x: hk.nets.MLP([2]).reverse()(x))
    with pytest.raises(ValueError, match=r"reverse\(\) needs each layer's input size"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 2]))
