"""Tests for rlax_core Pop-Art: ART statistics, POP output preservation, cross-device form."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec

import rlax_core as rlax

K = 3


def _np_art(shift, m2, targets, indices, step, lb, ub):
    shift, m2 = shift.astype(np.float64).copy(), m2.astype(np.float64).copy()
    d_shift, d_m2 = np.zeros_like(shift), np.zeros_like(m2)
    for t, i in zip(targets, indices, strict=True):
        d_shift[i] += t - shift[i]
        d_m2[i] += t * t - m2[i]
    shift, m2 = shift + step * d_shift, m2 + step * d_m2
    # The variance is clipped to [lb^2, ub^2] before the square root (never NaN).
    return shift, np.sqrt(np.clip(m2 - shift**2, lb**2, ub**2)), m2


def test_init_and_art_match_numpy(np_rng):
    init, _ = rlax.popart(K, 0.1, 0.01, 100.0)
    s = init()
    np.testing.assert_array_equal(s.shift, np.zeros(K))
    np.testing.assert_array_equal(s.scale, np.ones(K))
    np.testing.assert_array_equal(s.second_moment, np.ones(K))
    t = np_rng.normal(size=6).astype(np.float32) * 4
    idx = np.array([0, 0, 2, 0, 2, 2], np.int32)
    new = jax.jit(rlax.art, static_argnums=(3, 4, 5))(s, t, idx, 0.1, 0.01, 100.0)
    shift, scale, m2 = _np_art(np.zeros(K), np.ones(K), t, idx, 0.1, 0.01, 100.0)
    np.testing.assert_allclose(new.shift, shift, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(new.second_moment, m2, rtol=1e-5)
    np.testing.assert_allclose(new.scale, scale, rtol=1e-5)
    # Output 1 received no targets: unchanged.
    assert new.shift[1] == 0.0 and new.scale[1] == 1.0


def test_art_scale_is_clipped():
    s = rlax.PopArtState(jnp.zeros(2), jnp.ones(2), jnp.ones(2))
    new = rlax.art(s, jnp.array([1e4, -1e4]), jnp.array([1, 1]), 0.5, 0.01, 100.0)
    np.testing.assert_allclose(new.scale, [1.0, 100.0])
    tiny = rlax.art(s, jnp.array([0.0]), jnp.array([0]), 1.0, 0.5, 100.0)
    np.testing.assert_allclose(tiny.scale[0], 0.5)  # std 0 clipped up to the lower bound


def test_pop_preserves_unnormalized_outputs(np_rng):
    init, update = rlax.popart(K, 0.2, 0.01, 100.0)
    params = {
        "w": jnp.asarray(np_rng.normal(size=(4, K)), jnp.float32),
        "b": jnp.asarray(np_rng.normal(size=K), jnp.float32),
    }
    x = jnp.asarray(np_rng.normal(size=(5, 4)), jnp.float32)
    idx = jnp.array([0, 1, 2, 1, 0])
    s = init()
    for step in range(3):
        targets = jnp.asarray(np_rng.normal(size=5) * 10 + step, jnp.float32)
        before = rlax.unnormalize_linear(s, x @ params["w"] + params["b"][None], idx).unnormalized
        params, s = update(params, s, targets, idx)
        after = rlax.unnormalize_linear(s, x @ params["w"] + params["b"][None], idx).unnormalized
        np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4)


def test_normalize_unnormalize_roundtrip_and_linear(np_rng):
    s = rlax.PopArtState(jnp.array([1.0, -2.0, 0.5]), jnp.array([2.0, 0.5, 4.0]), jnp.ones(3))
    x = jnp.array([3.0, 1.0, -1.0, 0.0])
    idx = jnp.array([0, 1, 2, 0])
    n = rlax.normalize(s, x, idx)
    np.testing.assert_allclose(n, [(3 - 1) / 2, (1 + 2) / 0.5, (-1 - 0.5) / 4, (0 - 1) / 2])
    np.testing.assert_allclose(rlax.unnormalize(s, n, idx), x, rtol=1e-6)
    inputs = jnp.arange(12.0).reshape(4, 3)
    out = rlax.unnormalize_linear(s, inputs, idx)
    np.testing.assert_allclose(out.normalized, [0.0, 4.0, 8.0, 9.0])
    np.testing.assert_allclose(
        out.unnormalized, np.array([0.0, 4.0, 8.0, 9.0]) * [2, 0.5, 4, 2] + [1, -2, 0.5, 1]
    )
    single = rlax.unnormalize_linear(s, inputs[1], idx[1])
    np.testing.assert_allclose(single.unnormalized, 4.0 * 0.5 - 2.0)


def test_pop_art_errors():
    s = rlax.PopArtState(jnp.zeros(3), jnp.ones(3), jnp.ones(3))
    # Shape/dtype errors are also AssertionErrors, the type upstream's asserts raise.
    for err in (ValueError, AssertionError):
        with pytest.raises(err, match=r"art.*`indices`"):
            rlax.art(s, jnp.zeros(4), jnp.zeros(3, jnp.int32), 0.1, 0.1, 10.0)
    for err in (TypeError, AssertionError):
        with pytest.raises(err, match=r"art.*`indices`.*int"):
            rlax.art(s, jnp.zeros(4), jnp.zeros(4), 0.1, 0.1, 10.0)
        with pytest.raises(err, match=r"unnormalize_linear.*`indices`.*int"):
            rlax.unnormalize_linear(s, jnp.zeros(3), jnp.asarray(1.0))
    with pytest.raises(KeyError, match=r"pop.*'b'"):
        rlax.pop({"w": jnp.zeros((2, 3))}, s, s)
    with pytest.raises(ValueError, match=r"pop.*`w`"):
        rlax.pop({"w": jnp.zeros((2, 4)), "b": jnp.zeros(3)}, s, s)
    with pytest.raises(AssertionError, match=r"unnormalize_linear.*`indices`"):
        rlax.unnormalize_linear(s, jnp.zeros((4, 3)), jnp.zeros(3, jnp.int32))


_S = rlax.PopArtState(
    jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 5.0, 13.0])
)


def test_pop_accepts_1d_w():
    new = _S._replace(scale=jnp.full(3, 2.0))
    out = rlax.pop({"w": jnp.ones(3), "b": jnp.zeros(3)}, _S, new)
    np.testing.assert_allclose(out["w"], [0.5, 1.0, 1.5])  # w * old.scale / new.scale
    np.testing.assert_allclose(out["b"], [0.0, 0.0, 0.0])  # same shift, b = 0


def test_pop_spreads_one_output_over_a_wider_head():
    old = rlax.PopArtState(jnp.zeros(1), jnp.ones(1), jnp.ones(1))
    new = rlax.PopArtState(jnp.ones(1), jnp.full(1, 2.0), jnp.ones(1))
    out = rlax.pop({"w": jnp.ones((4, 3)), "b": jnp.zeros(3)}, old, new)
    np.testing.assert_allclose(out["w"], np.full((4, 3), 0.5))
    np.testing.assert_allclose(out["b"], np.full(3, (1 * 0 + 0 - 1) / 2))


def test_art_accepts_rank2_and_scalar_targets():
    t = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
    idx = np.array([[0, 1], [1, 2]], np.int32)
    new = rlax.art(_S, t, idx, 0.1, 0.01, 10.0)
    shift, scale, m2 = _np_art(
        np.asarray(_S.shift), np.asarray(_S.second_moment), t.ravel(), idx.ravel(), 0.1, 0.01, 10.0
    )
    np.testing.assert_allclose(new.shift, shift, rtol=1e-6)
    np.testing.assert_allclose(new.second_moment, m2, rtol=1e-6)
    np.testing.assert_allclose(new.scale, scale, rtol=1e-6)
    one = rlax.art(_S, jnp.asarray(3.0), jnp.asarray(1), 0.5, 0.01, 10.0)
    shift, scale, m2 = _np_art(
        np.asarray(_S.shift), np.asarray(_S.second_moment), [3.0], [1], 0.5, 0.01, 10.0
    )
    np.testing.assert_allclose(one.shift, shift, rtol=1e-6)
    np.testing.assert_allclose(one.scale, scale, rtol=1e-6)


def test_art_duplicate_indices_clip_variance_before_sqrt():
    # Three targets on output 1: shift 1 + 0.5 * (0 + 4 + 6) = 6, m2 5 + 0.5 * (-4 + 20 + 44)
    # = 35, so m2 - shift^2 = -1 < lb^2: the scale is lb (upstream: [1, 0.01, 3]).
    new = rlax.art(_S, jnp.array([1.0, 5.0, 7.0]), jnp.array([1, 1, 1]), 0.5, 0.01, 10.0)
    np.testing.assert_allclose(new.shift, [0.0, 6.0, 2.0])
    np.testing.assert_allclose(new.second_moment, [1.0, 35.0, 13.0])
    np.testing.assert_allclose(new.scale, [1.0, 0.01, 3.0], rtol=1e-6)


def test_popart_update_accepts_scalar_targets_and_none_step():
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}
    _, update = rlax.popart(3, 0.1, 0.01, 10.0)
    new_params, new_state = update(params, _S, jnp.asarray(1.0), jnp.asarray(0))
    shift, scale, _ = _np_art(
        np.asarray(_S.shift), np.asarray(_S.second_moment), [1.0], [0], 0.1, 0.01, 10.0
    )
    np.testing.assert_allclose(new_state.shift, shift, rtol=1e-6)
    np.testing.assert_allclose(new_state.scale, scale, rtol=1e-6)
    np.testing.assert_allclose(new_params["w"][:, 0], np.full(2, 1.0 / scale[0]), rtol=1e-6)
    np.testing.assert_allclose(new_params["b"][0], (0.0 - shift[0]) / scale[0], rtol=1e-6)
    # step_size=None switches Pop-Art off: the very same params and state come back.
    _, off = rlax.popart(3, None, 0.01, 10.0)
    p_out, s_out = off(params, _S, jnp.array([1.0]), jnp.array([0]))
    assert p_out is params and s_out is _S


def test_popart_statistics_are_gradient_stopped():
    _, update = rlax.popart(3, 0.1, 0.01, 10.0)
    params = {"w": jnp.ones((2, 3)), "b": jnp.zeros(3)}

    def loss(t):
        p, s = update(params, _S, t, jnp.array([0, 1]))
        return jnp.sum(p["w"]) + jnp.sum(p["b"]) + jnp.sum(s.shift) + jnp.sum(s.scale)

    np.testing.assert_array_equal(jax.grad(loss)(jnp.array([1.0, 2.0])), [0.0, 0.0])


def test_normalize_unnormalize_broadcast_scalar_index():
    x = jnp.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(rlax.normalize(_S, x, jnp.asarray(1)), (np.array([1, 2, 3]) - 1) / 2)
    np.testing.assert_allclose(rlax.unnormalize(_S, x, jnp.asarray(1)), np.array([1, 2, 3]) * 2 + 1)
    # [1, 3] values with [3] indices broadcast too.
    out = rlax.normalize(_S, x[None], jnp.array([0, 1, 2]))
    np.testing.assert_allclose(out, [[1.0, 0.5, 1.0 / 3.0]], rtol=1e-6)


def test_normalize_clamps_out_of_range_index():
    # Index 7 of 3 outputs uses the last one, (5 - 2) / 3 (upstream output: [1.0]).
    np.testing.assert_allclose(rlax.normalize(_S, jnp.array([5.0]), jnp.array([7])), [1.0])


def _sharded_inputs(np_rng):
    t = np_rng.normal(size=(8, 4)).astype(np.float32) * 3
    idx = np_rng.integers(0, K, size=(8, 4)).astype(np.int32)
    params = {"w": np.ones((2, K), np.float32), "b": np.zeros(K, np.float32)}
    return t, idx, params


@pytest.mark.multidevice
def test_popart_pmap_equals_single_device(np_rng):
    assert jax.device_count() == 8
    t, idx, params = _sharded_inputs(np_rng)
    init, update = rlax.popart(K, 0.01, 0.01, 100.0, axis_name="d")
    _, update_single = rlax.popart(K, 0.01, 0.01, 100.0)
    rep = lambda tree: jax.tree.map(lambda x: jnp.stack([x] * 8), tree)
    p_out, s_out = jax.pmap(update, axis_name="d")(rep(params), rep(init()), t, idx)
    p_ref, s_ref = update_single(params, init(), t.reshape(-1), idx.reshape(-1))
    for i in range(8):
        np.testing.assert_allclose(s_out.shift[i], s_ref.shift, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(s_out.scale[i], s_ref.scale, rtol=1e-5)
        np.testing.assert_allclose(p_out["b"][i], p_ref["b"], rtol=1e-5, atol=1e-6)


@pytest.mark.multidevice
def test_art_shard_map_equals_single_device(np_rng):
    assert jax.device_count() == 8
    t, idx, _ = _sharded_inputs(np_rng)
    mesh = Mesh(np.array(jax.devices()), ("d",))
    state = rlax.PopArtState(jnp.zeros(K), jnp.ones(K), jnp.ones(K))
    art = functools.partial(rlax.art, step_size=0.01, scale_lb=0.01, scale_ub=100.0, axis_name="d")

    @functools.partial(
        jax.shard_map,
        mesh=mesh,
        in_specs=(PartitionSpec(), PartitionSpec("d"), PartitionSpec("d")),
        out_specs=PartitionSpec(),
    )
    def sharded(state, t, idx):
        return art(state, t, idx)

    out = jax.jit(sharded)(state, t.reshape(-1), idx.reshape(-1))
    ref = rlax.art(state, t.reshape(-1), idx.reshape(-1), 0.01, 0.01, 100.0)
    np.testing.assert_allclose(out.shift, ref.shift, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(out.second_moment, ref.second_moment, rtol=1e-5)
    np.testing.assert_allclose(out.scale, ref.scale, rtol=1e-5)


def test_normalize_and_pop_stay_in_numpy_for_numpy_inputs():
    state = rlax.PopArtState(np.array([0.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0]), np.ones(3))
    out = rlax.normalize(state, np.array([1.0, 2.0]), np.array([0, 1]))  # all float64 NumPy
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [1.0, 0.5])
    back = rlax.unnormalize(state, out, np.array([0, 1]))
    assert isinstance(back, np.ndarray) and back.dtype == np.float64
    np.testing.assert_array_equal(back, [1.0, 2.0])
    with pytest.raises(IndexError):
        rlax.normalize(state, np.array([1.0]), np.array([5]))
    # A Python number keeps the statistics' float32 dtype.
    s32 = jax.tree.map(lambda x: x.astype(np.float32), state)
    assert rlax.normalize(s32, 3.0, 1).dtype == np.float32
    new = rlax.pop({"w": np.ones((2, 3)), "b": np.zeros(3)}, state, state)
    assert isinstance(new["b"], np.ndarray) and new["b"].dtype == np.float64
    assert isinstance(new["w"], jax.Array)
