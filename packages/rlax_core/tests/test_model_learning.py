"""Tests for rlax_core.extract_subsequences and sample_start_indices."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax


def test_extract_subsequences_matches_loop(np_rng):
    traj = np_rng.normal(size=(7, 3, 2)).astype(np.float32)
    starts = np.array([[0, 2], [1, 4], [3, 3]], np.int32)
    out = jax.jit(rlax.extract_subsequences, static_argnums=2)(traj, starts, 3)
    assert out.shape == (3, 3, 2, 2)
    for l in range(3):
        for b in range(3):
            for k in range(2):
                np.testing.assert_array_equal(out[l, b, k], traj[starts[b, k] + l, b])


def test_extract_subsequences_errors():
    with pytest.raises(ValueError, match=r"extract_subsequences.*`start_indices`.*batch"):
        rlax.extract_subsequences(jnp.zeros((5, 2)), jnp.zeros((3, 1), jnp.int32), 2)
    with pytest.raises(ValueError, match=r"extract_subsequences.*`start_indices`.*rank 2"):
        rlax.extract_subsequences(jnp.zeros((5, 2)), jnp.zeros(2, jnp.int32), 2)


def test_sample_start_indices_without_replacement(key):
    out = rlax.sample_start_indices(key, 50, 4, 5)
    assert out.shape == (50, 4)
    arr = np.asarray(out)
    assert arr.min() >= 0 and arr.max() <= 5
    assert all(len(set(row)) == 4 for row in arr)
    # All of 0..5 (inclusive upper bound) get drawn.
    assert set(arr.ravel()) == set(range(6))
    full = rlax.sample_start_indices(key, 3, 3, 2)
    assert all(sorted(row) == [0, 1, 2] for row in np.asarray(full))
    with pytest.raises(ValueError, match=r"sample_start_indices.*`num_start_indices`"):
        rlax.sample_start_indices(key, 2, 4, 2)
