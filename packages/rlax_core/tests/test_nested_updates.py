"""Tests for rlax_core.conditional_update and periodic_update."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_conditional_update_selects_tree():
    new = {"w": jnp.ones(2), "b": (jnp.full((), 3.0),)}
    old = {"w": jnp.zeros(2), "b": (jnp.full((), -1.0),)}
    out = rlax.conditional_update(new, old, True)
    np.testing.assert_array_equal(out["w"], np.ones(2))
    out = jax.jit(rlax.conditional_update)(new, old, jnp.asarray(False))
    np.testing.assert_array_equal(out["b"][0], -1.0)
    # A predicate of a leaf's shape selects element-wise (jax.lax.select semantics).
    out = rlax.conditional_update(jnp.ones(2), jnp.zeros(2), jnp.array([True, False]))
    np.testing.assert_array_equal(out, [1.0, 0.0])
    with pytest.raises(TypeError, match=r"conditional_update.*`is_time`"):
        rlax.conditional_update(new, old, jnp.array([True, False, True]))


def test_conditional_update_leaves_must_match_like_lax_select():
    # Different dtypes or shapes are TypeErrors (no silent promotion/broadcasting).
    with pytest.raises(TypeError, match=r"conditional_update.*dtype"):
        rlax.conditional_update(jnp.ones(2), jnp.zeros(2, jnp.int32), True)
    with pytest.raises(TypeError, match=r"conditional_update.*shape"):
        rlax.conditional_update(jnp.ones(2), jnp.zeros(3), True)


def test_periodic_update_elementwise_steps():
    out = rlax.periodic_update(jnp.ones(2), jnp.zeros(2), jnp.array([3, 4]), 2)
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_periodic_update_every_period():
    new, old = jnp.asarray(1.0), jnp.asarray(0.0)
    got = [float(rlax.periodic_update(new, old, jnp.asarray(s), 3)) for s in range(7)]
    assert got == [1.0 if s % 3 == 0 else 0.0 for s in range(7)]
    fn = jax.jit(rlax.periodic_update, static_argnums=3)
    assert float(fn(new, old, jnp.asarray(6), 3)) == 1.0


def test_updates_warn_pending_deprecation_like_rlax():
    with pytest.warns(PendingDeprecationWarning, match=r"conditional_update"):
        rlax.conditional_update(jnp.ones(2), jnp.zeros(2), True)
    with pytest.warns(PendingDeprecationWarning, match=r"periodic_update"):
        rlax.periodic_update(jnp.ones(2), jnp.zeros(2), jnp.asarray(2), 2)
