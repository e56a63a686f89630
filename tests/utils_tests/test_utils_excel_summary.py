from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from tests.conftest import PUBLISHED_TABLE
from utils import atomic_io
from utils.errors import InputError
from utils.excel_summary import (
    PAPER_COLUMNS,
    SCIENTIFIC_FORMAT,
    summary_filename,
    summary_table,
    write_summary_workbook,
)

SAMPLERS = ["random", "tpe", "qmc", "grid"]


def _simulations() -> pd.DataFrame:
    """Two units per sampler; column c of unit j of sampler i holds 100 i + 10 c + j."""
    rows = []
    for i, sampler in enumerate(SAMPLERS):
        for j in range(2):
            row: dict[str, object] = {
                "sampler": sampler,
                "simulation": j,
                "seed": 1000 + j,
                "n_trials": 10,
                "l1_optuna": 0.5,
                "l2_optuna": 0.25,
                "l1_hls": 101.2,
                "l2_hls": 1e-10,
            }
            for c, ours in enumerate(PAPER_COLUMNS.values()):
                row[ours] = 100.0 * i + 10.0 * c + j
            row["lp_status"] = "optimal"
            row["hls_fits"] = 95
            row["direction"] = [1.0, -6e-4]
            rows.append(row)
    return pd.DataFrame(rows)


def _reference() -> pd.DataFrame:
    if not PUBLISHED_TABLE.is_file():
        pytest.skip(f"no published table at {PUBLISHED_TABLE}")
    return pd.read_csv(PUBLISHED_TABLE, index_col=0)


def test_paper_columns_are_the_published_columns_in_order():
    assert list(PAPER_COLUMNS) == list(_reference().columns)
    assert list(PAPER_COLUMNS.values()) == [
        "train_mse_optuna",
        "train_mse_hls",
        "val_mse_optuna",
        "val_mse_hls",
        "test_mse_optuna",
        "test_mse_hls",
        "seconds_optuna",
        "seconds_hls",
    ]


def test_summary_table_numbers():
    summary = summary_table(_simulations(), SAMPLERS)
    # Two values x and x + 1: mean x + 0.5, sample std 1 / sqrt(2), CI 1.96 * 0.5 = 0.98.
    for i, sampler in enumerate(SAMPLERS):
        expected = [100.0 * i + 10.0 * c + 0.5 for c in range(8)]
        np.testing.assert_allclose(summary.loc[f"{sampler}_Mean"], expected, rtol=1e-15)
        np.testing.assert_allclose(summary.loc[f"{sampler}_95% CI"], 0.98, rtol=1e-14)
    assert (summary.dtypes == np.float64).all()


def test_summary_table_layout_is_the_published_layout(tmp_path):
    reference = _reference()
    summary = summary_table(_simulations(), SAMPLERS)
    summary.to_csv(tmp_path / "ours.csv")
    ours = pd.read_csv(tmp_path / "ours.csv", index_col=0)
    pd.testing.assert_index_equal(ours.index, reference.index)
    pd.testing.assert_index_equal(ours.columns, reference.columns)
    pd.testing.assert_index_equal(summary.index, reference.index, exact=False)
    assert summary.index.name is None


def test_summary_table_follows_the_given_sampler_order():
    summary = summary_table(_simulations(), ["grid", "random"])
    assert list(summary.index) == ["grid_Mean", "grid_95% CI", "random_Mean", "random_95% CI"]


def test_summary_table_one_simulation_has_nan_ci_and_nan_propagates():
    simulations = _simulations()
    one = simulations[simulations["simulation"] == 0]
    summary = summary_table(one, ["tpe"])
    assert summary.loc["tpe_Mean", "Runtimes_hls"] == 170.0
    assert summary.loc["tpe_95% CI"].isna().all()

    simulations.loc[0, "test_mse_hls"] = np.nan
    summary = summary_table(simulations, ["random"])
    assert math.isnan(summary.loc["random_Mean", "Testing_Losses_hls"])
    assert summary.loc["random_Mean"].drop("Testing_Losses_hls").notna().all()


def test_summary_table_reports_missing_sampler_and_column():
    with pytest.raises(ValueError, match=r"no simulation for the samplers \['cmaes'\]"):
        summary_table(_simulations(), ["random", "cmaes"])
    with pytest.raises(ValueError, match=r"lack the columns \['seconds_hls'\]"):
        summary_table(_simulations().drop(columns="seconds_hls"), SAMPLERS)


def test_summary_filename():
    assert summary_filename(100, 50) == "results_summary_100_50.xlsx"
    assert summary_filename(100, 50, "house_price") == "results_summary_house_price_100_50.xlsx"


def test_identical_runs_have_a_ci_of_exactly_zero():
    # The mean of 50 copies of x is not x in floating point, so the sample standard
    # deviation of identical values is a rounding residue (here 1.2e-7 on 8.5e8, the
    # published grid row's validation mean) unless it is recognised as no spread at all.
    x = 853529875.5577351
    values = np.full(50, x)
    assert np.std(values, ddof=1) > 0  # the residue that the table must not show
    frame = pd.DataFrame({"sampler": ["grid"] * 50,
                          **{ours: values for ours in PAPER_COLUMNS.values()}})
    summary = summary_table(frame, ["grid"])
    assert (summary.loc["grid_95% CI"] == 0.0).all()
    assert (summary.loc["grid_Mean"] == x).all()


