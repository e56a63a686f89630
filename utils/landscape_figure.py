"""Figure of the validation landscape over (l1, l2), with where the searches went.

Takes plain arrays (a dict or any object with ``l1_values``, ``l2_values`` and
``val_mse``, such as ``hyper_local_search.landscape.ValidationGrid``), so it does not
import the pipeline. Drawn with `matplotlib.figure.Figure` and the Agg renderer, without
pyplot (nothing global touched), and written atomically as a PNG.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator

from utils.atomic_io import write_atomic

__all__ = ["GAP_FLOOR", "plot_landscape"]

#: Relative gaps below this are coloured as this (the tol-1e-4 sawtooth is about 1e-5).
GAP_FLOOR = 1e-4

#: Margin around the grid, in decades: points outside the grid are drawn in it.
_MARGIN_DECADES = 0.4
_LEVELS_PER_DECADE = 8
_TRIAL_COLOR = "black"
_HLS_COLOR = "#d62728"
_BEST_COLOR = "gold"
_BOX_COLOR = "black"
_END_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "<", ">", "h", "p", "8")
_END_COLORS = ("#ff7f0e", "#1f77b4", "#e377c2", "#17becf", "#bcbd22", "#9467bd", "#8c564b",
               "#7f7f7f", "#2ca02c", "#aec7e8", "#ffbb78", "#98df8a")


def plot_landscape(
    grid: Mapping[str, Any] | Any,
    *,
    trials: Sequence[tuple[float, float]] | None = None,
    hls_path: Sequence[tuple[float, float]] | None = None,
    end_points: Mapping[str, tuple[float, float]] | None = None,
    search_box: tuple[float, float] | None = None,
    title: str | None = None,
    path: str | os.PathLike[str],
    dpi: int = 120,
) -> Path:
    """Draw the validation MSE over (l1, l2) and the searches on it; save a PNG.

    Filled contours of the relative gap (val_mse - best) / best to the grid's best, on a
    logarithmic colour scale from ``GAP_FLOOR`` (everything closer to the best has the
    darkest colour) up, over log10 l1 (x) and log10 l2 (y); the grid's best as a gold
    star. Overlays, each optional: the Optuna trials as small dots, the HLS path as a
    red line with arrows (a square at its start), each refiner's end point as its own
    labelled hollow marker (later names drawn smaller, so points that coincide stay
    visible),
    and the Optuna search box as a dashed rectangle. The axes show the grid plus a
    margin of 0.4 decade; points outside that (e.g. l1 = 1e-10 when the grid starts at
    1e-3) or not positive are drawn on its edge, so points at the l2 = 1e-10 floor are
    visible.

    Parameters
    ----------
    grid : mapping or object
        With ``l1_values`` (n1,), ``l2_values`` (n2,), both increasing and positive, and
        ``val_mse`` (n1, n2), ``val_mse[i, j]`` the validation MSE at
        ``(l1_values[i], l2_values[j])`` (nan allowed, left blank); read as keys of a
        mapping or attributes of an object.
    trials : sequence of (l1, l2), optional
        The Optuna trials' points.
    hls_path : sequence of (l1, l2), optional
        The HLS start, then each HLS step's end point.
    end_points : mapping of str to (l1, l2), optional
        Refiner name -> its end point, shown in the legend in this order.
    search_box : (low, high), optional
        The Optuna search range, the same for l1 and l2 (the paper's: (1e-10, 1)).
    title : str, optional
        Figure title; default "Validation MSE over (l1, l2)".
    path : str or os.PathLike
        The PNG file to write (atomically); parent directories are created.
    dpi : int, default 120

    Returns
    -------
    path : Path
        The written PNG.

    Raises
    ------
    ValueError
        When the grid's arrays do not fit together, or it has no positive finite loss.
    """
    l1_values, l2_values, val_mse = _grid_arrays(grid)
    best_index = np.unravel_index(int(np.nanargmin(val_mse)), val_mse.shape)
    best_val = float(val_mse[best_index])
    x_grid, y_grid = np.log10(l1_values), np.log10(l2_values)
    x_limits = (x_grid[0] - _MARGIN_DECADES, x_grid[-1] + _MARGIN_DECADES)
    y_limits = (y_grid[0] - _MARGIN_DECADES, y_grid[-1] + _MARGIN_DECADES)

    figure = Figure(figsize=(8.5, 7.0), layout="constrained")
    axis = figure.add_subplot()
    _draw_gap(figure, axis, x_grid, y_grid, val_mse, best_val)

    if search_box is not None:
        low, high = (math.log10(value) if value > 0 else y_limits[0] for value in search_box)
        axis.add_patch(
            Rectangle((low, low), high - low, high - low, fill=False, edgecolor=_BOX_COLOR,
                      linestyle="--", linewidth=1.6, zorder=3,
                      label=f"Optuna search box [{search_box[0]:.3g}, {search_box[1]:.3g}]$^2$")
        )
    if trials:
        x, y = _to_axes(trials, x_limits, y_limits)
        axis.plot(x, y, linestyle="none", marker=".", markersize=4, color=_TRIAL_COLOR,
                  alpha=0.55, zorder=4, clip_on=False, label=f"Optuna trials ({len(x)})")
    if hls_path:
        _draw_hls_path(axis, *_to_axes(hls_path, x_limits, y_limits))
    axis.plot(x_grid[best_index[0]], y_grid[best_index[1]], linestyle="none", marker="*",
              markersize=18, color=_BEST_COLOR, markeredgecolor="black", zorder=6,
              clip_on=False,
              label=(f"grid best ({l1_values[best_index[0]]:.3g}, "
                     f"{l2_values[best_index[1]]:.3g}), val {best_val:.5g}"))
    for index, (name, point) in enumerate((end_points or {}).items()):
        x, y = _to_axes([point], x_limits, y_limits)
        axis.plot(x, y, linestyle="none", marker=_END_MARKERS[index % len(_END_MARKERS)],
                  markersize=max(6.0, 16.0 - 2.0 * index), markerfacecolor="none",
                  markeredgewidth=2.2, color=_END_COLORS[index % len(_END_COLORS)],
                  zorder=7 + index, clip_on=False,
                  label=f"{name} end ({point[0]:.3g}, {point[1]:.3g})")

    axis.set_xlim(*x_limits)
    axis.set_ylim(*y_limits)
    for log_axis in (axis.xaxis, axis.yaxis):
        log_axis.set_major_locator(MaxNLocator(nbins=10, integer=True))
        log_axis.set_major_formatter(FuncFormatter(_power_of_ten))
    axis.set_xlabel("l1 (log scale)")
    axis.set_ylabel("l2 (log scale)")
    axis.set_title(
        f"{l1_values.size} x {l2_values.size} grid; points outside it are drawn on the "
        "margin",
        fontsize="small",
    )
    figure.suptitle(title or "Validation MSE over (l1, l2)")
    figure.legend(loc="outside lower center", ncols=2, fontsize="small", framealpha=0.9)
    return write_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))


def _grid_arrays(grid: Mapping[str, Any] | Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """l1_values, l2_values and val_mse as float arrays, checked to fit together."""
    def read(key: str) -> np.ndarray:
        value = grid[key] if isinstance(grid, Mapping) else getattr(grid, key)
        return np.array(value, dtype=np.float64)

    l1_values, l2_values, val_mse = read("l1_values"), read("l2_values"), read("val_mse")
    for name, values in (("l1_values", l1_values), ("l2_values", l2_values)):
        if values.ndim != 1 or values.size < 2 or not (values > 0).all() or not (
            np.diff(values) > 0
        ).all():
            raise ValueError(f"grid {name} must hold at least 2 increasing positive values")
    if val_mse.shape != (l1_values.size, l2_values.size):
        raise ValueError(
            f"grid val_mse must have shape {(l1_values.size, l2_values.size)}; "
            f"got {val_mse.shape}"
        )
    finite = val_mse[np.isfinite(val_mse)]
    if finite.size == 0 or finite.min() <= 0:
        raise ValueError("grid val_mse needs finite values with a positive minimum")
    return l1_values, l2_values, val_mse


def _draw_gap(
    figure: Figure, axis: Axes, x_grid: np.ndarray, y_grid: np.ndarray,
    val_mse: np.ndarray, best_val: float,
) -> None:
    """Filled contours of the relative gap on a log colour scale, with its colour bar."""
    with np.errstate(invalid="ignore"):
        gap = np.ma.masked_invalid(np.maximum((val_mse - best_val) / best_val, GAP_FLOOR))
    top = max(math.ceil(math.log10(float(gap.max()))), math.log10(GAP_FLOOR) + 1)
    bottom = math.log10(GAP_FLOOR)
    levels = np.logspace(bottom, top, round((top - bottom) * _LEVELS_PER_DECADE) + 1)
    # Transposed: val_mse is indexed (l1, l2), contourf wants (y, x).
    filled = axis.contourf(x_grid, y_grid, gap.T, levels=levels,
                           norm=LogNorm(vmin=levels[0], vmax=levels[-1]), cmap="viridis",
                           extend="neither", zorder=1)
    decades = levels[:: _LEVELS_PER_DECADE]
    axis.contour(x_grid, y_grid, gap.T, levels=decades[1:-1], colors="white", linewidths=0.5,
                 alpha=0.6, zorder=2)
    colorbar = figure.colorbar(filled, ax=axis, ticks=decades)
    colorbar.set_label(f"gap to the grid's best: (val_mse - best) / best, floored at {GAP_FLOOR:g}")


def _to_axes(
    points: Sequence[tuple[float, float]], x_limits: tuple[float, float],
    y_limits: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """log10 of the points' (l1, l2), clipped to the axes; non-positive -> lower edge."""
    array = np.array(points, dtype=np.float64).reshape(-1, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(np.where(array > 0, array, np.nan))
    logs[array <= 0] = -np.inf  # clipped to the lower edge below; nan stays nan (not drawn)
    x = np.clip(logs[:, 0], *x_limits)
    y = np.clip(logs[:, 1], *y_limits)
    return x, y


def _draw_hls_path(axis: Axes, x: np.ndarray, y: np.ndarray) -> None:
    """The HLS path: a square at the start, a dot at each step's end, arrows between."""
    axis.plot(x, y, color=_HLS_COLOR, linewidth=1.8, marker="o", markersize=5,
              markeredgecolor="black", zorder=5, clip_on=False, label="HLS path")
    axis.plot(x[:1], y[:1], linestyle="none", marker="s", markersize=8, color=_HLS_COLOR,
              markeredgecolor="black", zorder=5, clip_on=False, label="HLS start")
    for k in range(x.size - 1):
        if not np.isfinite([x[k], y[k], x[k + 1], y[k + 1]]).all():
            continue
        axis.annotate("", xy=(x[k + 1], y[k + 1]), xytext=(x[k], y[k]), zorder=5,
                      arrowprops={"arrowstyle": "-|>", "color": _HLS_COLOR, "linewidth": 1.8,
                                  "mutation_scale": 16, "shrinkA": 4, "shrinkB": 6})


def _power_of_ten(value: float, _position: int) -> str:
    return f"$10^{{{round(value)}}}$"
