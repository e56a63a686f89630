"""The lower-level problem: scikit-learn's elastic net in the paper's (l1, l2) terms.

scikit-learn's ``ElasticNet`` minimises over (w, b)

    (1 / (2 n)) ||y - X w - b||^2 + alpha * l1_ratio * ||w||_1
        + (alpha * (1 - l1_ratio) / 2) * ||w||^2,

so with ``alpha = l1 + l2`` and ``l1_ratio = l1 / (l1 + l2)`` the objective is

    (1 / (2 n)) ||y - X w - b||^2 + l1 ||w||_1 + (l2 / 2) ||w||^2,

the intercept b unpenalised. This module is the only place that converts
(l1, l2) to (alpha, l1_ratio).

Two ways to fit: ``fit_elastic_net(X, y, l1, l2)`` is scikit-learn's estimator called
as the authors call it; ``ElasticNetProblem(X, y).fit(l1, l2)`` gives the same model
several times faster when one training set is fitted many times (an Optuna study, a
line search), by doing once what ``ElasticNet.fit`` redoes at every call.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, enet_path

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


#: The Gram path is used only where its stopping rule is sound (ElasticNetProblem):
#: l1 * n_samples >= GRAM_L1_SAFETY * eps * max |X_c^T y_c|, and tol >= GRAM_MIN_TOL.
#: On the house-price split (eps * max|q| / n = 1.3e-11) the two paths' stopping epochs
#: differed at 1 in 3 random points with l1 in [1e-9, 1e-8), at 2 of 150 in [1e-6, 1e-5)
#: (last at l1 = 3.1e-6), and at none of 700 with l1 >= 1e-5; 1e7 puts the Gram path's
#: floor at l1 = 1.3e-4 there.
GRAM_L1_SAFETY = 1e7
GRAM_MIN_TOL = 1e-12


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class ElasticNetProblem:
    """One training set, fitted at many (l1, l2): the data-only work done once.

    Every ``ElasticNet.fit`` call copies X into Fortran order and centres X and y (the
    intercept is not penalised). None of it depends on (l1, l2), so this class does it
    at construction, with the Gram matrix, and each ``fit`` runs only scikit-learn's
    coordinate descent, through the public ``enet_path`` with ``check_input=False``:

    - Gram path: coordinate descent on Q = X_c^T X_c of shape (n_features, n_features)
      and q = X_c^T y_c, O(n_features) per coordinate update instead of O(n_samples).
      In exact arithmetic its iterates and its stopping rule (largest relative
      coordinate update <= tol, then duality gap <= tol * ||y_c||^2) are those of the
      plain fit; the arithmetic differs. The gap's residual norm is formed as
      ||y_c||^2 + w^T Q w - 2 q^T w (error a few eps * ||y_c||^2: needs
      tol >= GRAM_MIN_TOL), and the dual scaling compares
      ||q - Q w - l2 n w||_inf with l1 n (error about eps * max|q|: when l1 n is not
      far above it, rounding decides the stopping epoch, and the two paths stop at
      different epochs, either one first, up to 1000 against 446 at l1 = 1e-10).
      So a fit takes the Gram path only where
      l1 * n_samples >= GRAM_L1_SAFETY * eps * max|q| (``gram_applies``; l1 >= 1.3e-4
      on the house-price split). There, on that split, ``n_iter`` equalled the plain
      fit's at every point tried and the coefficients differ by a few 1e-12 of
      max |coef|.
    - Plain path: the arithmetic of ``fit_elastic_net`` on the centred design without
      the per-fit copies: bitwise the same model. Used where the Gram path is not
      (also for every fit when ``gram=False``).

    The Gram matrix pays when n_samples > n_features (scikit-learn's own "auto" rule),
    which ``gram=None`` applies.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    gram : bool or None, default=None
        Precompute the Gram matrix; None does when n_samples > n_features.
    """

    __slots__ = (
        "_X_centred", "_X_offset", "_Xy", "_gram", "_gram_l1_min", "_y_centred", "_y_offset"
    )

    def __init__(self, X: np.ndarray, y: np.ndarray, *, gram: bool | None = None) -> None:
        X = np.array(X, dtype=np.float64, order="F", copy=True)
        y = np.array(y, dtype=np.float64, copy=True)
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(
                f"X must have shape (n_samples, n_features) and y (n_samples,) with "
                f"n_samples > 0; got X {X.shape} and y {y.shape}"
            )
        # The centring of sklearn.linear_model._base._preprocess_data, to the bit.
        X_offset = np.average(X, axis=0)
        X -= X_offset
        y_offset = float(np.average(y))
        y -= y_offset
        if gram is None:
            gram = X.shape[0] > X.shape[1]
        self._X_centred = _read_only(X)
        self._y_centred = _read_only(y)
        self._X_offset = _read_only(X_offset)
        self._y_offset = y_offset
        if gram:
            self._gram = _read_only(np.ascontiguousarray(X.T @ X))
            self._Xy = _read_only(np.ascontiguousarray(X.T @ y))
            eps = np.finfo(np.float64).eps
            self._gram_l1_min = GRAM_L1_SAFETY * eps * float(np.abs(self._Xy).max()) / X.shape[0]
        else:
            self._gram = None
            self._Xy = None
            self._gram_l1_min = np.inf

    @property
    def n_samples(self) -> int:
        return self._X_centred.shape[0]

    @property
    def n_features(self) -> int:
        return self._X_centred.shape[1]

    @property
    def has_gram(self) -> bool:
        """True when the Gram matrix was precomputed (``gram`` at construction)."""
        return self._gram is not None

    @property
    def gram_l1_min(self) -> float:
        """Smallest l1 fitted on the Gram path (inf without a Gram matrix)."""
        return self._gram_l1_min

    def gram_applies(self, l1: float, *, tol: float = DEFAULT_TOL) -> bool:
        """True when ``fit(l1, ..., tol=tol)`` runs on the Gram path (see the class).

        Parameters
        ----------
        l1 : float
            The fit's l1 penalty weight.
        tol : float
            The fit's coordinate-descent tolerance.
        """
        return l1 >= self._gram_l1_min and tol >= GRAM_MIN_TOL

    def fit(
        self,
        l1: float,
        l2: float,
        *,
        coef_init: np.ndarray | None = None,
        max_iter: int = DEFAULT_MAX_ITER,
        tol: float = DEFAULT_TOL,
    ) -> ElasticNetFit:
        """The elastic net at hyperparameters (l1, l2), as ``fit_elastic_net`` fits it.

        Parameters
        ----------
        l1, l2 : float
            Positive penalty weights (see the module docstring).
        coef_init : ndarray of shape (n_features,), optional
            Warm start for the coefficients (not modified); None starts from zero.
        max_iter, tol : scikit-learn's coordinate-descent settings.

        Returns
        -------
        ElasticNetFit
            ``converged`` and ``n_iter`` mean what they mean for ``fit_elastic_net``.
        """
        alpha, l1_ratio = alpha_l1_ratio(l1, l2)
        if coef_init is None:
            coef = np.zeros(self.n_features)
        else:
            # A fresh array: coordinate descent updates its start in place.
            coef = np.array(coef_init, dtype=np.float64, copy=True)
            if coef.shape != (self.n_features,):
                raise ValueError(
                    f"coef_init must have shape ({self.n_features},); got {coef.shape}"
                )
        use_gram = self.gram_applies(l1, tol=tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _, n_iters = enet_path(
                self._X_centred,
                self._y_centred,
                l1_ratio=l1_ratio,
                alphas=[alpha],
                precompute=self._gram if use_gram else False,
                Xy=self._Xy if use_gram else None,
                copy_X=False,
                coef_init=coef,
                return_n_iter=True,
                check_input=False,
                max_iter=max_iter,
                tol=tol,
            )
        coef = np.ascontiguousarray(coefs[:, 0], dtype=np.float64)
        intercept = float(self._y_offset - self._X_offset @ coef)
        if not (np.isfinite(coef).all() and np.isfinite(intercept)):
            raise ValueError(
                "Coordinate descent gave non-finite coefficients at "
                f"(l1, l2) = ({l1!r}, {l2!r}); preprocess the data."
            )
        n_iter = int(n_iters[0])
        return ElasticNetFit(
            coef=coef, intercept=intercept, n_iter=n_iter, converged=n_iter < max_iter
        )


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
