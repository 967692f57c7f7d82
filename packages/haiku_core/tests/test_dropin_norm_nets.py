"""Drop-in regressions for ``hk.nets`` (MLP, ResNet, MobileNetV1, VQ-VAE): inputs
dm-haiku accepts, its attributes and reprs, and the exception types it raises.

Literals marked as dm-haiku output were produced by dm-haiku 0.0.17 by hand and
recorded here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _deterministic(tree):
    # Every leaf filled with 0.5 * sin(1 + arange(size)), so results do not depend on
    # any initializer.
    def fill(s):
        values = np.sin(np.arange(int(np.prod(s.shape)), dtype=np.float64) + 1.0) * 0.5
        return jnp.asarray(values.reshape(s.shape), s.dtype)

    return jax.tree.map(fill, tree)


# ----------------------------------------------------------------------------- MLP


def test_mlp_layer_and_reverse_reprs_list_only_chosen_arguments():
    seen = {}

    def f(x):
        mlp = hk.nets.MLP([1, 2, 3], with_bias=False)
        mlp(x)
        seen["layers"] = [repr(layer) for layer in mlp.layers]
        seen["reversed"] = repr(mlp.reverse())
        seen["plain"] = [repr(layer) for layer in hk.nets.MLP([1, 2], name="p").layers]
        return x

    hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([2, 5]))
    # dm-haiku 0.0.17 reprs:
    assert seen["layers"][0] == "Linear(output_size=1, with_bias=False, name='linear_0')"
    assert seen["reversed"] == "MLP(output_sizes=(2, 1, 5), with_bias=False, name='mlp_reversed')"
    assert seen["plain"] == [
        "Linear(output_size=1, name='linear_0')",
        "Linear(output_size=2, name='linear_1')",
    ]


# ----------------------------------------------------------------------------- ResNet

_EXPECTED_LOGITS = {
    # dm-haiku 0.0.17 output for the network in `_small_resnet` with `_deterministic`
    # parameters and state, one training step.
    (False, False): [[0.522054135799408, 0.35790765285491943, -0.1352974772453308],
                     [0.5217558145523071, 0.34678566455841064, -0.14701765775680542]],
    (False, True): [[0.17109882831573486, 0.38048693537712097, 0.24005714058876038],
                    [0.8727110624313354, 0.32420614361763, -0.5223724842071533]],
    (True, False): [[0.5218955874443054, 0.352331280708313, -0.14116477966308594],
                    [0.4207448959350586, 0.45466405153274536, 0.07056717574596405]],
    (True, True): [[0.42078569531440735, 0.4547254145145416, 0.07059267908334732],
                   [0.521854817867279, 0.3522699475288391, -0.14119026064872742]],
}  # fmt: skip


def _small_resnet(v2, bottleneck):
    return hk.transform_with_state(
        lambda x: hk.nets.ResNet(
            [1, 2, 1, 1],
            3,
            resnet_v2=v2,
            bottleneck=bottleneck,
            channels_per_group=(4, 8, 8, 8),
            use_projection=(True, True, False, True),
            initial_conv_config={"output_channels": 4},
        )(x, True)
    )


@pytest.mark.parametrize("v2,bottleneck", sorted(_EXPECTED_LOGITS))
def test_resnet_blocks_match_recorded_outputs(v2, bottleneck):
    x = jnp.asarray(np.cos(np.arange(2 * 8 * 8 * 3, dtype=np.float64)).reshape(2, 8, 8, 3))
    x = x.astype(jnp.float32)
    f = _small_resnet(v2, bottleneck)
    params, state = jax.eval_shape(f.init, jax.random.PRNGKey(0), x)
    names = set(params)
    # Projection children exist exactly where use_projection is set (v1: conv + norm).
    for group, projects in enumerate((True, True, False, True)):
        prefix = f"res_net/~/block_group_{group}/~/block_0/~/"
        assert (prefix + "shortcut_conv" in names) == projects
        assert (prefix + "shortcut_batchnorm" in names) == (projects and not v2)
    assert ("res_net/~/final_batchnorm" in names) == v2
    assert ("res_net/~/initial_batchnorm" in names) == (not v2)
    out, _ = f.apply(_deterministic(params), _deterministic(state), None, x)
    np.testing.assert_allclose(out, _EXPECTED_LOGITS[(v2, bottleneck)], rtol=2e-5, atol=2e-6)


def test_resnet_bottleneck_v1_last_scale_starts_at_zero():
    f = _small_resnet(False, True)
    params, _ = f.init(jax.random.PRNGKey(0), jnp.ones([1, 8, 8, 3]))
    block = "res_net/~/block_group_0/~/block_0/~/"
    np.testing.assert_array_equal(params[block + "batchnorm_2"]["scale"], np.zeros((1, 1, 1, 4)))
    np.testing.assert_array_equal(params[block + "batchnorm_1"]["scale"], np.ones((1, 1, 1, 1)))


def test_resnet_use_projection_may_be_longer_than_four():
    # dm-haiku reads only the first four entries.
    f = hk.transform_with_state(
        lambda x: hk.nets.ResNet(
            [1, 1, 1, 1],
            3,
            bottleneck=False,
            channels_per_group=(4, 4, 4, 4),
            use_projection=(False, True, True, True, True),
            initial_conv_config={"output_channels": 4},
        )(x, True)
    )
    params, _ = f.init(jax.random.PRNGKey(0), jnp.ones([1, 8, 8, 3]))
    assert "res_net/~/block_group_0/~/block_0/~/shortcut_conv" not in params
    assert "res_net/~/block_group_1/~/block_0/~/shortcut_conv" in params


def test_resnet_short_use_projection_is_an_index_error():
    f = hk.transform_with_state(
        lambda x: hk.nets.ResNet([1, 1, 1, 1], 3, use_projection=(True, True, True))(x, True)
    )
    with pytest.raises(IndexError, match=r"ResNet.*`use_projection`.*at least 4.*got 3"):
        f.init(jax.random.PRNGKey(0), jnp.ones([1, 8, 8, 3]))


@pytest.mark.parametrize("shape,exc", [((8, 8, 3), AssertionError), ((8, 8), ValueError)])
def test_resnet_non_batch_inputs_raise_dm_haiku_types(shape, exc):
    f = hk.transform_with_state(lambda x: hk.nets.ResNet18(2)(x, True))
    with pytest.raises(exc, match=r"res_net18.*\[B, H, W, C\]"):
        f.init(jax.random.PRNGKey(0), jnp.ones(shape))


# ----------------------------------------------------------------------------- MobileNetV1


def test_mobilenet_public_attributes():
    seen = {}

    def f():
        net = hk.nets.MobileNetV1(strides=[1], channels=[8], num_classes=4)
        seen.update(
            strides=net.strides,
            channels=net.channels,
            num_classes=net.num_classes,
            use_bn=net.use_bn,
            with_bias=net.with_bias,
        )

    hk.transform(f).init(None)
    # dm-haiku 0.0.17 stores the arguments as given.
    assert seen == dict(strides=[1], channels=[8], num_classes=4, use_bn=True, with_bias=False)


def test_mobilenet_unbatched_input_is_a_type_error():
    f = hk.transform_with_state(lambda x: hk.nets.MobileNetV1((1,), (8,))(x, True))
    with pytest.raises(TypeError, match=r"mobile_net_v1.*\[B, H, W, C\]"):
        f.init(jax.random.PRNGKey(0), jnp.ones([8, 8, 3]))


# ----------------------------------------------------------------------------- VQ-VAE


def test_vector_quantizer_embeddings_is_a_lazy_property():
    seen = {}

    def f(x):
        vq = hk.nets.VectorQuantizer(2, 3, 0.25)
        seen["is_property"] = isinstance(type(vq).__dict__.get("embeddings"), property)
        return x

    # Constructing the module alone creates no parameter (as in dm-haiku).
    assert hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([1, 2])) == {}
    assert seen["is_property"]

    def g(x):
        vq = hk.nets.VectorQuantizer(2, 3, 0.25)
        return vq.embeddings

    t = hk.transform(g)
    params = t.init(jax.random.PRNGKey(0), jnp.ones([1, 2]))
    assert params["vector_quantizer"]["embeddings"].shape == (2, 3)
    np.testing.assert_array_equal(
        t.apply(params, None, jnp.ones([1, 2])), params["vector_quantizer"]["embeddings"]
    )


@pytest.mark.parametrize("ema", [False, True])
def test_vector_quantizer_rank0_input_with_unit_dim(ema):
    def f(x):
        if ema:
            return hk.nets.VectorQuantizerEMA(1, 3, 0.25, 0.9)(x, True)
        return hk.nets.VectorQuantizer(1, 3, 0.25)(x, True)

    t = hk.transform_with_state(f)
    x = jnp.float32(0.3)
    params, state = t.init(jax.random.PRNGKey(0), x)
    codebook = np.array([[-1.0, 0.25, 2.0]], np.float32)
    if ema:
        state = dict(state, vector_quantizer_ema={"embeddings": jnp.asarray(codebook)})
    else:
        params = {"vector_quantizer": {"embeddings": jnp.asarray(codebook)}}
    out, _ = t.apply(params, state, None, x)
    # dm-haiku shapes: quantize [1], encoding_indices [], encodings/distances [1, 3].
    assert out["quantize"].shape == (1,)
    assert out["encoding_indices"].shape == ()
    assert out["encodings"].shape == (1, 3) and out["distances"].shape == (1, 3)
    assert int(out["encoding_indices"]) == 1
    np.testing.assert_allclose(out["quantize"], [0.25])
    np.testing.assert_allclose(out["distances"], (0.3 - codebook) ** 2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ema", [False, True])
def test_vector_quantizer_wrong_last_axis_is_a_type_error(ema):
    def f(x):
        if ema:
            return hk.nets.VectorQuantizerEMA(4, 5, 0.25, 0.9)(x, True)
        return hk.nets.VectorQuantizer(4, 5, 0.25)(x, True)

    with pytest.raises(TypeError, match=r"embedding_dim=4.*\(2, 8\)"):
        hk.transform_with_state(f).init(jax.random.PRNGKey(0), jnp.ones([2, 8]))
