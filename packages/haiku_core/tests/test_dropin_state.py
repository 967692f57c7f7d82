"""Drop-in behaviour of the state/transform family that dm-haiku 0.0.17 defines.

Each expectation below was checked by hand against dm-haiku 0.0.17 (the error
type, the param names, the values); the values are written as literals or computed
independently with NumPy.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src.errors import NonEmptyStateError

X = np.ones((2, 3), np.float32)
_inner = hk.transform(lambda x: hk.Linear(2)(x))


class Bias(hk.Module):
    def __call__(self, x):
        return x + hk.get_parameter("b", [], init=jnp.ones)


# ----------------------------------------------------------------------------- lift


@pytest.mark.parametrize(
    "fn, init",
    [
        (hk.lift, lambda: None),
        (hk.lift_with_state, lambda: (None, None)),
        (hk.transparent_lift, lambda: None),
        (hk.transparent_lift_with_state, lambda: (None, None)),
    ],
)
def test_lift_outside_transform_raises_at_creation(fn, init):
    # dm-haiku: ValueError as soon as the lift is created outside a transform.
    with pytest.raises(ValueError, match=r"^haiku_core\.\w*lift\w*: "):
        fn(init)


def test_lift_name_fixed_at_creation_and_second_call_raises():
    def twice(x):
        lifted = hk.lift(_inner.init)
        lifted(hk.next_rng_key(), x)
        lifted(hk.next_rng_key(), x)

    with pytest.raises(ValueError, match=r"'lifted/linear'.*already exists"):
        hk.transform(twice).init(jax.random.PRNGKey(0), X)

    def created_then_called_out_of_order(x):
        a = hk.lift(_inner.init)
        b = hk.lift(_inner.init)
        b(hk.next_rng_key(), x)
        a(hk.next_rng_key(), x)

    # dm-haiku names: ['lifted_1/linear', 'lifted/linear'].
    params = hk.transform(created_then_called_out_of_order).init(jax.random.PRNGKey(0), X)
    assert list(params) == ["lifted_1/linear", "lifted/linear"]


def test_lift_empty_init_may_be_called_twice():
    empty = hk.transform(lambda: None)

    def f():
        lifted = hk.lift(empty.init)
        lifted(None)
        lifted(None)
        hk.lift(empty.init)(None)

    assert hk.transform(f).init(None) == {}


def test_lift_name_collides_with_module_name():
    def f(x):
        hk.Linear(2, name="lifted")(x)
        return hk.lift(_inner.init)(hk.next_rng_key(), x)

    # dm-haiku: ['lifted', 'lifted_1/linear'].
    assert list(hk.transform(f).init(jax.random.PRNGKey(0), X)) == ["lifted", "lifted_1/linear"]


def test_lift_of_stateful_init_raises_non_empty_state_error():
    stateful = hk.transform_with_state(lambda: hk.get_state("w", [], init=jnp.zeros))

    def f():
        hk.lift(stateful.init)(None)

    with pytest.raises(NonEmptyStateError, match="lift_with_state"):
        hk.transform(f).init(None)


def test_transparent_lift_existing_params_raise():
    class M(hk.Module):
        def __call__(self, x):
            return x + hk.get_parameter("b", [3], init=jnp.zeros)

    inner = hk.transform(lambda x: M()(x))

    def f(x):
        x = M()(x)
        return inner.apply(hk.transparent_lift(inner.init)(None, x), None, x)

    with pytest.raises(ValueError, match=r"'m'.*already exists"):
        hk.transform(f).init(None, jnp.ones([3]))

    def g(x):
        x = M()(x)
        return inner.apply(hk.transparent_lift(inner.init, allow_reuse=True)(None, x), None, x)

    assert list(hk.transform(g).init(None, jnp.ones([3]))) == ["m"]


def _transparent(fn):
    inner = hk.transform(fn)

    def wrapped(x):
        params = hk.transparent_lift(inner.init)(None, x)
        return inner.apply(params, None, x)

    return wrapped


def test_transparent_lift_closed_over_module_raises():
    def f(x):
        outer_defined = Bias(name="inner")

        def inner_fn(x):
            return Bias(name="inner")(outer_defined(x))

        return _transparent(inner_fn)(x)

    with pytest.raises(ValueError, match=r"'inner'.*created outside"):
        hk.transform(f).init(None, X)

    class Outer(hk.Module):
        def __call__(self, x):
            outer_defined = Bias(name="inner")
            return _transparent(lambda y: Bias(name="inner")(outer_defined(y)))(x)

    with pytest.raises(ValueError, match=r"'outer/inner'.*created outside"):
        hk.transform(lambda x: Outer()(x)).init(None, X)


def test_transparent_lift_modules_created_inside_are_fine():
    def f(x):
        Bias()(x)
        return _transparent(lambda y: Bias(name="other")(y))(x)

    params = hk.transform(f).init(None, X)
    assert sorted(params) == ["bias", "other"]


def test_unused_lift_with_state_updater_raises_when_transform_returns():
    inner = hk.transform_with_state(lambda: None)

    def f():
        hk.lift_with_state(inner.init)

    with pytest.raises(ValueError, match="neither updated nor ignored"):
        hk.transform_with_state(f).init(None)


@pytest.mark.parametrize("first", ["update", "ignore"])
@pytest.mark.parametrize("second", ["update", "ignore"])
def test_lift_with_state_updater_used_twice_raises(first, second):
    inner = hk.transform_with_state(lambda: None)

    def use(updater, how):
        if how == "update":
            updater.update({})
        else:
            updater.ignore_update()

    def f():
        _, updater = hk.lift_with_state(inner.init)
        use(updater, first)
        use(updater, second)

    with pytest.raises(ValueError, match="already used"):
        hk.transform_with_state(f).init(None)


@pytest.mark.parametrize("how", ["update", "ignore"])
def test_lift_with_state_updater_used_in_another_transform_raises(how):
    inner = hk.transform_with_state(lambda: None)

    def f():
        _, updater = hk.lift_with_state(inner.init)
        act = (lambda: updater.update({})) if how == "update" else updater.ignore_update
        hk.transform_with_state(act).init(None)

    with pytest.raises(ValueError, match="same call to init/apply"):
        hk.transform_with_state(f).init(None)


def test_lift_with_state_round_trip_values():
    @hk.transform_with_state
    def counter():
        w = hk.get_state("w", [], init=jnp.zeros) + 1
        hk.set_state("w", w)
        return w

    def outer():
        lifted, updater = hk.lift_with_state(counter.init)
        params, state = lifted(None)
        out, state = counter.apply(params, state, None)
        updater.update(state)
        return out

    t = hk.transform_with_state(outer)
    params, state = t.init(None)
    assert params == {} and float(state["lifted/~"]["w"]) == 0.0
    for expected in (1.0, 2.0, 3.0):
        out, state = t.apply(params, state, None)
        assert float(out) == expected and float(state["lifted/~"]["w"]) == expected


# ----------------------------------------------------------------------------- eval_shape


def test_eval_shape_inside_transform_discards_created_params_and_keys():
    def with_probe(x):
        m = hk.Linear(20)
        shape = hk.eval_shape(m, x)
        assert shape == jax.ShapeDtypeStruct((1, 20), jnp.float32)
        return m(x)

    def without_probe(x):
        return hk.Linear(20)(x)

    x = jnp.ones([1, 12])
    rng = jax.random.PRNGKey(0)
    p_probe = hk.transform(with_probe).init(rng, x)
    p_plain = hk.transform(without_probe).init(rng, x)
    assert list(p_probe) == ["linear"]
    # Same key stream: eval_shape drew nothing the real call could see.
    np.testing.assert_array_equal(p_probe["linear"]["w"], p_plain["linear"]["w"])


def test_eval_shape_outside_transform_raises():
    with pytest.raises(ValueError, match="eval_shape"):
        hk.eval_shape(lambda x: x, jnp.ones([2]))


def test_fast_eval_shape_outside_transform_on_transformed_and_fold_in():
    f = hk.transform(lambda x: hk.Linear(20)(x))
    rng = jax.random.PRNGKey(0)
    x = jnp.ones([1, 12])
    shapes = hk.experimental.fast_eval_shape(f.init, rng, x)
    assert shapes == {
        "linear": {
            "w": jax.ShapeDtypeStruct((12, 20), jnp.float32),
            "b": jax.ShapeDtypeStruct((20,), jnp.float32),
        }
    }
    out = hk.experimental.fast_eval_shape(f.apply, shapes, rng, x)
    assert out == jax.ShapeDtypeStruct((1, 20), jnp.float32)
    folded = hk.experimental.fast_eval_shape(lambda k: jax.random.fold_in(k, 1), rng)
    assert folded == jax.ShapeDtypeStruct((2,), jnp.uint32)


# ----------------------------------------------------------------------------- stateful


def test_vmap_split_rng_true_allowed_at_init_without_params():
    def f(x):
        return hk.vmap(lambda y: jax.random.uniform(hk.next_rng_key(), ()) + y, split_rng=True)(x)

    x = jnp.zeros([4])
    t = hk.transform(f)
    params = t.init(jax.random.PRNGKey(0), x)
    assert params == {}
    out = t.apply(params, jax.random.PRNGKey(1), x)
    assert out.shape == (4,) and len(set(np.asarray(out).tolist())) == 4


def test_vmap_split_rng_true_creating_params_at_init_raises():
    def f(x):
        def creates(_):
            return hk.get_parameter("w", [], init=hk.initializers.TruncatedNormal())

        return hk.vmap(creates, split_rng=True)(x)

    with pytest.raises(ValueError, match="split_rng"):
        hk.transform(f).init(jax.random.PRNGKey(0), jnp.arange(4))


def test_vmap_in_axes_list_and_all_none():
    def f(a):
        return hk.vmap(lambda v: v * 2, in_axes=[0], split_rng=False)(a)

    out = hk.transform(f).apply({}, None, jnp.ones([4]))
    np.testing.assert_array_equal(out, np.full(4, 2.0))

    def fn_name(_):
        return None

    with pytest.raises(ValueError, match=r"fn_name.*non-None value in in_axes"):
        hk.vmap(fn_name, in_axes=None, split_rng=False)


def test_cond_operands_both_ways_is_value_error():
    def f():
        return hk.cond(True, lambda x: x + 5, lambda x: x + 4, 1, operand=1)

    with pytest.raises(ValueError, match="operand"):
        hk.transform(f).apply({}, None)


class _Square(hk.Module):
    def __call__(self, x):
        assert x.ndim == 0  # branches see arrays, as inside jax.lax.switch
        p = hk.get_parameter("p", [], jnp.int32, init=lambda *_: jnp.array(2))
        y = x**p
        hk.set_state("y", y)
        return y


def test_cond_old_five_argument_form_and_int_operands():
    def f(x):
        mod = _Square()
        return hk.cond(x == 2, x, mod, x, lambda v: mod(v + 1))

    t = hk.transform_with_state(f)
    for x, y in ((1, 4), (2, 4), (3, 16)):
        params, state = t.init(None, jnp.array(x))
        out, state = t.apply(params, state, None, jnp.array(x))
        assert int(out) == y and int(state["__square"]["y"]) == y

    def g(i, x, y, z):
        mod = _Square()
        branches = [lambda a, b, c: mod(a), lambda a, b, c: mod(b), lambda a, b, c: mod(c)]
        return hk.switch(i, branches, x, y, z)

    tg = hk.transform_with_state(g)
    xyz = (1, 3, 5)
    for i in range(3):
        params, state = tg.init(None, i, *xyz)
        out, state = tg.apply(params, state, None, i, *xyz)
        assert int(out) == xyz[i] ** 2


def test_vmap_require_split_rng_switch():
    with pytest.raises(
        TypeError, match=r"^haiku_core\.vmap: .*split_rng.*require_split_rng = False"
    ):
        hk.vmap(lambda: None)

    assert hk.vmap.require_split_rng is True
    hk.vmap.require_split_rng = False
    try:
        keys_fn = hk.vmap(hk.next_rng_key, axis_size=2)
    finally:
        hk.vmap.require_split_rng = True
    # As in dm-haiku 0.0.17: a missing split_rng then means split_rng=False, so both
    # mapped elements get the same key (upstream gives [[1946498123, 2217676430]] * 2,
    # the first key of the sequence, jax.random.split(key)[1]).
    key = jax.random.PRNGKey(3)
    k = hk.transform(lambda: keys_fn()).apply({}, key)
    expected = np.asarray(jax.random.split(key)[1])
    np.testing.assert_array_equal(np.asarray(k), np.stack([expected, expected]))
    with pytest.raises(TypeError, match=r"split_rng"):
        hk.vmap(lambda: None)


def test_optimize_rng_use_keeps_module_names_between_init_and_apply():
    # Its key-counting pass must not use up module names: apply has to find the
    # params init created (dm-haiku runs the same function under both).
    def g(x):
        return hk.Linear(2)(x) + jax.random.uniform(hk.next_rng_key(), (1, 2))

    f = hk.transform(hk.experimental.optimize_rng_use(g))
    x = jnp.ones((1, 3))
    params = f.init(jax.random.PRNGKey(0), x)
    assert list(params) == ["linear"]
    out = f.apply(params, jax.random.PRNGKey(1), x)
    assert out.shape == (1, 2)


def test_eval_shape_does_not_use_up_module_names():
    def f(x):
        hk.eval_shape(lambda y: hk.Linear(2)(y), x)
        return hk.Linear(2)(x)

    params = hk.transform(f).init(jax.random.PRNGKey(0), jnp.ones((1, 3)))
    assert list(params) == ["linear"]
