"""The dense (l1, l2) validation grid: brute-force agreement, gaps, JSON, house-price facts."""

from __future__ import annotations

import inspect
import json
import math
import re

import numpy as np
import pytest

from hyper_local_search.landscape import (
    DEFAULT_L1_RANGE,
    DEFAULT_L2_RANGE,
    DEFAULT_POINTS_PER_DECADE,
    ValidationGrid,
    log_grid,
    validation_grid,
)
from optuna_training.elastic_net import ElasticNetFit, ElasticNetProblem, fit_elastic_net, mse
from tests.conftest import problem_of


def _small_grid(splits, **kwargs) -> ValidationGrid:
    return validation_grid(
        problem_of(splits, **kwargs),
        l1_values=log_grid(1e-3, 10.0, 2), l2_values=log_grid(1e-4, 10.0, 2),
    )


def test_log_grid_hits_every_power_of_ten_exactly():
    values = log_grid(1e-10, 1e4, 4)
    assert values.shape == (57,)
    assert values[0] == 1e-10
    assert values[-1] == 1e4
    decades = values[::4]
    np.testing.assert_array_equal(decades, [float(f"1e{k}") for k in range(-10, 5)])
    np.testing.assert_allclose(np.diff(np.log10(values)), 0.25, rtol=1e-12)
    with pytest.raises(ValueError, match="0 < low < high"):
        log_grid(1.0, 1.0, 4)
    with pytest.raises(ValueError, match="positive integer"):
        log_grid(1e-3, 1.0, 0)


def test_default_grid_contains_the_house_price_optima():
    l1 = log_grid(*DEFAULT_L1_RANGE, DEFAULT_POINTS_PER_DECADE)
    l2 = log_grid(*DEFAULT_L2_RANGE, DEFAULT_POINTS_PER_DECADE)
    assert (l1.size, l2.size) == (29, 57)
    assert 100.0 in l1  # global optimum near l1 = 100, l2 at the 1e-10 floor (METHOD.md)
    assert l2[0] == 1e-10
    assert l1[0] <= 1.0 <= l1[-1]  # in-box valley near (1, 0.038)
    assert l2[0] < 0.038 < l2[-1]


def test_grid_equals_direct_cold_fits_and_its_best_is_their_minimum(small_splits):
    s = small_splits
    grid = _small_grid(s)
    assert grid.shape == (9, 11)
    assert grid.val_mse.shape == grid.n_iter.shape == grid.converged.shape == (9, 11)
    assert grid.l1_values.shape == (9,)
    assert grid.l2_values.shape == (11,)
    assert grid.n_fits == 99
    direct = np.empty(grid.shape)
    for i, l1 in enumerate(grid.l1_values):
        for j, l2 in enumerate(grid.l2_values):
            fit = fit_elastic_net(s.X_train, s.y_train, l1, l2)  # scikit-learn's estimator
            direct[i, j] = mse(s.X_val, s.y_val, fit.coef, fit.intercept)
    # ElasticNetProblem's Gram path differs from the estimator in rounding only.
    np.testing.assert_allclose(grid.val_mse, direct, rtol=1e-9)
    i, j = np.unravel_index(np.argmin(direct), direct.shape)
    assert grid.best_index == (i, j)
    assert grid.best_l1 == grid.l1_values[i]
    assert grid.best_l2 == grid.l2_values[j]
    assert grid.best_val == pytest.approx(direct.min(), rel=1e-9)
    assert grid.best_val == grid.val_mse.min()
    assert grid.converged.all()
    assert (grid.n_iter >= 0).all()  # 0 where l1 is large enough to zero every weight
    assert grid.gap(grid.best_val) == 0.0


def test_the_problem_s_solver_fits_the_grid(small_splits):
    s = small_splits
    loose, tight = _small_grid(s), _small_grid(s, solver="converged")
    assert "sklearn" in loose.solver
    assert "converged" in tight.solver
    np.testing.assert_allclose(tight.val_mse, loose.val_mse, rtol=1e-3)
    problem = problem_of(s, solver="converged")
    fit = problem.fit(float(tight.l1_values[2]), float(tight.l2_values[3]))
    assert tight.val_mse[2, 3] == pytest.approx(problem.val_mse(fit), rel=1e-9)


