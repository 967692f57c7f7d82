"""rlax-core vs rlax: jitted multistep returns, distributional losses, PPO loss, compile times.

Multistep ops are single-trajectory functions (the rlax convention); both libraries are timed
as ``jax.jit(jax.vmap(fn))`` over a batch of 64 trajectories at T = 128, 2048 and 16384.
rlax-core runs with its default ``method="auto"`` (sequential scan on CPU, associative scan on
GPU/TPU for T >= ``rlax_core._src.scan.ASSOCIATIVE_MIN_LENGTH``). The explicitly associative
form is also reported for ``lambda_returns`` (on CPU only up to T=2048: its compile time grows
with T and it loses to the sequential scan on CPU anyway).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import rlax as dm_rlax
import rlax_core
from rlax_core._src import scan

from benchmarks.harness import Row, compare, interleaved

LIBS = {"rlax_core": rlax_core, "rlax": dm_rlax}
OURS, THEIRS = "rlax_core", "rlax"
TARGET = 1.0
BATCH = 64
N_ACTIONS, N_ATOMS, N_QUANTILES = 18, 51, 32
LENGTHS_FULL = (128, 2048, 16384)
LENGTHS_QUICK = (128, 2048)


def _multistep_inputs(length: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f32 = np.float32

    def normal(*shape):
        return rng.normal(size=(BATCH, *shape)).astype(f32)

    pi = rng.dirichlet(np.ones(N_ACTIONS), size=(BATCH, length)).astype(f32)
    return {
        "r": normal(length),
        "d": rng.uniform(0.9, 1.0, size=(BATCH, length)).astype(f32),
        "v": normal(length),
        "v1": normal(length + 1),
        "rho": np.exp(0.3 * normal(length)).astype(f32),
        "q_tm1": normal(length, N_ACTIONS),
        "q_t": normal(length, N_ACTIONS),
        "a_tm1": rng.integers(0, N_ACTIONS, size=(BATCH, length)).astype(np.int32),
        "a_t": rng.integers(0, N_ACTIONS, size=(BATCH, length)).astype(np.int32),
        "pi": pi,
        "mu": rng.uniform(0.05, 1.0, size=(BATCH, length)).astype(f32),
    }


# name -> (lib, kwargs) -> single-trajectory function of the input dict's arrays
def multistep_fns(lib: Any, **kw: Any) -> dict[str, Callable[..., jax.Array]]:
    return {
        "lambda_returns": lambda i: lib.lambda_returns(
            i["r"], i["d"], i["v"], 0.95, **kw
        ),
        "truncated_gae": lambda i: lib.truncated_generalized_advantage_estimation(
            i["r"], i["d"], 0.95, i["v1"], **kw
        ),
        "vtrace": lambda i: lib.vtrace(
            i["v"], i["v"], i["r"], i["d"], i["rho"], 0.95, **kw
        ),
        "retrace": lambda i: lib.retrace(
            i["q_tm1"],
            i["q_t"],
            i["a_tm1"],
            i["a_t"],
            i["r"],
            i["d"],
            i["pi"],
            i["mu"],
            0.95,
            **kw,
        ),
        # n_step_bootstrapped_returns has no `method=` (it is not a recurrence in rlax-core).
        "n_step_returns(n=5)": lambda i: lib.n_step_bootstrapped_returns(
            i["r"], i["d"], i["v"], 5, 0.95
        ),
        "discounted_returns": lambda i: lib.discounted_returns(
            i["r"], i["d"], i["v"], **kw
        ),
    }


def _fresh_jit(fn: Callable) -> Callable:
    """A new jitted wrapper (new function object: no trace/compile cache hit)."""
    return jax.jit(jax.vmap(lambda i: fn(i)))


def bench_multistep(quick: bool, lengths: tuple[int, ...] | None = None) -> list[Row]:
    rows: list[Row] = []
    if lengths is None:
        # Accelerators: the long horizon is the point (associative scan), and cheap.
        quick_cpu = quick and jax.default_backend() == "cpu"
        lengths = LENGTHS_QUICK if quick_cpu else LENGTHS_FULL
    backend = jax.default_backend()
    for length in lengths:
        inputs = jax.device_put(_multistep_inputs(length))
        auto = scan.resolve_method("auto", length)
        fns = {OURS: multistep_fns(rlax_core), THEIRS: multistep_fns(dm_rlax)}
        assoc_ok = backend != "cpu" or length <= 2048
        for name in fns[OURS]:
            contenders = {lib: fns[lib][name] for lib in (OURS, THEIRS)}
            if name == "lambda_returns" and assoc_ok and auto != "associative":
                contenders["rlax_core assoc"] = multistep_fns(
                    rlax_core, method="associative"
                )[name]
            if name == "lambda_returns" and auto != "sequential":
                contenders["rlax_core seq"] = multistep_fns(
                    rlax_core, method="sequential"
                )[name]

            # Compile time: lower + compile of a fresh jit, interleaved.
            def compile_once(fn, inputs=inputs):
                return _fresh_jit(fn).lower(inputs).compile()

            s = interleaved(
                {k: functools.partial(compile_once, f) for k, f in contenders.items()},
                1 if quick else 2,
                inner=1,
                warmup=False,
            )
            case = f"{name} T={length} B={BATCH}"
            for k in contenders:
                if k != THEIRS:
                    rows.append(
                        compare("rlax compile", case, s, k, THEIRS, target=None)
                    )

            compiled = {
                k: _fresh_jit(f).lower(inputs).compile() for k, f in contenders.items()
            }
            calls = {
                k: functools.partial(
                    lambda c, i: jax.block_until_ready(c(i)), c, inputs
                )
                for k, c in compiled.items()
            }
            s = interleaved(calls, 7 if quick else (9 if length > 2048 else 31))
            note = f"auto={auto}" if name != "n_step_returns(n=5)" else ""
            for k in contenders:
                if k != THEIRS:
                    rows.append(
                        compare(
                            "rlax run",
                            case,
                            s,
                            k,
                            THEIRS,
                            target=TARGET if k == OURS else None,
                            note=note if k == OURS else "",
                        )
                    )
    return rows


def bench_losses(quick: bool) -> list[Row]:
    rows: list[Row] = []
    rng = np.random.default_rng(0)
    f32 = np.float32
    b = 256
    cat = jax.device_put(
        {
            "q_atoms_tm1": np.tile(np.linspace(-10, 10, N_ATOMS, dtype=f32), (b, 1)),
            "q_logits_tm1": rng.normal(size=(b, N_ACTIONS, N_ATOMS)).astype(f32),
            "a_tm1": rng.integers(0, N_ACTIONS, size=(b,)).astype(np.int32),
            "r_t": rng.normal(size=(b,)).astype(f32),
            "discount_t": np.full((b,), 0.99, f32),
            "q_atoms_t": np.tile(np.linspace(-10, 10, N_ATOMS, dtype=f32), (b, 1)),
            "q_logits_t": rng.normal(size=(b, N_ACTIONS, N_ATOMS)).astype(f32),
            "q_t_selector": rng.normal(size=(b, N_ACTIONS)).astype(f32),
        }
    )
    quant = jax.device_put(
        {
            "dist_q_tm1": rng.normal(size=(b, N_QUANTILES, N_ACTIONS)).astype(f32),
            "tau_q_tm1": np.tile(
                ((np.arange(N_QUANTILES) + 0.5) / N_QUANTILES).astype(f32), (b, 1)
            ),
            "a_tm1": rng.integers(0, N_ACTIONS, size=(b,)).astype(np.int32),
            "r_t": rng.normal(size=(b,)).astype(f32),
            "discount_t": np.full((b,), 0.99, f32),
            "dist_q_t_selector": rng.normal(size=(b, N_QUANTILES, N_ACTIONS)).astype(
                f32
            ),
            "dist_q_t": rng.normal(size=(b, N_QUANTILES, N_ACTIONS)).astype(f32),
        }
    )
    ppo = jax.device_put(
        {
            "prob_ratios_t": np.exp(0.2 * rng.normal(size=(4096,))).astype(f32),
            "adv_t": rng.normal(size=(4096,)).astype(f32),
        }
    )
    cases = {
        f"categorical_double_q_learning B={b}": (
            lambda lib: jax.vmap(lambda i: lib.categorical_double_q_learning(**i)),
            cat,
        ),
        f"quantile_q_learning B={b} huber=1": (
            lambda lib: jax.vmap(
                lambda i: lib.quantile_q_learning(**i, huber_param=1.0)
            ),
            quant,
        ),
        "clipped_surrogate_pg_loss T=4096": (
            lambda lib: lambda i: lib.clipped_surrogate_pg_loss(**i, epsilon=0.2),
            ppo,
        ),
    }
    for case, (make, inputs) in cases.items():
        s = interleaved(
            {
                k: functools.partial(
                    lambda lib, m, i: jax.jit(m(lib)).lower(i).compile(),
                    lib,
                    make,
                    inputs,
                )
                for k, lib in LIBS.items()
            },
            1 if quick else 3,
            inner=1,
            warmup=False,
        )
        rows.append(compare("rlax compile", case, s, OURS, THEIRS))
        compiled = {
            k: jax.jit(make(lib)).lower(inputs).compile() for k, lib in LIBS.items()
        }
        s = interleaved(
            {
                k: functools.partial(
                    lambda c, i: jax.block_until_ready(c(i)), c, inputs
                )
                for k, c in compiled.items()
            },
            9 if quick else 31,
        )
        rows.append(compare("rlax run", case, s, OURS, THEIRS, target=TARGET))
    return rows


def run(
    quick: bool = False, on_rows: Callable[[list[Row]], None] | None = None
) -> list[Row]:
    """Runs every part; ``on_rows`` gets each part's rows as soon as they exist."""
    rows: list[Row] = []
    for part in (bench_losses, bench_multistep):
        t0 = time.perf_counter()
        new = part(quick)
        print(
            f"[bench]   {part.__name__}: {time.perf_counter() - t0:.0f} s",
            file=sys.stderr,
        )
        if on_rows is not None:
            on_rows(new)
        rows += new
    return rows
