import numpy as np
import pytest
from scipy.optimize import OptimizeResult

from hyper_local_search import direction_lp
from hyper_local_search.hls_step import HYPERPARAMETER_FLOOR, hls_step, hyperparameters_along
from optuna_training.elastic_net import fit_elastic_net, mse
from tests.conftest import problem_of


def _step(s, l1, l2):
    start = fit_elastic_net(s.X_train, s.y_train, l1, l2)
    return start, hls_step(problem_of(s), l1, l2, start)


def test_hyperparameters_are_clipped_at_floor():
    lam = hyperparameters_along(np.array([0.5, 0.04]), np.array([1.0, -0.001]), 100.0)
    np.testing.assert_allclose(lam, [100.5, HYPERPARAMETER_FLOOR])


def test_faithful_reference_step(paper_house_price):
    # METHOD.md: from (0.47, 0.04) the authors' HLS ends at (101.178, 1e-10), t* 100.708,
    # validation 7.260997e8, test 8.817684e8.
    s = paper_house_price
    _, result = _step(s, 0.47, 0.04)
    assert result.direction.ok
    assert result.l1 == pytest.approx(101.178, abs=1e-3)
    assert result.l2 == HYPERPARAMETER_FLOOR
    assert result.t == pytest.approx(100.708, abs=1e-3)
    assert mse(s.X_val, s.y_val, result.fit.coef, result.fit.intercept) == pytest.approx(
        7.260997e8, rel=1e-6
    )
    assert mse(s.X_test, s.y_test, result.fit.coef, result.fit.intercept) == pytest.approx(
        8.817684e8, rel=1e-6
    )
    assert result.clipped
    assert result.n_fits == result.line_search.n_evaluations + 1 == 94


def test_step_towards_lower_l1(paper_house_price):
    # METHOD.md: from (0.9, 0.5) the step ends at (1e-10, 0.0387), validation 8.4405e8.
    s = paper_house_price
    start, result = _step(s, 0.9, 0.5)
    assert result.l1 == HYPERPARAMETER_FLOOR
    assert result.l2 == pytest.approx(0.0387, abs=1e-4)
    val = mse(s.X_val, s.y_val, result.fit.coef, result.fit.intercept)
    assert val == pytest.approx(8.4405e8, rel=1e-4)
    assert val < mse(s.X_val, s.y_val, start.coef, start.intercept)


def test_reported_model_is_a_cold_refit_at_reported_point(small_splits):
    s = small_splits
    _, result = _step(s, 0.3, 0.3)
    refit = fit_elastic_net(s.X_train, s.y_train, result.l1, result.l2)
    np.testing.assert_array_equal(refit.coef, result.fit.coef)
    assert refit.intercept == result.fit.intercept
    assert result.line_search.loss == pytest.approx(
        mse(s.X_val, s.y_val, refit.coef, refit.intercept), rel=1e-12
    )


def test_failed_lp_keeps_start_model(small_splits, monkeypatch):
    monkeypatch.setattr(
        direction_lp, "linprog",
        lambda *a, **k: OptimizeResult(status=4, x=None, message="numerical trouble"),
    )
    start, result = _step(small_splits, 0.2, 0.1)
    assert result.direction.status == "failed"
    assert (result.l1, result.l2) == (0.2, 0.1)
    assert result.fit is start
    assert result.n_fits == 0
    assert result.t == 0.0
    assert result.line_search is None


@pytest.mark.parametrize("start", [(0.47, 0.04), (0.27, 0.047), (0.5, 0.03), (1.0, 1e-10)])
def test_fast_step_lands_as_low_as_the_papers(paper_house_price, start):
    s = paper_house_price
    fit0 = fit_elastic_net(s.X_train, s.y_train, *start)
    results = {
        mode: hls_step(problem_of(s), *start, fit0, line_search=mode)
        for mode in ("paper", "fast")
    }
    val = {mode: mse(s.X_val, s.y_val, r.fit.coef, r.fit.intercept) for mode, r in results.items()}
    # Same or lower, up to the sawtooth of tol = 1e-4 fits (~1e-5 relative, METHOD.md).
    assert val["fast"] <= val["paper"] * (1 + 1e-5)
    assert results["fast"].n_fits < 0.5 * results["paper"].n_fits
    refit = fit_elastic_net(s.X_train, s.y_train, results["fast"].l1, results["fast"].l2)
    np.testing.assert_allclose(results["fast"].fit.coef, refit.coef, rtol=1e-8,
                               atol=1e-9 * np.abs(refit.coef).max())


def test_fast_step_never_ends_above_its_start(small_splits):
    s = small_splits
    for l1, l2 in [(0.3, 0.3), (1e-3, 1e-3), (0.9, 0.05)]:
        for solver in ("sklearn", "converged"):
            problem = problem_of(s, solver=solver)
            result = hls_step(problem, l1, l2, problem.fit(l1, l2), line_search="fast")
            assert problem.val_mse(result.fit) <= problem.val_mse(problem.fit(l1, l2)) * (
                1 + 1e-9)


def test_unknown_line_search_is_a_bug_not_input(small_splits):
    start, _ = _step(small_splits, 0.1, 0.1)
    with pytest.raises(ValueError, match="line_search must be one of"):
        hls_step(problem_of(small_splits), 0.1, 0.1, start, line_search="slow")
