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
