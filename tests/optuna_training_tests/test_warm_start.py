"""Warm starts from the nearest fitted model: the search itself, and who uses it.

The nearest model is checked against a brute-force search written here (every distance
in (log10 l1, log10 l2), the same ranking as natural logarithms); the callers are
checked by recording the start each fit receives.
"""

import numpy as np
import pytest

from hyper_local_search.refiners.base import BudgetedObjective, RefinerStart
from optuna_training.elastic_net import ElasticNetProblem
from optuna_training.search_space import PAPER_SPACE
from optuna_training.study import ElasticNetStudy
from optuna_training.warm_start import NearestModels
from tests.conftest import problem_of


def _brute_force(points, l1, l2):
    distances = [np.hypot(np.log10(a) - np.log10(l1), np.log10(b) - np.log10(l2))
                 for a, b in points]
    return int(np.argmin(distances))


def test_nearest_is_the_closest_in_log_space():
    rng = np.random.default_rng(3)
    points = 10.0 ** rng.uniform(-10, 0, size=(60, 2))
    models = NearestModels()
    assert models.nearest(1.0, 1.0) is None
    coefs = [np.full(3, float(k)) for k in range(len(points))]
    for (l1, l2), coef in zip(points, coefs, strict=True):
        models.add(l1, l2, coef)
    assert len(models) == len(points)
    for l1, l2 in 10.0 ** rng.uniform(-11, 1, size=(200, 2)):
        assert models.nearest(l1, l2) is coefs[_brute_force(points, l1, l2)]


def test_log_scale_not_linear():
    # (0.05, 0.05) is 0.07 from (1e-3, 1e-3) and 1.34 from (1, 1) on the linear scale,
    # but 1.3 decades from (1, 1) in each coordinate and 1.7 from (1e-3, 1e-3).
    models = NearestModels()
    big, small = np.array([1.0]), np.array([2.0])
    models.add(1.0, 1.0, big)
    models.add(1e-3, 1e-3, small)
    assert models.nearest(0.05, 0.05) is big


def test_ties_go_to_the_first_added():
    models = NearestModels()
    first, second = np.zeros(1), np.ones(1)
    models.add(1.0, 0.5, first)
    models.add(1.0, 0.5, second)  # the same point fitted twice
    assert models.nearest(2.0, 3.0) is first


def _recording(monkeypatch):
    """ElasticNetProblem.fit, recording (l1, l2, coef_init, fit) of every call."""
    calls = []
    fit = ElasticNetProblem.fit

    def recorded(self, l1, l2, *, coef_init=None):
        calls.append((l1, l2, coef_init, fit(self, l1, l2, coef_init=coef_init)))
        return calls[-1][3]

    monkeypatch.setattr(ElasticNetProblem, "fit", recorded)
    return calls


@pytest.mark.parametrize("sampler", ["tpe", "random"])
def test_a_converged_study_starts_each_trial_from_the_nearest(small_splits, sampler,
                                                               monkeypatch):
    problem = problem_of(small_splits, solver="converged")
    calls = _recording(monkeypatch)
    ElasticNetStudy(problem, sampler=sampler, n_trials=15, seed=0).optimize(15)
    assert len(calls) == 15
    assert calls[0][2] is None
    for k in range(1, len(calls)):
        l1, l2, coef_init, _ = calls[k]
        assert coef_init is calls[_brute_force([c[:2] for c in calls[:k]], l1, l2)][3].coef


def test_an_sklearn_study_stays_cold(small_splits, monkeypatch):
    problem = problem_of(small_splits)
    calls = _recording(monkeypatch)
    ElasticNetStudy(problem, sampler="tpe", n_trials=10, seed=0).optimize(10)
    assert [coef_init for _, _, coef_init, _ in calls] == [None] * 10


@pytest.mark.parametrize("solver", ["converged", "sklearn"])
def test_a_refiners_objective_starts_from_the_nearest_evaluated_model(small_splits, solver,
                                                                      monkeypatch):
    problem = problem_of(small_splits, solver=solver)
    start_fit = problem.fit(0.1, 0.1)
    start = RefinerStart(problem=problem, l1=0.1, l2=0.1, fit=start_fit, budget=10, seed=0,
                         space=PAPER_SPACE)
    objective = BudgetedObjective(start)
    calls = _recording(monkeypatch)
    for l1, l2 in [(0.2, 0.1), (0.1, 1e-4), (0.15, 0.1), (0.1, 3e-4), (0.1, 0.1 + 1e-10)]:
        objective.evaluate(l1, l2)
    if solver == "sklearn":
        assert [coef_init for _, _, coef_init, _ in calls] == [None] * 5
    else:
        points, coefs = [(0.1, 0.1)], [start_fit.coef]
        for l1, l2, coef_init, fit in calls:
            assert coef_init is coefs[_brute_force(points, l1, l2)]
            points.append((l1, l2))
            coefs.append(fit.coef)
    explicit = np.zeros(small_splits.X_train.shape[1])
    objective.evaluate(0.3, 0.3, coef_init=explicit)
    assert calls[-1][2] is explicit
