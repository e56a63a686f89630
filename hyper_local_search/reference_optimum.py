"""The reference optimum of the validation loss: a scaled log grid, widened, then polished.

Refiners are ranked by their gap to the best validation MSE attainable on the split,

    reference_gap = (val_mse - reference_val_mse) / reference_val_mse,

so the reference must be the optimum itself, found independently of every refiner and
to a precision well below the differences it ranks. Three steps, every fit with the
converged solver (relative duality gap <= 1e-9, whatever the run's solver: the reference
is the truth the run is measured against):

1. **A log grid scaled to the data.** l1 runs over ``DECADES_BELOW`` = 6 decades below
   alpha_max = max_j |X_c[:, j]^T y_c| / n up to alpha_max itself (at and above alpha_max
   every weight is zero whatever l2: the intercept-only model, so nothing above needs a
   grid point); l2 runs from the hyperparameter floor 1e-10 up to ``L2_DECADES_ABOVE`` = 3
   decades above the mean feature variance s = mean_j var(X[:, j]) (the scale l2 is
   compared with: the ridge solution is (X_c^T X_c / n + l2 I)^-1 X_c^T y_c / n; far
   above it the model is shrunk to nearly zero). ``POINTS_PER_DECADE`` = 4 on both axes,
   on exponents log10(alpha_max) + k / 4 and -10 + k / 4, so that widening adds points
   without moving the others. Each l2 column is fitted from the null model down in l1,
   each fit warm-started from the previous one (the converged solver's answer does not
   depend on its start, only its cost does).
2. **Widen until the best is not on an edge.** A best grid point on the lowest l1 row
   (above the floor) or the highest l2 column adds ``WIDEN_DECADES`` = 2 decades on that
   side, up to ``MAX_WIDENINGS`` = 6 times; a best point on the l2 floor, on the l1 floor
   or on the null-model row is on a boundary of the problem itself (l1, l2 >= 1e-10; the
   flat region l1 >= alpha_max) and is reported as such (``boundaries``), not widened.
   A best point still on an open edge after the last widening is flagged (``open_edges``).
3. **Local polish** from the best ``POLISH_STARTS`` = 3 local minima of the grid (cells no
   higher than their 8 neighbours) and the best 3 local minima along the l2 floor (a
   valley that ends on the floor need not be a 2-D local minimum; found on a table with
   89 collinear features, where a refiner beat a reference polished from the 2-D minima
   only by 0.2%): Nelder-Mead in (log10 l1, log10 l2) within the bounds
   above (``scipy.optimize.minimize``), its first simplex one grid step wide, at most
   ``POLISH_MAX_FITS`` = 150 fits per start, each warm-started from the nearest point
   evaluated so far.

The reference is the lowest validation MSE of every point evaluated (grid and polish),
and its fit. Pure numerics: no clock, file or printing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize

from hyper_local_search.landscape import ValidationGrid
from optuna_training.elastic_net import CONVERGED, ElasticNetFit, ElasticNetProblem

__all__ = [
    "DECADES_BELOW",
    "L2_DECADES_ABOVE",
    "MAX_WIDENINGS",
    "POINTS_PER_DECADE",
    "POLISH_MAX_FITS",
    "POLISH_STARTS",
    "WIDEN_DECADES",
    "ReferenceOptimum",
    "reference_optimum",
]

#: Hyperparameters are kept at or above this floor (the paper's; the refiners' too).
FLOOR = 1e-10
#: Decades of l1 below alpha_max on the first grid.
DECADES_BELOW = 6
#: Decades of l2 above the mean feature variance on the first grid.
L2_DECADES_ABOVE = 3
#: Grid points per decade on both axes.
POINTS_PER_DECADE = 4
#: Decades added on an edge that holds the best point.
WIDEN_DECADES = 2
#: Most widenings before a best point on an open edge is only flagged.
MAX_WIDENINGS = 6
#: Local minima of the grid the polish starts from.
POLISH_STARTS = 3
#: Most fits of one polish.
POLISH_MAX_FITS = 150


@dataclass(frozen=True, eq=False)
class ReferenceOptimum:
    """The best validation MSE found on a split, and where.

    Attributes
    ----------
    l1, l2 : float
        The reference point.
    fit : ElasticNetFit
        The converged elastic net there (its ``gap`` and ``converged`` say how exact).
    val_mse : float
        Its validation MSE, in squared target units.
    grid : ValidationGrid
        The final (widened) grid, for figures.
    grid_best : tuple of float
        (l1, l2, val_mse) of the grid's best point, before the polish.
    widenings : int
        Edges widened.
    boundaries : tuple of str
        Boundaries of the problem the reference sits on: "l1_floor", "l2_floor"
        (hyperparameter at 1e-10), "null_model" (l1 >= alpha_max: no weight).
    open_edges : tuple of str
        Grid edges the best grid point still sat on after MAX_WIDENINGS ("l1_low",
        "l2_high"); empty when the grid holds the optimum inside.
    n_fits : int
        Elastic-net fits spent in all.
    n_unconverged : int
        Fits that stalled above the duality-gap target (their losses are still used).
    polish : tuple of (l1, l2, val_mse, l1_end, l2_end, val_end)
        Each polish's start cell and end point.
    """

    l1: float
    l2: float
    fit: ElasticNetFit
    val_mse: float
    grid: ValidationGrid
    grid_best: tuple[float, float, float]
    widenings: int
    boundaries: tuple[str, ...]
    open_edges: tuple[str, ...]
    n_fits: int
    n_unconverged: int
    polish: tuple[tuple[float, float, float, float, float, float], ...]

    def gap(self, val: float | np.ndarray) -> float | np.ndarray:
        """(val - val_mse) / val_mse: 0 at the reference, negative below it.

        Parameters
        ----------
        val : float or array_like
            Validation MSE(s) on the same split.
        """
        if np.ndim(val) == 0:
            return (float(val) - self.val_mse) / self.val_mse
        return (np.asarray(val, dtype=np.float64) - self.val_mse) / self.val_mse

    @property
    def description(self) -> str:
        """One line for reports."""
        where = ", ".join(self.boundaries) if self.boundaries else "interior"
        open_edges = f"; OPEN EDGES {', '.join(self.open_edges)}" if self.open_edges else ""
        return (f"l1 = {self.l1:.6g}, l2 = {self.l2:.6g}, validation MSE {self.val_mse:.10g} "
                f"(duality gap {self.fit.gap:.2g}; {where}); grid {self.grid.shape[0]} x "
                f"{self.grid.shape[1]}, {self.widenings} widenings, {len(self.polish)} "
                f"polishes, {self.n_fits} converged fits{open_edges}")

    def to_json(self) -> dict[str, Any]:
        """A strict-JSON dict (``from_json`` reads it back exactly)."""
        fit = self.fit
        return {
            "l1": self.l1, "l2": self.l2, "val_mse": self.val_mse,
            "fit": {"coef": fit.coef.tolist(), "intercept": fit.intercept,
                    "n_iter": fit.n_iter, "converged": fit.converged,
                    "gap": None if math.isnan(fit.gap) else fit.gap},
            "grid": self.grid.to_json(),
            "grid_best": list(self.grid_best),
            "widenings": self.widenings,
            "boundaries": list(self.boundaries),
            "open_edges": list(self.open_edges),
            "n_fits": self.n_fits,
            "n_unconverged": self.n_unconverged,
            "polish": [list(entry) for entry in self.polish],
            "description": self.description,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReferenceOptimum:
        """The reference ``to_json`` wrote.

        Parameters
        ----------
        data : mapping
        """
        entry = data["fit"]
        fit = ElasticNetFit(np.asarray(entry["coef"], dtype=np.float64),
                            float(entry["intercept"]), int(entry["n_iter"]),
                            bool(entry["converged"]),
                            math.nan if entry["gap"] is None else float(entry["gap"]))
        return cls(
            l1=float(data["l1"]), l2=float(data["l2"]), fit=fit, val_mse=float(data["val_mse"]),
            grid=ValidationGrid.from_json(data["grid"]),
            grid_best=tuple(float(v) for v in data["grid_best"]),
            widenings=int(data["widenings"]),
            boundaries=tuple(data["boundaries"]), open_edges=tuple(data["open_edges"]),
            n_fits=int(data["n_fits"]), n_unconverged=int(data["n_unconverged"]),
            polish=tuple(tuple(float(v) for v in p) for p in data["polish"]),
        )


class _Evaluator:
    """Converged fits at (l1, l2), memoised by the exact point, each warm-started."""

    def __init__(self, problem: ElasticNetProblem):
        self.problem = problem
        self.points: dict[tuple[float, float], tuple[float, ElasticNetFit]] = {}
        self.n_fits = 0
        self.n_unconverged = 0

    def __call__(self, l1: float, l2: float, coef_init: np.ndarray | None = None) -> float:
        key = (float(l1), float(l2))
        if key not in self.points:
            fit = self.problem.fit(key[0], key[1], coef_init=coef_init)
            self.n_fits += 1
            self.n_unconverged += not fit.converged
            value = self.problem.val_mse(fit)
            self.points[key] = (value if math.isfinite(value) else math.inf, fit)
        return self.points[key][0]

    def nearest_coef(self, l1: float, l2: float) -> np.ndarray | None:
        """Coefficients of the evaluated point nearest in (log l1, log l2)."""
        if not self.points:
            return None
        u = np.log10([l1, l2])
        keys = list(self.points)
        distances = [float(np.sum((np.log10(k) - u) ** 2)) for k in keys]
        return self.points[keys[int(np.argmin(distances))]][1].coef

    def best(self) -> tuple[float, float, float, ElasticNetFit]:
        (l1, l2), (value, fit) = min(self.points.items(), key=lambda item: item[1][0])
        return l1, l2, value, fit


def _value(exponent: float) -> float:
    """10**exponent, exact for whole exponents (1e-10 is the literal)."""
    if abs(exponent - round(exponent)) < 1e-9:
        return float(f"1e{round(exponent)}")
    return float(10.0**exponent)


class _Grid:
    """Integer-indexed log axes that widen without moving their points."""

    def __init__(self, problem: ElasticNetProblem, evaluate: _Evaluator, decades_below: int,
                 l2_decades_above: int):
        self.evaluate = evaluate
        self.alpha_max = problem.alpha_max
        if not (math.isfinite(self.alpha_max) and self.alpha_max > 0):
            raise ValueError("the training target is uncorrelated with every feature "
                             "(alpha_max = 0): no elastic net but the null model.")
        self.l1_top = math.log10(self.alpha_max)
        scale = float(np.mean(np.var(problem.X_train, axis=0)))
        if not scale > 0:
            raise ValueError("every training feature is constant; nothing to fit.")
        self.l1_k = (-decades_below * POINTS_PER_DECADE, 0)
        top = math.ceil((math.log10(scale) + l2_decades_above + 10) * POINTS_PER_DECADE)
        if top < 1:
            raise ValueError(f"l2_decades_above = {l2_decades_above} puts the top of the l2 "
                             "axis below the floor 1e-10; give a larger value.")
        self.l2_k = (0, top)
        self.values: dict[tuple[int, int], float] = {}

    def l1(self, k: int) -> float:
        return max(_value(self.l1_top + k / POINTS_PER_DECADE), FLOOR)

    def l2(self, k: int) -> float:
        return max(_value(-10.0 + k / POINTS_PER_DECADE), FLOOR)

    @property
    def l1_at_floor(self) -> bool:
        return self.l1(self.l1_k[0]) <= FLOOR

    def fill(self) -> None:
        """Fit every grid point not yet known, each l2 column from the top l1 down."""
        for k2 in range(self.l2_k[0], self.l2_k[1] + 1):
            previous = None
            for k1 in range(self.l1_k[1], self.l1_k[0] - 1, -1):
                l1, l2 = self.l1(k1), self.l2(k2)
                if (k1, k2) not in self.values:
                    self.values[(k1, k2)] = self.evaluate(l1, l2, coef_init=previous)
                previous = self.evaluate.points[(l1, l2)][1].coef

    def array(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        k1s = range(self.l1_k[0], self.l1_k[1] + 1)
        k2s = range(self.l2_k[0], self.l2_k[1] + 1)
        l1_values = [self.l1(k) for k in k1s]
        keep1 = [i for i, v in enumerate(l1_values) if i == len(l1_values) - 1
                 or v < l1_values[i + 1]]  # l1 clipped at the floor: one row
        val = np.array([[self.values[(k1, k2)] for k2 in k2s] for k1 in k1s])[keep1]
        fits = [[self.evaluate.points[(self.l1(k1), self.l2(k2))][1] for k2 in k2s]
                for k1 in k1s]
        n_iter = np.array([[f.n_iter for f in row] for row in fits])[keep1]
        converged = np.array([[f.converged for f in row] for row in fits])[keep1]
        return (np.array(l1_values)[keep1], np.array([self.l2(k) for k in k2s]), val, n_iter,
                converged)


def _local_minima(val: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` cells no higher than their 8 neighbours, lowest first."""
    padded = np.pad(val, 1, constant_values=np.inf)
    n1, n2 = val.shape
    minima = []
    for i in range(n1):
        for j in range(n2):
            window = padded[i:i + 3, j:j + 3]
            if np.isfinite(val[i, j]) and val[i, j] <= window.min():
                minima.append((float(val[i, j]), i, j))
    minima.sort()
    chosen: list[tuple[int, int]] = []
    for _, i, j in minima:  # one start per basin: skip plateaus' neighbouring cells
        if all(abs(i - a) > 1 or abs(j - b) > 1 for a, b in chosen):
            chosen.append((i, j))
        if len(chosen) == count:
            break
    return chosen


