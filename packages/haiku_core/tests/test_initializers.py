"""Tests for hk.initializers: known values, fans, sample statistics, errors."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import haiku_core as hk
import haiku_core.initializers as inits
from haiku_core._src import initializers as impl


@pytest.fixture
def fixed_keys(monkeypatch, key):
    """Replaces the key source with a deterministic sequence and records draws."""
    drawn: list[jax.Array] = []

    def next_key() -> jax.Array:
        k = jax.random.fold_in(key, len(drawn))
        drawn.append(k)
        return k

    monkeypatch.setattr(impl, "_next_key", next_key)
    return drawn


def _mean_std_ok(x: np.ndarray, mean: float, std: float, *, n_se: float = 5.0) -> None:
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    se_mean = std / math.sqrt(n)
    assert abs(x.mean() - mean) < n_se * se_mean + 1e-7, (x.mean(), mean)
    # Standard error of the sample std is about std / sqrt(2 n) (tolerant bound).
    assert abs(x.std() - std) < n_se * std / math.sqrt(2 * n) * 1.5 + 1e-7, (x.std(), std)


# --- Constant / Identity: known values ----------------------------------------------


def test_constant_scalar_fills_shape_and_casts_dtype():
    out = inits.Constant(2.5)((2, 3), jnp.float32)
    np.testing.assert_array_equal(out, np.full((2, 3), 2.5, np.float32))
    assert out.dtype == jnp.float32
    out_i = inits.Constant(2.5)((4,), jnp.int32)
    assert out_i.dtype == jnp.int32
    np.testing.assert_array_equal(out_i, [2, 2, 2, 2])


def test_constant_array_broadcasts():
    out = inits.Constant(np.array([1.0, 2.0]))((3, 2), jnp.float32)
    np.testing.assert_array_equal(out, [[1, 2], [1, 2], [1, 2]])


def test_constant_non_broadcastable_raises():
    with pytest.raises(ValueError, match=r"Constant.*\(3,\).*\(2, 2\)"):
        inits.Constant(np.ones(3))((2, 2), jnp.float32)


def test_constant_draws_no_key(fixed_keys):
    inits.Constant(1.0)((2,), jnp.float32)
    inits.Identity()((2, 2), jnp.float32)
    assert fixed_keys == []


def test_identity_square_and_rectangular():
    np.testing.assert_array_equal(inits.Identity()((3, 3), jnp.float32), np.eye(3))
    np.testing.assert_array_equal(
        inits.Identity(2.0)((2, 4), jnp.float32), [[2, 0, 0, 0], [0, 2, 0, 0]]
    )


def test_identity_repeats_over_leading_dims():
    out = inits.Identity(3.0)((2, 3, 2), jnp.float32)
    expected = np.zeros((2, 3, 2), np.float32)
    for b in range(2):
        for i in range(2):
            expected[b, i, i] = 3.0
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("cls", [inits.Identity, inits.Orthogonal])
def test_rank_below_two_raises(cls, fixed_keys):
    with pytest.raises(ValueError, match=rf"{cls.__name__}.*rank >= 2.*\(3,\)"):
        cls()((3,), jnp.float32)


# --- Fans ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape,axes,expected",
    [
        ((), None, (1, 1)),
        ((7,), None, (7, 7)),
        ((4, 9), None, (4, 9)),
        ((4, 9), [1], (4, 9)),  # fan_in_axes ignored for rank 2 (as upstream)
        ((3, 5, 2, 6), None, (3 * 5 * 2, 3 * 5 * 6)),  # conv2d: rf=15
        ((3, 4, 8), None, (3 * 4, 3 * 8)),  # conv1d: rf=3
        ((2, 3, 4, 5, 6), None, (2 * 3 * 4 * 5, 2 * 3 * 4 * 6)),
        ((2, 3, 4, 5), [0, 1], (6, 20)),
        ((2, 3, 4, 5), [-1], (5, 24)),
    ],
)
def test_compute_fans(shape, axes, expected):
    assert impl._compute_fans(shape, axes) == expected


# --- Random initializers: exact formulas for a known key ------------------------------


def test_random_normal_is_mean_plus_stddev_times_normal(fixed_keys):
    out = inits.RandomNormal(stddev=0.3, mean=1.5)((4, 5), jnp.float32)
    (k,) = fixed_keys
    expected = 1.5 + 0.3 * np.asarray(jax.random.normal(k, (4, 5), jnp.float32))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_uniform_matches_jax_uniform(fixed_keys):
    out = inits.RandomUniform(-2.0, 5.0)((3, 4), jnp.float32)
    (k,) = fixed_keys
    expected = jax.random.uniform(k, (3, 4), jnp.float32, -2.0, 5.0)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("shape,fan_in", [((3, 3, 4, 5), 36), ((50, 3), 50), ((47, 2), 47)])
def test_variance_scaling_truncated_exact_stddev(fixed_keys, shape, fan_in):
    # variance 2/fan_in; the stddev is divided by the truncated unit normal's stddev
    # (rounded to float32 first, division in float64, as dm-haiku) -> bit-exact values.
    out = np.asarray(inits.VarianceScaling(2.0)(shape, jnp.float32))
    (k,) = fixed_keys
    unit = np.asarray(jax.random.truncated_normal(k, -2.0, 2.0, shape, jnp.float32))
    stddev = np.float32(math.sqrt(2.0 / fan_in) / float(np.float32(0.87962566103423978)))
    np.testing.assert_array_equal(out, stddev * unit)


def test_one_key_per_call(fixed_keys):
    for init in [
        inits.RandomNormal(),
        inits.TruncatedNormal(),
        inits.RandomUniform(),
        inits.VarianceScaling(),
        inits.VarianceScaling(distribution="uniform"),
        inits.UniformScaling(),
        inits.Orthogonal(),
    ]:
        init((3, 3), jnp.float32)
    assert len(fixed_keys) == 7


# --- Random initializers: statistics ---------------------------------------------------


def test_random_normal_statistics(fixed_keys):
    x = inits.RandomNormal(stddev=2.0, mean=-1.0)((100, 100), jnp.float32)
    _mean_std_ok(np.asarray(x), -1.0, 2.0)


def test_truncated_normal_bounds_and_statistics(fixed_keys):
    x = np.asarray(inits.TruncatedNormal(stddev=0.5, mean=3.0)((100, 100), jnp.float32))
    assert x.min() >= 3.0 - 2 * 0.5 - 1e-6 and x.max() <= 3.0 + 2 * 0.5 + 1e-6
    _mean_std_ok(x, 3.0, 0.5 * 0.87962566103423978)


def test_truncated_normal_asymmetric_bounds(fixed_keys):
    x = np.asarray(inits.TruncatedNormal(stddev=2.0, lower=0.0, upper=1.0)((1000,), jnp.float32))
    assert x.min() >= 0.0 and x.max() <= 2.0 + 1e-6


def test_truncated_normal_complex(fixed_keys):
    x = inits.TruncatedNormal(stddev=1.0, mean=1 + 1j)((2000,), jnp.complex64)
    assert x.dtype == jnp.complex64
    re, im = np.real(x), np.imag(x)
    assert re.min() >= -1 - 1e-6 and re.max() <= 3 + 1e-6
    assert im.min() >= -1 - 1e-6 and im.max() <= 3 + 1e-6
    # Real and imaginary parts are independent samples.
    assert abs(np.corrcoef(re, im)[0, 1]) < 0.1


def test_random_uniform_bounds_and_mean(fixed_keys):
    x = np.asarray(inits.RandomUniform(-1.0, 3.0)((100, 100), jnp.float32))
    assert x.min() >= -1.0 and x.max() < 3.0
    _mean_std_ok(x, 1.0, 4.0 / math.sqrt(12))


@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
@pytest.mark.parametrize(
    "mode,shape,fan",
    [
        ("fan_in", (200, 60), 200),
        ("fan_out", (200, 60), 60),
        ("fan_avg", (200, 60), 130),
        ("fan_in", (3, 3, 16, 40), 144),
        ("fan_out", (3, 3, 16, 40), 360),
    ],
)
def test_variance_scaling_variance(fixed_keys, distribution, mode, shape, fan):
    scale = 2.0
    x = np.asarray(inits.VarianceScaling(scale, mode, distribution)(shape, jnp.float32))
    assert x.shape == shape
    std = math.sqrt(scale / fan)
    _mean_std_ok(x, 0.0, std, n_se=6.0)
    if distribution == "uniform":
        assert np.abs(x).max() <= math.sqrt(3 * scale / fan) + 1e-6
    if distribution == "truncated_normal":
        assert np.abs(x).max() <= 2 * std / 0.87962566103423978 + 1e-6


def test_variance_scaling_fan_in_axes(fixed_keys):
    # fan_in = 4 * 50 = 200 from axes (0, 2).
    x = np.asarray(
        inits.VarianceScaling(1.0, "fan_in", "normal", fan_in_axes=(0, 2))((4, 30, 50), jnp.float32)
    )
    _mean_std_ok(x, 0.0, math.sqrt(1 / 200))


def test_variance_scaling_small_fan_is_clamped_to_one(fixed_keys):
    x = np.asarray(inits.VarianceScaling(1.0, "fan_in", "uniform")((), jnp.float32))
    assert x.shape == () and abs(float(x)) <= math.sqrt(3.0)


def test_variance_scaling_bfloat16(fixed_keys):
    x = inits.VarianceScaling()((64, 64), jnp.bfloat16)
    assert x.dtype == jnp.bfloat16


def test_uniform_scaling_bounds(fixed_keys):
    shape = (5, 4, 300)  # fan_in = 20
    x = np.asarray(inits.UniformScaling(2.0)(shape, jnp.float32))
    limit = 2.0 * math.sqrt(3 / 20)
    assert np.abs(x).max() <= limit
    assert np.abs(x).max() > 0.9 * limit
    _mean_std_ok(x, 0.0, limit / math.sqrt(3))


@pytest.mark.parametrize(
    "shape,axis",
    [((6, 3), -1), ((3, 6), -1), ((3, 2, 4), 0), ((2, 5, 3), 1)],
)
def test_orthogonal_is_orthogonal_along_axis(fixed_keys, shape, axis):
    scale = 1.7
    q = np.asarray(inits.Orthogonal(scale, axis)(shape, jnp.float32), np.float64)
    assert q.shape == shape
    m = np.moveaxis(q, axis, 0).reshape(shape[axis], -1)  # rows: vectors along `axis`
    rows, cols = m.shape
    if rows <= cols:
        np.testing.assert_allclose(m @ m.T, scale**2 * np.eye(rows), atol=1e-5)
    else:
        np.testing.assert_allclose(m.T @ m, scale**2 * np.eye(cols), atol=1e-5)


def test_orthogonal_bad_axis_raises():
    with pytest.raises(ValueError, match=r"Orthogonal.*axis.*3.*\(2, 2\)"):
        inits.Orthogonal(axis=3)((2, 2), jnp.float32)


# --- Errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(mode="fan_sum"), r"VarianceScaling.*`mode`.*'fan_sum'"),
        (dict(distribution="cauchy"), r"VarianceScaling.*`distribution`.*'cauchy'"),
        (dict(scale=0.0), r"VarianceScaling.*`scale`.*positive"),
        (dict(scale=-1.0), r"VarianceScaling.*`scale`.*positive"),
    ],
)
def test_variance_scaling_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        inits.VarianceScaling(**kwargs)


@pytest.mark.parametrize(
    "init", [inits.RandomNormal(), inits.TruncatedNormal(), inits.RandomUniform()]
)
def test_integer_dtype_rejected(init, fixed_keys):
    with pytest.raises(TypeError, match=rf"{type(init).__name__}.*`dtype`.*int32"):
        init((2,), jnp.int32)


def test_bad_shape_raises():
    with pytest.raises(ValueError, match=r"Constant.*non-negative.*\(2, -1\)"):
        inits.Constant(0.0)((2, -1), jnp.float32)
    with pytest.raises(TypeError, match=r"Constant.*`shape`"):
        inits.Constant(0.0)(("a",), jnp.float32)


def test_fan_in_axes_out_of_range_raises():
    with pytest.raises(ValueError, match=r"VarianceScaling.*`fan_in_axes`.*\[4\].*\(2, 3, 4, 5\)"):
        inits.VarianceScaling(fan_in_axes=(0, 4))((2, 3, 4, 5), jnp.float32)


def test_public_module_path():
    assert inits.VarianceScaling.__module__ == "haiku_core.initializers"
    assert inits.Initializer is impl.Initializer


def test_inside_transform_same_key_same_values_and_outside_raises():
    f = hk.transform(lambda: inits.VarianceScaling()((3, 4), jnp.float32))
    a = f.apply({}, jax.random.PRNGKey(3))
    b = f.apply({}, jax.random.PRNGKey(3))
    c = f.apply({}, jax.random.PRNGKey(4))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.asarray(a), np.asarray(c))
    with pytest.raises(ValueError, match=r"hk.transform"):
        inits.RandomNormal()((2,), jnp.float32)


def test_jit_matches_eager():
    def sample():
        return [
            init((4, 3), jnp.float32)
            for init in (
                inits.VarianceScaling(2.0, "fan_avg"),
                inits.TruncatedNormal(0.1),
                inits.Orthogonal(),
                inits.UniformScaling(),
            )
        ]

    f = hk.transform(sample)
    key = jax.random.PRNGKey(0)
    eager = f.apply({}, key)
    jitted = jax.jit(f.apply)({}, key)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
