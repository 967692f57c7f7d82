"""hk.sharding: regex rules, logical axis names, sharded init, activation constraints.

The default session sees one CPU device: layouts are checked against
``jax.sharding.AbstractMesh`` (sizes without devices) and 1-device meshes. The tests
marked ``multidevice`` need 8 devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=8 pytest -m multidevice -p no:xdist``)
and check memory per device and numerical equivalence across real meshes.
"""

from __future__ import annotations

import pickle

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import AbstractMesh, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import haiku_core as hk

ABSTRACT = AbstractMesh((2, 4), ("data", "model"))
RULES = (
    ("batch", "data"),
    ("vocab", "model"),
    ("embed", None),
    ("mlp", "model"),
    ("heads", "model"),
    ("layers", None),
    ("conv_out", "model"),
)


def one_device_mesh() -> Mesh:
    return Mesh(np.array(jax.devices()[:1]).reshape(1, 1), ("data", "model"))


def mlp_params() -> dict:
    """A dm-haiku-style params dict of NumPy arrays (as a loaded checkpoint gives)."""
    return {
        "mlp/~/linear_0": {"w": np.zeros((16, 32), np.float32), "b": np.zeros(32, np.float32)},
        "mlp/~/linear_1": {"w": np.zeros((32, 8), np.float32), "b": np.zeros(8, np.float32)},
    }


def axes_of(fn, *args, **kwargs):
    return hk.sharding.logical_axes(hk.transform(fn).init, jax.random.PRNGKey(0), *args, **kwargs)


# ----------------------------------------------------------------------------- regex rules


def test_specs_from_rules_first_match_wins():
    rules = [
        (r"linear_1/w$", P("model", None)),
        (r"/w$", P(None, "model")),
        (r"/b$", P()),
    ]
    specs = hk.sharding.specs_from_rules(mlp_params(), rules, mesh=ABSTRACT)
    assert specs == {
        "mlp/~/linear_0": {"w": P(None, "model"), "b": P()},
        "mlp/~/linear_1": {"w": P("model", None), "b": P()},
    }


def test_specs_from_rules_accepts_a_pickled_checkpoint_and_shape_structs():
    restored = pickle.loads(pickle.dumps(mlp_params()))
    rules = [(r"/w$", P(None, "model")), (r".*", None)]
    specs = hk.sharding.specs_from_rules(restored, rules)
    assert specs["mlp/~/linear_1"] == {"w": P(None, "model"), "b": P()}
    shapes = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), restored)
    assert hk.sharding.specs_from_rules(shapes, rules) == specs


def test_specs_from_rules_on_init_output():
    f = hk.transform(lambda x: hk.nets.MLP([32, 8])(x))
    params = jax.eval_shape(f.init, jax.random.PRNGKey(0), jnp.ones([2, 16]))
    specs = hk.sharding.specs_from_rules(params, [(r"/w$", P(None, "model")), (r"/b$", P("model"))])
    assert specs["mlp/~/linear_0"] == {"w": P(None, "model"), "b": P("model")}


def test_specs_from_rules_unmatched_parameter_names_the_path():
    with pytest.raises(
        ValueError,
        match=r"^haiku_core\.sharding\.specs_from_rules: parameter 'mlp/~/linear_0/b' \(shape \(32,\)\) matches none",
    ):
        hk.sharding.specs_from_rules(mlp_params(), [(r"/w$", P())])


def test_specs_from_rules_non_strict_replicates_unmatched():
    specs = hk.sharding.specs_from_rules(mlp_params(), [(r"/w$", P(None, "model"))], strict=False)
    assert specs["mlp/~/linear_0"]["b"] == P()


def test_specs_from_rules_unused_rule_is_an_error():
    rules = [(r"/w$", P()), (r"/b$", P()), (r"attention", P("model"))]
    with pytest.raises(ValueError, match=r"rule #2 \('attention'.*matches no parameter"):
        hk.sharding.specs_from_rules(mlp_params(), rules)
    # A rule shadowed by an earlier one is unused too.
    with pytest.raises(ValueError, match=r"rule #1"):
        hk.sharding.specs_from_rules(mlp_params(), [(r".*", P()), (r"/w$", P())])


def test_specs_from_rules_spec_longer_than_rank():
    with pytest.raises(
        ValueError,
        match=r"'mlp/~/linear_0/b' \(rule #1 '/b\$'\): the spec .* has 2 entries but the "
        r"parameter has rank 1",
    ):
        hk.sharding.specs_from_rules(mlp_params(), [(r"/w$", P()), (r"/b$", P(None, "model"))])


def test_specs_from_rules_mesh_axis_missing():
    with pytest.raises(
        ValueError, match=r"'mlp/~/linear_0/w'.*mesh axis 'tensor'.*\('data', 'model'\)"
    ):
        hk.sharding.specs_from_rules(
            mlp_params(), [(r"/w$", P(None, "tensor")), (r".*", P())], mesh=ABSTRACT
        )