def test_default_axes_are_used(small_splits):
    s = small_splits
    grid = validation_grid(problem_of(s), l1_values=[0.1, 1.0])
    assert grid.shape == (2, 57)
    np.testing.assert_array_equal(grid.l2_values, log_grid(*DEFAULT_L2_RANGE, 4))


@pytest.mark.parametrize(
    ("l1_values", "message"),
    [([], "non-empty 1-D"), ([[1.0]], "non-empty 1-D"), ([1.0, 0.5], "increasing"),
     ([0.0, 1.0], "positive"), ([1.0, np.nan], "finite")],
)
def test_bad_axes_are_refused(small_splits, l1_values, message):
    s = small_splits
    with pytest.raises(ValueError, match=message):
        validation_grid(problem_of(s), l1_values=l1_values, l2_values=[1.0])


class _FailingProblem(ElasticNetProblem):
    """A problem whose fit fails (non-finite coefficients) at l1 = 2."""

    def fit(self, l1, l2, *, coef_init=None):
        if l1 == 2.0:
            raise ValueError("Coordinate descent gave non-finite coefficients")
        return ElasticNetFit(coef=np.array([l2]), intercept=l1, n_iter=7, converged=True)


def test_a_failed_fit_is_nan_and_the_grid_goes_on():
    X, y = np.ones((5, 1)), np.zeros(5)
    grid = validation_grid(_FailingProblem(X, y, X, y), l1_values=[1.0, 2.0],
                           l2_values=[1.0, 3.0])
    np.testing.assert_array_equal(grid.val_mse, [[4.0, 16.0], [np.nan, np.nan]])
    np.testing.assert_array_equal(grid.n_iter, [[7, 7], [-1, -1]])
    np.testing.assert_array_equal(grid.converged, [[True, True], [False, False]])
    assert (grid.best_l1, grid.best_l2, grid.best_val) == (1.0, 1.0, 4.0)


def _made_grid(val_mse) -> ValidationGrid:
    val_mse = np.asarray(val_mse, dtype=float)
    return ValidationGrid(
        l1_values=np.geomspace(1e-3, 1.0, val_mse.shape[0]),
        l2_values=np.geomspace(1e-10, 1.0, val_mse.shape[1]),
        val_mse=val_mse,
        n_iter=np.arange(val_mse.size).reshape(val_mse.shape),
        converged=val_mse < 5,
    )


def test_gap_arithmetic():
    grid = _made_grid([[4.0, 2.0, 8.0], [np.nan, 3.0, 2.5]])
    assert grid.best_index == (0, 1)
    assert grid.best_val == 2.0
    assert grid.best_l2 == grid.l2_values[1]
    assert grid.gap(2.0) == 0.0
    assert grid.gap(3.0) == 0.5
    assert grid.gap(1.0) == -0.5  # better than every grid point
    assert isinstance(grid.gap(np.float64(4.0)), float)
    np.testing.assert_array_equal(grid.gap([2.0, 5.0, np.nan]), [0.0, 1.5, np.nan])
    np.testing.assert_array_equal(grid.gap(grid.val_mse), [[1.0, 0.0, 3.0], [np.nan, 0.5, 0.25]])
    assert math.isnan(grid.gap(np.nan))


def test_all_nan_grid_has_no_best():
    grid = _made_grid([[np.nan, np.nan]])
    assert grid.best_index is None
    assert math.isnan(grid.best_l1)
    assert math.isnan(grid.best_val)
    assert math.isnan(grid.gap(1.0))
    assert grid.to_json()["best"] is None


def test_shapes_are_checked_and_arrays_are_read_only():
    grid = _made_grid([[4.0, 2.0]])
    with pytest.raises(ValueError, match="read-only"):
        grid.val_mse[0, 0] = 1.0
    with pytest.raises(ValueError, match=r"val_mse must have shape .* \(1, 2\); got \(2, 1\)"):
        ValidationGrid(l1_values=[1.0], l2_values=[1.0, 2.0], val_mse=[[1.0], [2.0]],
                       n_iter=[[1, 1]], converged=[[True, True]])


