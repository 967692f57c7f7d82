"""hk.lift / lift_with_state / transparent_lift and hk.layer_stack."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


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
        return x @ w


X = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
inner = hk.transform(lambda x: Dense(2)(x))


def test_lift_names_and_apply():
    class Outer(hk.Module):
        def __call__(self, x):
            p = hk.lift(inner.init)(hk.next_rng_key(), x)
            p2 = hk.lift(inner.init, name="foo")(hk.next_rng_key(), x)
            assert list(p) == ["dense"]
            return inner.apply(p, None, x) + inner.apply(p2, None, x)

    def f(x):
        y = Outer()(x)
        q = hk.lift(inner.init)(hk.next_rng_key(), x)
        return y + inner.apply(q, None, x)

    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["outer/lifted/dense", "outer/foo/dense", "lifted/dense"]
    out = t.apply(params, jax.random.PRNGKey(0), X)
    w = [np.asarray(params[k]["w"]) for k in params]
    np.testing.assert_allclose(out, X @ w[0] + X @ w[1] + X @ w[2], rtol=1e-5)


def test_transparent_lift_keeps_inner_names():
    def f(x):
        p = hk.transparent_lift(inner.init)(hk.next_rng_key(), x)
        return inner.apply(p, None, x)

    params = hk.transform(f).init(jax.random.PRNGKey(0), X)
    assert list(params) == ["dense"]
    assert hk.experimental.transparent_lift is hk.transparent_lift


def test_lift_reuse_requires_allow_reuse():
    class Twice(hk.Module):
        def __call__(self, x, allow):
            p = hk.lift(inner.init, allow_reuse=allow)(hk.next_rng_key(), x)
            return inner.apply(p, None, x)

    def f(x, allow):
        m = Twice()
        return m(x, allow) + m(x, allow)

    t = hk.transform(f)
    with pytest.raises(ValueError, match=r"'twice/lifted/dense'.*already exists.*allow_reuse=True"):
        t.init(jax.random.PRNGKey(0), X, False)
    assert list(t.init(jax.random.PRNGKey(0), X, True)) == ["twice/lifted/dense"]


def test_lift_with_state_update_and_initial_state():
    inner_s = hk.transform_with_state(lambda x: hk.set_state("s", x))

    def g(x):
        init_fn, updater = hk.lift_with_state(inner_s.init)
        params, state = init_fn(None, x)
        _, new_state = inner_s.apply(params, state, None, x + 1)
        updater.update(new_state)
        updater.assert_used()
        return x

    t = hk.transform_with_state(g)
    params, state = t.init(None, jnp.ones([1]))
    assert params == {} and list(state) == ["lifted/~"]
    np.testing.assert_allclose(state["lifted/~"]["s"], [1.0])
    _, new_state = t.apply(params, state, None, jnp.ones([1]))
    np.testing.assert_allclose(new_state["lifted/~"]["s"], [2.0])


def test_lift_with_state_updater_must_be_used():
    updater = hk.LiftWithStateUpdater("x")
    with pytest.raises(ValueError, match="neither updated nor ignored"):
        updater.assert_used()
    # Not created by a running init/apply: it cannot be used anywhere.
    with pytest.raises(ValueError, match="same call to init/apply"):
        hk.transform_with_state(lambda: updater.ignore_update()).init(None)


def test_layer_stack_names_shapes_and_matches_loop():
    def f(x):
        return hk.layer_stack(4)(lambda y: jnp.tanh(Dense(3)(y)))(x)

    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["__layer_stack_no_per_layer/dense"]
    w = np.asarray(params["__layer_stack_no_per_layer/dense"]["w"])
    assert w.shape == (4, 3, 3)
    assert not np.allclose(w[0], w[1])  # each layer initialised with its own key
    out = t.apply(params, None, X)
    ref = X
    for i in range(4):
        ref = np.tanh(ref @ w[i])
    np.testing.assert_allclose(out, ref, rtol=1e-5)


def test_layer_stack_per_layer_inputs_state_and_names():
    def layer(x, a):
        c = hk.get_state("count", [], jnp.int32, init=jnp.zeros)
        hk.set_state("count", c + 1)
        return Dense(3)(x) + a, a * 2

    def f(x):
        a = jnp.ones([2, 1, 3], jnp.float32)
        y, ys = hk.layer_stack(2, with_per_layer_inputs=True)(layer)(x, a)
        z = hk.layer_stack(2, name="foo")(lambda v: Dense(3)(v))(x)
        return y, ys, z

    t = hk.transform_with_state(f)
    params, state = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["__layer_stack_with_per_layer/dense", "foo/dense"]
    assert state["__layer_stack_with_per_layer/~"]["count"].shape == (2,)
    (y, ys, z), new_state = t.apply(params, state, None, X)
    w = np.asarray(params["__layer_stack_with_per_layer/dense"]["w"])
    ref = X
    for i in range(2):
        ref = ref @ w[i] + 1.0
    np.testing.assert_allclose(y, ref, rtol=1e-5)
    np.testing.assert_allclose(ys, np.full([2, 1, 3], 2.0))
    np.testing.assert_array_equal(new_state["__layer_stack_with_per_layer/~"]["count"], [1, 1])
    assert z.shape == (2, 3)


def test_layer_stack_inside_module_and_bad_num_layers():
    class M(hk.Module):
        def __call__(self, x):
            return hk.layer_stack(3)(lambda v: Dense(3)(v))(x)

    params = hk.transform(lambda x: M()(x)).init(jax.random.PRNGKey(0), X)
    assert list(params) == ["m/__layer_stack_no_per_layer/dense"]
    with pytest.raises(ValueError, match=r"num_layers.*got 0"):
        hk.layer_stack(0)


def test_transparent_lift_with_state_keeps_inner_names():
    inner_s = hk.transform_with_state(lambda x: hk.set_state("s", x) or Dense(2)(x))

    def g(x):
        init_fn, updater = hk.transparent_lift_with_state(inner_s.init)
        params, state = init_fn(hk.next_rng_key(), x)
        out, new_state = inner_s.apply(params, state, None, x * 3)
        updater.update(new_state)
        return out

    t = hk.transform_with_state(g)
    params, state = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["dense"] and list(state) == ["~"]
    _, new_state = t.apply(params, state, jax.random.PRNGKey(0), X)
    np.testing.assert_allclose(new_state["~"]["s"], X * 3)


class _LinearIndexMap:
    """'dense' <-> 'dense_<i>' (a LayerStackTransparencyMapping)."""

    def stacked_to_flat(self, stacked_module_name, scan_idx):
        return f"{stacked_module_name}_{scan_idx}"

    def flat_to_stacked(self, unstacked_module_name):
        base_name, _, idx = unstacked_module_name.rpartition("_")
        if not base_name or not idx.isdigit():
            return None
        return base_name, int(idx)


def test_transparent_layer_stack_stores_per_layer_params_like_a_loop():
    assert isinstance(_LinearIndexMap(), hk.LayerStackTransparencyMapping)

    class M(hk.Module):
        def __call__(self, x):
            stack = hk.layer_stack(3, transparent=True, transparency_map=_LinearIndexMap())
            return stack(lambda y: jnp.tanh(Dense(3)(y)))(x)

    t = hk.transform(lambda x: M()(x))
    params = t.init(jax.random.PRNGKey(0), X)
    assert list(params) == ["m/dense_0", "m/dense_1", "m/dense_2"]
    assert params["m/dense_1"]["w"].shape == (3, 3)
    ref = X
    for i in range(3):
        ref = np.tanh(ref @ np.asarray(params[f"m/dense_{i}"]["w"]))
    np.testing.assert_allclose(t.apply(params, None, X), ref, rtol=1e-5)
    del params["m/dense_2"]
    with pytest.raises(ValueError, match=r"'dense' lack layers \[2\]"):
        t.apply(params, None, X)
    with pytest.raises(ValueError, match="transparency_map must be provided"):
        hk.layer_stack(2, transparent=True)


def test_layer_stack_rejects_leading_varargs():
    class VarArgs(hk.Module):
        def __call__(self, *args):
            return args

    class Plain(hk.Module):
        def __call__(self, x):
            return x

    def build(cls):
        def fn(x):
            return hk.layer_stack(1)(cls())(x)

        return hk.transform(fn).init(jax.random.PRNGKey(0), jnp.ones([5]))

    assert build(Plain) == {}
    # dm-haiku raises ValueError at decoration time for a leading *args.
    with pytest.raises(ValueError, match="varargs"):
        build(VarArgs)
