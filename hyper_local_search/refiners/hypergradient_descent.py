"""``hypergradient``: gradient descent on the validation MSE in log-hyperparameter space.

The gradient is the implicit-differentiation hypergradient of Bertrand et al.
("Implicit differentiation of Lasso-type models for hyperparameter optimization",
ICML 2020), ``hyper_local_search.hypergradient.implicit_hypergradient`` with respect to
u = (log l1, log l2), evaluated at each accepted model (it costs no fit). Each iteration

1. computes g = dF/du at the current model (F the validation MSE);
2. backtracks from the step size eta: trial u' = u - eta g projected on [log floor,
   log ceiling] (HYPERPARAMETER_FLOOR, HYPERPARAMETER_CEILING), one fit per trial,
   accepted when it satisfies Armijo's condition on the step actually taken,
   F(u') <= F(u) + c g . (u' - u), c = ARMIJO_C; otherwise eta is halved;
3. after an acceptance, the next iteration starts from 2 eta (so the step can grow back
   after a backtrack).

The first trial moves u by exactly ``initial_step`` (eta = initial_step / ||g||): 1.0, a
factor e in the penalties, the scale on which they are usually searched. The search
stops when the budget is spent, when the hypergradient vanishes (e.g. a model with no
active weight: status "zero_gradient"), or when a trial would move u by less than
``min_step`` (1e-3 natural-log units, i.e. 0.1 %: below the resolution of the loss at
scikit-learn's tol = 1e-4; status "converged").

Cold fits under scikit-learn's tol = 1e-4, deliberately. A warm start from the current
model's coefficients would save coordinate-descent epochs, but at that tolerance the
validation MSE of a warm-started fit differs from the cold one by ~1e-5 relative and
depends on the path that led there, which is the size of the decreases Armijo compares
late in a search; cold fits make F a deterministic function of (l1, l2) and the end
model exactly the cold fit at the end point. The converged solver's answer does not
depend on its start (validation MSE to ~1e-10), so there each trial starts from the model
evaluated nearest to it (``BudgetedObjective``). The hypergradient holds while the
active set is locally constant and is only as accurate as the fit's stationarity
(tol = 1e-4): Armijo's test on true refits is what keeps the descent honest.
"""

from __future__ import annotations

import math

import numpy as np

from hyper_local_search.hypergradient import implicit_hypergradient
from hyper_local_search.refiners.base import (
    HYPERPARAMETER_CEILING,
    HYPERPARAMETER_FLOOR,
    BudgetedObjective,
    BudgetExhausted,
    RefinerResult,
    RefinerStart,
    result_from,
)
from optuna_training.elastic_net import ElasticNetFit

__all__ = [
    "ARMIJO_C",
    "GROW",
    "INITIAL_STEP",
    "MIN_STEP",
    "NAME",
    "SHRINK",
    "log_hypergradient",
    "refine_hypergradient",
]

NAME = "hypergradient"

#: Length of the first trial step in natural-log units of (l1, l2).
INITIAL_STEP = 1.0
#: A trial moving u by less than this (natural-log units) ends the search.
MIN_STEP = 1e-3
#: Armijo's sufficient-decrease constant (Nocedal & Wright's usual 1e-4).
ARMIJO_C = 1e-4
#: Backtracking shrink factor, and the growth of the step after an acceptance.
SHRINK = 0.5
GROW = 2.0


def log_hypergradient(start: RefinerStart, fit: ElasticNetFit, l1: float, l2: float) -> np.ndarray:
    """dF/d(log l1, log l2) of shape (2,) at the model ``fit`` of (l1, l2)."""
    return implicit_hypergradient(start.problem, fit, l1, l2, log_hyperparameters=True)


def _fit(objective: BudgetedObjective, l1: float, l2: float) -> tuple[ElasticNetFit, float]:
    """One counted, recorded fit at (l1, l2): the model and its validation MSE."""
    fit = objective.fit(l1, l2)
    return fit, objective.start.problem.val_mse(fit)


def refine_hypergradient(
    start: RefinerStart,
    *,
    initial_step: float = INITIAL_STEP,
    min_step: float = MIN_STEP,
    armijo_c: float = ARMIJO_C,
) -> RefinerResult:
    """Hypergradient descent with Armijo backtracking from the Optuna model.

    Parameters
    ----------
    start : RefinerStart
        Uses splits, problem, l1, l2, fit and budget (no randomness).
    initial_step : float
        Length of the first trial step in natural-log units.
    min_step : float
        Smallest step length tried (natural-log units).
    armijo_c : float
        Sufficient-decrease constant in (0, 1).

    Returns
    -------
    RefinerResult
        The best point evaluated; status "improved", "no_improvement", or, when the
        search stopped before the budget was spent without improving, "zero_gradient"
        or "converged"; ``stop_reason`` "budget_spent", "zero_gradient" or "converged".
    """
    objective = BudgetedObjective(start)
    log_floor = math.log(HYPERPARAMETER_FLOOR)
    log_ceiling = math.log(HYPERPARAMETER_CEILING)
    lam = np.maximum([start.l1, start.l2], HYPERPARAMETER_FLOOR)
    u, fit, loss = np.log(lam), start.fit, objective.best_val
    eta = None
    stop = None
    try:
        while stop is None:
            g = log_hypergradient(start, fit, float(lam[0]), float(lam[1]))
            norm = float(np.linalg.norm(g))
            if not (np.isfinite(norm) and norm > 0.0):
                stop = "zero_gradient"
                break
            if eta is None:
                eta = initial_step / norm
            while True:
                trial = np.clip(u - eta * g, log_floor, log_ceiling)
                step = trial - u
                if np.linalg.norm(step) < min_step:
                    stop = "converged"
                    break
                trial_lam = np.maximum(np.exp(trial), HYPERPARAMETER_FLOOR)
                trial_fit, trial_loss = _fit(objective, float(trial_lam[0]), float(trial_lam[1]))
                if trial_loss <= loss + armijo_c * float(g @ step):
                    u, lam, fit, loss = trial, trial_lam, trial_fit, trial_loss
                    eta *= GROW
                    break
                eta *= SHRINK
    except BudgetExhausted:
        return result_from(NAME, objective)
    improved = objective.best_val < objective.path[0][2]
    return result_from(NAME, objective, None if improved else stop, stop)
