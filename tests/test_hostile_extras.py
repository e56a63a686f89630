"""Hostile inputs and faults beyond the issue's twelve, tried the same way: each gets one
line and exit status 2 before any work, or is set aside and recomputed, and loses
nothing."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiment.cli import main
from utils.run_store import RunStore, UnitClaims

QUICK = ["--dataset", "diabetes", "--trials", "3", "--simulations", "2", "--samplers",
         "random", "--n-jobs", "1", "--no-progress"]


def _run(argv, capsys) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


def _one_line_error(code: int, err: str, pattern: str) -> None:
    assert code == 2
    assert err.count("\n") == 1, err
    assert re.fullmatch(f"error: {pattern}\n", err), err


def test_an_output_dir_name_too_long_for_the_file_system(tmp_path, capsys):
    code, err = _run([*QUICK, "--output-dir", str(tmp_path / ("x" * 300) / "out")], capsys)
    _one_line_error(code, err, r"--output-dir .* cannot be used \(File name too long\); choose "
                               r"another directory\.")


def test_a_csv_name_too_long_for_the_file_system(tmp_path, capsys):
    code, err = _run(["--dataset", str(tmp_path / (("x" * 300) + ".csv")), "--target", "y",
                      "--output-dir", str(tmp_path / "out"), "--no-progress"], capsys)
    _one_line_error(code, err, r".*\.csv: cannot be opened \(File name too long\); check the "
                               r"path of the CSV table\.")


def test_a_line_break_in_a_file_name_keeps_the_message_on_one_line(tmp_path, capsys):
    folder = tmp_path / "a\nb"
    folder.mkdir()
    code, err = _run(["--dataset", str(folder / "t.csv"), "--target", "y", "--output-dir",
                      str(tmp_path / "out"), "--no-progress"], capsys)
    _one_line_error(code, err, r".*/a\\nb/t\.csv: no such file; check the path of the CSV "
                               r"table\.")


def test_a_budget_no_refiner_could_spend_is_refused(tmp_path, capsys):
    code, err = _run([*QUICK, "--refiners", "optuna-continue", "--budget", "1000000000",
                      "--output-dir", str(tmp_path)], capsys)
    _one_line_error(code, err, r"--budget 1000000000 is more than 100,000 fits per refiner: "
                               r"optuna-continue would run that many more trials and path would "
                               r"hold that many models; use at most 100,000\.")


def test_a_table_with_more_features_than_memory_allows(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = pd.DataFrame(rng.normal(size=(12, 6001)),
                         columns=[*(f"x{j}" for j in range(6000)), "y"])
    path = tmp_path / "wide.csv"
    table.to_csv(path, index=False)
    code, err = _run(["--dataset", str(path), "--target", "y", "--output-dir",
                      str(tmp_path / "out"), "--no-progress"], capsys)
    _one_line_error(code, err, r".*wide\.csv: 6000 feature columns, more than 5000: the Gram "
                               r"matrices and the HLS step's LP would need about 1\.44 GB per "
                               r"worker; select or combine features \(e\.g\. PCA\) down to 5000 "
                               r"or fewer\.")


def test_a_large_hls_steps_is_an_upper_bound_not_an_estimate(tmp_path, capsys):
    code, err = _run([*QUICK, "--hls-steps", "1000000000", "--output-dir", str(tmp_path)],
                     capsys)
    assert code == 0, err
    assert "warning" not in err


@pytest.fixture
def finished(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run([*QUICK, "--output-dir", str(out)], capsys)[0] == 0
    return out


@pytest.mark.parametrize("kind", ["fifo", "link to /dev/zero"])
def test_a_unit_file_that_never_ends_is_set_aside_without_blocking(kind, finished, capsys):
    (unit,) = finished.glob("runs/*/units/random_0001.json")
    unit.unlink()
    if kind == "fifo":
        os.mkfifo(unit)
    else:
        unit.symlink_to("/dev/zero")
    code, err = _run([*QUICK, "--output-dir", str(finished)], capsys)
    assert code == 0, err
    assert re.search(r"warning: .*random_0001\.json could not be read \(not a regular file\); "
                     r"that unit is computed again; moved to .*rejected/random_0001\.\d{8}T"
                     r"\d{6}\.json\n", err), err
    assert unit.is_file()


def test_a_run_json_that_is_a_fifo_is_set_aside(finished, capsys):
    (marker,) = finished.glob("runs/*/run.json")
    marker.unlink()
    os.mkfifo(marker)
    code, err = _run([*QUICK, "--output-dir", str(finished)], capsys)
    assert code == 0, err
    assert "run.json could not be read (not a regular file)" in err
    assert json.loads(marker.read_text())["n_trials"] == 3


def test_documents_of_the_run_prove_themselves(tmp_path):
    store = RunStore(tmp_path, "t", {"a": 1}).open()
    store.save_document("validation_grid", {"best": 1.5})
    assert store.load_document("validation_grid") == {"best": 1.5}
    path = store.document_path("validation_grid")
    path.write_text(path.read_text().replace("1.5", "0.5"))  # "improved" by hand
    with pytest.warns(UserWarning, match=r"validation_grid\.json does not match its checksum "
                      r"\(edited or damaged\); it is computed again; moved to .*rejected"):
        assert store.load_document("validation_grid") is None
    other = RunStore(tmp_path, "t", {"a": 2}).open()
    other.save_document("validation_grid", {"best": 9.0})
    os.replace(other.document_path("validation_grid"), path)
    with pytest.warns(UserWarning, match="belongs to a run with other settings"):
        assert store.load_document("validation_grid") is None
    store.save_document("validation_grid", [])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert store.load_document("validation_grid", check=lambda d: d["x"]) is None
    assert "does not have the layout of a validation_grid" in str(caught[0].message)


def test_fresh_while_another_run_computes_is_refused(finished, capsys):
    (directory,) = (finished / "runs").iterdir()
    claims = UnitClaims(directory / "claims")
    assert claims.try_claim("random_0005")  # another run is computing unit 5
    try:
        code, err = _run([*QUICK, "--output-dir", str(finished), "--fresh"], capsys)
    finally:
        claims.release_all()
    assert code == 2
    assert re.fullmatch(r"error: another run \(pid \d+ on .*\) is computing in .*; wait for it "
                        r"to finish \(or stop it\) before running with --fresh\.",
                        err.splitlines()[-1]), err
    assert len(list(directory.glob("units/*.json"))) == 2  # nothing was deleted


@pytest.fixture
def read_only_dir(tmp_path):
    mount_point = tmp_path / "ro"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs",
                             str(mount_point)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here ({result.stderr.strip()})")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_read_only_file_system_is_one_line(read_only_dir, capsys):
    code, err = _run([*QUICK, "--output-dir", str(read_only_dir / "out")], capsys)
    _one_line_error(code, err, r"--output-dir .*/ro/out cannot be written \(.*/ro is not "
                               r"writable\); choose another directory\.")


def test_a_file_system_made_read_only_mid_run_keeps_what_finished(tmp_path, capsys,
                                                                   monkeypatch):
    """EROFS while saving the second unit, as a remount read-only raises it."""
    real = Path.write_bytes
    saved = []

    def write_bytes(self, data):
        if "/units/" in str(self) and ".tmp" in self.name:
            if saved:
                raise OSError(errno.EROFS, "Read-only file system", str(self))
            saved.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code, err = _run([*QUICK, "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 2
    assert re.fullmatch(r"error: cannot write .*random_0001\.json \(Read-only file system\); "
                        r"make its directory writable or choose another place\. The finished "
                        r"units are kept in .*; run the same command again to go on\.",
                        err.splitlines()[-1]), err
    assert len(list((tmp_path / "out").glob("runs/*/units/[!.]*.json"))) == 1
