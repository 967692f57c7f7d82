"""The intended differences from dm-haiku listed in docs/deliberate-differences.md.

Each test pins our side of one row; upstream's side is described in that document.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import haiku_core as hk


def test_batch_norm_negative_axis_params_do_not_depend_on_batch_size():
    def f(x):
        return hk.BatchNorm(True, True, 0.9, axis=[-1])(x, is_training=True)

    model = hk.transform_with_state(f)
    for batch in (2, 5):
        params, state = model.init(jax.random.PRNGKey(0), jnp.ones((batch, 3)))
        assert params["batch_norm"]["scale"].shape == (batch, 1)
        assert state["batch_norm/~/mean_ema"]["average"].shape == (batch, 1)


def test_group_norm_negative_axes_index_the_input():
    x = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 4))

    def run(axis):
        model = hk.transform(lambda x: hk.GroupNorm(2, axis=axis)(x))
        return model.apply(model.init(jax.random.PRNGKey(0), x), None, x)

    np.testing.assert_allclose(run((-2, -1)), run((1, 2)), rtol=1e-6, atol=1e-6)


def test_group_norm_rank1_explicit_axis_normalises_within_each_group():
    v = np.array([1.0, 2.0, 3.0, 10.0], np.float32)
    model = hk.transform(lambda x: hk.GroupNorm(2, axis=0)(x))
    got = model.apply(model.init(jax.random.PRNGKey(0), v), None, v)
    groups = v.reshape(2, 2)
    mean = groups.mean(-1, keepdims=True)
    var = groups.var(-1, keepdims=True)
    want = ((groups - mean) / np.sqrt(var + 1e-5)).reshape(-1)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_rms_norm_repeated_axis_is_the_axis_once():
    x = jnp.arange(6.0).reshape(2, 3)
    twice = hk.transform(lambda x: hk.RMSNorm(axis=(1, -1))(x))
    once = hk.transform(lambda x: hk.RMSNorm(axis=1)(x))
    np.testing.assert_allclose(
        twice.apply(twice.init(None, x), None, x), once.apply(once.init(None, x), None, x)
    )
