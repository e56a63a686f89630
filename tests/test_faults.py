"""Fault injection (issue 14): kills at several points, corrupt and swapped unit files, a
full disk, blocked paths, two runs sharing a directory. After each fault the run either
goes on (the fault set aside and reported in one line) or stops with one line and exit
status 2 keeping what finished; either way running the same command again gives exactly
the losses of an uninterrupted run.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pandas as pd
import pytest

from experiment import store as store_module
from experiment.cli import main
from utils import run_store

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "hyper_local_search" / "HLS_one_direction_search.py"
LOSSES = ["sampler", "simulation", "seed", "l1_optuna", "l2_optuna", "l1_hls", "l2_hls",
          "train_mse_optuna", "val_mse_optuna", "test_mse_optuna", "train_mse_hls",
          "val_mse_hls", "test_mse_hls", "hls_fits"]
#: Quick runs, in this process: 6 units.
QUICK = ["--dataset", "diabetes", "--trials", "5", "--simulations", "3", "--samplers",
         "random", "tpe", "--seed", "7", "--no-progress"]
QUICK_TAG = "diabetes_5_3"
#: Runs long enough to be killed part way: 4 units of 150 TPE trials.
SLOW = ["--dataset", "diabetes", "--trials", "150", "--simulations", "4", "--samplers", "tpe",
        "--seed", "11", "--no-progress"]
SLOW_TAG = "diabetes_150_4"


def _losses(out: Path, tag: str) -> pd.DataFrame:
    return pd.read_excel(out / "results_summary" / f"results_summary_{tag}.xlsx",
                         sheet_name="simulations")[LOSSES]


def _units(out: Path) -> list[Path]:
    return sorted(out.glob("runs/*/units/[!.]*.json"))


def _run(out: Path, capsys, *extra: str, flags=QUICK) -> tuple[int, str]:
    code = main([*flags, "--n-jobs", "1", "--output-dir", str(out), *extra])
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def quick_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick_reference")
    assert main([*QUICK, "--n-jobs", "1", "--output-dir", str(out)]) == 0
    return _losses(out, QUICK_TAG)


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("slow_reference")
    assert main([*SLOW, "--n-jobs", "1", "--output-dir", str(out)]) == 0
    return _losses(out, SLOW_TAG)


@pytest.fixture(scope="module")
def quick_finished(tmp_path_factory, quick_reference):
    """A finished quick run's output directory, copied by each test that damages one."""
    out = tmp_path_factory.mktemp("quick_finished") / "out"
    assert main([*QUICK, "--n-jobs", "1", "--output-dir", str(out)]) == 0
    return out


