"""``path``: the elastic-net regularisation path with hold-out selection.

What a practitioner does without any start: a few l1_ratio values, each on a geometric
grid of alphas, fitted on the training split; the path point with the lowest validation
MSE wins (``ElasticNetCV`` with one fixed validation fold). With alpha = l1 + l2 and
l1_ratio = l1 / (l1 + l2), a point (alpha, l1_ratio) is (l1, l2) = (alpha l1_ratio,
alpha (1 - l1_ratio)), l2 clipped at HYPERPARAMETER_FLOOR.

- l1_ratios (default ``L1_RATIOS`` = 0.1, 0.5, 0.9, 0.99): scikit-learn's advice for
  ``ElasticNetCV`` is to favour values near 1 (lasso) over values near 0 (ridge, where
  coordinate descent is slow and the alpha grid ill-defined); these four span that range
  with the same spacing in log(1 - l1_ratio) near 1. The lasso (l1_ratio = 1, l2 at the
  floor), which ends scikit-learn's suggested list, is not a default: pass it in
  ``l1_ratios`` to add its path.
- Alphas per l1_ratio: ``geomspace(alpha_max, alpha_max * ALPHA_RANGE, n_alphas)`` with
  alpha_max = max_j |X_c[:, j]^T y_c| / (n_samples l1_ratio), the smallest alpha whose
  solution has all weights zero (scikit-learn's ``_alpha_grid``), and ALPHA_RANGE = 1e-4
  (glmnet's default ratio when n_samples > n_features; scikit-learn's ``eps`` is 1e-3).
  Along a grid l1 runs from max|X_c^T y_c| / n down to 1e-4 of it whatever the
  l1_ratio.
- Every path point is one ``problem.fit`` (counted), in decreasing alpha; with a solver
  whose answer does not depend on its start (the converged one) each starts from the
  previous point's model, as scikit-learn's ``enet_path`` does; with scikit-learn's
  tol = 1e-4 each is cold, so that every point's loss is that of the fit at it.

Budget accounting: the grids hold ``budget`` alphas in total, split as evenly as
possible (earlier l1_ratios take the remainder). A grid needs at least
``MIN_ALPHAS_PER_RATIO`` = 2 alphas (its first point is the all-zero model); with fewer
than 2 per l1_ratio only budget // 2 l1_ratios are used, spread over the list (indices
floor((i + 1/2) len / k)); below a budget of 2 the refiner returns the start with status
"budget_too_small" and no fit.

The selection ignores the start, by design: the result (status "selected") can be worse
than the Optuna model. ``result.path`` lists the start and every path point, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hyper_local_search.refiners.base import (
    HYPERPARAMETER_FLOOR,
    BudgetedObjective,
    RefinerResult,
    RefinerStart,
    result_from,
)

__all__ = [
    "ALPHA_RANGE",
    "L1_RATIOS",
    "MIN_ALPHAS_PER_RATIO",
    "NAME",
    "plan_grids",
    "refine_path",
]

NAME = "path"

#: l1_ratio values of the paths (see the module docstring).
L1_RATIOS = (0.1, 0.5, 0.9, 0.99)
#: alpha_min / alpha_max of every grid.
ALPHA_RANGE = 1e-4
#: Fewest alphas on one grid (the first is alpha_max, the all-zero model).
MIN_ALPHAS_PER_RATIO = 2


def plan_grids(budget: int, l1_ratios: Sequence[float] = L1_RATIOS) -> list[tuple[float, int]]:
    """The (l1_ratio, n_alphas) of each path for a budget of fits.

    Parameters
    ----------
    budget : int
        Fits to spend.
    l1_ratios : sequence of float

    Returns
    -------
    plan : list of (l1_ratio, n_alphas)
        Total n_alphas = budget when any path fits, else an empty list (budget < 2).
    """
    n_alphas_total = budget
    n_ratios = min(len(l1_ratios), max(n_alphas_total, 0) // MIN_ALPHAS_PER_RATIO)
    if n_ratios == 0:
        return []
    chosen = [l1_ratios[int((i + 0.5) * len(l1_ratios) / n_ratios)] for i in range(n_ratios)]
    per_ratio, extra = divmod(n_alphas_total, n_ratios)
    return [(float(r), per_ratio + (i < extra)) for i, r in enumerate(chosen)]


def refine_path(
    start: RefinerStart,
    *,
    l1_ratios: Sequence[float] = L1_RATIOS,
    alpha_range: float = ALPHA_RANGE,
) -> RefinerResult:
    """Hold-out selection on elastic-net paths (ignores the start's point).

    Parameters
    ----------
    start : RefinerStart
        Uses problem and budget; l1, l2 and fit only as the path's first entry.
    l1_ratios : sequence of float in (0, 1]
    alpha_range : float
        alpha_min / alpha_max of each grid.

    Returns
    -------
    RefinerResult
        The best path point, status "selected" (possibly worse than the start), or the
        start with status "budget_too_small".
    """
    objective = BudgetedObjective(start)
    plan = plan_grids(start.budget, l1_ratios)
    if not plan:
        return result_from(NAME, objective, "budget_too_small")
    problem = start.problem
    warm = problem.solver.warm_start
    points = []
    for l1_ratio, n_alphas in plan:
        top = problem.alpha_max / l1_ratio
        previous = None
        for alpha in np.geomspace(top, top * alpha_range, n_alphas):
            l1 = max(float(alpha * l1_ratio), HYPERPARAMETER_FLOOR)
            l2 = max(float(alpha * (1.0 - l1_ratio)), HYPERPARAMETER_FLOOR)
            fit = objective.fit(l1, l2, coef_init=previous.coef if warm and previous else None)
            previous = fit
            points.append((objective.path[-1][2], l1, l2, fit))
    val, l1, l2, fit = min(points, key=lambda point: point[0])
    return RefinerResult(
        refiner=NAME, l1=l1, l2=l2, fit=fit, val_mse=val, n_fits=objective.n_fits,
        budget=start.budget, path=tuple(objective.path), status="selected",
    )
