"""hls_refine on Optuna studies of scikit-learn's ElasticNet: one trial added, no worse than
the study's best, its value the MSE scikit-learn's ElasticNet has at its parameters."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

from hyper_local_search import hls_refine

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def data():
    X, y = load_diabetes(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


def _val_mse(data, alpha, l1_ratio):
    X_train, X_val, y_train, y_val = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X_train, y_train)
    return float(np.mean((model.predict(X_val) - y_val) ** 2))


def _alpha_study(data, n_trials=15, seed=0):
    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-4, 10.0, log=True)
        l1_ratio = trial.suggest_float("l1_ratio", 0.0, 1.0)
        return _val_mse(data, alpha, l1_ratio)

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n_trials)
    return study


def _l1_l2_study(data, n_trials=15):
    def objective(trial):
        l1 = trial.suggest_float("l1", 1e-3, 1.0, log=True)
        l2 = trial.suggest_float("l2", 1e-3, 1.0, log=True)
        return _val_mse(data, l1 + l2, l1 / (l1 + l2))

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(objective, n_trials=n_trials)
    return study


def _refine(study, data, **kwargs):
    X_train, X_val, y_train, y_val = data
    return hls_refine(study, X_train, y_train, X_val, y_val, **kwargs)


def test_adds_exactly_one_trial_no_worse_than_the_best(data):
    study = _alpha_study(data)
    best = study.best_value
    trial = _refine(study, data)
    assert len(study.trials) == 16
    assert study.trials[-1].number == trial.number == 15
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value <= best
    # Its value is scikit-learn's validation MSE at its params, fitted independently.
    assert trial.value == pytest.approx(
        _val_mse(data, trial.params["alpha"], trial.params["l1_ratio"]), rel=1e-9)
    attrs = trial.user_attrs
    assert attrs["hls_source"] == "hls"
    assert attrs["hls_lp_status"] == "optimal"
    assert attrs["hls_start_trial"] == study.trials[attrs["hls_start_trial"]].number
    assert np.linalg.norm(attrs["hls_direction"]) == pytest.approx(1.0, rel=1e-12)
    assert attrs["hls_fits"] >= 2
    assert attrs["hls_t_star"] >= 0.0
    assert trial.params["alpha"] == pytest.approx(attrs["hls_l1"] + attrs["hls_l2"], rel=1e-12)


def test_on_this_data_hls_improves_the_random_study(data):
    study = _alpha_study(data)
    best = study.best_value
    trial = _refine(study, data)
    assert trial.value < best * (1 - 1e-4)
    assert study.best_trial.number == trial.number


def test_an_l1_l2_study_gets_its_own_layout_and_can_go_on(data):
    study = _l1_l2_study(data)
    trial = _refine(study, data, formulation="exact", solver="converged", hls_steps=3)
    assert set(trial.params) == {"l1", "l2"}
    assert trial.value <= study.trials[trial.user_attrs["hls_start_trial"]].value * (1 + 1e-6)
    assert trial.value == pytest.approx(
        _val_mse(data, trial.params["l1"] + trial.params["l2"],
                 trial.params["l1"] / (trial.params["l1"] + trial.params["l2"])), rel=1e-6)
    # HLS may leave the box; the study still samples and TPE still fits its model.
    study.sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=5)
    study.optimize(lambda t: (t.suggest_float("l1", 1e-3, 1.0, log=True)
                              + t.suggest_float("l2", 1e-3, 1.0, log=True)), n_trials=3)
    assert len(study.trials) == 19


def _maximise(data):
    study = optuna.create_study(direction="maximize")
    study.optimize(lambda t: t.suggest_float("l1", 0.1, 1) + t.suggest_float("l2", 0.1, 1),
                   n_trials=2)
    return study


def _other_params(data):
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("C", 0.1, 1), n_trials=2)
    return study


def _stepped(data):
    study = optuna.create_study()
    study.optimize(lambda t: _val_mse(data, t.suggest_float("alpha", 0.1, 1, step=0.1),
                                      t.suggest_float("l1_ratio", 0, 1)), n_trials=2)
    return study


def _rmse(data):
    study = optuna.create_study()
    study.optimize(lambda t: np.sqrt(_val_mse(data, t.suggest_float("alpha", 0.1, 1),
                                              t.suggest_float("l1_ratio", 0, 1))), n_trials=3)
    return study


def _multi(data):
    study = optuna.create_study(directions=["minimize", "minimize"])
    study.optimize(lambda t: (t.suggest_float("l1", 0.1, 1), t.suggest_float("l2", 0.1, 1)),
                   n_trials=2)
    return study


@pytest.mark.parametrize(("make", "message"), [
    (lambda data: optuna.create_study(), r"has no finished trial; run study.optimize"),
    (_maximise, r"hls_refine minimises the validation MSE; the study '.*' maximises"),
    (_other_params, r"parameters \(l1, l2\) or \(alpha, l1_ratio\); the study '.*' has C\.$"),
    (_stepped, r"needs continuous float parameters; 'alpha' is FloatDistribution"),
    (_rmse, r"best trial's value .* is not the validation MSE of an elastic net fitted at its "
     r"parameters"),
    (_multi, r"needs a single-objective study; '.*' has 2 objectives"),
])
def test_unknown_study_layouts_get_one_line_errors(make, message, data):
    study = make(data)
    n_before = len(study.trials)
    with pytest.raises(ValueError, match=message) as info:
        _refine(study, data)
    assert "\n" not in str(info.value)
    assert len(study.trials) == n_before


@pytest.mark.parametrize(("change", "message"), [
    ({"X_val": np.full((5, 10), np.nan)}, r"X_val contains NaN or infinite values"),
    ({"X_train": np.ones(10)}, r"X_train must be a 2-D array of shape \(n_samples, n_features\)"),
    ({"X_val": np.ones((5, 9)), "y_val": np.ones(5)}, r"X_val has 9 features but X_train has 10"),
    ({"y_train": np.ones(3)}, r"X_train has \d+ rows but y_train has 3"),
    ({"formulation": "lasso"}, r"formulation must be one of paper, exact; got 'lasso'"),
    ({"hls_steps": 0}, r"hls_steps must be an integer >= 1; got 0"),
    ({"log_hyperparameters": True}, r"log_hyperparameters=True needs formulation='exact'"),
])
def test_bad_arrays_and_settings_get_one_line_errors(change, message, data):
    study = _alpha_study(data, n_trials=3)
    X_train, X_val, y_train, y_val = data
    arrays = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    settings = {k: v for k, v in change.items() if k not in arrays}
    arrays.update({k: v for k, v in change.items() if k in arrays})
    with pytest.raises(ValueError, match=message) as info:
        hls_refine(study, arrays["X_train"], arrays["y_train"], arrays["X_val"],
                   arrays["y_val"], **settings)
    assert "\n" not in str(info.value)
    assert len(study.trials) == 3


def test_not_a_study_is_a_type_error(data):
    with pytest.raises(TypeError, match=r"study must be an optuna.Study; got dict"):
        _refine({}, data)


# ------------------------------------------------------- the core's public functions
@pytest.mark.parametrize(("change", "error", "message"), [
    ({"problem": "not a problem"}, TypeError, r"hls_step: problem must be an ElasticNetProblem"),
    ({"l1": float("nan")}, ValueError, r"l1 and l2 must be finite, >= 0 and not both 0"),
    ({"l2": -1.0}, ValueError, r"l1 and l2 must be finite, >= 0 and not both 0"),
    ({"l1": "0.1"}, TypeError, r"l1 must be a number; got str"),
    ({"start": None}, TypeError, r"start must be an ElasticNetFit"),
    ({"start": "narrow"}, ValueError, r"start.coef has shape \(3,\) but the problem has 10"),
    ({"no_validation": True}, ValueError, r"needs a problem with a validation split"),
])
def test_hls_step_search_and_direction_check_what_they_are_given(change, error, message, data):
    from hyper_local_search import (
        ElasticNetFit,
        ElasticNetProblem,
        hls_direction,
        hls_search,
        hls_step,
    )

    X_train, X_val, y_train, y_val = data
    problem = ElasticNetProblem(X_train, y_train, X_val, y_val)
    if change.pop("no_validation", False):
        problem = ElasticNetProblem(X_train, y_train)
    arguments = {"problem": problem, "l1": 0.1, "l2": 0.1,
                 "start": ElasticNetProblem(X_train, y_train).fit(0.1, 0.1)}
    if change.get("start") == "narrow":
        change["start"] = ElasticNetFit(np.zeros(3), 0.0, 1, True)
    arguments.update(change)
    for function in (hls_step, hls_search, hls_direction):
        with pytest.raises(error, match=message.replace("hls_step", function.__name__)) as info:
            function(arguments["problem"], arguments["l1"], arguments["l2"], arguments["start"])
        assert "\n" not in str(info.value)