@pytest.fixture
def finished(quick_finished, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(quick_finished, out)
    # the workbook names the run directory it came from: a copy would be "another run's"
    (out / "results_summary" / f"results_summary_{QUICK_TAG}.xlsx").unlink()
    return out


def _rewrite(path: Path, change) -> None:
    """Change a unit inside its file and give it a valid checksum again: only the schema
    check can catch it (a user who "repaired" a file by hand)."""
    envelope = json.loads(path.read_text())
    change(envelope["unit"])
    envelope["checksum"] = run_store.content_checksum({"key": envelope["key"],
                                                       "unit": envelope["unit"]})
    path.write_text(json.dumps(envelope))


def _unit(out: Path, name: str) -> Path:
    (path,) = out.glob(f"runs/*/units/{name}.json")
    return path


CORRUPTIONS = {
    "cut short": lambda out: _unit(out, "tpe_0001").write_text('{"format": "hyper-loc'),
    "empty object": lambda out: _unit(out, "tpe_0001").write_text("{}"),
    "a list": lambda out: _unit(out, "tpe_0001").write_text("[1, 2, 3]"),
    "no record": lambda out: _rewrite(_unit(out, "tpe_0001"), lambda u: u.pop("record")),
    "short coef": lambda out: _rewrite(_unit(out, "tpe_0001"),
                                       lambda u: u["hls_fit"]["coef"].pop()),
    "string number": lambda out: _rewrite(
        _unit(out, "tpe_0001"), lambda u: u["record"].__setitem__("val_mse_hls", "2900.5")),
    "directory": lambda out: (_unit(out, "tpe_0001").unlink(),
                              (out.glob("runs/*/units").__next__() / "tpe_0001.json").mkdir()),
    "edited number": lambda out: _unit(out, "tpe_0001").write_text(
        re.sub(r'("val_mse_hls": )([\d.]+)', lambda m: m[1] + str(float(m[2]) * 0.9),
               _unit(out, "tpe_0001").read_text())),
    "swapped": lambda out: shutil.copyfile(_unit(out, "random_0002"), _unit(out, "tpe_0001")),
}
REASONS = {
    "cut short": r"could not be read \(.*\)",
    "empty object": r"is not a unit file of this program \(no format field\)",
    "a list": r"is not a unit file of this program \(no format field\)",
    "no record": r"does not have a unit's layout \(no 'record'\)",
    "short coef": r"does not have a unit's layout \(hls_fit\.coef does not hold 10 numbers\)",
    "string number": r"does not have a unit's layout \(the record's val_mse_hls is not a "
                     r"number\)",
    "directory": r"is a directory, not a unit file",
    "edited number": r"does not match its checksum \(edited or damaged\)",
    "swapped": r"holds another unit \(random simulation 2, seed \d+\)",
}


@pytest.mark.parametrize("fault", list(CORRUPTIONS))
def test_an_untrustworthy_unit_file_is_set_aside_and_recomputed(fault, finished, capsys,
                                                                 quick_reference):
    out = finished
    CORRUPTIONS[fault](out)
    code, err = _run(out, capsys)
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert re.fullmatch(rf"warning: .*/units/tpe_0001\.json {REASONS[fault]}; that unit is "
                        r"computed again; moved to .*/rejected/tpe_0001\.\d{8}T\d{6}\.json",
                        warnings[0]), warnings[0]
    (rejected,) = out.glob("runs/*/rejected/tpe_0001.*.json")  # kept, not deleted
    assert rejected.is_dir() if fault == "directory" else rejected.stat().st_size > 0
    pd.testing.assert_frame_equal(_losses(out, QUICK_TAG), quick_reference)
    assert _run(out, capsys)[1].count("warning") == 0  # the recomputed unit is trusted


@pytest.mark.parametrize("fault", ["garbage", "directory", "another run's"])
def test_a_bad_run_json_is_set_aside(fault, finished, capsys, quick_reference):
    out = finished
    (marker,) = out.glob("runs/*/run.json")
    if fault == "garbage":
        marker.write_text("not json at all {")
    elif fault == "directory":
        marker.unlink()
        marker.mkdir()
    else:
        marker.write_text(json.dumps({"seed": 12345}))
    code, err = _run(out, capsys)
    assert code == 0, err
    assert re.search(r"\nwarning: .*/run\.json (could not be read \(.*\)|is a directory, not "
                     r"the run's settings|does not hold this run directory's settings); moved "
                     r"to .*/rejected/run\.\d{8}T\d{6}\.json\n", err), err
    assert json.loads(marker.read_text())["seed"] == 7
    pd.testing.assert_frame_equal(_losses(out, QUICK_TAG), quick_reference)


def test_units_of_other_package_releases_are_not_mixed_in(finished, capsys, monkeypatch):
    out = finished
    versions = store_module.key_package_versions()
    monkeypatch.setattr(store_module, "key_package_versions",
                        lambda: {**versions, "scikit-learn": "0.0.1"})
    code, err = _run(out, capsys)
    assert code == 0, err
    assert "resuming" not in err  # another key: every unit computed under "0.0.1"
    assert len(list(out.glob("runs/*"))) == 2


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_stale_temporary_files_are_removed_and_live_ones_kept(finished, capsys,
                                                              quick_reference):
    out = finished
    units = _unit(out, "tpe_0000").parent
    dead, alive = _dead_pid(), os.getppid()
    stale = [units / f".tpe_0001.json.{dead}.0badc0de.tmp.json",
             out / "results_summary"
             / f".results_summary_{QUICK_TAG}.xlsx.{dead}.0badc0de.tmp.xlsx",
             out / "figures" / f".losses_tpe_{QUICK_TAG}.png.{dead}.0badc0de.tmp.png"]
    live = (out / "results_summary"
            / f".results_summary_{QUICK_TAG}.xlsx.{alive}.0badc0de.tmp.xlsx")
    two_minutes_ago = time.time() - 120
    for path in [*stale, live]:
        path.write_bytes(b"half a fi")
        os.utime(path, (two_minutes_ago, two_minutes_ago))
    _unit(out, "tpe_0001").unlink()
    assert _run(out, capsys)[0] == 0
    assert [path.exists() for path in stale] == [False, False, False]
    assert live.exists()  # a run still writing it
    pd.testing.assert_frame_equal(_losses(out, QUICK_TAG), quick_reference)


BLOCKED = {
    "results_summary is a file": (
        lambda out: (out.mkdir(parents=True), (out / "results_summary").write_text("x")),
        r"error: .*/out/results_summary is a file, but the run writes its results_summary "
        r"there; remove or rename it, or choose another --output-dir\."),
    "runs is a file": (
        lambda out: (out.mkdir(parents=True), (out / "runs").write_text("x")),
        r"error: .*/out/runs is a file, but the run writes its runs there; remove or rename "
        r"it, or choose another --output-dir\."),
    "workbook is a directory": (
        lambda out: (out / "results_summary" / f"results_summary_{QUICK_TAG}.xlsx").mkdir(
            parents=True),
        rf"error: cannot write .*/results_summary_{QUICK_TAG}\.xlsx: it is a directory; remove "
        r"or rename it \(or choose another --output-dir\)\."),
    "figure is a directory": (
        lambda out: (out / "figures" / f"losses_tpe_{QUICK_TAG}.png").mkdir(parents=True),
        rf"error: cannot write .*/figures/losses_tpe_{QUICK_TAG}\.png: it is a directory; "
        r"remove or rename it \(or choose another --output-dir\)\."),
    "models file is a directory": (
        lambda out: (out / "models" / f"models_{QUICK_TAG}.npz").mkdir(parents=True),
        rf"error: cannot write .*/models/models_{QUICK_TAG}\.npz: it is a directory; remove or "
        r"rename it \(or choose another --output-dir\)\."),
}


@pytest.mark.parametrize("case", list(BLOCKED))
def test_a_blocked_output_path_is_one_line_before_any_work(case, tmp_path, capsys):
    block, pattern = BLOCKED[case]
    out = tmp_path / "out"
    block(out)
    code, err = _run(out, capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert re.fullmatch(pattern + "\n", err), err
    assert _units(out) == []  # no work was done


def test_full_disk_simulated_stops_in_one_line_keeping_finished_units(
        tmp_path, capsys, monkeypatch, quick_reference):
    """ENOSPC raised by the third unit file's write, as a full disk raises it."""
    real_write_bytes = Path.write_bytes
    written = []

    def write_bytes(self, data):
        if "/units/" in str(self) and ".tmp" in self.name:
            if len(written) == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(self))
            written.append(self)
        return real_write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    out = tmp_path / "out"
    code, err = _run(out, capsys)
    assert code == 2
    assert re.fullmatch(
        r"error: cannot write .*/units/\w+_000\d\.json: no space left on its device "
        r"\(No space left on device\); free some space and try again\. The finished units are "
        r"kept in .*; run the same command again to go on\.", err.splitlines()[-1]), err
    # the two units written before the disk filled (slowest sampler first) are kept
    assert len(_units(out)) == 2
    assert not list(out.glob("runs/*/units/.*"))  # no temporary file left
    monkeypatch.setattr(Path, "write_bytes", real_write_bytes)  # space freed
    code, err = _run(out, capsys)
    assert code == 0, err
    assert "resuming: 2 of 6 units already finished" in err
    pd.testing.assert_frame_equal(_losses(out, QUICK_TAG), quick_reference)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (needs root and mount); skipped where mounting is not permitted."""
    mount_point = tmp_path / "tmpfs"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                             str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip()}); the simulated "
                    "full-disk test covers this")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(mount_point: Path, *, leave_pages: int) -> Path:
    """Fill the file system, then free ``leave_pages`` pages of 4 KiB."""
    filler = mount_point / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(descriptor, b"\0" * 4096) == 4096:
            pass
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
    finally:
        os.close(descriptor)
    os.truncate(filler, max(0, filler.stat().st_size - leave_pages * 4096))
    return filler


def test_full_disk_on_a_real_tmpfs(small_tmpfs, capsys, quick_reference):
    out = small_tmpfs / "out"
    filler = _fill(small_tmpfs, leave_pages=6)
    code, err = _run(out, capsys)
    assert code == 2, err
    last = err.splitlines()[-1]
    assert re.fullmatch(r"error: cannot write .*: no space left on its device \(No space left "
                        r"on device\); free some space and try again\..*", last), err
    assert "Traceback" not in err
    kept = _units(out)
    assert 1 <= len(kept) < 6, kept
    assert "The finished units are kept in" in last
    filler.unlink()  # space freed
    code, err = _run(out, capsys)
    assert code == 0, err
    assert f"resuming: {len(kept)} of 6 units already finished" in err
    pd.testing.assert_frame_equal(_losses(out, QUICK_TAG), quick_reference)


def _start(out: Path, *extra: str, flags=SLOW) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), *flags, "--output-dir", str(out),
                             *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for(condition, seconds: float = 240.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting")
        time.sleep(0.02)


def _group(pid: int) -> list[str]:
    return subprocess.run(["pgrep", "-g", str(pid)], capture_output=True,
                          text=True).stdout.split()


def _resume_equals(out: Path, reference: pd.DataFrame, capsys) -> None:
    code, err = _run(out, capsys, flags=SLOW)
    assert code == 0, err
    pd.testing.assert_frame_equal(_losses(out, SLOW_TAG), reference)


@pytest.mark.skipif(not Path("/dev/shm").is_dir(), reason="no /dev/shm")
def test_sigkill_of_the_main_process_leaves_no_workers_nor_semaphores(tmp_path, capsys,
                                                                       slow_reference):
    out = tmp_path / "out"
    process = _start(out, "--n-jobs", "2")
    _wait_for(lambda: len(_units(out)) >= 1 or process.poll() is not None)
    os.kill(process.pid, signal.SIGKILL)  # the main process only, as the OOM killer would
    process.wait()
    assert len(_units(out)) < 4, "the run must be killed part way"
    deadline = time.monotonic() + 20
    while _group(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _group(process.pid) == []  # the workers left with their parent
    assert [n for n in os.listdir("/dev/shm") if f"-{process.pid}-" in n
            or f"_{process.pid}_" in n] == []
    _resume_equals(out, slow_reference, capsys)


def test_sigterm_stops_in_one_line_keeping_finished_units(tmp_path, capsys, slow_reference):
    out = tmp_path / "out"
    process = _start(out, "--n-jobs", "1")
    _wait_for(lambda: len(_units(out)) >= 1 or process.poll() is not None)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert re.fullmatch(r"interrupted: the finished units are kept in .*; run the same command "
                        r"again to go on from there\.", err.splitlines()[-1]), err
    assert "Traceback" not in err
    _resume_equals(out, slow_reference, capsys)


def test_a_killed_worker_process_stops_the_run_in_one_line(tmp_path, capsys, slow_reference):
    out = tmp_path / "out"
    process = _start(out, "--n-jobs", "2")

    def workers():
        return subprocess.run(["pgrep", "-P", str(process.pid), "-f", "LokyProcess"],
                              capture_output=True, text=True).stdout.split()

    _wait_for(lambda: workers() or process.poll() is not None)
    os.kill(int(workers()[0]), signal.SIGKILL)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert re.fullmatch(r"error: a worker process died while computing \(killed, or out of "
                        r"memory\); run the same command again, with a smaller --n-jobs if "
                        r"memory is short\. The finished units are kept in .*; run the same "
                        r"command again to go on\.", err.splitlines()[-1]), err
    _resume_equals(out, slow_reference, capsys)


def test_sigkill_while_writing_the_outputs(tmp_path, capsys, slow_reference):
    out = tmp_path / "out"
    process = _start(out, "--n-jobs", "1")
    _wait_for(lambda: (out / "results_summary").exists() or process.poll() is not None)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _resume_equals(out, slow_reference, capsys)
    assert len(list(out.glob("figures/*.png"))) == 1
    assert not [p for p in out.rglob(".*.tmp*") if time.time() - p.stat().st_mtime > 60]


COOPERATING = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    import experiment.execution as execution
    real = execution.run_unit

    def logged(splits, config, sampler, simulation, seed, *rest):
        with open({log!r}, "a") as handle:
            handle.write(f"{{os.getpid()}} {{sampler}} {{simulation}}\\n")
        return real(splits, config, sampler, simulation, seed, *rest)

    execution.run_unit = logged
    from experiment.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_two_runs_in_one_directory_never_compute_a_unit_twice(tmp_path, capsys,
                                                              slow_reference):
    log = tmp_path / "computed.log"
    wrapper = tmp_path / "logged_run.py"
    wrapper.write_text(COOPERATING.format(root=str(ROOT), log=str(log)))
    out = tmp_path / "out"
    runs = [subprocess.Popen([sys.executable, str(wrapper), *SLOW, "--n-jobs", "1",
                              "--output-dir", str(out)], stderr=subprocess.PIPE, text=True,
                             start_new_session=True) for _ in range(2)]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    computed = [line.split() for line in log.read_text().splitlines()]
    units = sorted((sampler, int(simulation)) for _, sampler, simulation in computed)
    assert units == [("tpe", i) for i in range(4)]  # each unit exactly once
    assert len({pid for pid, _, _ in computed}) == 2, "both runs must have computed"
    pd.testing.assert_frame_equal(_losses(out, SLOW_TAG), slow_reference)
    assert not list(out.glob("runs/*/claims/*.lock"))  # claims of finished units removed
    journal = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(
        str(next(out.glob("runs/*/studies.journal")))))
    names = sorted(s.study_name for s in journal.get_all_studies())
    assert names == [f"tpe_{i:04d}" for i in range(4)]  # one writer at a time: not torn


@pytest.mark.parametrize("extra", [[], ["--refiners", "path"]], ids=["plain", "refiners"])
def test_the_preflight_knows_every_file_the_outputs_write(extra, tmp_path, capsys):
    from experiment.cli import build_parser
    from experiment.config import RunConfig
    from experiment.preflight import planned_outputs

    out = tmp_path / "out"
    argv = [*QUICK, "--n-jobs", "1", "--output-dir", str(out), *extra]
    assert main(argv) == 0
    written = {p for folder in ("results_summary", "figures", "models")
               for p in (out / folder).iterdir()}
    args = build_parser(trials=100, simulations=50, dataset="house_price",
                        samplers=("random",), seed=0).parse_args(argv)
    config = RunConfig(dataset=args.dataset, samplers=tuple(args.samplers),
                       n_trials=args.trials, n_simulations=args.simulations, seed=args.seed,
                       refiners=tuple(args.refiners))
    assert set(planned_outputs(config, out)) == written