def test_specs_from_rules_indivisible_dimension():
    params = {"m": {"w": np.zeros((6, 10), np.float32)}}
    with pytest.raises(
        ValueError, match=r"'m/w'.*dimension 1 of shape \(6, 10\) has size 10, not divisible by 4"
    ):
        hk.sharding.specs_from_rules(params, [(r"w", P(None, "model"))], mesh=ABSTRACT)
    with pytest.raises(ValueError, match=r"not divisible by 8"):
        hk.sharding.specs_from_rules(params, [(r"w", P(("data", "model")))], mesh=ABSTRACT)
    # Without a mesh nothing is known about sizes, so nothing is checked.
    assert hk.sharding.specs_from_rules(params, [(r"w", P(None, "model"))])["m"]["w"] == P(
        None, "model"
    )


def test_specs_from_rules_rejects_malformed_rules():
    with pytest.raises(TypeError, match=r"rule #0"):
        hk.sharding.specs_from_rules(mlp_params(), ["w"])  # type: ignore[list-item]


# ----------------------------------------------------------------------------- logical names


def test_logical_to_specs_resolution():
    tree = {
        "a": {
            "w": ("embed", "mlp"),
            "b": ("mlp",),
            "u": None,
            "s": (),
            "x": ("batch", "unknown"),
            "y": ("mlp", "heads"),  # both map to "model": the later dim loses it
            "z": ("fsdp_embed", "mlp"),
        }
    }
    rules = [("fsdp_embed", ("data", "model")), *RULES]
    specs = hk.sharding.logical_to_specs(tree, rules)
    assert specs == {
        "a": {
            "w": P(None, "model"),
            "b": P("model"),
            "u": P(),
            "s": P(),
            "x": P("data"),
            "y": P("model"),
            "z": P(("data", "model")),
        }
    }


def test_logical_to_specs_single_axes_tuple():
    # A bare tuple of names (e.g. for a batch) maps to one PartitionSpec.
    assert hk.sharding.logical_to_specs(("batch", "length"), RULES) == P("data")
    assert hk.sharding.logical_to_specs(("vocab", "batch"), RULES) == P("model", "data")


def test_logical_to_specs_first_rule_for_a_name_wins():
    tree = {"m": {"w": ("mlp",)}}
    assert hk.sharding.logical_to_specs(tree, [("mlp", "data"), ("mlp", "model")]) == {
        "m": {"w": P("data")}
    }
    assert hk.sharding.logical_to_specs(tree, [("mlp", None), ("mlp", "model")]) == {
        "m": {"w": P()}
    }


def test_logical_to_specs_errors_name_the_path():
    tree = {"blk/linear": {"w": ("embed", "mlp")}}
    with pytest.raises(
        ValueError,
        match=r"^haiku_core\.sharding\.logical_to_specs: 'blk/linear/w'.*'mlp' maps to mesh axis 'tensor'",
    ):
        hk.sharding.logical_to_specs(tree, [("mlp", "tensor")], mesh=ABSTRACT)
    shapes = {"blk/linear": {"w": jax.ShapeDtypeStruct((8, 6), jnp.float32)}}
    with pytest.raises(ValueError, match=r"'blk/linear/w'.*size 6, not divisible by 4"):
        hk.sharding.logical_to_specs(tree, RULES, mesh=ABSTRACT, shapes=shapes)
    with pytest.raises(TypeError, match=r"rule #0"):
        hk.sharding.logical_to_specs(tree, [("mlp", 3)])  # type: ignore[list-item]


def test_default_names_linear_embed_norms():
    def f(ids):
        x = hk.Embed(vocab_size=16, embed_dim=8)(ids)
        x = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)
        x = hk.RMSNorm(axis=-1)(x)
        x = hk.Linear(12)(x)
        return hk.Linear(4, with_bias=False, name="head")(x)

    axes = axes_of(f, jnp.zeros([2, 5], jnp.int32))
    assert axes == {
        "embed": {"embeddings": ("vocab", "embed")},
        "layer_norm": {"scale": ("embed",), "offset": ("embed",)},
        "rms_norm": {"scale": ("embed",)},
        "linear": {"w": ("embed", "mlp"), "b": ("mlp",)},
        "head": {"w": ("embed", "mlp")},
    }


def test_default_names_norm_with_rank2_params():
    def f(x):
        return hk.LayerNorm(
            axis=(-2, -1), create_scale=True, create_offset=False, param_axis=(-2, -1)
        )(x)

    # The scale has shape (1, 3, 4): the last axis is the channel axis.
    assert axes_of(f, jnp.ones([2, 3, 4])) == {"layer_norm": {"scale": (None, None, "embed")}}


