"""Compat: haiku_core norms, moving averages, attention and nets vs upstream dm-haiku 0.0.17.

Run in the oracle venv (which has dm-haiku):
  /work/oracle/bin/python -m pytest packages/haiku_core/tests_compat/test_norm_nets_compat.py

For each case upstream builds the parameters and state (parameters are then perturbed so
scales/offsets/biases are not at their trivial initial values); the test checks that
haiku_core creates the identical parameter and state trees (module paths in creation order,
names, shapes, dtypes) and, given upstream's parameters and state, returns allclose outputs,
new state and gradients (w.r.t. parameters and float inputs).
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


def _tree_spec(tree):
    """[(module, [(name, shape, dtype), ...]), ...] in dict order."""
    return [
        (mod, [(name, tuple(np.shape(v)), str(np.asarray(v).dtype)) for name, v in d.items()])
        for mod, d in tree.items()
    ]


def _perturb(params, seed=0):
    rng = np.random.RandomState(seed)
    return jax.tree.map(
        lambda v: (np.asarray(v) + 0.3 * rng.randn(*np.shape(v))).astype(np.asarray(v).dtype),
        params,
    )


def _assert_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    a_leaves = jax.tree_util.tree_flatten_with_path(actual)[0]
    e_leaves = jax.tree_util.tree_flatten_with_path(expected)[0]
    a_paths = [jax.tree_util.keystr(p) for p, _ in a_leaves]
    e_paths = [jax.tree_util.keystr(p) for p, _ in e_leaves]
    assert a_paths == e_paths, f"{what}: structure {a_paths} != {e_paths}"
    for (path, a), (_, e) in zip(a_leaves, e_leaves, strict=True):
        where = f"{what}{jax.tree_util.keystr(path)}"
        assert np.shape(a) == np.shape(e), f"{where} shape {np.shape(a)} != {np.shape(e)}"
        assert np.asarray(a).dtype == np.asarray(e).dtype, f"{where} dtype"
        np.testing.assert_allclose(
            np.asarray(a, np.float64),
            np.asarray(e, np.float64),
            rtol=rtol,
            atol=atol,
            err_msg=where,
        )


class _Upstream:
    """Runs upstream with implicit rank promotion allowed (dm-haiku relies on it)."""

    def __init__(self, transformed):
        self._t = transformed

    def init(self, *args):
        with jax.numpy_rank_promotion("allow"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._t.init(*args)

    def apply(self, *args):
        with jax.numpy_rank_promotion("allow"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._t.apply(*args)


def _x(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def _run_both(make, *args, steps=1, grads=True, rng=None, perturb=True, rtol=RTOL, atol=ATOL):
    """``make(hk)`` returns a function using the given haiku-like namespace.

    Checks trees, then runs ``steps`` applies (threading state) comparing outputs and
    state, then gradients of a scalar loss of the output w.r.t. params and float inputs.
    """
    up = _Upstream(hk_up.transform_with_state(make(hk_up)))
    ours = hkc.transform_with_state(make(hkc))
    key = jax.random.PRNGKey(42)
    up_params, up_state = up.init(key, *args)
    our_params, our_state = ours.init(key, *args)
    assert list(our_params) == list(up_params), "param module paths / creation order differ"
    assert _tree_spec(our_params) == _tree_spec(up_params)
    assert list(our_state) == list(up_state), "state module paths / creation order differ"
    assert _tree_spec(our_state) == _tree_spec(up_state)

    params = _perturb(up_params) if perturb else up_params
    state = up_state
    up_apply = jax.jit(up.apply)
    our_apply = jax.jit(ours.apply)
    our_out = None
    for step in range(steps):
        up_out, up_new = up_apply(params, state, rng, *args)
        our_out, our_new = our_apply(params, state, rng, *args)
        _assert_close(our_out, up_out, f"outputs[step {step}]", rtol, atol)
        _assert_close(our_new, up_new, f"state[step {step}]", rtol, atol)
        state = up_new

    if grads:

        def loss(apply_fn):
            def f(p, *a):
                out, _ = apply_fn(p, state, rng, *a)
                leaves = [x for x in jax.tree.leaves(out) if jnp.issubdtype(x.dtype, jnp.floating)]
                return sum(jnp.sum(jnp.sin(x.astype(jnp.float32))) for x in leaves)

            return f

        float_argnums = tuple(
            i
            for i, a in enumerate(args, start=1)
            if isinstance(a, np.ndarray | jax.Array) and jnp.issubdtype(a.dtype, jnp.floating)
        )
        argnums = (0, *float_argnums)
        with jax.numpy_rank_promotion("allow"):
            up_grads = jax.jit(jax.grad(loss(up.apply), argnums=argnums))(params, *args)
        our_grads = jax.jit(jax.grad(loss(ours.apply), argnums=argnums))(params, *args)
        _assert_close(our_grads, up_grads, "grads", rtol, atol)
    return params, state, our_out


# ----------------------------------------------------------------------------- norms


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first", "NHWC", "NCHW"])
def test_batch_norm_train_then_eval(data_format):
    def make_train(hk):
        return lambda x: hk.BatchNorm(True, True, 0.9, data_format=data_format)(x, True)

    def make_eval(hk):
        return lambda x: hk.BatchNorm(True, True, 0.9, data_format=data_format)(x, False)

    x = _x(4, 3, 5, 2) * 2.0 + 1.0
    params, state, _ = _run_both(make_train, x, steps=3)
    # Evaluation uses the moving averages written by training.
    up = _Upstream(hk_up.transform_with_state(make_eval(hk_up)))
    ours = hkc.transform_with_state(make_eval(hkc))
    up_out, _ = up.apply(params, state, None, x)
    our_out, our_state = ours.apply(params, state, None, x)
    _assert_close(our_out, up_out, "eval outputs")
    _assert_close(our_state, state, "eval state (unchanged)")


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(axis=[0, 1]),
        dict(eps=1e-3, decay_rate=0.5),
        dict(create_scale=False, create_offset=False),
        dict(scale_init=jnp.zeros, offset_init=jnp.ones),
    ],
)
def test_batch_norm_options(kwargs):
    kw = dict(create_scale=True, create_offset=True, decay_rate=0.99)
    kw.update(kwargs)

    def make(hk):
        return lambda x: hk.BatchNorm(**kw)(x, True)

    _run_both(make, _x(6, 3, 4), steps=2)


def test_batch_norm_test_local_stats():
    def make(hk):
        def f(x):
            bn = hk.BatchNorm(True, True, 0.9)
            y = bn(x, True)
            return bn(y, False, test_local_stats=True)

        return f

    _run_both(make, _x(5, 3), steps=2)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(axis=-1),
        dict(axis=(1, 2)),
        dict(axis=slice(1, None), use_fast_variance=True),
        dict(axis=1, param_axis=1),
        dict(axis=(1, 2), param_axis=(1, 2)),
        dict(axis=-1, create_scale=False),
        dict(axis=-1, create_offset=False, eps=1e-2),
    ],
)
def test_layer_norm(kwargs):
    kw = dict(create_scale=True, create_offset=True)
    kw.update(kwargs)

    def make(hk):
        return lambda x: hk.LayerNorm(**kw)(x)

    _run_both(make, _x(2, 3, 4) * 3 + 1)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first", "NCHW"])
def test_instance_norm(data_format):
    def make(hk):
        return lambda x: hk.InstanceNorm(True, True, data_format=data_format)(x)

    _run_both(make, _x(2, 3, 4, 4) * 2 + 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(groups=2),
        dict(groups=3, data_format="channels_first"),
        dict(groups=2, axis=-1),
        dict(groups=2, axis=(1, 2)),
        dict(groups=1, create_scale=False),
        dict(groups=3, data_format="NCHW", axis=(2, 3)),
    ],
)
def test_group_norm(kwargs):
    def make(hk):
        return lambda x: hk.GroupNorm(**kwargs)(x)

    _run_both(make, _x(2, 3, 5, 4) * 2 + 1)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(axis=-1),
        dict(axis=(1, 2), param_axis=(1, 2)),
        dict(axis=-1, create_scale=False, eps=1e-2),
        dict(axis=slice(1, None)),
    ],
)
def test_rms_norm(kwargs):
    def make(hk):
        return lambda x: hk.RMSNorm(**kwargs)(x)

    _run_both(make, _x(2, 3, 4) * 3 + 1)


@pytest.mark.parametrize("shape,n_steps", [((3, 4), 1), ((5, 3), 3), ((2, 3, 4), 2)])
def test_spectral_norm(shape, n_steps):
    def make(hk):
        return lambda w: hk.SpectralNorm(n_steps=n_steps)(w)

    _run_both(make, _x(*shape), steps=3)


def test_sn_params_tree_with_ignore():
    tree = {
        "mlp/~/linear_0": {"w": _x(3, 4), "b": _x(4, seed=1)},
        "conv": {"w": _x(2, 2, 3, 4, seed=2)},
    }

    def make(hk):
        return lambda t: hk.SNParamsTree(ignore_regex=".*b$", n_steps=2)(t)

    _run_both(make, tree, steps=2, grads=False)


# --------------------------------------------------------------------- moving averages


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(decay=0.9),
        dict(decay=0.5, zero_debias=False),
        dict(decay=0.9, zero_debias=False, warmup_length=2),
    ],
)
def test_exponential_moving_average(kwargs):
    def make(hk):
        def f(x):
            ema = hk.ExponentialMovingAverage(**kwargs)
            return ema(x), ema.average

        return f

    _run_both(make, _x(2, 3), steps=4, grads=False)


def test_exponential_moving_average_no_update():
    def make(hk):
        return lambda x: hk.ExponentialMovingAverage(0.9)(x, update_stats=False)

    _run_both(make, _x(3), steps=2, grads=False)


def test_ema_params_tree():
    tree = {"mlp/~/linear_0": {"w": _x(3, 4), "b": _x(4, seed=1)}, "top": {"s": _x(2, seed=3)}}

    def make(hk):
        return lambda t: hk.EMAParamsTree(0.8, ignore_regex="top")(t)

    _run_both(make, tree, steps=3, grads=False)


# --------------------------------------------------------------------------- attention


@pytest.mark.parametrize(
    "q_shape,kv_shape,kwargs,mask_shape",
    [
        ((2, 5, 6), (2, 5, 6), dict(num_heads=2, key_size=4), None),
        ((2, 5, 6), (2, 7, 3), dict(num_heads=3, key_size=4, value_size=2, model_size=5), None),
        ((2, 5, 6), (2, 7, 6), dict(num_heads=2, key_size=3), (2, 1, 5, 7)),
        ((5, 6), (5, 6), dict(num_heads=2, key_size=4, with_bias=False), (1, 5, 5)),
        ((3, 2, 4, 6), (3, 2, 4, 6), dict(num_heads=2, key_size=4), (3, 1, 2, 4, 4)),
    ],
)
def test_multi_head_attention(q_shape, kv_shape, kwargs, mask_shape):
    mask = None
    if mask_shape is not None:
        mask = (np.random.RandomState(5).rand(*mask_shape) > 0.3).astype(np.float32)
        mask[..., 0, :] = 0.0  # one fully masked query row
    value_shape = (*kv_shape[:-1], kv_shape[-1] + 1)

    def make(hk):
        def f(q, k, v, m):
            mha = hk.MultiHeadAttention(
                w_init=hk.initializers.VarianceScaling(1.0), b_init=None, **kwargs
            )
            return mha(q, k, v, mask=m)

        return f

    _run_both(make, _x(*q_shape), _x(*kv_shape, seed=1), _x(*value_shape, seed=2), mask)


def test_transformer_block():
    """LayerNorm -> MHA (causal mask) -> residual -> LayerNorm -> MLP -> residual."""

    def make(hk):
        def f(x):
            t = x.shape[-2]
            mask = np.tril(np.ones((t, t), dtype=bool))[None, None]
            h = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)
            h = hk.MultiHeadAttention(
                num_heads=4, key_size=4, w_init=hk.initializers.VarianceScaling(1.0)
            )(h, h, h, mask=mask)
            x = x + h
            h = hk.LayerNorm(axis=-1, create_scale=True, create_offset=True)(x)
            h = hk.nets.MLP([32, 16], activation=jax.nn.gelu)(h)
            return x + h

        return f

    _run_both(make, _x(2, 6, 16))


# -------------------------------------------------------------------------------- nets


@pytest.mark.parametrize("activate_final", [False, True])
def test_mlp(activate_final):
    def make(hk):
        def f(x):
            mlp = hk.nets.MLP([5, 4, 3], activate_final=activate_final, activation=jnp.tanh)
            y = mlp(x)
            return mlp.reverse()(y)

        return f

    _run_both(make, _x(2, 6))


def test_mlp_dropout():
    def make(hk):
        def f(x):
            return hk.nets.MLP([8, 8, 3], with_bias=False)(
                x, dropout_rate=0.5, rng=hk.next_rng_key()
            )

        return f

    _run_both(make, _x(4, 6), rng=jax.random.PRNGKey(3))


@pytest.mark.parametrize("resnet_v2", [False, True])
def test_resnet18_train_and_eval(resnet_v2):
    def make(hk):
        return lambda x: hk.nets.ResNet18(7, resnet_v2=resnet_v2)(x, is_training=True)

    def make_eval(hk):
        return lambda x: hk.nets.ResNet18(7, resnet_v2=resnet_v2)(x, is_training=False)

    x = _x(2, 16, 16, 3)
    params, state, _ = _run_both(make, x, atol=1e-4, rtol=1e-4)
    up = _Upstream(hk_up.transform_with_state(make_eval(hk_up)))
    ours = hkc.transform_with_state(make_eval(hkc))
    up_out, _ = jax.jit(up.apply)(params, state, None, x)
    our_out, _ = jax.jit(ours.apply)(params, state, None, x)
    _assert_close(our_out, up_out, "eval logits", rtol=1e-4, atol=1e-4)


def test_resnet50_small_input():
    def make(hk):
        return lambda x: hk.nets.ResNet50(10)(x, is_training=True)

    _run_both(make, _x(2, 32, 32, 3), atol=1e-4, rtol=1e-4)


def test_resnet_custom_config():
    def make(hk):
        return lambda x: hk.nets.ResNet(
            blocks_per_group=(1, 1, 1, 1),
            num_classes=4,
            bottleneck=True,
            channels_per_group=(8, 8, 16, 16),
            use_projection=(True, False, True, True),
            strides=(1, 1, 2, 2),
            bn_config=dict(decay_rate=0.5),
            resnet_v2=True,
            logits_config=dict(name="head"),
            initial_conv_config=dict(output_channels=8, kernel_shape=3),
        )(x, is_training=True)

    _run_both(make, _x(2, 12, 12, 3), steps=2, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("depth", [34, 101, 152, 200])
def test_deep_resnet_param_and_state_trees(depth):
    x = jnp.ones([1, 32, 32, 3])

    def make(hk):
        return lambda x: getattr(hk.nets, f"ResNet{depth}")(10)(x, is_training=True)

    with jax.numpy_rank_promotion("allow"):
        up = jax.eval_shape(hk_up.transform_with_state(make(hk_up)).init, jax.random.PRNGKey(0), x)
    ours = jax.eval_shape(hkc.transform_with_state(make(hkc)).init, jax.random.PRNGKey(0), x)
    for a, e in zip(ours, up, strict=True):
        spec_a = sorted((m, n, v.shape, str(v.dtype)) for m, d in a.items() for n, v in d.items())
        spec_e = sorted((m, n, v.shape, str(v.dtype)) for m, d in e.items() for n, v in d.items())
        assert spec_a == spec_e


@pytest.mark.parametrize("use_bn", [True, False])
def test_mobilenet_v1(use_bn):
    def make(hk):
        return lambda x: hk.nets.MobileNetV1(
            strides=(1, 2, 2), channels=(8, 16, 16), num_classes=5, use_bn=use_bn
        )(x, is_training=True)

    _run_both(make, _x(2, 17, 17, 3), atol=1e-4, rtol=1e-4)


def test_mobilenet_v1_default_trees():
    x = jnp.ones([1, 32, 32, 3])

    def make(hk):
        return lambda x: hk.nets.MobileNetV1(num_classes=10)(x, is_training=True)

    with jax.numpy_rank_promotion("allow"):
        up = hk_up.transform_with_state(make(hk_up)).init(jax.random.PRNGKey(0), x)
    ours = hkc.transform_with_state(make(hkc)).init(jax.random.PRNGKey(0), x)
    assert _tree_spec(ours[0]) == _tree_spec(up[0])
    assert _tree_spec(ours[1]) == _tree_spec(up[1])


def test_vector_quantizer():
    def make(hk):
        def f(x):
            vq = hk.nets.VectorQuantizer(4, 10, 0.25)
            out = vq(x, is_training=True)
            return out, vq.quantize(jnp.array([0, 3, 9]))

        return f

    _run_both(make, _x(3, 5, 4), perturb=False)


def test_vector_quantizer_ema():
    def make(hk):
        return lambda x: hk.nets.VectorQuantizerEMA(4, 10, 0.25, 0.9)(x, is_training=True)

    _run_both(make, _x(3, 5, 4), steps=3)


def test_init_values_match_upstream_for_resnet18():
    """Same rng -> the same initial parameters (initializers and key splitting match)."""

    def make(hk):
        return lambda x: hk.nets.ResNet18(7)(x, is_training=True)

    x = _x(1, 16, 16, 3)
    up = _Upstream(hk_up.transform_with_state(make(hk_up))).init(jax.random.PRNGKey(1), x)
    ours = hkc.transform_with_state(make(hkc)).init(jax.random.PRNGKey(1), x)
    _assert_close(ours, up, "init")