def _polish_starts(val: np.ndarray, count: int) -> list[tuple[int, int]]:
    """The cells the polish starts from: up to ``count`` local minima of the grid, then
    up to ``count`` local minima along the l2-floor column (l2 = 1e-10 is a boundary:
    a valley that ends on it need not be a local minimum of the 2-D grid, and a narrow
    one can fall between the floor's grid points). Duplicates are dropped."""
    if count <= 0:
        return []
    starts = _local_minima(val, count)
    floor = val[:, 0]
    padded = np.pad(floor, 1, constant_values=np.inf)
    along = sorted((float(floor[i]), i) for i in range(floor.size)
                   if np.isfinite(floor[i]) and floor[i] <= min(padded[i], padded[i + 2]))
    for _, i in along[:count]:
        if (i, 0) not in starts:
            starts.append((i, 0))
    return starts


def _polish(evaluate: _Evaluator, l1: float, l2: float, bounds: list[tuple[float, float]],
            max_fits: int) -> None:
    """Nelder-Mead in (log10 l1, log10 l2) from (l1, l2), one grid step wide at first."""
    u0 = np.log10([l1, l2])
    step = 1.0 / POINTS_PER_DECADE
    simplex = [u0]
    for axis in range(2):
        point = u0.copy()
        low, high = bounds[axis]
        point[axis] += step if point[axis] + step <= high else -step
        point[axis] = min(max(point[axis], low), high)
        simplex.append(point)
    start_fits = evaluate.n_fits
    f0 = evaluate(l1, l2)

    def objective(u: np.ndarray) -> float:
        a, b = (max(float(10.0**x), FLOOR) for x in u)
        if evaluate.n_fits - start_fits >= max_fits and (a, b) not in evaluate.points:
            return math.inf  # out of fits: refuse new points, the best is kept
        return evaluate(a, b, coef_init=evaluate.nearest_coef(a, b))

    minimize(objective, u0, method="Nelder-Mead", bounds=bounds,
             options={"initial_simplex": np.array(simplex), "xatol": 1e-6,
                      "fatol": 1e-12 * abs(f0) if math.isfinite(f0) else 0.0,
                      "maxfev": max_fits})


