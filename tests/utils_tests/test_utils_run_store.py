"""The run store: unit files that prove themselves, and claims that runs share."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from utils import atomic_io, run_store
from utils.errors import RunWarning
from utils.run_store import RunStore, UnitClaims, content_checksum, settings_digest

ROOT = Path(__file__).resolve().parents[2]


def _store(tmp_path, **settings) -> RunStore:
    return RunStore(tmp_path / "runs", "data", {"seed": 1, **settings}).open()


def test_a_saved_unit_carries_its_key_and_a_checksum_of_its_content(tmp_path):
    store = _store(tmp_path)
    path = store.save("tpe", 3, 77, {"record": {"val_mse": 2.5, "nan": float("nan")}})
    envelope = json.loads(path.read_text())
    assert envelope["key"] == {"settings": settings_digest({"seed": 1}), "sampler": "tpe",
                               "simulation": 3, "seed": 77}
    # the checksum is SHA-256 of the canonical JSON of key and content, computed here
    # independently of the module
    import hashlib

    canonical = json.dumps({"key": envelope["key"], "unit": envelope["unit"]},
                           sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert envelope["checksum"] == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert envelope["unit"] == {"record": {"val_mse": 2.5, "nan": None}}
    assert store.load("tpe", 3, 77) == {"record": {"val_mse": 2.5, "nan": None}}
    assert store.has("tpe", 3)
    assert store.has("tpe", 3, 77)
    assert not store.has("tpe", 3, 78)


def test_the_key_and_the_directory_change_with_any_setting(tmp_path):
    first, second = _store(tmp_path), _store(tmp_path, trials=2)
    assert first.directory != second.directory
    second_unit = second.save("tpe", 0, 5, {"x": 1})
    first.units_directory.mkdir(parents=True, exist_ok=True)
    os.replace(second_unit, first.unit_path("tpe", 0))
    with pytest.warns(RunWarning, match="belongs to a run with other settings"):
        assert first.load("tpe", 0, 5) is None


def test_a_checksum_that_does_not_match_is_refused_and_the_file_kept(tmp_path):
    store = _store(tmp_path)
    path = store.save("qmc", 1, 9, {"val_mse": 1.0})
    path.write_text(path.read_text().replace("1.0", "0.5"))
    with pytest.warns(RunWarning, match=r"does not match its checksum"):
        assert store.load("qmc", 1, 9) is None
    assert not path.exists()
    (kept,) = store.rejected_directory.iterdir()
    assert json.loads(kept.read_text())["unit"] == {"val_mse": 0.5}
    assert store.corrupt == [path]


def test_the_schema_check_decides_last(tmp_path):
    store = _store(tmp_path)
    store.save("qmc", 1, 9, {"val_mse": "high"})

    def check(payload):
        if not isinstance(payload["val_mse"], float):
            raise ValueError("val_mse is not a number")
        return payload

    with pytest.warns(RunWarning, match=r"does not have a unit's layout \(val_mse is not a "
                      r"number\); that unit is computed again"):
        assert store.load("qmc", 1, 9, check=check) is None


def test_canonical_content_ignores_layout_but_not_values():
    assert content_checksum({"a": 1, "b": [1.5]}) == content_checksum({"b": [1.5], "a": 1})
    assert content_checksum({"a": 1}) != content_checksum({"a": 1.0000000001})


def test_two_claims_on_one_unit_exclude_each_other_until_released(tmp_path):
    first, second = UnitClaims(tmp_path), UnitClaims(tmp_path)
    assert first.try_claim("tpe_0001")
    assert not second.try_claim("tpe_0001")
    assert second.try_claim("tpe_0002")
    assert second.holder("tpe_0001") == f"pid {os.getpid()} on {os.uname().nodename}"
    first.release("tpe_0001")
    assert second.try_claim("tpe_0001")


def test_a_claim_dies_with_its_process(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); "
            "from utils.run_store import UnitClaims; "
            "assert UnitClaims(sys.argv[2]).try_claim('u'); print('held', flush=True); "
            "time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert not UnitClaims(tmp_path).try_claim("u")
    finally:
        holder.kill()
        holder.wait()
    assert UnitClaims(tmp_path).try_claim("u")  # SIGKILL released it


def test_pruning_never_lets_two_runs_hold_one_unit(tmp_path):
    holder, pruner, late = UnitClaims(tmp_path), UnitClaims(tmp_path), UnitClaims(tmp_path)
    assert holder.try_claim("u")
    pruner.prune()  # held: not removed
    assert (tmp_path / "u.lock").exists()
    holder.release("u")
    pruner.prune()
    assert not (tmp_path / "u.lock").exists()
    assert late.try_claim("u")
    assert not UnitClaims(tmp_path).try_claim("u")


def test_a_lock_file_removed_while_claiming_is_claimed_again(tmp_path, monkeypatch):
    """The race `prune` could cause: the file is removed between open and flock."""
    real_flock = run_store.fcntl.flock
    removed = []

    def flock(descriptor, operation):
        if not removed:  # another run prunes the file just now
            removed.append(True)
            (tmp_path / "u.lock").unlink()
        return real_flock(descriptor, operation)

    monkeypatch.setattr(run_store.fcntl, "flock", flock)
    claims = UnitClaims(tmp_path)
    assert claims.try_claim("u")
    (descriptor,) = claims._held.values()
    assert os.fstat(descriptor).st_ino == os.stat(tmp_path / "u.lock").st_ino
    monkeypatch.setattr(run_store.fcntl, "flock", real_flock)
    assert not UnitClaims(tmp_path).try_claim("u")  # the claim is on the file at the path


def test_stale_temporary_files(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = time.time()
    names = {
        f".unit.json.{dead.pid}.0123abcd.tmp.json": (now - 120, True),  # dead writer, old
        f".unit.json.{dead.pid}.0123abcd.tmp.jsox": (now - 120, True),
        f".unit.json.{dead.pid}.fedcba98.tmp.json": (now - 10, False),  # dead, but recent
        f".unit.json.{os.getppid()}.0123abcd.tmp.json": (now - 120, False),  # writer alive
        f".unit.json.{os.getppid()}.aaaabbbb.tmp.json": (now - 2 * 86400, True),  # ancient
        f".train.{dead.pid}.tmp.csv": (now - 120, True),  # the old download name
        "unit.json": (now - 3 * 86400, False),  # not a temporary file
    }
    for name, (mtime, _) in names.items():
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (mtime, mtime))
    removed = atomic_io.remove_stale_temporaries(tmp_path, now=now)
    assert sorted(p.name for p in removed) == sorted(n for n, (_, gone) in names.items()
                                                     if gone)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        n for n, (_, gone) in names.items() if not gone)
