"""Multi-process check of the sharded byte LM: 2 processes x 4 CPU devices vs 1 process x 8.

Starts ``sharded_lm.py`` twice as one JAX job (``jax.distributed.initialize`` with a local
coordinator; CPU collectives over gloo), each process owning 4 host devices of a
``("data", "model")`` mesh of 8, then runs the same training in a single process with 8
host devices, and compares the per-step losses. Exits non-zero when they differ by more
than ``--tol`` (relative) or a process fails.

    python examples/sharded_lm_multiprocess.py --steps 10 --out out/sharded_lm_mp
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
from typing import Any

import numpy as np

import common

SCRIPT = pathlib.Path(__file__).resolve().with_name("sharded_lm.py")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _wait(procs: list[subprocess.Popen], logs: list[pathlib.Path], timeout: float) -> None:
    """Waits for every process; on a failure or timeout stops the rest and raises."""
    deadline = time.monotonic() + timeout
    try:
        for p in procs:
            p.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    failed = [(i, p.returncode) for i, p in enumerate(procs) if p.returncode != 0]
    if failed:
        tails = "\n".join(f"--- {log} ---\n{log.read_text()[-3000:]}" for log in logs)
        raise SystemExit(f"sharded_lm_multiprocess: processes failed {failed}:\n{tails}")


REFERENCE = "1 process, 8 devices"


def rel_diffs(curves: dict[str, list[float]]) -> dict[str, float]:
    """Max relative difference of each loss curve from ``curves[REFERENCE]``.

    Raises:
      SystemExit: if a curve has a different number of steps than the reference.
    """
    ref = np.asarray(curves[REFERENCE], np.float64)
    diffs = {}
    for name, curve in curves.items():
        losses = np.asarray(curve, np.float64)
        if losses.shape != ref.shape:
            raise SystemExit(
                f"sharded_lm_multiprocess: {name} ran {losses.size} steps, not {ref.size}"
            )
        diffs[name] = float(np.max(np.abs(losses - ref) / np.abs(ref)))
    return diffs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--mesh", default="4,2", help="DATA,MODEL over the 8 devices")
    parser.add_argument("--full-model", action="store_true", help="default model, not --tiny")
    parser.add_argument("--tol", type=float, default=1e-5, help="max relative loss difference")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/sharded_lm_multiprocess")
    args = parser.parse_args(argv)

    out = common.out_dir(args.out)
    shared = [
        *(() if args.full_model else ("--tiny",)),
        *("--steps", str(args.steps), "--mesh", args.mesh, "--seed", str(args.seed)),
        *("--eval-bytes", "0", "--quiet"),
    ]
    port = free_port()
    multi_out = out / "two_processes"
    logs = [out / f"process_{i}.log" for i in range(2)]
    t0 = time.perf_counter()
    procs = []
    for i in range(2):
        cmd = [
            sys.executable,
            str(SCRIPT),
            *shared,
            *("--fake-devices", "4", "--num-processes", "2", "--process-id", str(i)),
            *("--coordinator", f"localhost:{port}", "--out", str(multi_out)),
        ]
        with logs[i].open("w") as log:
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env()))
    _wait(procs, logs, args.timeout)
    multi_s = time.perf_counter() - t0

    single_out = out / "one_process"
    single_log = out / "one_process.log"
    t0 = time.perf_counter()
    cmd = [sys.executable, str(SCRIPT), *shared, "--fake-devices", "8", "--out", str(single_out)]
    with single_log.open("w") as log:
        procs = [subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=_env())]
    _wait(procs, [single_log], args.timeout)
    single_s = time.perf_counter() - t0

    runs = {
        "process 0 of 2": json.loads((multi_out / "process_0.json").read_text()),
        "process 1 of 2": json.loads((multi_out / "process_1.json").read_text()),
        REFERENCE: json.loads((single_out / "metrics.json").read_text()),
    }
    ref = np.asarray(runs[REFERENCE]["losses"], np.float64)
    diffs = rel_diffs({k: v["losses"] for k, v in runs.items()})
    worst = max(diffs.values())
    metrics = {
        "steps": int(ref.size),
        "mesh": args.mesh,
        "max_rel_diff_two_processes_vs_one": worst,
        "per_process_max_rel_diff": diffs,
        "two_process_wall_seconds": multi_s,
        "one_process_wall_seconds": single_s,
        "final_loss": float(ref[-1]),
        "process_counts": {k: v["process_count"] for k, v in runs.items()},
    }
    common.write_json(
        out / "metrics.json", {**metrics, "losses": {k: v["losses"] for k, v in runs.items()}}
    )
    common.plot_curves(
        out / "losses.png",
        range(1, ref.size + 1),
        {k: v["losses"] for k, v in runs.items()},
        xlabel="step",
        ylabel="train loss (nats/byte)",
        title="2 processes x 4 devices vs 1 process x 8 devices",
    )
    rows = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    common.print_summary("sharded byte LM, multi-process", {**rows, "outputs": str(out)})
    if not worst <= args.tol:
        raise SystemExit(
            f"sharded_lm_multiprocess: losses differ by {worst:.3e} (relative) > {args.tol}"
        )
    return metrics


if __name__ == "__main__":
    main()
