"""The lower-level problem: scikit-learn's elastic net in the paper's (l1, l2) terms.

scikit-learn's ``ElasticNet`` minimises over (w, b)

    (1 / (2 n)) ||y - X w - b||^2 + alpha * l1_ratio * ||w||_1
        + (alpha * (1 - l1_ratio) / 2) * ||w||^2,

so with ``alpha = l1 + l2`` and ``l1_ratio = l1 / (l1 + l2)`` the objective is

    (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2,

the intercept b unpenalised. This module is the only place that converts
(l1, l2) to (alpha, l1_ratio).

``ElasticNetProblem`` is the one data object of the numeric core: the training split
(the lower level, centred once, with its Gram matrix), the validation split (the upper
level) and the solver that fits the lower level. Every part of the project (the Optuna
studies, the HLS step, the refiners, the estimator) fits through ``problem.fit(l1, l2)``.
Two solvers (``Solver``):

- ``"sklearn"``: scikit-learn's own coordinate descent with its defaults (tol 1e-4,
  max_iter 1000), cold-started, as the authors ran it: one call of its Cython kernel
  on the precomputed Gram matrix per fit. The paper's reproduction and its default
  protocol use it.
- ``"converged"``: the minimiser itself, to a relative duality gap of at most 1e-9
  (``optuna_training._coordinate_descent``), warm-started where the caller has a nearby
  model (the minimiser is unique, so a start changes only the cost). A fit that cannot
  reach the gap within its epoch budget is returned with ``converged=False`` (a fault the
  caller records), never silently.

``fit_elastic_net(X, y, l1, l2)`` is scikit-learn's estimator called as the authors call
it: the independent reference the tests compare the problem's fits with.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet

from optuna_training._coordinate_descent import (
    Design,
    converged_solve,
    relative_duality_gap,
    sklearn_solve,
)

__all__ = [
    "CONVERGED",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "SKLEARN",
    "SOLVER_NAMES",
    "ElasticNetFit",
    "ElasticNetProblem",
    "Solver",
    "alpha_l1_ratio",
    "fit_elastic_net",
    "make_solver",
    "mse",
]

#: scikit-learn's defaults, which the authors' code uses.
DEFAULT_MAX_ITER = 1000
DEFAULT_TOL = 1e-4
#: The converged solver's target: relative duality gap (P(w) - D) / P(w).
DEFAULT_TARGET_GAP = 1e-9
#: Coordinate-descent epochs the converged solver may spend on one fit before it reports
#: a stall (about 0.3 s on the house-price split; typical fits need 30-300).
DEFAULT_MAX_EPOCHS = 20_000


@dataclass(frozen=True)
class Solver:
    """How ``ElasticNetProblem.fit`` solves the lower level.

    Attributes
    ----------
    name : {"sklearn", "converged"}
        See the module docstring.
    tol : float
        scikit-learn's tolerance ("sklearn" only): stop at a duality gap of
        tol * ||y_c||^2 in its units.
    max_iter : int
        scikit-learn's epoch limit ("sklearn" only).
    target_gap : float
        Relative duality gap every fit must reach ("converged" only).
    max_epochs : int
        Epoch budget of one fit before it counts as stalled ("converged" only).
    """

    name: str = "sklearn"
    tol: float = DEFAULT_TOL
    max_iter: int = DEFAULT_MAX_ITER
    target_gap: float = DEFAULT_TARGET_GAP
    max_epochs: int = DEFAULT_MAX_EPOCHS

    def __post_init__(self) -> None:
        if self.name not in SOLVER_NAMES:
            raise ValueError(f"solver must be one of {', '.join(SOLVER_NAMES)}; got {self.name!r}")
        for field, value in (("tol", self.tol), ("target_gap", self.target_gap)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"Solver.{field} must be a finite number > 0; got {value!r}")
        for field, value in (("max_iter", self.max_iter), ("max_epochs", self.max_epochs)):
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
                raise ValueError(f"Solver.{field} must be an integer >= 1; got {value!r}")

    @property
    def warm_start(self) -> bool:
        """True when a start near the answer only saves time (the converged solver).

        With scikit-learn's tol = 1e-4 a warm start moves the validation loss by more
        than a line search's first steps change it, and by more than its 1e-5 sawtooth
        in studies (measured per setting in benchmarks/bench_fits.py), so the "sklearn"
        solver is always cold; the converged one gives the cold model warm.
        """
        return self.name == "converged"

    def describe(self) -> str:
        """One line for reports."""
        if self.name == "sklearn":
            return f"sklearn (coordinate descent, tol {self.tol:g}, max_iter {self.max_iter})"
        return (f"converged (relative duality gap <= {self.target_gap:g}, at most "
                f"{self.max_epochs} epochs, warm-started)")


#: The solvers by the name ``--solver`` takes.
SOLVER_NAMES = ("sklearn", "converged")
SKLEARN = Solver("sklearn")
CONVERGED = Solver("converged")


def make_solver(solver: str | Solver) -> Solver:
    """The Solver called ``solver`` (or ``solver`` itself if it is one).

    Parameters
    ----------
    solver : {"sklearn", "converged"} or Solver
    """
    if isinstance(solver, Solver):
        return solver
    if solver == "sklearn":
        return SKLEARN
    if solver == "converged":
        return CONVERGED
    raise ValueError(f"solver must be one of {', '.join(SOLVER_NAMES)} or a Solver; "
                     f"got {solver!r}")


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
        The solver's stopping rule was met: for "sklearn", it stopped before
        ``max_iter``; for "converged", the relative duality gap reached its target.
    gap : float
        Relative duality gap (P(w) - D) / P(w) of the fit (a bound on its relative
        suboptimality in the training objective); nan where it was not computed.
    """

    coef: np.ndarray
    intercept: float
    n_iter: int
    converged: bool
    gap: float = math.nan

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of shape (n_samples,) for X of shape (n_samples, n_features)."""
        return X @ self.coef + self.intercept


def alpha_l1_ratio(l1: float, l2: float) -> tuple[float, float]:
    """scikit-learn's (alpha, l1_ratio) for the penalty l1 ||w||_1 + (l2 / 2) ||w||^2.

    Parameters
    ----------
    l1, l2 : float
        Penalty weights, l1 + l2 > 0.
    """
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
    """Fit scikit-learn's ElasticNet at hyperparameters (l1, l2), as the authors do.

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
        ``gap`` is nan (scikit-learn's own gap is in other units).
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


def _checked_array(values: object, ndim: int, name: str, *, order: str = "C") -> np.ndarray:
    array = np.array(values, dtype=np.float64, order=order, copy=True)
    if array.ndim != ndim:
        shape = "(n_samples, n_features)" if ndim == 2 else "(n_samples,)"
        raise ValueError(f"{name} must be a {ndim}-D array of shape {shape}; got shape "
                         f"{array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has no rows; give at least one sample.")
    if not np.isfinite(array.sum()) and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values; impute or drop them first.")
    array.flags.writeable = False
    return array


class ElasticNetProblem:
    """The bilevel elastic-net problem: training and validation data, and the solver.

    Built once per split, then fitted at many (l1, l2). At construction the data are
    checked (shapes, finiteness), copied read-only, the training part centred (the
    intercept is not penalised: scikit-learn's centring, to the bit) and, when
    n_samples > n_features (scikit-learn's "auto" rule) or ``gram=True``, its Gram matrix
    Q = X_c^T X_c and q = X_c^T y_c formed. Each ``fit`` is then one call of the solver
    on them, with no per-fit validation or copies of the data.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
    y_train : array-like of shape (n_train,)
        Target in its own units (house prices: dollars).
    X_val : array-like of shape (n_val, n_features), optional
    y_val : array-like of shape (n_val,), optional
        The validation split (the upper level); needed by ``val_mse`` and
        ``validation_gradient``, and by everything that tunes (l1, l2).
    solver : {"sklearn", "converged"} or Solver, default "sklearn"
        How ``fit`` solves the lower level (see the module docstring).
    gram : bool or None, default None
        Precompute the Gram matrix; None does when n_train > n_features.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> problem = ElasticNetProblem(X[:40], y[:40], X[40:], y[40:], solver="converged")
    >>> fit = problem.fit(0.1, 0.2)
    >>> fit.converged, fit.gap <= 1e-9
    (True, True)
    """

    __slots__ = (
        "X_train",
        "X_val",
        "_X_offset",
        "_design",
        "_design_gram",
        "_solver",
        "_y_offset",
        "y_train",
        "y_val",
    )

    def __init__(
        self,
        X_train: np.ndarray,
        y_train: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        *,
        solver: str | Solver = "sklearn",
        gram: bool | None = None,
    ) -> None:
        self._solver = make_solver(solver)
        X = _checked_array(X_train, 2, "X_train")
        y = _checked_array(y_train, 1, "y_train")
        if X.shape[0] != y.shape[0]:
            raise ValueError(f"X_train has {X.shape[0]} rows but y_train has {y.shape[0]}; "
                             "give one target per row.")
        self.X_train, self.y_train = X, y
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither.")
        if X_val is not None:
            X_val = _checked_array(X_val, 2, "X_val")
            y_val = _checked_array(y_val, 1, "y_val")
            if X_val.shape[0] != y_val.shape[0]:
                raise ValueError(f"X_val has {X_val.shape[0]} rows but y_val has "
                                 f"{y_val.shape[0]}; give one target per row.")
            if X_val.shape[1] != X.shape[1]:
                raise ValueError(f"X_val has {X_val.shape[1]} features but X_train has "
                                 f"{X.shape[1]}; give both splits the same columns.")
        self.X_val, self.y_val = X_val, y_val
        # The centring of sklearn.linear_model._base._preprocess_data, to the bit.
        X_centred = np.array(X, dtype=np.float64, order="F", copy=True)
        X_offset = np.average(X_centred, axis=0)
        X_centred -= X_offset
        y_offset = float(np.average(y))
        y_centred = y - y_offset
        if gram is None:
            gram = X.shape[0] > X.shape[1]
        Q = np.ascontiguousarray(X_centred.T @ X_centred) if gram else None
        Xy = np.ascontiguousarray(X_centred.T @ y_centred)
        for array in (X_centred, y_centred, X_offset, Xy, *(() if Q is None else (Q,))):
            array.flags.writeable = False
        self._design = Design(X_centred, y_centred, Q, Xy, float(y_centred @ y_centred))
        self._X_offset, self._y_offset = X_offset, y_offset
        self._design_gram = None

    # ---------------------------------------------------------------- properties
    @property
    def solver(self) -> Solver:
        """The solver ``fit`` uses."""
        return self._solver

    @property
    def n_samples(self) -> int:
        """Rows of the training split."""
        return self.X_train.shape[0]

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def has_gram(self) -> bool:
        """True when the Gram matrix was precomputed."""
        return self._design.gram is not None

    @property
    def has_validation(self) -> bool:
        return self.X_val is not None

    @property
    def alpha_max(self) -> float:
        """max_j |X_c[:, j]^T y_c| / n: the smallest l1 at which every weight is zero (l2 = 0)."""
        return float(np.abs(self._design.Xy).max(initial=0.0)) / self.n_samples

    @property
    def design_gram(self) -> np.ndarray:
        """[X 1]^T [X 1] of shape (n_features + 1, n_features + 1), uncentred, read-only.

        The data part of the HLS constraint matrices (curvature_information,
        exact_formulation, hypergradient); formed once per problem, on first use.
        """
        if self._design_gram is None:
            design = np.hstack([self.X_train, np.ones((self.n_samples, 1))])
            gram = design.T @ design
            gram.flags.writeable = False
            self._design_gram = gram
        return self._design_gram

    def with_solver(self, solver: str | Solver) -> ElasticNetProblem:
        """The same problem (data and precomputation shared) with another solver.

        Parameters
        ----------
        solver : {"sklearn", "converged"} or Solver
        """
        other = copy.copy(self)
        other._solver = make_solver(solver)
        return other

    # ---------------------------------------------------------------- fitting
    def fit(self, l1: float, l2: float, *, coef_init: np.ndarray | None = None) -> ElasticNetFit:
        """The elastic net at hyperparameters (l1, l2) on the training split.

        Parameters
        ----------
        l1, l2 : float
            Penalty weights, each >= 0 and finite, l1 + l2 > 0 (module docstring).
        coef_init : ndarray of shape (n_features,), optional
            Start of the coordinate descent (not modified). With the "sklearn" solver a
            start changes the answer (scikit-learn's tol stops early), so callers pass one
            only where ``solver.warm_start`` is True; None starts from zero.

        Returns
        -------
        ElasticNetFit
        """
        if not (math.isfinite(l1) and math.isfinite(l2) and l1 >= 0 and l2 >= 0
                and l1 + l2 > 0):
            raise ValueError(f"l1 and l2 must be finite, >= 0 and not both 0; got "
                             f"({l1!r}, {l2!r}).")
        if coef_init is not None and np.shape(coef_init) != (self.n_features,):
            raise ValueError(f"coef_init must have shape ({self.n_features},); got "
                             f"{np.shape(coef_init)}")
        alpha, l1_ratio = alpha_l1_ratio(l1, l2)
        n = self.n_samples
        # enet_path's own arithmetic for the kernel's penalties.
        l1_reg = alpha * l1_ratio * n
        l2_reg = alpha * (1.0 - l1_ratio) * n
        solver = self._solver
        if solver.name == "sklearn":
            result = sklearn_solve(self._design, l1_reg, l2_reg, max_iter=solver.max_iter,
                                   tol=solver.tol, coef_init=coef_init)
        else:
            result = converged_solve(self._design, l1_reg, l2_reg,
                                     target_gap=solver.target_gap,
                                     max_epochs=solver.max_epochs, coef_init=coef_init)
        coef = result.coef
        intercept = float(self._y_offset - self._X_offset @ coef)
        if not (np.isfinite(coef).all() and math.isfinite(intercept)):
            raise ValueError(
                "Coordinate descent gave non-finite coefficients at "
                f"(l1, l2) = ({l1!r}, {l2!r}); preprocess the data."
            )
        return ElasticNetFit(coef=coef, intercept=intercept, n_iter=result.n_iter,
                             converged=result.status == "converged", gap=result.gap)

    def duality_gap(self, fit: ElasticNetFit, l1: float, l2: float) -> float:
        """Relative duality gap of any model ``fit`` at (l1, l2) on the training split.

        Parameters
        ----------
        fit : ElasticNetFit
            Only ``coef`` is used (the intercept of a centred fit is determined by it).
        l1, l2 : float
        """
        alpha, l1_ratio = alpha_l1_ratio(l1, l2)
        n = self.n_samples
        return relative_duality_gap(self._design, np.asarray(fit.coef, dtype=np.float64),
                                    alpha * l1_ratio * n, alpha * (1.0 - l1_ratio) * n)

    # ---------------------------------------------------------------- losses
    def _require_validation(self) -> None:
        if self.X_val is None:
            raise ValueError("this ElasticNetProblem has no validation split; build it "
                             "with X_val and y_val.")

    def train_mse(self, fit: ElasticNetFit) -> float:
        """Training MSE of ``fit``, in squared target units."""
        return mse(self.X_train, self.y_train, fit.coef, fit.intercept)

    def val_mse(self, fit: ElasticNetFit) -> float:
        """Validation MSE of ``fit`` (the upper-level loss), in squared target units."""
        self._require_validation()
        return mse(self.X_val, self.y_val, fit.coef, fit.intercept)

    def validation_gradient(self, fit: ElasticNetFit) -> np.ndarray:
        """Gradient of the validation MSE with respect to (w, b), shape (n_features + 1,).

        Weight components first, bias last: (2 / m) [X_val^T r ; sum(r)] with
        r = X_val w + b - y_val.
        """
        self._require_validation()
        residual = self.X_val @ fit.coef + fit.intercept - self.y_val
        return (2.0 / self.y_val.shape[0]) * np.append(self.X_val.T @ residual, residual.sum())

    def __repr__(self) -> str:
        val = "no validation" if self.X_val is None else f"{self.X_val.shape[0]} validation rows"
        return (f"ElasticNetProblem({self.n_samples} training rows, {val}, "
                f"{self.n_features} features, solver {self._solver.name!r})")


def mse(X: np.ndarray, y: np.ndarray, coef: np.ndarray, intercept: float) -> float:
    """Mean squared error of the linear model (coef, intercept) on (X, y), in target units^2.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    coef : ndarray of shape (n_features,)
    intercept : float
    """
    residual = X @ coef + intercept - y
    return float(residual @ residual / y.shape[0])
