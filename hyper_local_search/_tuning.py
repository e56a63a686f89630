"""The estimator's tuning on one or more (training, validation) folds: the search box,
the Optuna study, and the HLS search over the folds' mean validation MSE.

With one fold (a held-out validation part) the HLS search is ``hls_search`` itself. With
several folds (cross-validation) the objective is the mean of the folds' validation MSEs
(each fold's model fitted on its own training part, as ``ElasticNetCV`` scores), and one
HLS step is: each fold's LP direction at its own model (``hls_direction``), their mean
(normalised to unit length) as the common direction, and the line search
(``fast_line_search`` or ``paper_line_search``) on the mean validation MSE along it.

Private: the public entry point is ``hyper_local_search.ElasticNetHLS``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import optuna

from hyper_local_search.direction_lp import Direction
from hyper_local_search.hls_search import (
    MIN_RELATIVE_IMPROVEMENT,
    MIN_RELATIVE_IMPROVEMENT_CONVERGED,
    HLSSearchResult,
    hls_search,
)
from hyper_local_search.hls_step import hls_direction, hyperparameters_along
from hyper_local_search.line_search import LineSearchResult, fast_line_search, paper_line_search
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem
from optuna_training.samplers import make_sampler
from optuna_training.search_space import SearchSpace

#: The "auto" box, relative to the data: l1 log-uniform on [L1_LOW, 1] x alpha_max (the
#: smallest l1 with an all-zero model), l2 log-uniform on [L2_LOW, L2_HIGH] x the mean
#: variance of the features (the scale of the ridge term's curvature).
AUTO_L1_LOW = 1e-5
AUTO_L2_LOW = 1e-6
AUTO_L2_HIGH = 1e2


@dataclass(frozen=True)
class Box:
    """Bounds of l1 and l2 in a study (each its own range; log-uniform or uniform).

    Attributes
    ----------
    l1_low, l1_high, l2_low, l2_high : float
        0 < low < high for a log box, 0 <= low < high otherwise.
    log : bool
    """

    l1_low: float
    l1_high: float
    l2_low: float
    l2_high: float
    log: bool

    @classmethod
    def from_space(cls, space: SearchSpace) -> Box:
        """The box of a SearchSpace (the same range for l1 and l2).

        Parameters
        ----------
        space : SearchSpace
        """
        return cls(space.low, space.high, space.low, space.high, space.log)

    def grid_axes(self, n_trials: int) -> tuple[list[float], list[float]]:
        """ceil(sqrt(n_trials)) evenly (or log-evenly) spaced values of l1 and of l2."""
        n_points = math.ceil(math.sqrt(n_trials))
        spacing = np.geomspace if self.log else np.linspace
        return ([float(v) for v in spacing(self.l1_low, self.l1_high, n_points)],
                [float(v) for v in spacing(self.l2_low, self.l2_high, n_points)])


def auto_box(X: np.ndarray, y: np.ndarray) -> Box:
    """The "auto" search box of the data (X, y) (see AUTO_L1_LOW).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    """
    X_centred = X - X.mean(axis=0)
    alpha_max = float(np.abs(X_centred.T @ (y - y.mean())).max(initial=0.0)) / X.shape[0]
    variance = float(np.mean(X_centred**2))
    alpha_max = alpha_max if alpha_max > 0 and math.isfinite(alpha_max) else 1.0
    variance = variance if variance > 0 and math.isfinite(variance) else 1.0
    return Box(AUTO_L1_LOW * alpha_max, alpha_max, AUTO_L2_LOW * variance,
               AUTO_L2_HIGH * variance, log=True)


def make_box_sampler(sampler: str | optuna.samplers.BaseSampler, seed: int, *, n_trials: int,
                     box: Box) -> optuna.samplers.BaseSampler:
    """The study's sampler: by name (seeded as the experiment seeds it), or a copy of one.

    Parameters
    ----------
    sampler : {"tpe", "random", "qmc", "grid"} or optuna.samplers.BaseSampler
        A sampler object is deep-copied, so every fit starts from the same state.
    seed : int
    n_trials : int
        Sets the grid's resolution (ceil(sqrt(n_trials)) values per hyperparameter).
    box : Box
    """
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return copy.deepcopy(sampler)
    if sampler == "grid":
        l1_axis, l2_axis = box.grid_axes(n_trials)
        return optuna.samplers.GridSampler({"l1": l1_axis, "l2": l2_axis}, seed=seed)
    # The installed Optuna's TPE, as this module was measured with (the experiment runs
    # the paper's, Optuna 3.6.1's: optuna_training.samplers, tpe="paper").
    return make_sampler(sampler, seed, n_trials=n_trials,
                        space=SearchSpace(box.l1_low, box.l1_high, box.log), tpe="current")


class FoldObjective:
    """Optuna objective: mean validation MSE over the folds of the elastic net at (l1, l2).

    Keeps the best trial's fits (one per fold) and counts the fits. With a solver whose
    answer does not depend on its start (``Solver.warm_start``) each fold's fit starts
    from that fold's previous model.

    Parameters
    ----------
    problems : sequence of ElasticNetProblem
        One per fold, each with its validation part.
    box : Box
    """

    def __init__(self, problems: Sequence[ElasticNetProblem], box: Box) -> None:
        self.problems, self.box = list(problems), box
        self.n_fits = 0
        self.best_value = math.inf
        self.best_l1 = self.best_l2 = math.nan
        self.best_fits: list[ElasticNetFit] = []
        self._previous: list[ElasticNetFit | None] = [None] * len(self.problems)

    def __call__(self, trial: optuna.Trial) -> float:
        box = self.box
        l1 = trial.suggest_float("l1", box.l1_low, box.l1_high, log=box.log)
        l2 = trial.suggest_float("l2", box.l2_low, box.l2_high, log=box.log)
        fits = []
        for index, problem in enumerate(self.problems):
            previous = self._previous[index]
            warm = previous.coef if (problem.solver.warm_start and previous is not None) else None
            fits.append(problem.fit(l1, l2, coef_init=warm))
        self.n_fits += len(fits)
        self._previous = list(fits)
        value = mean_val_mse(self.problems, fits)
        if value < self.best_value:
            self.best_value, self.best_l1, self.best_l2, self.best_fits = value, l1, l2, fits
        return value


def mean_val_mse(problems: Sequence[ElasticNetProblem], fits: Sequence[ElasticNetFit]) -> float:
    """Mean over the folds of each fold's validation MSE (squared target units).

    Parameters
    ----------
    problems : sequence of ElasticNetProblem
    fits : sequence of ElasticNetFit
        One per problem.
    """
    return float(np.mean([p.val_mse(f) for p, f in zip(problems, fits, strict=True)]))


@dataclass(frozen=True)
class CVStep:
    """One HLS step over several folds.

    Attributes
    ----------
    l1, l2 : float
        End of the step (the start's when no fold's LP gave a direction).
    d_lam : ndarray of shape (2,)
        The common unit direction (zeros when there was none).
    fold_directions : tuple of Direction
        Each fold's LP answer at its own model.
    line_search : LineSearchResult or None
    n_fits : int
        Fits spent (over all folds).
    """

    l1: float
    l2: float
    d_lam: np.ndarray
    fold_directions: tuple[Direction, ...]
    line_search: LineSearchResult | None
    n_fits: int

    @property
    def t(self) -> float:
        """Step length along ``d_lam`` (0.0 when nothing moved)."""
        return 0.0 if self.line_search is None else self.line_search.t

    @property
    def lp_status(self) -> str:
        """"optimal" if every fold's LP was, else the statuses in fold order."""
        statuses = [d.status for d in self.fold_directions]
        return "optimal" if all(s == "optimal" for s in statuses) else ",".join(statuses)


