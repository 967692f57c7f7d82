"""hk.transform & friends: calling conventions, errors, JAX transforms over init/apply."""

from __future__ import annotations

import inspect
import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src.errors import JaxUsageError


class Dense(hk.Module):
    def __init__(self, out, name=None):
        super().__init__(name=name)
        self.out = out

    def __call__(self, x):
        w = hk.get_parameter(
            "w",
            [x.shape[-1], self.out],
            x.dtype,
            init=lambda s, d: jax.random.normal(hk.next_rng_key(), s, d),
        )
        b = hk.get_parameter("b", [self.out], x.dtype, init=jnp.zeros)
        y = x @ w
        return y + jnp.broadcast_to(b, y.shape)


def mlp(x):
    x = jax.nn.relu(Dense(4)(x))
    return Dense(2)(x)


def _np_mlp(params, x):
    h = np.maximum(x @ params["dense"]["w"] + params["dense"]["b"], 0)
    return h @ params["dense_1"]["w"] + params["dense_1"]["b"]


X = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)


def test_init_apply_match_numpy_reference():
    t = hk.transform(mlp)
    params = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["dense", "dense_1"]
    np_params = jax.tree.map(np.asarray, params)
    np.testing.assert_allclose(t.apply(params, None, X), _np_mlp(np_params, X), rtol=1e-5)


def test_int_seed_equals_prng_key():
    t = hk.transform(mlp)
    a = t.init(3, X)
    b = t.init(jax.random.PRNGKey(3), X)
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_typed_key_accepted():
    t = hk.transform(mlp)
    params = t.init(jax.random.key(0), X)
    assert params["dense"]["w"].shape == (3, 4)


def test_signatures_mirror_f():
    def f(x, y=2, *, z):
        return x

    def names(fn):
        sig = inspect.signature(fn)
        return [f"{p.kind.name}:{p.name}={p.default}" for p in sig.parameters.values()]

    own = ["POSITIONAL_OR_KEYWORD:x=<class 'inspect._empty'>", "POSITIONAL_OR_KEYWORD:y=2"]
    own.append("KEYWORD_ONLY:z=<class 'inspect._empty'>")
    lead = "POSITIONAL_OR_KEYWORD:{}=<class 'inspect._empty'>"
    t = hk.transform(f)
    assert names(t.apply) == [lead.format("params"), lead.format("rng"), *own]
    assert names(t.init) == [lead.format("rng"), *own]
    ts = hk.transform_with_state(f)
    assert names(ts.apply) == [lead.format(n) for n in ("params", "state", "rng")] + own
    assert names(hk.without_apply_rng(t).apply) == [lead.format("params"), *own]


def test_apply_without_rng_names_signature():
    t = hk.transform(mlp)
    params = t.init(0, X)
    with pytest.raises(ValueError, match=r"`apply\(params, rng, \*a, \*\*k\)`.*ndarray"):
        t.apply(params, X)


def test_init_with_non_key_rng_raises():
    t = hk.transform(mlp)
    with pytest.raises(ValueError, match=r"`init\(rng, \*a, \*\*k\)`.*str"):
        t.init("abc", X)
    with pytest.raises(ValueError, match=r"`init\(rng, \*a, \*\*k\)`.*ndarray"):
        t.init(np.ones(3, np.float32), X)


def test_missing_param_names_path_and_lists_available():
    t = hk.transform(mlp)
    params = t.init(0, X)
    del params["dense_1"]
    with pytest.raises(ValueError, match=r"'dense_1/w'.*Available: \[dense/w, dense/b\]"):
        t.apply(params, None, X)


def test_wrong_shape_param_names_path_expected_got():
    t = hk.transform(mlp)
    params = t.init(0, X)
    params["dense"]["w"] = jnp.zeros([5, 4])
    with pytest.raises(ValueError, match=r"'dense/w'.*shape \(5, 4\).*expects shape \(3, 4\)"):
        t.apply(params, None, X)


