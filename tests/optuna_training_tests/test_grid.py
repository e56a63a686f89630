"""The enumerated grid against Optuna's own GridSampler: the same trials in the same order.

The reference is ``optuna.samplers.GridSampler`` itself, run on the same search space and
seed; the protocol's units must not change when the project's grid sampler replaces it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import optuna
import pytest

from experiment.config import RunConfig
from experiment.unit import run_unit
from optuna_training import samplers
from optuna_training._grid import EnumeratedGridSampler, grid_order
from optuna_training.search_space import PAPER_SPACE

SEEDS = [0, 1, 42, 2_147_483_647, 4_294_967_295, None]


def _trials(sampler, names, n_trials=None, low=-1e3, high=1e3):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler)

    def objective(trial):
        return sum(trial.suggest_float(name, low, high) for name in names)

    study.optimize(objective, n_trials=n_trials)
    return [trial.params for trial in study.trials]


def _paper_grid(n_trials):
    axis = [float(v) for v in PAPER_SPACE.grid_axis(n_trials)]
    return {"l1": axis, "l2": axis}


@pytest.mark.parametrize(("seed", "n_trials"), [
    *((seed, n_trials) for seed in SEEDS for n_trials in (1, 4, 7, 50, 100)), (9, 225)])
def test_paper_grid_trials_equal_gridsamplers(seed, n_trials):
    space = _paper_grid(n_trials)
    stock = _trials(optuna.samplers.GridSampler(space, seed=seed), ["l1", "l2"], n_trials)
    ours = _trials(EnumeratedGridSampler(space, seed=seed), ["l1", "l2"], n_trials)
    assert len(ours) == len(stock) == n_trials
    assert ours == stock


@pytest.mark.parametrize("seed", [0, 3, 2024])
def test_uneven_grid_in_any_key_order_equals_gridsampler(seed):
    # Three parameters of different lengths, given out of name order: GridSampler sorts
    # the names; the trials are compared until both stop on their own (grid exhausted).
    space = {"b": [0.5, -2.0, 7.0], "a": [1.0, 2.0], "c": list(np.linspace(-1, 1, 5))}
    stock = _trials(optuna.samplers.GridSampler(space, seed=seed), ["b", "c", "a"])
    ours = _trials(EnumeratedGridSampler(space, seed=seed), ["b", "c", "a"])
    assert len(stock) == 30
    assert ours == stock


def test_study_stops_when_the_grid_is_exhausted_like_gridsampler():
    space = _paper_grid(9)
    stock = _trials(optuna.samplers.GridSampler(space, seed=5), ["l1", "l2"], n_trials=20)
    ours = _trials(EnumeratedGridSampler(space, seed=5), ["l1", "l2"], n_trials=20)
    assert len(ours) == len(stock) == 9
    assert ours == stock


def test_grid_order_is_every_point_once():
    space = {"x": [1.0, 2.0, 3.0], "y": [10.0, 20.0]}
    points = grid_order(space, seed=11)
    assert sorted((p["x"], p["y"]) for p in points) == [
        (x, y) for x in (1.0, 2.0, 3.0) for y in (10.0, 20.0)
    ]


def test_trial_beyond_the_grid_and_unknown_parameter_are_refused():
    sampler = EnumeratedGridSampler({"x": [1.0]}, seed=0)
    study = optuna.create_study(sampler=sampler)
    trial = study.ask()
    with pytest.raises(ValueError, match="not in the grid"):
        trial.suggest_float("z", 0.0, 2.0)
    with pytest.raises(RuntimeError, match=r"Study\.stop"):  # as GridSampler's ask-and-tell
        study.tell(trial, 0.0)
    with pytest.raises(ValueError, match="the grid has 1 points"):
        study.ask().suggest_float("x", 0.0, 2.0)
    with pytest.raises(ValueError, match="at least one value"):
        EnumeratedGridSampler({"x": []})


def test_make_sampler_grid_is_the_enumerated_one():
    sampler = samplers.make_sampler("grid", 3, n_trials=100, space=PAPER_SPACE)
    assert isinstance(sampler, EnumeratedGridSampler)
    assert sampler.n_points == 100


def _same(a, b):
    """Equal, a NaN equal to a NaN."""
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _comparable(record, ignore):
    return {key: value for key, value in record.items() if key not in ignore}


@pytest.mark.parametrize("n_trials", [9, 20])
def test_units_equal_those_of_the_stock_gridsampler(small_splits, monkeypatch, n_trials):
    # Whole units (study, HLS step; then with optuna-continue, which continues the grid
    # study past its trials) with the project's grid sampler and with Optuna's.
    config = RunConfig(dataset="diabetes", samplers=("grid",), n_trials=n_trials,
                       n_simulations=1, n_jobs=1)
    refined = replace(config, refiners=("optuna-continue",), budget=5)
    ours = [run_unit(small_splits, c, "grid", 0, 1234) for c in (config, refined)]

    def stock_grid(name, seed, *, n_trials, space, **settings):
        axis = [float(v) for v in space.grid_axis(n_trials)]
        return optuna.samplers.GridSampler({"l1": axis, "l2": axis}, seed=seed)

    monkeypatch.setattr("optuna_training.study.make_sampler", stock_grid)
    stock = [run_unit(small_splits, c, "grid", 0, 1234) for c in (config, refined)]
    timing = {"seconds_optuna", "seconds_hls", "seconds"}
    for mine, theirs in zip(ours, stock, strict=True):
        a, b = _comparable(mine.record, timing), _comparable(theirs.record, timing)
        assert a.keys() == b.keys()
        assert all(_same(a[key], b[key]) for key in a), [k for k in a if not _same(a[k], b[k])]
        assert mine.trials == theirs.trials
        assert mine.history == theirs.history
        np.testing.assert_array_equal(mine.hls_fit.coef, theirs.hls_fit.coef)
        assert [_comparable(r, timing) for r in mine.refiners] == [
            _comparable(r, timing) for r in theirs.refiners]
    assert ours[1].refiners[-1]["refiner"] == "optuna-continue"
