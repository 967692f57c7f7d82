"""rlax-core ops with their batch axis sharded over 8 devices compile without data movement.

Each test jits an op with ``in_shardings`` / ``out_shardings`` that split the batch axis
over a 1-D mesh of 8 devices (``PartitionSpec("batch")`` on that axis), compiles it, and
reads the optimised HLO (``compiled.as_text()``): a batch-parallel op must compile to
per-device programs with no ``all-gather``, ``all-to-all``, ``collective-permute`` or
``reduce-scatter``, and with an ``all-reduce`` only where the op really reduces over the
batch (a mean loss: exactly one). The outputs must come back sharded like the inputs and
hold the right numbers (NumPy references, or the unsharded call where the reference
would only repeat the op's own maths).

Run with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` and
``-m multidevice -p no:xdist``; the shared_testing plugin skips these tests otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import rlax_core as rlax
from rlax_core import batched

pytestmark = pytest.mark.multidevice

N_DEVICES = 8
B = 4 * N_DEVICES  # batch: 4 rows per device
T = 16
A = 3
GAMMA, LAMBDA = 0.9, 0.8

# HLO instruction names of cross-device collectives (async forms end in -start / -done).
_COLLECTIVES = ("all-gather", "all-to-all", "collective-permute", "reduce-scatter", "all-reduce")
_OP_RE = re.compile(r"\s(" + "|".join(_COLLECTIVES) + r")(?:-start)?\(")


def collectives(hlo_text: str) -> dict[str, int]:
    """Counts each collective instruction in optimised HLO text (async pairs count once)."""
    counts = dict.fromkeys(_COLLECTIVES, 0)
    for m in _OP_RE.finditer(hlo_text):
        counts[m.group(1)] += 1
    return counts


@pytest.fixture(scope="module")
def mesh() -> Mesh:
    return Mesh(np.array(jax.devices()[:N_DEVICES]), ("batch",))


def _sharding(mesh: Mesh, spec: PartitionSpec) -> NamedSharding:
    return NamedSharding(mesh, spec)


def compile_sharded(
    fn: Callable[..., Any],
    args: Sequence[Any],
    in_specs: Sequence[PartitionSpec],
    out_specs: Any,
    mesh: Mesh,
) -> tuple[Any, str, Any]:
    """Jits ``fn`` with the given shardings, compiles it, runs it on sharded copies of ``args``.

    Returns:
      (outputs, optimised HLO text, the input shardings used).
    """
    in_sh = tuple(_sharding(mesh, s) for s in in_specs)
    out_sh = jax.tree.map(
        lambda s: _sharding(mesh, s), out_specs, is_leaf=lambda x: isinstance(x, PartitionSpec)
    )
    jitted = jax.jit(fn, in_shardings=in_sh, out_shardings=out_sh)
    placed = [jax.device_put(x, s) for x, s in zip(args, in_sh, strict=True)]
    compiled = jitted.lower(*placed).compile()
    return compiled(*placed), compiled.as_text(), in_sh


def assert_no_collectives(hlo: str, *, all_reduce: int = 0) -> None:
    counts = collectives(hlo)
    want = dict.fromkeys(_COLLECTIVES, 0)
    want["all-reduce"] = all_reduce
    assert counts == want, f"collectives in the compiled HLO: {counts}, expected {want}"


def assert_sharded_like(out: jax.Array, mesh: Mesh, spec: PartitionSpec) -> None:
    want = _sharding(mesh, spec)
    assert out.sharding.is_equivalent_to(want, out.ndim), (out.sharding, want)
    # Each device holds its own slice of the batch, not a replica of the whole array.
    assert len(out.addressable_shards) == N_DEVICES
    shard_shapes = {s.data.shape for s in out.addressable_shards}
    assert len(shard_shapes) == 1
    (shape,) = shard_shapes
    assert np.prod(shape) * N_DEVICES == out.size


# ------------------------------------------------------------------------------------------
# NumPy references.


def np_lambda_returns(r, discount, v, lam):
    """Single trajectory ``[T]``: G_t = r_t + d_t ((1 - l) v_t + l G_{t+1}), G_T = v_{T-1}."""
    out = np.zeros_like(r)
    g = v[-1]
    for t in reversed(range(len(r))):
        g = r[t] + discount[t] * ((1 - lam) * v[t] + lam * g)
        out[t] = g
    return out


def np_batched_gae(r, v_t, v_tp1, gamma, lam, term, trunc):
    """Time-major ``[T, B]`` episode-aware GAE, one environment and one step at a time."""
    T_, B_ = r.shape
    out = np.zeros_like(r)
    for b in range(B_):
        adv = 0.0
        for t in reversed(range(T_)):
            boot = 0.0 if term[t, b] else gamma * v_tp1[t, b]
            delta = r[t, b] + boot - v_t[t, b]
            carry = t < T_ - 1 and not (term[t, b] or trunc[t, b])
            adv = delta + (gamma * lam * adv if carry else 0.0)
            out[t, b] = adv
    return out


def np_peng(r, q_tp1, gamma, lam, term, trunc):
    """Time-major ``[T, B]`` episode-aware Peng's Q(lambda) returns."""
    T_, B_ = r.shape
    v = q_tp1.max(-1)
    out = np.zeros_like(r)
    for b in range(B_):
        g = 0.0
        for t in reversed(range(T_)):
            if term[t, b]:
                g = r[t, b]
            elif trunc[t, b] or t == T_ - 1:
                g = r[t, b] + gamma * v[t, b]
            else:
                g = r[t, b] + gamma * ((1 - lam) * v[t, b] + lam * g)
            out[t, b] = g
    return out


