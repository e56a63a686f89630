"""Figure of the refiners' validation and test changes against their Optuna start.

One figure per sampler: two panels side by side, validation (what the refiners
minimise) and test (the truth nobody tuned on). One row per refiner; each simulation is
a dot at its relative change (end - start) / start in percent, the median a black bar,
0 a dashed line; the right margin counts the simulations that got better / worse. The
x axis is symmetric-logarithmic (linear within +-``LINEAR_PERCENT``), so a -14% gain and
a 1e-3% one are both readable. Drawn with `matplotlib.figure.Figure` (no pyplot) and
written atomically as a PNG.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from utils.atomic_io import write_atomic

__all__ = ["LINEAR_PERCENT", "plot_refiner_changes", "relative_changes"]

#: Half-width of the linear part of the symmetric-log axis, in percent.
LINEAR_PERCENT = 0.01
#: Relative changes within this are drawn as no change and counted as neither.
TIE_RTOL = 1e-6
_COLORS = ("#d62728", "#9467bd", "#1f77b4", "#2ca02c", "#ff7f0e", "#8c564b", "#7f7f7f")


def _symlog(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log10(1.0 + np.abs(x) / LINEAR_PERCENT)


def _symlog_inverse(y: np.ndarray) -> np.ndarray:
    return np.sign(y) * LINEAR_PERCENT * (10.0 ** np.abs(y) - 1.0)


def _limits(values: np.ndarray) -> tuple[float, float]:
    """x limits holding every value and 0, padded by 6% of the symlog range each side."""
    ends = _symlog(np.array([min(values.min(initial=0.0), 0.0), max(values.max(initial=0.0),
                                                                     0.0)]))
    pad = 0.06 * max(ends[1] - ends[0], 1.0)
    low, high = _symlog_inverse(np.array([ends[0] - pad, ends[1] + pad]))
    return float(low), float(high)


def _ticks(low: float, high: float) -> list[float]:
    """0 and +-10^k % inside (low, high), at least 9% of the symlog width apart."""
    candidates = [0.0] + [sign * 10.0**k for k in range(-2, 4) for sign in (-1.0, 1.0)]
    inside = sorted(v for v in candidates if low < v < high)
    width = float(np.diff(_symlog(np.array([low, high])))[0])
    ticks: list[float] = []
    for value in sorted(inside, key=abs, reverse=True):  # keep the large ones first
        if all(abs(_symlog(np.array([value]))[0] - _symlog(np.array([t]))[0]) > 0.09 * width
               for t in ticks):
            ticks.append(value)
    if 0.0 not in ticks:
        ticks.append(0.0)
    return sorted(ticks)


def relative_changes(frame: pd.DataFrame, loss: str) -> np.ndarray:
    """(end - start) / start of ``loss`` ("val" or "test") per row of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Columns ``{loss}_mse`` and ``start_{loss}_mse``.
    loss : {"val", "test"}
    """
    end = frame[f"{loss}_mse"].to_numpy(dtype=float)
    start = frame[f"start_{loss}_mse"].to_numpy(dtype=float)
    return (end - start) / start


def plot_refiner_changes(
    frame: pd.DataFrame,
    *,
    path: str | os.PathLike[str],
    title: str | None = None,
    refiner_order: Sequence[str] | None = None,
    tie_rtol: float = TIE_RTOL,
    dpi: int = 150,
) -> Path:
    """Draw every refiner's validation and test change against the start; save a PNG.

    Parameters
    ----------
    frame : DataFrame
        One row per (simulation, refiner) of one sampler, with columns ``refiner``,
        ``val_mse``, ``start_val_mse``, ``test_mse``, ``start_test_mse`` (the refiners
        sheet's).
    path : str or os.PathLike
        The PNG to write; parent directories are created.
    title : str, optional
        Figure title.
    refiner_order : sequence of str, optional
        Rows from top to bottom; default the frame's order of first appearance.
    tie_rtol : float
        Relative changes within it count as neither better nor worse.
    dpi : int

    Returns
    -------
    path : Path
    """
    names = list(refiner_order) if refiner_order is not None else list(
        dict.fromkeys(frame.refiner))
    figure = Figure(figsize=(10.0, 1.0 + 0.55 * max(len(names), 1)), layout="constrained")
    axes = figure.subplots(1, 2, sharey=True)
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every time
    for axis, loss, label in ((axes[0], "val", "validation MSE"), (axes[1], "test", "test MSE")):
        drawn = []
        for row, name in enumerate(names):
            part = frame[frame.refiner == name]
            changes = 100.0 * relative_changes(part, loss)
            changes = changes[np.isfinite(changes)]
            drawn.append(changes)
            y = len(names) - 1 - row
            color = _COLORS[row % len(_COLORS)]
            if changes.size:
                jitter = rng.uniform(-0.18, 0.18, changes.size)
                axis.plot(changes, y + jitter, linestyle="none", marker="o", markersize=3.5,
                          alpha=0.6, color=color)
                axis.plot([np.median(changes)] * 2, [y - 0.32, y + 0.32], color="black",
                          linewidth=2.5, solid_capstyle="butt")
                better = int((changes < -100 * tie_rtol).sum())
                worse = int((changes > 100 * tie_rtol).sum())
                axis.annotate(f"{better}\u2193 {worse}\u2191", xy=(1.0, y), xycoords=(
                    "axes fraction", "data"), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize="small", color="dimgray")
        axis.axvline(0.0, color="gray", linestyle="--", linewidth=1)
        axis.set_xscale("symlog", linthresh=LINEAR_PERCENT)
        limits = _limits(np.concatenate(drawn) if drawn else np.zeros(1))
        axis.set_xlim(*limits)
        ticks = _ticks(*limits)
        axis.set_xticks(ticks, [f"{t:+g}" if t else "0" for t in ticks])
        axis.xaxis.set_minor_locator(NullLocator())
        axis.set_xlabel(f"{label}: (refiner - start) / start, %")
        axis.grid(axis="x", alpha=0.3)
        axis.set_title(f"{label} (median: bar; \u2193 better, \u2191 worse)", fontsize="medium")
    axes[0].set_yticks(range(len(names)), list(reversed(names)))
    axes[0].set_ylim(-0.6, len(names) - 0.4)
    if title:
        figure.suptitle(title)
    return write_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))
