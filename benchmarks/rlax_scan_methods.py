"""Sequential vs associative linear recurrences in rlax_core: run time and compile time.

Measures ``jax.jit(jax.vmap(fn))`` for batch 64 over T = 128, 2048, 16384 (float32) on the
current default backend, for ``rlax_core.lambda_returns`` and ``rlax_core.vtrace`` with
``method="sequential"`` (``unroll`` 1 and 8) and ``method="associative"``. Compile time is
``lower(...).compile()`` wall time; run time is the median of ``--repeats`` calls after one
warm-up (``block_until_ready``). Prints a Markdown table and the rule ``method="auto"`` uses.

    python benchmarks/rlax_scan_methods.py [--lengths 128 2048 16384] [--batch 64] [--repeats 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import rlax_core
from rlax_core._src import scan


def _inputs(batch: int, length: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    r = jnp.asarray(rng.normal(size=(batch, length)), jnp.float32)
    d = jnp.asarray(rng.uniform(0.9, 1.0, size=(batch, length)), jnp.float32)
    v = jnp.asarray(rng.normal(size=(batch, length)), jnp.float32)
    rho = jnp.asarray(np.exp(rng.normal(size=(batch, length)) * 0.3), jnp.float32)
    return r, d, v, rho


FUNCTIONS = {
    "lambda_returns": lambda method, unroll: (
        lambda r, d, v, rho: rlax_core.lambda_returns(
            r, d, v, 0.95, method=method, unroll=unroll
        )
    ),
    "vtrace": lambda method, unroll: (
        lambda r, d, v, rho: rlax_core.vtrace(
            v, v, r, d, rho, 0.95, method=method, unroll=unroll
        )
    ),
}

VARIANTS = [("sequential", 1), ("sequential", 8), ("associative", 1)]


def measure(
    fn_name: str, method: str, unroll: int, batch: int, length: int, repeats: int
):
    fn = jax.jit(jax.vmap(FUNCTIONS[fn_name](method, unroll)))
    args = _inputs(batch, length)
    t0 = time.perf_counter()
    compiled = fn.lower(*args).compile()
    compile_s = time.perf_counter() - t0
    compiled(*args).block_until_ready()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        compiled(*args).block_until_ready()
        times.append(time.perf_counter() - t0)
    return compile_s, statistics.median(times), compiled(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 2048, 16384])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--functions", nargs="+", default=list(FUNCTIONS))
    args = parser.parse_args()
    backend = jax.default_backend()
    print(
        f"backend={backend} devices={jax.devices()} jax={jax.__version__} batch={args.batch}"
    )
    print()
    print(
        "| function | T | method | unroll | compile (s) | run (ms) | max rel diff vs seq |"
    )
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for fn_name in args.functions:
        for length in args.lengths:
            reference = None
            for method, unroll in VARIANTS:
                compile_s, run_s, out = measure(
                    fn_name, method, unroll, args.batch, length, args.repeats
                )
                out = np.asarray(out)
                if reference is None:
                    reference = out
                diff = np.max(np.abs(out - reference)) / max(
                    np.max(np.abs(reference)), 1e-30
                )
                print(
                    f"| {fn_name} | {length} | {method} | {unroll} | {compile_s:.3f} | "
                    f"{run_s * 1e3:.3f} | {diff:.1e} |",
                    flush=True,
                )
    print()
    print(
        f'auto rule: "associative" on gpu/tpu when T >= {scan.ASSOCIATIVE_MIN_LENGTH}, '
        'otherwise "sequential"; '
        + ", ".join(f"T={t}: {scan.resolve_method('auto', t)}" for t in args.lengths)
        + f" (on {backend})"
    )


if __name__ == "__main__":
    main()
