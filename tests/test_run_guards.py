"""Nothing runs away (issue 14, points 2 and 3): huge --trials/--simulations are refused
before anything is built, long runs are announced with their estimate, and --n-jobs is
capped at the cores with a warning."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

import pytest

from experiment import execution
from experiment.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hyper_local_search" / "HLS_one_direction_search.py"


def _limited_memory():  # preexec_fn: a run that grows without bound fails instead
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _script(argv, tmp_path, *, timeout=60):
    """Run the user's script in its own process group, killed at ``timeout``."""
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), *argv, "--output-dir", str(tmp_path / "out"),
         "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True, preexec_fn=_limited_memory)
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"still running after {timeout} s: {err[-500:]}")
    return process.returncode, err


@pytest.mark.parametrize(
    ("flags", "pattern"),
    [
        (["--samplers", "grid", "--trials", "1000000000"],
         r"error: --trials 1000000000 is more than 100,000: Optuna keeps every trial in memory "
         r"\(about 6\.14e\+03 GB per study\) and its grid and TPE samplers slow down with the "
         r"square of the trials; use at most 100,000 \(the paper uses 100\)\.\n"),
        (["--simulations", "1000000000"],
         r"error: --simulations 1000000000 is more than 100,000; use at most 100,000 \(the "
         r"paper uses 50\)\.\n"),
        (["--simulations", "90000", "--refiners", "path", "random-local"],
         r"error: 4 samplers x 90000 simulations need 1,080,000 rows in the workbook's "
         r"refiners sheet, more than Excel's 1,048,575; lower --simulations\.\n"),
    ],
    ids=["trials", "simulations", "excel-rows"],
)
def test_counts_no_run_could_hold_are_refused_at_once(flags, pattern, tmp_path):
    begin = time.monotonic()
    code, err = _script(["--dataset", "diabetes", *flags], tmp_path)
    assert (code, time.monotonic() - begin < 30) == (2, True), err
    assert re.fullmatch(pattern, err), err
    assert not (tmp_path / "out" / "runs").exists()  # nothing was built


def test_a_run_that_cannot_end_is_refused_with_its_estimate(tmp_path):
    # Optuna's grid sampler compares each trial with every earlier one: 100,000 trials
    # take months per study, whatever the data
    code, err = _script(["--dataset", "diabetes", "--samplers", "grid", "--trials", "100000",
                         "--simulations", "50", "--n-jobs", "2"], tmp_path)
    assert code == 2, err
    last = err.splitlines()[-1]
    assert re.fullmatch(r"error: this run would need about [\d.]+ (days|years) \(50 units of "
                        r"100000 trials on 2 worker\(s\), [\d.e+-]+ ms per fit on this data, grid "
                        r"slowing down with the square of --trials\); lower --trials or "
                        r"--simulations, or spread it over more workers \(--backend dask\)\.",
                        last), err
    assert not list((tmp_path / "out").glob("runs/*/units/*.json"))