def _rollout(np_rng) -> dict[str, np.ndarray]:
    """Time-major ``[T, B]`` rollout batch with terminated and truncated steps."""
    f32 = np.float32
    u = np_rng.uniform(size=(T, B))
    term = u < 0.1
    trunc = (u >= 0.1) & (u < 0.2)
    return {
        "r": np_rng.normal(size=(T, B)).astype(f32),
        "v_t": np_rng.normal(size=(T, B)).astype(f32),
        "v_tp1": np_rng.normal(size=(T, B)).astype(f32),
        "rho": np.exp(0.3 * np_rng.normal(size=(T, B))).astype(f32),
        "q_t": np_rng.normal(size=(T, B, A)).astype(f32),
        "q_tp1": np_rng.normal(size=(T, B, A)).astype(f32),
        "a_t": np_rng.integers(0, A, size=(T, B)).astype(np.int32),
        "a_tp1": np_rng.integers(0, A, size=(T, B)).astype(np.int32),
        "pi_tp1": np_rng.dirichlet(np.ones(A), size=(T, B)).astype(f32),
        "mu_tp1": np_rng.uniform(0.1, 1.0, size=(T, B)).astype(f32),
        "term": term,
        "trunc": trunc,
    }


# ------------------------------------------------------------------------------------------
# The checker itself.


def test_checker_sees_an_all_gather_when_the_output_is_replicated(mesh, np_rng):
    # Same op, but the [B] result is asked for replicated on every device: the devices must
    # exchange their slices, and the checker has to notice.
    x = np_rng.normal(size=(B,)).astype(np.float32)
    _, hlo, _ = compile_sharded(
        lambda x: 2.0 * x, [x], [PartitionSpec("batch")], PartitionSpec(), mesh
    )
    assert collectives(hlo) == {
        "all-gather": 1,
        "all-to-all": 0,
        "collective-permute": 0,
        "reduce-scatter": 0,
        "all-reduce": 0,
    }
    with pytest.raises(AssertionError, match="collectives"):
        assert_no_collectives(hlo)


# ------------------------------------------------------------------------------------------
# Single-trajectory ops under jax.vmap, batch axis 0 sharded.


def test_vmapped_q_learning_is_batch_parallel(mesh, np_rng):
    f32 = np.float32
    q_tm1 = np_rng.normal(size=(B, A)).astype(f32)
    a_tm1 = np_rng.integers(0, A, size=(B,)).astype(np.int32)
    r_t = np_rng.normal(size=(B,)).astype(f32)
    discount_t = np_rng.uniform(0.0, 1.0, size=(B,)).astype(f32)
    q_t = np_rng.normal(size=(B, A)).astype(f32)
    rows, cols = PartitionSpec("batch"), PartitionSpec("batch", None)
    out, hlo, _ = compile_sharded(
        jax.vmap(rlax.q_learning),
        [q_tm1, a_tm1, r_t, discount_t, q_t],
        [cols, rows, rows, rows, cols],
        rows,
        mesh,
    )
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, rows)
    expected = r_t + discount_t * q_t.max(-1) - q_tm1[np.arange(B), a_tm1]
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-6, atol=1e-6)


