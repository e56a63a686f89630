import numpy as np
import pytest

from hyper_local_search.hls_search import MIN_RELATIVE_IMPROVEMENT, hls_search
from hyper_local_search.hls_step import hls_step, hyperparameters_along
from optuna_training.elastic_net import fit_elastic_net, mse
from tests.conftest import problem_of


def _val(s, fit):
    return mse(s.X_val, s.y_val, fit.coef, fit.intercept)


def test_one_step_is_hls_step(small_splits):
    s = small_splits
    start = fit_elastic_net(s.X_train, s.y_train, 0.3, 0.2)
    search = hls_search(problem_of(s), 0.3, 0.2, start, steps=1,
                        line_search="paper")
    step = hls_step(problem_of(s), 0.3, 0.2, start, line_search="paper")
    assert (search.l1, search.l2) == (step.l1, step.l2)
    assert search.n_fits == step.n_fits
    assert search.path == [(0.3, 0.2), (step.l1, step.l2)]


@pytest.mark.parametrize("log", [False, True])
def test_multi_step_exact_descends_monotonically(paper_house_price, log):
    s = paper_house_price
    start = fit_elastic_net(s.X_train, s.y_train, 0.47, 0.04)
    search = hls_search(problem_of(s), 0.47, 0.04, start, steps=4,
                        formulation="exact", log_hyperparameters=log)
    values = [_val(s, start)] + [_val(s, step.fit) for step in search.steps]
    best = values[0]
    for step, value in zip(search.steps, values[1:], strict=True):
        assert step.direction.ok, step.direction.status
        assert value <= best * (1 + 1e-12)  # each step starts from the best so far
        best = min(best, value)
    assert _val(s, search.fit) == pytest.approx(min(values))
    assert search.n_fits == sum(step.n_fits for step in search.steps)
    if len(search.steps) < 4:
        assert search.stop_reason == "no_improvement"
        last, before = values[-1], min(values[:-1])
        assert not last < before * (1 - MIN_RELATIVE_IMPROVEMENT)


def test_log_line_stays_positive():
    lam = hyperparameters_along(np.array([0.5, 0.04]), np.array([-0.7, -0.7]), 50.0, log=True)
    assert np.all(lam >= 1e-10)
    lam = hyperparameters_along(np.array([0.5, 0.04]), np.array([1.0, 0.0]), np.log(2), log=True)
    np.testing.assert_allclose(lam, [1.0, 0.04])


def test_steps_must_be_positive(small_splits):
    s = small_splits
    start = fit_elastic_net(s.X_train, s.y_train, 0.3, 0.2)
    with pytest.raises(ValueError, match="steps must be at least 1"):
        hls_search(problem_of(s), 0.3, 0.2, start, steps=0)


def test_log_needs_exact(small_splits):
    s = small_splits
    start = fit_elastic_net(s.X_train, s.y_train, 0.3, 0.2)
    with pytest.raises(ValueError, match="log_hyperparameters needs the exact formulation"):
        hls_step(problem_of(s), 0.3, 0.2, start,
                 log_hyperparameters=True)