def test_default_names_attention():
    def f(x):
        return hk.MultiHeadAttention(
            num_heads=2, key_size=4, w_init=hk.initializers.VarianceScaling()
        )(x, x, x)

    axes = axes_of(f, jnp.ones([2, 5, 8]))
    qkv = {"w": ("embed", "heads"), "b": ("heads",)}
    assert axes == {
        "multi_head_attention/query": qkv,
        "multi_head_attention/key": qkv,
        "multi_head_attention/value": qkv,
        "multi_head_attention/linear": {"w": ("heads", "embed"), "b": ("embed",)},
    }


def test_default_names_convolutions():
    def f(x1, x2, x3):
        hk.Conv1D(4, 3)(x1)
        hk.Conv2D(4, 3)(x2)
        hk.Conv3D(4, 3, with_bias=False)(x3)
        hk.Conv2D(4, 3, data_format="NCHW", name="nchw")(jnp.moveaxis(x2, -1, 1))
        hk.Conv2DTranspose(4, 3)(x2)

    axes = axes_of(f, jnp.ones([1, 6, 2]), jnp.ones([1, 6, 6, 2]), jnp.ones([1, 4, 4, 4, 2]))
    assert axes == {
        "conv1_d": {"w": (None, "conv_in", "conv_out"), "b": ("conv_out",)},
        "conv2_d": {"w": (None, None, "conv_in", "conv_out"), "b": ("conv_out",)},
        "conv3_d": {"w": (None, None, None, "conv_in", "conv_out")},
        "nchw": {"w": (None, None, "conv_in", "conv_out"), "b": ("conv_out", None, None)},
        "conv2_d_transpose": {"w": (None, None, "conv_out", "conv_in"), "b": ("conv_out",)},
    }


def test_layer_stack_prepends_layers():
    def f(x):
        @hk.layer_stack(3)
        def body(h):
            return hk.LayerNorm(-1, True, True)(hk.Linear(8)(h))

        return body(x)

    axes = axes_of(f, jnp.ones([2, 8]))
    assert axes == {
        "__layer_stack_no_per_layer/linear": {
            "w": ("layers", "embed", "mlp"),
            "b": ("layers", "mlp"),
        },
        "__layer_stack_no_per_layer/layer_norm": {
            "scale": ("layers", "embed"),
            "offset": ("layers", "embed"),
        },
    }


def test_nested_and_experimental_layer_stack():
    def f(x):
        @hk.experimental.layer_stack(2, name="outer")
        def outer(h):
            @hk.layer_stack(3, name="inner")
            def inner(g):
                return hk.Linear(8, with_bias=False)(g)

            return inner(h)

        return outer(x)

    axes = axes_of(f, jnp.ones([2, 8]))
    assert axes == {"outer/inner/linear": {"w": ("layers", "layers", "embed", "mlp")}}
    params = jax.eval_shape(hk.transform(f).init, jax.random.PRNGKey(0), jnp.ones([2, 8]))
    assert params["outer/inner/linear"]["w"].shape == (2, 3, 8, 8)


class _SuffixMap(hk.LayerStackTransparencyMapping):
    def stacked_to_flat(self, stacked_module_name: str, scan_idx: int) -> str:
        return f"{stacked_module_name}_{scan_idx}"

    def flat_to_stacked(self, unstacked_module_name: str):
        base, _, idx = unstacked_module_name.rpartition("_")
        return (base, int(idx)) if idx.isdigit() else None


def test_transparent_layer_stack_keeps_per_layer_names():
    def f(x):
        @hk.layer_stack(2, transparent=True, transparency_map=_SuffixMap())
        def body(h):
            return hk.Linear(8, name="dense")(h)

        return body(x)

    axes = axes_of(f, jnp.ones([2, 8]))
    assert axes == {
        "dense_0": {"w": ("embed", "mlp"), "b": ("mlp",)},
        "dense_1": {"w": ("embed", "mlp"), "b": ("mlp",)},
    }


def test_annotate_overrides_defaults_and_names_children():
    class Block(hk.Module):
        def __call__(self, x):
            up = hk.Linear(16, name="up")
            down = hk.Linear(8, name="down")
            y = down(jax.nn.gelu(up(x)))
            hk.sharding.annotate("w", ("mlp", "embed"), module=down)
            hk.sharding.annotate("b", ("embed",), module=down)
            g = hk.get_parameter("gate", [8], init=jnp.ones)
            hk.sharding.annotate("gate", ("embed",))
            return y * g[None, :]

    axes = axes_of(lambda x: Block()(x), jnp.ones([2, 8]))
    assert axes == {
        "block/up": {"w": ("embed", "mlp"), "b": ("mlp",)},
        "block/down": {"w": ("mlp", "embed"), "b": ("embed",)},
        "block": {"gate": ("embed",)},
    }


