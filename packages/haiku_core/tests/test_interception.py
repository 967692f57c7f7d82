"""custom_creator / custom_getter / custom_setter and DO_NOT_STORE."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _param_fn():
    return hk.get_parameter("w", [2], init=jnp.ones)


def test_creator_order_outer_first_and_context():
    log = []

    def mk(tag):
        def creator(next_creator, shape, dtype, init, context):
            log.append((tag, context.full_name, context.module_name, context.name, shape))
            return next_creator(shape, dtype, init)

        return creator

    def f():
        with hk.custom_creator(mk("outer")), hk.custom_creator(mk("inner")):
            return _param_fn()

    hk.transform(f).init(None)
    # Creators see the shape exactly as passed to get_parameter (upstream passes it as is).
    assert log == [("outer", "~/w", "~", "w", [2]), ("inner", "~/w", "~", "w", [2])]


def test_creator_can_replace_initializer_and_runs_only_in_init():
    calls = []

    def zeros(next_creator, shape, dtype, init, context):
        calls.append(1)
        return next_creator(shape, dtype, jnp.zeros)

    def f():
        with hk.custom_creator(zeros):
            return _param_fn()

    t = hk.transform(f)
    params = t.init(None)
    np.testing.assert_array_equal(params["~"]["w"], [0.0, 0.0])
    t.apply(params, None)
    assert calls == [1]


def test_getter_transforms_reads_order():
    log = []

    def mk(tag, scale):
        def getter(next_getter, value, context):
            log.append(tag)
            return next_getter(value) * scale

        return getter

    def f():
        with hk.custom_getter(mk("outer", 2.0)), hk.custom_getter(mk("inner", 3.0)):
            return _param_fn()

    t = hk.transform(f)
    params = t.init(None)
    np.testing.assert_allclose(t.apply(params, None), [6.0, 6.0])
    assert log[:2] == ["outer", "inner"]
    # The stored params are untouched.
    np.testing.assert_allclose(params["~"]["w"], [1.0, 1.0])


def test_getter_for_state_only_when_asked():
    def double(next_getter, value, context):
        return next_getter(value) * 2

    def f(state_too):
        with hk.custom_getter(double, params=False, state=state_too):
            s = hk.get_state("s", [], init=jnp.ones)
            p = _param_fn()
        return s, p

    t = hk.transform_with_state(f)
    params, state = t.init(None, True)
    (s, p), _ = t.apply(params, state, None, True)
    assert float(s) == 2.0 and np.allclose(p, 1.0)
    (s, p), _ = t.apply(params, state, None, False)
    assert float(s) == 1.0


def test_do_not_store_creator_keeps_param_out_of_tree():
    def skip(next_creator, shape, dtype, init, context):
        return hk.DO_NOT_STORE

    def supply(next_getter, value, context):
        assert value is hk.DO_NOT_STORE
        return next_getter(context.original_init(context.original_shape, context.original_dtype))

    def f():
        with hk.custom_creator(skip), hk.custom_getter(supply):
            w = hk.get_parameter("w", [1], init=jnp.ones)
        return w + hk.get_parameter("v", [1], init=jnp.ones)

    params = hk.transform(f).init(None)
    assert list(params["~"]) == ["v"]


def test_do_not_store_creator_without_getter_raises():
    # dm-haiku 0.0.17 raises ValueError here too: get_parameter has no array to return.
    def skip(next_creator, shape, dtype, init, context):
        return hk.DO_NOT_STORE

    def f():
        with hk.custom_creator(skip):
            return hk.get_parameter("w", [1], init=jnp.ones)

    with pytest.raises(
        ValueError, match=r"^haiku_core\.get_parameter: parameter 'w'.*DO_NOT_STORE"
    ):
        hk.transform(f).init(None)


def test_custom_setter_modifies_and_can_drop_writes():
    def setter(next_setter, value, context):
        if context.name == "drop":
            return hk.DO_NOT_STORE
        return next_setter(value + 10)

    def f():
        with hk.custom_setter(setter):
            hk.set_state("keep", jnp.zeros([]))
            hk.set_state("drop", jnp.zeros([]))

    _, state = hk.transform_with_state(f).init(None)
    assert list(state["~"]) == ["keep"]
    assert float(state["~"]["keep"]) == 10.0


def test_interceptors_outside_transform_raise():
    with pytest.raises(ValueError, match=r"^haiku_core\.custom_getter: must be used inside"):
        with hk.custom_getter(lambda n, v, c: n(v)):
            pass


def test_getter_context_is_experimental_alias():
    assert hk.experimental.GetterContext is hk.GetterContext
    assert hk.experimental.ParamContext is hk.GetterContext
    assert hk.experimental.custom_creator is hk.custom_creator


def test_state_creator_applies_to_get_state_only_when_asked():
    def ones(next_creator, shape, dtype, init, context):
        return next_creator(shape, dtype, jnp.ones)

    def f(params, state):
        with hk.custom_creator(ones, params=params, state=state):
            s = hk.get_state("s", [2], init=jnp.zeros)
            p = hk.get_parameter("p", [2], init=jnp.zeros)
        return s, p

    for params_flag, state_flag in [(True, False), (False, True)]:
        p, s = hk.transform_with_state(f).init(None, params_flag, state_flag)
        np.testing.assert_array_equal(p["~"]["p"], np.full([2], float(params_flag)))
        np.testing.assert_array_equal(s["~"]["s"], np.full([2], float(state_flag)))