def test_other_dtype_kind_param_is_accepted():
    # dm-haiku 0.0.17 does not check parameter dtypes in apply: an int32 bias is used
    # as given (its output here is float32, from the float32 matmul).
    t = hk.transform(mlp)
    params = t.init(0, X)
    params["dense"]["b"] = jnp.zeros([4], jnp.int32)
    out = t.apply(params, None, X)
    params["dense"]["b"] = jnp.zeros([4], jnp.float32)
    expected = t.apply(params, None, X)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, expected)


def test_lower_precision_float_param_is_accepted():
    t = hk.transform(mlp)
    params = t.init(0, X)
    params = jax.tree.map(lambda v: v.astype(jnp.bfloat16), params)
    out = t.apply(params, None, X)
    assert out.shape == (2, 2)


def test_next_rng_key_with_rng_none_says_what_to_pass():
    t = hk.transform(lambda: hk.next_rng_key())
    with pytest.raises(ValueError, match=r"rng=None.*jax.random.PRNGKey"):
        t.apply({}, None)


def test_state_in_plain_transform_raises():
    with pytest.raises(ValueError, match=r"hk.transform_with_state"):
        hk.transform(lambda: hk.set_state("s", 1.0)).init(None)


def test_apply_never_returns_params_and_init_returns_plain_dicts():
    t = hk.transform(mlp)
    params = t.init(0, X)
    out = t.apply(params, None, X)
    assert isinstance(out, jax.Array)
    assert type(params) is dict


def test_transform_with_state_semantics():
    def f():
        s = hk.get_state("s", [], init=jnp.zeros)
        hk.set_state("s", s + 1)
        hk.set_state("t", jnp.ones([]) * 5)
        hk.set_state("t", jnp.ones([]) * 7)
        return s

    t = hk.transform_with_state(f)
    params, state = t.init(None)
    assert params == {}
    assert jax.tree.map(float, state) == {"~": {"s": 0.0, "t": 5.0}}
    out, new_state = t.apply(params, state, None)
    assert float(out) == 0.0
    assert jax.tree.map(float, new_state) == {"~": {"s": 1.0, "t": 7.0}}
    out, new_state = t.apply(params, new_state, None)
    assert float(out) == 1.0
    # The input state is not modified in place.
    assert float(state["~"]["s"]) == 0.0


def test_get_state_without_init_raises():
    with pytest.raises(ValueError, match=r"^haiku_core\.get_state: state 'u'.*no value exists"):
        hk.transform_with_state(lambda: hk.get_state("u", [2])).init(None)


def test_without_apply_rng_and_with_empty_state_and_without_state():
    t = hk.without_apply_rng(hk.transform(mlp))
    params = t.init(0, X)
    y = t.apply(params, X)
    ts = hk.with_empty_state(hk.transform(mlp))
    p2, s2 = ts.init(0, X)
    assert s2 == {}
    y2, s3 = ts.apply(p2, s2, None, X)
    np.testing.assert_allclose(y, y2)
    assert s3 == {}
    back = hk.without_state(hk.transform_with_state(mlp))
    np.testing.assert_allclose(back.apply(back.init(0, X), None, X), y)
    with pytest.raises(TypeError, match="without_apply_rng"):
        hk.without_apply_rng(mlp)


def test_without_state_rejects_state():
    t = hk.without_state(hk.transform_with_state(lambda: hk.set_state("s", jnp.zeros([]))))
    with pytest.raises(ValueError, match="created state"):
        t.init(None)


def test_running_init():
    seen = []

    def f():
        seen.append(hk.running_init())

    t = hk.transform(f)
    t.apply(t.init(None), None)
    assert seen == [True, False]
    with pytest.raises(ValueError, match=r"^haiku_core\.running_init: "):
        hk.running_init()


