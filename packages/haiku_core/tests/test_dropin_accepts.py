"""Inputs dm-haiku 0.0.17 accepts (or rejects with a given exception type) that we must match.

Literal expected values marked "upstream" were produced by dm-haiku 0.0.17 by hand and
written here; other expected values are computed independently in the test.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _apply(fn):
    return hk.transform(fn).apply({}, None)


# ------------------------------------------------------------ initial_state(batch_size=0)


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: hk.LSTM(4), [(0, 4), (0, 4)]),
        (lambda: hk.GRU(4), [(0, 4)]),
        (lambda: hk.VanillaRNN(4), [(0, 4)]),
        (lambda: hk.DeepRNN([hk.LSTM(4), jax.nn.relu, hk.GRU(3)]), [(0, 4), (0, 4), (0, 3)]),
        (lambda: hk.ResetCore(hk.LSTM(4)), [(0, 4), (0, 4)]),
        (lambda: hk.Conv1DLSTM((5,), 2, 3), [(0, 5, 2), (0, 5, 2)]),
        (lambda: hk.Conv2DLSTM((5, 5), 2, 3), [(0, 5, 5, 2), (0, 5, 5, 2)]),
    ],
)
def test_initial_state_batch_size_zero_gives_empty_batch(make, expected):
    # Upstream returns zero-size states with a leading axis of 0 (shapes checked by hand).
    state = _apply(lambda: make().initial_state(0))
    leaves = jax.tree.leaves(state)
    assert [leaf.shape for leaf in leaves] == expected
    assert all(leaf.dtype == jnp.float32 for leaf in leaves)


def test_unroll_with_empty_batch_state():
    def f():
        core = hk.LSTM(4)
        return hk.dynamic_unroll(core, jnp.zeros((3, 0, 2)), core.initial_state(0))

    t = hk.transform(f)
    out, state = t.apply(t.init(jax.random.PRNGKey(0)), None)
    assert out.shape == (3, 0, 4)
    assert state.hidden.shape == state.cell.shape == (0, 4)


def test_initial_state_negative_batch_size_raises_type_error():
    # Upstream raises TypeError (from jnp.broadcast_to); ours is also a ValueError.
    for exc in (TypeError, ValueError):
        with pytest.raises(exc, match=r"haiku_core\.LSTM 'lstm': `batch_size` must be >= 0"):
            _apply(lambda: hk.LSTM(2).initial_state(-1))


# ----------------------------------------------------------- config(rng_reserve_size <= 0)


def _expected_keys(seed: int, num: int) -> np.ndarray:
    # One split of the sequence key into num + 1 keys; the first becomes the new key.
    return np.asarray(jax.random.split(jax.random.PRNGKey(seed), num + 1)[1:])


@pytest.mark.parametrize("size", [0, -2])
def test_rng_reserve_size_below_one_is_accepted(size):
    with hk.config.context(rng_reserve_size=size):
        assert hk.config.get_config().rng_reserve_size == size
        keys = hk.transform(lambda: hk.next_rng_keys(3)).apply({}, jax.random.PRNGKey(0))

        def reserved():
            hk.reserve_rng_keys(2)
            return hk.next_rng_key(), hk.next_rng_key()

        pair = hk.transform(reserved).apply({}, jax.random.PRNGKey(0))
    np.testing.assert_array_equal(keys, _expected_keys(0, 3))
    np.testing.assert_array_equal(np.stack(pair), _expected_keys(0, 2))
    # Upstream output for PRNGKey(0), recorded by hand (same as the split above).
    np.testing.assert_array_equal(
        keys, [[928981903, 3453687069], [4146024105, 2718843009], [2467461003, 3840466878]]
    )
    assert hk.config.get_config().rng_reserve_size == 1


@pytest.mark.parametrize("size", [0, -2])
def test_rng_reserve_size_below_one_single_draw_raises_index_error(size):
    # Upstream raises IndexError (nothing is reserved, so there is no key to pop).
    with hk.config.context(rng_reserve_size=size):
        with pytest.raises(IndexError, match=r"haiku_core\.PRNGSequence: .*`rng_reserve_size`"):
            hk.transform(hk.next_rng_key).apply({}, jax.random.PRNGKey(0))


def test_config_set_rng_reserve_size_zero_is_accepted():
    try:
        hk.config.set(rng_reserve_size=0)
        assert hk.config.get_config().rng_reserve_size == 0
    finally:
        hk.config.set(rng_reserve_size=1)


def test_experimental_rng_reserve_size_zero_still_raises():
    # Upstream's hk.experimental.rng_reserve_size validates (ValueError) unlike hk.config.
    with pytest.raises(ValueError, match=r"haiku_core\.experimental\.rng_reserve_size"):
        hk.experimental.rng_reserve_size(0)
    assert hk.config.get_config().rng_reserve_size == 1


# ------------------------------------------------------------------- pad.create_from_tuple


@pytest.mark.parametrize(
    "args, expected",
    [
        # Upstream repeats the whole tuple when its first item is an int.
        (((1, 2, 3), 2), ((1, 2, 3), (1, 2, 3))),
        (((1, 2, 3, 4), 3), ((1, 2, 3, 4),) * 3),
        (((1,), 2), ((1,), (1,))),
        ((((1, 2, 3),), 2), ((1, 2, 3), (1, 2, 3))),
        (([(1,), (2, 3)], 2), ((1,), (2, 3))),
        (([(1.5, 2), (0, 0)], 2), ((1.5, 2), (0, 0))),
    ],
)
def test_create_from_tuple_does_not_require_pairs(args, expected):
    assert hk.pad.create_from_tuple(*args) == expected


# ----------------------------------------------------------------- BatchApply(num_dims <= 0)


def test_batch_apply_num_dims_zero_constructs_and_raises_type_error_on_call():
    ba = hk.BatchApply(lambda x: x, num_dims=0)
    assert ba.num_dims == 0
    # Upstream raises TypeError on the call (it builds a float shape for an empty prefix).
    with pytest.raises(TypeError, match=r"haiku_core\.BatchApply: `num_dims`=0"):
        ba(jnp.ones((2, 3)))


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (2, 3, 4, 5)])
def test_batch_apply_negative_num_dims_merges_all_but_last(shape):
    x = jnp.arange(np.prod(shape), dtype=jnp.float32).reshape(shape)
    out = hk.BatchApply(lambda y: y.sum(-1, keepdims=True), num_dims=-1)(x)
    np.testing.assert_allclose(out, np.asarray(x).sum(-1, keepdims=True))


def test_batch_apply_negative_num_dims_beyond_rank_raises_type_error():
    with pytest.raises(TypeError, match=r"haiku_core\.BatchApply: `num_dims`=-3"):
        hk.BatchApply(lambda y: y, num_dims=-3)(jnp.ones((2, 3)))


# ---------------------------------------------------- exception types for non-mapping / cls


@pytest.mark.parametrize("bad", [3, None, [1, 2]])
def test_to_immutable_dict_non_mapping_raises_attribute_error(bad):
    # Upstream raises AttributeError (no `.items`); ours is also a TypeError.
    for exc in (AttributeError, TypeError):
        with pytest.raises(exc, match=r"haiku_core\.data_structures\.to_immutable_dict"):
            hk.data_structures.to_immutable_dict(bad)


def test_to_immutable_dict_accepts_object_with_items():
    class ItemsOnly:
        def items(self):
            return [("a", 1), ("b", {"c": 2})]

    out = hk.data_structures.to_immutable_dict(ItemsOnly())
    assert out["a"] == 1 and out["b"]["c"] == 2
    assert type(out["b"]).__name__ == "FlatMap"


@pytest.mark.parametrize("fn", ["set_policy", "get_policy", "clear_policy"])
def test_mixed_precision_non_class_raises_attribute_error(fn):
    args = (3, hk.mixed_precision.parse_policy("p=f32")) if fn == "set_policy" else (3,)
    # Upstream raises AttributeError (no `__qualname__`); ours is also a TypeError.
    for exc in (AttributeError, TypeError):
        with pytest.raises(exc, match=rf"haiku_core\.mixed_precision\.{fn}: `cls`"):
            getattr(hk.mixed_precision, fn)(*args)


@pytest.mark.parametrize("empty", [(), [], None])
def test_create_from_tuple_empty_padding_raises_assertion_error(empty):
    # Upstream asserts the padding is non-empty (AssertionError); ours is also a TypeError.
    for exc in (AssertionError, TypeError):
        with pytest.raises(exc, match=r"haiku_core\.pad\.create_from_tuple: `padding` must not"):
            hk.pad.create_from_tuple(empty, 2)


@pytest.mark.parametrize("cls", [hk.Linear, 3])
def test_set_policy_none_raises_assertion_error(cls):
    # Upstream asserts policy is not None before looking at cls (AssertionError).
    for exc in (AssertionError, TypeError):
        with pytest.raises(exc, match=r"haiku_core\.mixed_precision\.set_policy: `policy`"):
            hk.mixed_precision.set_policy(cls, None)
    assert hk.mixed_precision.get_policy(hk.Linear) is None


@pytest.mark.parametrize("size", [np.int64(2), True])
def test_rng_reserve_size_accepts_integer_like(size):
    # Upstream accepts any value on entering; integer-likes then draw normally.
    with hk.config.context(rng_reserve_size=size):
        key = hk.transform(hk.next_rng_key).apply({}, jax.random.PRNGKey(0))
    # First key of one split into size + 1 keys; for PRNGKey(0) it is the same whatever
    # the split count here (upstream gave [928981903, 3453687069] for both sizes).
    np.testing.assert_array_equal(key, _expected_keys(0, int(size))[0])
    np.testing.assert_array_equal(key, [928981903, 3453687069])


@pytest.mark.parametrize("size", [1.5, "2"])
def test_rng_reserve_size_non_integer_raises_type_error(size):
    # Upstream stores these and raises TypeError at the first draw; we raise it on entry.
    with pytest.raises(TypeError, match=r"haiku_core\.config: `rng_reserve_size` must be an int"):
        hk.config.set(rng_reserve_size=size)
