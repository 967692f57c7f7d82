"""rlax_core.batched (whole [T, B] batches, episode-aware) vs jit(vmap(single-trajectory op)).

For GAE, lambda-returns, V-trace and Retrace, three contenders compute the same numbers on
the same rollout batch, time-major ``[T, B]`` (the layout a ``jax.lax.scan`` rollout
produces), with terminated and truncated steps inside the window:

* ``batched``: ``rlax_core.batched.<op>`` with ``terminated=`` / ``truncated=`` flags and
  the final-observation bootstrap in ``v_tp1`` / ``q_tp1``;
* ``rlax vmap``: ``jax.jit(jax.vmap(rlax.<op>, in_axes=1, out_axes=1))`` of upstream rlax,
  with the flags folded into its inputs the usual way (``discount = gamma * (1 - done)``,
  the truncation bootstrap added to the reward); these inputs are prepared once, outside
  the timed call;
* ``rlax_core vmap``: the same with rlax-core's single-trajectory op.

An extra informational row times upstream under vmap on batch-major ``[B, T]`` copies of
the inputs (``in_axes=0``, rlax's own convention), so a layout cost can be told apart from
the op's. Before timing, every contender's output is checked against the batched one.

Run time: median of interleaved calls of the compiled functions. Compile time:
``jax.jit(fn).lower(inputs).compile()`` of a fresh function. Targets (CPU): batched
<= 0.8x run time and <= 1.2x compile time of upstream rlax under vmap.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import rlax_core
from rlax_core import batched

from benchmarks.harness import Row, compare, interleaved

try:  # upstream rlax lives only in the bench venv
    import rlax as dm_rlax
except ImportError:  # pragma: no cover - depends on the venv
    dm_rlax = None

BATCHED, UPSTREAM, OURS_VMAP, UPSTREAM_BT = (
    "rlax_core.batched",
    "rlax vmap",
    "rlax_core vmap",
    "rlax vmap [B,T]",
)
RUN_TARGET, COMPILE_TARGET = 0.8, 1.2
SIZES = ((128, 1024), (2048, 64))  # (T, B)
GAMMA, LAMBDA = 0.99, 0.95
N_ACTIONS = 18


def make_inputs(T: int, B: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A time-major rollout batch with terminations and truncations inside the window."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    u = rng.uniform(size=(T, B))
    term = u < 0.01
    trunc = (u >= 0.01) & (u < 0.015)
    v = rng.normal(size=(T + 1, B)).astype(f32)
    q = rng.normal(size=(T + 1, B, N_ACTIONS)).astype(f32)
    pi = rng.dirichlet(np.ones(N_ACTIONS), size=(T, B)).astype(f32)
    a = rng.integers(0, N_ACTIONS, size=(T + 1, B)).astype(np.int32)
    d = {
        "r": rng.normal(size=(T, B)).astype(f32),
        "term": term,
        "trunc": trunc,
        "v_t": v[:-1],
        "v_tp1": v[1:],
        "rho": np.exp(0.3 * rng.normal(size=(T, B))).astype(f32),
        "q_t": q[:-1],
        "q_tp1": q[1:],
        "a_t": a[:-1],
        "a_tp1": a[1:],
        "pi_tp1": pi,
        "mu_tp1": rng.uniform(0.05, 1.0, size=(T, B)).astype(f32),
    }
    return refold(d)


def refold(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Adds the single-trajectory form of the flags: folded into discount and reward."""
    f32 = np.float32
    trunc = d["trunc"]
    d["disc"] = (GAMMA * (1.0 - (d["term"] | trunc))).astype(f32)
    d["values"] = np.concatenate([d["v_t"], d["v_tp1"][-1:]], axis=0)  # [T + 1, B]
    d["r_fold_v"] = (d["r"] + GAMMA * trunc * d["v_tp1"]).astype(f32)
    expected_q = np.sum(d["pi_tp1"] * d["q_tp1"], axis=-1)
    d["r_fold_q"] = (d["r"] + GAMMA * trunc * expected_q).astype(f32)
    return d


def batched_fns() -> dict[str, Callable[[dict[str, jax.Array]], Any]]:
    """op name -> function of the input dict (time-major) using rlax_core.batched."""
    flags = lambda i: {"terminated": i["term"], "truncated": i["trunc"]}
    return {
        "gae": lambda i: batched.gae(
            i["r"], i["v_t"], i["v_tp1"], GAMMA, LAMBDA, **flags(i)
        ),
        "lambda_returns": lambda i: batched.lambda_returns(
            i["r"], i["v_tp1"], GAMMA, LAMBDA, **flags(i)
        ),
        "vtrace": lambda i: tuple(
            batched.vtrace(
                i["v_t"],
                i["v_tp1"],
                i["r"],
                GAMMA,
                i["rho"],
                lambda_=LAMBDA,
                **flags(i),
            )
        ),
        "retrace": lambda i: batched.retrace(
            i["q_t"],
            i["q_tp1"],
            i["a_t"],
            i["a_tp1"],
            i["r"],
            GAMMA,
            i["pi_tp1"],
            i["mu_tp1"],
            LAMBDA,
            **flags(i),
        ),
    }