def test_multi_transform_shares_params():
    def f():
        enc, dec = Dense(3, name="enc"), Dense(2, name="dec")

        def encode(x):
            return enc(x)

        def decode(z):
            return dec(z)

        def init(x):
            return decode(encode(x))

        return init, (encode, decode)

    mt = hk.multi_transform(f)
    params = mt.init(0, X)
    assert list(params) == ["enc", "dec"]
    encode, decode = mt.apply
    z = encode(params, None, X)
    np_p = jax.tree.map(np.asarray, params)
    np.testing.assert_allclose(z, X @ np_p["enc"]["w"] + np_p["enc"]["b"], rtol=1e-5)
    np.testing.assert_allclose(
        decode(params, None, z), np.asarray(z) @ np_p["dec"]["w"] + np_p["dec"]["b"], rtol=1e-5
    )
    mts = hk.multi_transform_with_state(f)
    p, s = mts.init(0, X)
    assert s == {}
    out, _ = mts.apply[0](p, s, None, X)
    np.testing.assert_allclose(out, z, rtol=1e-6)


def test_jit_vmap_grad_over_init_and_apply():
    t = hk.transform(mlp)
    params = jax.jit(t.init)(jax.random.PRNGKey(0), X)
    eager = t.init(jax.random.PRNGKey(0), X)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), params, eager)
    y_jit = jax.jit(t.apply)(params, None, X)
    np.testing.assert_allclose(y_jit, t.apply(params, None, X), rtol=1e-6)
    y_vmap = jax.vmap(t.apply, in_axes=(None, None, 0))(params, None, X)
    np.testing.assert_allclose(y_vmap, t.apply(params, None, X), rtol=1e-6)
    grads = jax.grad(lambda p: t.apply(p, None, X).sum())(params)
    # d/db of sum(out) for the last layer is the batch size.
    np.testing.assert_allclose(grads["dense_1"]["b"], np.full([2], 2.0))


def test_jitted_apply_adds_no_ops_over_hand_written_jax():
    t = hk.transform(mlp)
    params = t.init(0, X)

    def pure(p, x):
        h = jax.nn.relu(x @ p["dense"]["w"] + jnp.broadcast_to(p["dense"]["b"], (2, 4)))
        y = h @ p["dense_1"]["w"]
        return y + jnp.broadcast_to(p["dense_1"]["b"], y.shape)

    ours = jax.make_jaxpr(lambda p, x: t.apply(p, None, x))(params, X)
    ref = jax.make_jaxpr(pure)(params, X)
    assert [e.primitive.name for e in ours.eqns] == [e.primitive.name for e in ref.eqns]


def test_params_round_trip_through_savez():
    t = hk.transform(mlp)
    params = t.init(0, X)
    buf = io.BytesIO()
    np.savez(buf, **{f"{m}/{n}": np.asarray(v) for m, b in params.items() for n, v in b.items()})
    buf.seek(0)
    loaded: dict = {}
    with np.load(buf) as data:
        for key in data.files:
            m, n = key.rsplit("/", 1)
            loaded.setdefault(m, {})[n] = jnp.asarray(data[key])
    np.testing.assert_allclose(t.apply(loaded, None, X), t.apply(params, None, X))


def test_optax_training_step_reduces_loss():
    optax = pytest.importorskip("optax")
    t = hk.without_apply_rng(hk.transform(mlp))
    params = t.init(0, X)
    target = np.ones([2, 2], np.float32)
    opt = optax.sgd(0.1)
    opt_state = opt.init(params)

    def loss(p):
        return jnp.mean((t.apply(p, X) - target) ** 2)

    @jax.jit
    def step(p, s):
        value, g = jax.value_and_grad(loss)(p)
        updates, s = opt.update(g, s, p)
        return optax.apply_updates(p, updates), s, value

    first = float(loss(params))
    for _ in range(20):
        params, opt_state, _ = step(params, opt_state)
    assert float(loss(params)) < first
    assert list(params) == ["dense", "dense_1"]


@pytest.mark.multidevice
def test_pmap_apply_over_8_devices():
    assert jax.device_count() == 8
    t = hk.transform(mlp)
    params = t.init(0, X)
    xs = np.stack([X * i for i in range(8)])
    out = jax.pmap(t.apply, in_axes=(None, None, 0))(params, None, xs)
    for i in range(8):
        np.testing.assert_allclose(out[i], t.apply(params, None, X * i), rtol=1e-5, atol=1e-6)


