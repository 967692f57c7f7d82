"""Tests for hk.nets.ResNet and the ResNet18..200 presets.

Only ResNet18 on a 16x16 input is run; the deeper presets are checked through the
parameter/state trees from ``jax.eval_shape(init)`` (cheap: no compilation).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _spec(tree):
    return {(m, n): tuple(v.shape) for m, d in tree.items() for n, v in d.items()}


def _shapes(cls, x_shape=(1, 32, 32, 3), **kwargs):
    f = hk.transform_with_state(lambda x: cls(10, **kwargs)(x, is_training=True))
    return jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones(x_shape))


def test_resnet18_tree_snapshot():
    params, state = _shapes(hk.nets.ResNet18)
    assert len(jax.tree.leaves(params)) == 62 and len(params) == 41
    assert len(jax.tree.leaves(state)) == 120 and len(state) == 40
    spec = _spec(params)
    assert spec[("res_net18/~/initial_conv", "w")] == (7, 7, 3, 64)
    assert spec[("res_net18/~/initial_batchnorm", "scale")] == (1, 1, 1, 64)
    assert spec[("res_net18/~/block_group_0/~/block_0/~/conv_0", "w")] == (3, 3, 64, 64)
    assert spec[("res_net18/~/block_group_1/~/block_0/~/shortcut_conv", "w")] == (1, 1, 64, 128)
    assert spec[("res_net18/~/block_group_1/~/block_0/~/shortcut_batchnorm", "offset")] == (
        1,
        1,
        1,
        128,
    )
    assert spec[("res_net18/~/block_group_3/~/block_1/~/batchnorm_1", "scale")] == (1, 1, 1, 512)
    assert spec[("res_net18/~/logits", "w")] == (512, 10)
    assert ("res_net18/~/block_group_0/~/block_0/~/shortcut_conv", "w") not in spec
    assert _spec(state)[("res_net18/~/initial_batchnorm/~/mean_ema", "counter")] == ()


@pytest.mark.parametrize(
    "cls,blocks,bottleneck",
    [
        (hk.nets.ResNet34, (3, 4, 6, 3), False),
        (hk.nets.ResNet50, (3, 4, 6, 3), True),
        (hk.nets.ResNet101, (3, 4, 23, 3), True),
        (hk.nets.ResNet152, (3, 8, 36, 3), True),
        (hk.nets.ResNet200, (3, 24, 36, 3), True),
    ],
)
def test_deeper_presets_structure(cls, blocks, bottleneck):
    params, state = _shapes(cls)
    name = {
        34: "res_net34",
        50: "res_net50",
        101: "res_net101",
        152: "res_net152",
        200: "res_net200",
    }[sum(blocks) * (3 if bottleneck else 2) + 2]
    spec = _spec(params)
    for g, n in enumerate(blocks):
        assert (f"{name}/~/block_group_{g}/~/block_{n - 1}/~/conv_1", "w") in spec
        assert (f"{name}/~/block_group_{g}/~/block_{n}/~/conv_1", "w") not in spec
    layers = 3 if bottleneck else 2
    n_convs = sum(1 for (m, n) in spec if m.endswith(tuple(f"conv_{i}" for i in range(layers))))
    assert n_convs == sum(blocks) * layers
    out_channels = 2048 if bottleneck else 512
    assert spec[(f"{name}/~/logits", "w")] == (out_channels, 10)
    if bottleneck:
        assert spec[(f"{name}/~/block_group_0/~/block_0/~/conv_1", "w")] == (3, 3, 64, 64)
        assert spec[(f"{name}/~/block_group_0/~/block_0/~/conv_2", "w")] == (1, 1, 64, 256)
    # Every batchnorm has its two EMA children in state.
    n_bn = sum(1 for (m, n) in spec if n == "scale")
    assert len(state) == 2 * n_bn


def test_resnet_v2_has_final_batchnorm_and_no_initial_or_shortcut_batchnorm():
    params, _ = _shapes(hk.nets.ResNet18, resnet_v2=True)
    mods = set(params)
    assert "res_net18/~/final_batchnorm" in mods
    assert "res_net18/~/initial_batchnorm" not in mods
    assert not any("shortcut_batchnorm" in m for m in mods)
    assert "res_net18/~/block_group_1/~/block_0/~/shortcut_conv" in mods


def test_resnet18_train_eval_small_input():
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 16, 16, 3))
    train = hk.transform_with_state(lambda x: hk.nets.ResNet18(5)(x, is_training=True))
    evaluate = hk.transform_with_state(lambda x: hk.nets.ResNet18(5)(x, is_training=False))

    @jax.jit  # one compilation for init + train step + evaluation
    def run(x):
        params, state = train.init(jax.random.PRNGKey(0), x)
        logits, new_state = train.apply(params, state, None, x)
        params = dict(params)
        params["res_net18/~/logits"] = {"w": jnp.ones([512, 5]), "b": jnp.zeros([5])}
        eval_logits, eval_state = evaluate.apply(params, new_state, None, x)
        return logits, new_state, eval_logits, eval_state

    logits, new_state, eval_logits, eval_state = run(x)
    # The logits Linear is zero-initialised: the untrained network outputs zeros.
    assert logits.shape == (2, 5) and logits.dtype == jnp.float32
    np.testing.assert_array_equal(logits, 0.0)
    assert all(int(d["counter"]) == 1 for d in new_state.values())
    assert np.all(np.isfinite(eval_logits)) and np.any(eval_logits != 0)
    jax.tree.map(np.testing.assert_array_equal, eval_state, new_state)  # eval leaves state


def test_custom_resnet_config_and_names():
    def f(x):
        return hk.nets.ResNet(
            blocks_per_group=(1, 1, 1, 1),
            num_classes=3,
            bottleneck=False,
            channels_per_group=(4, 8, 8, 8),
            use_projection=(False, True, False, False),
            strides=(1, 2, 1, 1),
            logits_config=dict(name="head"),
            initial_conv_config=dict(output_channels=4, kernel_shape=3),
            name="net",
        )(x, is_training=True)

    params, _ = jax.eval_shape(
        hk.transform_with_state(f).init, jax.random.PRNGKey(0), jnp.ones([1, 8, 8, 2])
    )
    assert params["net/~/initial_conv"]["w"].shape == (3, 3, 2, 4)
    assert params["net/~/head"]["w"].shape == (8, 3)


def test_grad_through_resnet_under_jit():
    def f(x):
        return hk.nets.ResNet(
            (1, 1, 1, 1),
            2,
            bottleneck=False,
            channels_per_group=(4, 4, 4, 4),
            use_projection=(False,) * 4,
            strides=(1, 1, 1, 1),
            initial_conv_config=dict(output_channels=4),
        )(x, is_training=True)

    t = hk.transform_with_state(f)
    x = jnp.ones([1, 8, 8, 2])
    shapes = jax.eval_shape(t.init, jax.random.PRNGKey(0), x)
    params, state = jax.tree.map(lambda s: jnp.ones(s.shape, s.dtype), shapes)
    g = jax.jit(jax.grad(lambda p: jnp.sum(t.apply(p, state, None, x)[0])))(params)
    assert jax.tree.structure(g) == jax.tree.structure(params)


def test_errors():
    with pytest.raises(ValueError, match=r"`blocks_per_group`.*exactly 4 entries; got 2"):
        hk.transform_with_state(lambda x: hk.nets.ResNet((1, 1), 2)(x, True)).init(
            None, jnp.ones([1, 8, 8, 3])
        )
    t = hk.transform_with_state(lambda x: hk.nets.ResNet18(2)(x, is_training=True))
    # dm-haiku fails with an AssertionError here; ours also subclasses it.
    with pytest.raises(AssertionError, match=r"res_net18.*\[B, H, W, C\].*\(8, 8, 3\)"):
        t.init(jax.random.PRNGKey(0), jnp.ones([8, 8, 3]))
    # is_training=None means evaluation, which needs moving averages that init
    # has not created yet (dm-haiku fails the same way).
    t = hk.transform_with_state(lambda x: hk.nets.ResNet18(2)(x, is_training=None))
    with pytest.raises(ValueError, match=r"initial_batchnorm/~/mean_ema"):
        t.init(jax.random.PRNGKey(0), jnp.ones([1, 8, 8, 3]))
