"""One Optuna study of the elastic net's (l1, l2) on the validation MSE."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import optuna

from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, mse
from optuna_training.samplers import make_sampler
from optuna_training.search_space import PAPER_SPACE, SearchSpace


@dataclass(frozen=True)
class Incumbent:
    """The study's best model after trial ``trial`` (recorded at each improvement).

    Losses are MSEs in squared target units.
    """

    trial: int
    l1: float
    l2: float
    train_mse: float
    val_mse: float
    test_mse: float


@dataclass(frozen=True)
class StudyResult:
    """Outcome of one study.

    Attributes
    ----------
    sampler : str
    l1, l2 : float
        Best hyperparameters (lowest validation MSE; the first trial wins ties).
    fit : ElasticNetFit
        The elastic net fitted on train at (l1, l2) during the study.
    n_trials : int
        Trials run (the grid sampler stops early once its grid is exhausted).
    history : tuple of Incumbent
        One entry per improvement of the best validation MSE.
    seconds : float
        Wall time of the study.
    """

    sampler: str
    l1: float
    l2: float
    fit: ElasticNetFit
    n_trials: int
    history: tuple[Incumbent, ...]
    seconds: float

    @property
    def best(self) -> Incumbent:
        return self.history[-1]


def run_study(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    sampler: str,
    n_trials: int,
    seed: int,
    space: SearchSpace = PAPER_SPACE,
    problem: ElasticNetProblem | None = None,
) -> StudyResult:
    """Tune (l1, l2) with an Optuna study minimising the validation MSE.

    Each trial fits scikit-learn's elastic net on the training split (cold start,
    default max_iter and tol, as the authors do), through ``ElasticNetProblem`` so that
    the work that does not depend on (l1, l2) is done once per study. The test split is
    only scored at improvements, for the incumbent history; it never steers the study.

    Parameters
    ----------
    X_train, X_val, X_test : ndarray of shape (n_*, n_features)
    y_train, y_val, y_test : ndarray of shape (n_*,)
    sampler : {"grid", "random", "tpe", "qmc"}
    n_trials : int
        At least 1.
    seed : int
        Seeds the sampler; the same seed replays the same study.
    space : SearchSpace
        Bounds of l1 and l2.
    problem : ElasticNetProblem, optional
        The training split's precomputation, if the caller already has one.
    """
    if problem is None:
        problem = ElasticNetProblem(X_train, y_train)
    history: list[Incumbent] = []
    best_fit: list[ElasticNetFit] = []

    def objective(trial: optuna.Trial) -> float:
        l1 = trial.suggest_float("l1", space.low, space.high, log=space.log)
        l2 = trial.suggest_float("l2", space.low, space.high, log=space.log)
        fit = problem.fit(l1, l2)
        val_mse = mse(X_val, y_val, fit.coef, fit.intercept)
        if not history or val_mse < history[-1].val_mse:
            history.append(
                Incumbent(
                    trial=trial.number,
                    l1=l1,
                    l2=l2,
                    train_mse=mse(X_train, y_train, fit.coef, fit.intercept),
                    val_mse=val_mse,
                    test_mse=mse(X_test, y_test, fit.coef, fit.intercept),
                )
            )
            best_fit[:] = [fit]
        return val_mse

    start = time.perf_counter()
    study = optuna.create_study(
        direction="minimize",
        sampler=make_sampler(sampler, seed, n_trials=n_trials, space=space),
    )
    study.optimize(objective, n_trials=n_trials)
    seconds = time.perf_counter() - start
    best = history[-1]
    return StudyResult(
        sampler=sampler,
        l1=best.l1,
        l2=best.l2,
        fit=best_fit[0],
        n_trials=len(study.trials),
        history=tuple(history),
        seconds=seconds,
    )
