"""One hyper local search step: gradient -> constraint matrix -> LP -> line search -> refit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyper_local_search.curvature_information import paper_constraint_matrix, validation_gradient
from hyper_local_search.direction_lp import Direction, solve_direction_lp
from hyper_local_search.line_search import LineSearchResult, paper_line_search
from optuna_training.elastic_net import ElasticNetFit, fit_elastic_net, mse

#: Hyperparameters along the search line are clipped at this floor (the paper's).
HYPERPARAMETER_FLOOR = 1e-10


@dataclass(frozen=True)
class HLSResult:
    """Outcome of one HLS step.

    Attributes
    ----------
    l1, l2 : float
        Hyperparameters at the end of the step (the start's when the LP gave no direction).
    fit : ElasticNetFit
        The elastic net refitted at (l1, l2) (the start model when nothing moved).
    direction : Direction
        The LP's answer; ``direction.status`` is the step's status.
    line_search : LineSearchResult or None
        None when the LP gave no usable direction.
    n_fits : int
        Elastic-net fits spent: the line search's evaluations plus the final refit.
    clipped : bool
        True if the end point sits on the HYPERPARAMETER_FLOOR in some coordinate.
    """

    l1: float
    l2: float
    fit: ElasticNetFit
    direction: Direction
    line_search: LineSearchResult | None
    n_fits: int
    clipped: bool

    @property
    def t(self) -> float:
        """Step length along the unit direction (0.0 when nothing moved)."""
        return 0.0 if self.line_search is None else self.line_search.t


def hyperparameters_along(lam0: np.ndarray, d_lam: np.ndarray, t: float) -> np.ndarray:
    """The point lam(t) = max(lam0 + t * d_lam, floor) of shape (2,) on the search line."""
    return np.maximum(lam0 + t * d_lam, HYPERPARAMETER_FLOOR)


def hls_step(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    l1: float,
    l2: float,
    start: ElasticNetFit,
) -> HLSResult:
    """One HLS step of the paper from the model ``start`` fitted at (l1, l2).

    Parameters
    ----------
    X_train, X_val : ndarray of shape (n_train, n_features), (n_val, n_features)
    y_train, y_val : ndarray of shape (n_train,), (n_val,)
    l1, l2 : float
        Starting hyperparameters (the Optuna study's best).
    start : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2).

    Returns
    -------
    HLSResult
        A failed LP is not an error: the result keeps the start model and says why.
    """
    gradient = validation_gradient(X_val, y_val, start.coef, start.intercept)
    H = paper_constraint_matrix(X_train, start.coef, l2)
    direction = solve_direction_lp(gradient, H)
    if not direction.ok:
        return HLSResult(l1, l2, start, direction, None, 0, False)

    lam0 = np.array([l1, l2], dtype=np.float64)

    def validation_loss(t: float) -> float:
        lam = hyperparameters_along(lam0, direction.d_lam, t)
        fit = fit_elastic_net(X_train, y_train, lam[0], lam[1])
        return mse(X_val, y_val, fit.coef, fit.intercept)

    search = paper_line_search(validation_loss)
    lam = hyperparameters_along(lam0, direction.d_lam, search.t)
    fit = fit_elastic_net(X_train, y_train, lam[0], lam[1])
    clipped = bool(np.any(lam <= HYPERPARAMETER_FLOOR))
    return HLSResult(
        float(lam[0]), float(lam[1]), fit, direction, search, search.n_evaluations + 1, clipped
    )
