"""Drop-in regressions for the layer modules: inputs dm-haiku 0.0.17 accepts, same results.

Where a literal comes from dm-haiku 0.0.17 it was produced by running upstream in a
separate environment and is marked as such; everything else is checked against NumPy
or plain arithmetic.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src import basic as hk_basic

# --------------------------------------------------------------------- moving averages


@pytest.mark.parametrize(
    "value",
    [jnp.float32(3.0), jnp.ones([2], jnp.bfloat16), np.zeros([2, 3], np.float16)],
    ids=["0d_f32", "1d_bf16", "2d_np_f16"],
)
def test_ema_initialize_accepts_a_value_and_uses_its_shape_and_dtype(value):
    # dm-haiku reads `.shape`/`.dtype` off an array passed as `shape` (with a
    # DeprecationWarning); a 0-d array gives 0-d state.
    def f():
        ema = hk.ExponentialMovingAverage(0.9)
        ema.initialize(value)
        return ema.average

    t = hk.transform_with_state(f)
    with pytest.warns(DeprecationWarning, match=r"initialize"):
        params, state = t.init(None)
    assert set(state["exponential_moving_average"]) == {"hidden", "average"}
    for leaf in state["exponential_moving_average"].values():
        assert leaf.shape == np.shape(value)
        assert leaf.dtype == jnp.asarray(value).dtype
        np.testing.assert_array_equal(leaf, np.zeros(np.shape(value)))
    with pytest.warns(DeprecationWarning):
        avg, _ = t.apply(params, state, None)
    assert avg.shape == np.shape(value)


def test_ema_initialize_with_shape_and_dtype_does_not_warn():
    def f():
        ema = hk.ExponentialMovingAverage(0.9)
        ema.initialize((), jnp.float16)
        return ema.average

    t = hk.transform_with_state(f)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, state = t.init(None)
        avg, _ = t.apply(params, state, None)
    assert avg.shape == () and avg.dtype == jnp.float16


def test_ema_initialize_then_call_on_0d_value():
    def f(x):
        ema = hk.ExponentialMovingAverage(0.5)
        ema.initialize(x.shape, x.dtype)
        return ema(x)

    t = hk.transform_with_state(f)
    _, state = t.init(None, jnp.float32(0.0))
    out, state = t.apply({}, state, None, jnp.float32(4.0))
    # One update from hidden 0: hidden = 0.5 * 4 = 2, debiased by 1 - 0.5 = 0.5 -> 4.
    assert out.shape == () and float(out) == 4.0
    assert int(state["exponential_moving_average"]["counter"]) == 1
    assert float(state["exponential_moving_average"]["hidden"]) == 2.0


def test_ema_integer_value_with_zero_debias():
    # The decay cast to int32 is 0, so hidden copies the value; the debiased average is
    # hidden / (1 - 0**n) = hidden, promoted to float32 by the division (dm-haiku 0.0.17
    # returns [1., 2.] float32 with int32 `hidden`).
    t = hk.transform_with_state(lambda x: hk.ExponentialMovingAverage(0.9)(x))
    x = jnp.array([1, 2], jnp.int32)
    params, state = t.init(None, x)
    out, state = t.apply(params, state, None, x)
    assert out.dtype == jnp.float32
    np.testing.assert_array_equal(out, [1.0, 2.0])
    assert state["exponential_moving_average"]["hidden"].dtype == jnp.int32


def test_ema_public_attributes():
    def f():
        ema = hk.ExponentialMovingAverage(0.25, zero_debias=False, warmup_length=3)
        tree = hk.EMAParamsTree(0.5, zero_debias=False, warmup_length=2, ignore_regex="x.*")
        return (ema.decay, ema.zero_debias, ema.warmup_length), (
            tree.decay,
            tree.zero_debias,
            tree.warmup_length,
            tree.ignore_regex,
        )

    ema_attrs, tree_attrs = hk.transform(f).apply({}, None)
    assert ema_attrs == (0.25, False, 3)
    assert tree_attrs == (0.5, False, 2, "x.*")


def test_reshape_size_mismatch_is_a_type_error():
    # jnp.reshape (and so dm-haiku) raises TypeError for a size mismatch.
    with pytest.raises(TypeError, match=r"Reshape 'reshape'.*\(3, 4\)"):
        hk.transform(lambda x: hk.Reshape((2, 2), preserve_dims=-2)(x)).apply(
            {}, None, jnp.ones([2, 3, 4])
        )
    with pytest.raises(TypeError, match=r"Reshape"):
        hk.transform(lambda x: hk.Reshape((-1, 5))(x)).apply({}, None, jnp.ones([2, 3, 4]))


@pytest.mark.parametrize(
    "init",
    [
        hk.initializers.RandomNormal(),
        hk.initializers.RandomUniform(),
        hk.initializers.TruncatedNormal(),
        hk.initializers.VarianceScaling(1.0, "fan_in", "uniform"),
        hk.initializers.Orthogonal(),
    ],
    ids=lambda i: type(i).__name__,
)
def test_random_initializers_reject_integer_dtype_with_value_error(init):
    # jax.random (and so dm-haiku) raises ValueError for an integer dtype.
    with pytest.raises(ValueError, match=r"`dtype`.*int32"):
        hk.transform(lambda: init((4, 3), jnp.int32)).apply({}, jax.random.PRNGKey(0))


# ----------------------------------------------------------------------- spectral norm


def test_spectral_norm_sigma_defaults_to_one_without_stats():
    def f(x):
        sn = hk.SpectralNorm()
        y = sn(x, update_stats=False)
        return y, sn.sigma

    t = hk.transform_with_state(f)
    x = 4.0 * jnp.eye(8)
    params, state = t.init(jax.random.PRNGKey(0), x)
    (y, sigma), _ = t.apply(params, state, None, x)
    assert sigma.shape == () and sigma.dtype == jnp.float32
    assert float(sigma) == 1.0
    # The largest singular value of 4 * I is 4, so the output is the identity.
    np.testing.assert_allclose(y, np.eye(8), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- one_hot/multinomial


def test_one_hot_matches_numpy():
    idx = np.array([[0, 3], [-1, 2]])
    out = hk_basic.one_hot(idx, 4, jnp.bfloat16)
    expected = (idx[..., None] == np.arange(4)).astype(np.float32)
    assert out.dtype == jnp.bfloat16 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(np.asarray(out, np.float32), expected)
    assert hk_basic.one_hot(np.array([1]), 3).dtype == jnp.float32


def test_multinomial_shapes_and_upstream_draws():
    logits = jax.random.normal(jax.random.PRNGKey(1), (2, 3, 5))
    one = hk_basic.multinomial(jax.random.PRNGKey(3), logits, 1)
    four = hk_basic.multinomial(jax.random.PRNGKey(3), logits, 4)
    assert one.shape == (2, 3, 1) and four.shape == (2, 3, 4)
    # dm-haiku 0.0.17 hk.multinomial output for these keys/logits.
    assert one.tolist() == [[[3], [1], [4]], [[3], [3], [1]]]
    assert four.tolist() == [
        [[3, 2, 2, 4], [1, 0, 4, 0], [4, 2, 2, 3]],
        [[3, 0, 1, 3], [3, 4, 0, 3], [1, 0, 1, 1]],
    ]
    # Certain distributions: every draw is the only class with finite logit.
    certain = jnp.log(jnp.eye(5)[jnp.array([4, 0, 2])])
    np.testing.assert_array_equal(
        hk_basic.multinomial(jax.random.PRNGKey(0), certain, 6), np.repeat([[4], [0], [2]], 6, 1)
    )


# --------------------------------------------------------------------------- attention


def test_mha_zero_w_init_scale_next_to_w_init_is_ignored():
    # dm-haiku only rejects a *truthy* w_init_scale next to w_init; 0.0 is ignored
    # (with the deprecation warning) and w_init is used.
    def f(x):
        mha = hk.MultiHeadAttention(1, 2, 0.0, w_init=hk.initializers.Constant(1.0))
        return mha(x, x, x)

    x = jnp.ones([3, 2])
    with pytest.warns(DeprecationWarning, match=r"w_init_scale"):
        params = hk.transform(f).init(None, x)
    for sub in ("query", "key", "value", "linear"):
        np.testing.assert_array_equal(params[f"multi_head_attention/{sub}"]["w"], 1.0)


def test_mha_weight_initializer_errors():
    with pytest.raises(ValueError, match=r"MultiHeadAttention.*`w_init`.*w_init=None"):
        hk.transform(lambda: hk.MultiHeadAttention(2, 3)).init(None)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.*both `w_init`.*`w_init_scale`"):
        with pytest.warns(DeprecationWarning):
            hk.transform(
                lambda: hk.MultiHeadAttention(2, 3, 1.0, w_init=hk.initializers.Constant(1.0))
            ).init(None)


def test_mha_deprecated_scale_alone_means_variance_scaling():
    x = jnp.ones([3, 4])

    def legacy(x):
        return hk.MultiHeadAttention(2, 3, 2.0)(x, x, x)

    def explicit(x):
        return hk.MultiHeadAttention(2, 3, w_init=hk.initializers.VarianceScaling(2.0))(x, x, x)

    with pytest.warns(DeprecationWarning):
        a = hk.transform(legacy).init(jax.random.PRNGKey(5), x)
    b = hk.transform(explicit).init(jax.random.PRNGKey(5), x)
    jax.tree.map(np.testing.assert_array_equal, a, b)


def test_ema_warmup_with_bfloat16_values():
    # Deliberate difference: dm-haiku 0.0.17 raises TypeError here (its warm-up select
    # mixes a float32 constant with the bfloat16 decay). We follow the documented
    # semantics: the average copies the value during the warm-up, then decays.
    t = hk.transform_with_state(
        lambda x: hk.ExponentialMovingAverage(0.5, zero_debias=False, warmup_length=1)(x)
    )
    x = jnp.ones([2], jnp.bfloat16)
    params, state = t.init(None, x)
    out1, state = t.apply(params, state, None, 4 * x)
    out2, state = t.apply(params, state, None, 2 * x)
    assert out1.dtype == out2.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(out1, np.float32), [4.0, 4.0])
    np.testing.assert_array_equal(np.asarray(out2, np.float32), [3.0, 3.0])  # 0.5*4 + 0.5*2


def test_params_tree_modules_accept_any_items_mapping_and_reject_others():
    class ItemsOnly:
        def __init__(self, d):
            self._d = d

        def items(self):
            return self._d.items()

    tree = ItemsOnly({"lin": ItemsOnly({"w": jnp.full([2, 2], 3.0)})})
    t = hk.transform_with_state(lambda: hk.EMAParamsTree(0.9)(tree))
    params, state = t.init(None)
    out, _ = t.apply(params, state, None)
    np.testing.assert_allclose(out["lin"]["w"], np.full([2, 2], 3.0), rtol=1e-6)
    # dm-haiku fails on `.items()` with AttributeError; ours is also a TypeError.
    for bad in ([1, 2], {"lin": [jnp.ones([2])]}):
        with pytest.raises(AttributeError, match=r"EMAParamsTree.*`tree"):
            hk.transform_with_state(lambda b=bad: hk.EMAParamsTree(0.9)(b)).init(None)
        with pytest.raises(TypeError, match=r"SNParamsTree.*`tree"):
            hk.transform_with_state(lambda b=bad: hk.SNParamsTree()(b)).init(None)


def test_spectral_norm_n_steps_accepts_numpy_ints_and_rejects_zero():
    x = 2.0 * jnp.eye(3)
    t = hk.transform_with_state(lambda w: hk.SpectralNorm(n_steps=np.int64(2))(w))
    params, state = t.init(jax.random.PRNGKey(0), x)
    out, _ = t.apply(params, state, None, x)
    np.testing.assert_allclose(out, np.eye(3), rtol=1e-3)
    # dm-haiku raises UnboundLocalError (a NameError) for n_steps=0 when called.
    with pytest.raises(NameError, match=r"SpectralNorm.*`n_steps`.*0"):
        hk.transform_with_state(lambda w: hk.SpectralNorm(n_steps=0)(w)).init(
            jax.random.PRNGKey(0), x
        )
    with pytest.raises(TypeError, match=r"SpectralNorm.*`n_steps`.*2.0"):
        hk.transform_with_state(lambda w: hk.SpectralNorm(n_steps=2.0)(w)).init(
            jax.random.PRNGKey(0), x
        )


def test_linear_accepts_a_python_list():
    # Deliberate difference: dm-haiku raises AttributeError on a list; we treat it as an
    # array, so the result equals the one for the same values as an array.
    def f(x):
        return hk.Linear(2, w_init=hk.initializers.Constant(0.5))(x)

    model = hk.transform(f)
    params = model.init(jax.random.PRNGKey(0), jnp.ones((1, 3)))
    got = model.apply(params, None, [[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(np.asarray(got), np.full((1, 2), 3.0))
