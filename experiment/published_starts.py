"""Replay: HLS (and refiners) from given Optuna models instead of new studies (--starts).

The file is laid out like the authors' released models,
``../shared/reference/paper_house_price_optuna_models_100_trials_50_simulations.csv``:
one row per (sampler, simulation), columns ``sampler``, ``simulation``, ``l1``, ``l2``,
``intercept`` and ``w_0`` ... ``w_{p-1}`` (the model's weights in the data set's column
order), optionally ``best_trial`` and ``runtime_optuna_s`` (the study's wall time).

For each sampler of the run, the starts with the ``--simulations`` lowest simulation
numbers are used, in that order. Each start is refitted at its (l1, l2) with the run's
solver: the Optuna columns of the summary are the losses of that refit (so every reported
loss is that of a fit at the reported point), the HLS step starts from it, and the
published weights only check that the file belongs to the data set (the record's
``start_coef_rel_diff``; the authors' weights come from a float64 fit at the unrounded
(l1, l2), the file's l1, l2 are float32-rounded: about 1e-8 apart). The Optuna run time
is the file's ``runtime_optuna_s`` (no study runs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optuna_training.elastic_net import ElasticNetProblem, mse
from optuna_training.study import Incumbent, StudyResult
from utils.errors import InputError

__all__ = [
    "REQUIRED_COLUMNS",
    "PublishedStart",
    "read_starts",
    "replayed_study",
    "start_coef_rel_diff",
]

#: Columns every starts file needs besides the weights w_0 ... w_{p-1}.
REQUIRED_COLUMNS = ("sampler", "simulation", "l1", "l2", "intercept")
#: Relative difference between a published model and its refit above which the unit's
#: faults say so (the paper's file: at most 2.8e-8).
COEF_MISMATCH = 1e-6


@dataclass(frozen=True)
class PublishedStart:
    """One given Optuna model: where the study ended and the weights it fitted there.

    Attributes
    ----------
    sampler : str
    simulation : int
        The file's simulation number.
    l1, l2 : float
        The study's best hyperparameters.
    coef : ndarray of shape (n_features,)
        The published weights (squared target units per feature unit, as fitted).
    intercept : float
    best_trial : int
        Trial number of the study's best (0 when the file does not say).
    seconds_optuna : float
        The study's wall time in seconds (nan when the file does not say).
    """

    sampler: str
    simulation: int
    l1: float
    l2: float
    coef: np.ndarray = field(repr=False)
    intercept: float
    best_trial: int
    seconds_optuna: float


def _fail(path: Path, message: str) -> InputError:
    return InputError(f"--starts {path}: {message}")


def read_starts(
    path: str | Path, *, samplers: tuple[str, ...], n_simulations: int, n_features: int
) -> dict[tuple[str, int], PublishedStart]:
    """The starts of a run, checked: unit (sampler, i) -> the sampler's i-th start.

    Parameters
    ----------
    path : str or Path
        The CSV file (layout in the module docstring).
    samplers : tuple of str
        The run's samplers; each needs ``n_simulations`` rows.
    n_simulations : int
        Starts used per sampler: those with the lowest simulation numbers.
    n_features : int
        Features of the run's data set; the file must have exactly that many weight
        columns.

    Returns
    -------
    dict
        Keys (sampler, i) for i in 0 .. n_simulations - 1.

    Raises
    ------
    InputError
        One line naming the file and what to fix: a missing or unreadable file, missing
        columns, a weight count that is not the data set's, a missing sampler, too few
        starts, a repeated (sampler, simulation), non-numeric or non-finite values, or
        negative hyperparameters.
    """
    path = Path(path)
    if not path.is_file():
        raise _fail(path, "no such file; give the CSV of Optuna models (e.g. ../shared/"
                    "reference/paper_house_price_optuna_models_100_trials_50_simulations.csv).")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise _fail(path, f"cannot be read as CSV ({type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else ''}).") from None
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise _fail(path, f"missing the column(s) {', '.join(missing)}; a starts file has "
                    f"{', '.join(REQUIRED_COLUMNS)}, w_0 ... w_(p-1).")
    weight_columns = [name for name in frame.columns if str(name).startswith("w_")]
    expected = [f"w_{j}" for j in range(len(weight_columns))]
    if weight_columns != expected:
        raise _fail(path, "the weight columns must be w_0, w_1, ... in order, without gaps.")
    if len(weight_columns) != n_features:
        raise _fail(path, f"has {len(weight_columns)} weight columns but the data set has "
                    f"{n_features} features; give the starts of this data set (--dataset).")
    numeric = ["simulation", "l1", "l2", "intercept", *weight_columns]
    numeric += [name for name in ("best_trial", "runtime_optuna_s") if name in frame.columns]
    for name in numeric:
        values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values)
        if name == "runtime_optuna_s":
            bad &= frame[name].notna().to_numpy()  # an empty time is allowed
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _fail(path, f"column {name} holds {frame[name].iloc[row]!r} in data row "
                        f"{row + 1}; every value must be a finite number.")
        frame[name] = values
    for name in ("l1", "l2"):
        if (frame[name] < 0).any():
            row = int(np.flatnonzero(frame[name].to_numpy() < 0)[0])
            raise _fail(path, f"{name} is negative in data row {row + 1}; hyperparameters "
                        "are >= 0.")
    if (frame["simulation"] % 1 != 0).any():
        raise _fail(path, "column simulation must hold whole numbers.")
    frame["sampler"] = frame["sampler"].astype(str)
    duplicated = frame.duplicated(["sampler", "simulation"])
    if duplicated.any():
        row = frame.loc[duplicated].iloc[0]
        raise _fail(path, f"sampler {row['sampler']} simulation {int(row['simulation'])} "
                    "appears twice; give each (sampler, simulation) once.")
    present = sorted(set(frame["sampler"]))
    starts: dict[tuple[str, int], PublishedStart] = {}
    for sampler in samplers:
        rows = frame.loc[frame["sampler"] == sampler].sort_values("simulation")
        if rows.empty:
            raise _fail(path, f"no starts for the sampler {sampler} (the file has "
                        f"{', '.join(present)}); drop it from --samplers.")
        if len(rows) < n_simulations:
            raise _fail(path, f"has {len(rows)} starts for {sampler}, fewer than --simulations "
                        f"{n_simulations}; ask for at most {len(rows)}.")
        coefs = rows[weight_columns].to_numpy(dtype=np.float64)
        for index in range(n_simulations):
            row = rows.iloc[index]
            starts[(sampler, index)] = PublishedStart(
                sampler=sampler,
                simulation=int(row["simulation"]),
                l1=float(row["l1"]),
                l2=float(row["l2"]),
                coef=coefs[index].copy(),
                intercept=float(row["intercept"]),
                best_trial=int(row["best_trial"]) if "best_trial" in rows else 0,
                seconds_optuna=(float(row["runtime_optuna_s"])
                                if "runtime_optuna_s" in rows else math.nan),
            )
    return starts


def replayed_study(
    problem: ElasticNetProblem,
    start: PublishedStart,
    test: tuple[np.ndarray, np.ndarray],
    *,
    n_trials: int,
) -> StudyResult:
    """The study a published start stands for: its (l1, l2), refitted with the problem's solver.

    The history is the one incumbent (at the start's best trial); ``seconds`` is the
    published study time.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits, and the solver of the refit.
    start : PublishedStart
    test : tuple (X_test, y_test)
        For the incumbent's test loss.
    n_trials : int
        Trials of the published study (the run's --trials), for the record.
    """
    fit = problem.fit(start.l1, start.l2)
    incumbent = Incumbent(
        trial=start.best_trial, l1=start.l1, l2=start.l2, train_mse=problem.train_mse(fit),
        val_mse=problem.val_mse(fit), test_mse=mse(*test, fit.coef, fit.intercept),
    )
    return StudyResult(sampler=start.sampler, l1=start.l1, l2=start.l2, fit=fit,
                       n_trials=n_trials, history=(incumbent,),
                       seconds=start.seconds_optuna)


def start_coef_rel_diff(start: PublishedStart, coef: np.ndarray) -> float:
    """Largest weight difference between the published model and ``coef``, relative to
    the published weights' largest magnitude (0 when both are all zero).

    Parameters
    ----------
    start : PublishedStart
    coef : ndarray of shape (n_features,)
        The refit at the start's (l1, l2).
    """
    scale = float(np.max(np.abs(start.coef), initial=0.0))
    diff = float(np.max(np.abs(coef - start.coef), initial=0.0))
    return diff / scale if scale > 0 else diff
