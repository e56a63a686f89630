"""The reference optimum: independent solver at its point, a finer search cannot beat it,
edges widened, boundaries reported, JSON round trip."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from threadpoolctl import threadpool_limits

from datasets.diabetes import load_diabetes
from datasets.splits import Splits
from hyper_local_search.reference_optimum import (
    DECADES_BELOW,
    ReferenceOptimum,
    reference_optimum,
)
from tests.conftest import make_regression_splits, problem_of


def sklearn_val_mse(splits: Splits, l1: float, l2: float, coef_init=None):
    """Validation MSE of scikit-learn's ElasticNet at (l1, l2), tol 1e-12 (independent)."""
    model = ElasticNet(alpha=l1 + l2, l1_ratio=l1 / (l1 + l2), tol=1e-12, max_iter=1_000_000,
                       warm_start=coef_init is not None)
    if coef_init is not None:
        model.coef_ = coef_init.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(splits.X_train, splits.y_train)
    residual = model.predict(splits.X_val) - splits.y_val
    return float(residual @ residual / residual.size), model.coef_


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # Multi-threaded BLAS on small factorisations is 100-1000x slower on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def noisy():
    return make_regression_splits(n_samples=150, n_features=8, seed=3, noise=2.0)


@pytest.fixture(scope="module")
def reference(noisy):
    return reference_optimum(problem_of(noisy, solver="sklearn"))


def test_the_reference_point_refits_with_an_independent_solver(noisy, reference):
    val, _ = sklearn_val_mse(noisy, reference.l1, reference.l2)
    assert reference.val_mse == pytest.approx(val, rel=1e-9)
    assert reference.fit.converged
    assert reference.fit.gap <= 1e-9
    assert reference.val_mse <= reference.grid_best[2]


def test_an_independent_finer_search_does_not_beat_the_reference(noisy, reference):
    # scikit-learn at tol 1e-12 on a grid 3 times finer (12 per decade) over +-1 decade
    # of the reference, and 6 per decade over the whole first grid: nothing lower by
    # more than 1e-6 relative.
    alpha_max = problem_of(noisy).alpha_max
    searches = [(reference.l1 * np.logspace(1, -1, 25), reference.l2 * np.logspace(-1, 1, 25)),
                (alpha_max * np.logspace(0, -6, 37), np.logspace(-10, 3, 79))]
    finest = np.inf
    for l1_values, l2_values in searches:
        for l2 in l2_values:
            coef = None
            for l1 in l1_values:  # decreasing, warm-started (tol 1e-12: the same answer)
                val, coef = sklearn_val_mse(noisy, float(l1), float(max(l2, 1e-10)), coef)
                finest = min(finest, val)
    assert finest >= reference.val_mse * (1 - 1e-6)


def test_the_grid_is_scaled_to_alpha_max(noisy, reference):
    alpha_max = problem_of(noisy).alpha_max
    l1 = reference.grid.l1_values
    assert l1[-1] == pytest.approx(alpha_max, rel=1e-12)
    assert l1[0] == pytest.approx(alpha_max * 10.0**-DECADES_BELOW, rel=1e-12)
    assert reference.grid.l2_values[0] == 1e-10
    assert reference.widenings == 0
    assert reference.open_edges == ()


def test_a_best_point_on_an_edge_is_widened_until_inside():
    # diabetes' optimum is inside both axes (l1 ~ 0.17 against alpha_max ~ 44, l2 ~
    # 0.05 against a feature variance of 1). A first grid too short on each side (l1
    # 1 decade below alpha_max, l2 up to 1e-4) has its best on an edge; the grid widens
    # and the polished optimum is the same as from the full grid.
    problem = problem_of(load_diabetes(seed=0))
    full = reference_optimum(problem)
    assert full.l1 < problem.alpha_max / 10
    assert full.l2 > 1e-4
    assert full.boundaries == ()
    short = reference_optimum(problem, decades_below=1, l2_decades_above=-4)
    assert short.widenings >= 2
    assert short.open_edges == ()
    assert short.val_mse == pytest.approx(full.val_mse, rel=1e-9)
    capped = reference_optimum(problem, decades_below=1, l2_decades_above=-4,
                               max_widenings=0, polish_starts=0)
    assert capped.open_edges
    assert set(capped.open_edges) <= {"l1_low", "l2_high"}
    assert capped.widenings == 0


def test_house_price_optimum_is_on_the_l2_floor(paper_house_price):
    # METHOD.md: the global optimum of the house-price validation loss is at l2 -> 0,
    # l1 about 101 (measured there with tol-1e-4 fits); the floor is reported as a
    # boundary of the problem, not widened.
    problem = problem_of(paper_house_price, solver="converged")
    found = reference_optimum(problem, polish_starts=1)
    assert "l2_floor" in found.boundaries
    assert found.open_edges == ()
    assert 95 < found.l1 < 110
    assert found.fit.gap <= 1e-9
    # (scikit-learn at tol 1e-12 needs minutes here: l2 ~ 1e-10 on collinear dummies)
    assert found.val_mse == pytest.approx(problem.val_mse(problem.fit(found.l1, found.l2)),
                                          rel=1e-6)


def test_pure_noise_gives_the_null_model():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(120, 6)), rng.normal(size=120)
    splits = Splits(X[:60], X[60:90], X[90:], y[:60], y[60:90], y[90:], tuple("abcdef"), "y",
                    "noise")
    found = reference_optimum(problem_of(splits))
    null = float(np.mean((splits.y_val - splits.y_train.mean()) ** 2))
    assert found.val_mse <= null * (1 + 1e-12)


def test_json_round_trip(reference):
    again = ReferenceOptimum.from_json(json.loads(json.dumps(reference.to_json(),
                                                             allow_nan=False)))
    assert (again.l1, again.l2, again.val_mse) == (reference.l1, reference.l2,
                                                   reference.val_mse)
    np.testing.assert_array_equal(again.fit.coef, reference.fit.coef)
    np.testing.assert_array_equal(again.grid.val_mse, reference.grid.val_mse)
    assert again.description == reference.description
    assert again.gap(reference.val_mse * 1.01) == pytest.approx(0.01)


def test_needs_a_validation_split(noisy):
    from optuna_training.elastic_net import ElasticNetProblem

    with pytest.raises(ValueError, match="validation split"):
        reference_optimum(ElasticNetProblem(noisy.X_train, noisy.y_train))
