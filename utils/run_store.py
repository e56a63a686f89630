"""A run directory: one JSON file per finished (sampler, simulation) unit.

Every unit is written atomically the moment it finishes, so a run that is stopped
(Ctrl-C, SIGKILL, a laptop going to sleep) loses at most the units still running.
The directory is keyed by the settings that decide a unit's result, so runs with
other settings never mix into it, while the number of simulations and the list of
samplers are free: ``--simulations 50`` after ``--simulations 5`` reuses the 5.

Layout::

    runs/{dataset}_{key}/run.json                 the settings behind the key
    runs/{dataset}_{key}/units/{sampler}_{i:04d}.json
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

from utils.atomic_io import write_json_atomic
from utils.errors import InputError


def run_key(settings: dict[str, Any]) -> str:
    """12 hex digits identifying ``settings`` (a JSON-serialisable mapping)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (identifies a user's CSV table by content)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RunStore:
    """The finished units of one run, on disk.

    Parameters
    ----------
    root : Path
        The directory holding all runs (``{output_dir}/runs``).
    label : str
        Readable prefix of the run directory (the data set's name).
    settings : dict
        The settings that decide every unit's result; hashed into the directory name
        and stored in ``run.json``.
    """

    def __init__(self, root: Path, label: str, settings: dict[str, Any]) -> None:
        self.settings = dict(settings)
        safe_label = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "run"
        self.directory = Path(root) / f"{safe_label}_{run_key(self.settings)}"
        self.units_directory = self.directory / "units"
        self.corrupt: list[Path] = []

    def open(self, *, fresh: bool = False) -> RunStore:
        """Create the directory (emptied first with ``fresh``) and check its settings."""
        if fresh and self.directory.exists():
            shutil.rmtree(self.directory)
        try:
            self.units_directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"cannot create the run directory {self.directory} ({error.strerror}); "
                "choose another --output-dir."
            ) from None
        marker = self.directory / "run.json"
        if marker.exists():
            stored = json.loads(marker.read_text())
            if stored != json.loads(json.dumps(self.settings)):
                raise InputError(
                    f"{self.directory} holds a run with other settings; run again with --fresh "
                    "to replace it, or choose another --output-dir."
                )
        else:
            write_json_atomic(marker, self.settings)
        return self

    def unit_path(self, sampler: str, simulation: int) -> Path:
        return self.units_directory / f"{sampler}_{simulation:04d}.json"

    def has(self, sampler: str, simulation: int) -> bool:
        """True if a file for the unit exists (it may still turn out unreadable)."""
        return self.unit_path(sampler, simulation).exists()

    def load(self, sampler: str, simulation: int) -> dict[str, Any] | None:
        """The stored unit, or None if it is not finished (or its file is unreadable).

        An unreadable file (cut short by a crash outside the atomic write, edited by
        hand) is listed in ``corrupt`` and the unit is computed again.
        """
        path = self.unit_path(sampler, simulation)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            self.corrupt.append(path)
            return None

    def save(self, sampler: str, simulation: int, payload: dict[str, Any]) -> Path:
        """Write one finished unit atomically."""
        return write_json_atomic(self.unit_path(sampler, simulation), payload)