def test_overrides_beat_attention_defaults():
    def f(x):
        return hk.MultiHeadAttention(2, 4, w_init=hk.initializers.VarianceScaling())(x, x, x)

    axes = hk.sharding.logical_axes(
        hk.transform(f).init,
        jax.random.PRNGKey(0),
        jnp.ones([1, 3, 8]),
        overrides=[(r"query/w$", ("embed", "qkv"))],
    )
    assert axes["multi_head_attention/query"]["w"] == ("embed", "qkv")
    assert axes["multi_head_attention/key"]["w"] == ("embed", "heads")


def test_overrides_argument():
    f = hk.transform(lambda x: hk.nets.MLP([16, 8])(x))
    axes = hk.sharding.logical_axes(
        f.init,
        jax.random.PRNGKey(0),
        jnp.ones([2, 8]),
        overrides=[(r"linear_1/w$", ("mlp", "embed")), (r"linear_1/b$", ("embed",))],
    )
    assert axes["mlp/~/linear_0"] == {"w": ("embed", "mlp"), "b": ("mlp",)}
    assert axes["mlp/~/linear_1"] == {"w": ("mlp", "embed"), "b": ("embed",)}


def test_unannotated_parameters_none_or_strict_error():
    def f(x):
        w = hk.get_parameter("w", [x.shape[-1], 3], init=jnp.ones)
        s = hk.get_parameter("s", [], init=jnp.ones)
        return x @ w * s

    assert axes_of(f, jnp.ones([2, 4])) == {"~": {"w": None, "s": ()}}
    with pytest.raises(
        ValueError,
        match=r"^haiku_core\.sharding\.logical_axes: parameter '~/w' \(shape \(4, 3\)\) has no logical axis",
    ):
        axes_of(f, jnp.ones([2, 4]), strict=True)


def test_annotation_rank_mismatch_names_the_parameter():
    def f(x):
        w = hk.get_parameter("w", [x.shape[-1], 3], init=jnp.ones)
        hk.sharding.annotate("w", ("embed",))
        return x @ w

    with pytest.raises(
        ValueError, match=r"'~/w'.*\('embed',\) has 1 names but the parameter has rank 2"
    ):
        axes_of(f, jnp.ones([2, 4]))


def test_annotate_is_a_no_op_outside_recording():
    assert hk.sharding.annotate("w", ("embed",)) is None  # no transform, no recorder

    def f(x):
        hk.sharding.annotate("w", "not-a-tuple")  # type: ignore[arg-type]
        return hk.Linear(3)(x)

    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), jnp.ones([2, 4]))
    assert t.apply(params, None, jnp.ones([2, 4])).shape == (2, 3)
    with pytest.raises(TypeError, match=r"^haiku_core\.sharding\.annotate: `axes` must be a tuple"):
        hk.sharding.logical_axes(t.init, jax.random.PRNGKey(0), jnp.ones([2, 4]))


def test_logical_axes_runs_no_flops():
    # A 40 GB weight would not fit: eval_shape only computes shapes.
    f = hk.transform(lambda x: hk.Linear(100_000)(x))
    x = jax.ShapeDtypeStruct((1, 100_000), jnp.float32)
    assert hk.sharding.logical_axes(f.init, jax.random.PRNGKey(0), x) == {
        "linear": {"w": ("embed", "mlp"), "b": ("mlp",)}
    }


def test_params_are_unchanged_by_recording():
    def f(ids):
        x = hk.Embed(16, 8)(ids)
        return hk.MultiHeadAttention(2, 4, w_init=hk.initializers.VarianceScaling())(x, x, x)

    t = hk.transform(f)
    ids = jnp.zeros([2, 5], jnp.int32)
    hk.sharding.logical_axes(t.init, jax.random.PRNGKey(0), ids)
    p = jax.eval_shape(t.init, jax.random.PRNGKey(0), ids)
    assert sorted(p) == [
        "embed",
        "multi_head_attention/key",
        "multi_head_attention/linear",
        "multi_head_attention/query",
        "multi_head_attention/value",
    ]
    assert jax.tree_util.tree_map(jnp.shape, p)["multi_head_attention/query"] == {
        "w": (8, 8),
        "b": (8,),
    }


