"""Hypothesis strategies draw what they promise."""

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from shared_testing import strategies as sts


@given(sts.float_arrays((3, 2), -2.0, 3.0))
def test_float_arrays_shape_range_dtype(x):
    assert x.shape == (3, 2) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and np.all(x >= -2.0) and np.all(x <= 3.0)


@given(sts.float_arrays(4, 0.1, 0.2, dtype=jnp.bfloat16))
def test_float_arrays_bfloat16(x):
    assert x.shape == (4,) and x.dtype == jnp.bfloat16


@given(sts.discounts((5,)))
def test_discounts_in_unit_interval(d):
    assert d.shape == (5,) and np.all((d >= 0.0) & (d <= 1.0))


@given(sts.probabilities((2, 4)))
def test_probabilities_last_axis_sums_to_one(p):
    assert p.shape == (2, 4) and np.all(p >= 0.0)
    np.testing.assert_allclose(p.sum(-1), np.ones(2), rtol=1e-6)


@given(sts.logits((3,)))
def test_logits_finite(z):
    assert z.shape == (3,) and np.all(np.isfinite(z)) and np.all(np.abs(z) <= 5.0)


def test_ci_profile_is_loaded():
    assert settings().max_examples == 25
    assert settings().derandomize
    assert settings().deadline is None


def test_bad_bounds_rejected():
    with pytest.raises(ValueError, match="discounts: need 0 <= min_value <= max_value <= 1"):
        sts.discounts(3, 0.0, 2.0)
    with pytest.raises(ValueError, match=r"float_arrays: min_value 1\.0 > max_value 0\.0"):
        sts.float_arrays(3, 1.0, 0.0)
    with pytest.raises(ValueError, match="probabilities: shape needs a last axis"):
        sts.probabilities(())
