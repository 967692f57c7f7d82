"""Tests for hk.SpectralNorm and hk.SNParamsTree."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk


def _np_power_iteration(w, u0, n_steps, eps):
    u = np.asarray(u0, np.float64)
    w = np.asarray(w, np.float64)
    v = None
    for _ in range(n_steps):
        v = u @ w.T
        v = v / np.sqrt((v**2).sum() + eps)
        u = v @ w
        u = u / np.sqrt((u**2).sum() + eps)
    sigma = (v @ w @ u.T)[0, 0]
    return w / sigma, u, sigma


def test_state_snapshot():
    f = hk.transform_with_state(lambda w: hk.SpectralNorm()(w))
    _, state = f.init(jax.random.PRNGKey(0), jnp.ones([3, 4]))
    assert [(m, n, v.shape, str(v.dtype)) for m, d in state.items() for n, v in d.items()] == [
        ("spectral_norm", "u0", (1, 4), "float32"),
        ("spectral_norm", "sigma", (), "float32"),
    ]


@pytest.mark.parametrize("n_steps", [1, 3])
def test_matches_numpy_power_iteration(np_rng, n_steps):
    w = np_rng.normal(size=(5, 3)).astype(np.float32)
    f = hk.transform_with_state(lambda w: hk.SpectralNorm(n_steps=n_steps)(w))
    params, state = f.init(jax.random.PRNGKey(1), w)
    u0 = np.asarray(state["spectral_norm"]["u0"])
    out, new_state = f.apply(params, state, None, w)
    expected, u, sigma = _np_power_iteration(w, u0, n_steps, 1e-4)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_state["spectral_norm"]["u0"], u, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new_state["spectral_norm"]["sigma"], sigma, rtol=1e-4)


def test_converges_to_largest_singular_value(np_rng):
    w = np_rng.normal(size=(4, 4)).astype(np.float32)
    f = jax.jit(hk.transform_with_state(lambda w: hk.SpectralNorm(n_steps=50)(w)).apply)
    params, state = hk.transform_with_state(lambda w: hk.SpectralNorm()(w)).init(
        jax.random.PRNGKey(0), w
    )
    _, state = f(params, state, None, w)
    np.testing.assert_allclose(state["spectral_norm"]["sigma"], np.linalg.svd(w)[1][0], rtol=1e-3)


def test_rank3_is_flattened_and_grad_flows(np_rng):
    w = np_rng.normal(size=(2, 3, 4)).astype(np.float32)
    f = hk.transform_with_state(lambda w: hk.SpectralNorm()(w))
    params, state = f.init(jax.random.PRNGKey(0), w)
    out, _ = f.apply(params, state, None, w)
    expected, _, _ = _np_power_iteration(w.reshape(6, 4), state["spectral_norm"]["u0"], 1, 1e-4)
    np.testing.assert_allclose(out, expected.reshape(2, 3, 4), rtol=1e-4, atol=1e-5)
    g = jax.grad(lambda w: jnp.sum(f.apply(params, state, None, w)[0]))(w)
    assert g.shape == w.shape and np.all(np.isfinite(g))


def test_update_stats_false():
    w = jnp.eye(3)
    f = hk.transform_with_state(lambda w: hk.SpectralNorm()(w, update_stats=False))
    params, state = f.init(jax.random.PRNGKey(0), w)
    _, new_state = f.apply(params, state, None, w)
    jax.tree.map(np.testing.assert_array_equal, new_state, state)


def test_errors():
    f = hk.transform_with_state(lambda w: hk.SpectralNorm(name="sn")(w))
    with pytest.raises(ValueError, match=r"SpectralNorm 'sn'.*rank >= 2.*\(3,\)"):
        f.init(jax.random.PRNGKey(0), jnp.ones([3]))
    f = hk.transform_with_state(lambda w: hk.SpectralNorm()(w, error_on_non_matrix=True))
    with pytest.raises(ValueError, match=r"3D \(shape \(2, 3, 4\)\).*error_on_non_matrix"):
        f.init(jax.random.PRNGKey(0), jnp.ones([2, 3, 4]))


def test_sn_params_tree_names_and_ignore():
    tree = {"mlp/~/linear_0": {"w": jnp.eye(3) * 2.0, "b": jnp.ones([3])}}
    f = hk.transform_with_state(lambda t: hk.SNParamsTree(ignore_regex=".*b$", n_steps=20)(t))
    params, state = f.init(jax.random.PRNGKey(0), tree)
    assert list(state) == ["sn_params_tree/mlp___tilde__linear_0__w"]
    out, _ = f.apply(params, state, None, tree)
    np.testing.assert_allclose(out["mlp/~/linear_0"]["w"], np.eye(3), rtol=1e-3, atol=1e-5)
    np.testing.assert_array_equal(out["mlp/~/linear_0"]["b"], np.ones([3]))