def test_transform_with_state_returns_params_and_state_axes():
    def f(x, is_training):
        x = hk.Linear(8)(x)
        x = hk.BatchNorm(True, True, 0.9)(x, is_training)
        c = hk.get_state("calls", [], jnp.int32, init=jnp.zeros)
        hk.set_state("calls", c + 1)
        h = hk.get_state("hist", [8], init=jnp.zeros)
        hk.sharding.annotate("hist", ("embed",))
        hk.set_state("hist", h)
        return x

    t = hk.transform_with_state(f)
    params_axes, state_axes = hk.sharding.logical_axes(
        t.init, jax.random.PRNGKey(0), jnp.ones([4, 3]), is_training=True
    )
    assert params_axes["linear"] == {"w": ("embed", "mlp"), "b": ("mlp",)}
    assert params_axes["batch_norm"] == {"scale": None, "offset": None}
    assert state_axes["~"] == {"calls": (), "hist": ("embed",)}
    assert state_axes["batch_norm/~/mean_ema"]["counter"] == ()
    assert state_axes["batch_norm/~/mean_ema"]["average"] is None
    specs = hk.sharding.logical_to_specs((params_axes, state_axes), RULES)
    assert specs[0]["linear"]["w"] == P(None, "model")
    assert specs[1]["~"]["hist"] == P()


def test_remat_and_mixed_precision_keep_names():
    class Mlp(hk.Module):
        def __call__(self, x):
            return hk.Linear(8)(x)

    def f(x):
        return hk.remat(lambda y: Mlp()(y))(x)

    policy = hk.mixed_precision.parse_policy("params=float32,compute=bfloat16,output=float32")
    hk.mixed_precision.set_policy(Mlp, policy)
    try:
        axes = axes_of(f, jnp.ones([2, 4]))
    finally:
        hk.mixed_precision.clear_policy(Mlp)
    assert axes == {"mlp/linear": {"w": ("embed", "mlp"), "b": ("mlp",)}}


# ----------------------------------------------------------------------------- sharded init


def test_named_shardings_and_sharded_init_one_device():
    mesh = one_device_mesh()
    t = hk.transform(lambda x: hk.nets.MLP([16, 8])(x))
    x = jnp.ones([2, 4])
    axes = hk.sharding.logical_axes(t.init, jax.random.PRNGKey(0), x)
    specs = hk.sharding.logical_to_specs(axes, RULES, mesh=mesh)
    shardings = hk.sharding.named_shardings(specs, mesh)
    assert shardings["mlp/~/linear_0"]["w"] == NamedSharding(mesh, P(None, "model"))
    params = hk.sharding.sharded_init(t.init, mesh, specs, jax.random.PRNGKey(0), x)
    ref = t.init(jax.random.PRNGKey(0), x)
    for got, want in zip(
        jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(ref), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert params["mlp/~/linear_0"]["w"].sharding.spec == P(None, "model")


def test_sharded_init_callable_specs_static_flags_and_state():
    mesh = one_device_mesh()

    def f(x, is_training):
        x = hk.Linear(8)(x)
        return hk.BatchNorm(True, True, 0.9)(x, is_training)

    t = hk.transform_with_state(f)

    def specs_fn(shapes):
        return hk.sharding.specs_from_rules(
            shapes[0], [(r"linear/w", P(None, "model")), (r".*", P())]
        )

    params, state = hk.sharding.sharded_init(
        t.init, mesh, specs_fn, jax.random.PRNGKey(0), jnp.ones([4, 3]), is_training=True
    )
    assert params["linear"]["w"].sharding.spec == P(None, "model")
    assert state["batch_norm/~/mean_ema"]["average"].sharding.spec == P()
    _, ref_state = jax.eval_shape(
        lambda k, x: t.init(k, x, is_training=True), jax.random.PRNGKey(0), jnp.ones([4, 3])
    )
    assert jax.tree_util.tree_structure(state) == jax.tree_util.tree_structure(ref_state)


def test_sharded_init_errors_name_the_parameter():
    mesh = one_device_mesh()
    t = hk.transform(lambda x: hk.Linear(8)(x))
    x = jnp.ones([2, 4])
    with pytest.raises(
        ValueError,
        match=r"^haiku_core\.sharding\.sharded_init: .*parameters without a spec \['linear/b'\]",
    ):
        hk.sharding.sharded_init(t.init, mesh, {"linear": {"w": P()}}, jax.random.PRNGKey(0), x)
    with pytest.raises(ValueError, match=r"'linear/b'.*2 entries but the parameter has rank 1"):
        hk.sharding.sharded_init(
            t.init, mesh, {"linear": {"w": P(), "b": P(None, "model")}}, jax.random.PRNGKey(0), x
        )
    with pytest.raises(ValueError, match=r"'linear/w'.*mesh axis 'tensor'"):
        hk.sharding.sharded_init(
            t.init, mesh, {"linear": {"w": P("tensor"), "b": P()}}, jax.random.PRNGKey(0), x
        )


def test_optimizer_state_specs_mirror_params():
    params = {"m": {"w": np.zeros((4, 8), np.float32), "b": np.zeros(8, np.float32)}}
    pspecs = {"m": {"w": P(None, "model"), "b": P("model")}}
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3))
    shapes = jax.eval_shape(tx.init, params)
    specs = hk.sharding.optimizer_state_specs(shapes, pspecs)
    adam = specs[1][0]
    assert adam.mu == pspecs and adam.nu == pspecs
    assert adam.count == P()
    assert jax.tree_util.tree_structure(specs, is_leaf=lambda s: isinstance(s, P)) == (
        jax.tree_util.tree_structure(
            jax.tree_util.tree_map(lambda _: P(), shapes), is_leaf=lambda s: isinstance(s, P)
        )
    )


