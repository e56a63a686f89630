"""--budget and --resplit: defaults, errors on one line, and what --resplit changes."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from experiment.cli import main
from experiment.config import DEFAULT_BUDGET, RunConfig
from utils.errors import InputError


def test_default_budget_is_fifty_fits_and_hls_keeps_the_old_rule():
    assert DEFAULT_BUDGET == 50
    assert RunConfig(refiners=("path",)).effective_budget == 50
    assert RunConfig(refiners=("path",), budget="hls").effective_budget == "hls"
    assert RunConfig(refiners=("path",), budget=7).effective_budget == 7


@pytest.mark.parametrize(("argv", "pattern"), [
    (["--refiners", "path", "--budget", "many"],
     r"error: argument --budget: must be a whole number of fits or 'hls', got 'many' "
     r"\(see --help\)"),
    (["--refiners", "path", "--budget", "0"], r"error: --budget must be at least 1 fit, got 0\."),
    (["--budget", "5"], r"error: --budget applies to the refiners; add --refiners\."),
    (["--resplit"], r"error: --resplit needs a data set with a seeded split \(a CSV table or "
     r"diabetes\); house_price has the paper's fixed split \(drop --resplit\)\."),
])
def test_bad_flags_are_one_line(argv, pattern, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:  # argparse exits itself on a flag error
        raise SystemExit(main([*argv, "--output-dir", str(tmp_path), "--no-progress"]))
    code = exit_info.value.code
    err = capsys.readouterr().err
    assert code == 2
    assert re.fullmatch(pattern + r"\n", err), err


def test_config_rejects_an_unknown_budget_word():
    with pytest.raises(InputError, match="--budget must be a number of fits or 'hls'"):
        RunConfig(refiners=("path",), budget="all")


def test_resplit_gives_each_simulation_its_own_split_and_reference(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    table = pd.DataFrame(X, columns=list("abcde"))
    table["y"] = X @ np.array([2.0, -1.0, 0.0, 0.5, 0.0]) + rng.normal(size=120)
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out"
    argv = ["--dataset", str(path), "--target", "y", "--trials", "8", "--simulations", "3",
            "--samplers", "random", "--refiners", "random-local", "--budget", "5",
            "--output-dir", str(out), "--no-progress", "--n-jobs", "1"]
    assert main([*argv, "--resplit"]) == 0
    book = out / "results_summary" / "results_summary_table_8_3.xlsx"
    refiners = pd.read_excel(book, sheet_name="refiners")
    simulations = pd.read_excel(book, sheet_name="simulations")
    references = sorted(out.glob("runs/*/reference_*.json"))
    assert len(references) == 3
    values = {json.loads(p.read_text())["unit"]["optimum"]["val_mse"] for p in references}
    assert len(values) == 3  # three splits, three references
    assert refiners.groupby("simulation").reference_val_mse.nunique().eq(1).all()
    assert refiners.reference_val_mse.nunique() == 3
    assert simulations.val_mse_optuna.nunique() == 3
    # without --resplit: one split, one reference (another run directory)
    assert main(argv) == 0
    assert len(list(out.glob("runs/*/reference.json"))) == 1


def test_a_damaged_reference_is_set_aside_and_computed_again(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--dataset", "diabetes", "--trials", "6", "--simulations", "1", "--samplers",
            "random", "--refiners", "random-local", "--budget", "4", "--output-dir", str(out),
            "--no-progress", "--n-jobs", "1"]
    assert main(argv) == 0
    [path] = out.glob("runs/*/reference.json")
    first = json.loads(path.read_text())["unit"]
    book = out / "results_summary" / "results_summary_diabetes_6_1.xlsx"
    settings = pd.read_excel(book, sheet_name="settings", index_col=0).iloc[:, 0]
    # the reference optimum's validation MSE, edited by hand: the checksum no longer holds
    path.write_text(path.read_text().replace(repr(first["optimum"]["val_mse"]), "1.0", 1))
    capsys.readouterr()
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: .*reference\.json.*computed again", err), err
    assert len(list(out.glob("runs/*/rejected/reference*.json"))) == 1
    assert json.loads(path.read_text())["unit"] == first
    again = pd.read_excel(book, sheet_name="settings", index_col=0).iloc[:, 0]
    assert again["reference_val_mse"] == settings["reference_val_mse"]


def test_refiner_runs_with_resplit_do_not_depend_on_n_jobs(tmp_path):
    def run(n_jobs):
        out = tmp_path / f"jobs{n_jobs}"
        assert main(["--dataset", "diabetes", "--trials", "8", "--simulations", "2",
                     "--samplers", "random", "qmc", "--refiners", "random-local",
                     "hypergradient", "--budget", "6", "--resplit", "--n-jobs", str(n_jobs),
                     "--output-dir", str(out), "--no-progress"]) == 0
        book = out / "results_summary" / "results_summary_diabetes_8_2.xlsx"
        refiners = pd.read_excel(book, sheet_name="refiners").drop(columns="seconds")
        comparison = pd.read_excel(book, sheet_name="comparison").drop(columns="seconds_mean")
        return refiners, comparison

    one, two = run(1), run(2)
    pd.testing.assert_frame_equal(one[0], two[0])
    pd.testing.assert_frame_equal(one[1], two[1])
