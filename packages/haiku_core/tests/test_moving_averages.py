"""Tests for hk.ExponentialMovingAverage and hk.EMAParamsTree."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _np_ema(values, decay, zero_debias=True, warmup_length=0):
    """Plain-loop reference: returns the reported average after each update."""
    hidden = np.zeros_like(values[0], dtype=np.float64)
    counter = -warmup_length
    out = []
    for v in values:
        counter += 1
        d = 0.0 if counter <= 0 else decay
        hidden = hidden * d + v * (1 - d)
        out.append(hidden / (1 - d**counter) if zero_debias else hidden.copy())
    return out


def _apply_sequence(f, values):
    params, state = f.init(None, values[0])
    outs = []
    for v in values:
        out, state = f.apply(params, state, None, v)
        outs.append(out)
    return outs, state


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(decay=0.9),
        dict(decay=0.5, zero_debias=False),
        dict(decay=0.8, zero_debias=False, warmup_length=2),
    ],
)
def test_matches_numpy_loop(np_rng, kwargs):
    values = [np_rng.normal(size=(2, 3)).astype(np.float32) for _ in range(5)]
    f = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(**kwargs)(x))
    outs, state = _apply_sequence(f, values)
    expected = _np_ema(
        values, kwargs["decay"], kwargs.get("zero_debias", True), kwargs.get("warmup_length", 0)
    )
    for o, e in zip(outs, expected, strict=True):
        np.testing.assert_allclose(o, e, rtol=1e-5, atol=1e-6)
    assert int(state["exponential_moving_average"]["counter"]) == 5 - kwargs.get("warmup_length", 0)
    np.testing.assert_allclose(
        state["exponential_moving_average"]["average"], expected[-1], rtol=1e-5, atol=1e-6
    )


def test_state_tree_snapshot_and_init_values():
    f = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(0.9)(x))
    _, state = f.init(None, jnp.full([2, 3], 4.0))
    spec = [(m, n, v.shape, str(v.dtype)) for m, d in state.items() for n, v in d.items()]
    assert spec == [
        ("exponential_moving_average", "counter", (), "int32"),
        ("exponential_moving_average", "hidden", (2, 3), "float32"),
        ("exponential_moving_average", "average", (2, 3), "float32"),
    ]
    # Initial state: counter/hidden at their initial values, average = first debiased value.
    assert int(state["exponential_moving_average"]["counter"]) == 0
    np.testing.assert_array_equal(state["exponential_moving_average"]["hidden"], 0.0)
    np.testing.assert_allclose(state["exponential_moving_average"]["average"], 4.0, rtol=1e-6)


def test_update_stats_false_leaves_state():
    f = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(0.9)(x, update_stats=False))
    params, state = f.init(None, jnp.ones([2]))
    out, new_state = f.apply(params, state, None, jnp.full([2], 5.0))
    np.testing.assert_allclose(out, [5.0, 5.0], rtol=1e-6)  # 0.1 * 5 / (1 - 0.9)
    jax.tree.map(np.testing.assert_array_equal, new_state, state)


def test_initialize_and_average_property():
    def f(x):
        ema = hk.ExponentialMovingAverage(0.5)
        ema.initialize([3])
        return ema.average

    _, state = hk.transform_with_state(f).init(None, jnp.ones([3]))
    assert list(state["exponential_moving_average"]) == ["hidden", "average"]


def test_bf16_dtype_and_jit():
    f = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(0.9)(x))
    x = jnp.ones([2], jnp.bfloat16)
    params, state = f.init(None, x)
    assert state["exponential_moving_average"]["hidden"].dtype == jnp.bfloat16
    out, _ = jax.jit(f.apply)(params, state, None, x)
    assert out.dtype == jnp.bfloat16


def test_errors():
    with pytest.raises(ValueError, match="zero_debias=True and warmup_length=3"):
        hk.transform_with_state(
            lambda x: hk.ExponentialMovingAverage(0.9, warmup_length=3)(x)
        ).init(None, 1.0)
    with pytest.raises(ValueError, match="warmup_length"):
        hk.transform_with_state(
            lambda x: hk.ExponentialMovingAverage(0.9, zero_debias=False, warmup_length=-1)(x)
        ).init(None, 1.0)


# ---------------------------------------------------------------------- EMAParamsTree


def test_ema_params_tree_names_values_and_ignore():
    tree = {
        "mlp/~/linear_0": {"w": jnp.ones([3, 4]), "b": jnp.zeros([4])},
        "top": {"s": jnp.ones([2])},
    }
    f = hk.transform_with_state(lambda t: hk.EMAParamsTree(0.5, ignore_regex="top")(t))
    params, state = f.init(None, tree)
    assert list(state) == [
        "ema_params_tree/mlp___tilde___linear_0__w",
        "ema_params_tree/mlp___tilde___linear_0__b",
    ]
    tree2 = jax.tree.map(lambda x: x * 3.0, tree)
    out, state = f.apply(params, state, None, tree2)
    # Debiased average after one update equals the value; "top" passes through.
    np.testing.assert_allclose(out["mlp/~/linear_0"]["w"], 3.0)
    np.testing.assert_allclose(out["top"]["s"], 3.0)
    out, _ = f.apply(params, state, None, tree)
    # Second update: h = 0.5 * 0.5 * 3 + 0.5 * 1 = 1.25, avg = 1.25 / 0.75.
    np.testing.assert_allclose(out["mlp/~/linear_0"]["w"], 1.25 / 0.75, rtol=1e-6)


def test_ema_params_tree_rejects_non_mapping():
    f = hk.transform_with_state(lambda t: hk.EMAParamsTree(0.5)(t))
    with pytest.raises(TypeError, match=r"ema_params_tree.*two-level mapping"):
        f.init(None, [jnp.ones([2])])