def _write(path: Path, simulations: pd.DataFrame | None = None) -> Path:
    simulations = _simulations() if simulations is None else simulations
    summary = summary_table(simulations, SAMPLERS)
    settings = {"dataset": "house_price", "trials": "10", "simulations": "2"}
    extra = {"lp": pd.DataFrame({"sampler": SAMPLERS, "optimal": [2, 2, 2, 2]})}
    return write_summary_workbook(path, summary, simulations, settings, extra_sheets=extra)


def test_workbook_round_trip(tmp_path):
    simulations = _simulations()
    path = _write(tmp_path / summary_filename(10, 2), simulations)
    assert path == tmp_path / "results_summary_10_2.xlsx"

    assert pd.ExcelFile(path).sheet_names == ["summary", "simulations", "settings", "lp"]
    sheet = load_workbook(path)["summary"]
    assert [cell.value for cell in sheet[1]] == ["statistic", *PAPER_COLUMNS]  # every header
    # Numbers in scientific format (the cell keeps every digit).
    assert sheet["B2"].number_format == SCIENTIFIC_FORMAT == "0.000000E+00"
    assert all(cell.number_format == SCIENTIFIC_FORMAT for row in sheet.iter_rows(min_row=2,
               min_col=2) for cell in row)
    simulations_sheet = load_workbook(path)["simulations"]
    header = [cell.value for cell in simulations_sheet[1]]
    assert simulations_sheet.cell(2, header.index("val_mse_hls") + 1).number_format == (
        SCIENTIFIC_FORMAT)
    assert simulations_sheet.cell(2, header.index("seed") + 1).number_format == "General"

    summary = pd.read_excel(path, index_col=0)
    assert summary.index.name == "statistic"
    summary = summary.rename_axis(None)
    pd.testing.assert_frame_equal(summary, summary_table(simulations, SAMPLERS))
    reference = _reference()
    pd.testing.assert_index_equal(summary.index, reference.index)
    pd.testing.assert_index_equal(summary.columns, reference.columns)

    back = pd.read_excel(path, sheet_name="simulations")
    assert list(back.columns) == list(simulations.columns)
    pd.testing.assert_frame_equal(
        back.drop(columns="direction"), simulations.drop(columns="direction"), check_dtype=False
    )
    assert back.loc[0, "direction"] == "[1.0, -0.0006]"

    settings = pd.read_excel(path, sheet_name="settings")
    assert list(settings.columns) == ["setting", "value"]
    assert settings.astype(str).values.tolist() == [
        ["dataset", "house_price"],
        ["trials", "10"],
        ["simulations", "2"],
    ]
    assert list(tmp_path.iterdir()) == [path]


def test_workbook_leaves_not_computable_ci_cells_empty(tmp_path):
    simulations = _simulations()
    one = simulations[simulations["simulation"] == 0]
    summary = summary_table(one, ["qmc"])
    path = write_summary_workbook(tmp_path / "one.xlsx", summary, one, {"95% CI": "n/a"})
    sheet = load_workbook(path)["summary"]
    assert [cell.value for cell in sheet[3]][1:] == [None] * 8
    assert pd.read_excel(path, index_col=0).loc["qmc_95% CI"].isna().all()


def test_failed_workbook_write_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "results_summary_10_2.xlsx"
    _write(path)
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        raise RuntimeError("writer crashed")

    monkeypatch.setattr(pd.DataFrame, "to_excel", broken)
    with pytest.raises(RuntimeError, match="writer crashed"):
        _write(path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_locked_workbook_is_one_line_input_error(tmp_path, monkeypatch):
    path = tmp_path / "results_summary_10_2.xlsx"
    path.write_bytes(b"the open workbook")

    def locked(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_io.os, "replace", locked)
    with pytest.raises(
        InputError,
        match=(
            r"^cannot write .*results_summary_10_2\.xlsx: the file is open in another "
            r"program or not writable \(Permission denied\); close it or choose another "
            r"--output-dir and run again\. The results already computed are kept, the old "
            r"file is unchanged and the temporary file was removed\.$"
        ),
    ) as caught:
        _write(path)
    assert "\n" not in str(caught.value)
    assert path.read_bytes() == b"the open workbook"
    assert list(tmp_path.iterdir()) == [path]


def test_extra_sheet_names_are_checked(tmp_path):
    simulations = _simulations()
    summary = summary_table(simulations, SAMPLERS)
    frame = pd.DataFrame({"a": [1]})
    for name, message in [("Summary", "already used"), ("a/b", "forbids"), ("x" * 32, "1 to 31")]:
        with pytest.raises(ValueError, match=message):
            write_summary_workbook(
                tmp_path / "x.xlsx", summary, simulations, {}, extra_sheets={name: frame}
            )
    assert list(tmp_path.iterdir()) == []
