"""Compat: haiku_core recurrent cores vs upstream dm-haiku 0.0.17 (test-only oracle).

Run in the oracle venv (which has dm-haiku):
  /work/oracle/bin/python -m pytest packages/haiku_core/tests_compat/test_recurrent_compat.py

For each model, both libraries build the parameters with their own ``custom_creator`` drawing
N(0, 0.25) values with NumPy (so biases are not zero and no initialiser needs compiling); the test
checks that haiku_core creates the identical parameter tree (module paths in creation
order, names, shapes, dtypes) and, given upstream's parameters, returns allclose outputs, final
states and gradients (w.r.t. parameters and inputs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

hk_up = pytest.importorskip("haiku", reason="needs upstream dm-haiku (oracle venv)")
import haiku_core as hkc  # noqa: E402

RTOL = 1e-5
ATOL = 1e-6


def _tree_spec(params):
    """[(module, [(name, shape, dtype), ...]), ...] in dict order."""
    return [
        (mod, [(name, tuple(v.shape), str(v.dtype)) for name, v in entries.items()])
        for mod, entries in params.items()
    ]


def _random_init(hk, f, seed=0, scale=0.5):
    """``hk.transform(f)`` whose init draws each parameter from N(0, scale^2) with NumPy.

    Uses the library's own ``custom_creator``, so creation order, names, shapes and dtypes
    are the library's; the values are the same for both libraries (non-zero biases
    included), and no default initialiser has to be compiled.
    """

    def creator(next_creator, shape, dtype, init, context):
        del init, context
        rng = np.random.RandomState(seed + len(creator.seen))
        creator.seen.append(shape)
        value = np.asarray(scale * rng.randn(*shape)).astype(jnp.dtype(dtype))
        return next_creator(shape, dtype, lambda s, d: jnp.asarray(value, dtype=d))

    def wrapped(*args):
        creator.seen = []
        with hk.custom_creator(creator):
            return f(*args)

    return hk.transform(wrapped)


def _assert_close(actual, expected, what):
    a_leaves, a_def = jax.tree_util.tree_flatten_with_path(actual)
    e_leaves, e_def = jax.tree_util.tree_flatten_with_path(expected)
    # Namedtuple classes differ between the packages (hk.LSTMState vs haiku's), so compare
    # the leaf paths (which include field names) rather than the tree definitions.
    a_paths = [jax.tree_util.keystr(p) for p, _ in a_leaves]
    e_paths = [jax.tree_util.keystr(p) for p, _ in e_leaves]
    assert a_paths == e_paths, f"{what}: structure {a_def} != {e_def}"
    for (path, a), (_, e) in zip(a_leaves, e_leaves, strict=True):
        assert np.shape(a) == np.shape(e), f"{what}{jax.tree_util.keystr(path)} shape"
        assert np.asarray(a).dtype == np.asarray(e).dtype, f"{what}{jax.tree_util.keystr(path)}"
        np.testing.assert_allclose(
            np.asarray(a, np.float32),
            np.asarray(e, np.float32),
            rtol=RTOL,
            atol=ATOL,
            err_msg=f"{what}{jax.tree_util.keystr(path)}",
        )


class _Upstream:
    """Runs an upstream Transformed with implicit rank promotion allowed.

    dm-haiku itself relies on implicit rank promotion (e.g. GRU's bias add), so the test
    session's ``JAX_NUMPY_RANK_PROMOTION=raise`` would break upstream, not haiku_core.
    """

    def __init__(self, transformed):
        self._t = transformed

    def init(self, *args):
        with jax.numpy_rank_promotion("allow"):
            return self._t.init(*args)

    def apply(self, *args):
        with jax.numpy_rank_promotion("allow"):
            return self._t.apply(*args)


def _run_both(make, *args):
    """``make(hk)`` returns a function using the given haiku-like namespace."""
    up = _Upstream(_random_init(hk_up, make(hk_up)))
    ours = _random_init(hkc, make(hkc))
    key = jax.random.PRNGKey(42)
    up_params = up.init(key, *args)
    our_params = ours.init(key, *args)
    assert list(our_params) == list(up_params), "module paths / creation order differ"
    assert _tree_spec(our_params) == _tree_spec(up_params)
    _assert_close(our_params, up_params, "params (same creation order -> same draws)")

    params = up_params
    up_out = jax.jit(up.apply)(params, None, *args)
    our_out = jax.jit(ours.apply)(params, None, *args)
    _assert_close(our_out, up_out, "outputs")

    def loss(apply_fn):
        def f(p, *a):
            out = apply_fn(p, None, *a)
            return sum(jnp.sum(jnp.sin(x.astype(jnp.float32))) for x in jax.tree.leaves(out))

        return f

    float_argnums = tuple(
        i for i, a in enumerate(args, start=1) if jnp.issubdtype(jnp.asarray(a).dtype, jnp.floating)
    )
    argnums = (0, *float_argnums)
    up_grads = jax.jit(jax.grad(loss(up.apply), argnums=argnums))(params, *args)
    our_grads = jax.jit(jax.grad(loss(ours.apply), argnums=argnums))(params, *args)
    _assert_close(our_grads, up_grads, "grads")
    return params, our_out


def _x(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


T, B, D, H = 20, 3, 5, 8


@pytest.mark.parametrize("unroll", ["dynamic_unroll", "static_unroll"])
def test_lstm_20_steps(unroll):
    def make(hk):
        def f(x):
            core = hk.LSTM(H)
            return getattr(hk, unroll)(core, x, core.initial_state(B))

        return f

    _run_both(make, _x(T, B, D))


def test_lstm_batch_major_reverse_all_states():
    def make(hk):
        def f(x):
            core = hk.LSTM(H)
            return hk.dynamic_unroll(
                core,
                x,
                core.initial_state(B),
                time_major=False,
                reverse=True,
                return_all_states=True,
                unroll=3,
            )

        return f

    _run_both(make, _x(B, 6, D))


def test_lstm_unbatched_step_and_nonzero_state():
    def make(hk):
        def f(x, h, c):
            return hk.LSTM(4)(x, hk.LSTMState(h, c))

        return f

    _run_both(make, _x(D), _x(4, seed=1), _x(4, seed=2))


@pytest.mark.parametrize("time_major", [True, False])
def test_gru_unrolled(time_major):
    def make(hk):
        def f(x):
            core = hk.GRU(H)
            return hk.dynamic_unroll(core, x, core.initial_state(B), time_major=time_major)

        return f

    _run_both(make, _x(7, B, D) if time_major else _x(B, 7, D))


@pytest.mark.parametrize("double_bias, time_major", [(True, True), (False, False)])
def test_vanilla_rnn_static_unroll(double_bias, time_major):
    def make(hk):
        def f(x):
            core = hk.VanillaRNN(H, double_bias=double_bias)
            return hk.static_unroll(core, x, core.initial_state(B), time_major=time_major)

        return f

    _run_both(make, _x(6, B, D) if time_major else _x(B, 6, D))


def test_deep_rnn_with_plain_callable():
    def make(hk):
        def f(x):
            core = hk.DeepRNN([hk.LSTM(4), jax.nn.relu, hk.GRU(3), hk.VanillaRNN(2)])
            return hk.dynamic_unroll(core, x, core.initial_state(B))

        return f

    _run_both(make, _x(5, B, D))


def test_deep_rnn_with_modules_built_lazily_in_a_layer():
    # A plain callable that builds a module inside DeepRNN.__call__ nests it under `deep_rnn`.
    def make(hk):
        def f(x):
            core = hk.DeepRNN([hk.LSTM(4), lambda y: hk.Linear(3)(y), hk.GRU(2)])
            return hk.static_unroll(core, x, core.initial_state(B))

        return f

    _run_both(make, _x(3, B, D))


def test_deep_rnn_with_skip_connections():
    def make(hk):
        def f(x):
            core = hk.deep_rnn_with_skip_connections([hk.LSTM(4), hk.GRU(3), hk.LSTM(2)])
            return hk.dynamic_unroll(core, x, core.initial_state(B))

        return f

    _, (out, _) = _run_both(make, _x(5, B, D))
    assert out.shape == (5, B, 4 + 3 + 2)


def test_reset_core():
    resets = np.zeros((8, B), bool)
    resets[3, 0] = True
    resets[5, 1] = True
    resets[0, 2] = True

    def make(hk):
        def f(x, should_reset):
            core = hk.ResetCore(hk.LSTM(H))
            return hk.dynamic_unroll(core, (x, should_reset), core.initial_state(B))

        return f

    _run_both(make, _x(8, B, D), resets)


def test_reset_core_deep_rnn_static():
    resets = np.zeros((6, B), bool)
    resets[2, 1] = True

    def make(hk):
        def f(x, should_reset):
            core = hk.ResetCore(hk.DeepRNN([hk.GRU(4), hk.LSTM(3)]))
            return hk.static_unroll(core, (x, should_reset), core.initial_state(B))

        return f

    _run_both(make, _x(6, B, D), resets)


def test_conv2d_lstm_unrolled():
    def make(hk):
        def f(x):
            core = hk.Conv2DLSTM([6, 6], 4, 3)
            return hk.dynamic_unroll(core, x, core.initial_state(2))

        return f

    _run_both(make, _x(4, 2, 6, 6, 3))


def test_conv1d_lstm_and_conv3d_lstm_step():
    def make(hk):
        def f(x1, x3):
            c1 = hk.Conv1DLSTM([7], 3, 3)
            c3 = hk.Conv3DLSTM([3, 4, 2], 2, (2, 3, 1))
            return c1(x1, c1.initial_state(2)), c3(x3, c3.initial_state(None))

        return f

    _run_both(make, _x(2, 7, 2), _x(3, 4, 2, 3))


def test_identity_core_unrolled():
    def make(hk):
        def f(x):
            core = hk.IdentityCore()
            return hk.dynamic_unroll(core, x, core.initial_state(B))

        return f

    _run_both(make, _x(4, B, D))


def test_unroll_outside_transform_with_plain_function():
    def core(x, s):
        return x * s, s + x

    x = _x(5, 2)
    s0 = np.ones(2, np.float32)
    for name in ("dynamic_unroll", "static_unroll"):
        _assert_close(getattr(hkc, name)(core, x, s0), getattr(hk_up, name)(core, x, s0), name)


@pytest.mark.parametrize(
    "make_core",
    [
        lambda hk: hk.LSTM(3),
        lambda hk: hk.GRU(3),
        lambda hk: hk.VanillaRNN(3),
        lambda hk: hk.Conv2DLSTM([4, 5], 3, 3),
        lambda hk: hk.DeepRNN([hk.LSTM(2), jax.nn.relu, hk.GRU(3)]),
        lambda hk: hk.IdentityCore(),
        lambda hk: hk.ResetCore(hk.LSTM(2)),
    ],
)
@pytest.mark.parametrize("batch_size", [None, 2])
def test_initial_state_matches(make_core, batch_size):
    up = _Upstream(hk_up.transform(lambda: make_core(hk_up).initial_state(batch_size)))
    up = up.apply({}, None)
    ours = hkc.transform(lambda: make_core(hkc).initial_state(batch_size)).apply({}, None)
    assert type(ours).__name__ == type(up).__name__
    _assert_close(ours, up, "initial_state")


def test_bf16_lstm_and_gru_dtypes_follow_upstream():
    def make(hk):
        def f(x):
            lstm, gru = hk.LSTM(4), hk.GRU(4)
            return lstm(x, lstm.initial_state(2)), gru(x, gru.initial_state(2))

        return f

    x = jnp.ones((2, 3), jnp.bfloat16)
    up = _Upstream(_random_init(hk_up, make(hk_up)))
    ours = _random_init(hkc, make(hkc))
    up_params = up.init(jax.random.PRNGKey(0), x)
    our_params = ours.init(jax.random.PRNGKey(0), x)
    assert _tree_spec(our_params) == _tree_spec(up_params)
    up_out = up.apply(up_params, None, x)
    our_out = ours.apply(up_params, None, x)
    assert jax.tree.map(lambda v: v.dtype, our_out) == jax.tree.map(lambda v: v.dtype, up_out)
    np.testing.assert_allclose(
        np.asarray(jax.tree.leaves(our_out)[0], np.float32),
        np.asarray(jax.tree.leaves(up_out)[0], np.float32),
        rtol=1e-2,
        atol=1e-2,
    )


def test_default_initialisation_is_bit_identical_given_the_same_key():
    """Same rng -> same initial parameters (default initialisers, creation order, key use)."""

    def make(hk):
        def f(x):
            outs = []
            for core in (hk.LSTM(4), hk.GRU(4), hk.VanillaRNN(4, double_bias=False)):
                outs.append(hk.dynamic_unroll(core, x, core.initial_state(2)))
            conv = hk.Conv2DLSTM([3, 3], 2, 3)
            outs.append(conv(jnp.ones([2, 3, 3, 1]), conv.initial_state(2)))
            return outs

        return f

    x = jnp.ones([3, 2, 5])
    up_params = _Upstream(hk_up.transform(make(hk_up))).init(jax.random.PRNGKey(7), x)
    our_params = hkc.transform(make(hkc)).init(jax.random.PRNGKey(7), x)
    assert _tree_spec(our_params) == _tree_spec(up_params)
    for mod, entries in up_params.items():
        for name, value in entries.items():
            np.testing.assert_array_equal(
                np.asarray(our_params[mod][name]), np.asarray(value), err_msg=f"{mod}/{name}"
            )


def test_mixed_precision_policy_on_lstm_and_gru():
    jmp = pytest.importorskip("jmp", reason="upstream mixed precision needs jmp")
    spec = "params=float32,compute=bfloat16,output=float32"

    def make(hk):
        def f(x):
            lstm, gru = hk.LSTM(4), hk.GRU(3)
            return (
                hk.dynamic_unroll(lstm, x, lstm.initial_state(2)),
                hk.dynamic_unroll(gru, x, gru.initial_state(2)),
            )

        return f

    x = _x(3, 2, 5)
    up, ours = _Upstream(_random_init(hk_up, make(hk_up))), _random_init(hkc, make(hkc))
    for cls in ("LSTM", "GRU"):
        hk_up.mixed_precision.set_policy(getattr(hk_up, cls), jmp.get_policy(spec))
        hkc.mixed_precision.set_policy(
            getattr(hkc, cls), hkc.mixed_precision.Policy.from_string(spec)
        )
    try:
        up_params = up.init(jax.random.PRNGKey(0), x)
        our_params = ours.init(jax.random.PRNGKey(0), x)
        assert _tree_spec(our_params) == _tree_spec(up_params)
        _assert_close(ours.apply(up_params, None, x), up.apply(up_params, None, x), "outputs")
    finally:
        for cls in ("LSTM", "GRU"):
            hk_up.mixed_precision.clear_policy(getattr(hk_up, cls))
            hkc.mixed_precision.clear_policy(getattr(hkc, cls))
