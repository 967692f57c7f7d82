"""Tests for the convolutional LSTM cores (``_src/conv_lstm.py``) against a NumPy reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from shared_testing.asserts import assert_trees_allclose

import haiku_core as hk

KEY = jax.random.PRNGKey(0)
RTOL = 1e-5
ATOL = 1e-5


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_conv_same(x, w, b):
    """Stride-1 'SAME' cross-correlation. x [B, *S, Ci], w [*K, Ci, Co], b [Co]."""
    kernel = w.shape[:-2]
    spatial = x.shape[1:-1]
    pads = [(0, 0)] + [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in kernel] + [(0, 0)]
    xp = np.pad(x, pads)
    out = np.zeros((*x.shape[:-1], w.shape[-1]), np.float64)
    for offs in np.ndindex(*kernel):
        window = (slice(None), *(slice(o, o + s) for o, s in zip(offs, spatial, strict=True)))
        out += xp[window] @ w[offs]
    return out + b


def np_conv_lstm_step(x, h, c, p_in, p_hid):
    gates = np_conv_same(x, p_in["w"], p_in["b"]) + np_conv_same(h, p_hid["w"], p_hid["b"])
    i, g, f, o = np.split(gates, 4, axis=-1)
    c_new = np_sigmoid(f + 1.0) * c + np_sigmoid(i) * np.tanh(g)
    return np_sigmoid(o) * np.tanh(c_new), c_new


def rtransform(f, seed=0, scale=0.5):
    """``rtransform(f)`` whose ``init`` draws every parameter from N(0, scale^2) with NumPy.

    Keeps the real creation order, names, shapes and dtypes (only the initial values differ),
    gives non-zero biases, and avoids compiling the default initialisers for every new shape.
    """

    def creator(next_creator, shape, dtype, init, context):
        del init, context
        rng = np.random.RandomState(seed + len(creator.seen))
        creator.seen.append(shape)
        value = np.asarray(scale * rng.randn(*shape)).astype(jnp.dtype(dtype))
        return next_creator(shape, dtype, lambda s, d: jnp.asarray(value, dtype=d))

    def wrapped(*args, **kwargs):
        creator.seen = []
        with hk.custom_creator(creator):
            return f(*args, **kwargs)

    return hk.transform(wrapped)


def rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def snapshot(params):
    return [
        (mod, name, tuple(v.shape), str(v.dtype))
        for mod, entries in params.items()
        for name, v in entries.items()
    ]


def test_conv2d_lstm_param_tree_snapshot():
    def f(x):
        core = hk.Conv2DLSTM([8, 8], 4, 3)
        return hk.dynamic_unroll(core, x, core.initial_state(2))

    params = rtransform(f).init(KEY, jnp.ones([5, 2, 8, 8, 3]))
    assert snapshot(params) == [
        ("conv2_dlstm/input_to_hidden", "w", (3, 3, 3, 16), "float32"),
        ("conv2_dlstm/input_to_hidden", "b", (16,), "float32"),
        ("conv2_dlstm/hidden_to_hidden", "w", (3, 3, 4, 16), "float32"),
        ("conv2_dlstm/hidden_to_hidden", "b", (16,), "float32"),
    ]


@pytest.mark.parametrize(
    "cls, input_shape, kernel, x_shape, prefix, w_in, w_hid",
    [
        (hk.Conv1DLSTM, [6], 3, [2, 6, 3], "conv1_dlstm", (3, 3, 8), (3, 2, 8)),
        (
            hk.Conv3DLSTM,
            [2, 3, 4],
            (1, 2, 3),
            [1, 2, 3, 4, 5],
            "conv3_dlstm",
            (1, 2, 3, 5, 8),
            (1, 2, 3, 2, 8),
        ),
    ],
)
def test_conv1d_conv3d_param_trees_and_names(
    cls, input_shape, kernel, x_shape, prefix, w_in, w_hid
):
    def f(x):
        core = cls(input_shape, 2, kernel)
        return core(x, core.initial_state(x_shape[0])), core.module_name

    params = rtransform(f).init(KEY, jnp.ones(x_shape))
    assert snapshot(params) == [
        (f"{prefix}/input_to_hidden", "w", w_in, "float32"),
        (f"{prefix}/input_to_hidden", "b", (8,), "float32"),
        (f"{prefix}/hidden_to_hidden", "w", w_hid, "float32"),
        (f"{prefix}/hidden_to_hidden", "b", (8,), "float32"),
    ]


@pytest.mark.parametrize("batch_size", [None, 3])
def test_initial_state(batch_size):
    lead = () if batch_size is None else (batch_size,)
    state = rtransform(lambda: hk.Conv2DLSTM([4, 5], 6, 3).initial_state(batch_size)).apply(
        {}, None
    )
    assert isinstance(state, hk.LSTMState)
    for leaf in state:
        assert leaf.shape == (*lead, 4, 5, 6) and leaf.dtype == jnp.float32
        np.testing.assert_array_equal(leaf, np.zeros(leaf.shape, np.float32))


@pytest.mark.parametrize(
    "cls, input_shape, kernel, batched",
    [
        (hk.Conv1DLSTM, [7], 3, True),
        (hk.Conv1DLSTM, [7], 4, False),  # even kernel: asymmetric SAME padding
        (hk.Conv2DLSTM, [4, 5], (3, 2), True),
        (hk.Conv3DLSTM, [3, 3, 2], 2, True),
    ],
)
def test_step_matches_numpy(cls, input_shape, kernel, batched):
    c_in, c_out = 2, 3
    lead = (2,) if batched else ()
    x = rand(*lead, *input_shape, c_in, seed=1)
    h = rand(*lead, *input_shape, c_out, seed=2)
    c = rand(*lead, *input_shape, c_out, seed=3)
    f = rtransform(lambda x, s: cls(input_shape, c_out, kernel)(x, s))
    state = hk.LSTMState(h, c)
    params = f.init(KEY, x, state)
    out, new = f.apply(params, None, x, state)
    (p_in, p_hid) = (jax.tree.map(np.asarray, params[k]) for k in params)
    add = (lambda a: a) if batched else (lambda a: a[None])
    h_ref, c_ref = np_conv_lstm_step(add(x), add(h), add(c), p_in, p_hid)
    if not batched:
        h_ref, c_ref = h_ref[0], c_ref[0]
    assert out.shape == (*lead, *input_shape, c_out)
    np.testing.assert_allclose(out, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(new.cell, c_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(out, new.hidden)


def test_zero_weights_hand_computed():
    # w = b = 0: c = sigmoid(1) * c_prev, h = 0.5 * tanh(c), at every spatial position.
    x = np.ones([1, 3, 1], np.float32)
    c0 = np.full([1, 3, 2], 2.0, np.float32)
    state = hk.LSTMState(np.zeros_like(c0), c0)
    f = rtransform(lambda x, s: hk.Conv1DLSTM([3], 2, 3)(x, s))
    params = jax.tree.map(jnp.zeros_like, f.init(KEY, x, state))
    out, new = f.apply(params, None, x, state)
    c_expected = 2.0 / (1.0 + np.exp(-1.0))
    np.testing.assert_allclose(new.cell, np.full([1, 3, 2], c_expected), rtol=RTOL)
    np.testing.assert_allclose(out, np.full([1, 3, 2], 0.5 * np.tanh(c_expected)), rtol=RTOL)


def test_dynamic_equals_static_unroll():
    xs = rand(3, 2, 4, 4, 2)

    def make(unroll):
        def f(xs):
            core = hk.Conv2DLSTM([4, 4], 3, 3)
            return getattr(hk, unroll)(core, xs, core.initial_state(2))

        return rtransform(f)

    dyn, sta = make("dynamic_unroll"), make("static_unroll")
    params = dyn.init(KEY, xs)
    out_d = dyn.apply(params, None, xs)
    assert_trees_allclose(out_d, sta.apply(params, None, xs), rtol=RTOL, atol=ATOL)
    assert out_d[0].shape == (3, 2, 4, 4, 3)


def test_bfloat16_inputs_and_state():
    x = jnp.ones([1, 4, 2], jnp.bfloat16)

    def f(x):
        core = hk.Conv1DLSTM([4], 3, 3)
        s = jax.tree.map(lambda v: v.astype(jnp.bfloat16), core.initial_state(1))
        return core(x, s)

    f = rtransform(f)
    params = f.init(KEY, x)
    out, state = f.apply(params, None, x)
    assert out.dtype == state.cell.dtype == jnp.bfloat16


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


def _init(fn, *args):
    return rtransform(fn).init(KEY, *args)


@pytest.mark.parametrize("shape", [(4, 4), (1, 2, 4, 4, 2)])
def test_conv2d_lstm_wrong_input_rank(shape):
    def f(x):
        core = hk.Conv2DLSTM([4, 4], 3, 3)
        return core(x, core.initial_state(1))

    with pytest.raises(
        ValueError,
        match=rf"haiku_core\.Conv2DLSTM 'conv2_dlstm': `inputs` must have rank 3 or 4.*got rank {len(shape)}",
    ):
        _init(f, jnp.ones(shape))


def test_state_spatial_mismatch():
    def f(x):
        core = hk.Conv2DLSTM([4, 4], 3, 3)
        return core(x, core.initial_state(2))

    with pytest.raises(
        ValueError,
        match=r"`prev_state\.hidden` must have shape \(2, 5, 4, 3\).*got \(2, 4, 4, 3\)",
    ):
        _init(f, jnp.ones([2, 5, 4, 1]))


def test_state_wrong_channels_or_type():
    def f(x):
        return hk.Conv1DLSTM([4], 3, 3)(x, hk.LSTMState(jnp.zeros([1, 4, 2]), jnp.zeros([1, 4, 3])))

    with pytest.raises(
        ValueError, match=r"haiku_core\.Conv1DLSTM 'conv1_dlstm': `prev_state\.hidden`"
    ):
        _init(f, jnp.ones([1, 4, 2]))
    with pytest.raises(TypeError, match=r"`prev_state` must be an LSTMState"):
        _init(lambda x: hk.Conv1DLSTM([4], 3, 3)(x, jnp.zeros([1, 4, 3])), jnp.ones([1, 4, 2]))


def test_input_shape_is_not_validated_until_the_state_meets_an_input():
    # dm-haiku 0.0.17 accepts any `input_shape` and builds the initial state from it
    # ([B, *input_shape, C]); a mismatch only surfaces (ValueError) when called.
    def f():
        return hk.Conv2DLSTM([4, 4, 1], 3, 3).initial_state(2)

    state = rtransform(f).apply({}, None)
    assert state.hidden.shape == state.cell.shape == (2, 4, 4, 1, 3)

    def g(x):
        core = hk.Conv2DLSTM([4], 3, 3)
        return core(x, core.initial_state(1))

    with pytest.raises(ValueError, match=r"Conv2DLSTM 'conv2_dlstm': `prev_state\.hidden`"):
        _init(g, jnp.ones([1, 4, 4, 2]))
