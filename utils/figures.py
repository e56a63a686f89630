"""Figures of a run: the Optuna incumbent's losses per trial, then where HLS ends.

Drawn with `matplotlib.figure.Figure` and the Agg renderer, without pyplot: nothing
global is touched (no backend switch, no open-figure registry), so this is safe in
worker processes and tests.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from utils.atomic_io import write_atomic
from utils.statistics import mean_ci95

__all__ = ["LOSS_PANELS", "incumbent_curve", "plot_sampler_losses"]

#: Loss key in the incumbent and HLS records -> panel title, left to right.
LOSS_PANELS: Mapping[str, str] = MappingProxyType(
    {
        "train_mse": "Training MSE",
        "val_mse": "Validation MSE",
        "test_mse": "Test MSE",
    }
)

_LOG_SCALE_RATIO = 10.0
_SIMULATION_COLOR = "C0"
_HLS_COLOR = "C1"
_MEAN_COLOR = "black"


def incumbent_curve(history: Sequence[Mapping[str, float]], key: str, n_trials: int) -> np.ndarray:
    """Loss of the incumbent (best validation MSE so far) after each trial.

    Parameters
    ----------
    history : sequence of mappings
        One entry per improvement of the best validation MSE, each with ``trial`` (int,
        numbered from 0) and the loss `key`; any order. If a trial appears twice, its
        last entry counts.
    key : str
        Loss to read, e.g. ``"val_mse"`` (squared target units).
    n_trials : int
        Trials in the study.

    Returns
    -------
    curve : ndarray of shape (n_trials,)
        ``curve[k]`` is the loss of the last entry with ``trial <= k``; nan before the
        first entry (no incumbent yet), everywhere if `history` is empty.

    Raises
    ------
    ValueError
        When an entry's trial is outside ``0 .. n_trials - 1``.
    """
    curve = np.full(n_trials, np.nan)
    by_trial = {int(entry["trial"]): float(entry[key]) for entry in history}
    if not by_trial:
        return curve
    trials = np.array(sorted(by_trial))
    if trials[0] < 0 or trials[-1] >= n_trials:
        raise ValueError(
            f"incumbent trials must lie in 0..{n_trials - 1}; got {trials[0]}..{trials[-1]}"
        )
    losses = np.array([by_trial[trial] for trial in trials])
    latest = np.searchsorted(trials, np.arange(n_trials), side="right") - 1
    has_incumbent = latest >= 0
    curve[has_incumbent] = losses[latest[has_incumbent]]
    return curve


def plot_sampler_losses(
    histories: Sequence[Sequence[Mapping[str, float]]],
    hls_losses: Sequence[Mapping[str, float]],
    *,
    sampler: str,
    n_trials: int,
    path: str | os.PathLike[str],
    target_units: str = "target units",
    dpi: int = 120,
    dataset: str | None = None,
) -> Path:
    """Draw one sampler's incumbent losses over the trials and the HLS losses; save a PNG.

    Three panels (training, validation, test MSE). In each: for every simulation a thin
    step line of the incumbent's loss against the trial number, from the incumbent's
    first trial to ``n_trials - 1`` (dots mark the improvements); the mean over the
    simulations in bold, drawn at the trials where every simulation has an incumbent;
    then, at an extra position labelled "HLS" on the right, each simulation's loss after
    the hyper local search as a dot and their mean with its 95% CI bar (no bar with one
    simulation: not computable). The y axis is logarithmic when the plotted losses span
    more than a factor 10.

    Parameters
    ----------
    histories : sequence of length n_simulations of sequences of mappings
        Per simulation, the incumbent history: one mapping per improvement of the best
        validation MSE, with ``trial`` (int, from 0), ``train_mse``, ``val_mse`` and
        ``test_mse`` (squared target units); other keys (``l1``, ``l2``) are ignored.
        An empty history (no completed trial) draws no line and no mean.
    hls_losses : sequence of length n_simulations of mappings
        Per simulation, the HLS model's ``train_mse``, ``val_mse`` and ``test_mse``
        (squared target units). A nan (failed step) draws no dot and no mean.
    sampler : str
        Sampler name, for the title.
    n_trials : int
        Optuna trials per study (x axis 0 .. n_trials - 1).
    path : str or os.PathLike
        Target PNG file; written atomically, parent directories created.
    target_units : str, default "target units"
        Units of the target, for the y label ``MSE (target_units^2)``; e.g. "dollars".
    dpi : int, default 120
        Resolution of the PNG.
    dataset : str, optional
        Name of the data set, at the start of the title.

    Returns
    -------
    path : Path
        The written PNG.

    Raises
    ------
    ValueError
        When `histories` is empty, its length differs from `hls_losses`, `n_trials` is
        below 1, or an incumbent's trial lies outside ``0 .. n_trials - 1``.
    """
    n_simulations = len(histories)
    if n_simulations == 0:
        raise ValueError("plot_sampler_losses: no simulation to draw")
    if len(hls_losses) != n_simulations:
        raise ValueError(
            f"plot_sampler_losses: {n_simulations} histories but {len(hls_losses)} HLS results"
        )
    if n_trials < 1:
        raise ValueError(f"plot_sampler_losses: n_trials must be at least 1, got {n_trials}")

    trials = np.arange(n_trials)
    hls_x = (n_trials - 1) + max(1.0, 0.08 * n_trials)
    figure = Figure(figsize=(4.6 * len(LOSS_PANELS), 4.4), layout="constrained")
    axes = figure.subplots(1, len(LOSS_PANELS), sharex=True)
    for axis, (key, title) in zip(axes, LOSS_PANELS.items(), strict=True):
        curves = np.array([incumbent_curve(history, key, n_trials) for history in histories])
        hls = np.array([float(result[key]) for result in hls_losses])
        _draw_panel(axis, trials, curves, histories, hls, hls_x=hls_x)
        axis.set_title(title)
        axis.set_xlabel("Optuna trial number")
        axis.set_ylabel(f"MSE ({target_units}$^2$)")
        _set_x_ticks(axis, n_trials, hls_x)
        _maybe_log_scale(axis, np.concatenate([curves.ravel(), hls]))
    axes[0].legend(loc="best", fontsize="small")
    trial_word = "trial" if n_trials == 1 else "trials"
    simulation_word = "simulation" if n_simulations == 1 else "simulations"
    prefix = "" if dataset is None else f"{dataset}, "
    figure.suptitle(
        f"{prefix}{sampler} sampler: incumbent after each of {n_trials} Optuna {trial_word}, "
        f"then HLS ({n_simulations} {simulation_word})"
    )
    return write_atomic(path, lambda tmp: figure.savefig(tmp, format="png", dpi=dpi))


def _draw_panel(
    axis: Axes,
    trials: np.ndarray,
    curves: np.ndarray,
    histories: Sequence[Sequence[Mapping[str, float]]],
    hls: np.ndarray,
    *,
    hls_x: float,
) -> None:
    """Thin incumbent lines, their mean, a separator, then the HLS dots and mean +- CI."""
    for index, (curve, history) in enumerate(zip(curves, histories, strict=True)):
        label = "one simulation" if index == 0 else None
        axis.plot(
            trials,
            curve,
            drawstyle="steps-post",
            color=_SIMULATION_COLOR,
            linewidth=0.7,
            alpha=0.45,
            label=label,
        )
        improvements = sorted(int(entry["trial"]) for entry in history)
        axis.plot(
            improvements,
            curve[improvements],
            linestyle="none",
            marker=".",
            markersize=3,
            color=_SIMULATION_COLOR,
            alpha=0.6,
        )
    with np.errstate(invalid="ignore"):
        mean_curve = curves.mean(axis=0)  # nan where a simulation has no incumbent yet
    axis.plot(
        trials,
        mean_curve,
        drawstyle="steps-post",
        color=_MEAN_COLOR,
        linewidth=2.2,
        label="mean over simulations",
    )

    axis.axvline((trials[-1] + hls_x) / 2, color="0.6", linestyle=":", linewidth=1)
    offsets = _spread(hls.size, width=0.25 * (hls_x - trials[-1]))
    axis.plot(
        hls_x + offsets,
        hls,
        linestyle="none",
        marker="o",
        markersize=3.5,
        color=_HLS_COLOR,
        alpha=0.7,
        label="HLS, one simulation",
    )
    mean, ci95 = mean_ci95(hls)
    if np.isfinite(mean):
        yerr = ci95 if np.isfinite(ci95) else None
        axis.errorbar(
            [hls_x],
            [mean],
            yerr=yerr,
            color=_MEAN_COLOR,
            marker="D",
            markersize=5,
            capsize=4,
            linewidth=1.5,
            label="HLS mean, 95% CI",
        )


def _spread(n_points: int, *, width: float) -> np.ndarray:
    """Deterministic horizontal offsets in [-width, width] so equal dots stay visible."""
    if n_points <= 1:
        return np.zeros(n_points)
    return np.linspace(-width, width, n_points)


def _set_x_ticks(axis: Axes, n_trials: int, hls_x: float) -> None:
    """Integer trial ticks within 0 .. n_trials - 1, then "HLS"."""
    locator = MaxNLocator(nbins=5, integer=True)
    candidates = locator.tick_values(0, n_trials - 1)
    ticks = [int(tick) for tick in candidates if 0 <= tick <= n_trials - 1]
    axis.set_xticks([*ticks, hls_x], labels=[*map(str, ticks), "HLS"])
    axis.set_xlim(-0.5, hls_x + max(1.0, 0.05 * n_trials))


def _maybe_log_scale(axis: Axes, values: np.ndarray) -> None:
    """Logarithmic y when the finite plotted values are positive and span > 10x."""
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() > 0 and finite.max() / finite.min() > _LOG_SCALE_RATIO:
        axis.set_yscale("log")
