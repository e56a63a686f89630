"""Every bad input: one line on stderr saying what is wrong and how to fix it, exit 2."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from experiment.cli import main
from utils import atomic_io

ROOT = Path(__file__).resolve().parents[1]


def _run(argv, tmp_path, capsys):
    argv = [*argv]
    if "--output-dir" not in argv:
        argv += ["--output-dir", str(tmp_path / "out")]
    if "--n-jobs" not in argv:
        argv += ["--n-jobs", "1"]
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main([*argv, "--no-progress"]))
    err = capsys.readouterr().err
    return exit_info.value.code, err


def _csv(tmp_path, text, name="table.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _table(rows=12, header="a,b,y", row=lambda i: f"{i},{i % 3},{2 * i + 1}"):
    return "\n".join([header, *(row(i) for i in range(rows))]) + "\n"


CASES = {
    "unknown dataset": (
        lambda tmp: ["--dataset", "mnist"],
        r"error: unknown data set 'mnist'; choose one of house_price, california_housing, "
        r"simulation, diabetes, or give the path of a \.csv file together with --target "
        r"COLUMN\.",
    ),
    "unknown sampler": (
        lambda tmp: ["--samplers", "tpe", "cmaes"],
        r"error: unknown sampler 'cmaes'; choose from random, tpe, qmc, grid \(--samplers\)\.",
    ),
    "sampler twice": (
        lambda tmp: ["--samplers", "tpe", "tpe"],
        r"error: a sampler is listed twice in --samplers; list each once\.",
    ),
    "trials < 1": (lambda tmp: ["--trials", "0"], r"error: --trials must be at least 1, got 0\."),
    "simulations < 1": (
        lambda tmp: ["--simulations", "-3"], r"error: --simulations must be at least 1, got -3\."
    ),
    "n_jobs 0": (
        lambda tmp: ["--n-jobs", "0"],
        r"error: --n-jobs must not be 0; use a positive count or -1 for all cores\.",
    ),
    "negative seed": (
        lambda tmp: ["--seed", "-1"], r"error: --seed must be a non-negative integer, got -1\."
    ),
    "trials not a number": (
        lambda tmp: ["--trials", "many"],
        r"error: argument --trials: invalid int value: 'many' \(see --help\)",
    ),
    "unknown line search": (
        lambda tmp: ["--line-search", "slow"],
        # argparse's own wording of the choices differs between Python versions
        r"error: argument --line-search: invalid choice: 'slow' \(choose from .*fast.*paper.*\) "
        r"\(see --help\)",
    ),
    "target for a named dataset": (
        lambda tmp: ["--dataset", "diabetes", "--target", "y"],
        r"error: --target applies to CSV tables only; the data set 'diabetes' has a fixed "
        r"target \(drop --target\)\.",
    ),
    "missing file": (
        lambda tmp: ["--dataset", str(tmp / "nope.csv"), "--target", "y"],
        r"error: .*nope\.csv: no such file; check the path of the CSV table\.",
    ),
    "directory instead of file": (
        lambda tmp: ["--dataset", str(_dir(tmp / "dir.csv")), "--target", "y"],
        r"error: .*dir\.csv is a directory, not a CSV file; give the path of a \.csv file\.",
    ),
    "empty csv": (
        lambda tmp: ["--dataset", _csv(tmp, ""), "--target", "y"],
        r"error: .*table\.csv is empty; a CSV table needs a header row and at least 10 data "
        r"rows\.",
    ),
    "no target given for csv": (
        lambda tmp: ["--dataset", _csv(tmp, _table())],
        r"error: .*table\.csv: no target column given; choose one of the columns a, b, y "
        r"with --target\.",
    ),
    "missing target column": (
        lambda tmp: ["--dataset", _csv(tmp, _table()), "--target", "price"],
        r"error: .*table\.csv: no target column 'price'; the columns are a, b, y\. "
        r"Choose one with --target\.",
    ),
    "non-numeric feature": (
        lambda tmp: ["--dataset", _csv(tmp, _table(row=lambda i: f"{i},x{i},{i}")),
                     "--target", "y"],
        r"error: .*table\.csv: non-numeric feature column\(s\) b \(e\.g\. 'x0'\); encode "
        r"them as numbers \(e\.g\. one-hot\) or drop them\.",
    ),
    "non-numeric target": (
        lambda tmp: ["--dataset", _csv(tmp, _table(row=lambda i: f"{i},{i},high")),
                     "--target", "y"],
        r"error: .*table\.csv: target column 'y' is not numeric \(e\.g\. 'high'\); a "
        r"regression needs a numeric target\.",
    ),
    "missing values": (
        lambda tmp: ["--dataset", _csv(tmp, _table(row=lambda i: f"{i},{'' if i == 4 else i},{i}")),
                     "--target", "y"],
        r"error: .*table\.csv: missing or infinite values in 1 row\(s\): b \(1 missing\); fill "
        r"them in or drop those rows\.",
    ),
    "infinite values": (
        lambda tmp: ["--dataset",
                     _csv(tmp, _table(row=lambda i: f"{'inf' if i == 2 else i},1,{i}")),
                     "--target", "y"],
        r"error: .*table\.csv: missing or infinite values in 1 row\(s\): a \(1 infinite\); "
        r"fill them in or drop those rows\.",
    ),
    "constant target": (
        lambda tmp: ["--dataset", _csv(tmp, _table(row=lambda i: f"{i},{i % 2},7")),
                     "--target", "y"],
        r"error: .*table\.csv: target column 'y' is constant \(every row is 7\); a regression "
        r"needs a target that varies\.",
    ),
    "too few rows": (
        lambda tmp: ["--dataset", _csv(tmp, _table(rows=4)), "--target", "y"],
        r"error: .*table\.csv: only 4 data row\(s\); the 60/20/20 train/validation/test split "
        r"needs at least 10 \(at least 2 rows per part\)\.",
    ),
    "duplicate column names": (
        lambda tmp: ["--dataset", _csv(tmp, _table(header="a,a,y")), "--target", "y"],
        r"error: .*table\.csv: duplicate column name\(s\) a; rename the columns so that each "
        r"name is unique\.",
    ),
    "output dir is a file": (
        lambda tmp: ["--dataset", "diabetes", "--output-dir", _csv(tmp, "x", "file.txt")],
        r"error: --output-dir .*file\.txt is a file; give a directory\.",
    ),
    "output dir under a file": (
        lambda tmp: ["--dataset", "diabetes", "--output-dir",
                     str(Path(_csv(tmp, "x", "file.txt")) / "sub")],
        r"error: --output-dir .*file\.txt/sub cannot be created: .*file\.txt is a file; choose "
        r"another directory\.",
    ),
    "dask without scheduler": (
        lambda tmp: ["--backend", "dask"],
        r"error: --backend dask needs --scheduler ADDRESS \(e\.g\. tcp://10\.0\.0\.5:8786\), "
        r"the address 'dask scheduler' prints\.",
    ),
    "scheduler without dask": (
        lambda tmp: ["--scheduler", "tcp://127.0.0.1:8786"],
        r"error: --scheduler only applies with --backend dask; add --backend dask\.",
    ),
}


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_message(case, tmp_path, capsys):
    make_argv, pattern = CASES[case]
    code, err = _run(make_argv(tmp_path), tmp_path, capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert re.fullmatch(pattern + r"\n", err), err


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


def test_unwritable_output_dir(tmp_path, capsys, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if "locked" in str(p)
                        else real_access(p, mode))
    locked = tmp_path / "locked"
    locked.mkdir()
    code, err = _run(["--dataset", "diabetes", "--output-dir", str(locked / "out")],
                     tmp_path, capsys)
    assert code == 2
    assert re.fullmatch(r"error: --output-dir .*locked/out cannot be written \(.*locked is not "
                        r"writable\); choose another directory\.\n", err)


def test_open_workbook_is_a_clear_error_and_keeps_the_results(tmp_path, capsys, monkeypatch):
    real_replace = os.replace

    def replace(src, dst):
        if str(dst).endswith(".xlsx"):
            raise PermissionError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(atomic_io.os, "replace", replace)
    out = tmp_path / "out"
    code, err = _run(["--dataset", "diabetes", "--trials", "3", "--simulations", "2",
                      "--samplers", "random", "--output-dir", str(out)], tmp_path, capsys)
    assert code == 2
    err = err.splitlines(keepends=True)[-1]  # after the line that describes the run
    assert re.fullmatch(r"error: cannot write .*results_summary_diabetes_3_2\.xlsx: the file is "
                        r"open in another program or not writable .*\n", err)
    assert len(list(out.glob("runs/*/units/*.json"))) == 2  # nothing computed is lost
    assert not list(out.glob("results_summary/*.tmp*"))


def test_one_simulation_reports_ci_as_not_computable(tmp_path, capsys):
    import pandas as pd
    from openpyxl import load_workbook

    out = tmp_path / "out"
    assert main(["--dataset", "diabetes", "--trials", "3", "--simulations", "1", "--samplers",
                 "random", "--output-dir", str(out), "--no-progress", "--n-jobs", "1"]) == 0
    path = out / "results_summary" / "results_summary_diabetes_3_1.xlsx"
    summary = pd.read_excel(path, index_col=0)
    # As README and utils/excel_summary.py say: the CI cells are empty, the settings say why.
    assert summary.loc["random_95% CI"].isna().all()
    assert [cell.value for cell in load_workbook(path)["summary"][3]][1:] == [None] * 8
    assert float(summary.loc["random_Mean", "Validation_Losses_hls"]) > 0
    settings = pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]
    assert settings["note"].startswith("95% CI not computable with one simulation (its cells "
                                       "are empty)")
    terminal = capsys.readouterr().out.splitlines()
    last = terminal[-1].split()
    assert last[0] == "random_95%"
    assert last[2:4] == ["n/a"] * 2


def test_no_pickle_is_loaded_anywhere():
    pattern = re.compile(r"pickle\.loads?\(|read_pickle|allow_pickle\s*=\s*True|joblib\.load\(|"
                         r"^\s*import (c)?pickle|^\s*from (c)?pickle", re.MULTILINE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if ".venv" not in path.parts and path.name != Path(__file__).name
        and pattern.search(path.read_text())
    ]
    assert offenders == []