def test_mean_q_learning_loss_all_reduces_exactly_once(mesh, np_rng):
    # The mean over the batch is the one genuine cross-device reduction.
    f32 = np.float32
    q_tm1 = np_rng.normal(size=(B, A)).astype(f32)
    a_tm1 = np_rng.integers(0, A, size=(B,)).astype(np.int32)
    r_t = np_rng.normal(size=(B,)).astype(f32)
    discount_t = np.full((B,), 0.5, f32)
    q_t = np_rng.normal(size=(B, A)).astype(f32)

    def loss(q_tm1, a_tm1, r_t, discount_t, q_t):
        td = jax.vmap(rlax.q_learning)(q_tm1, a_tm1, r_t, discount_t, q_t)
        return jnp.mean(rlax.l2_loss(td))

    rows, cols = PartitionSpec("batch"), PartitionSpec("batch", None)
    out, hlo, _ = compile_sharded(
        loss,
        [q_tm1, a_tm1, r_t, discount_t, q_t],
        [cols, rows, rows, rows, cols],
        PartitionSpec(),
        mesh,
    )
    assert_no_collectives(hlo, all_reduce=1)
    td = r_t + discount_t * q_t.max(-1) - q_tm1[np.arange(B), a_tm1]
    np.testing.assert_allclose(float(out), np.mean(0.5 * td**2), rtol=1e-5)


@pytest.mark.parametrize("method", ["sequential", "associative"])
def test_vmapped_lambda_returns_is_batch_parallel(mesh, np_rng, method):
    f32 = np.float32
    r = np_rng.normal(size=(B, T)).astype(f32)
    d = np_rng.uniform(0.5, 1.0, size=(B, T)).astype(f32)
    v = np_rng.normal(size=(B, T)).astype(f32)
    fn = jax.vmap(lambda r, d, v: rlax.lambda_returns(r, d, v, LAMBDA, method=method))
    spec = PartitionSpec("batch", None)
    out, hlo, _ = compile_sharded(fn, [r, d, v], [spec] * 3, spec, mesh)
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    expected = np.stack([np_lambda_returns(r[b], d[b], v[b], LAMBDA) for b in range(B)])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_vmapped_vtrace_is_batch_parallel(mesh, np_rng):
    data = _rollout(np_rng)
    bt = {k: np.ascontiguousarray(np.swapaxes(x, 0, 1)) for k, x in data.items()}
    disc = (GAMMA * (1.0 - bt["term"])).astype(np.float32)
    args = [bt["v_t"], bt["v_tp1"], bt["r"], disc, bt["rho"]]
    fn = jax.vmap(lambda *a: rlax.vtrace(*a, lambda_=LAMBDA))
    spec = PartitionSpec("batch", None)
    out, hlo, _ = compile_sharded(fn, args, [spec] * 5, spec, mesh)
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    # Sharding must not change the numbers: compare with the plain single-device call.
    np.testing.assert_allclose(
        np.asarray(out), np.asarray(jax.jit(fn)(*args)), rtol=1e-5, atol=1e-6
    )


def test_vmapped_gae_gradient_of_mean_loss_all_reduces_only_for_the_mean(mesh, np_rng):
    # d/dv of mean((v - stop_grad(v + adv))**2): per-row gradients, one reduction for the
    # scalar loss value, none for the [B, T] gradient.
    f32 = np.float32
    r = np_rng.normal(size=(B, T)).astype(f32)
    d = np.full((B, T), GAMMA, f32)
    values = np_rng.normal(size=(B, T + 1)).astype(f32)

    def loss(values, r, d):
        adv = jax.vmap(rlax.truncated_generalized_advantage_estimation, in_axes=(0, 0, None, 0))(
            r, d, LAMBDA, values
        )
        target = jax.lax.stop_gradient(adv + values[:, :-1])
        return jnp.mean((target - values[:, :-1]) ** 2)

    spec = PartitionSpec("batch", None)
    (val, grad), hlo, _ = compile_sharded(
        jax.value_and_grad(loss), [values, r, d], [spec] * 3, (PartitionSpec(), spec), mesh
    )
    assert_no_collectives(hlo, all_reduce=1)
    assert_sharded_like(grad, mesh, spec)
    adv = (
        np.stack([np_lambda_returns(r[b], d[b], values[b, 1:], LAMBDA) for b in range(B)])
        - values[:, :-1]
    )
    np.testing.assert_allclose(float(val), np.mean(adv**2), rtol=1e-4)
    expected_grad = np.concatenate([-2.0 * adv / adv.size, np.zeros((B, 1), f32)], axis=1)
    np.testing.assert_allclose(np.asarray(grad), expected_grad, rtol=1e-4, atol=1e-7)


# ------------------------------------------------------------------------------------------
# rlax_core.batched: time-major [T, B] data sharded on axis 1 (batch-major on axis 0).


