"""Dask with real ``dask scheduler`` and ``dask worker`` processes, as the README starts
them (issue 14, point 10): a unit runs on the worker and equals a local run; a scheduler
or worker that cannot import the project, or a cluster without workers, stops the run
with one line within 30 s.

The README's commands get three flags here, for a test machine shared with others:
``--host 127.0.0.1``, a free port (``--port 0`` with ``--scheduler-file``) and no dashboard.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from experiment.cli import main

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hyper_local_search" / "HLS_one_direction_search.py"
DASK = Path(sys.executable).with_name("dask")
LOSSES = ["sampler", "simulation", "seed", "l1_optuna", "l2_optuna", "l1_hls", "l2_hls",
          "train_mse_optuna", "val_mse_optuna", "test_mse_optuna", "train_mse_hls",
          "val_mse_hls", "test_mse_hls", "hls_fits"]

pytestmark = pytest.mark.skipif(not DASK.exists(), reason="the dask command is not installed")


class _Processes:
    """Processes this module starts, each in its own group, all killed at the end."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, args, *, with_project: bool, log: Path) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if with_project:  # the README: from the repository, PYTHONPATH=.
            env["PYTHONPATH"] = "."
        handle = open(log, "w")  # noqa: SIM115 - closed with the process's end
        process = subprocess.Popen([str(DASK), *args], cwd=ROOT if with_project else log.parent,
                                   env=env, stdout=handle, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        process.log = log
        self.started.append(process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


@pytest.fixture(scope="module")
def processes():
    started = _Processes()
    yield started
    started.stop_all()


def _scheduler(processes, folder: Path, *, with_project: bool) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    address_file = folder / "scheduler.json"
    processes.start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(address_file)], with_project=with_project,
                    log=folder / "scheduler.log")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if address_file.exists():
            try:
                return json.loads(address_file.read_text())["address"]
            except (ValueError, KeyError):
                pass
        time.sleep(0.2)
    pytest.fail(f"the scheduler did not start: {(folder / 'scheduler.log').read_text()}")


def _worker(processes, address: str, folder: Path, *, with_project: bool):
    folder.mkdir(parents=True, exist_ok=True)
    worker = processes.start(["worker", address, "--nthreads", "1", "--no-dashboard",
                              "--local-directory", str(folder)], with_project=with_project,
                             log=folder / "worker.log")
    with distributed.Client(address, timeout=30) as client:
        client.wait_for_workers(1, timeout=90)
    return worker


def _argv(address: str, out: Path) -> list[str]:
    return ["--dataset", "diabetes", "--trials", "5", "--simulations", "2", "--samplers",
            "random", "--seed", "3", "--backend", "dask", "--scheduler", address,
            "--output-dir", str(out), "--no-progress"]


