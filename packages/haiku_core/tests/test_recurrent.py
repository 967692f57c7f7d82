"""Tests for haiku_core recurrent cores and unrolls (``_src/recurrent.py``).

Expected values come from hand computation or the plain NumPy reference steps below.
Convolutional LSTMs are tested in ``test_conv_lstm.py``.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_testing.asserts import assert_trees_allclose
from shared_testing.grads import assert_grads_numerical
from shared_testing.variants import assert_vmap_matches_loop

import haiku_core as hk

KEY = jax.random.PRNGKey(0)
RTOL = 1e-5
ATOL = 1e-6

# ----------------------------------------------------------------------------------------------
# NumPy references (independent of the code under test)
# ----------------------------------------------------------------------------------------------


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_lstm_step(x, h, c, w, b):
    """LSTM step; w [D + H, 4H] rows inputs-then-hidden, gates i, g, f, o; forget +1."""
    hs = h.shape[-1]
    z = np.concatenate([x, h], axis=-1) @ w + b
    i, g, f, o = (z[..., k * hs : (k + 1) * hs] for k in range(4))
    c_new = np_sigmoid(f + 1.0) * c + np_sigmoid(i) * np.tanh(g)
    h_new = np_sigmoid(o) * np.tanh(c_new)
    return h_new, c_new


def np_gru_step(x, h, w_i, w_h, b):
    hs = h.shape[-1]
    z = np_sigmoid(x @ w_i[:, :hs] + h @ w_h[:, :hs] + b[:hs])
    r = np_sigmoid(x @ w_i[:, hs : 2 * hs] + h @ w_h[:, hs : 2 * hs] + b[hs : 2 * hs])
    a = np.tanh(x @ w_i[:, 2 * hs :] + (r * h) @ w_h[:, 2 * hs :] + b[2 * hs :])
    return (1.0 - z) * h + z * a


def np_vanilla_step(x, h, w_i, b_i, w_h, b_h):
    return np.maximum(x @ w_i + b_i + h @ w_h + b_h, 0.0)


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


def unroll_fn(make_core, method="dynamic_unroll", batch_size=2, **kwargs):
    """Transformed f(xs) -> hk.<method>(core, xs, core.initial_state(batch_size), **kwargs)."""

    def f(xs):
        core = make_core()
        return getattr(hk, method)(core, xs, core.initial_state(batch_size), **kwargs)

    return rtransform(f)


# ----------------------------------------------------------------------------------------------
# Public surface
# ----------------------------------------------------------------------------------------------


def test_public_names_and_signatures():
    sig = inspect.signature
    assert list(sig(hk.dynamic_unroll).parameters) == [
        "core",
        "input_sequence",
        "initial_state",
        "time_major",
        "reverse",
        "return_all_states",
        "unroll",
    ]
    assert list(sig(hk.static_unroll).parameters)[:4] == [
        "core",
        "input_sequence",
        "initial_state",
        "time_major",
    ]
    init_params = lambda cls: list(sig(cls.__init__).parameters)[1:]  # drop `self`
    assert init_params(hk.GRU) == ["hidden_size", "w_i_init", "w_h_init", "b_init", "name"]
    assert init_params(hk.VanillaRNN) == ["hidden_size", "double_bias", "name"]
    assert init_params(hk.Conv2DLSTM) == ["input_shape", "output_channels", "kernel_shape", "name"]
    assert hk.LSTMState._fields == ("hidden", "cell")
    for cls in (hk.VanillaRNN, hk.LSTM, hk.GRU, hk.DeepRNN, hk.ResetCore, hk.IdentityCore):
        assert issubclass(cls, hk.RNNCore)
        assert issubclass(cls, hk.Module)


def test_rnn_core_is_abstract():
    with pytest.raises(TypeError, match="abstract"):
        rtransform(lambda: hk.RNNCore()).apply({}, None)  # type: ignore[abstract]


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: hk.VanillaRNN(3), "vanilla_rnn"),
        (lambda: hk.LSTM(3), "lstm"),
        (lambda: hk.GRU(3), "gru"),
        (lambda: hk.DeepRNN([hk.LSTM(2)]), "deep_rnn"),
        (lambda: hk.ResetCore(hk.LSTM(2)), "reset_core"),
        (lambda: hk.IdentityCore(), "identity_core"),
        (lambda: hk.LSTM(3, name="enc"), "enc"),
    ],
)
def test_default_module_names(make, expected):
    name = rtransform(lambda: make().module_name).apply({}, None)
    assert name == expected


# ----------------------------------------------------------------------------------------------
# Parameter-tree snapshots (Appendix B of the API reference)
# ----------------------------------------------------------------------------------------------

X_532 = np.ones([5, 2, 3], np.float32)


@pytest.mark.parametrize(
    "make_core, expected",
    [
        (
            lambda: hk.VanillaRNN(4),
            [
                ("vanilla_rnn/linear", "w", (3, 4), "float32"),
                ("vanilla_rnn/linear", "b", (4,), "float32"),
                ("vanilla_rnn/linear_1", "w", (4, 4), "float32"),
                ("vanilla_rnn/linear_1", "b", (4,), "float32"),
            ],
        ),
        (
            lambda: hk.VanillaRNN(4, double_bias=False),
            [
                ("vanilla_rnn/linear", "w", (3, 4), "float32"),
                ("vanilla_rnn/linear", "b", (4,), "float32"),
                ("vanilla_rnn/linear_1", "w", (4, 4), "float32"),
            ],
        ),
        (
            lambda: hk.LSTM(4),
            [("lstm/linear", "w", (7, 16), "float32"), ("lstm/linear", "b", (16,), "float32")],
        ),
        (
            lambda: hk.GRU(4),
            [
                ("gru", "w_i", (3, 12), "float32"),
                ("gru", "w_h", (4, 12), "float32"),
                ("gru", "b", (12,), "float32"),
            ],
        ),
        (
            lambda: hk.DeepRNN([hk.LSTM(4), jax.nn.relu, hk.GRU(3)]),
            [
                ("lstm/linear", "w", (7, 16), "float32"),
                ("lstm/linear", "b", (16,), "float32"),
                ("gru", "w_i", (4, 9), "float32"),
                ("gru", "w_h", (3, 9), "float32"),
                ("gru", "b", (9,), "float32"),
            ],
        ),
        (
            lambda: hk.deep_rnn_with_skip_connections([hk.LSTM(4), hk.GRU(3)]),
            [
                ("lstm/linear", "w", (7, 16), "float32"),
                ("lstm/linear", "b", (16,), "float32"),
                ("gru", "w_i", (7, 9), "float32"),  # concat(x [3], lstm out [4])
                ("gru", "w_h", (3, 9), "float32"),
                ("gru", "b", (9,), "float32"),
            ],
        ),
    ],
    ids=["vanilla", "vanilla_single_bias", "lstm", "gru", "deep", "deep_skip"],
)
def test_param_tree_snapshot(make_core, expected):
    params = unroll_fn(make_core).init(KEY, X_532)
    assert snapshot(params) == expected


def test_named_cores_nest_under_user_module():
    class Model(hk.Module):
        def __call__(self, x):
            core = hk.LSTM(2, name="enc")
            return hk.dynamic_unroll(core, x, core.initial_state(2))

    params = rtransform(lambda x: Model()(x)).init(KEY, X_532)
    assert list(params) == ["model/enc/linear"]


def test_gru_default_initializers():
    """w_i/w_h ~ VarianceScaling(1, fan_in, truncated normal): std 1/sqrt(fan_in); b = 0."""
    # Input size == hidden size so both weights share one shape (one initializer compile).
    f = hk.transform(lambda x: hk.GRU(64)(x, jnp.zeros([1, 64])))
    p = f.init(jax.random.PRNGKey(1), jnp.zeros([1, 64]))["gru"]
    for name in ("w_i", "w_h"):
        np.testing.assert_allclose(np.std(p[name]), 1 / np.sqrt(64), rtol=0.05)
        # Truncated at two standard deviations of the underlying normal.
        assert np.max(np.abs(p[name])) <= 2 / np.sqrt(64) / 0.87962566 + 1e-6
    assert not np.array_equal(p["w_i"], p["w_h"])
    np.testing.assert_array_equal(p["b"], np.zeros(192, np.float32))


def test_gru_custom_initializers():
    f = hk.transform(
        lambda x: hk.GRU(
            2,
            w_i_init=hk.initializers.Constant(0.5),
            w_h_init=hk.initializers.Constant(-1.0),
            b_init=hk.initializers.Constant(2.0),
        )(x, jnp.zeros([2]))
    )
    p = f.init(KEY, jnp.zeros([3]))["gru"]
    np.testing.assert_array_equal(p["w_i"], np.full((3, 6), 0.5, np.float32))
    np.testing.assert_array_equal(p["w_h"], np.full((2, 6), -1.0, np.float32))
    np.testing.assert_array_equal(p["b"], np.full((6,), 2.0, np.float32))


# ----------------------------------------------------------------------------------------------
# Single steps against hand computation and NumPy
# ----------------------------------------------------------------------------------------------


def test_lstm_zero_weights_hand_computed():
    # With w = b = 0 all gate pre-activations are 0: i = o = sigmoid(0) = 0.5, g = tanh(0) = 0,
    # f = sigmoid(0 + 1). So c = sigmoid(1) * c_prev and h = 0.5 * tanh(c).
    f = rtransform(lambda x, s: hk.LSTM(2)(x, s))
    x = np.ones([1, 3], np.float32)
    state = hk.LSTMState(
        hidden=np.zeros([1, 2], np.float32), cell=np.array([[1.0, -2.0]], np.float32)
    )
    params = jax.tree.map(jnp.zeros_like, f.init(KEY, x, state))
    out, new = f.apply(params, None, x, state)
    sig1 = 1.0 / (1.0 + np.exp(-1.0))  # 0.7310586
    expected_c = np.array([[sig1, -2.0 * sig1]], np.float32)
    np.testing.assert_allclose(new.cell, expected_c, rtol=RTOL)
    np.testing.assert_allclose(out, 0.5 * np.tanh(expected_c), rtol=RTOL)
    np.testing.assert_allclose(out[0, 0], 0.3118563, rtol=RTOL)
    np.testing.assert_array_equal(out, new.hidden)


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_step_matches_numpy(batched):
    lead = (3,) if batched else ()
    x, h, c = rand(*lead, 4, seed=1), rand(*lead, 5, seed=2), rand(*lead, 5, seed=3)
    f = rtransform(lambda x, s: hk.LSTM(5)(x, s))
    state = hk.LSTMState(h, c)
    params = f.init(KEY, x, state)
    out, new = f.apply(params, None, x, state)
    w, b = params["lstm/linear"]["w"], params["lstm/linear"]["b"]
    h_ref, c_ref = np_lstm_step(x, h, c, np.asarray(w), np.asarray(b))
    np.testing.assert_allclose(out, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(new.hidden, h_ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(new.cell, c_ref, rtol=RTOL, atol=ATOL)
    assert isinstance(new, hk.LSTMState)


@pytest.mark.parametrize("batched", [True, False])
def test_gru_step_matches_numpy(batched):
    lead = (3,) if batched else ()
    x, h = rand(*lead, 4, seed=1), rand(*lead, 5, seed=2)
    f = rtransform(lambda x, h: hk.GRU(5)(x, h))
    params = f.init(KEY, x, h)
    out, new = f.apply(params, None, x, h)
    p = {k: np.asarray(v) for k, v in params["gru"].items()}
    expected = np_gru_step(x, h, p["w_i"], p["w_h"], p["b"])
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(out, new)


def test_gru_hand_computed_update_gate_extremes():
    # b_z very negative -> z = 0 -> state kept; b_z very positive -> z = 1 -> h = candidate.
    h = np.array([[0.3, -0.7]], np.float32)
    x = np.ones([1, 1], np.float32)
    for bz, expected in ((-100.0, h), (100.0, np.tanh(np.array([[0.0, 0.0]], np.float32) + 1.5))):
        b = np.concatenate([np.full(2, bz), np.zeros(2), np.full(2, 1.5)]).astype(np.float32)
        params = {
            "gru": {
                "w_i": np.zeros([1, 6], np.float32),
                "w_h": np.zeros([2, 6], np.float32),
                "b": b,
            }
        }
        out, _ = rtransform(lambda x, h: hk.GRU(2)(x, h)).apply(params, None, x, h)
        np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("double_bias", [True, False])
def test_vanilla_rnn_step_matches_numpy(double_bias):
    x, h = rand(3, 4, seed=1), rand(3, 5, seed=2)
    f = rtransform(lambda x, h: hk.VanillaRNN(5, double_bias=double_bias)(x, h))
    params = f.init(KEY, x, h)
    out, new = f.apply(params, None, x, h)
    p_i, p_h = params["vanilla_rnn/linear"], params["vanilla_rnn/linear_1"]
    b_h = np.asarray(p_h["b"]) if double_bias else np.zeros(5, np.float32)
    expected = np_vanilla_step(
        x, h, np.asarray(p_i["w"]), np.asarray(p_i["b"]), np.asarray(p_h["w"]), b_h
    )
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_array_equal(out, new)
    assert np.all(np.asarray(out) >= 0)  # relu


def test_vanilla_rnn_hand_computed():
    params = {
        "vanilla_rnn/linear": {
            "w": np.array([[1.0, -1.0]], np.float32),
            "b": np.array([0.5, 0.5], np.float32),
        },
        "vanilla_rnn/linear_1": {
            "w": np.eye(2, dtype=np.float32),
            "b": np.array([0.0, -1.0], np.float32),
        },
    }
    x = np.array([[2.0]], np.float32)
    h = np.array([[1.0, 3.0]], np.float32)
    out, _ = rtransform(lambda x, h: hk.VanillaRNN(2)(x, h)).apply(params, None, x, h)
    # [2*1 + 0.5 + 1 + 0, 2*-1 + 0.5 + 3 - 1] = [3.5, 0.5]
    np.testing.assert_allclose(out, [[3.5, 0.5]], rtol=RTOL)
    h2 = np.array([[-10.0, 3.0]], np.float32)
    out2, _ = rtransform(lambda x, h: hk.VanillaRNN(2)(x, h)).apply(params, None, x, h2)
    np.testing.assert_allclose(out2, [[0.0, 0.5]], rtol=RTOL)  # relu clips -7.5


@given(bias=st.lists(st.floats(-3, 3, width=32), min_size=8, max_size=8))
def test_lstm_zero_weights_output_is_function_of_bias(bias):
    # Property: with w = 0 and zero state, h = sigmoid(b_o) * tanh(sigmoid(b_i) * tanh(b_g)).
    b = np.asarray(bias, np.float32)
    params = {"lstm/linear": {"w": np.zeros([3, 8], np.float32), "b": b}}
    core_fn = rtransform(lambda x: hk.LSTM(2)(x, hk.LSTM(2).initial_state(None)))
    out, state = core_fn.apply(params, None, np.ones([1], np.float32))
    bi, bg, bo = b[0:2], b[2:4], b[6:8]
    c = np_sigmoid(bi) * np.tanh(bg)
    np.testing.assert_allclose(state.cell, c, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, np_sigmoid(bo) * np.tanh(c), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------
# initial_state
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [None, 3])
def test_initial_state_shapes_and_dtypes(batch_size):
    lead = () if batch_size is None else (batch_size,)

    def f():
        return (
            hk.VanillaRNN(4).initial_state(batch_size),
            hk.LSTM(5).initial_state(batch_size),
            hk.GRU(6).initial_state(batch_size),
            hk.IdentityCore().initial_state(batch_size),
            hk.DeepRNN([hk.LSTM(2), jnp.tanh, hk.GRU(3)]).initial_state(batch_size),
            hk.ResetCore(hk.GRU(2)).initial_state(batch_size),
        )

    v, lstm, gru, ident, deep, reset = rtransform(f).apply({}, None)
    assert v.shape == (*lead, 4) and v.dtype == jnp.float32
    assert isinstance(lstm, hk.LSTMState)
    assert lstm.hidden.shape == lstm.cell.shape == (*lead, 5)
    assert gru.shape == (*lead, 6)
    assert ident == ()
    assert isinstance(deep, tuple) and len(deep) == 2
    assert deep[0].hidden.shape == (*lead, 2) and deep[1].shape == (*lead, 3)
    assert reset.shape == (*lead, 2)
    for leaf in jax.tree.leaves((v, lstm, gru, deep, reset)):
        np.testing.assert_array_equal(leaf, np.zeros(leaf.shape, np.float32))


@pytest.mark.parametrize(
    "bad, exc", [(-2, ValueError), (-2, TypeError), (2.0, TypeError), ("2", TypeError)]
)
def test_initial_state_bad_batch_size(bad, exc):
    with pytest.raises(exc, match=r"haiku_core\.LSTM 'lstm': `batch_size`"):
        rtransform(lambda: hk.LSTM(2).initial_state(bad)).apply({}, None)


# ----------------------------------------------------------------------------------------------
# Unrolls
# ----------------------------------------------------------------------------------------------

CORES = {
    "lstm": lambda: hk.LSTM(4),
    "gru": lambda: hk.GRU(4),
    "vanilla": lambda: hk.VanillaRNN(4),
}


@pytest.mark.parametrize("name", list(CORES))
def test_dynamic_unroll_matches_numpy_loop(name):
    T, B, D = 6, 2, 3
    xs = rand(T, B, D)
    f = unroll_fn(CORES[name], batch_size=B)
    params = f.init(KEY, xs)
    outs, final = f.apply(params, None, xs)
    p = jax.tree.map(np.asarray, params)
    h = np.zeros([B, 4], np.float32)
    c = np.zeros([B, 4], np.float32)
    expected = []
    for t in range(T):
        if name == "lstm":
            h, c = np_lstm_step(xs[t], h, c, p["lstm/linear"]["w"], p["lstm/linear"]["b"])
        elif name == "gru":
            g = p["gru"]
            h = np_gru_step(xs[t], h, g["w_i"], g["w_h"], g["b"])
        else:
            li, lh = p["vanilla_rnn/linear"], p["vanilla_rnn/linear_1"]
            h = np_vanilla_step(xs[t], h, li["w"], li["b"], lh["w"], lh["b"])
        expected.append(h)
    assert outs.shape == (T, B, 4)
    np.testing.assert_allclose(outs, np.stack(expected), rtol=RTOL, atol=ATOL)
    final_h = final.hidden if name == "lstm" else final
    np.testing.assert_allclose(final_h, h, rtol=RTOL, atol=ATOL)
    if name == "lstm":
        np.testing.assert_allclose(final.cell, c, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("time_major", [True, False])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("return_all_states", [False, True])
def test_dynamic_equals_static_unroll(time_major, reverse, return_all_states):
    xs = rand(5, 2, 3) if time_major else rand(2, 5, 3)
    kw = dict(time_major=time_major, reverse=reverse, return_all_states=return_all_states)
    dyn = unroll_fn(CORES["lstm"], "dynamic_unroll", **kw)
    sta = unroll_fn(CORES["lstm"], "static_unroll", **kw)
    params = dyn.init(KEY, xs)
    assert snapshot(sta.init(KEY, xs)) == snapshot(params)
    assert_trees_allclose(
        dyn.apply(params, None, xs), sta.apply(params, None, xs), rtol=RTOL, atol=ATOL
    )


def test_time_major_and_batch_major_agree():
    xs = rand(5, 2, 3)
    tm = unroll_fn(CORES["gru"], time_major=True, return_all_states=True)
    bm = unroll_fn(CORES["gru"], time_major=False, return_all_states=True)
    params = tm.init(KEY, xs)
    out_t, states_t = tm.apply(params, None, xs)
    out_b, states_b = bm.apply(params, None, np.swapaxes(xs, 0, 1))
    assert out_b.shape == (2, 5, 4) and states_b.shape == (2, 5, 4)
    np.testing.assert_allclose(np.swapaxes(out_b, 0, 1), out_t, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.swapaxes(states_b, 0, 1), states_t, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("unroll", ["dynamic_unroll", "static_unroll"])
def test_reverse_equals_forward_on_flipped_sequence(unroll):
    xs = rand(6, 2, 3)
    fwd = unroll_fn(CORES["lstm"], unroll)
    rev = unroll_fn(CORES["lstm"], unroll, reverse=True)
    params = fwd.init(KEY, xs)
    out_f, final_f = fwd.apply(params, None, xs[::-1])
    out_r, final_r = rev.apply(params, None, xs)
    # Outputs stay aligned with their input step.
    np.testing.assert_allclose(out_r, out_f[::-1], rtol=RTOL, atol=ATOL)
    assert_trees_allclose(final_r, final_f, rtol=RTOL, atol=ATOL)


def test_return_all_states_contains_every_step():
    xs = rand(4, 2, 3)
    f_all = unroll_fn(CORES["lstm"], return_all_states=True)
    f_last = unroll_fn(CORES["lstm"])
    params = f_all.init(KEY, xs)
    outs, states = f_all.apply(params, None, xs)
    _, final = f_last.apply(params, None, xs)
    assert isinstance(states, hk.LSTMState)
    assert states.hidden.shape == states.cell.shape == (4, 2, 4)
    np.testing.assert_allclose(states.hidden, outs, rtol=RTOL, atol=ATOL)
    assert_trees_allclose(jax.tree.map(lambda s: s[-1], states), final, rtol=RTOL, atol=ATOL)
    # The state after step 2 equals the final state of a 3-step unroll.
    _, final3 = f_last.apply(params, None, xs[:3])
    assert_trees_allclose(jax.tree.map(lambda s: s[2], states), final3, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("unroll", [3, True])
def test_partial_unroll_gives_same_numbers(unroll):
    xs = rand(7, 2, 3)
    base_fn = unroll_fn(CORES["gru"])
    f = unroll_fn(CORES["gru"], unroll=unroll)
    params = base_fn.init(KEY, xs)
    assert_trees_allclose(
        f.apply(params, None, xs), base_fn.apply(params, None, xs), rtol=RTOL, atol=ATOL
    )


def test_unroll_pytree_inputs_and_outputs():
    class TwoInputs(hk.RNNCore):
        def __call__(self, inputs, prev_state):
            a, b = inputs["a"], inputs["b"]
            s = prev_state + a * b
            return {"sum": s, "a": a}, s

        def initial_state(self, batch_size):
            return jnp.zeros([batch_size, 2])

    xs = {"a": rand(4, 3, 2, seed=1), "b": rand(4, 3, 2, seed=2)}
    for unroll in ("dynamic_unroll", "static_unroll"):
        outs, final = unroll_fn(TwoInputs, unroll, 3).apply({}, None, xs)
        expected = np.cumsum(xs["a"] * xs["b"], axis=0)
        np.testing.assert_allclose(outs["sum"], expected, rtol=RTOL, atol=1e-5)
        np.testing.assert_array_equal(outs["a"], xs["a"])
        np.testing.assert_allclose(final, expected[-1], rtol=RTOL, atol=1e-5)


@pytest.mark.parametrize("unroll", ["dynamic_unroll", "static_unroll"])
def test_unroll_plain_function_outside_transform(unroll):
    def core(x, s):
        return x + s, s * 2.0

    xs = np.arange(4, dtype=np.float32)
    outs, final = getattr(hk, unroll)(core, xs, jnp.float32(1.0))
    np.testing.assert_allclose(outs, [1.0, 3.0, 6.0, 11.0])
    np.testing.assert_allclose(final, 16.0)


def test_unroll_unbatched_sequence():
    xs = rand(5, 3)
    f = unroll_fn(CORES["lstm"], batch_size=None)
    params = f.init(KEY, xs)
    outs, final = f.apply(params, None, xs)
    assert outs.shape == (5, 4) and final.hidden.shape == (4,)
    # Equal to the batched unroll of a batch of one.
    outs_b, _ = unroll_fn(CORES["lstm"], batch_size=1).apply(params, None, xs[:, None])
    np.testing.assert_allclose(outs, outs_b[:, 0], rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------------
# IdentityCore, ResetCore, DeepRNN
# ----------------------------------------------------------------------------------------------


def test_identity_core():
    xs = {"x": rand(3, 2, 4)}
    outs, final = unroll_fn(hk.IdentityCore).apply({}, None, xs)
    np.testing.assert_array_equal(outs["x"], xs["x"])
    assert final == ()
    assert unroll_fn(hk.IdentityCore).init(KEY, xs) == {}


def test_reset_core_resets_state():
    T, B = 6, 3
    xs = rand(T, B, 3)
    resets = np.zeros([T, B], bool)
    resets[3, 0] = True  # batch 0 restarts at t=3
    resets[0, 1] = True  # reset at t=0 is a no-op (state is already initial)

    def f(xs, resets):
        core = hk.ResetCore(hk.LSTM(4))
        return hk.dynamic_unroll(core, (xs, resets), core.initial_state(B))

    f = rtransform(f)
    params = f.init(KEY, xs, resets)
    outs, _ = f.apply(params, None, xs, resets)
    plain = unroll_fn(CORES["lstm"], batch_size=B)
    ref_all, _ = plain.apply(params, None, xs)
    ref_tail, _ = plain.apply(params, None, xs[3:])
    # Batch 1 and 2 see no effective reset; batch 0 equals a fresh unroll from t=3.
    np.testing.assert_allclose(outs[:, 1:], ref_all[:, 1:], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(outs[:3, 0], ref_all[:3, 0], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(outs[3:, 0], ref_tail[:, 0], rtol=RTOL, atol=ATOL)
    assert not np.allclose(outs[3:, 0], ref_all[3:, 0])


def test_reset_core_per_leaf_reset_tree_and_unbatched():
    # A pytree should_reset resets only the leaves marked; unbatched ([] flags) works too.
    core_state = hk.LSTMState(
        hidden=np.full([2], 5.0, np.float32), cell=np.full([2], 7.0, np.float32)
    )

    class Probe(hk.RNNCore):
        def __call__(self, x, state):
            return state, state

        def initial_state(self, batch_size):
            return hk.LSTM(2).initial_state(batch_size)

    def f(flags):
        return hk.ResetCore(Probe())((np.zeros([1], np.float32), flags), core_state)

    out, _ = rtransform(f).apply({}, None, hk.LSTMState(np.bool_(True), np.bool_(False)))
    np.testing.assert_array_equal(out.hidden, [0.0, 0.0])
    np.testing.assert_array_equal(out.cell, [7.0, 7.0])
    out, _ = rtransform(f).apply({}, None, np.bool_(True))
    np.testing.assert_array_equal(out.cell, [0.0, 0.0])


def test_reset_core_without_resets_equals_core():
    xs = rand(4, 2, 3)
    resets = np.zeros([4, 2], bool)

    def f(xs, resets):
        core = hk.ResetCore(hk.GRU(4))
        return hk.static_unroll(core, (xs, resets), core.initial_state(2))

    f = rtransform(f)
    params = f.init(KEY, xs, resets)
    # The wrapped core was built outside ResetCore, so it keeps its top-level name.
    assert list(params) == ["gru"]
    out, _ = f.apply(params, None, xs, resets)
    ref, _ = unroll_fn(CORES["gru"], "static_unroll").apply(params, None, xs)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)


def test_deep_rnn_matches_manual_chain():
    xs = rand(4, 2, 3)

    def deep(xs):
        core = hk.DeepRNN([hk.LSTM(4), jnp.tanh, hk.GRU(3)])
        return hk.dynamic_unroll(core, xs, core.initial_state(2))

    def manual(xs):
        lstm, gru = hk.LSTM(4), hk.GRU(3)
        s1, s2 = lstm.initial_state(2), gru.initial_state(2)
        outs = []
        for t in range(xs.shape[0]):
            y, s1 = lstm(xs[t], s1)
            y, s2 = gru(jnp.tanh(y), s2)
            outs.append(y)
        return jnp.stack(outs), (s1, s2)

    deep, manual = rtransform(deep), rtransform(manual)
    params = deep.init(KEY, xs)
    assert snapshot(manual.init(KEY, xs)) == snapshot(params)
    assert_trees_allclose(
        deep.apply(params, None, xs), manual.apply(params, None, xs), rtol=RTOL, atol=ATOL
    )


def test_deep_rnn_with_skip_connections_matches_manual():
    x = rand(2, 3)

    def skip(x):
        core = hk.deep_rnn_with_skip_connections([hk.LSTM(4), hk.GRU(3), hk.VanillaRNN(2)])
        return core(x, core.initial_state(2))

    def manual(x):
        a, b, c = hk.LSTM(4), hk.GRU(3), hk.VanillaRNN(2)
        ya, sa = a(x, a.initial_state(2))
        yb, sb = b(jnp.concatenate([x, ya], -1), b.initial_state(2))
        yc, sc = c(jnp.concatenate([x, yb], -1), c.initial_state(2))
        return jnp.concatenate([ya, yb, yc], -1), (sa, sb, sc)

    skip, manual = rtransform(skip), rtransform(manual)
    params = skip.init(KEY, x)
    assert snapshot(manual.init(KEY, x)) == snapshot(params)
    out, state = skip.apply(params, None, x)
    assert out.shape == (2, 9)
    assert_trees_allclose((out, state), manual.apply(params, None, x), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------------
# jit / vmap / grad / dtypes
# ----------------------------------------------------------------------------------------------


def test_jit_equals_eager_and_vmap_equals_batch():
    xs = rand(5, 3, 2)
    f = unroll_fn(CORES["lstm"], batch_size=None)
    params = f.init(KEY, xs[:, 0])

    def run(x):  # x: [T, D] unbatched sequence
        return f.apply(params, None, x)

    with jax.disable_jit():
        eager = run(xs[:, 0])
    assert_trees_allclose(jax.jit(run)(xs[:, 0]), eager, rtol=RTOL, atol=ATOL)
    vmapped = assert_vmap_matches_loop(run, xs, in_axes=1, rtol=RTOL, atol=ATOL)
    batched = unroll_fn(CORES["lstm"], batch_size=3).apply(params, None, xs)
    np.testing.assert_allclose(vmapped[0], np.swapaxes(batched[0], 0, 1), rtol=RTOL, atol=ATOL)


def test_hk_vmap_inside_transform():
    def f(x):
        core = hk.GRU(3)
        step = lambda x: core(x, core.initial_state(None))[0]
        return hk.vmap(step, split_rng=False)(x)

    f = rtransform(f)
    x = rand(4, 2)
    params = f.init(KEY, x)
    out = f.apply(params, None, x)
    g = {k: np.asarray(v) for k, v in params["gru"].items()}
    expected = np_gru_step(x, np.zeros([4, 3], np.float32), g["w_i"], g["w_h"], g["b"])
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_gradients_match_numerical_and_flow_through_time():
    xs = rand(3, 1, 2)
    f = unroll_fn(lambda: hk.LSTM(2), batch_size=1)
    params = f.init(KEY, xs)

    def loss(p, x):
        outs, _ = f.apply(p, None, x)
        return jnp.sum(outs[-1] ** 2)

    assert_grads_numerical(loss, (params, xs), eps=1e-3, rtol=2e-2, atol=2e-3)
    g_x = jax.grad(loss, argnums=1)(params, xs)
    assert np.all(np.abs(np.asarray(g_x[0])) > 0)  # the first input influences the last output


def test_bfloat16_compute():
    x = jnp.ones([2, 3], jnp.bfloat16)

    def f(x):
        lstm, gru, van = hk.LSTM(4), hk.GRU(4), hk.VanillaRNN(4)
        cast = lambda s: jax.tree.map(lambda v: v.astype(jnp.bfloat16), s)
        return (
            lstm(x, cast(lstm.initial_state(2))),
            gru(x, cast(gru.initial_state(2))),
            van(x, cast(van.initial_state(2))),
        )

    f = rtransform(f)
    params = f.init(KEY, x)
    assert {v.dtype for v in jax.tree.leaves(params)} == {jnp.dtype(jnp.bfloat16)}
    out = f.apply(params, None, x)
    assert {v.dtype for v in jax.tree.leaves(out)} == {jnp.dtype(jnp.bfloat16)}
    # Same numbers as float32 up to bf16 precision.
    p32 = jax.tree.map(lambda v: v.astype(jnp.float32), params)
    out32 = f.apply(p32, None, x.astype(jnp.float32))
    assert_trees_allclose(
        jax.tree.map(lambda v: v.astype(jnp.float32), out), out32, rtol=3e-2, atol=3e-2
    )


def test_hk_remat_step_same_values_and_grads():
    xs = rand(4, 2, 3)

    def f(xs, remat):
        core = hk.LSTM(4)
        step = hk.remat(lambda x, s: core(x, s)) if remat else core
        return hk.dynamic_unroll(step, xs, core.initial_state(2))[0]

    plain = rtransform(lambda xs: f(xs, False))
    remat = rtransform(lambda xs: f(xs, True))
    params = plain.init(KEY, xs)
    # hk.remat traces the step, so (as in dm-haiku) names come back sorted: compare as sets.
    assert sorted(snapshot(remat.init(KEY, xs))) == sorted(snapshot(params))
    np.testing.assert_allclose(
        remat.apply(params, None, xs), plain.apply(params, None, xs), rtol=RTOL
    )
    loss = lambda t: lambda p: jnp.sum(t.apply(p, None, xs) ** 2)
    assert_trees_allclose(
        jax.grad(loss(remat))(params), jax.grad(loss(plain))(params), rtol=RTOL, atol=ATOL
    )


def test_mixed_precision_policy_on_lstm():
    xs = rand(3, 2, 5)

    def run(xs):
        core = hk.LSTM(4)
        return hk.dynamic_unroll(core, xs, core.initial_state(2))

    t = rtransform(run)
    params = t.init(KEY, xs)
    ref_out, _ = t.apply(params, None, xs)
    policy = hk.mixed_precision.Policy.from_string("params=float32,compute=bfloat16,output=float32")
    with hk.mixed_precision.push_policy(hk.LSTM, policy):
        mp_params = t.init(KEY, xs)
        out, state = t.apply(params, None, xs)
    assert {v.dtype for v in jax.tree.leaves(mp_params)} == {jnp.dtype(jnp.float32)}
    assert out.dtype == state.hidden.dtype == state.cell.dtype == jnp.float32
    np.testing.assert_allclose(out, ref_out, rtol=5e-2, atol=5e-2)
    assert not np.array_equal(out, ref_out)  # computed in bfloat16


def test_gru_bf16_inputs_create_bf16_params_like_upstream():
    # GRU creates params in the inputs' dtype even with a float32 state (as dm-haiku).
    x = jnp.ones([2, 3], jnp.bfloat16)
    f = rtransform(lambda x: hk.GRU(4)(x, hk.GRU(4).initial_state(2)))
    params = f.init(KEY, x)
    assert params["gru"]["w_i"].dtype == jnp.bfloat16
    out, _ = f.apply(params, None, x)
    assert out.dtype == jnp.float32


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


def _init(fn, *args):
    return rtransform(fn).init(KEY, *args)


def test_lstm_state_wrong_hidden_size():
    bad = hk.LSTMState(jnp.zeros([2, 7]), jnp.zeros([2, 8]))
    with pytest.raises(
        ValueError,
        match=r"haiku_core\.LSTM 'lstm': `prev_state\.hidden` must have shape \(2, 8\).*got \(2, 7\)",
    ):
        _init(lambda x: hk.LSTM(8)(x, bad), jnp.ones([2, 3]))


def test_lstm_state_batch_mismatch():
    with pytest.raises(
        ValueError, match=r"`prev_state\.hidden` must have shape \(4, 8\).*got \(2, 8\)"
    ):
        _init(lambda x: hk.LSTM(8)(x, hk.LSTM(8).initial_state(2)), jnp.ones([4, 3]))
    with pytest.raises(
        ValueError, match=r"`prev_state\.cell` must have shape \(2, 8\).*got \(2, 5\)"
    ):
        _init(
            lambda x: hk.LSTM(8)(x, hk.LSTMState(jnp.zeros([2, 8]), jnp.zeros([2, 5]))),
            jnp.ones([2, 3]),
        )


def test_lstm_unbatched_state_with_batched_inputs_is_not_broadcast():
    with pytest.raises(
        ValueError, match=r"`prev_state\.hidden` must have shape \(2, 8\).*got \(8,\)"
    ):
        _init(lambda x: hk.LSTM(8)(x, hk.LSTM(8).initial_state(None)), jnp.ones([2, 3]))


def test_lstm_state_wrong_type():
    with pytest.raises(
        TypeError, match=r"haiku_core\.LSTM 'lstm': `prev_state` must be an LSTMState"
    ):
        _init(lambda x: hk.LSTM(2)(x, jnp.zeros([2, 2])), jnp.ones([2, 3]))


@pytest.mark.parametrize("shape", [(), (2, 3, 4)])
@pytest.mark.parametrize("core", ["LSTM", "GRU"])
def test_inputs_wrong_rank(core, shape):
    def f(x):
        c = getattr(hk, core)(2, name="my_core")
        return c(x, c.initial_state(None))

    with pytest.raises(
        ValueError,
        match=rf"haiku_core\.{core} 'my_core': `inputs` must have rank 1 or 2.*got rank {len(shape)} with shape \({', '.join(map(str, shape))},?\)",
    ):
        _init(f, jnp.ones(shape))


def test_vanilla_rnn_bad_inputs():
    with pytest.raises(
        ValueError, match=r"haiku_core\.VanillaRNN 'vanilla_rnn': `inputs` must have rank >= 1"
    ):
        _init(lambda x: hk.VanillaRNN(2)(x, jnp.zeros([2])), jnp.ones([]))
    with pytest.raises(ValueError, match=r"`prev_state` must have shape \(3, 2\).*got \(3, 5\)"):
        _init(lambda x: hk.VanillaRNN(2)(x, jnp.zeros([3, 5])), jnp.ones([3, 4]))


def test_gru_state_wrong_shape():
    with pytest.raises(
        ValueError, match=r"haiku_core\.GRU 'gru': `state` must have shape \(3, 4\).*got \(3, 2\)"
    ):
        _init(lambda x: hk.GRU(4)(x, jnp.zeros([3, 2])), jnp.ones([3, 5]))


@pytest.mark.parametrize("unroll", ["dynamic_unroll", "static_unroll"])
def test_unroll_time_dims_differ_across_pytree(unroll):
    xs = {"a": jnp.ones([5, 2, 3]), "b": jnp.ones([4, 2, 1])}
    core = lambda x, s: (x, s)
    with pytest.raises(
        ValueError,
        match=rf"haiku_core\.{unroll}: all leaves of `input_sequence` must have the same number of time steps on axis 0.*\['a'\]` has 5 but `input_sequence\['b'\]` has 4",
    ):
        getattr(hk, unroll)(core, xs, ())


@pytest.mark.parametrize("unroll", ["dynamic_unroll", "static_unroll"])
def test_unroll_batch_major_leaf_without_time_axis(unroll):
    xs = (jnp.ones([2, 5, 3]), jnp.ones([2]))
    with pytest.raises(
        ValueError,
        match=rf"haiku_core\.{unroll}: every leaf of `input_sequence` must be laid out \[B, T, \.\.\.\].*\[1\]` has shape \(2,\)",
    ):
        getattr(hk, unroll)(lambda x, s: (x, s), xs, (), time_major=False)


def test_unroll_time_major_vs_batch_major_differing_time_dims():
    # Batch-major: axis 1 is time; leaves agree on axis 0 (batch) but not axis 1.
    xs = [jnp.ones([2, 5]), jnp.ones([2, 6])]
    with pytest.raises(ValueError, match=r"on axis 1.*has 5 but.*has 6"):
        hk.dynamic_unroll(lambda x, s: (x, s), xs, (), time_major=False)


def test_static_unroll_zero_steps():
    with pytest.raises(
        ValueError, match=r"haiku_core\.static_unroll: `input_sequence` has 0 time steps"
    ):
        hk.static_unroll(lambda x, s: (x, s), jnp.ones([0, 2]), ())


def test_dynamic_unroll_zero_steps():
    # Outside init an empty sequence is fine (empty outputs, state unchanged) ...
    outs, final = hk.dynamic_unroll(lambda x, s: (x, s + 1), jnp.ones([0, 2]), jnp.zeros([2]))
    assert outs.shape == (0, 2)
    np.testing.assert_array_equal(final, np.zeros([2]))

    # ... but init cannot create parameters from zero steps.
    def g(xs):
        core = hk.LSTM(2)
        return hk.dynamic_unroll(core, xs, core.initial_state(1))

    with pytest.raises(
        ValueError, match=r"haiku_core\.dynamic_unroll: `input_sequence` has 0 time"
    ):
        hk.transform(g).init(KEY, jnp.ones([0, 1, 3]))


def test_unroll_empty_input_tree():
    with pytest.raises(
        ValueError,
        match=r"haiku_core\.dynamic_unroll: `input_sequence` must contain at least one array",
    ):
        hk.dynamic_unroll(lambda x, s: (x, s), (), ())


def test_deep_rnn_state_length_mismatch():
    def f(x):
        core = hk.DeepRNN([hk.LSTM(2), jnp.tanh, hk.GRU(2)])
        return core(x, (hk.LSTM(2).initial_state(1),))

    with pytest.raises(
        ValueError,
        match=r"haiku_core\.DeepRNN 'deep_rnn': `state` must be a tuple with one state per core \(2 cores\), got 1 entries",
    ):
        _init(f, jnp.ones([1, 3]))


def test_skip_connections_require_cores():
    with pytest.raises(
        ValueError,
        match=r"deep_rnn_with_skip_connections: every entry of `layers` must be an hk\.RNNCore.*function",
    ):
        rtransform(lambda: hk.deep_rnn_with_skip_connections([hk.LSTM(2), jnp.tanh])).apply(
            {}, None
        )


def test_reset_core_bad_inputs():
    with pytest.raises(
        TypeError,
        match=r"haiku_core\.ResetCore 'reset_core': `inputs` must be a pair \(x, should_reset\)",
    ):
        _init(lambda x: hk.ResetCore(hk.GRU(2))(x, jnp.zeros([2, 2])), jnp.ones([2, 3]))
    with pytest.raises(
        ValueError,
        match=r"`should_reset` has batch size 3 but a `state` leaf has shape \(2, 2\)|`state` leaf has shape \(2, 2\) but `core\.initial_state\(3\)` gives \(3, 2\)",
    ):
        _init(
            lambda x: hk.ResetCore(hk.GRU(2))((x, jnp.zeros([3], bool)), jnp.zeros([2, 2])),
            jnp.ones([2, 3]),
        )
    with pytest.raises(ValueError, match=r"`should_reset` must be \[B\]"):
        _init(
            lambda x: hk.ResetCore(hk.GRU(2))((x, jnp.zeros([2, 1], bool)), jnp.zeros([2, 2])),
            jnp.ones([2, 3]),
        )


def test_reset_core_should_reset_tree_structure_mismatch():
    def f(x):
        core = hk.ResetCore(hk.LSTM(2))
        flags = (jnp.zeros([1], bool), jnp.zeros([1], bool), jnp.zeros([1], bool))
        return core((x, flags), core.initial_state(1))

    with pytest.raises(
        ValueError, match=r"haiku_core\.ResetCore 'reset_core': `should_reset` must be one array"
    ):
        _init(f, jnp.ones([1, 3]))


def test_reset_core_around_stateless_core():
    def f(x):
        core = hk.ResetCore(hk.IdentityCore())
        return core((x, jnp.ones([2], bool)), core.initial_state(2))

    out, state = rtransform(f).apply({}, None, jnp.full([2, 3], 4.0))
    np.testing.assert_array_equal(out, np.full([2, 3], 4.0))
    assert state == ()


def test_vanilla_rnn_accepts_extra_leading_dims():
    # Like dm-haiku, VanillaRNN works on [..., D] inputs (Linear maps the last axis).
    x, h = rand(2, 3, 4, seed=1), rand(2, 3, 5, seed=2)
    f = rtransform(lambda x, h: hk.VanillaRNN(5)(x, h))
    params = f.init(KEY, x, h)
    out, _ = f.apply(params, None, x, h)
    p = jax.tree.map(np.asarray, params)
    li, lh = p["vanilla_rnn/linear"], p["vanilla_rnn/linear_1"]
    expected = np_vanilla_step(x, h, li["w"], li["b"], lh["w"], lh["b"])
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)


def test_deep_rnn_state_must_be_a_sequence():
    def f(x):
        core = hk.DeepRNN([hk.GRU(2)])
        return core(x, jnp.zeros([1, 2]))

    with pytest.raises(
        ValueError, match=r"`state` must be a tuple with one state per core \(1 cores\)"
    ):
        _init(f, jnp.ones([1, 3]))
