"""The reproduction against the published table (../shared/reference), at the README's
tolerances.

1. The acceptance command, ``--trials 100 --simulations 5 --samplers tpe qmc --seed 0``,
   with both line searches: TPE and QMC HLS validation and test means within 1e-4 of the
   published ones, Optuna validation means within 5e-4, TPE HLS validation CI below 1e5.
2. The replay (``--starts``) of six of the authors' published models (random 0-2, tpe
   0-1, qmc 0-1) with the paper's search: each TPE and QMC start lands where the
   published means say all of them land (within bounds derived from the published CIs),
   and every start gives the committed replay run's row to 1e-6.
3. The committed 50-simulation runs (OUTPUT_BACKUPS) against the published table: the
   fresh run (``--line-search paper``) as in 1; the replay's random, tpe and qmc HLS and
   Optuna train, validation and test means within 1e-8 (measured: 7.5e-10) and their
   95% CIs within 1e-6 (measured: 1.7e-7), so the replay gives the published rows to
   every printed digit; the Optuna run times are the published ones.
4. The grid row: along the direction Gurobi returned at the singular grid start, our line
   search gives the published grid HLS row.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel, delayed

from datasets.registry import load_dataset
from experiment.config import RunConfig
from experiment.execution import run
from experiment.published_starts import read_starts
from experiment.report import paper_summary
from experiment.unit import run_unit
from hyper_local_search.hls_step import hyperparameters_along
from hyper_local_search.line_search import paper_line_search
from optuna_training.elastic_net import fit_elastic_net, mse
from utils.statistics import Z_95

from .conftest import PUBLISHED_TABLE, SHARED

PUBLISHED_STARTS = (SHARED / "reference"
                    / "paper_house_price_optuna_models_100_trials_50_simulations.csv")
BACKUPS = Path(__file__).resolve().parents[1] / "OUTPUT_BACKUPS"
FRESH_RUN = (BACKUPS / "house_price_paper_line_search" / "results_summary"
             / "results_summary_house_price_100_50.xlsx")
REPLAY_RUN = (BACKUPS / "house_price_replay" / "results_summary"
              / "results_summary_house_price_replay_100_50.xlsx")

#: The README's tolerances (relative to the published means).
HLS_RTOL = 1e-4          # fresh studies: TPE and QMC HLS validation and test means
OPTUNA_VAL_RTOL = 5e-4   # fresh studies: TPE and QMC Optuna validation means
TPE_HLS_VAL_CI_MAX = 1e5  # fresh studies: no stalled TPE start (a stall costs ~1e8)
REPLAY_RTOL = 1e-8       # replay: random, tpe, qmc loss means (HLS and Optuna columns)
REPLAY_CI_RTOL = 1e-6    # replay: the 95% CIs of those loss columns
REFIT_RTOL = 1e-8        # grid Optuna columns: every study ends at the same grid point
COMMITTED_ROW_RTOL = 1e-6  # replay of a subset against the committed replay run's rows
HLS_COLUMNS = ("Training_Losses_hls", "Validation_Losses_hls", "Testing_Losses_hls")


@pytest.fixture(scope="module")
def published():
    if not PUBLISHED_TABLE.exists():
        pytest.skip(f"{PUBLISHED_TABLE} not found: the repository must sit beside ../shared")
    return pd.read_csv(PUBLISHED_TABLE, index_col=0)


def _rel(ours: float, theirs: float) -> float:
    return abs(ours - theirs) / abs(theirs)


def _assert_fresh_tpe_qmc(summary: pd.DataFrame, published: pd.DataFrame) -> None:
    for sampler in ("tpe", "qmc"):
        ours, theirs = summary.loc[f"{sampler}_Mean"], published.loc[f"{sampler}_Mean"]
        for column in ("Validation_Losses_hls", "Testing_Losses_hls"):
            assert _rel(ours[column], theirs[column]) <= HLS_RTOL, (sampler, column)
        column = "Validation_Losses_optuna"
        assert _rel(ours[column], theirs[column]) <= OPTUNA_VAL_RTOL, (sampler, column)
    assert summary.loc["tpe_95% CI", "Validation_Losses_hls"] < TPE_HLS_VAL_CI_MAX


# --- 1. the acceptance command (5 simulations), both line searches -------------------


@pytest.fixture(scope="module", params=["paper", "fast"])
def acceptance_summary(request):
    config = RunConfig(samplers=("tpe", "qmc"), n_trials=100, n_simulations=5, seed=0,
                       line_search=request.param)
    return paper_summary(run(config, load_dataset("house_price")), config)


def test_acceptance_command_matches_the_published_table(acceptance_summary, published):
    _assert_fresh_tpe_qmc(acceptance_summary, published)


# --- 2. the replay of published starts, a subset --------------------------------------

SUBSET = (("random", 0), ("random", 1), ("random", 2), ("tpe", 0), ("tpe", 1), ("qmc", 0),
          ("qmc", 1))


@pytest.fixture(scope="module")
def replayed_subset():
    if not PUBLISHED_STARTS.exists():
        pytest.skip(f"{PUBLISHED_STARTS} not found: the repository must sit beside ../shared")
    splits = load_dataset("house_price")
    config = RunConfig(samplers=("random", "tpe", "qmc"), n_trials=100, n_simulations=3,
                       line_search="paper", starts=str(PUBLISHED_STARTS))
    starts = read_starts(config.starts, samplers=config.samplers, n_simulations=3,
                         n_features=splits.X_train.shape[1])
    units = Parallel(n_jobs=2)(
        delayed(run_unit)(splits, config, sampler, index, 0, starts[(sampler, index)])
        for sampler, index in SUBSET
    )
    return pd.DataFrame([unit.record for unit in units]).set_index(["sampler", "simulation"])


def test_replayed_tpe_and_qmc_starts_land_where_all_published_ones_did(
    replayed_subset, published
):
    # The published CIs are tiny: every TPE and QMC start must end within a few standard
    # deviations of the published mean (sd = CI * sqrt(50) / 1.96).
    for (sampler, index), record in replayed_subset.iterrows():
        if sampler == "random":
            continue
        for ours, column, n_sd in (("train_mse_hls", "Training_Losses_hls", 6),
                                   ("val_mse_hls", "Validation_Losses_hls", 6),
                                   ("test_mse_hls", "Testing_Losses_hls", 6)):
            mean = published.loc[f"{sampler}_Mean", column]
            sd = published.loc[f"{sampler}_95% CI", column] * math.sqrt(50) / Z_95
            assert abs(record[ours] - mean) <= n_sd * sd, (sampler, index, column)


def test_replayed_random_starts_stall_below_the_l2_threshold(replayed_subset):
    # METHOD.md: a start with l2 below about 0.036 never reaches the l2 floor and stalls
    # near l1 = 19-55 (validation 8.40-8.43e8); above it the step ends at l1 ~ 101.
    for index in (0, 1, 2):
        record = replayed_subset.loc[("random", index)]
        if record["l2_optuna"] < 0.036:
            assert 8.3e8 < record["val_mse_hls"] < 8.45e8
            assert 10 < record["l1_hls"] < 60
        else:
            assert record["val_mse_hls"] == pytest.approx(7.26098e8, rel=1e-5)
            assert 100 < record["l1_hls"] < 103
    assert {replayed_subset.loc[("random", i), "l2_optuna"] < 0.036 for i in (0, 1, 2)} == {
        True, False}


def test_replayed_subset_gives_the_committed_replay_runs_rows(replayed_subset):
    committed = pd.read_excel(REPLAY_RUN, sheet_name="simulations").set_index(
        ["sampler", "simulation"])
    for key, record in replayed_subset.iterrows():
        row = committed.loc[key]
        for column in ("l1_hls", "l2_hls", "train_mse_optuna", "val_mse_optuna",
                       "test_mse_optuna", "train_mse_hls", "val_mse_hls", "test_mse_hls"):
            assert record[column] == pytest.approx(row[column], rel=COMMITTED_ROW_RTOL), (
                key, column)
        assert record["hls_fits"] == row["hls_fits"]


# --- 3. the committed 50-simulation runs ---------------------------------------------


def _committed(path: Path) -> pd.DataFrame:
    assert path.is_file(), f"{path} is missing: the committed run (see its COMMAND.md)"
    return pd.read_excel(path, index_col=0)


def test_committed_fresh_run_matches_the_published_table(published):
    summary = _committed(FRESH_RUN)
    assert list(summary.index) == list(published.index)  # the paper's rows, in its order
    _assert_fresh_tpe_qmc(summary, published)
    # The grid study ends where the authors' did: the Optuna columns are the published.
    for column in ("Training_Losses_optuna", "Validation_Losses_optuna",
                   "Testing_Losses_optuna"):
        assert _rel(summary.loc["grid_Mean", column],
                    published.loc["grid_Mean", column]) <= REFIT_RTOL
    # Random starts stall or not by chance (l2 below 0.036): the means agree within the
    # two CIs together.
    for column in (c for c in published.columns if "Losses" in c):
        gap = abs(summary.loc["random_Mean", column] - published.loc["random_Mean", column])
        assert gap <= summary.loc["random_95% CI", column] + published.loc["random_95% CI",
                                                                             column]


def test_committed_replay_run_matches_the_published_table(published):
    summary = _committed(REPLAY_RUN)
    losses = [column for column in published.columns if "Losses" in column]
    for sampler in ("random", "tpe", "qmc"):
        for column in losses:
            for row, rtol in ((f"{sampler}_Mean", REPLAY_RTOL),
                              (f"{sampler}_95% CI", REPLAY_CI_RTOL)):
                assert _rel(summary.loc[row, column], published.loc[row, column]) <= rtol, (
                    row, column)
    for sampler in ("random", "tpe", "qmc", "grid"):
        ours, theirs = summary.loc[f"{sampler}_Mean"], published.loc[f"{sampler}_Mean"]
        for column in ("Training_Losses_optuna", "Validation_Losses_optuna",
                       "Testing_Losses_optuna"):
            assert _rel(ours[column], theirs[column]) <= REFIT_RTOL, (sampler, column)
        # No study ran: the Optuna times are the published studies' own.
        assert ours["Runtimes_optuna"] == pytest.approx(theirs["Runtimes_optuna"], rel=1e-9)
    # The grid row differs (HiGHS's direction at the singular start, test 4), but every
    # replayed grid start ends at one point, the one every fresh grid study ends at.
    fresh = _committed(FRESH_RUN)
    for column in HLS_COLUMNS:
        assert summary.loc["grid_Mean", column] == pytest.approx(fresh.loc["grid_Mean", column],
                                                                 rel=1e-6)
        assert summary.loc["grid_95% CI", column] == 0.0


def test_committed_runs_were_made_as_their_commands_say():
    for path, flags in ((FRESH_RUN, ["--line-search paper", "--tpe paper", "--seed 0"]),
                        (REPLAY_RUN, ["--line-search paper", "--starts "])):
        settings = pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]
        for flag in flags:
            assert flag in settings["command"], (path, flag)
        command = (path.parents[1] / "COMMAND.md").read_text()
        assert "--line-search paper" in command


# --- 4. the grid row -------------------------------------------------------------------


def test_grid_row_differs_only_by_the_lp_direction(paper_house_price, published):
    # Every grid study ends at (1, 1e-10), where the LP is singular (METHOD.md). Along
    # the direction Gurobi returned there, (1, 1.26e-5), our line search reproduces the
    # published grid row; HiGHS's direction (about (1, 1.7e-6)) ends elsewhere.
    s = paper_house_price
    lam0, d_lam = np.array([1.0, 1e-10]), np.array([1.0, 1.26e-5])
    d_lam /= np.linalg.norm(d_lam)

    def validation_loss(t):
        fit = fit_elastic_net(s.X_train, s.y_train, *hyperparameters_along(lam0, d_lam, t))
        return mse(s.X_val, s.y_val, fit.coef, fit.intercept)

    search = paper_line_search(validation_loss)
    fit = fit_elastic_net(s.X_train, s.y_train, *hyperparameters_along(lam0, d_lam, search.t))
    grid = published.loc["grid_Mean"]
    assert search.loss == pytest.approx(grid["Validation_Losses_hls"], rel=1e-3)
    assert mse(s.X_test, s.y_test, fit.coef, fit.intercept) == pytest.approx(
        grid["Testing_Losses_hls"], rel=1e-3
    )
    assert mse(s.X_train, s.y_train, fit.coef, fit.intercept) == pytest.approx(
        grid["Training_Losses_hls"], rel=2e-3
    )
