"""Params/state/RNG access, PRNGSequence, config, and errors outside transforms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _keys_equal(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_prng_sequence_splits_key_into_new_key_and_subkey():
    seq = hk.PRNGSequence(42)
    key = jax.random.PRNGKey(42)
    for _ in range(3):
        key, sub = jax.random.split(key)
        _keys_equal(next(seq), sub)


def test_prng_sequence_reserve_uses_one_split():
    seq = hk.PRNGSequence(7)
    seq.reserve(3)
    ks = jax.random.split(jax.random.PRNGKey(7), 4)
    for i in range(3):
        _keys_equal(seq.next(), ks[i + 1])
    _keys_equal(next(seq), jax.random.split(ks[0])[1])


def test_prng_sequence_take_and_internal_state_round_trip():
    seq = hk.PRNGSequence(1)
    taken = seq.take(2)
    assert len(taken) == 2
    state = seq.internal_state
    a = next(seq)
    seq2 = hk.PRNGSequence(state)
    _keys_equal(next(seq2), a)
    seq.replace_internal_state(state)
    _keys_equal(next(seq), a)


def test_prng_sequence_rejects_non_keys():
    with pytest.raises(ValueError, match=r"PRNGSequence.*float"):
        hk.PRNGSequence(1.5)


def test_next_rng_key_draws_from_sequence():
    def f():
        return hk.next_rng_key(), hk.next_rng_keys(2), hk.maybe_next_rng_key()

    a, b, c = hk.transform(f).apply({}, jax.random.PRNGKey(1))
    seq = hk.PRNGSequence(1)
    _keys_equal(a, next(seq))
    assert b.shape == (2, 2)
    ks = jax.random.split(seq.internal_state[0], 3)
    _keys_equal(b, ks[1:])
    _keys_equal(c, jax.random.split(ks[0])[1])


def test_maybe_next_rng_key_none_without_rng():
    assert hk.transform(lambda: hk.maybe_next_rng_key()).apply({}, None) is None


def test_reserve_rng_keys_and_rng_sequence_state():
    def f():
        hk.reserve_rng_keys(3)
        state = hk.maybe_get_rng_sequence_state()
        assert len(state[1]) == 3
        k1 = hk.next_rng_key()
        hk.replace_rng_sequence_state(state)
        k2 = hk.next_rng_key()
        return k1, k2

    k1, k2 = hk.transform(f).apply({}, jax.random.PRNGKey(0))
    _keys_equal(k1, k2)
    assert hk.transform(lambda: hk.maybe_get_rng_sequence_state()).apply({}, None) is None


def test_with_rng_switches_sequence():
    def f():
        with hk.with_rng(jax.random.PRNGKey(5)):
            inner = hk.next_rng_key()
        return inner

    inner = hk.transform(f).apply({}, None)
    _keys_equal(inner, next(hk.PRNGSequence(5)))


def test_rng_reserve_size_config_changes_splitting():
    with hk.config.context(rng_reserve_size=4):
        seq = hk.PRNGSequence(0)
        first = next(seq)
        assert len(seq.internal_state[1]) == 3
    _keys_equal(first, jax.random.split(jax.random.PRNGKey(0), 5)[1])
    assert hk.config.get_config().rng_reserve_size == 1


def test_config_set_and_experimental_toggles_return_previous():
    old = hk.experimental.rng_reserve_size(2)
    try:
        assert old == 1
        assert hk.config.get_config().rng_reserve_size == 2
    finally:
        hk.config.set(rng_reserve_size=1)
    assert hk.experimental.check_jax_usage(True) is False
    assert hk.experimental.check_jax_usage(False) is True
    assert hk.experimental.module_auto_repr(True) is True
    with pytest.raises(ValueError, match="rng_reserve_size"):
        hk.experimental.rng_reserve_size(0)
    with pytest.raises(TypeError, match="check_jax_usage"):
        hk.config.set(check_jax_usage="yes")


def test_get_params_current_and_initial_state():
    seen = {}

    def f():
        hk.get_parameter("w", [1], init=jnp.ones)
        s = hk.get_state("s", [], init=jnp.zeros)
        hk.set_state("s", s + 1)
        seen["params"] = hk.get_params()
        seen["current"] = hk.get_current_state()
        seen["initial"] = hk.get_initial_state()

    t = hk.transform_with_state(f)
    params, state = t.init(None)
    assert list(seen["params"]) == ["~"]
    t.apply(params, state, None)
    assert float(seen["current"]["~"]["s"]) == 1.0
    assert float(seen["initial"]["~"]["s"]) == 0.0
    assert hk.experimental.get_params is hk.get_params


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: hk.get_parameter("w", [1], init=jnp.zeros), "haiku_core.get_parameter"),
        (lambda: hk.get_state("s", [1], init=jnp.zeros), "haiku_core.get_state"),
        (lambda: hk.set_state("s", 1), "haiku_core.set_state"),
        (hk.next_rng_key, "haiku_core.next_rng_key"),
        (lambda: hk.next_rng_keys(2), "haiku_core.next_rng_keys"),
        (hk.maybe_next_rng_key, "haiku_core.maybe_next_rng_key"),
        (hk.current_name, "haiku_core.current_name"),
    ],
)
def test_calls_outside_transform_name_the_call_and_the_fix(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: must be used inside.*hk\.transform"):
        call()


def test_get_parameter_without_initializer_during_init():
    with pytest.raises(ValueError, match=r"^haiku_core\.get_parameter: parameter 'w'.*initializer"):
        hk.transform(lambda: hk.get_parameter("w", [1])).init(None)


def test_get_parameter_default_dtype_is_float32():
    params = hk.transform(lambda: hk.get_parameter("w", [2], init=jnp.zeros)).init(None)
    assert params["~"]["w"].dtype == jnp.float32


def test_existing_param_reused_with_shape_check_during_init():
    def f():
        hk.get_parameter("w", [2], init=jnp.zeros)
        hk.get_parameter("w", [3], init=jnp.zeros)

    with pytest.raises(ValueError, match=r"'~/w'.*shape \(2,\).*expects shape \(3,\)"):
        hk.transform(f).init(None)


def test_do_not_store_repr_and_identity():
    assert repr(hk.DO_NOT_STORE) == "haiku_core.DO_NOT_STORE"
    assert hk.experimental.DO_NOT_STORE is hk.DO_NOT_STORE
