from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from utils import atomic_io
from utils.atomic_io import (
    ReplaceError,
    to_json_compatible,
    write_atomic,
    write_json_atomic,
    write_text_atomic,
)


def _only(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_write_text_atomic_writes_bytes_exactly_and_creates_parents(tmp_path):
    target = tmp_path / "a" / "b" / "note.txt"
    assert write_text_atomic(target, "é\nline\n") == target
    assert target.read_bytes() == "é\nline\n".encode()
    assert _only(target.parent) == ["note.txt"]


def test_failing_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "record.json"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half a fi")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_atomic(target, broken)
    assert target.read_text() == "old"
    assert _only(tmp_path) == ["record.json"]


def test_failing_replace_raises_replace_error_and_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text("old")

    def locked(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(atomic_io.os, "replace", locked)
    with pytest.raises(ReplaceError) as caught:
        write_text_atomic(target, "new")
    assert isinstance(caught.value.__cause__, PermissionError)
    assert caught.value.filename == str(target)
    assert target.read_text() == "old"
    assert _only(tmp_path) == ["record.json"]


def test_temporary_path_is_beside_target_with_same_suffix(tmp_path):
    target = tmp_path / "results_summary_100_50.xlsx"
    first, second = atomic_io.temporary_path(target), atomic_io.temporary_path(target)
    assert first.parent == tmp_path
    assert first.suffix == ".xlsx"
    assert str(os.getpid()) in first.name
    assert first != second


def test_write_json_atomic_writes_non_finite_as_null(tmp_path):
    record = {
        "sampler": "tpe",
        "val_mse": np.float64(np.nan),
        "seconds": [1.5, np.inf, -np.inf],
        "weights": np.array([1.0, np.nan]),
        "n_trials": np.int64(100),
        "pair": (0.5, 0.25),
        "status": None,
    }
    target = write_json_atomic(tmp_path / "unit.json", record)
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert "NaN" not in text
    assert "Infinity" not in text
    assert json.loads(text) == {
        "sampler": "tpe",
        "val_mse": None,
        "seconds": [1.5, None, None],
        "weights": [1.0, None],
        "n_trials": 100,
        "pair": [0.5, 0.25],
        "status": None,
    }


def test_write_json_atomic_rejects_unknown_types_and_writes_nothing(tmp_path):
    target = tmp_path / "unit.json"
    with pytest.raises(TypeError):
        write_json_atomic(target, {"when": object()})
    assert _only(tmp_path) == []


def test_to_json_compatible_keeps_finite_values():
    assert to_json_compatible({"a": [1, 2.5, True, "x"]}) == {"a": [1, 2.5, True, "x"]}
