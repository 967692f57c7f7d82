"""Runs every benchmark and writes ``<out>/bench.md`` and ``<out>/bench.json``.

    python -m benchmarks.run_all [--quick] [--out benchmarks/results] [--only haiku rlax ...]

Ratios are ours/theirs (lower is better): the median of per-round ratios from interleaved
repeats in one process, with their min-max spread. Needs dm-haiku, rlax, flax, equinox and
optax next to haiku_core and rlax_core (``nox -s bench`` builds such a venv).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, compare, dump_json, markdown_table

SUITES = ("import", "haiku", "peers", "rlax", "batched")
IMPORTS = {"haiku_core": "haiku", "rlax_core": "rlax"}


def _import_seconds(module: str) -> float:
    """Wall time of ``import <module>`` in a fresh interpreter, jax already imported."""
    code = (
        "import time, jax, jax.numpy; t = time.perf_counter(); "
        f"import {module}; print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_imports(quick: bool) -> list[Row]:
    """``import haiku_core`` / ``import rlax_core`` vs ``import haiku`` / ``import rlax``."""
    rows = []
    for ours, theirs in IMPORTS.items():
        times: dict[str, list[float]] = {ours: [], theirs: []}
        for m in (ours, theirs):  # untimed: writes .pyc files, warms the OS file cache
            _import_seconds(m)
        for r in range(3 if quick else 5):
            order = (ours, theirs) if r % 2 == 0 else (theirs, ours)
            for m in order:
                times[m].append(_import_seconds(m))
        rows.append(
            compare(
                "import",
                f"import {ours} (on top of jax)",
                times,
                ours,
                theirs,
                target=0.5,
            )
        )
    return rows


def _run_suite(suite: str, quick: bool, on_rows: Callable[[list[Row]], None]) -> None:
    """Runs one suite, handing its rows to ``on_rows`` part by part."""
    if suite == "import":
        on_rows(bench_imports(quick))
    elif suite == "haiku":
        from benchmarks import bench_haiku

        bench_haiku.run(quick, on_rows)
    elif suite == "peers":
        from benchmarks import bench_peers

        on_rows(bench_peers.run(quick))
    elif suite == "batched":
        from benchmarks import bench_batched

        bench_batched.run(quick, on_rows)
    else:
        from benchmarks import bench_rlax

        bench_rlax.run(quick, on_rows)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_meta() -> dict[str, Any]:
    import jax

    devices = jax.devices()
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(d) for d in devices],
        "loadavg_start": os.getloadavg(),
        "command": " ".join(["python -m benchmarks.run_all", *sys.argv[1:]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, T <= 2048")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--only", nargs="+", choices=SUITES, default=list(SUITES))
    parser.add_argument(
        "--gpu",
        action="store_true",
        help="label rows as GPU and require a GPU backend (run where jax sees a GPU)",
    )
    args = parser.parse_args(argv)

    import jax

    if args.gpu and jax.default_backend() != "gpu":
        parser.error(f"--gpu: jax backend is {jax.default_backend()!r}, not 'gpu'")
    meta = machine_meta()
    t0 = time.perf_counter()
    rows: list[Row] = []
    failed: list[str] = []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "bench_gpu" if args.gpu else "bench"

    def on_rows(new: list[Row]) -> None:
        # Written after every part, so a run cut short still leaves its rows.
        if args.gpu:
            for r in new:
                r.group = f"GPU {r.group}"
        rows.extend(new)
        meta["loadavg_end"] = os.getloadavg()
        meta["total_s"] = round(time.perf_counter() - t0, 1)
        (out / f"{stem}.md").write_text(_report(rows, meta, failed))
        dump_json(rows, meta, str(out / f"{stem}.json"))

    for suite in args.only:
        ts = time.perf_counter()
        try:
            _run_suite(suite, args.quick, on_rows)
        except Exception:  # noqa: BLE001 -- keep the other suites' rows, report the failure
            traceback.print_exc()
            failed.append(suite)
        dt = time.perf_counter() - ts
        print(f"[bench] {suite}: {dt:.0f} s", file=sys.stderr, flush=True)
    meta["total_s"] = round(time.perf_counter() - t0, 1)
    text = _report(rows, meta, failed)
    (out / f"{stem}.md").write_text(text)
    dump_json(rows, meta, str(out / f"{stem}.json"))
    print(text)
    print(f"[bench] wrote {out / stem}.md and .json", file=sys.stderr)
    if failed:
        print(f"[bench] FAILED suites: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _report(rows: list[Row], meta: dict[str, Any], failed: list[str]) -> str:
    missed = [r for r in rows if r.met is False]
    header = (
        f"date: {meta['date']}; machine: {meta['nproc']} x {meta['cpu']}; "
        f"jax {meta['jax']} ({meta['backend']}); python {meta['python']}; "
        f"load avg start/end: {meta['loadavg_start'][0]:.1f}/{meta['loadavg_end'][0]:.1f}; "
        f"total {meta['total_s']} s\n\ncommand: `{meta['command']}`\n\n"
        "ratio = ours/theirs, median of per-round ratios of interleaved repeats "
        "(min-max in parentheses); best/best = fastest ours / fastest theirs; "
        "lower is better.\n"
    )
    summary = (
        f"\ntargets: {sum(r.met is True for r in rows)} met, {len(missed)} missed"
        + (f"; FAILED suites: {', '.join(failed)}" if failed else "")
        + "".join(
            f"\n- missed: {r.group} | {r.case} | {r.ours_name} vs {r.theirs_name}"
            for r in missed
        )
        + "\n"
    )
    return header + "\n" + markdown_table(rows) + "\n" + summary


if __name__ == "__main__":
    raise SystemExit(main())
