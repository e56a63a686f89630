"""``path``: scikit-learn's elastic-net regularisation path with hold-out selection.

What a practitioner does without any start: ``enet_path`` over a few l1_ratio values,
each on a geometric grid of alphas, fitted on the training split; the path point with the
lowest validation MSE wins (``ElasticNetCV`` with one fixed validation fold). With
alpha = l1 + l2 and l1_ratio = l1 / (l1 + l2), a point (alpha, l1_ratio) is
(l1, l2) = (alpha l1_ratio, alpha (1 - l1_ratio)), l2 clipped at HYPERPARAMETER_FLOOR.

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
- Intercept: ``enet_path`` fits none, so X and y are centred on their training means
  first, as ``ElasticNet`` and ``ElasticNetCV`` do, and the intercept of a path point is
  mean(y) - mean(X) . w. Each grid is one ``enet_path`` call (warm-started along the
  path, scikit-learn's tol = 1e-4 and max_iter = 1000, precompute "auto").

Budget accounting: every alpha of every grid is one fit, counted before the path is
computed; the selected point is then refitted cold through ``start.problem.fit`` (one
more fit) so that the reported model and loss are exactly those of the elastic net at the
selected (l1, l2). So the grids hold budget - 1 alphas in total, split as evenly as
possible (earlier l1_ratios take the remainder). A grid needs at least
``MIN_ALPHAS_PER_RATIO`` = 2 alphas (its first point is the all-zero model); with fewer
than 2 per l1_ratio only budget // 2 l1_ratios are used, spread over the list (indices
floor((i + 1/2) len / k)); below a budget of 3 the refiner returns the start with status
"budget_too_small" and no fit.

The selection ignores the start, by design: the result (status "selected") can be worse
than the Optuna model. ``result.path`` lists the start, every path point (with the
path's own warm-started validation MSE) and the refit, in that order.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import enet_path

from hyper_local_search.refiners.base import (
    HYPERPARAMETER_FLOOR,
    BudgetedObjective,
    RefinerResult,
    RefinerStart,
    result_from,
)
from optuna_training.elastic_net import DEFAULT_MAX_ITER, DEFAULT_TOL, ElasticNetFit, mse

NAME = "path"

#: l1_ratio values of the paths (see the module docstring).
L1_RATIOS = (0.1, 0.5, 0.9, 0.99)
#: alpha_min / alpha_max of every grid.
ALPHA_RANGE = 1e-4
#: Fewest alphas on one grid (the first is alpha_max, the all-zero model).
MIN_ALPHAS_PER_RATIO = 2


def plan_grids(budget: int, l1_ratios: Sequence[float] = L1_RATIOS) -> list[tuple[float, int]]:
    """The (l1_ratio, n_alphas) of each path for a budget of fits (one kept for the refit).

    Returns
    -------
    plan : list of (l1_ratio, n_alphas)
        Total n_alphas = budget - 1 when any path fits, else an empty list (budget < 3).
    """
    n_alphas_total = budget - 1
    n_ratios = min(len(l1_ratios), max(n_alphas_total, 0) // MIN_ALPHAS_PER_RATIO)
    if n_ratios == 0:
        return []
    chosen = [l1_ratios[int((i + 0.5) * len(l1_ratios) / n_ratios)] for i in range(n_ratios)]
    per_ratio, extra = divmod(n_alphas_total, n_ratios)
    return [(float(r), per_ratio + (i < extra)) for i, r in enumerate(chosen)]


def alpha_max(X_centred: np.ndarray, y_centred: np.ndarray, l1_ratio: float) -> float:
    """Smallest alpha at which the elastic net on centred data has all weights zero."""
    n_samples = X_centred.shape[0]
    return float(np.abs(X_centred.T @ y_centred).max() / (n_samples * l1_ratio))


def alpha_grid(
    X_centred: np.ndarray, y_centred: np.ndarray, l1_ratio: float, n_alphas: int,
    *, alpha_range: float = ALPHA_RANGE,
) -> np.ndarray:
    """Geometric grid of shape (n_alphas,) from alpha_max down to alpha_max * alpha_range."""
    top = alpha_max(X_centred, y_centred, l1_ratio)
    return np.geomspace(top, top * alpha_range, n_alphas)


def refine_path(
    start: RefinerStart,
    *,
    l1_ratios: Sequence[float] = L1_RATIOS,
    alpha_range: float = ALPHA_RANGE,
) -> RefinerResult:
    """Hold-out selection on scikit-learn's elastic-net paths (ignores the start's point).

    Parameters
    ----------
    start : RefinerStart
        Uses splits, problem and budget; l1, l2 and fit only as the path's first entry.
    l1_ratios : sequence of float in (0, 1]
    alpha_range : float
        alpha_min / alpha_max of each grid.

    Returns
    -------
    RefinerResult
        The selected point refitted cold, status "selected" (possibly worse than the
        start), or the start with status "budget_too_small".
    """
    objective = BudgetedObjective(start)
    plan = plan_grids(start.budget, l1_ratios)
    if not plan:
        return result_from(NAME, objective, "budget_too_small")
    s = start.splits
    X_mean, y_mean = np.average(s.X_train, axis=0), float(np.average(s.y_train))
    X_centred = np.asfortranarray(s.X_train - X_mean)
    y_centred = s.y_train - y_mean
    points: list[tuple[float, float, float]] = []
    for l1_ratio, n_alphas in plan:
        alphas = alpha_grid(X_centred, y_centred, l1_ratio, n_alphas, alpha_range=alpha_range)
        for _ in alphas:
            objective.count_external_fit()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _, n_iters = enet_path(
                X_centred, y_centred, l1_ratio=l1_ratio, alphas=alphas,
                max_iter=DEFAULT_MAX_ITER, tol=DEFAULT_TOL, return_n_iter=True,
            )
        for k, alpha in enumerate(alphas):
            coef = np.ascontiguousarray(coefs[:, k], dtype=np.float64)
            fit = ElasticNetFit(
                coef=coef, intercept=float(y_mean - X_mean @ coef),
                n_iter=int(n_iters[k]), converged=int(n_iters[k]) < DEFAULT_MAX_ITER,
            )
            l1 = max(float(alpha * l1_ratio), HYPERPARAMETER_FLOOR)
            l2 = max(float(alpha * (1.0 - l1_ratio)), HYPERPARAMETER_FLOOR)
            points.append((l1, l2, objective.record(l1, l2, fit)))
    l1, l2, _ = min(points, key=lambda point: point[2])
    fit = objective.fit(l1, l2)  # cold, counted and recorded
    return RefinerResult(
        refiner=NAME, l1=l1, l2=l2, fit=fit,
        val_mse=mse(s.X_val, s.y_val, fit.coef, fit.intercept),
        n_fits=objective.n_fits, budget=start.budget, path=tuple(objective.path),
        status="selected",
    )
