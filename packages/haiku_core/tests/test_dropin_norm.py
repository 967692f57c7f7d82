"""Drop-in regressions for the normalisation modules: inputs dm-haiku accepts, and
the exception types it raises for inputs it refuses.

Expected values come from NumPy references or, where marked, from dm-haiku 0.0.17's
output recorded by hand as literals.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
from haiku_core._src import layer_norm as layer_norm_module

EPS = 1e-5


def _construct(make):
    """Builds a module inside a transform (modules cannot exist outside one)."""
    out = {}

    def f():
        out["module"] = make()

    hk.transform(f).init(None)
    return out["module"]


def _np_standardise(x, axes):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS)


# ----------------------------------------------------------------------------- BatchNorm


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_batch_norm_rank0_input_normalises_to_offset(data_format):
    # Nothing to reduce: x - mean(x) == 0 and the output is the (zero) offset.
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(True, True, 0.9, data_format=data_format)(x, True)
    )
    x = jnp.float32(2.0)
    params, state = f.init(None, x)
    assert params["batch_norm"]["scale"].shape == ()
    assert state["batch_norm/~/mean_ema"]["average"].shape == ()
    out, _ = f.apply(params, state, None, x)
    assert out.shape == () and out.dtype == jnp.float32
    assert float(out) == 0.0


def test_batch_norm_rank1_channels_last_keeps_every_channel():
    f = hk.transform_with_state(lambda x: hk.BatchNorm(True, True, 0.9)(x, True))
    x = jnp.arange(4.0)
    params, state = f.init(None, x)
    assert params["batch_norm"]["scale"].shape == (4,)
    assert state["batch_norm/~/var_ema"]["average"].shape == (4,)
    out, _ = f.apply(params, state, None, x)
    np.testing.assert_array_equal(out, np.zeros(4, np.float32))


def test_batch_norm_rank1_channels_first_reduces_the_only_axis():
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(True, True, 0.9, data_format="channels_first")(x, True)
    )
    x = jnp.arange(4.0)
    params, state = f.init(None, x)
    assert params["batch_norm"]["offset"].shape == (1,)
    out, _ = f.apply(params, state, None, x)
    # dm-haiku 0.0.17 output: [-1.3416355, -0.4472118, 0.4472118, 1.3416355].
    np.testing.assert_allclose(out, _np_standardise(np.arange(4.0), (0,)), rtol=1e-6)


@pytest.mark.parametrize("rank", [0, 1])
def test_batch_norm_low_rank_with_cross_replica_axis(rank):
    # Per-replica inputs of rank 0 / 1 (channels first, so rank 1 reduces axis 0);
    # the statistics are averaged over the vmapped replica axis.
    fmt = "channels_first"
    f = hk.transform_with_state(
        lambda x: hk.BatchNorm(True, True, 0.9, cross_replica_axis="i", data_format=fmt)(x, True)
    )
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3,) + (4,) * rank).astype(np.float32)
    params, state = jax.vmap(f.init, (None, 0), axis_name="i")(None, x)
    out, _ = jax.vmap(f.apply, (0, 0, None, 0), axis_name="i")(params, state, None, x)
    expected = _np_standardise(x.astype(np.float64), tuple(range(x.ndim)))
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_batch_norm_call_time_scale_of_lower_rank_is_broadcast():
    # A [C] scale for a [B, C] input (dm-haiku accepts it); rank-promotion clean.
    f = hk.transform_with_state(
        lambda x, s: hk.BatchNorm(False, False, 0.9)(x, True, scale=s, offset=s)
    )
    x = np.arange(6.0, dtype=np.float32).reshape(3, 2)
    s = np.array([2.0, 3.0], np.float32)
    params, state = f.init(None, x, s)
    out, _ = f.apply(params, state, None, x, s)
    np.testing.assert_allclose(out, _np_standardise(x, (0,)) * s + s, rtol=1e-5)


@pytest.mark.parametrize(
    "data_format,index",
    [("NXYC", -1), ("NCXY", 1), ("TBHWD", -1), ("BTD", -1), ("NC", 1)],
)
def test_batch_norm_accepts_every_layout_dm_haiku_accepts(data_format, index):
    bn = _construct(lambda: hk.BatchNorm(True, True, 0.9, data_format=data_format))
    assert bn.channel_index == index


def test_batch_norm_unknown_layout_is_a_value_error():
    with pytest.raises(ValueError, match=r"BatchNorm.*`data_format`='NHW'"):
        _construct(lambda: hk.BatchNorm(True, True, 0.9, data_format="NHW"))


def test_batch_norm_axis_out_of_range_is_an_index_error():
    f = hk.transform_with_state(lambda x: hk.BatchNorm(True, True, 0.9, axis=[5])(x, True))
    with pytest.raises(IndexError, match=r"BatchNorm.*`axis`=\(5,\)"):
        f.init(None, jnp.ones([3, 4]))


# ----------------------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("axis", ["foo", ["foo"], 1.5, [0, 1.0]])
def test_layer_norm_invalid_axis_is_a_value_error_at_construction(axis):
    with pytest.raises(ValueError, match=r"LayerNorm.*`axis` takes an int"):
        _construct(lambda: hk.LayerNorm(axis, True, True))


def test_layer_norm_invalid_param_axis_is_a_value_error_at_construction():
    with pytest.raises(ValueError, match=r"LayerNorm.*`param_axis` takes an int"):
        _construct(lambda: hk.LayerNorm(-1, True, True, param_axis="x"))


def test_layer_norm_accepts_any_iterable_of_ints():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f = hk.transform(lambda x: hk.LayerNorm({0, 1}, False, False)(x))
    np.testing.assert_allclose(f.apply({}, None, x), _np_standardise(x, (0, 1)), rtol=1e-5)


def test_layer_norm_integer_axes_wrap_around_the_rank():
    # dm-haiku takes axes modulo the rank: axis=5 on a rank-2 input is axis 1, and
    # param_axis=5 likewise gives the compact [C] parameter shape.
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f = hk.transform(lambda x: hk.LayerNorm(5, True, True, param_axis=5)(x))
    params = f.init(None, x)
    assert params["layer_norm"]["scale"].shape == (4,)
    np.testing.assert_allclose(f.apply(params, None, x), _np_standardise(x, (1,)), rtol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: hk.LayerNorm(slice(0, None), False, False),
        lambda: hk.RMSNorm(slice(0, None), create_scale=False),
        lambda: hk.InstanceNorm(True, True),
    ],
)
def test_rank0_input_is_a_zero_division_error(make):
    # dm-haiku fails with ZeroDivisionError (axis modulo rank 0); ours subclasses it.
    f = hk.transform(lambda x: make()(x))
    with pytest.raises(ZeroDivisionError, match="rank-0"):
        f.init(None, jnp.float32(1.0))


def test_error_if_param_axis_not_explicit_flag(monkeypatch):
    x = jnp.ones([3, 4, 5])
    f = hk.transform(lambda x: hk.LayerNorm(1, True, True)(x))
    assert f.init(None, x)["layer_norm"]["scale"].shape == (5,)
    monkeypatch.setattr(layer_norm_module, "ERROR_IF_PARAM_AXIS_NOT_EXPLICIT", True)
    with pytest.raises(ValueError, match=r"layer_norm.*`param_axis`"):
        f.init(None, x)
    # The last axis alone, an explicit param_axis, or no parameters: no error.
    hk.transform(lambda x: hk.LayerNorm(-1, True, True)(x)).init(None, x)
    hk.transform(lambda x: hk.LayerNorm(1, True, True, param_axis=1)(x)).init(None, x)
    hk.transform(lambda x: hk.LayerNorm(1, False, False)(x)).init(None, x)


# ----------------------------------------------------------------------------- RMSNorm


@pytest.mark.parametrize("axis", ["foo", ["foo"]])
def test_rms_norm_invalid_axis_is_a_value_error_at_construction(axis):
    with pytest.raises(ValueError, match=r"RMSNorm.*`axis` takes an int"):
        _construct(lambda: hk.RMSNorm(axis))


def test_rms_norm_invalid_param_axis_is_a_value_error_at_construction():
    with pytest.raises(ValueError, match=r"RMSNorm.*`param_axis` takes an int"):
        _construct(lambda: hk.RMSNorm(-1, param_axis="x"))


def test_rms_norm_axis_out_of_range_is_an_index_error():
    f = hk.transform(lambda x: hk.RMSNorm(5)(x))
    with pytest.raises(IndexError, match=r"RMSNorm.*`axis`=\(5,\)"):
        f.init(None, jnp.ones([3, 4]))


def test_rms_norm_param_axis_wraps_around_the_rank():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f = hk.transform(lambda x: hk.RMSNorm(-1, param_axis=5)(x))
    params = f.init(None, x)
    assert params["rms_norm"]["scale"].shape == (4,)
    expected = x / np.sqrt(np.mean(x**2, axis=1, keepdims=True) + EPS)
    np.testing.assert_allclose(f.apply(params, None, x), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- GroupNorm


@pytest.mark.parametrize("axis", ["foo", ["foo"]])
def test_group_norm_invalid_axis_is_a_value_error_at_construction(axis):
    with pytest.raises(ValueError, match=r"GroupNorm.*`axis` takes an int"):
        _construct(lambda: hk.GroupNorm(2, axis=axis))


def test_group_norm_axis_out_of_range_is_an_index_error():
    f = hk.transform(lambda x: hk.GroupNorm(2, axis=5)(x))
    with pytest.raises(IndexError, match=r"GroupNorm.*`axis`=\(5,\)"):
        f.init(None, jnp.ones([3, 4]))


def test_group_norm_accepts_numpy_integer_groups():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f = hk.transform(lambda x: hk.GroupNorm(np.int64(2))(x))
    out = f.apply(f.init(None, x), None, x)
    grouped = x.reshape(3, 2, 2)
    np.testing.assert_allclose(out, _np_standardise(grouped, (2,)).reshape(3, 4), rtol=1e-5)


@pytest.mark.parametrize("groups,exc", [(0, ZeroDivisionError), (2.0, TypeError), (-2, TypeError)])
def test_group_norm_bad_group_counts_raise_at_call_time(groups, exc):
    gn_holder = {}

    def f(x):
        gn_holder["gn"] = hk.GroupNorm(groups)  # construction alone is fine
        return gn_holder["gn"](x)

    with pytest.raises(exc, match=r"GroupNorm.*`groups` must be a positive integer"):
        hk.transform(f).init(None, jnp.ones([3, 4]))


def test_group_norm_rank1_input_default_axis_outputs_offset():
    # [C] input: the default axis slice(1, None) selects nothing, so the output is the
    # offset (dm-haiku 0.0.17 output: [0, 0, 0, 0]).
    f = hk.transform(lambda x: hk.GroupNorm(2)(x))
    x = jnp.arange(4.0)
    params = f.init(None, x)
    assert params["group_norm"]["scale"].shape == (4,)
    np.testing.assert_array_equal(f.apply(params, None, x), np.zeros(4, np.float32))


def test_group_norm_channels_first_rank1_is_an_index_error():
    f = hk.transform(lambda x: hk.GroupNorm(2, data_format="channels_first")(x))
    with pytest.raises(IndexError, match=r"GroupNorm.*channels on axis 1"):
        f.init(None, jnp.ones([4]))


def test_axis_attributes_are_stored_like_dm_haiku():
    # dm-haiku 0.0.17 stores an int axis as a 1-tuple and defaults param_axis to (-1,).
    ln = _construct(lambda: hk.LayerNorm(1, True, True))
    assert ln.axis == (1,) and ln.param_axis == (-1,)
    assert _construct(lambda: hk.LayerNorm([0, 2], True, True, param_axis=2)).param_axis == (2,)
    assert _construct(lambda: hk.LayerNorm(slice(1, None), True, True)).axis == slice(1, None)
    rms = _construct(lambda: hk.RMSNorm(-1))
    assert rms.axis == (-1,) and rms.param_axis == (-1,)
    assert _construct(lambda: hk.GroupNorm(2, axis=1)).axis == (1,)
