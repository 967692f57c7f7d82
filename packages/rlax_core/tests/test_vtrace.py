"""Tests for rlax_core V-trace: NumPy reference, identities, masks, gradients, checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shared_testing.variants import check_variants

import rlax_core as rlax

T = 6


def np_vtrace(v_tm1, v_t, r, d, rho, lam=1.0, clip=1.0, mask=None, alpha=1.0):
    lam = np.broadcast_to(np.asarray(lam, np.float64), (len(r),))
    c = lam * (alpha * np.minimum(1.0, rho) + (1 - alpha) * rho)
    rho_bar = alpha * np.minimum(clip, rho) + (1 - alpha) * rho
    err, out = 0.0, np.zeros(len(r))
    for t in reversed(range(len(r))):
        if mask is None or mask[t]:
            err = rho_bar[t] * (r[t] + d[t] * v_t[t] - v_tm1[t]) + d[t] * c[t] * err
        out[t] = err
    return out


def np_lambda_returns(r, d, v, lam):
    out, g = np.zeros(len(r)), v[-1]
    for t in reversed(range(len(r))):
        g = r[t] + d[t] * ((1 - lam) * v[t] + lam * g)
        out[t] = g
    return out


def _inputs(rng):
    d = rng.uniform(0.5, 1.0, size=T).astype(np.float32)
    d[3] = 0.0
    return dict(
        v_tm1=rng.normal(size=T).astype(np.float32),
        v_t=rng.normal(size=T).astype(np.float32),
        r_t=rng.normal(size=T).astype(np.float32),
        discount_t=d,
        rho_tm1=np.exp(rng.normal(size=T)).astype(np.float32),
    )


def test_hand_values_single_step():
    # errors = min(clip, rho) * (r + d v_t - v_tm1) for T = 1.
    out = rlax.vtrace(
        jnp.array([1.0]),
        jnp.array([2.0]),
        jnp.array([0.5]),
        jnp.array([0.5]),
        jnp.array([3.0]),
        clip_rho_threshold=2.0,
    )
    np.testing.assert_allclose(out, [2.0 * (0.5 + 1.0 - 1.0)])


@pytest.mark.parametrize("lam", [0.0, 0.7, 1.0])
@pytest.mark.parametrize("clip", [0.5, 1.0, 3.0])
def test_vtrace_matches_numpy(np_rng, lam, clip):
    x = _inputs(np_rng)
    np.testing.assert_allclose(
        rlax.vtrace(**x, lambda_=lam, clip_rho_threshold=clip),
        np_vtrace(*x.values(), lam=lam, clip=clip),
        rtol=1e-5,
        atol=1e-5,
    )


def test_leaky_and_mask_match_numpy(np_rng):
    x = _inputs(np_rng)
    mask = np.array([True, False, True, True, False, True])
    np.testing.assert_allclose(
        rlax.vtrace(**x, lambda_=0.8, sample_mask=mask),
        np_vtrace(*x.values(), lam=0.8, mask=mask),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        rlax.leaky_vtrace(**x, alpha_=0.3, lambda_=0.8, clip_rho_threshold=1.5),
        np_vtrace(*x.values(), lam=0.8, clip=1.5, alpha=0.3),
        rtol=1e-5,
        atol=1e-5,
    )
    # alpha = 1 recovers V-trace.
    np.testing.assert_allclose(rlax.leaky_vtrace(**x, alpha_=1.0), rlax.vtrace(**x), rtol=1e-6)


def test_td_error_and_advantage_fields(np_rng):
    x = _inputs(np_rng)
    out = rlax.vtrace_td_error_and_advantage(**x, lambda_=0.9, clip_pg_rho_threshold=1.2)
    assert isinstance(out, rlax.VTraceOutput)
    assert out._fields == ("errors", "pg_advantage", "q_estimate")
    errs = np_vtrace(*x.values(), lam=0.9)
    targets = errs + x["v_tm1"]
    boot = np.concatenate([0.9 * targets[1:] + 0.1 * x["v_tm1"][1:], x["v_t"][-1:]])
    q = x["r_t"] + x["discount_t"] * boot
    np.testing.assert_allclose(out.errors, errs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.q_estimate, q, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        out.pg_advantage, np.minimum(1.2, x["rho_tm1"]) * (q - x["v_tm1"]), rtol=1e-5, atol=1e-5
    )
    leaky = rlax.leaky_vtrace_td_error_and_advantage(
        **x, alpha=1.0, lambda_=0.9, clip_pg_rho_threshold=1.2
    )
    for a, b in zip(leaky, out, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


_vtrace = jax.jit(rlax.vtrace)


@given(st.integers(0, 2**31 - 1), st.floats(0, 1, width=32))
def test_on_policy_vtrace_equals_lambda_returns(seed, lam):
    """rho = 1 with large clipping: v_s equal the on-policy lambda-returns (Espeholt et al.)."""
    x = _inputs(np.random.default_rng(seed))
    x["rho_tm1"] = np.ones(T, np.float32)
    # lambda_returns bootstraps with v_t; V-trace mixes v_s[t+1] (built from v_tm1[t+1]); with
    # v_t[t] == v_tm1[t+1] (consistent values) the two coincide.
    x["v_t"] = np.concatenate([x["v_tm1"][1:], x["v_t"][-1:]])
    errors = _vtrace(**x, lambda_=jnp.float32(lam), clip_rho_threshold=100.0)
    v_s = np.asarray(errors) + x["v_tm1"]
    np.testing.assert_allclose(
        v_s, np_lambda_returns(x["r_t"], x["discount_t"], x["v_t"], lam), rtol=1e-4, atol=1e-4
    )


def test_stop_gradients(np_rng):
    x = {k: jnp.asarray(v) for k, v in _inputs(np_rng).items()}

    def loss(v_t, stop):
        return jnp.sum(
            rlax.vtrace(
                x["v_tm1"], v_t, x["r_t"], x["discount_t"], x["rho_tm1"], stop_target_gradients=stop
            )
            ** 2
        )

    np.testing.assert_array_equal(jax.grad(loss)(x["v_t"], True), 0.0)
    assert np.abs(np.asarray(jax.grad(loss)(x["v_t"], False))).sum() > 0
    # d(errors)/d(v_tm1) with stopped targets is -identity.
    jac = jax.jacobian(lambda v: rlax.vtrace(v, x["v_t"], x["r_t"], x["discount_t"], x["rho_tm1"]))(
        x["v_tm1"]
    )
    np.testing.assert_allclose(jac, -np.eye(T), atol=1e-7)


def test_variants(np_rng):
    xs = [_inputs(np_rng) for _ in range(3)]
    batched = tuple(jnp.stack([x[k] for x in xs]) for k in xs[0])
    check_variants(rlax.vtrace, *xs[0].values(), vmap_args=batched, rtol=1e-5, atol=1e-6)


def test_length_one_and_errors():
    one = jnp.ones(1)
    np.testing.assert_allclose(rlax.vtrace(one, one, one, one * 0.5, one), [0.5])
    x = jnp.ones(T)
    with pytest.raises(ValueError, match=r"rlax_core\.vtrace: `rho_tm1` must have the same shape"):
        rlax.vtrace(x, x, x, x, jnp.ones(T + 1))
    with pytest.raises(ValueError, match=r"`v_t` must have rank 1, got shape \(6, 1\)"):
        rlax.vtrace(x, x[:, None], x, x, x)
    with pytest.raises(TypeError, match=r"`sample_mask` must have a bool dtype"):
        rlax.vtrace(x, x, x, x, x, sample_mask=x)
    with pytest.raises(TypeError, match=r"`rho_tm1` must have a float dtype"):
        rlax.vtrace(x, x, x, x, jnp.ones(T, jnp.int32))
