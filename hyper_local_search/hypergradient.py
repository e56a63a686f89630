"""The hypergradient of the validation MSE by implicit differentiation on the active set.

The lower level is scikit-learn's elastic net (optuna_training.elastic_net)

    min_{w, b}  (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2,

the intercept b unpenalised. At a solution with active set A = {j : w_j != 0} and signs
s_A = sign(w_A), the active weights and the bias satisfy the smooth system

    G_A = (1 / n) X_A^T (X_A w_A + b - y) + l1 s_A + l2 w_A = 0,
    G_b = (1 / n) 1^T (X_A w_A + b - y) = 0,

and the inactive weights stay at zero while the active set does not change (Bertrand
et al., "Implicit differentiation of Lasso-type models for hyperparameter optimization",
ICML 2020). The implicit function theorem on this system gives, with theta_A = (w_A, b),

    K d(theta_A)/d(lam) = -[s_A, w_A; 0, 0],
    K = (1 / n) [X_A 1]^T [X_A 1] + l2 diag(1, ..., 1, 0)   (no ridge on the bias),

and the hypergradient of F(w, b) = mean((X_val w + b - y_val)^2) is

    dF/d(lam) = (d(theta_A)/d(lam))^T g_A = -[s_A, w_A; 0, 0]^T K^{-1} g_A,

where g_A is the validation gradient restricted to (w_A, b). This module computes it in
three steps: (1) the active set and the block K, (2) one factorisation of K and the
solve, (3) the chain rule to log hyperparameters when asked for.

K is positive definite when l2 > 0 or X_A (centred) has full column rank. When it is not
numerically positive definite (``solve_parameter_block``), the solve falls back to the
minimum-norm least-squares solution (``numpy.linalg.lstsq``) and
``ImplicitJacobian.singular`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

from hyper_local_search.curvature_information import validation_gradient
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem

#: Relative pivot threshold (per row of K) below which K counts as singular.
SINGULAR_RCOND = float(np.finfo(np.float64).eps)

__all__ = [
    "SINGULAR_RCOND",
    "ImplicitJacobian",
    "active_set",
    "hyperparameter_columns",
    "implicit_hypergradient",
    "implicit_jacobian",
    "parameter_block",
    "solve_parameter_block",
]


def active_set(w: np.ndarray, *, active_tol: float = 0.0) -> np.ndarray:
    """Indices of the active weights, {j : |w_j| > active_tol}, in increasing order.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
    active_tol : float
        Weights with |w_j| <= active_tol count as zero (0.0: exact zeros only, which is
        what coordinate descent produces for the inactive set).

    Returns
    -------
    active : ndarray of int of shape (n_active,)
    """
    return np.flatnonzero(np.abs(w) > active_tol)


def parameter_block(problem: ElasticNetProblem, active: np.ndarray, l2: float) -> np.ndarray:
    """The (w_A, b) block K = (1 / n) [X_A 1]^T [X_A 1] + l2 diag(1, ..., 1, 0).

    Parameters
    ----------
    problem : ElasticNetProblem
        The training split; K is read off its ``design_gram``.
    active : ndarray of int of shape (n_active,)
    l2 : float

    Returns
    -------
    K : ndarray of shape (n_active + 1, n_active + 1)
        Symmetric; the bias last, without a ridge term.
    """
    rows = np.append(active, problem.n_features)
    K = problem.design_gram[np.ix_(rows, rows)] / problem.n_samples
    n_active = active.shape[0]
    K[np.arange(n_active), np.arange(n_active)] += l2
    return K


@dataclass(frozen=True)
class ImplicitJacobian:
    """Derivative of the lower-level solution (w_A, b) with respect to the hyperparameters.

    Attributes
    ----------
    active : ndarray of int of shape (n_active,)
        The active set the derivative holds on (inactive weights have derivative 0).
    jacobian : ndarray of shape (n_active + 1, 2)
        d(w_A, b)/d(l1, l2), or d(w_A, b)/d(log l1, log l2) when ``log_hyperparameters``.
    log_hyperparameters : bool
    singular : bool
        True when K was not numerically positive definite and the least-squares
        (minimum-norm) solution was used instead of the Cholesky solve.
    """

    active: np.ndarray
    jacobian: np.ndarray
    log_hyperparameters: bool
    singular: bool

    def full_jacobian(self, n_features: int) -> np.ndarray:
        """d(w, b)/d(lam) of shape (n_features + 1, 2): zero rows for inactive weights."""
        full = np.zeros((n_features + 1, 2))
        full[self.active] = self.jacobian[:-1]
        full[-1] = self.jacobian[-1]
        return full


def solve_parameter_block(K: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, bool]:
    """K^{-1} rhs for the symmetric positive semidefinite block K, and a singularity flag.

    Cholesky when K is numerically positive definite: the factor L exists and
    (min L_ii / max L_ii)^2 >= SINGULAR_RCOND * m. That ratio is at least 1 / cond(K)
    (each L_ii^2 lies between K's extreme eigenvalues), so a K it rejects is singular to
    working precision; the test is needed because rounding lets an exactly singular K
    factor with a pivot of order sqrt(eps) * max L_ii. Otherwise the minimum-norm
    least-squares solution (``numpy.linalg.lstsq``) and True.

    Parameters
    ----------
    K : ndarray of shape (m, m)
    rhs : ndarray of shape (m,) or (m, k)

    Returns
    -------
    solution : ndarray of the shape of rhs
    singular : bool
    """
    try:
        factor = cho_factor(K, lower=True, check_finite=False)
    except LinAlgError:
        factor = None
    if factor is not None:
        pivots = np.abs(np.diag(factor[0]))
        if (pivots.min() / pivots.max()) ** 2 >= SINGULAR_RCOND * K.shape[0]:
            return cho_solve(factor, rhs, check_finite=False), False
    return np.linalg.lstsq(K, rhs, rcond=None)[0], True


def hyperparameter_columns(w: np.ndarray, active: np.ndarray) -> np.ndarray:
    """[s_A, w_A; 0, 0]: d(G_A, G_b)/d(l1, l2), the derivative of the stationarity.

    Parameters
    ----------
    w : ndarray of shape (n_features,)
    active : ndarray of int of shape (n_active,)

    Returns
    -------
    columns : ndarray of shape (n_active + 1, 2)
        sign(w_A) and w_A, with 0 in the bias row (the bias is not penalised).
    """
    columns = np.zeros((active.shape[0] + 1, 2))
    columns[:-1, 0] = np.sign(w[active])
    columns[:-1, 1] = w[active]
    return columns


def implicit_jacobian(
    problem: ElasticNetProblem,
    w: np.ndarray,
    l1: float,
    l2: float,
    *,
    log_hyperparameters: bool = False,
    active_tol: float = 0.0,
) -> ImplicitJacobian:
    """d(w_A, b)/d(lam) at a lower-level solution, by the implicit function theorem.

    Parameters
    ----------
    problem : ElasticNetProblem
        The training split.
    w : ndarray of shape (n_features,)
        Weights of the (converged) elastic net at (l1, l2).
    l1 : float
    l2 : float
    log_hyperparameters : bool
        Differentiate with respect to (log l1, log l2) instead (columns times l1, l2).
    active_tol : float
        See `active_set`.

    Returns
    -------
    ImplicitJacobian
        Its ``jacobian`` solves K J = -[s_A, w_A; 0, 0] (see the module docstring).
    """
    active = active_set(w, active_tol=active_tol)
    K = parameter_block(problem, active, l2)
    jacobian, singular = solve_parameter_block(K, -hyperparameter_columns(w, active))
    if log_hyperparameters:
        jacobian = jacobian * np.array([l1, l2])
    return ImplicitJacobian(active, jacobian, log_hyperparameters, singular)


def implicit_hypergradient(
    problem: ElasticNetProblem,
    fit: ElasticNetFit,
    l1: float,
    l2: float,
    *,
    log_hyperparameters: bool = False,
    active_tol: float = 0.0,
) -> np.ndarray:
    """Gradient of the validation MSE with respect to (l1, l2) through the lower level.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits.
    fit : ElasticNetFit
        The elastic net fitted on the training split at (l1, l2); the result is only as
        accurate as this fit's stationarity (use the "converged" solver).
    l1 : float
    l2 : float
    log_hyperparameters : bool
        Return the gradient with respect to (log l1, log l2), i.e. (l1, l2) times it.
    active_tol : float
        See `active_set`.

    Returns
    -------
    hypergradient : ndarray of shape (2,)
        dF/d(l1, l2) (or dF/d(log l1, log l2)) in squared target units per unit
        hyperparameter, F the validation MSE mean((X_val w + b - y_val)^2). Holds while
        the active set is locally constant. A singular block K is solved by least
        squares (see `implicit_jacobian` for the flag).
    """
    w = fit.coef
    active = active_set(w, active_tol=active_tol)
    gradient = validation_gradient(problem.X_val, problem.y_val, w, fit.intercept)
    g_active = np.append(gradient[active], gradient[-1])
    K = parameter_block(problem, active, l2)
    adjoint, _ = solve_parameter_block(K, g_active)  # K is symmetric: K^{-T} g = K^{-1} g
    hypergradient = -hyperparameter_columns(w, active).T @ adjoint
    if log_hyperparameters:
        hypergradient = hypergradient * np.array([l1, l2])
    return hypergradient
