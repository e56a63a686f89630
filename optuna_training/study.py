"""One Optuna study of the elastic net's (l1, l2) on the validation MSE."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import optuna

from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, mse
from optuna_training.samplers import make_sampler
from optuna_training.search_space import PAPER_SPACE, SearchSpace
from optuna_training.warm_start import NearestModels

__all__ = [
    "ElasticNetStudy",
    "Incumbent",
    "StudyResult",
    "run_study",
]


@dataclass(frozen=True)
class Incumbent:
    """The study's best model after trial ``trial`` (recorded at each improvement).

    Losses are MSEs in squared target units (test_mse nan when the study has no test
    split).
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


class ElasticNetStudy:
    """An Optuna study of the elastic net's (l1, l2) that can be continued.

    ``optimize(n)`` runs n more trials and returns them; the incumbent history and the
    best model are kept across calls, so a refiner can continue the very study that
    produced its start (optuna-continue).

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits and the solver of every trial's fit. With the
        "converged" solver each fit starts from the model of the trial nearest to it in
        (log l1, log l2) (the same minimiser, found faster; ``NearestModels``); with
        "sklearn" every fit is cold, as the authors'.
    sampler : {"grid", "random", "tpe", "qmc"}
    n_trials : int
        Trials the study is planned for (sets the grid's resolution), at least 1.
    seed : int
        Seeds the sampler; the same seed replays the same study.
    space : SearchSpace
        Bounds of l1 and l2.
    test : tuple (X_test, y_test), optional
        Scored at each improvement for the incumbent history; it never steers the study.
    tpe : {"paper", "current"}
        The TPE sampler's settings (optuna_training.samplers.make_sampler): Optuna 3.6.1's
        defaults, as the paper ran, or the installed Optuna's.
    """

    def __init__(
        self,
        problem: ElasticNetProblem,
        *,
        sampler: str,
        n_trials: int,
        seed: int,
        space: SearchSpace = PAPER_SPACE,
        test: tuple[np.ndarray, np.ndarray] | None = None,
        tpe: str = "paper",
    ) -> None:
        if not problem.has_validation:
            raise ValueError("an ElasticNetStudy needs a problem with a validation split.")
        self.sampler, self.space = sampler, space
        # The grid sampler has this many points; past them it would only re-evaluate.
        self._max_trials = len(space.grid_axis(n_trials)) ** 2 if sampler == "grid" else None
        self._problem, self._test = problem, test
        self.history: list[Incumbent] = []
        self.best_fit: ElasticNetFit | None = None
        self._models = NearestModels()
        self._last_trials: list[tuple[float, float, ElasticNetFit]] = []
        self.study = optuna.create_study(
            direction="minimize",
            sampler=make_sampler(sampler, seed, n_trials=n_trials, space=space, tpe=tpe),
        )

    def _objective(self, trial: optuna.Trial) -> float:
        problem, space = self._problem, self.space
        l1 = trial.suggest_float("l1", space.low, space.high, log=space.log)
        l2 = trial.suggest_float("l2", space.low, space.high, log=space.log)
        warm = self._models.nearest(l1, l2) if problem.solver.warm_start else None
        fit = problem.fit(l1, l2, coef_init=warm)
        if problem.solver.warm_start:
            self._models.add(l1, l2, fit.coef)
        self._last_trials.append((l1, l2, fit))
        val_mse = problem.val_mse(fit)
        if not self.history or val_mse < self.history[-1].val_mse:
            test_mse = math.nan if self._test is None else mse(*self._test, fit.coef,
                                                                fit.intercept)
            self.history.append(
                Incumbent(trial=trial.number, l1=l1, l2=l2, train_mse=problem.train_mse(fit),
                          val_mse=val_mse, test_mse=test_mse)
            )
            self.best_fit = fit
        return val_mse

    def optimize(self, n_trials: int) -> list[tuple[float, float, ElasticNetFit]]:
        """Run up to ``n_trials`` more trials; returns each as (l1, l2, fit).

        The grid sampler stops once its grid is exhausted (it would only re-evaluate
        grid points), so fewer trials may run, or none.

        Parameters
        ----------
        n_trials : int
            Most trials to run now.
        """
        self._last_trials = []
        if self._max_trials is not None:
            n_trials = min(n_trials, self._max_trials - len(self._trials()))
        if n_trials > 0:
            self.study.optimize(self._objective, n_trials=n_trials)
        return self._last_trials

    def points(self) -> list[tuple[float, float]]:
        """(l1, l2) of every trial so far, in order."""
        return [(t.params["l1"], t.params["l2"]) for t in self._trials()]

    def _trials(self) -> list[optuna.trial.FrozenTrial]:
        # Read-only use: ``study.trials`` deep-copies every trial (5 ms at 100 trials).
        return self.study.get_trials(deepcopy=False)

    def result(self, seconds: float) -> StudyResult:
        """The study so far as a StudyResult.

        Parameters
        ----------
        seconds : float
            Its wall time.
        """
        best = self.history[-1]
        return StudyResult(
            sampler=self.sampler,
            l1=best.l1,
            l2=best.l2,
            fit=self.best_fit,
            n_trials=len(self._trials()),
            history=tuple(self.history),
            seconds=seconds,
        )


def run_study(
    problem: ElasticNetProblem,
    *,
    sampler: str,
    n_trials: int,
    seed: int,
    space: SearchSpace = PAPER_SPACE,
    test: tuple[np.ndarray, np.ndarray] | None = None,
    tpe: str = "paper",
) -> StudyResult:
    """Tune (l1, l2) with an Optuna study minimising the validation MSE.

    Each trial is one ``problem.fit`` on the training split; the validation MSE is the
    objective. See ``ElasticNetStudy`` for the parameters.

    Parameters
    ----------
    problem : ElasticNetProblem
    sampler : {"grid", "random", "tpe", "qmc"}
    n_trials : int
        At least 1.
    seed : int
        Seeds the sampler; the same seed replays the same study.
    space : SearchSpace
        Bounds of l1 and l2.
    test : tuple (X_test, y_test), optional
        Scored at each improvement, for the incumbent history.
    tpe : {"paper", "current"}
        The TPE sampler's settings (see ``ElasticNetStudy``).
    """
    start = time.perf_counter()
    study = ElasticNetStudy(problem, sampler=sampler, n_trials=n_trials, seed=seed,
                            space=space, test=test, tpe=tpe)
    study.optimize(n_trials)
    return study.result(time.perf_counter() - start)
