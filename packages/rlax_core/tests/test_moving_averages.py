"""Tests for rlax_core.create_ema (debiased EMA of per-leaf moments)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_ema_matches_loop_reference(np_rng):
    decay = 0.9
    init, update = rlax.create_ema(decay)
    tree = {"a": jnp.zeros(3), "b": jnp.zeros(())}
    state = init(tree)
    assert state.mu["a"].shape == () and float(state.decay_product) == 1.0
    mu = {"a": 0.0, "b": 0.0}
    nu = {"a": 0.0, "b": 0.0}
    prod = 1.0
    for _ in range(4):
        x = {"a": np_rng.normal(size=3).astype(np.float32), "b": np.float32(np_rng.normal())}
        moments, state = jax.jit(update)(x, state)
        prod *= decay
        for k in x:
            mu[k] = decay * mu[k] + (1 - decay) * np.mean(x[k])
            nu[k] = decay * nu[k] + (1 - decay) * np.mean(np.square(x[k]))
            mean = mu[k] / (1 - prod)
            np.testing.assert_allclose(moments.mean[k], mean, rtol=1e-5)
            np.testing.assert_allclose(
                moments.variance[k], nu[k] / (1 - prod) - mean**2, rtol=1e-4, atol=1e-6
            )
    np.testing.assert_allclose(state.decay_product, prod, rtol=1e-6)


def test_ema_first_step_is_unbiased():
    init, update = rlax.create_ema(0.999)
    x = jnp.array([1.0, 3.0])
    moments, _ = update(x, init(x))
    np.testing.assert_allclose(moments.mean, 2.0, rtol=1e-4)
    np.testing.assert_allclose(moments.variance, 1.0, rtol=1e-2)


def test_ema_state_types_are_frozen_pytrees():
    init, update = rlax.create_ema()
    state = init({"x": jnp.ones(2)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.mu = None
    moments, state = update({"x": jnp.ones(2)}, state)
    assert isinstance(moments, rlax.EmaMoments) and isinstance(state, rlax.EmaState)
    assert len(jax.tree.leaves(state)) == 3
    assert set(state.keys()) == {"mu", "nu", "decay_product"}
    np.testing.assert_allclose(state.debiased_moments().mean["x"], moments.mean["x"])
    assert state.replace(decay_product=0.5).decay_product == 0.5


@pytest.mark.multidevice
def test_ema_pmean_across_devices():
    assert jax.device_count() == 8
    x = jnp.arange(16.0).reshape(8, 2)
    init, update = rlax.create_ema(0.5, pmean_axis_name="d")
    moments, _ = jax.pmap(lambda v: update(v, init(v)), axis_name="d")(x)
    np.testing.assert_allclose(moments.mean, np.full(8, 7.5), rtol=1e-5)
    np.testing.assert_allclose(moments.variance, np.full(8, np.var(np.arange(16.0))), rtol=1e-4)


def test_debiased_moments_with_decay_product_one():
    # No debiasing possible: divide by the smallest normal float32 instead of 0.
    tiny = np.finfo(np.float32).tiny
    m = rlax.EmaState(mu=jnp.array(0.0), nu=jnp.array(0.0), decay_product=jnp.array(1.0))
    moments = m.debiased_moments()
    assert float(moments.mean) == 0.0 and float(moments.variance) == 0.0
    m = rlax.EmaState(mu=jnp.array(1.0), nu=jnp.array(2.0), decay_product=jnp.array(1.0))
    moments = m.debiased_moments()
    # mu / tiny is huge (inf on XLA:CPU, as upstream gives); never NaN. The variance
    # nu / tiny - mean^2 is -inf, clipped to 0 (upstream output: mean inf, variance 0).
    assert float(moments.mean) >= 1.0 / tiny * 0.99
    assert float(moments.variance) == 0.0
    # decay=1 never moves the statistics: moments stay 0 instead of 0/0.
    init, update = rlax.create_ema(decay=1.0)
    moments, state = update(jnp.ones(2), init(jnp.ones(2)))
    assert float(moments.mean) == 0.0 and float(moments.variance) == 0.0
    assert float(state.decay_product) == 1.0


def test_ema_init_state_uses_the_dtype_of_the_mean():
    init, update = rlax.create_ema(decay=0.9)
    state = init({"a": np.arange(3), "b": jnp.ones(2, jnp.bfloat16)})
    assert state.mu["a"].dtype == jnp.float32  # mean of an int array is float
    assert state.mu["b"].dtype == jnp.bfloat16
    moments, _ = update({"a": np.arange(3), "b": jnp.ones(2, jnp.bfloat16)}, state)
    np.testing.assert_allclose(moments.mean["a"], 1.0, rtol=1e-6)
    np.testing.assert_allclose(moments.variance["a"], 2.0 / 3.0, rtol=1e-5)
