"""pytest plugin (entry point ``pytest11: shared_testing``): fixtures, markers, hypothesis profile.

Fixtures:
  * ``key`` — ``jax.random.PRNGKey(seed)`` with ``seed`` derived from the test's node id
    (``zlib.crc32``), so every test gets its own, reproducible key.
  * ``seed`` — that integer seed.
  * ``np_rng`` — ``numpy.random.default_rng(seed)``.
  * ``variant`` — parametrized over ``("eager", "jit")``; ``variant(fn)`` returns ``fn``
    run under ``jax.disable_jit()`` or ``jax.jit``.

Markers: ``slow``, ``x64`` (the test body runs under ``jax.enable_x64(True)`` unless x64
is already on globally, e.g. ``JAX_ENABLE_X64=1``),
``gpu`` (skipped unless a GPU backend is active), ``multidevice`` (needs 8 devices, e.g.
``XLA_FLAGS=--xla_force_host_platform_device_count=8``; skipped otherwise — nox runs
these in a separate invocation).

Hypothesis: profile ``ci`` (derandomize=True, max_examples=25, deadline=None) is loaded
unless ``HYPOTHESIS_PROFILE`` names another registered profile (``dev`` = 10 examples).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from shared_testing.variants import VARIANT_NAMES, Variant

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "dev",
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

MULTIDEVICE_COUNT = 8

_MARKERS = {
    "slow": "slow test (deselect with -m 'not slow')",
    "x64": "test body runs with 64-bit types enabled (jax.enable_x64(True) context)",
    "gpu": "needs a GPU backend (JAX_PLATFORMS=cuda)",
    "multidevice": (
        f"needs {MULTIDEVICE_COUNT} devices: run in its own invocation with "
        f"XLA_FLAGS=--xla_force_host_platform_device_count={MULTIDEVICE_COUNT}"
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    for name, doc in _MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {doc}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Only touch jax (and initialise a backend) for tests that carry these markers.
    if item.get_closest_marker("gpu") is not None:
        import jax

        if jax.default_backend() != "gpu":
            pytest.skip(f"gpu test: default jax backend is {jax.default_backend()!r}")
    if item.get_closest_marker("multidevice") is not None:
        import jax

        if jax.device_count() < MULTIDEVICE_COUNT:
            pytest.skip(
                f"multidevice test: needs {MULTIDEVICE_COUNT} devices, have "
                f"{jax.device_count()}; run with "
                f"XLA_FLAGS=--xla_force_host_platform_device_count={MULTIDEVICE_COUNT}"
            )


def _enable_x64_context(jax: Any) -> Any:
    # jax >= 0.7 has jax.enable_x64; older releases only jax.experimental.enable_x64.
    top = getattr(jax, "enable_x64", None)
    if top is not None:
        return top(True)
    from jax import experimental

    return getattr(experimental, "enable_x64")(True)  # noqa: B009


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    if item.get_closest_marker("x64") is None:
        return (yield)
    import jax

    if jax.config.read("jax_enable_x64"):
        return (yield)
    with _enable_x64_context(jax):
        return (yield)


def seed_for(nodeid: str) -> int:
    """Deterministic 31-bit seed for a test node id."""
    return zlib.crc32(nodeid.encode("utf-8")) & 0x7FFFFFFF


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """An integer seed derived from the test node id (stable across runs and workers)."""
    return seed_for(request.node.nodeid)


@pytest.fixture
def key(seed: int) -> Any:
    """``jax.random.PRNGKey(seed)`` with the seed derived from the test node id."""
    import jax

    return jax.random.PRNGKey(seed)


@pytest.fixture
def keys(key: Any) -> Iterator[Any]:
    """An endless iterator of fresh keys split off ``key``: ``k1, k2 = next(keys), next(keys)``."""
    import jax

    def gen() -> Iterator[Any]:
        k = key
        while True:
            k, sub = jax.random.split(k)
            yield sub

    return gen()


@pytest.fixture
def np_rng(seed: int) -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` seeded from the test node id."""
    return np.random.default_rng(seed)


@pytest.fixture(params=VARIANT_NAMES)
def variant(request: pytest.FixtureRequest) -> Variant:
    """``variant(fn, **jit_kwargs)`` runs ``fn`` eagerly or under ``jax.jit`` (one test per mode)."""
    return Variant(request.param)
