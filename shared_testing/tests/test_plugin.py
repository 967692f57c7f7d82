"""Fixtures and markers from the pytest plugin."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shared_testing.plugin import seed_for


def test_key_is_seeded_from_node_id(request, key, seed):
    assert seed == seed_for(request.node.nodeid)
    np.testing.assert_array_equal(np.asarray(key), np.asarray(jax.random.PRNGKey(seed)))


def test_seed_differs_between_tests():
    assert seed_for("a.py::test_one") != seed_for("a.py::test_two")
    assert seed_for("a.py::test_one") == seed_for("a.py::test_one")


def test_keys_iterator_yields_distinct_keys(keys):
    k1, k2 = next(keys), next(keys)
    assert not np.array_equal(np.asarray(k1), np.asarray(k2))


def test_np_rng_is_seeded(np_rng, seed):
    np.testing.assert_array_equal(
        np_rng.integers(0, 100, 5), np.random.default_rng(seed).integers(0, 100, 5)
    )


@pytest.mark.x64
def test_x64_marker_enables_float64():
    assert jnp.ones(1).dtype == jnp.float64


def test_without_x64_marker_float32():
    assert jnp.ones(1).dtype == jnp.float32


def test_markers_registered(pytestconfig):
    lines = pytestconfig.getini("markers")
    for name in ("slow", "x64", "gpu", "multidevice"):
        assert any(line.startswith(name + ":") for line in lines), name


@pytest.mark.multidevice
def test_multidevice_sees_eight_devices():
    assert jax.device_count() >= 8
