"""The equal-budget comparison: the sheet's numbers and the refiners' contract in a real run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiment.cli import main
from experiment.comparison import COMPARISON_COLUMNS, comparison_table
from hyper_local_search.refiners import REFINER_NAMES

ISSUE_COLUMNS = ["refiner", "sampler", "validation_mean", "validation_ci95", "test_mean",
                 "test_ci95", "fits_mean", "seconds_mean", "grid_gap_mean"]


def test_comparison_numbers():
    frame = pd.DataFrame({
        "sampler": ["tpe"] * 3 + ["grid"] * 3,
        "simulation": [0, 1, 2] * 2,
        "start_val_mse": [10.0, 10.0, 10.0, 8.0, 8.0, 8.0],
        "refiner": ["hls"] * 6,
        "val_mse": [9.0, 10.0, 11.0, 4.0, 4.0, 4.0],
        "test_mse": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0],
        "fits": [3, 4, 5, 6, 6, 6],
        "budget": [5] * 6,
        "seconds": [0.5] * 6,
    })
    table = comparison_table(frame, ["tpe", "grid"], ["hls"], grid_best_val=4.0)
    assert list(table.columns[:9]) == ISSUE_COLUMNS
    tpe = table.iloc[0]
    assert tpe.validation_mean == 10.0
    assert tpe.validation_ci95 == pytest.approx(1.96 * 1.0 / np.sqrt(3))
    assert tpe.grid_gap_mean == pytest.approx(1.5)
    assert (tpe.improved, tpe.worse_than_start, tpe.fits_max) == (1, 1, 5)
    grid = table.iloc[1]
    assert grid.grid_gap_mean == 0.0
    assert grid.validation_ci95 == 0.0
    no_grid = comparison_table(frame, ["tpe"], ["hls"])
    assert np.isnan(no_grid.grid_gap_mean[0])


@pytest.fixture(scope="module")
def refiner_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("refiners")
    argv = ["--dataset", "diabetes", "--trials", "15", "--simulations", "3", "--samplers",
            "random", "tpe", "--refiners", *REFINER_NAMES, "--line-search", "paper",
            "--output-dir", str(out), "--no-progress", "--n-jobs", "2"]
    assert main(argv) == 0
    path = out / "results_summary" / "results_summary_diabetes_15_3.xlsx"
    return out, pd.read_excel(path, sheet_name="comparison"), pd.read_excel(
        path, sheet_name="refiners")


def test_comparison_sheet_layout(refiner_run):
    _, comparison, refiners = refiner_run
    assert list(comparison.columns) == list(COMPARISON_COLUMNS)
    assert list(comparison.refiner.unique()) == list(REFINER_NAMES)
    assert len(comparison) == len(REFINER_NAMES) * 2
    assert len(refiners) == len(REFINER_NAMES) * 2 * 3
    assert comparison.grid_gap_mean.notna().all()


def test_no_refiner_exceeds_its_budget_or_ends_worse_than_its_start(refiner_run):
    _, comparison, refiners = refiner_run
    assert (refiners.fits <= refiners.budget).all()
    hls = refiners[refiners.refiner == "hls"].set_index(["sampler", "simulation"]).fits
    others = refiners[refiners.refiner != "hls"]
    # every refiner gets exactly the fits hls spent in that simulation
    assert (others.budget.to_numpy() == hls.loc[list(zip(others.sampler, others.simulation,
                                                         strict=True))].to_numpy()).all()
    not_path = refiners[refiners.refiner != "path"]
    assert (not_path.val_mse <= not_path.start_val_mse).all()
    assert (comparison[comparison.refiner != "path"].worse_than_start == 0).all()
    assert (comparison.over_budget == 0).all()


def test_landscape_figures_written(refiner_run):
    out, _, _ = refiner_run
    for sampler in ("random", "tpe"):
        assert (out / "figures" / f"landscape_{sampler}_diabetes_15_3.png").stat().st_size > 20_000
    assert list(out.glob("runs/*/validation_grid.json"))


def test_budget_flag_sets_every_budget(tmp_path):
    out = tmp_path / "budget"
    assert main(["--dataset", "diabetes", "--trials", "5", "--simulations", "2", "--samplers",
                 "qmc", "--refiners", "random-local", "path", "--budget", "7", "--output-dir",
                 str(out), "--no-progress", "--n-jobs", "1"]) == 0
    refiners = pd.read_excel(out / "results_summary" / "results_summary_diabetes_5_2.xlsx",
                             sheet_name="refiners")
    assert (refiners.budget == 7).all()
    assert (refiners.fits <= 7).all()
    assert set(refiners.refiner) == {"hls", "random-local", "path"}