@pytest.mark.multidevice
def test_sharded_params_jit_over_8_devices():
    assert jax.device_count() == 8
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("d",))
    t = hk.transform(mlp)
    params = t.init(0, X)
    xs = np.tile(X, (4, 1))
    sharded = jax.device_put(xs, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("d")))
    out = jax.jit(t.apply)(params, None, sharded)
    np.testing.assert_allclose(out, t.apply(params, None, xs), rtol=1e-5, atol=1e-6)


def test_transform_of_transformed_raises():
    t = hk.transform(mlp)
    with pytest.raises(ValueError, match="already transformed"):
        hk.transform(t)


def _mt_factory():
    def fn(x):
        return x

    return fn, {"a": fn}


@pytest.mark.parametrize(
    "make",
    [
        lambda f: hk.transform(f),
        lambda f: hk.transform_with_state(f),
        lambda f: hk.without_apply_rng(hk.transform(f)),
        lambda f: hk.without_apply_rng(hk.transform_with_state(f)),
        lambda f: hk.without_state(hk.transform_with_state(f)),
        lambda f: hk.with_empty_state(hk.transform(f)),
    ],
)
def test_init_and_apply_function_names(make):
    def forward(x):
        return x

    t = make(forward)
    # dm-haiku 0.0.17 names them init_fn / apply_fn whatever the transformed function is.
    assert (t.init.__name__, t.apply.__name__) == ("init_fn", "apply_fn")


@pytest.mark.parametrize("multi", [hk.multi_transform, hk.multi_transform_with_state])
def test_multi_transform_function_names(multi):
    t = multi(_mt_factory)
    assert (t.init.__name__, t.apply["a"].__name__) == ("init_fn", "apply_fn")


@pytest.mark.parametrize(
    "make", [hk.transform, lambda f: hk.without_state(hk.transform_with_state(f))]
)
def test_state_passed_by_keyword_to_stateless_apply_is_type_error(make):
    def f(state):
        return state

    t = make(f)
    # dm-haiku 0.0.17 raises TypeError: `state` clashes with the transform's arguments.
    with pytest.raises(TypeError, match=r"^haiku_core\.Transformed\.apply: .*state.*positionally"):
        t.apply(params=None, state=None, rng=None)
    # Passed positionally it reaches f.
    assert t.apply(None, None, 3) == 3


@pytest.mark.parametrize("make", [hk.transform, hk.transform_with_state])
def test_rng_passed_by_keyword_without_apply_rng_is_type_error(make):
    def f(rng):
        return rng

    t = hk.without_apply_rng(make(f))
    with pytest.raises(TypeError, match=r"^haiku_core\.Transformed\.apply: .*rng.*positionally"):
        if make is hk.transform:
            t.apply(params=None, rng=None)
        else:
            t.apply(params=None, state=None, rng=None)


def test_leaked_tracer_is_unexpected_tracer_error_with_hint():
    def leaks_and_uses_tracer():
        jax.jit(hk.next_rng_key)()
        hk.next_rng_key()

    init, _ = hk.transform(leaks_and_uses_tracer)
    # dm-haiku 0.0.17 raises jax.errors.UnexpectedTracerError with a hint to use the
    # Haiku version of the JAX transform; ours is also a JaxUsageError.
    with pytest.raises(jax.errors.UnexpectedTracerError, match=r"hk\.vmap") as info:
        init(jax.random.PRNGKey(42))
    assert isinstance(info.value, JaxUsageError)


def test_raw_unexpected_tracer_error_gets_hint():
    leaked = []

    def f(x):
        jax.jit(lambda y: leaked.append(y) or y)(x)
        return leaked[0] + 1

    t = hk.transform(f)
    with pytest.raises(jax.errors.UnexpectedTracerError, match=r"Haiku versions") as info:
        t.apply({}, None, jnp.ones([]))
    assert isinstance(info.value.__cause__, jax.errors.UnexpectedTracerError)