# ----------------------------------------------------------------------------- constraints


def _constraints(jaxpr) -> list:
    found = []

    def walk(jp):
        for eqn in jp.eqns:
            if eqn.primitive.name == "sharding_constraint":
                found.append(eqn.params["sharding"])
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                walk(sub)

    walk(jaxpr.jaxpr)
    return found


def test_constrain_identity_without_context_and_constraint_with_one():
    mesh = one_device_mesh()

    def f(x):
        return hk.sharding.constrain(x * 2, ("batch", "embed"))

    x = jnp.ones([4, 8])
    assert _constraints(jax.make_jaxpr(f)(x)) == []
    np.testing.assert_array_equal(f(x), x * 2)
    with hk.sharding.use_rules(RULES, mesh):
        found = _constraints(jax.make_jaxpr(f)(x))
        hlo = jax.jit(f).lower(x).as_text()
    assert found == [NamedSharding(mesh, P("data"))]
    assert "sharding" in hlo
    # No leak: a function traced after the block has no constraint.
    assert _constraints(jax.make_jaxpr(lambda y: f(y) + 1)(x)) == []


def test_use_rules_nests_innermost_wins_and_rejects_bad_axes():
    mesh = one_device_mesh()
    f = lambda x: hk.sharding.constrain(x, ("batch", "mlp"))
    x = jnp.ones([4, 8])
    with hk.sharding.use_rules(RULES, mesh):
        with hk.sharding.use_rules([("mlp", "data")], mesh):
            inner = _constraints(jax.make_jaxpr(f)(x))
        outer = _constraints(jax.make_jaxpr(f)(x))
    assert inner == [NamedSharding(mesh, P(None, "data"))]
    assert outer == [NamedSharding(mesh, P("data", "model"))]
    with pytest.raises(ValueError, match=r"mesh axis 'tensor'"):
        with hk.sharding.use_rules([("mlp", "tensor")], mesh):
            pass


def test_use_rules_is_part_of_the_jit_cache_key():
    # The cache-key context is created by the first use_rules block of the process (a
    # function traced before that is traced once more afterwards); make sure it exists.
    with hk.sharding.use_rules(RULES):
        pass
    traces = []

    @jax.jit
    def f(x):
        traces.append(x.shape)
        return hk.sharding.constrain(x, ("batch", "embed"))

    x = jnp.ones([4, 8])
    f(x)
    with hk.sharding.use_rules(RULES, one_device_mesh()):
        f(x)  # traced again: the constraint is added
        assert len(traces) == 2
        assert _constraints(jax.make_jaxpr(f)(x)) != []
    n = len(traces)
    f(x)  # the first trace (no constraint) is reused
    assert len(traces) == n
    assert _constraints(jax.make_jaxpr(f)(x)) == []


def test_logical_axes_retraces_a_jitted_init():
    t = hk.transform(lambda x: hk.Linear(3)(x))
    init = jax.jit(t.init)
    jax.eval_shape(init, jax.random.PRNGKey(0), jnp.ones([2, 4]))  # traced and cached
    assert hk.sharding.logical_axes(init, jax.random.PRNGKey(0), jnp.ones([2, 4])) == {
        "linear": {"w": ("embed", "mlp"), "b": ("mlp",)}
    }


@pytest.mark.parametrize("lift_name", ["lifted", None])
def test_names_inside_hk_lift_follow_the_lifted_params(lift_name):
    # hk.lift stores the inner params under "<outer scope>/<lift name>/" (or the outer
    # scope itself when name=None); names recorded by the inner init land there too.
    inner = hk.transform(lambda x: hk.Linear(3)(x))

    class Outer(hk.Module):
        def __call__(self, x):
            p = hk.lift(inner.init, name=lift_name)(hk.next_rng_key(), x)
            return inner.apply(p, None, x)

    f = lambda x: Outer()(x)
    axes = axes_of(f, jnp.ones([2, 4]))
    params = hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones([2, 4]))
    assert set(axes) == set(params)
    (path,) = axes
    assert path == ("outer/lifted/linear" if lift_name else "outer/linear")
    assert axes[path] == {"w": ("embed", "mlp"), "b": ("mlp",)}


