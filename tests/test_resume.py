"""Resumable runs: a killed run loses no finished unit, and the resumed run equals an
uninterrupted one."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiment.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hyper_local_search" / "HLS_one_direction_search.py"
LOSS_COLUMNS = ["sampler", "simulation", "seed", "l1_optuna", "l2_optuna", "l1_hls", "l2_hls",
                "train_mse_optuna", "val_mse_optuna", "test_mse_optuna", "train_mse_hls",
                "val_mse_hls", "test_mse_hls", "hls_fits"]


def _argv(out: Path, *extra: str) -> list[str]:
    return ["--dataset", "diabetes", "--trials", "40", "--simulations", "6", "--samplers",
            "tpe", "random", "--seed", "5", "--n-jobs", "1", "--output-dir", str(out),
            "--no-progress", *extra]


def _simulations(out: Path) -> pd.DataFrame:
    return pd.read_excel(out / "results_summary" / "results_summary_diabetes_40_6.xlsx",
                         sheet_name="simulations")


def test_sigkill_then_resume_recomputes_nothing_finished(tmp_path):
    out = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(SCRIPT), *_argv(out)],
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    units = []
    while time.monotonic() < deadline and process.poll() is None:
        units = list(out.glob("runs/*/units/[!.]*.json"))
        if len(units) >= 3:
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {path: path.stat().st_mtime_ns for path in out.glob("runs/*/units/[!.]*.json")}
    assert 3 <= len(finished) < 12, "the run must be killed part way"
    assert not (out / "results_summary").exists()

    resumed = subprocess.run([sys.executable, str(SCRIPT), *_argv(out)], capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming: {len(finished)} of 12 units already finished" in resumed.stderr
    for path, mtime in finished.items():
        assert path.stat().st_mtime_ns == mtime, f"{path.name} was computed again"
    assert len(list(out.glob("runs/*/units/[!.]*.json"))) == 12

    reference = tmp_path / "uninterrupted"
    assert main(_argv(reference)) == 0
    pd.testing.assert_frame_equal(_simulations(out)[LOSS_COLUMNS],
                                  _simulations(reference)[LOSS_COLUMNS])


def test_fresh_starts_over_and_other_settings_do_not_mix(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--dataset", "diabetes", "--trials", "4", "--simulations", "2", "--samplers",
            "random", "--n-jobs", "1", "--output-dir", str(out), "--no-progress"]
    assert main(argv) == 0
    (unit,) = out.glob("runs/*/units/random_0000.json")
    before = unit.stat().st_mtime_ns
    assert main(argv) == 0
    assert "resuming: 2 of 2 units already finished" in capsys.readouterr().err
    assert unit.stat().st_mtime_ns == before
    assert main([*argv, "--fresh"]) == 0
    assert "resuming" not in capsys.readouterr().err
    assert unit.stat().st_mtime_ns != before
    # Another seed is another run directory; more simulations reuse the finished ones.
    assert main([*argv, "--seed", "1"]) == 0
    assert len(list(out.glob("runs/*"))) == 2
    assert main([a if a != "2" else "3" for a in argv]) == 0
    assert "resuming: 2 of 3 units already finished" in capsys.readouterr().err


def test_corrupt_unit_file_is_recomputed(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["--dataset", "diabetes", "--trials", "4", "--simulations", "2", "--samplers",
            "qmc", "--n-jobs", "1", "--output-dir", str(out), "--no-progress"]
    assert main(argv) == 0
    first = _summary(out)
    (unit,) = out.glob("runs/*/units/qmc_0001.json")
    unit.write_text('{"record": {"sampler": "qm')
    assert main(argv) == 0
    assert re.search(r"warning: .*qmc_0001.json could not be read \(.*\); that unit is computed "
                     r"again; moved to .*rejected/qmc_0001\.\d{8}T\d{6}\.json\n",
                     capsys.readouterr().err)
    pd.testing.assert_frame_equal(_summary(out), first)


def _summary(out: Path) -> pd.DataFrame:
    summary = pd.read_excel(out / "results_summary" / "results_summary_diabetes_4_2.xlsx",
                            index_col=0)
    return summary.filter(like="Losses")


@pytest.mark.parametrize("n_jobs", ["1", "2"])
def test_same_command_same_losses(tmp_path, n_jobs):
    frames = []
    for attempt in range(2):
        out = tmp_path / f"{n_jobs}_{attempt}"
        argv = ["--dataset", "diabetes", "--trials", "5", "--simulations", "2", "--samplers",
                "tpe", "qmc", "--n-jobs", n_jobs, "--output-dir", str(out), "--no-progress"]
        assert main(argv) == 0
        frames.append(pd.read_excel(out / "results_summary" / "results_summary_diabetes_5_2.xlsx",
                                    sheet_name="simulations")[LOSS_COLUMNS])
    pd.testing.assert_frame_equal(*frames)
