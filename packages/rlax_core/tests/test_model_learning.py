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
    # Rank errors are IndexErrors (as indexing a rank-deficient array would be) and ValueErrors.
    with pytest.raises(IndexError, match=r"extract_subsequences.*`start_indices`.*rank 2"):
        rlax.extract_subsequences(jnp.zeros((5, 2)), jnp.zeros(2, jnp.int32), 2)
    with pytest.raises(ValueError, match=r"extract_subsequences.*`trajectories`.*rank >= 2"):
        rlax.extract_subsequences(jnp.zeros(5), jnp.zeros((1, 1), jnp.int32), 2)


def test_extract_subsequences_rejects_out_of_range_bounds():
    # T=5 < max_valid_start_idx + L = 4 + 2: an AssertionError (upstream raises one too).
    traj = jnp.arange(10.0).reshape(5, 2)
    with pytest.raises(AssertionError, match=r"extract_subsequences.*length >= .*6.*got length 5"):
        rlax.extract_subsequences(traj, jnp.zeros((2, 1), jnp.int32), 2, max_valid_start_idx=4)
    with pytest.raises(ValueError, match=r"extract_subsequences"):
        rlax.extract_subsequences(traj, jnp.zeros((2, 1), jnp.int32), 2, max_valid_start_idx=4)
    # Exactly long enough: accepted.
    out = rlax.extract_subsequences(traj, jnp.array([[3], [3]]), 2, max_valid_start_idx=3)
    np.testing.assert_array_equal(out[:, :, 0], [[6.0, 7.0], [8.0, 9.0]])


def test_extract_subsequences_follows_numpy_indexing_for_numpy_input():
    traj = np.arange(20.0).reshape(5, 2, 2)  # float64 NumPy
    out = rlax.extract_subsequences(traj, np.array([[0, 1], [2, 3]]), 2)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(out[1, 1, 0], traj[3, 1])
    # NumPy indexing: an index past T raises IndexError, negative indices wrap.
    with pytest.raises(IndexError):
        rlax.extract_subsequences(traj, np.array([[4], [9]]), 2)
    np.testing.assert_array_equal(
        rlax.extract_subsequences(traj, np.array([[-1], [0]]), 1)[0, 0, 0], traj[4, 0]
    )


def test_extract_subsequences_fewer_start_rows_than_batch():
    # start_indices for the first B' = 1 trajectory only: output [L, 1, K, ...].
    traj = jnp.arange(20.0).reshape(5, 2, 2)
    out = rlax.extract_subsequences(traj, jnp.array([[2]]), 2)
    assert out.shape == (2, 1, 1, 2)
    np.testing.assert_array_equal(out[:, 0, 0], [[8.0, 9.0], [12.0, 13.0]])


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
