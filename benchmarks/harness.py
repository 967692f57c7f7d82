"""Timing utilities for side-by-side benchmarks: interleaved repeats, medians, spreads, tables.

Machines running these benchmarks are noisy (shared CI runners, other test runs), so every
comparison is made *in the same process* with *interleaved* repeats: each round runs every
contender once, in a rotating order, and the ratio ours/theirs is computed per round. The
reported ratio is the median over rounds; the spread is the min-max of the per-round ratios.
Absolute times are reported for orientation only; nothing here asserts on timings.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Summary:
    """Median and min-max spread of a sample of positive numbers (seconds or ratios)."""

    median: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summarises ``samples``; raises ``ValueError`` on an empty sample."""
        if not samples:
            raise ValueError("Summary.of: got an empty sample")
        return cls(statistics.median(samples), min(samples), max(samples), len(samples))


def per_round_ratios(ours: Sequence[float], theirs: Sequence[float]) -> list[float]:
    """Round-by-round ratios ``ours[i] / theirs[i]`` of two interleaved samples."""
    if len(ours) != len(theirs):
        raise ValueError(
            f"per_round_ratios: samples differ in length ({len(ours)} vs {len(theirs)})"
        )
    return [a / b for a, b in zip(ours, theirs, strict=True)]


def _time_once(fn: Callable[[], Any], inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def calibrate(
    fn: Callable[[], Any], target_s: float = 1e-3, max_inner: int = 1000
) -> int:
    """Number of back-to-back calls so that one timed sample lasts about ``target_s``."""
    fn()  # warm-up (compiles, fills caches)
    inner = 1
    while inner < max_inner:
        if _time_once(fn, inner) * inner >= target_s:
            break
        inner *= 2
    return min(inner, max_inner)


def interleaved(
    fns: Mapping[str, Callable[[], Any]],
    rounds: int,
    *,
    inner: int | None = None,
    target_s: float = 1e-3,
    warmup: bool = True,
) -> dict[str, list[float]]:
    """Times every callable once per round, rotating the order each round.

    Args:
      fns: name -> zero-argument callable (it must block until its result is ready).
      rounds: number of rounds (samples per callable).
      inner: calls per sample; ``None`` calibrates one count shared by all callables (the
        smallest of their calibrated counts), ``1`` for slow calls.
      target_s: calibration target duration of one sample.
      warmup: call each function once before timing (``inner=None`` always warms up).

    Returns:
      name -> list of ``rounds`` per-call times in seconds, in round order.
    """
    names = list(fns)
    if inner is None:
        inner = min(calibrate(fns[n], target_s) for n in names)
    elif warmup:
        for n in names:
            fns[n]()
    out: dict[str, list[float]] = {n: [] for n in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            k = r % len(names)
            for n in names[k:] + names[:k]:
                out[n].append(_time_once(fns[n], inner))
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
    return out


@dataclasses.dataclass
class Row:
    """One comparison: our time (or size) against a reference's, and their ratio."""

    group: str
    case: str
    ours_name: str
    theirs_name: str
    ours: Summary
    theirs: Summary
    ratio: Summary
    unit: str = "s"
    target: float | None = None
    note: str = ""

    @property
    def best(self) -> float:
        """Ratio of the fastest samples, ``min(ours) / min(theirs)`` (robust to load spikes)."""
        return self.ours.lo / self.theirs.lo

    @property
    def met(self) -> bool | None:
        """Whether the median ratio meets the target (``None`` when there is no target)."""
        return None if self.target is None else self.ratio.median <= self.target

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["met"] = self.met
        d["best"] = self.best
        return d


def compare(
    group: str,
    case: str,
    samples: Mapping[str, Sequence[float]],
    ours: str,
    theirs: str,
    *,
    target: float | None = None,
    unit: str = "s",
    note: str = "",
) -> Row:
    """Builds a ``Row`` from interleaved samples of ``ours`` and ``theirs``."""
    return Row(
        group=group,
        case=case,
        ours_name=ours,
        theirs_name=theirs,
        ours=Summary.of(samples[ours]),
        theirs=Summary.of(samples[theirs]),
        ratio=Summary.of(per_round_ratios(samples[ours], samples[theirs])),
        unit=unit,
        target=target,
        note=note,
    )


def size_row(
    group: str,
    case: str,
    ours_name: str,
    ours: float,
    theirs_name: str,
    theirs: float,
    unit: str,
    *,
    target: float | None = None,
    note: str = "",
) -> Row:
    """A deterministic comparison (sizes, counts): one sample each, ratio without spread."""
    return Row(
        group,
        case,
        ours_name,
        theirs_name,
        Summary.of([ours]),
        Summary.of([theirs]),
        Summary.of([ours / theirs]),
        unit=unit,
        target=target,
        note=note,
    )


def fmt_value(x: float, unit: str) -> str:
    """Human-readable time (``unit="s"``) or plain number."""
    if unit != "s":
        return f"{x:,.0f}"
    if x >= 1.0:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.2f} ms"
    return f"{x * 1e6:.1f} µs"


def fmt_ratio(s: Summary) -> str:
    if s.n == 1 or s.lo == s.hi:
        return f"{s.median:.2f}x"
    return f"{s.median:.2f}x ({s.lo:.2f}-{s.hi:.2f})"


def markdown_table(rows: Sequence[Row]) -> str:
    """Rows as a Markdown table (ratio = ours/theirs, lower is better)."""
    lines = [
        (
            "| group | case | ours | theirs | ours (median) | theirs (median) "
            "| ratio ours/theirs (min-max) | best/best | target | met |"
        ),
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in rows:
        met = {None: "", True: "yes", False: "**no**"}[r.met]
        target = "" if r.target is None else f"<= {r.target:g}x"
        case = r.case + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {r.group} | {case} | {r.ours_name} | {r.theirs_name} "
            f"| {fmt_value(r.ours.median, r.unit)} | {fmt_value(r.theirs.median, r.unit)} "
            f"| {fmt_ratio(r.ratio)} | {r.best:.2f}x | {target} | {met} |"
        )
    return "\n".join(lines)


def dump_json(rows: Sequence[Row], meta: Mapping[str, Any], path: str) -> None:
    """Writes ``{"meta": ..., "rows": [...]}`` to ``path``."""
    with open(path, "w") as f:
        json.dump(
            {"meta": dict(meta), "rows": [r.to_json() for r in rows]}, f, indent=1
        )
