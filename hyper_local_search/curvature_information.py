"""Gradient and curvature terms of the bilevel elastic-net problem (the paper's formulation).

Variables are ordered theta = (w, b): the n_features weights first, the bias last.
The upper level is the validation MSE F(w, b) = mean((X_val w + b - y_val)^2). The
lower level's optimality is linearised by the constraint matrix H of shape
(n_features + 1, 2 + n_features + 1), columns ordered [d/dl1, d/dl2, d/dw, d/db].
"""

from __future__ import annotations

import numpy as np

from optuna_training.elastic_net import ElasticNetProblem

__all__ = [
    "paper_constraint_matrix",
    "paper_stationarity",
    "validation_gradient",
]


def validation_gradient(
    X_val: np.ndarray, y_val: np.ndarray, w: np.ndarray, b: float
) -> np.ndarray:
    """Gradient of the validation MSE with respect to (w, b).

    Parameters
    ----------
    X_val : ndarray of shape (n_val, n_features)
    y_val : ndarray of shape (n_val,)
        Targets in data units (house prices: dollars).
    w : ndarray of shape (n_features,)
    b : float

    Returns
    -------
    grad : ndarray of shape (n_features + 1,)
        Weight components first, bias last, in squared target units per unit weight.
    """
    residual = X_val @ w + b - y_val
    return (2.0 / y_val.shape[0]) * np.append(X_val.T @ residual, residual.sum())


def paper_stationarity(
    X_train: np.ndarray, y_train: np.ndarray, l1: float, l2: float, w: np.ndarray, b: float
) -> np.ndarray:
    """The lower-level stationarity function whose Jacobian the paper's matrix is.

    G(l1, l2, w, b) = (2 / n) [X 1]^T ([X 1] theta - y) + [l1 sign(w) + l2 w ; l2 b],

    i.e. the gradient of the *plain* training MSE (scaling 1 / n, not scikit-learn's
    1 / (2 n)) plus an elastic-net subgradient that also puts a ridge term on the bias.
    The paper's matrix differs from the exact Jacobian of G in one entry: its d/dl2
    column has 0 in the bias row (where G has b). Away from zero weights sign(w) is
    locally constant, so the d/dw block does not see the l1 term.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
    l1, l2 : float
    w : ndarray of shape (n_features,)
    b : float

    Returns
    -------
    G : ndarray of shape (n_features + 1,)
    """
    n_samples = y_train.shape[0]
    residual = X_train @ w + b - y_train
    grad_loss = (2.0 / n_samples) * np.append(X_train.T @ residual, residual.sum())
    penalty = np.append(l1 * np.sign(w) + l2 * w, l2 * b)
    return grad_loss + penalty


def paper_constraint_matrix(problem: ElasticNetProblem, w: np.ndarray, l2: float) -> np.ndarray:
    """The paper's constraint matrix H, as the authors' code builds it.

    Parameters
    ----------
    problem : ElasticNetProblem
        The training split (its ``design_gram`` [X 1]^T [X 1] is formed once per problem).
    w : ndarray of shape (n_features,)
        Weights of the starting model.
    l2 : float
        The starting model's ridge weight.

    Returns
    -------
    H : ndarray of shape (n_features + 1, n_features + 3)
        Columns: d/dl1 = [sign(w); 0], d/dl2 = [w; 0], then the (w, b) block
        (2 / n) [X 1]^T [X 1] + l2 * I (the identity covers the bias too).
    """
    n_features = problem.n_features
    H = np.empty((n_features + 1, n_features + 3))
    block = H[:, 2:]
    np.multiply(problem.design_gram, 2.0 / problem.n_samples, out=block)
    block[np.diag_indices(n_features + 1)] += l2
    H[:, 0] = np.append(np.sign(w), 0.0)
    H[:, 1] = np.append(w, 0.0)
    return H
