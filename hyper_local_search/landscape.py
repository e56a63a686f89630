"""The validation loss on a dense log-grid of (l1, l2): the global reference for refiners.

Every grid point is a cold elastic-net fit on the training split (coefficients started at
zero, scikit-learn's tol 1e-4 and max_iter 1000, as everywhere in the project) and its
unregularised validation MSE. The grid's best point is the reference against which the
refiners' end points are compared:

    grid_gap = (val_mse - grid_best) / grid_best,

0.0 at the grid's best, negative for a point better than every grid point (the grid is
finite: a refiner can land between its points).

Default grid (``DEFAULT_L1_RANGE``, ``DEFAULT_L2_RANGE``, ``DEFAULT_POINTS_PER_DECADE``):
l1 in [1e-3, 1e4] and l2 in [1e-10, 1e4], 4 points per decade on each axis (a factor
10^0.25 = 1.78 between neighbours, every power of ten on the grid): 29 x 57 = 1653 fits.
It contains the global optimum of the house-price data (l1 about 100 at l2 = 1e-10, the
hyperparameter floor; METHOD.md) and the in-box valley near (1, 0.038). Measured on the
house-price split (934 x 284) on a 2-core machine: 11 s (up to 17 s while other
processes load it); 528 of the fits (l2 below about 3e-3 with l1 below about 30) stop at
max_iter and take most of that time. The grid's best there is (100, 1e-10), validation
7.26116e8, 2e-5 above the best point of the l2 floor (7.26100e8 at l1 = 101.2); the
best in-box point on the grid is (1, 0.0316), 8.4462e8, gap 0.163. On the other data
sets the default grid costs 0.3 s (diabetes), 0.4 s (california_housing) and 1.3 s
(simulation); their grid optima are (0.1, 0.056), (178, 1e-10) and (0.56, 1e-10).

Why l1 starts at 1e-3, not lower: on all four data sets the rows l1 in [1e-6, 1e-3)
(4 per decade) hold neither the grid's best nor anything better than the l1 = 1e-3 row
by more than 1e-3 relative: their best gaps are 0.163 (house_price), 3.5e-4 (diabetes),
5.4e-4 (california_housing) and 0.759 (simulation), against 0.163, 3.5e-4, 5.4e-4 and
0.760 at l1 = 1e-3 (point by point within 7e-4 of the l1 = 1e-3 row on house_price,
1.1e-6 where both fits converged; within 2e-3 on simulation). Those fits are the most
expensive: below ``ElasticNetProblem.gram_l1_min`` (1.3e-4 on the house-price split)
they take the plain coordinate-descent path, up to 110 ms per non-converging fit, and
starting at 1e-6 costs 56 s on house_price, 22 s on california_housing and 66 s on
simulation instead of 11 s, 0.4 s and 1.3 s.

Points outside the grid (a refiner may end at l1 = 1e-10) still get a gap: ``gap``
needs only their validation MSE.

Why cold fits: warm-starting each l2 column along decreasing l1 is 1.6x faster on
house_price but changes the losses far above the tol-1e-4 sawtooth (about 1e-5
relative): up to 1e-3 relative at converged points, 5% at points that stop at max_iter,
and the grid's best by 8.6e-5. So the grid is made of cold fits only.

Pure numerics: no clock, file or printing here; the caller times the grid and may cache
``ValidationGrid.to_json()`` (strict JSON) in a run directory.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optuna_training.elastic_net import ElasticNetProblem

__all__ = [
    "DEFAULT_L1_RANGE",
    "DEFAULT_L2_RANGE",
    "DEFAULT_POINTS_PER_DECADE",
    "ValidationGrid",
    "log_grid",
    "validation_grid",
]

#: (low, high) of the l1 axis; see the module docstring for why it starts at 1e-3.
DEFAULT_L1_RANGE = (1e-3, 1e4)
#: (low, high) of the l2 axis: from the hyperparameter floor 1e-10 up.
DEFAULT_L2_RANGE = (1e-10, 1e4)
#: Grid points per decade on both axes (neighbours a factor 10^0.25 = 1.78 apart).
DEFAULT_POINTS_PER_DECADE = 4


def log_grid(low: float, high: float, points_per_decade: int) -> np.ndarray:
    """Log-spaced values from `low` to `high`, both included.

    Parameters
    ----------
    low, high : float
        Positive ends, ``low < high``.
    points_per_decade : int
        Positive. The number of points is ``round(points_per_decade * log10(high / low))
        + 1``, so the spacing is exactly ``1 / points_per_decade`` decade when the range
        spans a whole number of such steps (as the defaults do; then every power of ten
        in the range is a grid value, equal to its literal: ``1e-5 in log_grid(1e-10,
        1e4, 4)``).

    Returns
    -------
    values : ndarray of shape (n_points,)
        Increasing; the first is `low` and the last `high`, exactly.
    """
    if not (0 < low < high and math.isfinite(high)):
        raise ValueError(f"log_grid needs 0 < low < high < inf; got low={low!r}, high={high!r}")
    if int(points_per_decade) != points_per_decade or points_per_decade < 1:
        raise ValueError(f"points_per_decade must be a positive integer; got {points_per_decade!r}")
    lo, hi = math.log10(low), math.log10(high)
    n_points = max(2, round(points_per_decade * (hi - lo)) + 1)
    exponents = np.linspace(lo, hi, n_points)
    values = 10.0**exponents
    # np.power(10.0, -5.0) is 1 ulp off 1e-5: give powers of ten their correctly rounded
    # values, so that 1e-5 (or 100.0) in the grid is the literal.
    decades = np.round(exponents)
    exact = np.abs(exponents - decades) < 1e-9
    values[exact] = [float(f"1e{int(k)}") for k in decades[exact]]
    values[0], values[-1] = low, high
    return values


@dataclass(frozen=True, eq=False)
class ValidationGrid:
    """Validation MSE of cold elastic-net fits on a grid of (l1, l2).

    Attributes
    ----------
    l1_values : ndarray of shape (n1,)
        Increasing positive l1 values.
    l2_values : ndarray of shape (n2,)
        Increasing positive l2 values.
    val_mse : ndarray of shape (n1, n2)
        ``val_mse[i, j]``: validation MSE (squared target units) of the elastic net
        fitted on the training split at ``(l1_values[i], l2_values[j])``; nan where the
        fit gave non-finite coefficients.
    n_iter : ndarray of int of shape (n1, n2)
        Coordinate-descent epochs of each fit (-1 where the fit failed).
    converged : ndarray of bool of shape (n1, n2)
        False where the fit stopped at ``max_iter`` (or failed).
    solver : str
        The solver of every fit (``Solver.describe()``).

    The arrays are read-only copies. ``best_l1``, ``best_l2`` and ``best_val`` give the
    grid's best point (nan if every point is nan), ``gap`` the relative gap to it,
    ``resolution`` a one-line description for reports.
    """

    l1_values: np.ndarray
    l2_values: np.ndarray
    val_mse: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    solver: str = ""

    def __post_init__(self) -> None:
        l1 = _axis(self.l1_values, "l1_values")
        l2 = _axis(self.l2_values, "l2_values")
        shape = (l1.size, l2.size)
        arrays = {
            "val_mse": np.array(self.val_mse, dtype=np.float64),
            "n_iter": np.array(self.n_iter, dtype=np.int64),
            "converged": np.array(self.converged, dtype=bool),
        }
        for name, array in arrays.items():
            if array.shape != shape:
                raise ValueError(
                    f"{name} must have shape (len(l1_values), len(l2_values)) = {shape}; "
                    f"got {array.shape}"
                )
        for name, array in {"l1_values": l1, "l2_values": l2, **arrays}.items():
            array.flags.writeable = False
            object.__setattr__(self, name, array)
        object.__setattr__(self, "solver", str(self.solver))

    @property
    def shape(self) -> tuple[int, int]:
        """(n1, n2): grid points along l1 and along l2."""
        return self.val_mse.shape

    @property
    def n_fits(self) -> int:
        """Elastic-net fits the grid took (one per point)."""
        return int(self.val_mse.size)

    @property
    def best_index(self) -> tuple[int, int] | None:
        """(i, j) of the lowest validation MSE (first in row-major order on ties);
        None when every point is nan."""
        if np.isnan(self.val_mse).all():
            return None
        i, j = np.unravel_index(int(np.nanargmin(self.val_mse)), self.shape)
        return int(i), int(j)

    @property
    def best_l1(self) -> float:
        """l1 of the grid's best point (nan if none)."""
        index = self.best_index
        return math.nan if index is None else float(self.l1_values[index[0]])

    @property
    def best_l2(self) -> float:
        """l2 of the grid's best point (nan if none)."""
        index = self.best_index
        return math.nan if index is None else float(self.l2_values[index[1]])

    @property
    def best_val(self) -> float:
        """The grid's lowest validation MSE (nan if every point is nan)."""
        index = self.best_index
        return math.nan if index is None else float(self.val_mse[index])

    @property
    def points_per_decade(self) -> tuple[float, float]:
        """Mean grid points per decade along l1 and along l2 (nan for a single point)."""
        return _per_decade(self.l1_values), _per_decade(self.l2_values)

    @property
    def resolution(self) -> str:
        """One line for reports: both axes' ranges and densities, and the fits' settings."""
        per_l1, per_l2 = self.points_per_decade
        return (
            f"l1: {self.l1_values.size} points on [{self.l1_values[0]:.3g}, "
            f"{self.l1_values[-1]:.3g}] ({per_l1:.3g} per decade); "
            f"l2: {self.l2_values.size} points on [{self.l2_values[0]:.3g}, "
            f"{self.l2_values[-1]:.3g}] ({per_l2:.3g} per decade); "
            f"{self.n_fits} fits, solver {self.solver}"
        )

    def gap(self, val: float | np.ndarray) -> float | np.ndarray:
        """Relative gap of validation MSE `val` to the grid's best.

        Parameters
        ----------
        val : float or array_like
            Validation MSE(s), in the grid's squared target units.

        Returns
        -------
        gap : float or ndarray of the same shape
            ``(val - best_val) / best_val``: 0.0 at the grid's best, positive above it,
            negative below it; nan where `val` is nan or the grid has no best.
        """
        best = self.best_val
        if np.ndim(val) == 0:
            return (float(val) - best) / best
        return (np.asarray(val, dtype=np.float64) - best) / best

    def to_json(self) -> dict[str, Any]:
        """Plain dict of lists and numbers for ``json.dumps(..., allow_nan=False)``.

        nan losses are written as None (JSON null). ``best`` and ``resolution`` are
        included for readers of the file and ignored by ``from_json``, which recomputes
        them. Floats survive a JSON round trip exactly (Python writes the shortest
        repr that reads back to the same double).
        """
        best = None
        if self.best_index is not None:
            best = {"l1": self.best_l1, "l2": self.best_l2, "val_mse": self.best_val}
        return {
            "l1_values": [float(value) for value in self.l1_values],
            "l2_values": [float(value) for value in self.l2_values],
            "val_mse": [
                [None if math.isnan(value) else float(value) for value in row]
                for row in self.val_mse
            ],
            "n_iter": self.n_iter.tolist(),
            "converged": self.converged.tolist(),
            "solver": self.solver,
            "best": best,
            "resolution": self.resolution,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ValidationGrid:
        """The grid written by ``to_json`` (JSON null read back as nan).

        Parameters
        ----------
        data : mapping
            ``to_json``'s dict, e.g. from ``json.loads``.

        Returns
        -------
        ValidationGrid

        Raises
        ------
        KeyError
            When a required key is missing.
        ValueError
            When the arrays' shapes do not fit together.
        """
        val_mse = [
            [math.nan if value is None else value for value in row] for row in data["val_mse"]
        ]
        return cls(
            l1_values=np.array(data["l1_values"], dtype=np.float64),
            l2_values=np.array(data["l2_values"], dtype=np.float64),
            val_mse=np.array(val_mse, dtype=np.float64).reshape(
                len(data["l1_values"]), len(data["l2_values"])
            ),
            n_iter=np.array(data["n_iter"], dtype=np.int64).reshape(
                len(data["l1_values"]), len(data["l2_values"])
            ),
            converged=np.array(data["converged"], dtype=bool).reshape(
                len(data["l1_values"]), len(data["l2_values"])
            ),
            solver=str(data["solver"]),
        )


def validation_grid(
    problem: ElasticNetProblem,
    *,
    l1_values: Sequence[float] | np.ndarray | None = None,
    l2_values: Sequence[float] | np.ndarray | None = None,
) -> ValidationGrid:
    """Validation MSE of a cold elastic-net fit at every point of an (l1, l2) grid.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits and the solver of every fit.
    l1_values : array_like of shape (n1,), optional
        Increasing positive l1 values; default ``log_grid(*DEFAULT_L1_RANGE,
        DEFAULT_POINTS_PER_DECADE)`` (29 values, 1e-3 to 1e4).
    l2_values : array_like of shape (n2,), optional
        Increasing positive l2 values; default ``log_grid(*DEFAULT_L2_RANGE,
        DEFAULT_POINTS_PER_DECADE)`` (57 values, 1e-10 to 1e4).

    Returns
    -------
    ValidationGrid
        n1 * n2 cold fits (coefficients started at zero). A fit that gives non-finite
        coefficients is recorded as nan (n_iter -1, not converged); the others go on.
    """
    l1 = _axis(
        log_grid(*DEFAULT_L1_RANGE, DEFAULT_POINTS_PER_DECADE) if l1_values is None else l1_values,
        "l1_values",
    )
    l2 = _axis(
        log_grid(*DEFAULT_L2_RANGE, DEFAULT_POINTS_PER_DECADE) if l2_values is None else l2_values,
        "l2_values",
    )
    val_mse = np.full((l1.size, l2.size), np.nan)
    n_iter = np.full((l1.size, l2.size), -1, dtype=np.int64)
    converged = np.zeros((l1.size, l2.size), dtype=bool)
    for i, l1_value in enumerate(l1):
        for j, l2_value in enumerate(l2):
            try:
                fit = problem.fit(float(l1_value), float(l2_value))
            except ValueError:  # non-finite coefficients: a numerical fault at this point
                continue
            val_mse[i, j] = problem.val_mse(fit)
            n_iter[i, j] = fit.n_iter
            converged[i, j] = fit.converged
    return ValidationGrid(
        l1_values=l1,
        l2_values=l2,
        val_mse=val_mse,
        n_iter=n_iter,
        converged=converged,
        solver=problem.solver.describe(),
    )


def _axis(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """A float copy of a grid axis, checked to be 1-D, finite, positive and increasing."""
    array = np.array(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array; got shape {array.shape}")
    if not (np.isfinite(array).all() and (array > 0).all() and (np.diff(array) > 0).all()):
        raise ValueError(f"{name} must be finite, positive and strictly increasing")
    return array


def _per_decade(values: np.ndarray) -> float:
    if values.size < 2:
        return math.nan
    return (values.size - 1) / math.log10(values[-1] / values[0])