def test_json_round_trip_is_exact(small_splits):
    grid = _small_grid(small_splits)
    holes = _made_grid([[4.0, 2.0, 8.0], [np.nan, 3.0, 2.5]])
    for original in (grid, holes):
        text = json.dumps(original.to_json(), allow_nan=False)
        data = json.loads(text)
        back = ValidationGrid.from_json(data)
        for name in ("l1_values", "l2_values", "val_mse", "n_iter", "converged"):
            np.testing.assert_array_equal(getattr(back, name), getattr(original, name))
            assert getattr(back, name).dtype == getattr(original, name).dtype
        assert back.solver == original.solver
        assert back.best_val == original.best_val
        assert back.resolution == original.resolution
        assert data["best"] == {"l1": original.best_l1, "l2": original.best_l2,
                                "val_mse": original.best_val}
    assert json.loads(json.dumps(holes.to_json()))["val_mse"][1][0] is None


def test_resolution_names_ranges_and_density(small_splits):
    grid = _small_grid(small_splits)
    assert grid.points_per_decade == pytest.approx((2.0, 2.0))
    assert grid.resolution == (
        "l1: 9 points on [0.001, 10] (2 per decade); l2: 11 points on [0.0001, 10] "
        "(2 per decade); 99 fits, solver sklearn (coordinate descent, tol 0.0001, "
        "max_iter 1000)"
    )


def test_house_price_coarse_grid_finds_the_global_optimum(paper_house_price):
    """METHOD.md: the global optimum is near l1 = 100 at the l2 floor, validation 7.2610e8
    (at l1 = 101.2); the in-box valley is near (1, 0.038) at 8.439e8; with l2 = 1e-4 the
    best is about 7.40e8. A coarse grid, 2 points per decade (15 x 29 = 435 fits, ~3 s)."""
    s = paper_house_price
    grid = validation_grid(
        problem_of(s),
        l1_values=log_grid(*DEFAULT_L1_RANGE, 2), l2_values=log_grid(*DEFAULT_L2_RANGE, 2),
    )
    assert grid.shape == (15, 29)
    assert grid.best_l1 == 100.0
    assert grid.best_l2 <= 1e-8
    # The grid point l1 = 100 lies 2e-5 above the best point of the l2 floor (l1 = 101.2).
    assert grid.best_val == pytest.approx(7.2610e8, rel=1e-4)
    in_box = np.where(
        (grid.l1_values <= 1.0)[:, None] & (grid.l2_values <= 1.0)[None, :], grid.val_mse, np.inf
    )
    i, j = np.unravel_index(np.argmin(in_box), in_box.shape)
    assert 0.01 <= grid.l2_values[j] <= 0.1  # the valley along l2 ~ 0.038
    assert in_box[i, j] == pytest.approx(8.439e8, rel=2e-3)  # grid l2 = 0.0316, not 0.038
    assert grid.gap(in_box[i, j]) == pytest.approx(0.163, abs=0.005)
    at_1e_4 = grid.val_mse[:, np.flatnonzero(grid.l2_values == 1e-4)[0]].min()
    assert at_1e_4 == pytest.approx(7.40e8, rel=2e-3)


@pytest.mark.parametrize("function", [log_grid, validation_grid, ValidationGrid.gap,
                                      ValidationGrid.from_json])
def test_docstring_parameters_match_signature(function):
    doc = inspect.getdoc(function)
    section = doc.split("Parameters\n----------\n")[1].split("\n\n")[0]
    documented = []
    for line in section.splitlines():
        if match := re.match(r"^(\w+(?:, \w+)*)(?: :.*)?$", line):
            documented.extend(match.group(1).split(", "))
    expected = [name for name in inspect.signature(function).parameters if name not in
                ("self", "cls")]
    assert documented == expected
