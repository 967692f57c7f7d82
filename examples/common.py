"""Small helpers shared by the example scripts: output folder, JSON, plots, summary table."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table


def out_dir(path: str) -> pathlib.Path:
    """Creates (if needed) and returns the output folder."""
    p = pathlib.Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_json(path: pathlib.Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(dict(data), indent=2, sort_keys=True) + "\n")


def plot_curves(
    path: pathlib.Path,
    x: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    hline: float | None = None,
) -> None:
    """Writes a line plot with one line per entry of ``curves``."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, y in curves.items():
        ax.plot(list(x)[: len(y)], y, label=label)
    if hline is not None:
        ax.axhline(hline, color="grey", linestyle="--", linewidth=1, label=f"target {hline:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def print_summary(title: str, rows: Mapping[str, Any]) -> None:
    """Prints a two-column summary table."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    Console().print(table)
