"""Compat: haiku_core layers (basic, conv, depthwise, embed, pool, reshape) vs dm-haiku 0.0.17.

Run in the oracle venv (which has dm-haiku):
  /work/oracle/bin/python -m pytest packages/haiku_core/tests_compat/test_layers_compat.py

For each case the same model is built with upstream ``haiku`` and with ``haiku_core``. The
test checks that both ``init`` calls create the identical parameter tree (module paths and
names in creation order, shapes, dtypes) and, given upstream's parameters (perturbed so
biases are not zero), that outputs and gradients (w.r.t. parameters and float inputs) are
allclose (rtol 1e-5). Where both initialisers draw from the same key, the initial values
are compared too.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

hk_up = pytest.importorskip("haiku", reason="needs upstream dm-haiku (oracle venv)")
import haiku_core as hkc  # noqa: E402

RTOL = 1e-5
ATOL = 1e-5


def _tree_spec(params):
    """[(module, [(name, shape, dtype), ...]), ...] in dict order."""
    return [
        (mod, [(name, tuple(v.shape), str(v.dtype)) for name, v in entries.items()])
        for mod, entries in params.items()
    ]


def _perturb(params, seed=0):
    rng = np.random.RandomState(seed)
    return jax.tree.map(
        lambda v: jnp.asarray(np.asarray(v, np.float32) + 0.3 * rng.randn(*v.shape)).astype(
            v.dtype
        ),
        params,
    )


def _tol(dtype):
    if np.dtype(dtype) in (np.dtype(jnp.bfloat16), np.dtype(np.float16)):
        return 2e-2, 2e-2
    return RTOL, ATOL


def _assert_close(actual, expected, what):
    a_leaves, a_def = jax.tree_util.tree_flatten_with_path(actual)
    e_leaves, e_def = jax.tree_util.tree_flatten_with_path(expected)
    assert a_def == e_def, f"{what}: structure {a_def} != {e_def}"
    for (path, a), (_, e) in zip(a_leaves, e_leaves, strict=True):
        where = f"{what}{jax.tree_util.keystr(path)}"
        assert np.shape(a) == np.shape(e), f"{where}: shape {np.shape(a)} != {np.shape(e)}"
        assert np.asarray(a).dtype == np.asarray(e).dtype, f"{where}: dtype"
        rtol, atol = _tol(np.asarray(e).dtype)
        np.testing.assert_allclose(
            np.asarray(a, np.float32),
            np.asarray(e, np.float32),
            rtol=rtol,
            atol=atol,
            err_msg=where,
        )


def _pad(ns, name):
    return getattr(ns.pad, name)


# Each case: (id, make(ns) -> fn(*inputs), inputs, uses_rng).
def _x(*shape, dtype=np.float32, seed=0):
    return jnp.asarray(np.random.RandomState(seed).randn(*shape).astype(dtype))


def _ids(*shape, vocab=10):
    return jnp.asarray(np.random.RandomState(1).randint(0, vocab, size=shape).astype(np.int32))


CASES = [
    # ----- basic
    ("linear", lambda ns: lambda x: ns.Linear(4)(x), (_x(2, 3),)),
    ("linear_no_bias", lambda ns: lambda x: ns.Linear(4, with_bias=False)(x), (_x(2, 3),)),
    ("linear_rank1", lambda ns: lambda x: ns.Linear(4)(x), (_x(3),)),
    ("linear_rank3", lambda ns: lambda x: ns.Linear(4)(x), (_x(2, 5, 3),)),
    ("linear_bf16", lambda ns: lambda x: ns.Linear(4)(x), (_x(2, 3).astype(jnp.bfloat16),)),
    (
        "linear_twice_named",
        lambda ns: lambda x: ns.Linear(3, name="linear_1")(ns.Linear(3)(ns.Linear(3)(x))),
        (_x(2, 3),),
    ),
    ("bias", lambda ns: lambda x: ns.Bias()(x), (_x(2, 5, 3),)),
    ("bias_dims_last", lambda ns: lambda x: ns.Bias(bias_dims=[-1])(x), (_x(2, 5, 3),)),
    ("bias_dims_1", lambda ns: lambda x: ns.Bias(bias_dims=[1])(x), (_x(2, 5, 3),)),
    ("bias_dims_empty", lambda ns: lambda x: ns.Bias(bias_dims=[])(x), (_x(2, 5, 3),)),
    ("bias_multiplier", lambda ns: lambda x: ns.Bias()(x, 3.0), (_x(2, 5, 3),)),
    (
        "sequential",
        lambda ns: lambda x: ns.Sequential([ns.Linear(4), jax.nn.relu, ns.Linear(2)])(x),
        (_x(2, 3),),
    ),
    ("flatten", lambda ns: lambda x: ns.Flatten()(x), (_x(2, 3, 4),)),
    ("flatten_neg", lambda ns: lambda x: ns.Flatten(-2)(x), (_x(2, 3, 4, 5),)),
    ("reshape", lambda ns: lambda x: ns.Reshape((4, -1))(x), (_x(2, 3, 4),)),
    ("reshape_pd2", lambda ns: lambda x: ns.Reshape((-1, 2), preserve_dims=2)(x), (_x(2, 3, 4),)),
    ("reshape_neg", lambda ns: lambda x: ns.Reshape((2, 2), preserve_dims=-1)(x), (_x(2, 3, 4),)),
    ("embed", lambda ns: lambda i: ns.Embed(10, 4)(i), (_ids(2, 5),)),
    (
        "embed_one_hot",
        lambda ns: lambda i: ns.Embed(10, 4, lookup_style="ONE_HOT")(i),
        (_ids(2, 5),),
    ),
    (
        "embed_matrix",
        lambda ns: lambda i: ns.Embed(embedding_matrix=np.arange(20.0).reshape(10, 2))(i),
        (_ids(7),),
    ),
    (
        "embed_one_hot_call_style",
        lambda ns: lambda i: ns.Embed(10, 4)(i, lookup_style="ONE_HOT"),
        (_ids(3, 2),),
    ),
    (
        "batch_apply",
        lambda ns: lambda x: ns.BatchApply(ns.Linear(4))(x),
        (_x(2, 3, 5),),
    ),
    ("expand_apply", lambda ns: lambda x: ns.expand_apply(ns.Linear(4))(x), (_x(5),)),
    # ----- conv
    ("conv1d", lambda ns: lambda x: ns.Conv1D(4, 3)(x), (_x(2, 8, 3),)),
    ("conv1d_ncw", lambda ns: lambda x: ns.Conv1D(4, 3, data_format="NCW")(x), (_x(2, 3, 8),)),
    ("conv2d", lambda ns: lambda x: ns.Conv2D(4, 3)(x), (_x(2, 6, 6, 3),)),
    ("conv2d_unbatched", lambda ns: lambda x: ns.Conv2D(4, 3)(x), (_x(6, 6, 3),)),
    (
        "conv2d_stride_valid",
        lambda ns: lambda x: ns.Conv2D(4, [3, 2], stride=[2, 1], padding="VALID")(x),
        (_x(2, 7, 6, 3),),
    ),
    ("conv2d_rate", lambda ns: lambda x: ns.Conv2D(4, 3, rate=2)(x), (_x(2, 7, 7, 3),)),
    (
        "conv2d_pairs",
        lambda ns: lambda x: ns.Conv2D(4, 3, padding=[(1, 2), (0, 1)])(x),
        (_x(2, 6, 6, 3),),
    ),
    ("conv2d_pair", lambda ns: lambda x: ns.Conv2D(4, 3, padding=(2, 0))(x), (_x(2, 6, 6, 3),)),
    (
        "conv2d_padfn",
        lambda ns: lambda x: ns.Conv2D(4, 3, rate=2, padding=_pad(ns, "causal"))(x),
        (_x(2, 6, 6, 3),),
    ),
    (
        "conv2d_padfns",
        lambda ns: (
            lambda x: ns.Conv2D(4, 3, padding=[_pad(ns, "full"), _pad(ns, "reverse_causal")])(x)
        ),
        (_x(2, 6, 6, 3),),
    ),
    (
        "conv2d_nchw",
        lambda ns: lambda x: ns.Conv2D(4, 3, stride=2, data_format="NCHW")(x),
        (_x(2, 3, 6, 6),),
    ),
    (
        "conv2d_groups",
        lambda ns: lambda x: ns.Conv2D(6, 3, feature_group_count=3)(x),
        (_x(2, 5, 5, 3),),
    ),
    (
        "conv2d_mask",
        lambda ns: (
            lambda x: ns.Conv2D(
                4, 3, mask=jnp.asarray(np.random.RandomState(3).rand(3, 3, 3, 4) > 0.5, jnp.float32)
            )(x)
        ),
        (_x(2, 5, 5, 3),),
    ),
    ("conv2d_no_bias", lambda ns: lambda x: ns.Conv2D(4, 3, with_bias=False)(x), (_x(2, 5, 5, 3),)),
    (
        "conv2d_bf16",
        lambda ns: lambda x: ns.Conv2D(4, 3)(x),
        (_x(2, 5, 5, 3).astype(jnp.bfloat16),),
    ),
    ("conv3d", lambda ns: lambda x: ns.Conv3D(4, 3, stride=2)(x), (_x(2, 4, 5, 4, 3),)),
    (
        "conv3d_ncdhw",
        lambda ns: lambda x: ns.Conv3D(4, 2, data_format="NCDHW")(x),
        (_x(2, 3, 4, 4, 4),),
    ),
    ("convnd", lambda ns: lambda x: ns.ConvND(2, 4, 3)(x), (_x(2, 6, 6, 3),)),
    (
        "convnd_channels_first",
        lambda ns: lambda x: ns.ConvND(1, 4, 3, data_format="channels_first")(x),
        (_x(2, 3, 6),),
    ),
    # ----- transposed conv
    ("conv1d_t", lambda ns: lambda x: ns.Conv1DTranspose(4, 3, stride=2)(x), (_x(2, 5, 3),)),
    ("conv2d_t", lambda ns: lambda x: ns.Conv2DTranspose(4, 3)(x), (_x(2, 5, 5, 3),)),
    (
        "conv2d_t_stride_valid",
        lambda ns: lambda x: ns.Conv2DTranspose(4, [3, 4], stride=[2, 3], padding="VALID")(x),
        (_x(2, 5, 4, 3),),
    ),
    (
        "conv2d_t_output_shape_same",
        lambda ns: lambda x: ns.Conv2DTranspose(4, 3, stride=2, output_shape=[9, 10])(x),
        (_x(2, 5, 5, 3),),
    ),
    (
        "conv2d_t_output_shape_valid",
        lambda ns: (
            lambda x: ns.Conv2DTranspose(4, 3, stride=2, output_shape=12, padding="VALID")(x)
        ),
        (_x(2, 5, 5, 3),),
    ),
    (
        "conv2d_t_pairs",
        lambda ns: lambda x: ns.Conv2DTranspose(4, 3, stride=2, padding=[(1, 1), (2, 0)])(x),
        (_x(2, 5, 5, 3),),
    ),
    (
        "conv2d_t_nchw",
        lambda ns: lambda x: ns.Conv2DTranspose(4, 3, stride=2, data_format="NCHW")(x),
        (_x(2, 3, 4, 4),),
    ),
    ("conv2d_t_unbatched", lambda ns: lambda x: ns.Conv2DTranspose(4, 3)(x), (_x(4, 4, 3),)),
    (
        "conv2d_t_mask",
        lambda ns: (
            lambda x: ns.Conv2DTranspose(
                4, 3, mask=jnp.asarray(np.random.RandomState(4).rand(3, 3, 4, 3) > 0.5, jnp.float32)
            )(x)
        ),
        (_x(2, 4, 4, 3),),
    ),
    ("conv3d_t", lambda ns: lambda x: ns.Conv3DTranspose(4, 2, stride=2)(x), (_x(1, 3, 3, 3, 2),)),
    ("convnd_t", lambda ns: lambda x: ns.ConvNDTranspose(2, 4, 3)(x), (_x(2, 4, 4, 3),)),
    # ----- depthwise
    ("dw1d", lambda ns: lambda x: ns.DepthwiseConv1D(2, 3)(x), (_x(2, 8, 3),)),
    (
        "dw2d",
        lambda ns: lambda x: ns.DepthwiseConv2D(2, 3, stride=2, rate=1)(x),
        (_x(2, 7, 7, 3),),
    ),
    ("dw2d_rate", lambda ns: lambda x: ns.DepthwiseConv2D(3, 3, rate=2)(x), (_x(2, 7, 7, 2),)),
    (
        "dw2d_pairs",
        lambda ns: lambda x: ns.DepthwiseConv2D(2, 3, padding=[(0, 2), (1, 1)])(x),
        (_x(2, 6, 6, 3),),
    ),
    (
        "dw2d_nchw",
        lambda ns: lambda x: ns.DepthwiseConv2D(2, 3, data_format="NCHW")(x),
        (_x(2, 3, 6, 6),),
    ),
    (
        "dw3d",
        lambda ns: lambda x: ns.DepthwiseConv3D(2, 2, padding="VALID")(x),
        (_x(2, 4, 4, 4, 2),),
    ),
    ("sep_dw2d", lambda ns: lambda x: ns.SeparableDepthwiseConv2D(2, 3)(x), (_x(2, 6, 6, 3),)),
    (
        "sep_dw2d_stride",
        lambda ns: lambda x: ns.SeparableDepthwiseConv2D(2, [3, 5], stride=[2, 1])(x),
        (_x(2, 7, 7, 3),),
    ),
    (
        "sep_dw2d_nchw_no_bias",
        lambda ns: (
            lambda x: ns.SeparableDepthwiseConv2D(2, 3, with_bias=False, data_format="NCHW")(x)
        ),
        (_x(2, 3, 6, 6),),
    ),
    # ----- pooling
    (
        "max_pool_same",
        lambda ns: lambda x: ns.max_pool(x, (3, 3, 1), (2, 2, 1), "SAME"),
        (_x(2, 5, 5, 3),),
    ),
    (
        "avg_pool_same",
        lambda ns: lambda x: ns.avg_pool(x, (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
        (_x(2, 5, 5, 3),),
    ),
    (
        "avg_pool_valid",
        lambda ns: lambda x: ns.avg_pool(x, (2, 2, 1), (2, 2, 1), "VALID"),
        (_x(2, 5, 5, 3),),
    ),
    ("max_pool_int", lambda ns: lambda x: ns.max_pool(x, 2, 2, "VALID"), (_x(2, 5, 5, 3),)),
    (
        "avg_pool_int_no_channel",
        lambda ns: lambda x: ns.avg_pool(x, 2, 1, "SAME", channel_axis=None),
        (_x(2, 5, 4),),
    ),
    (
        "max_pool_int_channel1",
        lambda ns: lambda x: ns.max_pool(x, 2, 2, "SAME", channel_axis=1),
        (_x(2, 3, 5, 5),),
    ),
    (
        "max_pool_module",
        lambda ns: lambda x: ns.MaxPool((2, 2, 1), (1, 1, 1), "VALID")(x),
        (_x(2, 5, 5, 3),),
    ),
    (
        "avg_pool_module",
        lambda ns: lambda x: ns.AvgPool((2, 2, 1), (2, 2, 1), "SAME")(x),
        (_x(2, 5, 5, 3),),
    ),
    (
        "avg_pool_bf16",
        lambda ns: lambda x: ns.avg_pool(x, (3, 3, 1), (2, 2, 1), "SAME"),
        (_x(2, 5, 5, 3).astype(jnp.bfloat16),),
    ),
]


def _loss_fn(transformed, rng):
    def loss(params, *inputs):
        out = transformed.apply(params, rng, *inputs)
        return sum(jnp.sum(jnp.sin(o.astype(jnp.float32))) for o in jax.tree.leaves(out))

    return loss


@pytest.mark.parametrize("make,inputs", [pytest.param(m, i, id=n) for n, m, i in CASES])
def test_same_params_and_numbers(make, inputs):
    key = jax.random.PRNGKey(42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        up = hk_up.transform(make(hk_up))
        ours = hkc.transform(make(hkc))
        with jax.numpy_rank_promotion("allow"):
            p_up = up.init(key, *inputs)
        p_ours = ours.init(key, *inputs)

        # Identical parameter trees: paths and names in creation order, shapes, dtypes.
        assert _tree_spec(p_ours) == _tree_spec(p_up)

        # Given upstream's (perturbed) parameters: same outputs.
        p = _perturb(p_up)
        with jax.numpy_rank_promotion("allow"):
            out_up = up.apply(p, key, *inputs)
        out_ours = ours.apply(p, key, *inputs)
        _assert_close(out_ours, out_up, "output")

        # Same gradients w.r.t. params and float inputs.
        floats = [i + 1 for i, x in enumerate(inputs) if jnp.issubdtype(x.dtype, jnp.floating)]
        argnums = (0, *floats)
        with jax.numpy_rank_promotion("allow"):
            g_up = jax.grad(_loss_fn(up, key), argnums=argnums)(p, *inputs)
        g_ours = jax.grad(_loss_fn(ours, key), argnums=argnums)(p, *inputs)
        _assert_close(g_ours, g_up, "grad")


INIT_VALUE_CASES = ["linear", "conv2d", "conv2d_t", "dw2d", "embed", "sep_dw2d", "bias"]


@pytest.mark.parametrize("case", INIT_VALUE_CASES)
def test_same_initial_values_for_same_key(case):
    """Default initialisers draw the same numbers from the same key as upstream."""
    make, inputs = next((m, i) for n, m, i in CASES if n == case)
    key = jax.random.PRNGKey(7)
    with jax.numpy_rank_promotion("allow"):
        p_up = hk_up.transform(make(hk_up)).init(key, *inputs)
    p_ours = hkc.transform(make(hkc)).init(key, *inputs)
    _assert_close(p_ours, p_up, "init")


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5])
@pytest.mark.parametrize("broadcast_dims", [(), (0,), (0, 2)])
def test_dropout_same_mask(rate, broadcast_dims):
    key = jax.random.PRNGKey(3)
    x = _x(3, 4, 5)
    _assert_close(
        hkc.dropout(key, rate, x, broadcast_dims=broadcast_dims),
        hk_up.dropout(key, rate, x, broadcast_dims=broadcast_dims),
        "dropout",
    )


def test_dropout_inside_transform_same_mask():
    x = _x(4, 6)
    f_up = hk_up.transform(lambda x: hk_up.dropout(hk_up.next_rng_key(), 0.3, x))
    f_ours = hkc.transform(lambda x: hkc.dropout(hkc.next_rng_key(), 0.3, x))
    key = jax.random.PRNGKey(11)
    _assert_close(f_ours.apply({}, key, x), f_up.apply({}, key, x), "dropout")


@pytest.mark.parametrize(
    "data_format", ["channels_first", "channels_last", "NCHW", "NHWC", "NC", "NWC", "BTHWD"]
)
def test_get_channel_index(data_format):
    assert hkc.get_channel_index(data_format) == hk_up.get_channel_index(data_format)


def test_embed_traced_out_of_range_ids_match_upstream():
    """Under jit (ids not known on the host) out-of-range ids behave as upstream."""
    ids = jnp.array([0, 5, 6, 100, -1, -7], jnp.int32)
    matrix = np.arange(12, dtype=np.float32).reshape(6, 2)
    for style in ("ARRAY_INDEX", "ONE_HOT"):
        f_up = hk_up.transform(
            lambda i, s=style: hk_up.Embed(embedding_matrix=matrix, lookup_style=s)(i)
        )
        f_ours = hkc.transform(
            lambda i, s=style: hkc.Embed(embedding_matrix=matrix, lookup_style=s)(i)
        )
        p = f_up.init(None, ids)
        _assert_close(jax.jit(f_ours.apply)(p, None, ids), jax.jit(f_up.apply)(p, None, ids), style)
