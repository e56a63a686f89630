import numpy as np
import pytest

from optuna_training.elastic_net import fit_elastic_net, mse
from optuna_training.samplers import SAMPLER_NAMES, make_sampler
from optuna_training.search_space import PAPER_SPACE, SearchSpace
from optuna_training.study import run_study
from tests.conftest import problem_of


def _study(s, sampler, seed=0, n_trials=12, space=PAPER_SPACE):
    return run_study(problem_of(s), test=(s.X_test, s.y_test), sampler=sampler,
                     n_trials=n_trials, seed=seed, space=space)


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_study_returns_its_best_model(small_splits, sampler):
    s = small_splits
    result = _study(s, sampler)
    assert result.n_trials == 12
    assert PAPER_SPACE.low <= result.l1 <= 1.0
    assert PAPER_SPACE.low <= result.l2 <= 1.0
    # The study fits through ElasticNetProblem (Gram matrix): scikit-learn's model to
    # rounding.
    refit = fit_elastic_net(s.X_train, s.y_train, result.l1, result.l2)
    np.testing.assert_allclose(refit.coef, result.fit.coef, rtol=1e-9, atol=1e-12)
    best = result.best
    assert best.val_mse == pytest.approx(mse(s.X_val, s.y_val, refit.coef, refit.intercept),
                                         rel=1e-12)
    assert best.test_mse == pytest.approx(mse(s.X_test, s.y_test, refit.coef, refit.intercept),
                                          rel=1e-12)
    vals = [incumbent.val_mse for incumbent in result.history]
    assert vals == sorted(vals, reverse=True)
    assert len(set(vals)) == len(vals)  # strict improvements only
    assert result.history[0].trial == 0


@pytest.mark.parametrize("sampler", SAMPLER_NAMES)
def test_same_seed_replays_study(small_splits, sampler):
    a = _study(small_splits, sampler, seed=7)
    b = _study(small_splits, sampler, seed=7)
    assert a.history == b.history


@pytest.mark.parametrize("sampler", ["random", "tpe", "grid"])
def test_different_seeds_give_different_studies(small_splits, sampler):
    a = _study(small_splits, sampler, seed=1)
    b = _study(small_splits, sampler, seed=2)
    assert a.history != b.history


def test_grid_visits_every_grid_point(small_splits):
    seen = []
    s = small_splits
    result = run_study(problem_of(s), test=(s.X_test, s.y_test), sampler="grid", n_trials=9, seed=0)
    assert result.n_trials == 9
    axis = PAPER_SPACE.grid_axis(9)
    np.testing.assert_allclose(axis, [1e-10, 0.5 + 5e-11, 1.0])
    for incumbent in result.history:
        seen.append(incumbent.l1)
        assert np.min(np.abs(axis - incumbent.l1)) == 0.0
        assert np.min(np.abs(axis - incumbent.l2)) == 0.0


def test_grid_axis_resolution():
    assert PAPER_SPACE.grid_axis(100).shape == (10,)
    assert PAPER_SPACE.grid_axis(101).shape == (11,)
    log_axis = SearchSpace(1e-4, 1e4, log=True).grid_axis(81)
    np.testing.assert_allclose(log_axis, 10.0 ** np.arange(-4, 5))


def test_unknown_sampler():
    with pytest.raises(ValueError, match=r"unknown sampler 'cmaes'; choose from random, tpe"):
        make_sampler("cmaes", 0, n_trials=10, space=PAPER_SPACE)


def test_study_runs_on_its_own(tmp_path, capsys):
    import json

    from optuna_training.__main__ import main

    out = tmp_path / "model.json"
    assert main(["--dataset", "diabetes", "--sampler", "random", "--trials", "5",
                 "--output", str(out)]) == 0
    assert "random: best (l1, l2) = (" in capsys.readouterr().out
    model = json.loads(out.read_text())
    assert len(model["coef"]) == len(model["feature_names"]) == 10
    assert model["incumbents"][-1]["l1"] == model["l1"]
    assert main(["--trials", "0"]) == 2
    assert capsys.readouterr().err == "error: --trials must be at least 1, got 0.\n"


def test_exhausted_grid_runs_no_more_trials(small_splits):
    from optuna_training.study import ElasticNetStudy

    s = small_splits
    study = ElasticNetStudy(problem_of(s), sampler="grid", n_trials=9, seed=0)
    assert len(study.optimize(9)) == 9
    assert study.optimize(5) == []
    assert len(study.study.trials) == 9
    random = ElasticNetStudy(problem_of(s), sampler="random", n_trials=9, seed=0)
    random.optimize(9)
    assert len(random.optimize(5)) == 5


def test_study_on_its_own_rejects_unknown_sampler(capsys):
    from optuna_training.__main__ import main

    assert main(["--sampler", "tpee", "--trials", "2"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown sampler 'tpee'; choose from random, tpe, qmc, grid (--sampler).\n")