@pytest.mark.parametrize("method", ["sequential", "associative"])
def test_batched_gae_is_batch_parallel(mesh, np_rng, method):
    x = _rollout(np_rng)

    def fn(r, v_t, v_tp1, term, trunc):
        return batched.gae(
            r, v_t, v_tp1, GAMMA, LAMBDA, terminated=term, truncated=trunc, method=method
        )

    spec = PartitionSpec(None, "batch")
    args = [x["r"], x["v_t"], x["v_tp1"], x["term"], x["trunc"]]
    out, hlo, _ = compile_sharded(fn, args, [spec] * 5, spec, mesh)
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    expected = np_batched_gae(x["r"], x["v_t"], x["v_tp1"], GAMMA, LAMBDA, x["term"], x["trunc"])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_batched_gae_batch_major_is_batch_parallel(mesh, np_rng):
    # time_axis=1: [B, T] inputs sharded on axis 0; the internal transposes stay local.
    x = _rollout(np_rng)
    bt = {k: np.ascontiguousarray(np.swapaxes(v, 0, 1)) for k, v in x.items()}

    def fn(r, v_t, v_tp1, term, trunc):
        return batched.gae(
            r, v_t, v_tp1, GAMMA, LAMBDA, terminated=term, truncated=trunc, time_axis=1
        )

    spec = PartitionSpec("batch", None)
    args = [bt["r"], bt["v_t"], bt["v_tp1"], bt["term"], bt["trunc"]]
    out, hlo, _ = compile_sharded(fn, args, [spec] * 5, spec, mesh)
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    expected = np_batched_gae(x["r"], x["v_t"], x["v_tp1"], GAMMA, LAMBDA, x["term"], x["trunc"])
    np.testing.assert_allclose(np.asarray(out), expected.T, rtol=1e-5, atol=1e-5)


def test_batched_lambda_returns_is_batch_parallel(mesh, np_rng):
    x = _rollout(np_rng)

    def fn(r, v_tp1, term, trunc):
        return batched.lambda_returns(r, v_tp1, GAMMA, LAMBDA, terminated=term, truncated=trunc)

    spec = PartitionSpec(None, "batch")
    out, hlo, _ = compile_sharded(
        fn, [x["r"], x["v_tp1"], x["term"], x["trunc"]], [spec] * 4, spec, mesh
    )
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    # Peng's Q(lambda) with a single action is the lambda-return of that action's value.
    expected = np_peng(x["r"], x["v_tp1"][..., None], GAMMA, LAMBDA, x["term"], x["trunc"])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_batched_peng_q_lambda_returns_is_batch_parallel(mesh, np_rng):
    x = _rollout(np_rng)

    def fn(r, q_tp1, term, trunc):
        return batched.peng_q_lambda_returns(
            r, q_tp1, GAMMA, LAMBDA, terminated=term, truncated=trunc
        )

    spec, spec3 = PartitionSpec(None, "batch"), PartitionSpec(None, "batch", None)
    out, hlo, _ = compile_sharded(
        fn, [x["r"], x["q_tp1"], x["term"], x["trunc"]], [spec, spec3, spec, spec], spec, mesh
    )
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    expected = np_peng(x["r"], x["q_tp1"], GAMMA, LAMBDA, x["term"], x["trunc"])
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-5)


def test_batched_vtrace_is_batch_parallel(mesh, np_rng):
    x = _rollout(np_rng)

    def fn(v_t, v_tp1, r, rho, term, trunc):
        return batched.vtrace(
            v_t, v_tp1, r, GAMMA, rho, terminated=term, truncated=trunc, lambda_=LAMBDA
        )

    spec = PartitionSpec(None, "batch")
    args = [x["v_t"], x["v_tp1"], x["r"], x["rho"], x["term"], x["trunc"]]
    out_specs = batched.VTraceOutput(spec, spec, spec)
    out, hlo, _ = compile_sharded(fn, args, [spec] * 6, out_specs, mesh)
    assert_no_collectives(hlo)
    for leaf in out:
        assert_sharded_like(leaf, mesh, spec)
    single = jax.jit(fn)(*args)
    for got, want in zip(out, single, strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_batched_retrace_is_batch_parallel(mesh, np_rng):
    x = _rollout(np_rng)

    def fn(q_t, q_tp1, a_t, a_tp1, r, pi, mu, term, trunc):
        return batched.retrace(
            q_t, q_tp1, a_t, a_tp1, r, GAMMA, pi, mu, LAMBDA, terminated=term, truncated=trunc
        )

    spec, spec3 = PartitionSpec(None, "batch"), PartitionSpec(None, "batch", None)
    keys = ["q_t", "q_tp1", "a_t", "a_tp1", "r", "pi_tp1", "mu_tp1", "term", "trunc"]
    specs = [spec3, spec3, spec, spec, spec, spec3, spec, spec, spec]
    args = [x[k] for k in keys]
    out, hlo, _ = compile_sharded(fn, args, specs, spec, mesh)
    assert_no_collectives(hlo)
    assert_sharded_like(out, mesh, spec)
    np.testing.assert_allclose(
        np.asarray(out), np.asarray(jax.jit(fn)(*args)), rtol=1e-5, atol=1e-6
    )
