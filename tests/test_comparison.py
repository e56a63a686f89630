"""The equal-budget comparison: the sheet's statistics, and the refiners' contract in a run.

The statistics are checked against numbers worked out by hand (Student's t quantiles
from tables, exact Wilcoxon signed-rank probabilities by counting sign patterns, Holm's
step-down rule); the run checks budgets, stop reasons, the reference and the columns.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from experiment.cli import main
from experiment.comparison import COMPARISON_COLUMNS, comparison_table
from hyper_local_search.refiners import REFINER_NAMES
from tests.conftest import T_QUANTILE_RTOL

#: t_(0.975) with 2 degrees of freedom, in closed form: Student's t with 2 degrees of
#: freedom has F(t) = 1/2 + t / (2 sqrt(t^2 + 2)), so F(t) = 0.975 at
#: t = sqrt(2 * 0.95^2 / (1 - 0.95^2)) = 4.3027 (the tables' 4.303).
T_2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
def _frame(rows):
    columns = ["sampler", "simulation", "refiner", "val_mse", "test_mse", "start_val_mse",
               "start_test_mse", "fits", "budget"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["seconds"] = 0.5
    return frame


def test_means_use_student_t_and_changes_are_relative():
    frame = _frame([
        ("tpe", i, "hls", val, test, 10.0, 20.0, 3 + i, 5)
        for i, (val, test) in enumerate([(9.0, 19.0), (10.0, 20.0), (11.0, 24.0)])
    ])
    row = comparison_table(frame, ["tpe"], ["hls"]).iloc[0]
    assert row.validation_mean == 10.0
    assert row.validation_ci95 == pytest.approx(T_2 * 1.0 / math.sqrt(3), rel=T_QUANTILE_RTOL)
    # relative test changes -0.05, 0, +0.2: mean 0.05, sd sqrt(0.0175)
    assert row.test_change_mean == pytest.approx(0.05, rel=1e-12)
    assert row.test_change_ci95 == pytest.approx(T_2 * math.sqrt(0.0175) / math.sqrt(3),
                                                 rel=T_QUANTILE_RTOL)
    assert (row.test_improved, row.test_worse) == (1, 1)
    assert (row.wins_vs_start, row.ties_vs_start, row.losses_vs_start) == (1, 1, 1)
    assert (row.fits_max, row.stopped_early, row.over_budget) == (5, 2, 0)
    assert math.isnan(row.p_value_vs_hls)  # hls against itself
    assert math.isnan(row.reference_gap_mean)  # no reference given


def test_ties_are_within_the_solver_accuracy():
    # differences of 3.5e-6 relative tie at 1e-5 (sklearn's sawtooth) but not at 1e-6
    frame = _frame([("tpe", i, "x", 1.0 - 3.5e-6, 1.0, 1.0, 1.0, 1, 1) for i in range(4)])
    loose = comparison_table(frame, ["tpe"], ["x"], tie_rtol=1e-5).iloc[0]
    tight = comparison_table(frame, ["tpe"], ["x"], tie_rtol=1e-6).iloc[0]
    assert (loose.wins_vs_start, loose.ties_vs_start) == (0, 4)
    assert loose.p_value_vs_start == 1.0  # only ties: no evidence either way
    assert (tight.wins_vs_start, tight.ties_vs_start) == (4, 0)


def test_wilcoxon_p_values_against_hls_and_start_are_exact_and_holm_adjusted():
    # Six simulations. Refiner "a" beats hls in all six (distinct margins): the exact
    # two-sided signed-rank p-value is 2 / 2^6 = 0.03125 (only the all-negative and
    # all-positive sign patterns have rank sum 0 or 21). Refiner "b" beats hls in five
    # and loses the smallest margin: rank sum of the positive side 1, P(T <= 1) counts
    # the patterns with rank sum 0 or 1 (2 of 64 per side): p = 4 / 64 = 0.0625.
    # Holm over the family {a, b}: min(1, 2 * 0.03125) = 0.0625 and max(0.0625,
    # 1 * 0.0625) = 0.0625.
    rows = []
    for i in range(6):
        rows.append(("qmc", i, "hls", 10.0, 10.0, 10.0, 10.0, 5, 50))
        rows.append(("qmc", i, "a", 10.0 - (i + 1), 10.0, 10.0, 10.0, 50, 50))
        rows.append(("qmc", i, "b", 10.0 + (1 if i == 0 else -(i + 1)), 10.0, 10.0, 10.0, 50, 50))
    table = comparison_table(_frame(rows), ["qmc"], ["hls", "a", "b"], tie_rtol=1e-6)
    a, b = table.iloc[1], table.iloc[2]
    assert (a.wins_vs_hls, a.ties_vs_hls, a.losses_vs_hls) == (6, 0, 0)
    assert (b.wins_vs_hls, b.losses_vs_hls) == (5, 1)
    assert a.p_value_vs_hls == pytest.approx(0.0625, rel=1e-12)
    assert b.p_value_vs_hls == pytest.approx(0.0625, rel=1e-12)
    # against the start: hls ties everywhere (p = 1), so the family {hls, a, b} gives
    # a: 3 * 0.03125, b: max(0.09375, 2 * 0.0625) = 0.125, hls: max(0.125, 1) = 1
    assert a.p_value_vs_start == pytest.approx(0.09375, rel=1e-12)
    assert b.p_value_vs_start == pytest.approx(0.125, rel=1e-12)
    assert table.iloc[0].p_value_vs_start == 1.0
    assert (table.p_value_test == 1.0).all()  # no test MSE moved


def test_reference_gaps_and_unconverged_counts():
    frame = _frame([("grid", i, "x", 4.0 + i, 5.0, 8.0, 5.0, 6, 6) for i in range(3)])
    frame["reference_val_mse"] = 4.0
    frame["converged"] = [True, False, True]
    frame["gap"] = [0.0, 3e-7, 1e-12]
    row = comparison_table(frame, ["grid"], ["x"]).iloc[0]
    # gaps 0, 1/4, 1/2: mean 1/4, sample sd 1/4
    assert row.reference_gap_mean == pytest.approx(0.25, rel=1e-12)
    assert row.reference_gap_ci95 == pytest.approx(T_2 * 0.25 / math.sqrt(3), rel=T_QUANTILE_RTOL)
    assert row.reference_gap_min == 0.0
    assert (row.unconverged, row.fit_gap_max) == (1, 3e-7)
    assert row.stopped_early == 0


@pytest.fixture(scope="module")
def refiner_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("refiners")
    argv = ["--dataset", "diabetes", "--trials", "15", "--simulations", "3", "--samplers",
            "random", "tpe", "--refiners", *REFINER_NAMES, "--output-dir", str(out),
            "--no-progress", "--n-jobs", "2"]
    assert main(argv) == 0
    path = out / "results_summary" / "results_summary_diabetes_15_3.xlsx"
    settings = pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]
    return (out, pd.read_excel(path, sheet_name="comparison"),
            pd.read_excel(path, sheet_name="refiners"), settings)


def test_comparison_sheet_layout(refiner_run):
    out, comparison, refiners, settings = refiner_run
    assert list(comparison.columns) == list(COMPARISON_COLUMNS)
    assert list(comparison.refiner.unique()) == list(REFINER_NAMES)
    assert len(comparison) == len(REFINER_NAMES) * 2
    assert len(refiners) == len(REFINER_NAMES) * 2 * 3
    assert comparison.p_value_vs_start.between(0, 1).all()
    assert comparison[comparison.refiner != "hls"].p_value_vs_hls.between(0, 1).all()
    assert comparison.reference_gap_mean.notna().all()
    for key in ("reference_l1", "reference_l2", "reference_val_mse", "reference_test_mse"):
        assert float(str(settings[key]).split()[0]) > 0
    for sampler in ("random", "tpe"):
        assert (out / "figures" / f"changes_{sampler}_diabetes_15_3.png").stat().st_size > 20_000
        assert (out / "figures" / f"landscape_{sampler}_diabetes_15_3.png").stat().st_size > 20_000


def test_every_refiner_gets_fifty_fits_and_says_why_it_stopped(refiner_run):
    _, comparison, refiners, _ = refiner_run
    assert (refiners.budget == 50).all()
    assert (refiners.fits <= refiners.budget).all()
    assert (comparison.over_budget == 0).all()
    assert set(refiners[refiners.fits == refiners.budget].stop_reason) <= {"budget_spent"}
    early = refiners[refiners.fits < refiners.budget]
    assert not early.empty
    assert (early.stop_reason != "budget_spent").all()
    assert set(refiners[refiners.refiner == "hls"].stop_reason) <= {"one_step", "budget_spent"}
    not_path = refiners[refiners.refiner != "path"]
    assert (not_path.val_mse <= not_path.start_val_mse).all()
    assert (comparison[comparison.refiner != "path"].worse_than_start == 0).all()


def test_landscape_figures_written(refiner_run):
    out, _, _, _ = refiner_run
    for sampler in ("random", "tpe"):
        assert (out / "figures" / f"landscape_{sampler}_diabetes_15_3.png").stat().st_size > 20_000
    assert list(out.glob("runs/*/reference.json"))


def test_the_reference_is_not_beaten_by_any_refiner(refiner_run):
    _, _, refiners, settings = refiner_run
    reference = float(settings["reference_val_mse"])
    # 1e-9: the converged solver's rounding of the same point (the reference polish and
    # a refiner may meet at the same hyperparameters)
    assert (refiners.val_mse >= reference * (1 - 1e-9)).all()
    assert (refiners.reference_gap >= -1e-9).all()


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


def test_budget_hls_keeps_the_old_rule(tmp_path):
    out = tmp_path / "hls_rule"
    assert main(["--dataset", "diabetes", "--trials", "5", "--simulations", "2", "--samplers",
                 "random", "--refiners", "random-local", "hypergradient", "--budget", "hls",
                 "--output-dir", str(out), "--no-progress", "--n-jobs", "1"]) == 0
    refiners = pd.read_excel(out / "results_summary" / "results_summary_diabetes_5_2.xlsx",
                             sheet_name="refiners")
    hls = refiners[refiners.refiner == "hls"].set_index("simulation").fits
    others = refiners[refiners.refiner != "hls"]
    assert (others.budget.to_numpy() == hls.loc[others.simulation].to_numpy()).all()
    assert (refiners[refiners.refiner == "hls"].budget == hls.to_numpy()).all()
