"""Tests for hk.nets.MobileNetV1 (small channel configs; default config via eval_shape)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def test_default_tree_matches_upstream_layout():
    f = hk.transform_with_state(lambda x: hk.nets.MobileNetV1(num_classes=10)(x, is_training=True))
    params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones([1, 32, 32, 3]))
    assert len(jax.tree.leaves(params)) == 83 and len(params) == 55
    assert len(jax.tree.leaves(state)) == 162 and len(state) == 54
    assert params["mobile_net_v1/conv2_d"]["w"].shape == (3, 3, 3, 32)
    assert set(params["mobile_net_v1/conv2_d"]) == {"w"}  # no bias with batchnorm
    assert params["mobile_net_v1/mobile_net_v1_block/depthwise_conv"]["w"].shape == (3, 3, 1, 32)
    assert params["mobile_net_v1/mobile_net_v1_block/pointwise_conv"]["w"].shape == (1, 1, 32, 64)
    assert params["mobile_net_v1/mobile_net_v1_block_12/batch_norm_1"]["scale"].shape == (
        1,
        1,
        1,
        1024,
    )
    assert params["mobile_net_v1/logits"]["w"].shape == (1024, 10)


def test_without_batchnorm_convs_have_bias_and_no_state():
    f = hk.transform_with_state(
        lambda x: hk.nets.MobileNetV1((1, 2), (8, 16), num_classes=3, use_bn=False)(x, True)
    )
    params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones([1, 9, 9, 3]))
    assert state == {}
    assert set(params["mobile_net_v1/conv2_d"]) == {"w", "b"}
    assert set(params["mobile_net_v1/mobile_net_v1_block_1/pointwise_conv"]) == {"w", "b"}


def test_forward_shapes_state_update_and_grad():
    net = lambda x, t: hk.nets.MobileNetV1((1, 2), (4, 8), num_classes=4)(x, t)
    f = hk.transform_with_state(net)
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 9, 9, 3))

    @jax.jit
    def run(x):
        params, state = f.init(jax.random.PRNGKey(0), x, True)
        logits, new_state = f.apply(params, state, None, x, True)
        grads = jax.grad(lambda p: jnp.sum(f.apply(p, state, None, x, True)[0] ** 2))(params)
        eval_logits, _ = f.apply(params, new_state, None, x, False)
        return logits, new_state, grads, eval_logits

    logits, new_state, grads, eval_logits = run(x)
    assert logits.shape == (2, 4) and eval_logits.shape == (2, 4)
    assert all(int(d["counter"]) == 1 for d in new_state.values())
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert np.any(grads["mobile_net_v1/logits"]["w"] != 0)


def test_errors():
    with pytest.raises(ValueError, match=r"`strides` and `channels`.*have 1 and 2 entries"):
        hk.transform_with_state(lambda x: hk.nets.MobileNetV1((1,), (8, 8))(x, True)).init(
            None, jnp.ones([1, 8, 8, 3])
        )
    t = hk.transform_with_state(lambda x: hk.nets.MobileNetV1((1,), (8,))(x, True))
    # dm-haiku fails with a TypeError here; ours is a ValueError and a TypeError.
    with pytest.raises(TypeError, match=r"mobile_net_v1.*\[B, H, W, C\].*\(8, 8, 3\)"):
        t.init(jax.random.PRNGKey(0), jnp.ones([8, 8, 3]))
