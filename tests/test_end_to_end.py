"""A small run through the command line: files, sheets, layout, and losses that are refits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasets.registry import load_dataset
from experiment.cli import main
from optuna_training.elastic_net import fit_elastic_net, mse

from .conftest import PUBLISHED_TABLE

ROOT = Path(__file__).resolve().parents[1]
SIMULATION_COLUMNS = [
    "sampler", "simulation", "seed", "l1_optuna", "l2_optuna", "l1_hls", "l2_hls",
    "train_mse_optuna", "val_mse_optuna", "test_mse_optuna", "train_mse_hls", "val_mse_hls",
    "test_mse_hls", "seconds_optuna", "seconds_hls", "lp_status", "hls_fits",
]


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    argv = ["--dataset", "diabetes", "--trials", "6", "--simulations", "2", "--samplers",
            "tpe", "grid", "--seed", "3", "--n-jobs", "1", "--output-dir", str(out),
            "--no-progress"]
    assert main(argv) == 0
    return out


def test_summary_has_the_papers_layout(diabetes_run):
    path = diabetes_run / "results_summary" / "results_summary_diabetes_6_2.xlsx"
    book = pd.ExcelFile(path)
    assert book.sheet_names[:3] == ["summary", "simulations", "settings"]
    summary = pd.read_excel(path, sheet_name=0, index_col=0)
    published = pd.read_csv(PUBLISHED_TABLE, index_col=0) if PUBLISHED_TABLE.exists() else None
    assert list(summary.index) == ["tpe_Mean", "tpe_95% CI", "grid_Mean", "grid_95% CI"]
    if published is not None:
        assert list(summary.columns) == list(published.columns)
    simulations = pd.read_excel(path, sheet_name="simulations")
    assert [c for c in simulations.columns if c in SIMULATION_COLUMNS] == SIMULATION_COLUMNS
    assert len(simulations) == 4
    tpe = simulations[simulations.sampler == "tpe"]
    assert summary.loc["tpe_Mean", "Validation_Losses_hls"] == pytest.approx(
        tpe.val_mse_hls.mean()
    )
    assert summary.loc["tpe_95% CI", "Testing_Losses_optuna"] == pytest.approx(
        1.96 * tpe.test_mse_optuna.std(ddof=1) / np.sqrt(2)
    )
    settings = pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]
    assert settings["dataset"] == "diabetes"
    assert str(settings["seed"]) == "3"
    assert "--samplers tpe grid" in settings["command"]
    assert "version_optuna" in settings.index


def test_reported_losses_are_refits_at_reported_hyperparameters(diabetes_run):
    simulations = pd.read_excel(
        diabetes_run / "results_summary" / "results_summary_diabetes_6_2.xlsx",
        sheet_name="simulations",
    )
    s = load_dataset("diabetes", seed=3)
    for _, row in simulations.iterrows():
        for stage in ("optuna", "hls"):
            fit = fit_elastic_net(s.X_train, s.y_train, row[f"l1_{stage}"], row[f"l2_{stage}"])
            for part, X, y in (("train", s.X_train, s.y_train), ("val", s.X_val, s.y_val),
                               ("test", s.X_test, s.y_test)):
                assert row[f"{part}_mse_{stage}"] == pytest.approx(
                    mse(X, y, fit.coef, fit.intercept), rel=1e-9
                )


def test_models_figures_and_histories_are_written(diabetes_run):
    models = np.load(diabetes_run / "models" / "models_diabetes_6_2.npz", allow_pickle=False)
    assert models["coef_hls"].shape == (4, 10)
    assert list(models["sampler"]) == ["tpe", "tpe", "grid", "grid"]
    for sampler in ("tpe", "grid"):
        figure = diabetes_run / "figures" / f"losses_{sampler}_diabetes_6_2.png"
        assert figure.stat().st_size > 10_000
    assert (diabetes_run / "results_summary" / "incumbents_diabetes_6_2.json").stat().st_size > 0


def test_hls_never_reports_a_worse_validation_loss_than_its_line_search_start(diabetes_run):
    simulations = pd.read_excel(
        diabetes_run / "results_summary" / "results_summary_diabetes_6_2.xlsx",
        sheet_name="simulations",
    )
    ok = simulations.lp_status == "optimal"
    assert ok.all()
    # t = 0 is evaluated by the bounding phase, so the step never ends above the start
    # by more than the refit noise of a cold fit at the same point (zero).
    assert (simulations.val_mse_hls <= simulations.val_mse_optuna * (1 + 1e-9)).all()


def test_n_jobs_does_not_change_results(tmp_path):
    def run(n_jobs):
        out = tmp_path / f"jobs{n_jobs}"
        argv = ["--dataset", "diabetes", "--trials", "5", "--simulations", "2", "--samplers",
                "random", "qmc", "--n-jobs", str(n_jobs), "--output-dir", str(out),
                "--no-progress"]
        assert main(argv) == 0
        frame = pd.read_excel(out / "results_summary" / "results_summary_diabetes_5_2.xlsx",
                              sheet_name="simulations")
        return frame.filter(regex="mse|^l[12]_|seed|hls_fits")

    pd.testing.assert_frame_equal(run(1), run(2))


def test_script_runs_from_another_directory(tmp_path):
    script = ROOT / "hyper_local_search" / "HLS_one_direction_search.py"
    result = subprocess.run(
        [sys.executable, str(script), "--dataset", "diabetes", "--trials", "3",
         "--simulations", "1", "--samplers", "random", "--output-dir", str(tmp_path),
         "--n-jobs", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "results_summary" / "results_summary_diabetes_3_1.xlsx").exists()
    assert "simulations" in result.stderr  # the progress bar


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--trials", "0"], "error: --trials must be at least 1, got 0."),
        (["--simulations", "0"], "error: --simulations must be at least 1, got 0."),
        (["--n-jobs", "0"], "error: --n-jobs must not be 0"),
        (["--samplers", "cmaes"], "error: unknown sampler 'cmaes'; choose from"),
        (["--dataset", "mnist"], "error: unknown data set 'mnist'; choose one of"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main([*argv, "--output-dir", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_replacing_another_runs_outputs_is_announced(tmp_path, capsys):
    common = ["--trials", "3", "--simulations", "2", "--samplers", "random", "--n-jobs", "1",
              "--output-dir", str(tmp_path), "--no-progress"]
    assert main(["--dataset", "diabetes", *common]) == 0
    assert main(["--dataset", "diabetes", *common]) == 0
    assert "warning: replacing" not in capsys.readouterr().err
    assert main(["--dataset", "diabetes", "--seed", "9", *common]) == 0
    err = capsys.readouterr().err
    assert "warning: replacing" in err
    assert "give each experiment its own --output-dir" in err