def test_a_long_run_is_announced_with_its_estimate(tmp_path, capsys, monkeypatch):
    from experiment import guards  # per test: the command-line tests do without it

    monkeypatch.setattr(guards, "WARN_SECONDS", 0.0)  # every run is "long" here
    argv = ["--dataset", "diabetes", "--trials", "3", "--simulations", "2", "--samplers",
            "random", "--n-jobs", "1", "--output-dir", str(tmp_path / "out"), "--no-progress"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert re.search(r"\nwarning: this run needs about \d+ s \(2 units of 3 trials on 1 "
                     r"worker\(s\), [\d.e+-]+ ms per fit on this data\); each unit is saved when "
                     r"it finishes, so Ctrl-C and the same command again lose little\.\n", err)


def test_estimate_thresholds():
    from experiment import guards  # per test: the command-line tests do without it

    assert (guards.WARN_SECONDS, guards.REFUSE_SECONDS) == (3600.0, 30 * 86400.0)  # README
    guards.check_run_time(guards.WARN_SECONDS - 1, what="x")  # silent
    with pytest.warns(guards.RunWarning, match=r"about 2\.0 h \(x\)"):
        guards.check_run_time(7200.0, what="x")
    with pytest.raises(guards.InputError, match=r"about 40\.0 days \(x\)"):
        guards.check_run_time(40 * 86400.0, what="x")


def test_estimate_grows_with_the_square_of_the_trials_for_grid_and_tpe():
    from experiment import guards  # per test: the command-line tests do without it

    def estimate(sampler, trials):
        return guards.estimate_seconds(
            samplers=[sampler], n_units_per_sampler={sampler: 1}, n_trials=trials,
            fit_seconds=0.0, line_search="fast", hls_steps=1, n_refiners=0, workers=1)

    for sampler in ("grid", "tpe"):
        assert 90 < estimate(sampler, 100_000) / estimate(sampler, 10_000) < 101
    for sampler in ("random", "qmc"):
        assert estimate(sampler, 100_000) / estimate(sampler, 10_000) == pytest.approx(10)


class _RecordingParallel:
    """joblib.Parallel stand-in: records n_jobs, runs the tasks here (no processes)."""

    calls: ClassVar[list[int]] = []

    def __init__(self, n_jobs, **kwargs):
        type(self).calls.append(n_jobs)

    def __call__(self, tasks):
        return (function(*args, **kwargs) for function, args, kwargs in tasks)


def test_n_jobs_above_the_cores_is_capped_with_a_warning(tmp_path, capsys, monkeypatch):
    from experiment import guards  # per test: the command-line tests do without it

    _RecordingParallel.calls = []
    monkeypatch.setattr(execution, "Parallel", _RecordingParallel)
    cores = guards.available_cores()
    argv = ["--dataset", "diabetes", "--trials", "3", "--simulations", "6", "--samplers",
            "random", "--n-jobs", "10000", "--output-dir", str(tmp_path / "out"),
            "--no-progress"]
    assert main(argv) == 0
    assert _RecordingParallel.calls
    assert max(_RecordingParallel.calls) <= cores
    err = capsys.readouterr().err
    assert (f"warning: --n-jobs 10000 is more than the {cores} cores of this machine; using "
            f"{cores} worker processes (more would only compete for the cores and "
            "memory).\n") in err


def test_n_jobs_below_minus_one_is_refused(tmp_path, capsys):
    argv = ["--dataset", "diabetes", "--n-jobs", "-100", "--output-dir", str(tmp_path),
            "--no-progress"]
    assert main(argv) == 2
    assert capsys.readouterr().err == ("error: --n-jobs must be a positive count or -1 for "
                                       "all cores, got -100.\n")


def test_workers_never_exceed_the_units():
    from experiment import guards  # per test: the command-line tests do without it

    assert guards.resolve_workers(-1, 1, cores=8) == 1
    assert guards.resolve_workers(4, 3, cores=8) == 3
    with pytest.warns(guards.RunWarning, match="more than the 2 cores"):
        assert guards.resolve_workers(5, 10, cores=2) == 2


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm")
def test_real_workers_capped_and_nothing_left_behind(tmp_path):
    from experiment import guards  # per test: the command-line tests do without it

    cores = guards.available_cores()
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--dataset", "diabetes", "--trials", "3",
         "--simulations", "3", "--samplers", "random", "--n-jobs", str(cores + 2),
         "--output-dir", str(tmp_path / "out"), "--no-progress"],
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert f"using {cores} worker processes" in err
    assert _gone(process.pid) == []  # workers and resource trackers, within 20 s
    assert _shared_memory_of(process.pid) == []


def _gone(group: int, seconds: float = 20.0) -> list[str]:
    """Processes of process group ``group`` still there after ``seconds`` (polled)."""
    deadline = time.monotonic() + seconds
    while True:
        left = subprocess.run(["pgrep", "-g", str(group)], capture_output=True,
                              text=True).stdout.split()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _shared_memory_of(pid: int) -> list[str]:
    """Semaphores and memmapping folders a run of main process ``pid`` left in /dev/shm."""
    return [name for name in os.listdir("/dev/shm")
            if f"-{pid}-" in name or f"_{pid}_" in name]