@dataclass(frozen=True)
class CVSearchResult:
    """Outcome of up to K HLS steps on the folds' mean validation MSE.

    Attributes
    ----------
    start_l1, start_l2 : float
    steps : tuple of CVStep
    l1, l2 : float
        The best point reached (the start if no step improved).
    fits : tuple of ElasticNetFit
        Its model on each fold.
    val_mse : float
        Its mean validation MSE.
    n_fits : int
    stop_reason : str
        "steps", "no_improvement" or "no direction".
    """

    start_l1: float
    start_l2: float
    steps: tuple[CVStep, ...]
    l1: float
    l2: float
    fits: tuple[ElasticNetFit, ...]
    val_mse: float
    n_fits: int
    stop_reason: str

    @property
    def path(self) -> list[tuple[float, float]]:
        """(l1, l2) of the start and of each step's end."""
        return [(self.start_l1, self.start_l2)] + [(step.l1, step.l2) for step in self.steps]


class _MeanLossAlongLine:
    """t -> mean validation MSE over the folds at lam(t); keeps each t's fits."""

    def __init__(self, problems, lam0, d_lam, start_fits, *, reuse_start, log):
        self._problems, self._lam0, self._d_lam, self._log = problems, lam0, d_lam, log
        self._reuse_start = reuse_start
        self.fits: dict[float, list[ElasticNetFit]] = {0.0: list(start_fits)}
        self._start_loss = mean_val_mse(problems, start_fits)
        self.n_fits = 0

    def __call__(self, t: float) -> float:
        if self._reuse_start and t == 0.0:
            return self._start_loss
        nearest = self.fits[min(self.fits, key=lambda s: abs(s - t))]
        lam = hyperparameters_along(self._lam0, self._d_lam, t, log=self._log)
        fits = []
        for problem, near in zip(self._problems, nearest, strict=True):
            warm = near.coef if problem.solver.warm_start else None
            fits.append(problem.fit(float(lam[0]), float(lam[1]), coef_init=warm))
        self.n_fits += len(fits)
        self.fits[t] = fits
        return mean_val_mse(self._problems, fits)


