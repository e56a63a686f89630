"""Text from the user is written as text, never as an Excel formula (issue 14, point 9)."""

from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from experiment.cli import main
from utils.excel_summary import summary_table, write_summary_workbook

HOSTILE = ['=HYPERLINK("http://example.invalid","click")', "=cmd|' C calc'!A0", "=1+1",
           "=SUM(A1:A9)"]


def _formulas(path) -> list[tuple[str, str, object]]:
    """Every formula cell of the workbook, read two ways (openpyxl, and the raw XML)."""
    book = openpyxl.load_workbook(path)
    cells = [(sheet.title, cell.coordinate, cell.value) for sheet in book.worksheets
             for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]
    with zipfile.ZipFile(path) as archive:
        xml = [name for name in archive.namelist() if name.startswith("xl/worksheets/")
               and b"<f>" in archive.read(name)]
    return cells + [("xml", name, "<f>") for name in xml]


def _texts(path) -> set[str]:
    book = openpyxl.load_workbook(path)
    return {str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.value is not None}


def test_workbook_writes_formula_like_text_as_text(tmp_path):
    simulations = pd.DataFrame({
        "sampler": ["random", "random"], "simulation": [0, 1],
        **{column: [1.0, 2.0] for column in (
            "train_mse_optuna", "train_mse_hls", "val_mse_optuna", "val_mse_hls",
            "test_mse_optuna", "test_mse_hls", "seconds_optuna", "seconds_hls")},
        "faults": [HOSTILE[2], HOSTILE[3]],
    })
    settings = {"target": HOSTILE[0], "dataset": HOSTILE[1] + ".csv", HOSTILE[2]: "x"}
    path = write_summary_workbook(tmp_path / "book.xlsx", summary_table(simulations, ["random"]),
                                  simulations, settings)
    assert _formulas(path) == []
    assert {HOSTILE[0], HOSTILE[1] + ".csv", HOSTILE[2], HOSTILE[3]} <= _texts(path)
    back = pd.read_excel(path, sheet_name="settings")
    assert back["value"].tolist() == [HOSTILE[0], HOSTILE[1] + ".csv", "x"]
    summary = pd.read_excel(path, sheet_name="summary", index_col=0)
    assert summary.loc["random_Mean", "Validation_Losses_hls"] == pytest.approx(1.5)


def test_control_characters_and_huge_text_cannot_break_the_workbook(tmp_path):
    simulations = pd.DataFrame({"sampler": ["random"] * 2, "simulation": [0, 1], **{
        column: [1.0, 3.0] for column in (
            "train_mse_optuna", "train_mse_hls", "val_mse_optuna", "val_mse_hls",
            "test_mse_optuna", "test_mse_hls", "seconds_optuna", "seconds_hls")}})
    settings = {"command": "python x.py --target 'a\x07b\x1bc'", "long": "y" * 40_000}
    path = write_summary_workbook(tmp_path / "book.xlsx", summary_table(simulations, ["random"]),
                                  simulations, settings)
    back = pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]
    assert back["command"] == "python x.py --target 'a\\x07b\\x1bc'"
    assert len(back["long"]) == 32_767
    assert back["long"].endswith(" ... (cut at Excel's cell limit)")
    with zipfile.ZipFile(path) as archive:  # a valid archive Excel can open
        assert archive.testzip() is None


def test_a_hostile_target_and_file_name_stay_text_through_the_command_line(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=60)
    target = HOSTILE[0]
    table = pd.DataFrame({"x": x, "z": rng.normal(size=60), target: 3 * x + rng.normal(size=60)})
    path = tmp_path / (HOSTILE[1] + ".csv")
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    assert main(["--dataset", str(path), "--target", target, "--trials", "3", "--simulations",
                 "2", "--samplers", "random", "--n-jobs", "1", "--output-dir", str(out),
                 "--no-progress"]) == 0
    (workbook,) = (out / "results_summary").glob("results_summary_*_3_2.xlsx")
    assert _formulas(workbook) == []
    settings = pd.read_excel(workbook, sheet_name="settings").set_index("setting")["value"]
    assert settings["target"] == target
    assert settings["dataset"] == str(path)
    assert target in settings["command"]