def test_constrain_inside_a_transformed_module_and_rank_check():
    def f(x):
        h = hk.Linear(8)(x)
        return hk.sharding.constrain(h, ("batch", "mlp"))

    t = hk.transform(f)
    x = jnp.ones([4, 3])
    params = t.init(jax.random.PRNGKey(0), x)
    with hk.sharding.use_rules(RULES, one_device_mesh()):
        found = _constraints(jax.make_jaxpr(t.apply)(params, None, x))
    assert found == [NamedSharding(one_device_mesh(), P("data", "model"))]
    with pytest.raises(
        ValueError, match=r"^haiku_core\.sharding\.constrain: .* has 1 names but `x` has rank 2"
    ):
        hk.sharding.constrain(x, ("batch",))


# ----------------------------------------------------------------------------- summary


def test_summary_from_specs_with_mesh():
    params = {"m": {"w": np.zeros((4, 8), np.float32), "b": np.zeros(8, np.float32)}}
    specs = {"m": {"w": P(None, "model"), "b": P()}}
    text = hk.sharding.summary(params, specs, mesh=ABSTRACT)
    lines = text.splitlines()
    assert lines[0].split() == ["path", "shape", "dtype", "spec", "bytes", "max", "bytes/device"]
    assert lines[1].split() == ["m/b", "(8,)", "float32", "P()", "32", "B", "32", "B"]
    # w: 128 B in total, split 4 ways along "model".
    assert lines[2].split() == [
        "m/w",
        "(4,",
        "8)",
        "float32",
        "P(None,",
        "'model')",
        "128",
        "B",
        "32",
        "B",
    ]
    assert lines[3].split() == ["total", "(2", "params)", "160", "B", "64", "B"]
    # Without a mesh the per-device size of a sharded parameter is unknown.
    assert hk.sharding.summary(params, specs).splitlines()[3].split()[-1] == "?"


def test_summary_reads_sharded_arrays_and_params_summary_is_unaffected():
    mesh = one_device_mesh()
    t = hk.transform(lambda x: hk.Linear(8)(x))
    x = jnp.ones([2, 4])
    specs = {"linear": {"w": P(None, "model"), "b": P()}}
    params = hk.sharding.sharded_init(t.init, mesh, specs, jax.random.PRNGKey(0), x)
    text = hk.sharding.summary(params)
    row = next(line for line in text.splitlines() if line.startswith("linear/w "))
    assert row.split() == [
        "linear/w",
        "(4,",
        "8)",
        "float32",
        "P(None,",
        "'model')",
        "128",
        "B",
        "128",
        "B",
    ]
    rows = hk.experimental.params_summary(params)
    assert [(r.shape, r.bytes) for r in rows] == [((8,), 32), ((4, 8), 128)]


# ----------------------------------------------------------------------------- 8 devices


def _mesh(shape) -> Mesh:
    return Mesh(np.array(jax.devices()[:8]).reshape(shape), ("data", "model"))


def _transformer(vocab=32, d=16, heads=4, mlp=32, layers=2):
    def f(ids):
        x = hk.Embed(vocab, d)(ids)
        x = hk.sharding.constrain(x, ("batch", "length", "embed"))

        @hk.layer_stack(layers)
        def block(h):
            y = hk.LayerNorm(-1, True, True)(h)
            y = hk.MultiHeadAttention(heads, d // heads, w_init=hk.initializers.VarianceScaling())(
                y, y, y
            )
            h = hk.sharding.constrain(h + y, ("batch", "length", "embed"))
            y = hk.RMSNorm(-1)(h)
            up = hk.Linear(mlp, name="up")
            down = hk.Linear(d, name="down")
            y = hk.sharding.constrain(jax.nn.gelu(up(y)), ("batch", "length", "mlp"))
            y = down(y)
            hk.sharding.annotate("w", ("mlp", "embed"), module=down)
            hk.sharding.annotate("b", ("embed",), module=down)
            return h + y

        x = block(x)
        return hk.Linear(vocab, name="logits")(x)

    return hk.transform(f)


# eps=1e-3: the key-projection bias has an exactly-zero gradient (softmax ignores it),
# and Adam's first step g / (|g| + eps) would turn float32 noise in it into +-lr.
_TX = optax.adam(1e-2, eps=1e-3)
_T = _transformer()


def _loss(p, ids):
    logits = _T.apply(p, None, ids)
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, ids))


def _step(p, o, ids):
    value, g = jax.value_and_grad(_loss)(p, ids)
    updates, o = _TX.update(g, o, p)
    return optax.apply_updates(p, updates), o, value, g


@pytest.fixture(scope="module")
def single_device_reference():
    """Logits, loss, grads and params after one Adam step, on one device."""
    ids = jax.random.randint(jax.random.PRNGKey(1), [8, 4], 0, 32)
    params = jax.jit(_T.init)(jax.random.PRNGKey(0), ids)
    logits = jax.jit(_T.apply)(params, None, ids)
    new, _, value, grads = jax.jit(_step)(params, _TX.init(params), ids)
    return ids, logits, value, grads, new, params


