"""check_variants / vmap-vs-loop / variant fixture / trace counting."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shared_testing.variants import (
    Variant,
    assert_max_traces,
    assert_vmap_matches_loop,
    check_variants,
)


def _affine(x, w):
    return {"y": x @ w, "norm": jnp.sum(x**2)}


def test_check_variants_agree_and_return_eager_output():
    x = np.arange(3.0, dtype=np.float32)
    w = np.ones((3, 2), np.float32)
    out = check_variants(_affine, x, w, vmap_args=(np.stack([x, 2 * x]), np.stack([w, w])))
    np.testing.assert_allclose(out["y"], [3.0, 3.0])
    np.testing.assert_allclose(out["norm"], 5.0)


def test_check_variants_detects_jit_vs_eager_difference():
    def differs_under_jit(x):
        # Python-side branch on whether we are tracing: a deliberately inconsistent fn.
        if isinstance(x, jax.core.Tracer):
            return x + 1.0
        return x

    with pytest.raises(
        AssertionError, match=r"jax\.jit\(.*differs_under_jit\) \(actual\) vs eager"
    ):
        check_variants(differs_under_jit, np.zeros(2, np.float32))


def test_vmap_vs_loop_detects_batch_coupling():
    def centre(x):
        return x - jnp.mean(x)

    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    assert_vmap_matches_loop(centre, x)  # pure per-example fn: agrees
    counter = {"calls": 0}

    def stateful(x):
        counter["calls"] += 1
        return x * counter["calls"]

    with pytest.raises(AssertionError, match=r"jax\.vmap\(.*stateful\) \(actual\) vs Python loop"):
        assert_vmap_matches_loop(stateful, x)


def test_vmap_in_axes_none_broadcasts_argument():
    w = np.ones((3, 2), np.float32)
    xs = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    out = assert_vmap_matches_loop(lambda x, w: x @ w, xs, w, in_axes=(0, None))
    np.testing.assert_allclose(out, xs @ w)


def test_vmap_batch_size_mismatch_is_value_error():
    with pytest.raises(ValueError, match=r"one batch size .* got sizes \[2, 3\]"):
        assert_vmap_matches_loop(lambda a, b: a + b, np.zeros(2), np.zeros(3))


def test_variant_fixture_runs_both_modes(variant):
    seen = []

    def f(x):
        seen.append(isinstance(x, jax.core.Tracer))
        return x * 2

    out = variant(f)(jnp.ones(2))
    np.testing.assert_allclose(out, [2.0, 2.0])
    assert seen == [variant.name == "jit"]


def test_variant_passes_jit_kwargs():
    f = Variant("jit")(lambda x, n: x * n, static_argnames="n")
    np.testing.assert_allclose(f(jnp.ones(2), n=3), [3.0, 3.0])
    with pytest.raises(ValueError, match="Variant: name must be one of"):
        Variant("pmap")


def test_assert_max_traces():
    f = jax.jit(assert_max_traces(lambda x: x + 1, n=1))
    f(jnp.ones(2))
    f(jnp.ones(2))  # cached: no re-trace
    with pytest.raises(AssertionError, match="was traced 2 times, expected at most 1"):
        f(jnp.ones(3))

    @assert_max_traces(n=2)
    def g(x):
        return x

    jax.jit(g)(jnp.ones(1))
    assert g.num_traces == 1


def test_check_variants_with_partial():
    f = functools.partial(jnp.sum, axis=-1)
    out = check_variants(f, np.ones((2, 3), np.float32))
    np.testing.assert_allclose(out, [3.0, 3.0])
