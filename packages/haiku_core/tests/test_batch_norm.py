"""Tests for hk.BatchNorm (known values vs a NumPy reference, EMA state, errors)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.asserts import assert_trees_allclose
from shared_testing.grads import assert_grads_numerical

import haiku_core as hk


def _tree_spec(tree):
    return [(m, n, tuple(v.shape), str(v.dtype)) for m, d in tree.items() for n, v in d.items()]


def _bn(is_training, **kwargs):
    kw = dict(create_scale=True, create_offset=True, decay_rate=0.9)
    kw.update(kwargs)
    return hk.transform_with_state(lambda x: hk.BatchNorm(**kw)(x, is_training))


def test_param_and_state_tree_snapshot():
    params, state = _bn(True).init(None, jnp.ones([2, 8, 8, 3]))
    assert _tree_spec(params) == [
        ("batch_norm", "scale", (1, 1, 1, 3), "float32"),
        ("batch_norm", "offset", (1, 1, 1, 3), "float32"),
    ]
    assert _tree_spec(state) == [
        ("batch_norm/~/mean_ema", "counter", (), "int32"),
        ("batch_norm/~/mean_ema", "hidden", (1, 1, 1, 3), "float32"),
        ("batch_norm/~/mean_ema", "average", (1, 1, 1, 3), "float32"),
        ("batch_norm/~/var_ema", "counter", (), "int32"),
        ("batch_norm/~/var_ema", "hidden", (1, 1, 1, 3), "float32"),
        ("batch_norm/~/var_ema", "average", (1, 1, 1, 3), "float32"),
    ]


@pytest.mark.parametrize(
    "data_format,shape",
    [("NCHW", (1, 4, 1, 1)), ("channels_first", (1, 4, 1, 1)), ("NHWC", (1, 1, 1, 3))],
)
def test_data_format_param_shape(data_format, shape):
    params, _ = _bn(True, data_format=data_format).init(None, jnp.ones([2, 4, 5, 3]))
    assert params["batch_norm"]["scale"].shape == shape


def test_explicit_axis_param_shape():
    params, _ = _bn(True, axis=[0]).init(None, jnp.ones([2, 4, 3]))
    assert params["batch_norm"]["scale"].shape == (1, 4, 3)


def _np_reference_train(x, scale, offset, eps):
    mean = np.zeros(x.shape[-1])
    var = np.zeros(x.shape[-1])
    flat = x.reshape(-1, x.shape[-1])
    for c in range(x.shape[-1]):
        mean[c] = flat[:, c].sum() / flat.shape[0]
        var[c] = ((flat[:, c] - mean[c]) ** 2).sum() / flat.shape[0]
    out = (x - mean) / np.sqrt(var + eps) * scale + offset
    return out, mean, var


def test_train_known_values_and_ema_update(np_rng):
    x = np_rng.normal(size=(4, 3, 2)).astype(np.float32) * 2 + 1
    f = _bn(True, eps=1e-3)
    params, state = f.init(None, x)
    scale = np.array([0.5, 2.0], np.float32)
    offset = np.array([1.0, -1.0], np.float32)
    params = {"batch_norm": {"scale": scale.reshape(1, 1, 2), "offset": offset.reshape(1, 1, 2)}}
    out, new_state = f.apply(params, state, None, x)
    expected, mean, var = _np_reference_train(x.astype(np.float64), scale, offset, 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    # EMA after one update: hidden = 0.1 * stat; zero-debiased average = stat.
    np.testing.assert_allclose(
        new_state["batch_norm/~/mean_ema"]["hidden"][0, 0], 0.1 * mean, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(new_state["batch_norm/~/var_ema"]["average"][0, 0], var, rtol=1e-5)
    assert int(new_state["batch_norm/~/mean_ema"]["counter"]) == 1
    # Second update with another batch: h2 = 0.9 h1 + 0.1 s2; avg = h2 / (1 - 0.81).
    x2 = x * 3.0 - 2.0
    _, state2 = f.apply(params, new_state, None, x2)
    _, mean2, _ = _np_reference_train(x2.astype(np.float64), scale, offset, 1e-3)
    h2 = 0.9 * 0.1 * mean + 0.1 * mean2
    np.testing.assert_allclose(
        state2["batch_norm/~/mean_ema"]["hidden"][0, 0], h2, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        state2["batch_norm/~/mean_ema"]["average"][0, 0], h2 / (1 - 0.81), rtol=1e-5, atol=1e-5
    )


def test_eval_uses_moving_averages_and_keeps_state(np_rng):
    x = np_rng.normal(size=(5, 3)).astype(np.float32)
    params, state = _bn(True).init(None, x)
    mean = np.array([[1.0, 2.0, 3.0]], np.float32)
    var = np.array([[4.0, 0.25, 1.0]], np.float32)
    state = dict(state)
    state["batch_norm/~/mean_ema"] = dict(state["batch_norm/~/mean_ema"], average=mean)
    state["batch_norm/~/var_ema"] = dict(state["batch_norm/~/var_ema"], average=var)
    out, new_state = _bn(False).apply(params, state, None, x)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-5, atol=1e-6)
    assert_trees_allclose(new_state, state, rtol=0, atol=0)
    # test_local_stats: batch statistics, no state update.
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(True, True, 0.9)(x, False, test_local_stats=True)
    )
    out, new_state = f.apply(params, state, None, x)
    expected, _, _ = _np_reference_train(x.astype(np.float64), 1.0, 0.0, 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    assert_trees_allclose(new_state, state, rtol=0, atol=0)


def test_scale_and_offset_at_call_time(np_rng):
    x = np_rng.normal(size=(6, 2)).astype(np.float32)
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(False, False, 0.9)(
            x, True, scale=jnp.full([1, 2], 2.0), offset=jnp.full([1, 2], 3.0)
        )
    )
    params, state = f.init(None, x)
    assert params == {}
    out, _ = f.apply(params, state, None, x)
    expected, _, _ = _np_reference_train(x.astype(np.float64), 2.0, 3.0, 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_jit_and_vmap_eval(np_rng):
    x = np_rng.normal(size=(3, 4, 2)).astype(np.float32)
    f_train = _bn(True)
    params, state = f_train.init(None, x[0])
    _, state = f_train.apply(params, state, None, x[0])
    f_eval = _bn(False)
    eager = f_eval.apply(params, state, None, x[1])[0]
    jitted = jax.jit(f_eval.apply)(params, state, None, x[1])[0]
    assert_trees_allclose(jitted, eager, rtol=1e-6, atol=1e-6)
    vm = jax.vmap(lambda xi: f_eval.apply(params, state, None, xi)[0])(x)
    for i in range(3):
        np.testing.assert_allclose(vm[i], f_eval.apply(params, state, None, x[i])[0], rtol=1e-6)


def test_grads_match_finite_differences(np_rng):
    x = np_rng.normal(size=(4, 3)).astype(np.float64)
    f = _bn(True)
    params, state = f.init(None, x.astype(np.float32))

    def loss(x):
        out, _ = f.apply(params, state, None, x)
        return jnp.sum(jnp.sin(out))

    assert_grads_numerical(loss, (x.astype(np.float32),), eps=1e-2, rtol=5e-2, atol=5e-2)


def test_bfloat16_params_state_and_output():
    x = jnp.arange(12.0).reshape(4, 3).astype(jnp.bfloat16)
    f = _bn(True)
    params, state = f.init(None, x)
    assert params["batch_norm"]["scale"].dtype == jnp.bfloat16
    assert state["batch_norm/~/mean_ema"]["hidden"].dtype == jnp.bfloat16
    assert state["batch_norm/~/mean_ema"]["counter"].dtype == jnp.int32
    out, _ = f.apply(params, state, None, x)
    assert out.dtype == jnp.bfloat16
    expected, _, _ = _np_reference_train(np.asarray(x, np.float64), 1.0, 0.0, 1e-5)
    np.testing.assert_allclose(np.asarray(out, np.float32), expected, rtol=3e-2, atol=3e-2)


# ----------------------------------------------------------------------------- errors


def test_missing_is_training_is_a_type_error():
    f = hk.transform_with_state(lambda x: hk.BatchNorm(True, True, 0.9)(x))
    with pytest.raises(TypeError, match="is_training"):
        f.init(None, jnp.ones([2, 3]))


def test_is_training_none_means_evaluation():
    # dm-haiku treats is_training=None like False: the moving averages are used.
    train = _bn(True)
    x = jnp.arange(6.0).reshape(2, 3)
    params, state = train.init(None, x)
    _, state = train.apply(params, state, None, x)
    f = hk.transform_with_state(lambda x: hk.BatchNorm(True, True, 0.9)(x, None))
    out_none, state_none = f.apply(params, state, None, x)
    out_false, _ = _bn(False).apply(params, state, None, x)
    np.testing.assert_array_equal(out_none, out_false)
    assert_trees_allclose(state_none, state)


def test_traced_is_training_is_a_type_error():
    f = hk.transform_with_state(lambda x, t: hk.BatchNorm(True, True, 0.9)(x, t))
    with pytest.raises(TypeError, match=r"batch_norm.*`is_training`.*Python bool"):
        jax.jit(f.init)(None, jnp.ones([2, 3]), True)


def test_eval_before_any_training_state_raises():
    with pytest.raises(ValueError, match="average"):
        _bn(False).init(None, jnp.ones([2, 3]))


def test_axis_out_of_range():
    with pytest.raises(IndexError, match=r"`axis`=\(3,\).*rank 2"):
        _bn(True, axis=[3]).init(None, jnp.ones([2, 3]))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(create_scale=False, scale_init=jnp.ones), "scale_init"),
        (dict(create_offset=False, offset_init=jnp.ones), "offset_init"),
        (dict(data_format="bogus"), "data_format"),
        (dict(cross_replica_axis_index_groups=[[0]]), "cross_replica_axis"),
    ],
)
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _bn(True, **kwargs).init(None, jnp.ones([2, 3]))


def test_scale_passed_while_learned():
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(True, True, 0.9)(x, True, scale=jnp.ones([1, 3]))
    )
    with pytest.raises(ValueError, match=r"`scale`.*create_scale=True"):
        f.init(None, jnp.ones([2, 3]))


def test_cross_replica_axis_under_vmap(np_rng):
    # Statistics averaged over a named (vmapped) replica axis equal global statistics.
    x = np_rng.normal(size=(2, 3, 2)).astype(np.float32)
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(False, False, 0.9, cross_replica_axis="r")(x, True)
    )
    params, state = jax.vmap(lambda xi: f.init(None, xi), axis_name="r")(x)
    out, _ = jax.vmap(lambda p, s, xi: f.apply(p, s, None, xi), axis_name="r")(params, state, x)
    expected, _, _ = _np_reference_train(x.reshape(6, 2).astype(np.float64), 1.0, 0.0, 1e-5)
    np.testing.assert_allclose(out.reshape(6, 2), expected, rtol=1e-4, atol=1e-5)


def test_state_threads_through_hk_scan(np_rng):
    # hk.scan over time steps updates the EMA counter once per step.
    xs = np_rng.normal(size=(3, 4, 2)).astype(np.float32)

    def f(xs):
        bn = hk.BatchNorm(True, True, 0.9)

        def step(carry, x):
            return carry, bn(x, True)

        return hk.scan(step, 0, xs)[1]

    t = hk.transform_with_state(f)
    params, state = t.init(None, xs)
    out, new_state = t.apply(params, state, None, xs)
    assert out.shape == xs.shape
    assert int(new_state["batch_norm/~/mean_ema"]["counter"]) == 3
    for i in range(3):
        expected, _, _ = _np_reference_train(xs[i].astype(np.float64), 1.0, 0.0, 1e-5)
        np.testing.assert_allclose(out[i], expected, rtol=1e-4, atol=1e-5)
