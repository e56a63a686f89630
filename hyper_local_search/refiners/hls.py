"""HLS as a refiner: the paper's one step, and multi-step HLS on the exact formulation.

Every fit of the HLS steps goes through the refiner's budget; when the budget runs out
mid-search the refiner returns the best point evaluated so far.

- ``hls``: the paper's one step. It is held to the budget like every refiner, but does
  not spend what its one step leaves over: it reports the fits it used and stops with
  ``stop_reason`` "one_step" (or "lp <status>" when the LP gave no direction).
- ``hls-exact``: HLS repeated from each new point while a step lowers the validation
  MSE by more than the solver's resolution (``hls_search``), until the budget is spent;
  it stops early with "no_improvement" (a step gained too little: a local stationary
  point along the LP's directions) or "lp <status>".
"""

from __future__ import annotations

from hyper_local_search.hls_search import hls_search
from hyper_local_search.refiners.base import (
    BUDGET_SPENT,
    BudgetedObjective,
    BudgetExhausted,
    RefinerResult,
    RefinerStart,
    result_from,
)

__all__ = [
    "HLS_EXACT_MAX_STEPS",
    "refine_hls",
    "refine_hls_exact",
]

#: Most steps of the multi-step exact HLS refiner; None: as many as the budget allows
#: (every step with a direction spends at least one fit).
HLS_EXACT_MAX_STEPS = None


def _search(start: RefinerStart, name: str, *, line_search: str, formulation: str,
            log_hyperparameters: bool, steps: int) -> RefinerResult:
    objective = BudgetedObjective(start)

    def fitter(l1, l2, coef_init):
        return objective.fit(l1, l2, coef_init=coef_init)

    status, stop_reason = None, BUDGET_SPENT
    try:
        search = hls_search(
            start.problem, start.l1, start.l2, start.fit,
            steps=steps, line_search=line_search, fitter=fitter, formulation=formulation,
            log_hyperparameters=log_hyperparameters,
        )
        if search.stop_reason.startswith("lp "):
            status = stop_reason = search.stop_reason
        elif steps == 1:
            stop_reason = "one_step"
        else:
            stop_reason = search.stop_reason
    except BudgetExhausted:
        status = "budget_exhausted"
    return result_from(name, objective, status, stop_reason)


def refine_hls(start: RefinerStart, *, line_search: str = "fast") -> RefinerResult:
    """The paper's HLS: one step on the paper's LP, from the Optuna model.

    Parameters
    ----------
    start : RefinerStart
    line_search : {"fast", "paper"}
    """
    return _search(start, "hls", line_search=line_search, formulation="paper",
                   log_hyperparameters=False, steps=1)


def refine_hls_exact(
    start: RefinerStart,
    *,
    line_search: str = "fast",
    log_hyperparameters: bool = True,
    max_steps: int | None = HLS_EXACT_MAX_STEPS,
) -> RefinerResult:
    """Multi-step HLS on the exact formulation (log hyperparameters by default).

    Parameters
    ----------
    start : RefinerStart
    line_search : {"fast", "paper"}
    log_hyperparameters : bool
        Move in (log l1, log l2).
    max_steps : int, optional
        Most HLS steps; None: as many as the budget allows.
    """
    steps = max(1, start.budget) if max_steps is None else max_steps
    return _search(start, "hls-exact", line_search=line_search, formulation="exact",
                   log_hyperparameters=log_hyperparameters, steps=steps)