def cv_hls_step(problems, l1, l2, fits, *, line_search, formulation, log_hyperparameters):
    """One HLS step on the folds' mean validation MSE (module docstring).

    Parameters
    ----------
    problems : sequence of ElasticNetProblem
    l1, l2 : float
        The start.
    fits : sequence of ElasticNetFit
        Each fold's model at the start.
    line_search : {"fast", "paper"}
    formulation : {"paper", "exact"}
    log_hyperparameters : bool
    """
    fast = line_search == "fast"
    directions = tuple(
        hls_direction(problem, l1, l2, fit, formulation=formulation,
                      log_hyperparameters=log_hyperparameters,
                      lp_method="ranged" if fast else "reference")
        for problem, fit in zip(problems, fits, strict=True)
    )
    usable = [d.d_lam for d in directions if d.ok]
    mean = np.mean(usable, axis=0) if usable else np.zeros(2)
    norm = float(np.linalg.norm(mean))
    if norm == 0.0 or not math.isfinite(norm):
        return CVStep(l1, l2, np.zeros(2), directions, None, 0), list(fits)
    d_lam = mean / norm
    lam0 = np.array([l1, l2], dtype=np.float64)
    loss = _MeanLossAlongLine(problems, lam0, d_lam, fits, reuse_start=fast,
                              log=log_hyperparameters)
    search = fast_line_search(loss) if fast else paper_line_search(loss)
    lam = hyperparameters_along(lam0, d_lam, search.t, log=log_hyperparameters)
    end_fits = loss.fits[search.t]
    return (CVStep(float(lam[0]), float(lam[1]), d_lam, directions, search, loss.n_fits),
            end_fits)


def cv_hls_search(problems, l1, l2, fits, *, steps, line_search, formulation,
                  log_hyperparameters):
    """Up to ``steps`` HLS steps on the folds' mean validation MSE, as ``hls_search``.

    Parameters
    ----------
    problems : sequence of ElasticNetProblem
    l1, l2 : float
    fits : sequence of ElasticNetFit
        Each fold's model at (l1, l2).
    steps : int
        At least 1.
    line_search, formulation, log_hyperparameters
        As for ``hls_search``.
    """
    threshold = (MIN_RELATIVE_IMPROVEMENT_CONVERGED if problems[0].solver.name == "converged"
                 else MIN_RELATIVE_IMPROVEMENT)
    current = (l1, l2, list(fits), mean_val_mse(problems, fits))
    taken, n_fits, stop_reason = [], 0, "steps"
    for _ in range(steps):
        step, end_fits = cv_hls_step(problems, current[0], current[1], current[2],
                                     line_search=line_search, formulation=formulation,
                                     log_hyperparameters=log_hyperparameters)
        taken.append(step)
        n_fits += step.n_fits
        if step.line_search is None:
            stop_reason = "no direction"
            break
        value = mean_val_mse(problems, end_fits)
        improved_enough = value < current[3] * (1.0 - threshold)
        if value < current[3]:
            current = (step.l1, step.l2, end_fits, value)
        if not improved_enough:
            stop_reason = "no_improvement"
            break
    return CVSearchResult(l1, l2, tuple(taken), current[0], current[1], tuple(current[2]),
                          current[3], n_fits, stop_reason)


def single_hls_search(problem, l1, l2, fit, *, steps, line_search, formulation,
                      log_hyperparameters) -> HLSSearchResult:
    """``hls_search`` on one fold (the estimator's held-out validation part).

    Parameters
    ----------
    problem : ElasticNetProblem
    l1, l2 : float
    fit : ElasticNetFit
    steps : int
    line_search, formulation, log_hyperparameters
        As for ``hls_search``.
    """
    return hls_search(problem, l1, l2, fit, steps=steps, line_search=line_search,
                      formulation=formulation, log_hyperparameters=log_hyperparameters)