def vmapped_fns(
    lib: Any, axis: int
) -> dict[str, Callable[[dict[str, jax.Array]], Any]]:
    """op name -> ``jax.vmap`` of ``lib``'s single-trajectory op over batch axis ``axis``."""

    def vm(fn: Callable, in_axes: tuple) -> Callable:
        axes = tuple(None if a is None else axis for a in in_axes)
        return jax.vmap(fn, in_axes=axes, out_axes=axis)

    gae = vm(lib.truncated_generalized_advantage_estimation, (0, 0, None, 0))
    lam = vm(lib.lambda_returns, (0, 0, 0, None))
    vtrace = vm(
        lambda v_tm1, v_t, r, d, rho, l: tuple(
            lib.vtrace_td_error_and_advantage(v_tm1, v_t, r, d, rho, l)
        ),
        (0, 0, 0, 0, 0, None),
    )
    retrace = vm(lib.retrace, (0, 0, 0, 0, 0, 0, 0, 0, None))
    return {
        "gae": lambda i: gae(i["r_fold_v"], i["disc"], LAMBDA, i["values"]),
        "lambda_returns": lambda i: lam(i["r_fold_v"], i["disc"], i["v_tp1"], LAMBDA),
        "vtrace": lambda i: vtrace(
            i["v_t"], i["v_tp1"], i["r_fold_v"], i["disc"], i["rho"], LAMBDA
        ),
        "retrace": lambda i: retrace(
            i["q_t"],
            i["q_tp1"],
            i["a_t"],
            i["a_tp1"],
            i["r_fold_q"],
            i["disc"],
            i["pi_tp1"],
            i["mu_tp1"],
            LAMBDA,
        ),
    }


def _batch_major(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(np.swapaxes(x, 0, 1)) for k, x in inputs.items()}


def _check_same(name: str, case: str, ref: Any, got: Any, batch_major: bool) -> str:
    """Compares a contender's output with the batched one; returns a note ('' when equal)."""
    ref, got = jax.tree.leaves(ref), jax.tree.leaves(got)
    try:
        for x, y in zip(ref, got, strict=True):
            y = np.swapaxes(np.asarray(y), 0, 1) if batch_major else np.asarray(y)
            np.testing.assert_allclose(np.asarray(x), y, rtol=1e-4, atol=1e-4)
    except AssertionError as e:
        print(
            f"[bench] batched {case}: {name} differs from batched: {e}", file=sys.stderr
        )
        return "OUTPUTS DIFFER"
    return ""


def bench_op(op: str, T: int, B: int, quick: bool) -> list[Row]:
    """Compile-time and run-time rows of one op at one size."""
    host = make_inputs(T, B)
    inputs = jax.device_put(host)
    contenders: dict[str, tuple[Callable, dict[str, jax.Array]]] = {
        BATCHED: (batched_fns()[op], inputs),
        OURS_VMAP: (vmapped_fns(rlax_core, 1)[op], inputs),
    }
    if dm_rlax is not None:
        contenders[UPSTREAM] = (vmapped_fns(dm_rlax, 1)[op], inputs)
        contenders[UPSTREAM_BT] = (
            vmapped_fns(dm_rlax, 0)[op],
            jax.device_put(_batch_major(host)),
        )
    case = f"{op} T={T} B={B}"

    def fresh(fn: Callable) -> Callable:
        return jax.jit(lambda i: fn(i))

    compiled = {k: fresh(f).lower(i).compile() for k, (f, i) in contenders.items()}
    ref = compiled[BATCHED](inputs)
    notes = {
        k: _check_same(k, case, ref, compiled[k](contenders[k][1]), k == UPSTREAM_BT)
        for k in contenders
        if k != BATCHED
    }

    s = interleaved(
        {
            k: functools.partial(lambda f, i: fresh(f).lower(i).compile(), f, i)
            for k, (f, i) in contenders.items()
        },
        1 if quick else 3,
        inner=1,
        warmup=False,
    )
    rows: list[Row] = []
    theirs = [k for k in (UPSTREAM, UPSTREAM_BT, OURS_VMAP) if k in contenders]
    for k in theirs:
        target = COMPILE_TARGET if k == UPSTREAM else None
        rows.append(
            compare(
                "batched compile", case, s, BATCHED, k, target=target, note=notes[k]
            )
        )

    calls = {
        k: functools.partial(lambda c, i: jax.block_until_ready(c(i)), compiled[k], i)
        for k, (_, i) in contenders.items()
    }
    s = interleaved(calls, 9 if quick else 31)
    for k in theirs:
        target = RUN_TARGET if k == UPSTREAM else None
        rows.append(
            compare("batched run", case, s, BATCHED, k, target=target, note=notes[k])
        )
    return rows


def run(
    quick: bool = False, on_rows: Callable[[list[Row]], None] | None = None
) -> list[Row]:
    """Every op at every size; ``on_rows`` gets each size's rows as soon as they exist."""
    if dm_rlax is None:
        print(
            "[bench] batched: rlax not importable, comparing with rlax_core only",
            file=sys.stderr,
        )
    rows: list[Row] = []
    for T, B in SIZES:
        t0 = time.perf_counter()
        new = [
            r
            for op in ("gae", "lambda_returns", "vtrace", "retrace")
            for r in bench_op(op, T, B, quick)
        ]
        print(
            f"[bench]   batched T={T} B={B}: {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
        if on_rows is not None:
            on_rows(new)
        rows += new
    return rows
