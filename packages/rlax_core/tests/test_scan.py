"""Tests for the sequential / associative linear-recurrence engine and the `method` keyword."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rlax_core as rlax
from rlax_core._src import scan


def np_recurrence(a, b, init):
    out = np.zeros_like(b, dtype=np.float64)
    x = np.asarray(init, np.float64)
    for t in reversed(range(len(b))):
        x = b[t] + a[t] * x
        out[t] = x
    return out


@pytest.mark.parametrize("method", ["sequential", "associative"])
@pytest.mark.parametrize("length", [1, 2, 7, 64])
def test_matches_numpy_loop(np_rng, method, length):
    a = np_rng.uniform(0, 1, size=length).astype(np.float32)
    b = np_rng.normal(size=length).astype(np.float32)
    solve = jax.jit(scan.linear_recurrence_reverse, static_argnames="method")
    out = solve(jnp.asarray(a), jnp.asarray(b), jnp.float32(1.5), method=method)
    np.testing.assert_allclose(out, np_recurrence(a, b, 1.5), rtol=1e-5, atol=1e-6)


def test_methods_agree_within_documented_tolerance_long(np_rng):
    length = 3000
    a = jnp.asarray(np_rng.uniform(0.95, 1.0, size=length), jnp.float32)
    b = jnp.asarray(np_rng.normal(size=length), jnp.float32)
    solve = jax.jit(scan.linear_recurrence_reverse, static_argnames="method")
    seq = solve(a, b, jnp.float32(0.0), method="sequential")
    assoc = solve(a, b, jnp.float32(0.0), method="associative")
    scale = float(jnp.max(jnp.abs(seq)))
    np.testing.assert_allclose(assoc, seq, rtol=0, atol=scan.SCAN_RTOL * scale + scan.SCAN_ATOL)
    # And both are close to a float64 reference.
    ref = np_recurrence(np.asarray(a), np.asarray(b), 0.0)
    np.testing.assert_allclose(seq, ref, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(assoc, ref, rtol=0, atol=1e-4 * scale)


def test_unroll_gives_same_numbers(np_rng):
    r = jnp.asarray(np_rng.normal(size=9), jnp.float32)
    d = jnp.asarray(np_rng.uniform(size=9), jnp.float32)
    base = rlax.lambda_returns(r, d, r, 0.5, method="sequential")
    for unroll in (2, 4, True):
        np.testing.assert_array_equal(
            rlax.lambda_returns(r, d, r, 0.5, method="sequential", unroll=unroll), base
        )


def test_gradients_agree_between_methods(np_rng):
    r = jnp.asarray(np_rng.normal(size=8), jnp.float32)
    d = jnp.asarray(np_rng.uniform(size=8), jnp.float32)
    v = jnp.asarray(np_rng.normal(size=8), jnp.float32)

    def loss(r, d, v, method):
        return jnp.sum(jnp.sin(rlax.lambda_returns(r, d, v, 0.7, method=method)))

    grad = jax.jit(jax.grad(loss, argnums=(0, 1, 2)), static_argnums=3)
    g_seq = grad(r, d, v, "sequential")
    g_assoc = grad(r, d, v, "associative")
    for gs, ga in zip(g_seq, g_assoc, strict=True):
        np.testing.assert_allclose(ga, gs, rtol=1e-5, atol=1e-6)


def test_auto_rule_by_backend_and_length(monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert scan.resolve_method("auto", 100_000) == "sequential"
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert scan.resolve_method("auto", scan.ASSOCIATIVE_MIN_LENGTH - 1) == "sequential"
    assert scan.resolve_method("auto", scan.ASSOCIATIVE_MIN_LENGTH) == "associative"
    assert scan.resolve_method("sequential", 10**6) == "sequential"
    assert scan.resolve_method("associative", 2) == "associative"


def test_bad_method_and_unroll_are_rejected():
    x = jnp.ones(3)
    with pytest.raises(ValueError, match=r"rlax_core\.lambda_returns: `method` must be one of"):
        rlax.lambda_returns(x, x, x, method="parallel")
    with pytest.raises(ValueError, match=r"`unroll` must be a positive int"):
        rlax.vtrace(x, x, x, x, x, unroll=0)


def test_vmap_and_jit_with_associative(np_rng):
    r = jnp.asarray(np_rng.normal(size=(3, 6)), jnp.float32)
    d = jnp.asarray(np_rng.uniform(size=(3, 6)), jnp.float32)
    fn = jax.jit(jax.vmap(lambda r, d: rlax.discounted_returns(r, d, r, method="associative")))
    out = fn(r, d)
    for i in range(3):
        ref = np_recurrence(np.asarray(d[i]), np.asarray(r[i]), float(r[i, -1]))
        np.testing.assert_allclose(out[i], ref, rtol=1e-5, atol=1e-6)


@pytest.mark.x64
def test_float64_inputs_keep_float64_and_methods_agree_tightly(np_rng):
    r = jnp.asarray(np_rng.normal(size=300), jnp.float64)
    d = jnp.asarray(np_rng.uniform(0.9, 1.0, size=300), jnp.float64)
    solve = jax.jit(rlax.lambda_returns, static_argnames="method")
    seq = solve(r, d, r, 0.9, method="sequential")
    assoc = solve(r, d, r, 0.9, method="associative")
    assert seq.dtype == jnp.float64 and assoc.dtype == jnp.float64
    np.testing.assert_allclose(assoc, seq, rtol=1e-12, atol=1e-12)
    ref = np_recurrence(
        np.asarray(d) * 0.9, np.asarray(r) + np.asarray(d) * 0.1 * np.asarray(r), float(r[-1])
    )
    np.testing.assert_allclose(seq, ref, rtol=1e-12, atol=1e-12)


def test_bfloat16_runs_both_methods(np_rng):
    r = jnp.asarray(np_rng.normal(size=16), jnp.bfloat16)
    d = jnp.full((16,), 0.5, jnp.bfloat16)
    for method in ("sequential", "associative"):
        out = jax.jit(rlax.vtrace, static_argnames="method")(
            r, r, r, d, jnp.ones(16, jnp.bfloat16), method=method
        )
        assert out.dtype == jnp.bfloat16
        assert np.isfinite(np.asarray(out, np.float32)).all()


@pytest.mark.parametrize(
    ("method", "in_body_max_length"),
    [("sequential", 10**9), ("sequential", 0), ("associative", 10**9)],
)
def test_affine_recurrence_matches_numpy_loop(np_rng, method, in_body_max_length):
    # Coefficients built from per-step inputs (inside the scan body, precomputed, or for the
    # associative form) with a closed-over scalar; the reference is a plain loop.
    length = 9
    d = np_rng.uniform(0, 1, size=length).astype(np.float32)
    r = np_rng.normal(size=length).astype(np.float32)
    lam = 0.7

    def coefficients(x):
        d_t, r_t = x
        return d_t * lam, r_t + 2.0 * d_t

    out = scan.affine_recurrence_reverse(
        coefficients,
        (jnp.asarray(d), jnp.asarray(r)),
        jnp.float32(-0.5),
        method=method,
        in_body_max_length=in_body_max_length,
    )
    expected = np_recurrence(d.astype(np.float64) * lam, r + 2.0 * d.astype(np.float64), -0.5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_affine_recurrence_gradients_agree_in_body_and_precomputed(np_rng):
    length = 6
    d = jnp.asarray(np_rng.uniform(0, 1, size=length), jnp.float32)
    r = jnp.asarray(np_rng.normal(size=length), jnp.float32)

    def loss(d, r, init, limit):
        out = scan.affine_recurrence_reverse(
            lambda x: (x[0] * 0.9, x[1] - x[0]), (d, r), init, in_body_max_length=limit
        )
        return jnp.sum(out * jnp.arange(1.0, length + 1.0))

    g_body = jax.grad(loss, argnums=(0, 1, 2))(d, r, jnp.float32(0.3), 10**9)
    g_pre = jax.grad(loss, argnums=(0, 1, 2))(d, r, jnp.float32(0.3), 0)
    for x, y in zip(g_body, g_pre, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
        assert np.all(np.isfinite(np.asarray(x)))


def test_affine_recurrence_rejects_bad_method_and_unroll():
    xs = (jnp.ones(3), jnp.ones(3))
    with pytest.raises(ValueError, match=r"my_fn: `method` must be one of"):
        scan.affine_recurrence_reverse(lambda x: x, xs, jnp.float32(0), method="x", fn="my_fn")
    with pytest.raises(ValueError, match=r"my_fn: `unroll` must be a positive int"):
        scan.affine_recurrence_reverse(lambda x: x, xs, jnp.float32(0), unroll=0, fn="my_fn")
