"""What every refiner shares: its inputs, a fit-counting objective with a hard budget,
and its result.

A refiner starts from one Optuna model (l1, l2) and may spend at most ``budget``
elastic-net fits on the training split to find hyperparameters with a lower validation
MSE. Every fit goes through ``BudgetedObjective``, which counts it, refuses the fit that
would exceed the budget (``BudgetExhausted``), and remembers the best point seen, the
start included: so a refiner ends at its start or better, never worse, and never spends
more than its budget. (The ``path`` refiner selects from scikit-learn's path without this
guarantee, by design: see its module.)

Every result says why the refiner stopped (``RefinerResult.stop_reason``):
``BUDGET_SPENT`` when every fit of the budget was spent, otherwise the refiner's own
reason for stopping early (a converged step size, a vanishing gradient, an LP without a
direction, an exhausted study, the paper's single HLS step done, ...), so that a
refiner with fits left over is never mistaken for one that ran out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem
from optuna_training.search_space import SearchSpace
from optuna_training.warm_start import NearestModels

__all__ = [
    "HYPERPARAMETER_FLOOR",
    "BudgetExhausted",
    "BudgetedObjective",
    "Refiner",
    "RefinerResult",
    "RefinerStart",
    "result_from",
]

#: Hyperparameters are kept at or above this floor (the paper's).
HYPERPARAMETER_FLOOR = 1e-10
#: The refiners that move in log space keep hyperparameters at or below this ceiling:
#: far above any useful penalty (the data are standardised, so l2 >> 1 and l1 >>
#: alpha_max already give the null model), and it keeps exp(u) finite when a search
#: with a growing step runs away along a flat direction.
HYPERPARAMETER_CEILING = 1e12
#: ``stop_reason`` of a refiner that spent its whole budget.
BUDGET_SPENT = "budget_spent"


class BudgetExhausted(Exception):
    """Raised by BudgetedObjective when a fit would exceed the budget."""


@dataclass(frozen=True)
class RefinerStart:
    """Everything a refiner may use.

    Attributes
    ----------
    problem : ElasticNetProblem
        Training and validation splits and the solver (fit through the objective).
    l1, l2 : float
        The Optuna study's best hyperparameters.
    fit : ElasticNetFit
        The elastic net at (l1, l2).
    budget : int
        Most elastic-net fits the refiner may spend (>= 0).
    seed : int
        Seed for a refiner's own randomness.
    space : SearchSpace
        The Optuna study's search space (only optuna-continue is bound to it).
    continue_study : callable (n_trials) -> list of (l1, l2, ElasticNetFit), optional
        Runs ``n_trials`` more trials of the same Optuna study and returns each trial's
        point and fit (for optuna-continue); None where the study is not available.
    """

    problem: ElasticNetProblem
    l1: float
    l2: float
    fit: ElasticNetFit
    budget: int
    seed: int
    space: SearchSpace
    continue_study: Callable[[int], list[tuple[float, float, ElasticNetFit]]] | None = None


@dataclass
class BudgetedObjective:
    """Validation MSE of the elastic net at (l1, l2), at most ``budget`` fits.

    ``evaluate(l1, l2)`` fits and returns the validation MSE; hyperparameters are
    clipped at HYPERPARAMETER_FLOOR first. A fit starts from ``coef_init`` if given;
    otherwise, where the solver's answer does not depend on its start (the converged
    solver), from the model evaluated nearest to (l1, l2) (``NearestModels``), and cold
    under scikit-learn's tol = 1e-4 (where a start would move the answer). The start
    counts as evaluated (no fit). ``best`` is the lowest validation MSE seen and its
    point; ``path`` lists every evaluated point in order as (l1, l2, val_mse).
    """

    start: RefinerStart
    n_fits: int = 0
    path: list[tuple[float, float, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        s = self.start
        start_val = s.problem.val_mse(s.fit)
        self.best_l1, self.best_l2, self.best_fit, self.best_val = s.l1, s.l2, s.fit, start_val
        self.path.append((s.l1, s.l2, start_val))
        self._models = NearestModels()
        self._models.add(s.l1, s.l2, s.fit.coef)

    @property
    def remaining(self) -> int:
        return self.start.budget - self.n_fits

    def evaluate(self, l1: float, l2: float, *, coef_init: np.ndarray | None = None) -> float:
        """Validation MSE at (l1, l2) (clipped at the floor); one fit of the budget."""
        self.fit(l1, l2, coef_init=coef_init)
        return self.path[-1][2]

    def fit(self, l1: float, l2: float, *, coef_init: np.ndarray | None = None) -> ElasticNetFit:
        """The elastic net at (l1, l2) (clipped at the floor), counted and recorded."""
        self.count_external_fit()
        l1, l2 = max(float(l1), HYPERPARAMETER_FLOOR), max(float(l2), HYPERPARAMETER_FLOOR)
        if coef_init is None and self.start.problem.solver.warm_start:
            coef_init = self._models.nearest(l1, l2)
        fit = self.start.problem.fit(l1, l2, coef_init=coef_init)
        self.record(l1, l2, fit)
        return fit

    def record(self, l1: float, l2: float, fit: ElasticNetFit) -> float:
        """Add an evaluated point to the path and the best; returns its validation MSE.

        ``evaluate`` calls it; a fit made elsewhere (an Optuna trial) is counted with
        ``count_external_fit`` before it is made, then recorded here.
        """
        val = self.start.problem.val_mse(fit)
        self.path.append((l1, l2, val))
        self._models.add(l1, l2, fit.coef)
        if val < self.best_val:
            self.best_l1, self.best_l2, self.best_fit, self.best_val = l1, l2, fit, val
        return val

    def count_external_fit(self) -> None:
        """Count one fit made outside ``evaluate``; raises BudgetExhausted past the budget."""
        if self.n_fits >= self.start.budget:
            raise BudgetExhausted
        self.n_fits += 1


@dataclass(frozen=True)
class RefinerResult:
    """Where a refiner ended.

    Attributes
    ----------
    refiner : str
    l1, l2 : float
        The end point (the start if nothing better was found).
    fit : ElasticNetFit
        The model at (l1, l2).
    val_mse : float
        Its validation MSE.
    n_fits : int
        Elastic-net fits spent (<= the budget).
    budget : int
    path : tuple of (l1, l2, val_mse)
        Every evaluated point in order, the start first.
    status : str
        "improved", "no_improvement", or what stopped the refiner early.
    stop_reason : str
        Why it stopped: BUDGET_SPENT (n_fits == budget), or the reason it stopped with
        fits left (see each refiner's module).
    """

    refiner: str
    l1: float
    l2: float
    fit: ElasticNetFit
    val_mse: float
    n_fits: int
    budget: int
    path: tuple[tuple[float, float, float], ...]
    status: str
    stop_reason: str = BUDGET_SPENT


def result_from(
    name: str, objective: BudgetedObjective, status: str | None = None,
    stop_reason: str | None = None,
) -> RefinerResult:
    """The RefinerResult of a refiner that evaluated through ``objective``.

    Parameters
    ----------
    name : str
    objective : BudgetedObjective
    status : str, optional
        Default "improved" or "no_improvement".
    stop_reason : str, optional
        Why the refiner stopped; BUDGET_SPENT whenever no fit is left, whatever is given.
    """
    improved = objective.best_val < objective.path[0][2]
    if objective.remaining <= 0 or stop_reason is None:
        stop_reason = BUDGET_SPENT if objective.remaining <= 0 else "stopped"
    return RefinerResult(
        refiner=name,
        l1=objective.best_l1,
        l2=objective.best_l2,
        fit=objective.best_fit,
        val_mse=objective.best_val,
        n_fits=objective.n_fits,
        budget=objective.start.budget,
        path=tuple(objective.path),
        status=status or ("improved" if improved else "no_improvement"),
        stop_reason=stop_reason,
    )


#: A refiner: start -> result, never more than start.budget fits.
Refiner = Callable[[RefinerStart], RefinerResult]
