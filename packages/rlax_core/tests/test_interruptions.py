"""Tests for rlax_core.fix_step_type_on_interruptions (FIRST=0, MID=1, LAST=2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def _np_fix(st):
    out = st.copy()
    for t in range(st.shape[0] - 1):
        for b in range(st.shape[1]):
            if st[t, b] == 1 and st[t + 1, b] == 0:
                out[t, b] = 2
    return out


def test_fix_matches_loop(np_rng):
    st = np_rng.integers(0, 3, size=(8, 4)).astype(np.int32)
    np.testing.assert_array_equal(rlax.fix_step_type_on_interruptions(st), _np_fix(st))
    np.testing.assert_array_equal(jax.jit(rlax.fix_step_type_on_interruptions)(st), _np_fix(st))


def test_interruption_at_first_and_last_steps():
    # Column 0: interrupted right after the first step; column 1: MID at the last step
    # stays MID (no following step); column 2: clean episode boundary stays untouched.
    st = jnp.array([[1, 0, 0], [0, 1, 1], [1, 1, 2], [1, 1, 0]])
    expected = np.array([[2, 0, 0], [0, 1, 1], [1, 1, 2], [1, 1, 0]])
    np.testing.assert_array_equal(rlax.fix_step_type_on_interruptions(st), expected)
    one_step = jnp.array([[1, 0]])
    np.testing.assert_array_equal(rlax.fix_step_type_on_interruptions(one_step), one_step)


def test_rank_error():
    # Also an AssertionError (upstream asserts the rank).
    for err in (ValueError, AssertionError):
        with pytest.raises(err, match=r"fix_step_type_on_interruptions.*`step_type`.*rank 2"):
            rlax.fix_step_type_on_interruptions(jnp.zeros(4, jnp.int32))
