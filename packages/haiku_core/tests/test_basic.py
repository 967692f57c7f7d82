"""Tests for haiku_core basic layers: Linear, Bias, Sequential, dropout, BatchApply, expand_apply."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing import assert_grads_numerical, check_variants

import haiku_core as hk


def _spec(params):
    """[(module, [(name, shape, dtype)])] in creation order."""
    return [
        (m, [(n, tuple(v.shape), str(v.dtype)) for n, v in b.items()]) for m, b in params.items()
    ]


def _init_apply(f, *args, key=None):
    t = hk.transform(f)
    params = t.init(key if key is not None else jax.random.PRNGKey(0), *args)
    return params, t.apply(params, None, *args)


# ----------------------------------------------------------------------------- Linear


def test_linear_param_tree_snapshot():
    params, out = _init_apply(lambda x: hk.Linear(4)(x), jnp.ones([2, 3]))
    assert _spec(params) == [("linear", [("w", (3, 4), "float32"), ("b", (4,), "float32")])]
    assert out.shape == (2, 4) and out.dtype == jnp.float32


def test_linear_naming_and_no_bias():
    zeros = hk.initializers.Constant(0.0)

    def f(x):
        x = hk.Linear(3, name="linear_1", w_init=zeros)(x)
        x = hk.Linear(3, w_init=zeros)(x)
        return hk.Linear(2, with_bias=False, w_init=zeros)(x)

    params, _ = _init_apply(f, jnp.ones([1, 3]))
    assert _spec(params) == [
        ("linear_1", [("w", (3, 3), "float32"), ("b", (3,), "float32")]),
        ("linear_2", [("w", (3, 3), "float32"), ("b", (3,), "float32")]),
        ("linear_3", [("w", (3, 2), "float32")]),
    ]


def test_linear_known_values_against_numpy(np_rng):
    x = np_rng.normal(size=(4, 3)).astype(np.float32)
    w = np_rng.normal(size=(3, 5)).astype(np.float32)
    b = np_rng.normal(size=(5,)).astype(np.float32)
    t = hk.transform(lambda x: hk.Linear(5)(x))
    out = t.apply({"linear": {"w": jnp.asarray(w), "b": jnp.asarray(b)}}, None, x)
    expected = np.zeros((4, 5), np.float64)
    for i in range(4):
        for j in range(5):
            expected[i, j] = sum(float(x[i, k]) * float(w[k, j]) for k in range(3)) + b[j]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_linear_zero_w_returns_b():
    t = hk.transform(lambda x: hk.Linear(2)(x))
    params = {"linear": {"w": jnp.zeros([3, 2]), "b": jnp.array([1.5, -2.0])}}
    out = t.apply(params, None, jnp.full([4, 3], 7.0))
    np.testing.assert_array_equal(out, np.tile([1.5, -2.0], (4, 1)))


def test_linear_default_init_is_truncated_normal_with_fan_in_stddev():
    params, _ = _init_apply(lambda x: hk.Linear(200)(x), jnp.ones([1, 100]))
    w, b = np.asarray(params["linear"]["w"]), np.asarray(params["linear"]["b"])
    stddev = 1.0 / np.sqrt(100)
    assert np.abs(w).max() <= 2 * stddev + 1e-6  # truncated at 2 stddev
    # A unit normal truncated to [-2, 2] has stddev 0.8796.
    assert abs(w.std() - 0.8796 * stddev) < 0.05 * stddev
    np.testing.assert_array_equal(b, np.zeros(200))


def test_linear_custom_initializers():
    f = lambda x: hk.Linear(2, w_init=hk.initializers.Constant(0.5), b_init=jnp.ones)(x)
    params, out = _init_apply(f, jnp.ones([1, 3]))
    np.testing.assert_array_equal(params["linear"]["w"], np.full((3, 2), 0.5))
    np.testing.assert_allclose(out, [[2.5, 2.5]])


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 5, 3)])
def test_linear_any_leading_shape(shape):
    params, out = _init_apply(lambda x: hk.Linear(4)(x), jnp.ones(shape))
    assert out.shape == (*shape[:-1], 4)
    assert params["linear"]["w"].shape == (3, 4)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
def test_linear_low_precision_params_follow_input_dtype(dtype):
    f = lambda x: hk.Linear(4, w_init=hk.initializers.Constant(0.25))(x)
    params, out = _init_apply(f, jnp.full([2, 3], 2.0, dtype))
    assert params["linear"]["w"].dtype == dtype and params["linear"]["b"].dtype == dtype
    assert out.dtype == dtype
    np.testing.assert_allclose(np.asarray(out, np.float32), np.full([2, 4], 1.5))


def test_linear_rank0_input_raises_naming_module_and_argument():
    with pytest.raises(ValueError, match=r"Linear 'linear'.*`inputs`.*rank >= 1.*\(\)"):
        _init_apply(lambda x: hk.Linear(4)(x), jnp.ones([]))


def test_linear_input_size_mismatch_with_params_raises_clearly():
    t = hk.transform(lambda x: hk.Linear(8)(x))
    params = {"linear": {"w": jnp.zeros([4, 8]), "b": jnp.zeros([8])}}
    t.apply(params, None, jnp.ones([1, 4]))  # matching input is fine
    with pytest.raises(
        ValueError, match=r"Linear 'linear'.*`inputs`.*\(1, 5\).*\(5, 8\).*\(4, 8\)"
    ):
        t.apply(params, None, jnp.ones([1, 5]))


def test_linear_precision_argument_is_used():
    t = hk.transform(lambda x: hk.Linear(3)(x, precision=jax.lax.Precision.HIGHEST))
    params = {"linear": {"w": jnp.ones([4, 3]), "b": jnp.zeros([3])}}
    jaxpr = str(jax.make_jaxpr(t.apply)(params, None, jnp.ones([2, 4])))
    assert "HIGHEST" in jaxpr


def test_linear_jit_vmap_and_grads(np_rng):
    t = hk.without_apply_rng(hk.transform(lambda x: hk.Linear(3)(x)))
    x = np_rng.normal(size=(5, 4)).astype(np.float32)
    params = {
        "linear": {
            "w": jnp.asarray(np_rng.normal(size=(4, 3)), jnp.float32),
            "b": jnp.asarray(np_rng.normal(size=(3,)), jnp.float32),
        }
    }
    check_variants(lambda x: t.apply(params, x), x[0], vmap_args=(x,), rtol=1e-5, atol=1e-5)
    assert_grads_numerical(
        lambda p, x: t.apply(p, x), (params, x.astype(np.float32)), eps=1e-2, rtol=2e-2, atol=2e-2
    )


def test_linear_under_remat_and_vmap_wrappers():
    x = jnp.arange(6.0).reshape(2, 3)
    w_init = hk.initializers.Constant(jnp.arange(12.0).reshape(3, 4))

    def plain(x):
        return hk.Linear(4, w_init=w_init, b_init=jnp.ones)(x)

    def rematted(x):
        return hk.remat(plain)(x)

    def vmapped(x):
        return hk.vmap(plain, split_rng=False)(x)

    p0, out0 = _init_apply(plain, x)
    np.testing.assert_allclose(
        out0, np.arange(6.0).reshape(2, 3) @ np.arange(12.0).reshape(3, 4) + 1
    )
    for f in (rematted, vmapped):
        p, out = _init_apply(f, x)
        # (Under jax transforms the per-module dict order may change, as in dm-haiku.)
        flat = lambda params: sorted((m, n, s, d) for m, e in _spec(params) for n, s, d in e)
        assert flat(p) == flat(p0)
        np.testing.assert_allclose(out, out0, rtol=1e-6)


def test_linear_under_layer_stack():
    f = hk.layer_stack(3)(lambda x: jax.nn.relu(hk.Linear(2, w_init=jnp.ones)(x)))
    params, out = _init_apply(f, jnp.ones([4, 2]))
    (module,) = params
    assert params[module]["w"].shape == (3, 2, 2) and params[module]["b"].shape == (3, 2)
    assert out.shape == (4, 2)


# ----------------------------------------------------------------------------- Bias


@pytest.mark.parametrize(
    "bias_dims,expected",
    [(None, (5, 3)), ([-1], (3,)), ([2], (3,)), ([1], (5, 1)), ([1, 2], (5, 3)), ([], ())],
)
def test_bias_shapes(bias_dims, expected):
    params, out = _init_apply(lambda x: hk.Bias(bias_dims=bias_dims)(x), jnp.ones([2, 5, 3]))
    assert _spec(params) == [("bias", [("b", expected, "float32")])]
    assert out.shape == (2, 5, 3)


def test_bias_known_values_and_multiplier(np_rng):
    x = np_rng.normal(size=(2, 5, 3)).astype(np.float32)
    b = np_rng.normal(size=(5, 1)).astype(np.float32)
    t = hk.transform(lambda x, m: hk.Bias(bias_dims=[1])(x, m))
    out = t.apply({"bias": {"b": jnp.asarray(b)}}, None, x, 3.0)
    expected = np.empty_like(x)
    for i in range(2):
        for j in range(5):
            for k in range(3):
                expected[i, j, k] = x[i, j, k] + 3.0 * b[j, 0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_bias_default_init_zeros_and_dtype():
    params, out = _init_apply(lambda x: hk.Bias()(x), jnp.ones([2, 3], jnp.bfloat16))
    assert params["bias"]["b"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(out, np.float32), np.ones([2, 3]))


def test_bias_bad_inputs():
    with pytest.raises(ValueError, match=r"Bias 'bias'.*`inputs`.*rank >= 2.*\(3,\)"):
        _init_apply(lambda x: hk.Bias()(x), jnp.ones([3]))
    with pytest.raises(ValueError, match=r"`bias_dims`.*axis 0.*batch"):
        _init_apply(lambda x: hk.Bias(bias_dims=[0])(x), jnp.ones([2, 3]))
    with pytest.raises(ValueError, match=r"\(-1, 4\).*\(2, 5, 3\)"):
        _init_apply(lambda x: hk.Bias(output_size=(4,))(x), jnp.ones([2, 5, 3]))
    # A list output_size that matches is fine.
    _init_apply(lambda x: hk.Bias(output_size=[5, 3])(x), jnp.ones([2, 5, 3]))


# ----------------------------------------------------------------------------- Sequential


def test_sequential_param_tree_and_values():
    def f(x):
        return hk.Sequential([hk.Linear(4), jax.nn.relu, hk.Linear(2)])(x)

    params, out = _init_apply(f, jnp.ones([2, 3]))
    assert _spec(params) == [
        ("linear", [("w", (3, 4), "float32"), ("b", (4,), "float32")]),
        ("linear_1", [("w", (4, 2), "float32"), ("b", (2,), "float32")]),
    ]
    p = jax.tree.map(np.asarray, params)
    h = np.maximum(np.ones([2, 3]) @ p["linear"]["w"] + p["linear"]["b"], 0)
    expected = h @ p["linear_1"]["w"] + p["linear_1"]["b"]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_sequential_extra_args_go_to_first_layer_only():
    calls = []

    def first(x, scale, *, shift):
        calls.append(("first", scale, shift))
        return x * scale + shift

    def second(x):
        calls.append(("second",))
        return x + 1

    out = hk.transform(lambda x: hk.Sequential([first, second])(x, 2.0, shift=3.0)).apply(
        {}, None, jnp.ones([2])
    )
    np.testing.assert_allclose(out, [6.0, 6.0])
    assert calls == [("first", 2.0, 3.0), ("second",)]


def test_sequential_empty_returns_input():
    x = jnp.arange(3.0)
    np.testing.assert_array_equal(
        hk.transform(lambda x: hk.Sequential([])(x)).apply({}, None, x), x
    )


# ----------------------------------------------------------------------------- dropout


def test_dropout_values_match_bernoulli_mask(key):
    x = jnp.arange(1.0, 25.0).reshape(4, 6)
    out = hk.dropout(key, 0.25, x)
    keep = np.asarray(jax.random.bernoulli(key, 0.75, (4, 6)))
    np.testing.assert_allclose(out, np.where(keep, np.asarray(x) / 0.75, 0.0), rtol=1e-6)


def test_dropout_rate_and_scaling_statistics(key):
    x = jnp.ones([20000])
    out = np.asarray(hk.dropout(key, 0.3, x))
    assert np.all((out == 0) | np.isclose(out, 1 / 0.7, rtol=1e-6))
    assert abs((out == 0).mean() - 0.3) < 0.02
    assert abs(out.mean() - 1.0) < 0.03


def test_dropout_rate_zero_is_identity(key):
    x = jnp.arange(5.0)
    assert hk.dropout(key, 0.0, x) is x


def test_dropout_broadcast_dims_share_mask(key):
    out = np.asarray(hk.dropout(key, 0.5, jnp.ones([3, 4, 5]), broadcast_dims=(0, 2)))
    for i in range(3):
        for k in range(5):
            np.testing.assert_array_equal(out[i, :, k], out[0, :, 0])


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_out_of_range_raises(key, rate):
    with pytest.raises(ValueError, match=r"dropout.*`rate`.*\[0, 1\)"):
        hk.dropout(key, rate, jnp.ones([3]))


def test_dropout_bad_rng_and_dims():
    with pytest.raises(ValueError, match=r"dropout.*`rng`"):
        hk.dropout(None, 0.5, jnp.ones([3]))
    with pytest.raises(ValueError, match=r"broadcast_dims.*3.*\(2, 2\)"):
        hk.dropout(jax.random.PRNGKey(0), 0.5, jnp.ones([2, 2]), broadcast_dims=(3,))
    # The exception types dm-haiku raises for these (TypeError / IndexError).
    with pytest.raises(TypeError, match=r"dropout.*`rng`"):
        hk.dropout(None, 0.5, jnp.ones([3]))
    with pytest.raises(IndexError, match=r"broadcast_dims.*-3"):
        hk.dropout(jax.random.PRNGKey(0), 0.5, jnp.ones([2, 2]), broadcast_dims=(-3,))


def test_dropout_traced_rate_under_jit_and_dtype(key):
    x = jnp.ones([4, 4], jnp.bfloat16)
    out = jax.jit(lambda r: hk.dropout(key, r, x))(0.5)
    assert out.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(out, np.float32), np.asarray(hk.dropout(key, 0.5, x), np.float32)
    )


def test_dropout_inside_transform_uses_next_rng_key():
    t = hk.transform(lambda x: hk.dropout(hk.next_rng_key(), 0.5, x))
    x = jnp.ones([64])
    a = t.apply({}, jax.random.PRNGKey(0), x)
    b = t.apply({}, jax.random.PRNGKey(1), x)
    assert not np.array_equal(a, b)


# ----------------------------------------------------------------------------- BatchApply


def test_batch_apply_merges_and_splits(np_rng):
    x = np_rng.normal(size=(2, 3, 4)).astype(np.float32)
    seen = []

    def f(a, b, c=None):
        seen.append((a.shape, b.shape, c))
        return a.sum(-1), {"b": b * 2}

    out = hk.BatchApply(f)(jnp.asarray(x), jnp.ones([2, 3]), c="tag")
    assert seen == [((6, 4), (6,), "tag")]
    np.testing.assert_allclose(out[0], x.sum(-1), rtol=1e-6)
    assert out[1]["b"].shape == (2, 3)


def test_batch_apply_with_linear_matches_loop(np_rng):
    x = np_rng.normal(size=(3, 2, 4)).astype(np.float32)
    w_init = hk.initializers.Constant(np_rng.normal(size=(4, 5)).astype(np.float32))
    t = hk.transform(lambda x: hk.BatchApply(hk.Linear(5, w_init=w_init, b_init=jnp.ones))(x))
    params = t.init(jax.random.PRNGKey(0), x)
    out = np.asarray(t.apply(params, None, x))
    w, b = np.asarray(params["linear"]["w"]), np.asarray(params["linear"]["b"])
    for i in range(3):
        np.testing.assert_allclose(out[i], x[i] @ w + b, rtol=1e-5, atol=1e-6)


def test_batch_apply_num_dims_and_low_rank_passthrough():
    seen = []

    def f(a, b):
        seen.append((a.shape, b.shape))
        return a

    out = hk.BatchApply(f, num_dims=3)(jnp.ones([2, 3, 4, 5]), jnp.ones([7]))
    assert seen == [((24, 5), (7,))] and out.shape == (2, 3, 4, 5)


def test_batch_apply_errors():
    with pytest.raises(ValueError, match=r"BatchApply.*ndim >= 2"):
        hk.BatchApply(lambda a: a)(jnp.ones([3]))
    # dm-haiku raises TypeError (from the reshape) here; ours is both.
    with pytest.raises(TypeError, match=r"BatchApply.*leading axis of size 6.*\(5, 2\)"):
        hk.BatchApply(lambda a: jnp.ones([5, 2]))(jnp.ones([2, 3, 1]))
    with pytest.raises(ValueError, match=r"BatchApply.*leading axis of size 6.*\(\)"):
        hk.BatchApply(lambda a: a.sum())(jnp.ones([2, 3, 1]))


def test_batch_apply_merges_each_input_by_its_own_leading_dims():
    # As dm-haiku: inputs need not agree on their leading dims, only on the merged size
    # f sees; outputs are split by the first input's leading dims.
    a = jnp.arange(24.0).reshape(2, 3, 4)
    b = jnp.arange(24.0).reshape(3, 2, 4)
    out = hk.BatchApply(lambda x, y: x + y)(a, b)
    expected = (np.arange(24.0).reshape(6, 4) * 2).reshape(2, 3, 4)
    np.testing.assert_array_equal(out, expected)


# ----------------------------------------------------------------------------- expand_apply


def test_expand_apply_adds_and_removes_axis():
    seen = []

    def f(x):
        seen.append(x.shape)
        return x * 2

    out = hk.expand_apply(f)(jnp.ones([3, 4]))
    assert seen == [(1, 3, 4)] and out.shape == (3, 4)
    out = hk.expand_apply(f, axis=-1)(jnp.ones([3, 4]))
    assert seen[-1] == (3, 4, 1) and out.shape == (3, 4)


def test_expand_apply_runs_batched_module_on_one_example():
    t = hk.transform(lambda x: hk.expand_apply(hk.BatchApply(hk.Linear(2, w_init=jnp.ones)))(x))
    params = t.init(jax.random.PRNGKey(0), jnp.ones([3, 5]))
    assert t.apply(params, None, jnp.ones([3, 5])).shape == (3, 2)


def test_expand_apply_errors():
    with pytest.raises(ValueError, match=r"expand_apply.*`axis`.*0 or -1.*1"):
        hk.expand_apply(lambda x: x, axis=1)
    with pytest.raises(ValueError, match=r"expand_apply.*size-1 axis 0.*\(\)"):
        hk.expand_apply(lambda x: x.sum())(jnp.ones([3]))
