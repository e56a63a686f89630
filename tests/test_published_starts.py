"""--starts FILE: the replay of given Optuna models, its file checks and its records."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from datasets.registry import load_dataset
from experiment.cli import main
from experiment.config import RunConfig
from experiment.execution import run
from experiment.published_starts import read_starts
from optuna_training.elastic_net import fit_elastic_net, mse
from utils.errors import InputError

N_FEATURES = 10  # diabetes


def _starts_frame(splits, rows=(("random", 0, 0.3, 0.05), ("random", 1, 0.8, 0.2),
                                ("tpe", 1, 0.05, 0.5), ("tpe", 0, 0.1, 0.01))) -> pd.DataFrame:
    records = []
    for sampler, simulation, l1, l2 in rows:
        fit = fit_elastic_net(splits.X_train, splits.y_train, l1, l2)
        records.append({"sampler": sampler, "simulation": simulation, "best_trial": 7,
                        "l1": l1, "l2": l2, "runtime_optuna_s": 1.25 + simulation,
                        "intercept": fit.intercept,
                        **{f"w_{j}": value for j, value in enumerate(fit.coef)}})
    return pd.DataFrame(records)


@pytest.fixture(scope="module")
def diabetes():
    return load_dataset("diabetes", seed=0)


@pytest.fixture
def starts_csv(tmp_path, diabetes):
    path = tmp_path / "starts.csv"
    _starts_frame(diabetes).to_csv(path, index=False)
    return path


def test_read_starts_takes_the_lowest_simulations_of_each_sampler(starts_csv):
    starts = read_starts(starts_csv, samplers=("tpe",), n_simulations=2, n_features=N_FEATURES)
    assert sorted(starts) == [("tpe", 0), ("tpe", 1)]
    assert (starts[("tpe", 0)].simulation, starts[("tpe", 0)].l1) == (0, 0.1)
    assert (starts[("tpe", 1)].simulation, starts[("tpe", 1)].l1) == (1, 0.05)
    assert starts[("tpe", 1)].seconds_optuna == 2.25
    assert starts[("tpe", 1)].best_trial == 7
    assert starts[("tpe", 1)].coef.shape == (N_FEATURES,)


def _rewrite(path, change) -> str:
    frame = pd.read_csv(path)
    frame = change(frame)
    frame.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda f: f.drop(columns="l2"), {},
         r"missing the column\(s\) l2; a starts file has sampler, simulation, l1, l2"),
        (lambda f: f.drop(columns="w_9"), {},
         r"has 9 weight columns but the data set has 10 features; give the starts of this "
         r"data set \(--dataset\)\."),
        (lambda f: f.drop(columns="w_3"), {}, r"the weight columns must be w_0, w_1, \.\.\. in "
         r"order, without gaps\."),
        (lambda f: f, {"samplers": ("qmc",)},
         r"no starts for the sampler qmc \(the file has random, tpe\); drop it from --samplers\."),
        (lambda f: f, {"n_simulations": 3},
         r"has 2 starts for random, fewer than --simulations 3; ask for at most 2\."),
        (lambda f: f.assign(simulation=[0, 0, 1, 0]), {},
         r"sampler random simulation 0 appears twice"),
        (lambda f: f.assign(l1=["0.3", "x", "0.05", "0.1"]), {},
         r"column l1 holds 'x' in data row 2; every value must be a finite number\."),
        (lambda f: f.assign(l2=[0.05, -0.2, 0.5, 0.01]), {},
         r"l2 is negative in data row 2; hyperparameters are >= 0\."),
    ],
)
def test_bad_starts_files_are_one_line_input_errors(starts_csv, change, kwargs, message):
    path = _rewrite(starts_csv, change)
    options = {"samplers": ("random",), "n_simulations": 2, "n_features": N_FEATURES} | kwargs
    with pytest.raises(InputError, match=message) as caught:
        read_starts(path, **options)
    text = str(caught.value)
    assert text.startswith(f"--starts {path}: ")
    assert "\n" not in text


def test_missing_and_unreadable_starts_files(tmp_path):
    with pytest.raises(InputError, match=r"--starts .*nope\.csv: no such file; give the CSV"):
        read_starts(tmp_path / "nope.csv", samplers=("tpe",), n_simulations=1, n_features=3)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match=r"empty\.csv: cannot be read as CSV \(EmptyDataError"):
        read_starts(empty, samplers=("tpe",), n_simulations=1, n_features=3)


def test_cli_rejects_a_bad_starts_file_before_any_work(tmp_path, starts_csv, capsys):
    path = _rewrite(starts_csv, lambda f: f.drop(columns="w_9"))
    out = tmp_path / "out"
    code = main(["--dataset", "diabetes", "--starts", path, "--samplers", "random",
                 "--simulations", "2", "--output-dir", str(out), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert re.fullmatch(r"error: --starts .*starts\.csv: has 9 weight columns but the data set "
                        r"has 10 features; .*", err[-1])
    assert not list(out.glob("runs/*/units/*.json"))
    assert main(["--dataset", "diabetes", "--starts", str(tmp_path / "none.csv"),
                 "--output-dir", str(out)]) == 2
    assert "error: --starts" in capsys.readouterr().err


def test_replay_refits_each_start_and_runs_hls_from_it(starts_csv, diabetes):
    config = RunConfig(dataset="diabetes", samplers=("tpe", "random"), n_trials=20,
                       n_simulations=2, n_jobs=1, starts=str(starts_csv), line_search="paper")
    units = run(config, diabetes)
    frame = _starts_frame(diabetes).set_index(["sampler", "simulation"])
    s = diabetes
    for unit in units:
        record = unit.record
        row = frame.loc[(record["sampler"], record["start_simulation"])]
        assert (record["l1_optuna"], record["l2_optuna"]) == (row["l1"], row["l2"])
        # The Optuna columns are those of a fit at the start's point ...
        refit = fit_elastic_net(s.X_train, s.y_train, row["l1"], row["l2"])
        assert record["val_mse_optuna"] == pytest.approx(
            mse(s.X_val, s.y_val, refit.coef, refit.intercept), rel=1e-9)
        assert record["test_mse_optuna"] == pytest.approx(
            mse(s.X_test, s.y_test, refit.coef, refit.intercept), rel=1e-9)
        # ... equal to the given model here (it was fitted at the same point) ...
        assert record["start_coef_rel_diff"] < 1e-9
        assert "published model differs" not in record["faults"]
        # ... the study's time is the file's, and HLS ran from the start.
        assert record["seconds_optuna"] == row["runtime_optuna_s"]
        assert record["val_mse_hls"] <= record["val_mse_optuna"]
        assert record["hls_fits"] > 0
        hls = fit_elastic_net(s.X_train, s.y_train, record["l1_hls"], record["l2_hls"])
        assert record["val_mse_hls"] == pytest.approx(
            mse(s.X_val, s.y_val, hls.coef, hls.intercept), rel=1e-9)
    assert [(u.record["sampler"], u.record["start_simulation"]) for u in units] == [
        ("tpe", 0), ("tpe", 1), ("random", 0), ("random", 1)]


def test_a_start_from_another_split_is_reported(tmp_path, diabetes):
    frame = _starts_frame(diabetes)
    weights = [f"w_{j}" for j in range(N_FEATURES)]
    frame.loc[0, "w_2"] += frame.loc[0, weights].abs().max()
    path = tmp_path / "edited.csv"
    frame.to_csv(path, index=False)
    config = RunConfig(dataset="diabetes", samplers=("random",), n_trials=20,
                       n_simulations=1, n_jobs=1, starts=str(path))
    (unit,) = run(config, diabetes)
    assert unit.record["start_coef_rel_diff"] > 0.1
    assert "published model differs from its refit by" in unit.record["faults"]


def test_replay_run_key_and_outputs(tmp_path, starts_csv):
    out = tmp_path / "out"
    argv = ["--dataset", "diabetes", "--starts", str(starts_csv), "--samplers", "random", "tpe",
            "--simulations", "2", "--trials", "20", "--output-dir", str(out), "--no-progress",
            "--n-jobs", "1"]
    assert main(argv) == 0
    summary = out / "results_summary" / "results_summary_diabetes_replay_20_2.xlsx"
    settings = pd.read_excel(summary, sheet_name="settings").set_index("setting")["value"]
    assert settings["starts"].startswith(f"{starts_csv}: no studies;")
    assert "--starts" in settings["command"]
    table = pd.read_excel(summary, index_col=0)
    assert list(table.index) == ["random_Mean", "random_95% CI", "tpe_Mean", "tpe_95% CI"]
    np.testing.assert_allclose(table.loc["random_Mean", "Runtimes_optuna"], 1.75)
    # An edited file is another run: its units are not mixed with the first file's.
    _rewrite(starts_csv, lambda f: f.assign(l1=f["l1"] * 2))
    assert main(argv) == 0
    assert len(list(out.glob("runs/*/units"))) == 2
