"""What a run tells its reader: the effective command, the terminal summary, the missing
dependency answer."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiment.cli import SCRIPT, main
from experiment.environment import missing_dependency_message, project_python

ROOT = Path(__file__).resolve().parents[1]


def _settings(out: Path, name: str) -> pd.Series:
    path = out / "results_summary" / name
    return pd.read_excel(path, sheet_name="settings").set_index("setting")["value"]


def test_settings_command_reruns_the_same_run_whatever_the_scripts_constants(tmp_path, capsys):
    out = tmp_path / "out"
    # The user edited the script's constants to 4 trials x 2 simulations, random only.
    assert main(["--dataset", "diabetes", "--output-dir", str(out), "--no-progress",
                 "--n-jobs", "1"], trials=4, simulations=2, samplers=("random",), seed=5) == 0
    settings = _settings(out, "results_summary_diabetes_4_2.xlsx")
    words = shlex.split(settings["command"])
    assert words[:2] == ["python", SCRIPT]
    for flag in ("--trials 4", "--simulations 2", "--samplers random", "--seed 5",
                 "--dataset diabetes", "--tpe paper", "--line-search fast"):
        assert flag in settings["command"]
    assert "--no-progress" not in words
    assert settings["arguments"].endswith("--n-jobs 1")
    # The command, under the script's shipped constants (100 x 50, all samplers), is the
    # same run: it finds the finished units and computes nothing.
    first = pd.read_excel(out / "results_summary" / "results_summary_diabetes_4_2.xlsx",
                          index_col=0)
    capsys.readouterr()
    assert main(words[2:]) == 0
    assert "resuming: 2 of 2 units already finished" in capsys.readouterr().err
    assert len(list(out.glob("runs/*"))) == 1
    again = pd.read_excel(out / "results_summary" / "results_summary_diabetes_4_2.xlsx",
                          index_col=0)
    pd.testing.assert_frame_equal(first.filter(like="Losses"), again.filter(like="Losses"))


def test_the_summary_is_printed_at_the_end_in_the_papers_layout(tmp_path, capsys):
    # 9 trials: the 3 x 3 grid is visited whole, so every grid study is the same.
    assert main(["--dataset", "diabetes", "--trials", "9", "--simulations", "2", "--samplers",
                 "grid", "qmc", "random", "--output-dir", str(tmp_path), "--no-progress",
                 "--n-jobs", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("diabetes: 9 trials x 2 simulations per sampler, line search "
                               "fast: losses (MSE) in 1e3 target units^2")
    assert lines[1].split() == ["train", "Optuna", "train", "HLS", "val", "Optuna", "val", "HLS",
                                "test", "Optuna", "test", "HLS", "s", "Optuna", "s", "HLS"]
    assert [line.split()[0] for line in lines[2:]] == [
        "random_Mean", "random_95%", "qmc_Mean", "qmc_95%", "grid_Mean", "grid_95%"]
    summary = pd.read_excel(tmp_path / "results_summary" / "results_summary_diabetes_9_2.xlsx",
                            index_col=0)
    assert list(summary.index) == ["random_Mean", "random_95% CI", "qmc_Mean", "qmc_95% CI",
                                   "grid_Mean", "grid_95% CI"]
    value = summary.loc["qmc_Mean", "Validation_Losses_hls"] / 1e3
    assert lines[4].split()[4] == f"{value:.4f}"
    # Identical runs show a CI of exactly 0.
    assert (summary.loc["grid_95% CI"].filter(like="Losses") == 0).all()
    assert lines[7].split()[2:8] == ["0"] * 6


def test_figures_and_files_carry_the_data_set(tmp_path):
    assert main(["--dataset", "diabetes", "--trials", "3", "--simulations", "2", "--samplers",
                 "tpe", "--output-dir", str(tmp_path), "--no-progress", "--n-jobs", "1"]) == 0
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                   if p.is_file() and "runs" not in p.parts)
    assert names == ["figures/losses_tpe_diabetes_3_2.png", "models/models_diabetes_3_2.npz",
                     "results_summary/incumbents_diabetes_3_2.json",
                     "results_summary/results_summary_diabetes_3_2.xlsx"]


def test_missing_dependency_is_one_line_naming_the_interpreter(tmp_path):
    error = ModuleNotFoundError("No module named 'tqdm'", name="tqdm")
    # No .venv in the project: say how to make it and choose it.
    message = missing_dependency_message(error, root=tmp_path)
    assert "\n" not in message
    assert message.startswith(f"error: this Python ({sys.executable}) lacks the package 'tqdm'")
    assert "python3 -m venv" in message
    assert "Select Interpreter" in message
    # A .venv that is not the running Python: choose it.
    venv = project_python(tmp_path)
    venv.parent.mkdir(parents=True)
    venv.write_text("")
    message = missing_dependency_message(
        ModuleNotFoundError("No module named 'sklearn'", name="sklearn"), root=tmp_path)
    assert f"lacks the package 'scikit-learn'; run the script with the project's environment " \
           f"{venv}" in message
    # The project's own package missing is a broken checkout: no advice, the traceback.
    assert missing_dependency_message(ModuleNotFoundError(name="experiment")) is None


def test_script_under_a_python_without_the_requirements_answers_in_one_line(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    done = subprocess.run([str(python), str(ROOT / "hyper_local_search"
                                            / "HLS_one_direction_search.py")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: this Python ({python}) lacks the package")
    assert "Select Interpreter" in lines[0]


@pytest.mark.parametrize("flag", ["--tpe", "--starts"])
def test_new_flags_are_in_the_help(flag, capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert flag in capsys.readouterr().out
