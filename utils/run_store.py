"""A run directory: one self-checking JSON file per finished (sampler, simulation) unit.

Every unit is written atomically the moment it finishes, so a run that is stopped
(Ctrl-C, SIGKILL, a laptop going to sleep) loses at most the units still running.
The directory is keyed by the settings that decide a unit's result, so runs with
other settings never mix into it, while the number of simulations and the list of
samplers are free: ``--simulations 50`` after ``--simulations 5`` reuses the 5.

Nothing on disk is trusted unchecked. Each unit file carries its key (the digest of
the run's settings, the sampler, the simulation and its seed) and a SHA-256 checksum
of its content; a file whose key or checksum does not match, that cannot be read, or
that the caller's schema check refuses is *set aside* (moved to ``rejected/``, never
deleted), reported in one line (a `utils.errors.RunWarning`) and computed again.

Runs with the same settings may share the directory at the same time: a run computes a
unit only while it holds the unit's claim (an exclusive ``flock`` on
``claims/{unit}.lock``, released by the operating system if the run dies), so no unit
is computed twice; the other runs wait for it. Temporary files of killed writes are
removed when the directory is opened.

Layout::

    runs/{dataset}_{key}/run.json                 the settings behind the key
    runs/{dataset}_{key}/units/{sampler}_{i:04d}.json
    runs/{dataset}_{key}/claims/{sampler}_{i:04d}.lock
    runs/{dataset}_{key}/{name}.json               documents of the run (`save_document`)
    runs/{dataset}_{key}/rejected/                files that failed their checks
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utils.atomic_io import (
    as_write_error,
    remove_stale_temporaries,
    to_json_compatible,
    write_json_atomic,
)
from utils.errors import InputError, RunWarning

try:  # POSIX; elsewhere runs sharing a directory are not coordinated (see UnitClaims)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The ``format`` field of every unit file this module writes.
UNIT_FORMAT = "hyper-local-tuning unit 1"
#: Larger files in a run directory are not read (a unit is a few KiB to a few MiB).
MAX_FILE_BYTES = 256 << 20


def canonical_json(obj: Any) -> str:
    """The one JSON text of ``obj``: sorted keys, no spaces, non-finite floats as null."""
    return json.dumps(to_json_compatible(obj), sort_keys=True, separators=(",", ":"),
                      allow_nan=False, ensure_ascii=False)


def settings_digest(settings: dict[str, Any]) -> str:
    """SHA-256 (64 hex digits) of ``settings`` (a JSON-serialisable mapping)."""
    return hashlib.sha256(canonical_json(settings).encode()).hexdigest()


def run_key(settings: dict[str, Any]) -> str:
    """12 hex digits identifying ``settings`` (the start of `settings_digest`)."""
    return settings_digest(settings)[:12]


def content_checksum(obj: Any) -> str:
    """``"sha256:"`` and the SHA-256 of ``obj``'s canonical JSON (see `canonical_json`)."""
    return "sha256:" + hashlib.sha256(canonical_json(obj).encode()).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (identifies a user's CSV table by content)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SetAside:
    """A file that failed its checks, moved out of the way."""

    path: Path
    moved_to: Path
    reason: str

    @property
    def message(self) -> str:
        """One line for the user."""
        return f"{self.path} {self.reason}; moved to {self.moved_to}"


class UnitClaims:
    """Exclusive claims on units, shared by every run that opens the same directory.

    A claim is an exclusive, non-blocking ``flock`` on ``{directory}/{name}.lock``, held
    through an open file descriptor: the operating system releases it when the run
    releases it, exits or is killed, so a claim never outlives its run. A lock file holds
    its claimant's pid and host (for messages); `prune` removes the lock files no one
    holds. A claim counts only if the locked file is still the one at the path (a lock
    taken on a file another run has just removed is retried), so removing lock files is
    safe while other runs work. Without ``fcntl`` (Windows) every claim succeeds: runs
    sharing a directory there are not coordinated.

    Parameters
    ----------
    directory : Path
        Where the lock files live.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._held: dict[str, int] = {}

    def try_claim(self, name: str) -> bool:
        """Claim ``name``; False if another live run holds it."""
        if name in self._held:
            return True
        if fcntl is None:  # pragma: no cover - Windows
            self._held[name] = -1
            return True
        lock = self.directory / f"{name}.lock"
        while True:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                explained = as_write_error(error, lock)
                if explained is None:
                    raise
                raise explained from error
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(descriptor)
                return False
            if _same_file(descriptor, lock):
                break
            os.close(descriptor)  # locked a file `prune` removed meanwhile: once more
        with contextlib.suppress(OSError):  # the content is informational (a full disk)
            os.ftruncate(descriptor, 0)
            os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._held[name] = descriptor
        return True

    def holder(self, name: str) -> str:
        """Who holds (or last held) the claim, e.g. ``"pid 123 on host"``."""
        try:
            text = (self.directory / f"{name}.lock").read_text(errors="replace").strip()
        except OSError:
            text = ""
        return text or "another run"

    def release(self, name: str) -> None:
        """Give up the claim on ``name`` (nothing if not held)."""
        descriptor = self._held.pop(name, None)
        if descriptor is not None and descriptor >= 0:
            os.close(descriptor)

    def release_all(self) -> None:
        """Give up every claim this object holds."""
        for name in list(self._held):
            self.release(name)

    def held(self) -> list[str]:
        """Names claimed and not yet released."""
        return list(self._held)

    def any_held_elsewhere(self) -> str | None:
        """The holder of some claim that another live run holds, or None."""
        if fcntl is None or not self.directory.is_dir():  # pragma: no cover - Windows
            return None
        for lock in sorted(self.directory.glob("*.lock")):
            name = lock.name[: -len(".lock")]
            if name in self._held:
                continue
            if not self.try_claim(name):
                return self.holder(name)
            self.release(name)
        return None

    def prune(self) -> None:
        """Remove the lock files that no run holds (each claimed, removed, released)."""
        if fcntl is None or not self.directory.is_dir():  # pragma: no cover - Windows
            return
        for lock in self.directory.glob("*.lock"):
            name = lock.name[: -len(".lock")]
            if name in self._held or not self.try_claim(name):
                continue
            with contextlib.suppress(OSError):
                lock.unlink()
            self.release(name)


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
        and into every unit's key, and stored in ``run.json``.
    """

    def __init__(self, root: Path, label: str, settings: dict[str, Any]) -> None:
        self.settings = dict(settings)
        self.digest = settings_digest(self.settings)
        safe_label = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-") or "run"
        self.directory = Path(root) / f"{safe_label}_{self.digest[:12]}"
        self.units_directory = self.directory / "units"
        self.rejected_directory = self.directory / "rejected"
        self.claims = UnitClaims(self.directory / "claims")
        #: Unit files found unreadable or inconsistent (their original paths).
        self.corrupt: list[Path] = []
        #: Every file set aside, with why.
        self.set_aside: list[SetAside] = []

    def open(self, *, fresh: bool = False) -> RunStore:
        """Create the directory (emptied first with ``fresh``) and check its settings.

        A ``run.json`` that cannot be read or does not belong to this directory's key
        (edited, cut short, replaced by a directory) is set aside and written again; the
        units carry their own keys, so they stay usable. Stale temporary files of
        killed writes are removed.

        Raises
        ------
        InputError
            If the directory cannot be created, ``fresh`` is asked while another run
            computes in it, or ``run.json`` holds other settings with this key.
        """
        if fresh and self.directory.exists():
            busy = self.claims.any_held_elsewhere()
            if busy is not None:
                raise InputError(
                    f"another run ({busy}) is computing in {self.directory}; wait for it "
                    "to finish (or stop it) before running with --fresh."
                )
            shutil.rmtree(self.directory)
        try:
            self.units_directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InputError(
                f"cannot create the run directory {self.directory} ({error.strerror}); "
                "choose another --output-dir."
            ) from None
        for folder in (self.directory, self.units_directory):
            remove_stale_temporaries(folder)
        marker = self.directory / "run.json"
        stored = self._read_marker(marker)
        if stored is None:
            write_json_atomic(marker, self.settings)
        elif stored != json.loads(canonical_json(self.settings)):
            raise InputError(
                f"{self.directory} holds a run with other settings; run again with --fresh "
                "to replace it, or choose another --output-dir."
            )
        return self

    def _read_marker(self, marker: Path) -> dict | None:
        """The stored settings, or None when there are none (set aside if untrustworthy)."""
        if not (marker.exists() or marker.is_symlink()):
            return None
        reason = None
        try:
            stored = _read_json(marker)
        except IsADirectoryError:
            reason = "is a directory, not the run's settings"
        except (OSError, ValueError) as error:
            reason = f"could not be read ({_first_line(error)})"
        else:
            if not isinstance(stored, dict) or settings_digest(stored)[:12] != self.digest[:12]:
                reason = "does not hold this run directory's settings"
            else:
                return stored
        self._set_aside(marker, reason)
        return None

    def unit_name(self, sampler: str, simulation: int) -> str:
        """``{sampler}_{simulation:04d}``, the stem of the unit's file."""
        return f"{sampler}_{simulation:04d}"

    def unit_path(self, sampler: str, simulation: int) -> Path:
        return self.units_directory / f"{self.unit_name(sampler, simulation)}.json"

    def unit_key(self, sampler: str, simulation: int, seed: int) -> dict[str, Any]:
        """What a unit file must say it is: settings digest, sampler, simulation, seed."""
        return {"settings": self.digest, "sampler": sampler, "simulation": int(simulation),
                "seed": int(seed)}

    def has(self, sampler: str, simulation: int, seed: int | None = None) -> bool:
        """True if the unit's file exists and its key and checksum check out.

        Nothing is set aside here (`load` does that); the caller's schema check is not
        applied, so a file can still be refused by `load`.
        """
        try:
            envelope = _read_json(self.unit_path(sampler, simulation))
        except (OSError, ValueError):
            return False
        return _envelope_problem(envelope, self._partial_key(sampler, simulation, seed)) is None

    def load(
        self,
        sampler: str,
        simulation: int,
        seed: int,
        *,
        check: Callable[[dict[str, Any]], Any] | None = None,
    ) -> Any:
        """The stored unit, or None if it is not finished or its file fails a check.

        Parameters
        ----------
        sampler : str
        simulation : int
        seed : int
            The unit's seed: part of the key the file must carry.
        check : callable, optional
            Called with the stored payload; returns what `load` returns (e.g. the
            parsed unit) or raises ValueError (or KeyError, TypeError) saying what is
            wrong. Default: the payload itself.

        Returns
        -------
        unit : object or None
            None if there is no file, or if the file was set aside (unreadable, another
            unit's key, a wrong checksum, refused by ``check``): it is listed in
            ``corrupt`` and ``set_aside``, a `RunWarning` says so, and the unit must be
            computed again.
        """
        path = self.unit_path(sampler, simulation)
        if not (path.exists() or path.is_symlink()):
            return None
        try:
            envelope = _read_json(path)
        except IsADirectoryError:
            return self._reject(path, "is a directory, not a unit file")
        except (OSError, ValueError) as error:
            return self._reject(path, f"could not be read ({_first_line(error)})")
        problem = _envelope_problem(envelope, self.unit_key(sampler, simulation, seed))
        if problem is not None:
            return self._reject(path, problem)
        try:
            return envelope["unit"] if check is None else check(envelope["unit"])
        except (ValueError, KeyError, TypeError) as error:
            return self._reject(path, f"does not have a unit's layout ({_first_line(error)})")

    def save(self, sampler: str, simulation: int, seed: int, payload: dict[str, Any]) -> Path:
        """Write one finished unit atomically, with its key and checksum."""
        key = self.unit_key(sampler, simulation, seed)
        unit = to_json_compatible(payload)
        envelope = {"format": UNIT_FORMAT, "key": key,
                    "checksum": content_checksum({"key": key, "unit": unit}), "unit": unit}
        return write_json_atomic(self.unit_path(sampler, simulation), envelope)

    def document_path(self, name: str) -> Path:
        return self.directory / f"{name}.json"

    def save_document(self, name: str, payload: Any) -> Path:
        """Write a document of the run (e.g. the validation grid) with key and checksum."""
        key = {"settings": self.digest, "document": name}
        content = to_json_compatible(payload)
        envelope = {"format": UNIT_FORMAT, "key": key,
                    "checksum": content_checksum({"key": key, "unit": content}),
                    "unit": content}
        return write_json_atomic(self.document_path(name), envelope)

    def load_document(self, name: str, *, check: Callable[[Any], Any] | None = None) -> Any:
        """A document `save_document` wrote, or None (missing, or set aside as in `load`)."""
        path = self.document_path(name)
        if not (path.exists() or path.is_symlink()):
            return None
        try:
            envelope = _read_json(path)
        except IsADirectoryError:
            return self._reject(path, "is a directory, not a document", unit=False)
        except (OSError, ValueError) as error:
            return self._reject(path, f"could not be read ({_first_line(error)})", unit=False)
        key = {"settings": self.digest, "document": name}
        problem = _envelope_problem(envelope, key)
        if problem is not None:
            return self._reject(path, problem, unit=False)
        try:
            return envelope["unit"] if check is None else check(envelope["unit"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return self._reject(path, f"does not have the layout of a {name} "
                                f"({_first_line(error)})", unit=False)

    def claim(self, sampler: str, simulation: int) -> bool:
        """Claim the unit for this run (see `UnitClaims`); False if another run has it."""
        return self.claims.try_claim(self.unit_name(sampler, simulation))

    def release(self, sampler: str, simulation: int) -> None:
        """Give up this run's claim on the unit."""
        self.claims.release(self.unit_name(sampler, simulation))

    def holder(self, sampler: str, simulation: int) -> str:
        """Who holds the unit's claim (for messages)."""
        return self.claims.holder(self.unit_name(sampler, simulation))

    def close(self) -> None:
        """Release every claim and remove the lock files no run holds."""
        self.claims.release_all()
        self.claims.prune()

    def _partial_key(self, sampler: str, simulation: int, seed: int | None) -> dict[str, Any]:
        key = self.unit_key(sampler, simulation, 0 if seed is None else seed)
        if seed is None:
            del key["seed"]
        return key

    def _reject(self, path: Path, reason: str, *, unit: bool = True) -> None:
        self.corrupt.append(path)
        self._set_aside(path, reason + ("; that unit is computed again" if unit
                                        else "; it is computed again"))
        return None

    def _set_aside(self, path: Path, reason: str) -> None:
        """Move ``path`` to ``rejected/`` under a fresh name and say so in one line.

        If ``rejected/`` cannot be made (a file in its place), the file is renamed where
        it is (``{name}.rejected-{time}``); if it cannot be moved at all, InputError.
        """
        stamp = time.strftime("%Y%m%dT%H%M%S")
        try:
            self.rejected_directory.mkdir(parents=True, exist_ok=True)
            folder, pattern = self.rejected_directory, f"{path.stem}.{stamp}{{}}{path.suffix}"
        except OSError:
            folder, pattern = path.parent, f"{path.name}.rejected-{stamp}{{}}"
        for attempt in range(1000):
            moved_to = folder / pattern.format(f"-{attempt}" if attempt else "")
            if not (moved_to.exists() or moved_to.is_symlink()):
                break
        try:
            os.replace(path, moved_to)
        except FileNotFoundError:  # another run set it aside first
            return
        except OSError as error:
            raise InputError(
                f"{path} {reason}, and it cannot be moved out of the way ({error.strerror}); "
                "move or delete it yourself and run again."
            ) from None
        item = SetAside(path, moved_to, reason)
        self.set_aside.append(item)
        warnings.warn(RunWarning(item.message), stacklevel=3)


def _same_file(descriptor: int, path: Path) -> bool:
    """True if the open ``descriptor`` is the file now at ``path``."""
    try:
        here, there = os.fstat(descriptor), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _read_json(path: Path) -> Any:
    """Parse ``path``; OSError or ValueError (with a one-line reason) if it cannot be.

    Only regular files of at most `MAX_FILE_BYTES` are read: a pipe, a device or a link
    to one (``/dev/zero``) would block or never end.
    """
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")
    if not path.is_file():
        raise ValueError("not a regular file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"larger than {MAX_FILE_BYTES >> 20} MiB")
    return json.loads(path.read_text(encoding="utf-8"))


def _envelope_problem(envelope: Any, key: dict[str, Any]) -> str | None:
    """Why a parsed unit file is not the unit ``key`` names (None: it is)."""
    if not isinstance(envelope, dict) or envelope.get("format") != UNIT_FORMAT:
        return "is not a unit file of this program (no format field)"
    stored = envelope.get("key")
    if not isinstance(stored, dict) or "unit" not in envelope:
        return "has no key or no unit"
    checksum = content_checksum({"key": stored, "unit": envelope["unit"]})
    if envelope.get("checksum") != checksum:
        return "does not match its checksum (edited or damaged)"
    for field, expected in key.items():
        if stored.get(field) != expected:
            if field == "settings":
                return "belongs to a run with other settings"
            if "document" in key:
                return f"holds another document ({stored.get('document')})"
            return (f"holds another unit ({stored.get('sampler')} simulation "
                    f"{stored.get('simulation')}, seed {stored.get('seed')})")
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
