"""The converged solver's first exact solve (block pivoting) against independent answers:
the closed-form solution of an orthogonal design and scikit-learn run to a tight tol."""

import math

import numpy as np
import pytest

from optuna_training import _coordinate_descent as cd
from optuna_training.elastic_net import ElasticNetProblem, fit_elastic_net, mse


def _orthogonal(n=60, p=8, seed=2):
    rng = np.random.default_rng(seed)
    centred = rng.normal(size=(n, p))
    centred -= centred.mean(axis=0)
    q, _ = np.linalg.qr(centred)
    X = q * math.sqrt(n)  # X_j^T X_j = n, columns orthogonal and centred
    y = X @ rng.normal(scale=2.0, size=p) + rng.normal(size=n)
    return X, y - y.mean()


def _design(X, y):
    return ElasticNetProblem(X, y)._design


@pytest.mark.parametrize(("l1", "l2"), [(0.3, 0.2), (1e-9, 0.5), (0.8, 1e-3), (5.0, 1.0)])
@pytest.mark.parametrize("start", ["zero", "random"])
def test_block_pivot_gives_soft_thresholding_on_an_orthogonal_design(l1, l2, start):
    X, y = _orthogonal()
    n = X.shape[0]
    z = X.T @ y / n
    w_star = np.sign(z) * np.maximum(np.abs(z) - l1, 0) / (1 + l2)
    rng = np.random.default_rng(0)
    w0 = np.zeros(X.shape[1]) if start == "zero" else rng.normal(size=X.shape[1])
    w = cd._block_pivot(_design(X, y), w0, l1 * n, l2 * n, steps=10)
    assert w is not None
    np.testing.assert_allclose(w, w_star, atol=1e-12 * max(1.0, np.abs(w_star).max()))


@pytest.mark.parametrize(("l1", "l2"), [(0.5, 0.04), (0.9, 0.5), (0.05, 0.9)])
def test_block_pivot_after_a_few_epochs_is_the_minimiser_on_house_price(
        paper_house_price, l1, l2):
    s = paper_house_price
    problem = ElasticNetProblem(s.X_train, s.y_train, s.X_val, s.y_val)
    design, n = problem._design, problem.n_samples
    w = np.zeros(problem.n_features)
    cd._kernel(design, w, l1 * n, l2 * n, cd._SUPPORT_EPOCHS, 1e-4)
    exact = cd._block_pivot(design, w, l1 * n, l2 * n, cd._BLOCK_STEPS)
    assert exact is not None
    assert cd.relative_duality_gap(design, exact, l1 * n, l2 * n) <= 1e-12
    tight = fit_elastic_net(s.X_train, s.y_train, l1, l2, tol=1e-12, max_iter=200_000)
    intercept = problem._y_offset - problem._X_offset @ exact
    assert mse(s.X_val, s.y_val, exact, intercept) == pytest.approx(
        mse(s.X_val, s.y_val, tight.coef, tight.intercept), rel=1e-9)


def test_block_pivot_gives_up_rather_than_guess(paper_house_price):
    # (1, 1e-10): the lasso on collinear dummies, the block near-singular; from a cold
    # start the sign sets cycle. None, never a point that is not the minimiser.
    s = paper_house_price
    problem = ElasticNetProblem(s.X_train, s.y_train)
    n = problem.n_samples
    result = cd._block_pivot(problem._design, np.zeros(problem.n_features), 1.0 * n,
                             1e-10 * n, 4)
    if result is not None:
        assert cd.relative_duality_gap(problem._design, result, n, 1e-10 * n) <= 1e-12