def reference_optimum(
    problem: ElasticNetProblem,
    *,
    decades_below: int = DECADES_BELOW,
    l2_decades_above: int = L2_DECADES_ABOVE,
    polish_starts: int = POLISH_STARTS,
    polish_max_fits: int = POLISH_MAX_FITS,
    max_widenings: int = MAX_WIDENINGS,
) -> ReferenceOptimum:
    """The lowest validation MSE on the split: scaled grid, widened, polished.

    See the module docstring for the three steps.

    Parameters
    ----------
    problem : ElasticNetProblem
        Training and validation splits (its solver is replaced by the converged one).
    decades_below : int
        Decades of l1 below alpha_max on the first grid (>= 1).
    l2_decades_above : int
        Decades of l2 above the mean feature variance on the first grid.
    polish_starts : int
        Grid local minima polished (0: the grid's best only, unpolished).
    polish_max_fits : int
        Most fits of one polish.
    max_widenings : int
        Most widenings of the grid.

    Returns
    -------
    ReferenceOptimum

    Raises
    ------
    ValueError
        When the problem has no validation split, or its target is uncorrelated with
        every feature (alpha_max = 0) or every feature is constant.
    """
    if not problem.has_validation:
        raise ValueError("reference_optimum needs a problem with a validation split.")
    problem = problem.with_solver(CONVERGED)
    evaluate = _Evaluator(problem)
    if decades_below < 1:
        raise ValueError(f"decades_below must be at least 1; got {decades_below}")
    grid = _Grid(problem, evaluate, decades_below, l2_decades_above)
    widenings = 0
    open_edges: tuple[str, ...] = ()
    while True:
        grid.fill()
        (k1, k2), _ = min(grid.values.items(), key=lambda item: item[1])
        edges = []
        if k1 == grid.l1_k[0] and not grid.l1_at_floor:
            edges.append("l1_low")
        if k2 == grid.l2_k[1]:
            edges.append("l2_high")
        if not edges:
            break
        if widenings == max_widenings:
            open_edges = tuple(edges)
            break
        widenings += 1
        if "l1_low" in edges:
            grid.l1_k = (grid.l1_k[0] - WIDEN_DECADES * POINTS_PER_DECADE, grid.l1_k[1])
        if "l2_high" in edges:
            grid.l2_k = (grid.l2_k[0], grid.l2_k[1] + WIDEN_DECADES * POINTS_PER_DECADE)

    l1_values, l2_values, val, n_iter, converged = grid.array()
    i, j = np.unravel_index(int(np.argmin(val)), val.shape)
    grid_best = (float(l1_values[i]), float(l2_values[j]), float(val[i, j]))
    bounds = [(math.log10(max(float(l1_values[0]), FLOOR)), math.log10(grid.alpha_max)),
              (math.log10(FLOOR), math.log10(float(l2_values[-1])))]
    polish = []
    for a, b in _polish_starts(val, polish_starts):
        l1, l2 = float(l1_values[a]), float(l2_values[b])
        before = set(evaluate.points)
        _polish(evaluate, l1, l2, bounds, polish_max_fits)
        new = {key: evaluate.points[key] for key in set(evaluate.points) - before}
        end = min(new.items(), key=lambda item: item[1][0]) if new else ((l1, l2), (val[a, b],))
        polish.append((l1, l2, float(val[a, b]), end[0][0], end[0][1], float(end[1][0])))

    best_l1, best_l2, best_val, best_fit = evaluate.best()
    boundaries = []
    if best_l1 <= FLOOR * (1 + 1e-3):
        boundaries.append("l1_floor")
    if best_l2 <= FLOOR * (1 + 1e-3):
        boundaries.append("l2_floor")
    if best_l1 >= grid.alpha_max:
        boundaries.append("null_model")
    return ReferenceOptimum(
        l1=best_l1, l2=best_l2, fit=best_fit, val_mse=best_val,
        grid=ValidationGrid(l1_values=l1_values, l2_values=l2_values, val_mse=val,
                            n_iter=n_iter, converged=converged, solver=CONVERGED.describe()),
        grid_best=grid_best, widenings=widenings, boundaries=tuple(boundaries),
        open_edges=open_edges, n_fits=evaluate.n_fits, n_unconverged=evaluate.n_unconverged,
        polish=tuple(polish),
    )