@pytest.mark.multidevice
def test_sharded_init_memory_per_device(single_device_reference):
    ids, *_, ref = single_device_reference
    mesh = _mesh((2, 4))
    axes = hk.sharding.logical_axes(_T.init, jax.random.PRNGKey(0), ids, strict=True)
    specs = hk.sharding.logical_to_specs(axes, RULES, mesh=mesh)
    params = hk.sharding.sharded_init(_T.init, mesh, specs, jax.random.PRNGKey(0), ids)
    sizes = dict(mesh.shape)
    n_sharded = 0
    for (path, arr), spec in zip(
        jax.tree_util.tree_flatten_with_path(params)[0],
        jax.tree_util.tree_leaves(specs, is_leaf=lambda s: isinstance(s, P)),
        strict=True,
    ):
        n = int(np.prod([sizes[a] for e in spec if e for a in ((e,) if isinstance(e, str) else e)]))
        per_device = max(s.data.nbytes for s in arr.addressable_shards)
        assert per_device <= arr.nbytes // n, (path, spec, per_device, arr.nbytes)
        n_sharded += n > 1
    assert n_sharded >= 8
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(ref), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.multidevice
@pytest.mark.parametrize("shape", [(8, 1), (4, 2), (2, 4)])
def test_transformer_apply_and_adam_step_match_single_device(shape, single_device_reference):
    ids, ref_logits, ref_loss, ref_grads, ref_new, _ = single_device_reference
    mesh = _mesh(shape)
    axes = hk.sharding.logical_axes(_T.init, jax.random.PRNGKey(0), ids)
    specs = hk.sharding.logical_to_specs(axes, RULES, mesh=mesh)
    params = hk.sharding.sharded_init(_T.init, mesh, specs, jax.random.PRNGKey(0), ids)
    opt_specs = hk.sharding.optimizer_state_specs(jax.eval_shape(_TX.init, params), specs)
    opt_shardings = hk.sharding.named_shardings(opt_specs, mesh)
    # optax's init jitted with shardings derived from the params' specs.
    opt = jax.jit(_TX.init, out_shardings=opt_shardings)(params)
    assert opt[0].mu["logits"]["w"].sharding.spec == specs["logits"]["w"]
    assert opt[0].count.sharding.is_fully_replicated
    ids_sharded = jax.device_put(ids, NamedSharding(mesh, P("data")))
    p_shard = hk.sharding.named_shardings(specs, mesh)
    with hk.sharding.use_rules(RULES, mesh):
        logits = jax.jit(_T.apply)(params, None, ids_sharded)
        new, _, value, grads = jax.jit(
            _step, out_shardings=(p_shard, opt_shardings, None, p_shard)
        )(params, opt, ids_sharded)
    np.testing.assert_allclose(np.asarray(logits), np.asarray(ref_logits), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(value), float(ref_loss), rtol=1e-5)
    for tree, ref in ((grads, ref_grads), (new, ref_new)):
        for a, b in zip(
            jax.tree_util.tree_leaves(tree), jax.tree_util.tree_leaves(ref), strict=True
        ):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert new["logits"]["w"].sharding.spec == specs["logits"]["w"]


@pytest.mark.multidevice
def test_constrain_shards_activations_on_a_real_mesh():
    mesh = _mesh((2, 4))
    f = lambda x: hk.sharding.constrain(jnp.sin(x), ("batch", "mlp"))
    x = jnp.ones([8, 8])
    with hk.sharding.use_rules(RULES, mesh):
        out = jax.jit(f)(x)
        hlo = jax.jit(f).lower(x).as_text()
    assert out.sharding.spec == P("data", "model")
    assert "mhlo.sharding" in hlo or "sdy.sharding" in hlo
    assert jax.jit(lambda x: f(x) * 1)(x).sharding.is_fully_replicated


@pytest.mark.multidevice
def test_specs_from_rules_indivisible_on_real_mesh_and_summary():
    mesh = _mesh((2, 4))
    params = {"m": {"w": np.zeros((6, 8), np.float32)}}
    with pytest.raises(ValueError, match=r"'m/w'.*size 6, not divisible by 4"):
        hk.sharding.specs_from_rules(params, [(r"w", P("model"))], mesh=mesh)
    specs = hk.sharding.specs_from_rules(params, [(r"w", P(None, "model"))], mesh=mesh)
    arr = jax.device_put(params["m"]["w"], NamedSharding(mesh, specs["m"]["w"]))
    text = hk.sharding.summary({"m": {"w": arr}})
    assert text.splitlines()[1].split()[-2:] == ["48", "B"]  # 192 B / 4
