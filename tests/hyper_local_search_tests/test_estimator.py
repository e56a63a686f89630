"""ElasticNetHLS: scikit-learn's estimator checks, and its numbers against scikit-learn's
own ElasticNet, ElasticNetCV and the published house-price HLS point."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import ElasticNet, ElasticNetCV
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from hyper_local_search import ElasticNetHLS
from hyper_local_search.hls_search import HLSSearchResult
from optuna_training.search_space import SearchSpace


def _sklearn_fit(X, y, alpha, l1_ratio):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, y)


def _mse(model, X, y):
    return float(np.mean((model.predict(X) - y) ** 2))


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@parametrize_with_checks([
    ElasticNetHLS(n_trials=5, random_state=0),
    ElasticNetHLS(n_trials=5, cv=3, hls_steps=2, formulation="exact", log_hyperparameters=True,
                  solver="sklearn", sampler="random", random_state=0),
])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_every_parameter_is_validated():
    check_param_validation("ElasticNetHLS", ElasticNetHLS(n_trials=3, random_state=0))


def test_by_default_the_model_is_the_minimiser_at_the_tuned_point(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=20, random_state=0).fit(X, y)
    reference = ElasticNet(alpha=model.alpha_, l1_ratio=model.l1_ratio_, tol=1e-12,
                           max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-6, atol=1e-6)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-9)


def test_with_the_sklearn_solver_the_model_is_scikit_learns_elastic_net(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=20, solver="sklearn", random_state=0).fit(X, y)
    reference = _sklearn_fit(X, y, model.alpha_, model.l1_ratio_)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-9)
    assert model.intercept_ == pytest.approx(reference.intercept_, rel=1e-10)
    np.testing.assert_allclose(model.predict(X), reference.predict(X), rtol=1e-9)
    assert model.alpha_ == pytest.approx(model.l1_ + model.l2_, rel=1e-15)
    assert model.l1_ratio_ == pytest.approx(model.l1_ / (model.l1_ + model.l2_), rel=1e-15)


def test_refit_train_keeps_the_training_model_and_its_validation_mse(diabetes):
    X, y = diabetes
    train, val = train_test_split(np.arange(len(y)), test_size=0.3, random_state=1)
    model = ElasticNetHLS(n_trials=20, cv=[(train, val)], refit="train", solver="sklearn",
                          random_state=0).fit(X, y)
    reference = _sklearn_fit(X[train], y[train], model.alpha_, model.l1_ratio_)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-9, atol=1e-9)
    assert model.validation_mse_ == pytest.approx(_mse(reference, X[val], y[val]), rel=1e-10)
    # HLS starts at the study's best and never ends worse.
    assert isinstance(model.hls_result_, HLSSearchResult)
    assert (model.hls_result_.start_l1, model.hls_result_.start_l2) == (
        model.study_.best_params["l1"], model.study_.best_params["l2"])
    assert model.validation_mse_ <= model.study_.best_value
    assert model.n_fits_ == 20 + model.hls_result_.n_fits


def test_cross_validated_objective_is_the_mean_of_the_folds_mse(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=10, cv=4, hls_steps=0, solver="sklearn",
                          random_state=0).fit(X, y)
    best = model.study_.best_trial
    alpha, ratio = best.params["l1"] + best.params["l2"], best.params["l1"] / (
        best.params["l1"] + best.params["l2"])
    folds = [_mse(_sklearn_fit(X[tr], y[tr], alpha, ratio), X[va], y[va])
             for tr, va in KFold(4).split(X)]
    assert best.value == pytest.approx(np.mean(folds), rel=1e-9)
    assert model.validation_mse_ == best.value
    assert model.hls_result_ is None
    assert model.n_fits_ == 10 * 4 + 1


def test_cross_validated_hls_never_ends_above_its_start(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=10, cv=3, hls_steps=3, random_state=0).fit(X, y)
    result = model.hls_result_
    assert result.val_mse <= model.study_.best_value
    assert (model.l1_, model.l2_) == (result.l1, result.l2)
    assert model.n_fits_ == 10 * 3 + result.n_fits + 1
    assert all(step.lp_status == "optimal" for step in result.steps)


def test_auto_box_follows_the_data_units(diabetes):
    X, y = diabetes
    Xc, yc = X - X.mean(0), y - y.mean()
    alpha_max = np.abs(Xc.T @ yc).max() / len(y)
    variance = Xc.var(axis=0).mean()
    for scale in (1.0, 1000.0):
        model = ElasticNetHLS(n_trials=30, sampler="random", hls_steps=0,
                              random_state=0).fit(X, y * scale)
        l1 = np.array([t.params["l1"] for t in model.study_.trials])
        l2 = np.array([t.params["l2"] for t in model.study_.trials])
        assert (l1 >= 1e-5 * alpha_max * scale).all()
        assert (l1 <= alpha_max * scale).all()
        assert (l2 >= 1e-6 * variance).all()
        assert (l2 <= 1e2 * variance).all()
        assert l1.max() > 1e-2 * alpha_max * scale  # the sampler does spread over the box


def test_a_given_search_space_bounds_the_study(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=8, search_space=SearchSpace(0.01, 0.5), hls_steps=0,
                          random_state=0).fit(X, y)
    values = [v for t in model.study_.trials for v in t.params.values()]
    assert min(values) >= 0.01
    assert max(values) <= 0.5
    model = ElasticNetHLS(n_trials=8, search_space="paper", hls_steps=0,
                          random_state=0).fit(X, y)
    assert max(v for t in model.study_.trials for v in t.params.values()) <= 1.0


def test_in_a_pipeline_its_test_r2_is_within_005_of_elastic_net_cv(diabetes):
    X, y = diabetes
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    reference = make_pipeline(StandardScaler(), ElasticNetCV()).fit(X_train, y_train)
    ours = make_pipeline(StandardScaler(), ElasticNetHLS(random_state=0)).fit(X_train, y_train)
    assert ours.score(X_test, y_test) >= reference.score(X_test, y_test) - 0.05


def test_cross_val_score_grid_search_and_clone(diabetes):
    X, y = diabetes
    model = ElasticNetHLS(n_trials=5, random_state=0)
    scores = cross_val_score(model, X, y, cv=3)
    assert scores.shape == (3,)
    assert np.isfinite(scores).all()
    assert (scores > 0.3).all()
    search = GridSearchCV(model, {"hls_steps": [0, 1]}, cv=3).fit(X, y)
    assert search.best_params_["hls_steps"] in (0, 1)
    assert search.best_estimator_.coef_.shape == (10,)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coef_")


def test_random_state_repeats_a_fit_and_a_sampler_object_is_copied(diabetes):
    X, y = diabetes
    first = ElasticNetHLS(n_trials=10, random_state=3).fit(X, y)
    second = ElasticNetHLS(n_trials=10, random_state=3).fit(X, y)
    other = ElasticNetHLS(n_trials=10, random_state=4).fit(X, y)
    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert first.study_.trials[0].params != other.study_.trials[0].params
    sampler = optuna.samplers.RandomSampler(seed=7)
    model = ElasticNetHLS(n_trials=6, sampler=sampler, hls_steps=0)
    points = [[t.params["l1"] for t in model.fit(X, y).study_.trials] for _ in range(2)]
    assert points[0] == points[1]


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_feature_names_and_unfitted_and_wrong_width(diabetes):
    X, y = diabetes
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    model = ElasticNetHLS(n_trials=4, random_state=0)
    with pytest.raises(NotFittedError):
        model.predict(X)
    model.fit(frame, y)
    assert list(model.feature_names_in_) == list(frame.columns)
    assert model.n_features_in_ == 10
    with pytest.raises(ValueError, match="X has 9 features, but ElasticNetHLS is expecting 10"):
        model.predict(X[:, :9])


@pytest.mark.parametrize(("kwargs", "X", "message"), [
    ({"log_hyperparameters": True}, None, r"log_hyperparameters=True needs formulation='exact'"),
    ({"cv": 3, "refit": "train"}, None, r"refit='train' keeps the model of the one training "
     r"part; cv gave 3 folds: use refit='all'"),
    ({}, np.ones((1, 3)), r"needs at least 2 samples .*; got n_samples=1"),
    ({}, np.full((5, 2), np.nan), r"Input X contains NaN"),
    ({}, np.full((5, 2), np.inf), r"Input X contains infinity"),
    ({"n_trials": 0}, None, r"'n_trials' parameter of ElasticNetHLS must be an int in the "
     r"range \[1, inf\)"),
    ({"sampler": "cmaes"}, None, r"'sampler' parameter of ElasticNetHLS must be a str among"),
    ({"search_space": (0, 1)}, None, r"'search_space' parameter of ElasticNetHLS must be"),
])
def test_bad_input_gets_a_value_error_saying_what_to_fix(kwargs, X, message, diabetes):
    X = diabetes[0] if X is None else X
    y = diabetes[1][: len(X)]
    with pytest.raises(ValueError, match=message):
        ElasticNetHLS(**kwargs).fit(X, y)


def test_from_the_paper_start_it_reaches_the_published_hls_point(paper_house_price):
    # The paper's split as one explicit fold, its box, its line search: the TPE study's
    # best lies in the in-box valley and one HLS step reaches the published optimum
    # (validation 7.2610e8 at l1 ~ 101, l2 on the 1e-10 floor; METHOD.md).
    s = paper_house_price
    X = np.vstack([s.X_train, s.X_val])
    y = np.concatenate([s.y_train, s.y_val])
    n_train = len(s.y_train)
    fold = [(np.arange(n_train), np.arange(n_train, len(y)))]
    model = ElasticNetHLS(n_trials=100, search_space="paper", cv=fold, refit="train",
                          line_search="paper", solver="sklearn", random_state=0).fit(X, y)
    assert model.study_.best_value == pytest.approx(8.44e8, rel=2e-3)
    assert model.validation_mse_ == pytest.approx(7.2610e8, rel=1e-4)
    assert 100 < model.l1_ < 102
    assert model.l2_ == 1e-10
