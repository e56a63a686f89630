import numpy as np
import pytest
from sklearn.linear_model import ElasticNet

from optuna_training.elastic_net import alpha_l1_ratio, fit_elastic_net, mse


def test_alpha_l1_ratio():
    assert alpha_l1_ratio(0.3, 0.1) == (pytest.approx(0.4), pytest.approx(0.75))


def test_objective_in_l1_l2_terms_is_minimised(small_splits):
    # The fit must minimise (1/(2n))||y - Xw - b||^2 + l1 ||w||_1 + (l2/2)||w||^2.
    s, l1, l2 = small_splits, 0.2, 0.5
    fit = fit_elastic_net(s.X_train, s.y_train, l1, l2, tol=1e-12, max_iter=100_000)
    n = s.y_train.shape[0]

    def objective(w, b):
        r = s.y_train - s.X_train @ w - b
        return r @ r / (2 * n) + l1 * np.abs(w).sum() + 0.5 * l2 * w @ w

    best = objective(fit.coef, fit.intercept)
    rng = np.random.default_rng(0)
    for _ in range(50):
        step = 1e-3 * rng.normal(size=fit.coef.shape[0] + 1)
        assert objective(fit.coef + step[:-1], fit.intercept + step[-1]) >= best - 1e-12
    assert fit.converged


def test_matches_sklearn_directly(small_splits):
    s = small_splits
    fit = fit_elastic_net(s.X_train, s.y_train, 0.05, 0.15)
    model = ElasticNet(alpha=0.2, l1_ratio=0.25).fit(s.X_train, s.y_train)
    np.testing.assert_array_equal(fit.coef, model.coef_)
    assert fit.intercept == model.intercept_


def test_non_convergence_is_reported(small_splits):
    s = small_splits
    fit = fit_elastic_net(s.X_train, s.y_train, 1e-10, 1e-10, max_iter=2, tol=1e-15)
    assert not fit.converged
    assert fit.n_iter == 2


def test_warm_start_converges_to_same_model(small_splits):
    s = small_splits
    cold = fit_elastic_net(s.X_train, s.y_train, 0.1, 0.1, tol=1e-10)
    warm = fit_elastic_net(s.X_train, s.y_train, 0.1, 0.1, tol=1e-10, coef_init=cold.coef * 0.9)
    np.testing.assert_allclose(warm.coef, cold.coef, rtol=1e-6, atol=1e-8)


def test_mse():
    X = np.array([[1.0], [2.0]])
    assert mse(X, np.array([1.0, 1.0]), np.array([1.0]), 0.0) == pytest.approx(0.5)
