"""The lower-level problem: scikit-learn's elastic net in the paper's (l1, l2) terms.

scikit-learn's ``ElasticNet`` minimises over (w, b)

    (1 / (2 n)) ||y - X w - b||^2 + alpha * l1_ratio * ||w||_1
        + (alpha * (1 - l1_ratio) / 2) * ||w||^2,

so with ``alpha = l1 + l2`` and ``l1_ratio = l1 / (l1 + l2)`` the objective is

    (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2,

the intercept b unpenalised. This module is the only place that converts
(l1, l2) to (alpha, l1_ratio).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet

#: scikit-learn's defaults, which the authors' code uses.
DEFAULT_MAX_ITER = 1000
DEFAULT_TOL = 1e-4


@dataclass(frozen=True)
class ElasticNetFit:
    """A fitted elastic net.

    Attributes
    ----------
    coef : ndarray of shape (n_features,)
    intercept : float
    n_iter : int
        Coordinate-descent epochs used.
    converged : bool
        False when the solver stopped at ``max_iter`` before reaching ``tol``.
    """

    coef: np.ndarray
    intercept: float
    n_iter: int
    converged: bool

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of shape (n_samples,) for X of shape (n_samples, n_features)."""
        return X @ self.coef + self.intercept


def alpha_l1_ratio(l1: float, l2: float) -> tuple[float, float]:
    """scikit-learn's (alpha, l1_ratio) for the penalty l1 ||w||_1 + (l2 / 2) ||w||^2."""
    alpha = l1 + l2
    return alpha, l1 / alpha


def fit_elastic_net(
    X: np.ndarray,
    y: np.ndarray,
    l1: float,
    l2: float,
    *,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    coef_init: np.ndarray | None = None,
) -> ElasticNetFit:
    """Fit scikit-learn's ElasticNet at hyperparameters (l1, l2).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    l1, l2 : float
        Positive penalty weights (see the module docstring).
    max_iter, tol : scikit-learn's coordinate-descent settings.
    coef_init : ndarray of shape (n_features,), optional
        Warm start for the coefficients; None starts from zero (a cold fit).

    Returns
    -------
    ElasticNetFit
    """
    alpha, l1_ratio = alpha_l1_ratio(l1, l2)
    model = ElasticNet(
        alpha=alpha,
        l1_ratio=l1_ratio,
        max_iter=max_iter,
        tol=tol,
        warm_start=coef_init is not None,
    )
    if coef_init is not None:
        model.coef_ = np.array(coef_init, dtype=np.float64, copy=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    n_iter = int(model.n_iter_)
    return ElasticNetFit(
        coef=np.asarray(model.coef_, dtype=np.float64),
        intercept=float(model.intercept_),
        n_iter=n_iter,
        converged=n_iter < max_iter,
    )


def mse(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float) -> float:
    """Mean squared error of the linear model (coef, intercept) on (X, y), in target units^2."""
    residual = X @ coef + intercept - y
    return float(residual @ residual / y.shape[0])