def _timed_main(argv, capsys):
    """The user's script in a process of its own (a hang fails the test, at 120 s)."""
    begin = time.monotonic()
    process = subprocess.Popen([sys.executable, str(SCRIPT), *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        pytest.fail(f"the run hung for 120 s: {err[-300:]}")
    return process.returncode, time.monotonic() - begin, err


@pytest.fixture(scope="module")
def good_scheduler(processes, tmp_path_factory):
    return _scheduler(processes, tmp_path_factory.mktemp("good"), with_project=True)


def test_no_worker_is_one_line_within_30_s(good_scheduler, tmp_path, capsys):
    code, seconds, err = _timed_main(_argv(good_scheduler, tmp_path / "out"), capsys)
    assert code == 2, err
    assert seconds < 30
    assert err.splitlines()[-1] == (
        f"error: no Dask worker joined the scheduler at {good_scheduler} within 10 s; start "
        f"one from a clone of this repository: cd HyperLocalTuning && PYTHONPATH=. dask worker "
        f"{good_scheduler} --nthreads 1")


def test_worker_without_the_project_is_one_line_within_30_s(processes, good_scheduler,
                                                             tmp_path, capsys):
    worker = _worker(processes, good_scheduler, tmp_path / "w", with_project=False)
    try:
        code, seconds, err = _timed_main(_argv(good_scheduler, tmp_path / "out"), capsys)
    finally:
        processes.stop(worker)
    assert code == 2, err
    assert seconds < 30
    assert re.fullmatch(r"error: the Dask worker tcp://127\.0\.0\.1:\d+ cannot import this "
                        r"project \(No module named '\w+'\); start each worker from a clone of "
                        r"this repository: cd HyperLocalTuning && PYTHONPATH=\. dask worker "
                        rf"{re.escape(good_scheduler)} --nthreads 1", err.splitlines()[-1]), err
    assert not list((tmp_path / "out").glob("runs/*/units/*.json"))


def test_a_unit_runs_on_the_readme_cluster_and_equals_a_local_run(processes, good_scheduler,
                                                                  tmp_path, capsys):
    worker = _worker(processes, good_scheduler, tmp_path / "w", with_project=True)
    try:
        code, _, err = _timed_main(_argv(good_scheduler, tmp_path / "dask"), capsys)
        assert code == 0, err
        with distributed.Client(good_scheduler, timeout=30) as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    finally:
        processes.stop(worker)
    assert any(prefix.startswith("hls-unit") for prefix in prefixes), prefixes
    local = [a if a != "dask" else "loky" for a in _argv("", tmp_path / "local")]
    local = [a for a in local if a not in ("--scheduler", "")] + ["--n-jobs", "1"]
    assert main(local) == 0

    def losses(out):
        return pd.read_excel(out / "results_summary" / "results_summary_diabetes_5_2.xlsx",
                             sheet_name="simulations")[LOSSES]

    pd.testing.assert_frame_equal(losses(tmp_path / "dask"), losses(tmp_path / "local"))


def test_scheduler_without_the_project_is_one_line_within_30_s(processes, tmp_path, capsys):
    address = _scheduler(processes, tmp_path / "bad", with_project=False)
    code, seconds, err = _timed_main(_argv(address, tmp_path / "out"), capsys)
    assert code == 2, err
    assert seconds < 30
    assert err.splitlines()[-1] == (
        f"error: the Dask scheduler at {address} cannot import this project (No module named "
        "'experiment'), so it cannot read the units' tasks; start it from a clone of this "
        "repository: cd HyperLocalTuning && PYTHONPATH=. dask scheduler")


def _kill_when_a_unit_is_saved(out: Path, process: subprocess.Popen) -> threading.Thread:
    """Kill ``process``'s group (SIGKILL) once the run has saved its first unit."""

    def watch():
        deadline = time.monotonic() + 240
        while not list(out.glob("runs/*/units/[!.]*.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


LONG = ["--trials", "600", "--simulations", "4", "--samplers", "tpe"]


def test_workers_dying_mid_run_stop_it_in_one_line(processes, good_scheduler, tmp_path,
                                                    capsys, monkeypatch):
    from experiment import dask_backend

    monkeypatch.setattr(dask_backend, "NO_WORKER_SECONDS", 3)
    worker = _worker(processes, good_scheduler, tmp_path / "w", with_project=True)
    out = tmp_path / "out"
    argv = [*_argv(good_scheduler, out), *LONG]
    watcher = _kill_when_a_unit_is_saved(out, worker)
    code = main(argv)
    watcher.join()
    err = capsys.readouterr().err
    assert code == 2, err
    assert re.fullmatch(rf"error: no Dask worker has been connected to {good_scheduler} for 3 "
                        r"s; start workers again \(cd HyperLocalTuning && PYTHONPATH=\. dask "
                        rf"worker {good_scheduler} --nthreads 1\)\. The finished units are kept "
                        r"in .*; run the same command again to go on\.", err.splitlines()[-1]), err
    assert 1 <= len(list(out.glob("runs/*/units/[!.]*.json"))) < 4


def test_the_scheduler_dying_mid_run_stops_it_in_one_line(processes, tmp_path):
    address = _scheduler(processes, tmp_path / "s", with_project=True)
    scheduler = processes.started[-1]
    _worker(processes, address, tmp_path / "w", with_project=True)
    out = tmp_path / "out"
    watcher = _kill_when_a_unit_is_saved(out, scheduler)
    code, _, err = _timed_main([*_argv(address, out), *LONG], None)
    watcher.join()
    assert code == 2, err
    # which line depends on what the client notices first: its futures cancelled, or the
    # connection closed
    assert re.fullmatch(rf"error: (Dask cancelled tpe simulation \d: the scheduler at {address} "
                        rf"or its workers went away|lost the Dask scheduler at {address})\. The "
                        r"finished units are kept in .*; run the same command again to go on\.",
                        err.splitlines()[-1]), err
    assert err.count("\n") == 2, err  # the data set's line, then the error: nothing else
