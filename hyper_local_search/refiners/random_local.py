"""``random-local``: a (1+1) evolution strategy around the incumbent in log-hyperparameter space.

Randomised local search in the spirit of AutoTune's local search and of the (1+1)-ES
with the 1/5th success rule (Rechenberg; Kern et al., "Learning probability
distributions in continuous evolutionary algorithms", Natural Computing 2004). In
u = (log l1, log l2) (natural logarithms), each iteration

1. picks which hyperparameters to move: {l1}, {l2} or both, with probability 1/3 each;
2. proposes u' = u + sigma * z on those coordinates, z standard normal, and clips u' at
   log(HYPERPARAMETER_FLOOR) and log(HYPERPARAMETER_CEILING);
3. fits the elastic net at exp(u') (one fit of the budget) and moves the incumbent
   there if its validation MSE is strictly lower (a success);
4. adapts the step: sigma *= exp(1 / d) on a success and sigma *= exp(-(1 / d) / 4) on a
   failure, d = 1 + n / 2 = 2 for n = 2 hyperparameters. A success rate of 1/5 leaves
   sigma unchanged (exp(1/d)^(1/5) * exp(-1/(4d))^(4/5) = 1); higher rates grow it,
   lower rates shrink it (Auger & Hansen's constants for the (1+1)-ES).

A proposal that the floor clips back onto the incumbent is a failure at no cost (no fit).
The search stops when the budget is spent or sigma falls below ``min_step``.

Defaults, from general principles (nothing tuned to a data set):

- ``initial_step = 1.0``: a factor e per hyperparameter, the scale on which elastic-net
  penalties are usually searched (grids are geometric over decades);
- ``min_step = 1e-3``: a relative change of 0.1 % in a penalty is below the resolution
  of the validation loss at scikit-learn's tol = 1e-4 (a sawtooth of ~1e-5 relative);
- ``max_step = 10.0``: a factor e^10 ~ 2e4 per proposal at most, so repeated successes
  cannot overflow exp(u).

Fits as ``BudgetedObjective`` makes them: under scikit-learn's tol = 1e-4 cold (the loss
is then a deterministic function of (l1, l2), so two comparisons of the same point never
disagree, and the end model is exactly the cold fit at the end point); under the
converged solver from the model evaluated nearest to the proposal, which gives the same
minimiser (validation MSE to ~1e-10) for less work.
"""

from __future__ import annotations

import math

import numpy as np

from hyper_local_search.refiners.base import (
    HYPERPARAMETER_CEILING,
    HYPERPARAMETER_FLOOR,
    BudgetedObjective,
    BudgetExhausted,
    RefinerResult,
    RefinerStart,
    result_from,
)

__all__ = [
    "DAMPING",
    "INITIAL_STEP",
    "MAX_STEP",
    "MIN_STEP",
    "NAME",
    "TARGET_SUCCESS_RATE",
    "adapt_step",
    "refine_random_local",
]

NAME = "random-local"

#: Starting standard deviation of a step, in natural-log units of l1 and l2.
INITIAL_STEP = 1.0
#: Smallest step: below it the search stops (status "converged").
MIN_STEP = 1e-3
#: Largest step (a safety cap against overflow after many successes).
MAX_STEP = 10.0
#: Damping d = 1 + n / 2 of the 1/5th success rule, n = 2 hyperparameters.
DAMPING = 1.0 + 2 / 2
#: Target success rate of the rule.
TARGET_SUCCESS_RATE = 0.2

#: The three moves: which of (l1, l2) a proposal changes.
_MOVES = (np.array([True, False]), np.array([False, True]), np.array([True, True]))


def adapt_step(step: float, success: bool, *, max_step: float = MAX_STEP) -> float:
    """The 1/5th success rule: sigma * exp((1/d) (success - p) / (1 - p)), capped.

    With p = 1/5 and d = 2 a success multiplies the step by exp(1/2) ~ 1.65 and a failure
    by exp(-1/8) ~ 0.88.
    """
    indicator = 1.0 if success else 0.0
    factor = math.exp((indicator - TARGET_SUCCESS_RATE) / (1.0 - TARGET_SUCCESS_RATE) / DAMPING)
    return min(step * factor, max_step)


def refine_random_local(
    start: RefinerStart,
    *,
    initial_step: float = INITIAL_STEP,
    min_step: float = MIN_STEP,
    max_step: float = MAX_STEP,
) -> RefinerResult:
    """Randomised local search with step-size adaptation from the Optuna model.

    Parameters
    ----------
    start : RefinerStart
        Uses l1, l2, fit, budget and seed (``np.random.default_rng(start.seed)``).
    initial_step : float
        Starting standard deviation of a step in natural-log units (1.0: a factor e).
    min_step : float
        The search stops once the step is below it.
    max_step : float
        Cap on the step.

    Returns
    -------
    RefinerResult
        The best point evaluated (the start if nothing was better); status "improved",
        "no_improvement", or "converged" when the step fell below ``min_step`` first;
        ``stop_reason`` "budget_spent" or "converged" (the step fell below ``min_step``).
    """
    objective = BudgetedObjective(start)
    rng = np.random.default_rng(start.seed)
    log_floor = math.log(HYPERPARAMETER_FLOOR)
    log_ceiling = math.log(HYPERPARAMETER_CEILING)
    u = np.log(np.maximum([start.l1, start.l2], HYPERPARAMETER_FLOOR))
    incumbent = objective.best_val
    step = float(initial_step)
    try:
        while step >= min_step:
            if objective.remaining <= 0:
                raise BudgetExhausted
            move = _MOVES[rng.integers(len(_MOVES))]
            proposal = np.clip(u + step * rng.standard_normal(2) * move, log_floor,
                               log_ceiling)
            if np.array_equal(proposal, u):
                step = adapt_step(step, False, max_step=max_step)
                continue
            l1, l2 = np.exp(proposal)
            val = objective.evaluate(l1, l2)
            success = val < incumbent
            if success:
                u, incumbent = proposal, val
            step = adapt_step(step, success, max_step=max_step)
    except BudgetExhausted:
        return result_from(NAME, objective)
    improved = objective.best_val < objective.path[0][2]
    return result_from(NAME, objective, None if improved else "converged", "converged")
