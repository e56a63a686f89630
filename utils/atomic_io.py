"""Atomic file writes: a crash or an error leaves the old file or the new one, never half.

Every writer here writes to a temporary file beside the target (same directory, so the
same file system), flushes it to disk with ``fsync`` and moves it over the target with
``os.replace``. On any failure the temporary file is removed and the target is left as
it was. Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "BlockedPathError",
    "DiskFullError",
    "ReplaceError",
    "WriteError",
    "as_write_error",
    "check_writable_target",
    "remove_stale_temporaries",
    "temporary_path",
    "to_json_compatible",
    "write_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


class WriteError(OSError):
    """A file could not be written for a reason outside the program.

    A full disk (`DiskFullError`), a directory or a file in the way (`BlockedPathError`),
    a read-only file system, a permission taken away during the run. ``str(error)`` is
    one line saying which file and what to do; ``errno`` and ``filename`` are kept and
    the original ``OSError`` is chained as ``__cause__``. Nothing was changed: the
    target is as it was and the temporary file removed.
    """

    def __str__(self) -> str:
        return str(self.strerror)


class DiskFullError(WriteError):
    """No space (or quota) left on the device of the file being written."""


class BlockedPathError(WriteError):
    """The target is a directory, or one of its parent directories is a file."""


#: errno values that mean "the device is full" (EDQUOT: the user's quota).
_DISK_FULL = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG) if code
)
#: errno values of other faults outside the program, reported as `WriteError`.
_NOT_WRITABLE = frozenset((errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO))


def as_write_error(error: OSError, target: Path) -> WriteError | None:
    """The `WriteError` that explains ``error`` while writing ``target``, if it is one.

    Parameters
    ----------
    error : OSError
        Raised while creating or writing ``target``.
    target : Path
        The file being written.

    Returns
    -------
    WriteError or None
        `DiskFullError` for a full device or quota, `BlockedPathError` for a file or a
        directory in the way, `WriteError` for a read-only file system, a permission
        refused or an input/output error; None for anything else (the caller re-raises
        ``error``).
    """
    if error.errno in (errno.EEXIST, errno.ENOTDIR, errno.EISDIR):
        return BlockedPathError(
            error.errno, f"cannot write {target}: a file or a directory is in the way "
            f"({error.strerror}: {error.filename}); remove or rename it", str(target),
        )
    if error.errno in _DISK_FULL:
        return DiskFullError(
            error.errno,
            f"cannot write {target}: no space left on its device ({error.strerror}); free "
            "some space and try again",
            str(target),
        )
    if error.errno in _NOT_WRITABLE:
        return WriteError(
            error.errno, f"cannot write {target} ({error.strerror}); make its directory "
            "writable or choose another place", str(target),
        )
    return None


def check_writable_target(path: str | os.PathLike[str]) -> Path:
    """Raise `BlockedPathError` if a file cannot be written at ``path`` because of what is there.

    Parameters
    ----------
    path : str or os.PathLike
        A file about to be written (it need not exist, nor its parent directories).

    Returns
    -------
    path : Path

    Raises
    ------
    BlockedPathError
        If ``path`` is a directory, or an existing ancestor of it is not a directory.
    """
    target = Path(path)
    if target.is_dir():
        raise BlockedPathError(
            errno.EISDIR, f"cannot write {target}: it is a directory; remove or rename it "
            "(or choose another --output-dir)", str(target),
        )
    for parent in target.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise BlockedPathError(
                    errno.ENOTDIR, f"cannot write {target}: {parent} is a file, not a "
                    "directory; remove or rename it (or choose another --output-dir)",
                    str(target),
                )
            break
    return target


class ReplaceError(OSError):
    """The finished temporary file could not be moved over the target.

    Typically the target is open in another program (Excel locks the files it has open
    on Windows) or is not writable. The original ``OSError`` is chained as
    ``__cause__`` and its ``errno``, ``strerror`` and ``filename`` are copied.
    """


def temporary_path(path: Path) -> Path:
    """Name of a fresh temporary file beside `path`, keeping its suffix.

    Parameters
    ----------
    path : Path
        The target file.

    Returns
    -------
    tmp : Path
        ``.{name}.{pid}.{random hex}.tmp{suffix}`` in the same directory: hidden on
        POSIX, unique per process and call, and with the target's suffix so writers
        that choose a format from it (pandas, matplotlib) still do.
    """
    token = secrets.token_hex(4)
    return path.with_name(f".{path.name}.{os.getpid()}.{token}.tmp{path.suffix}")


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Write a file atomically through a callable that writes to a given path.

    Parameters
    ----------
    path : str or os.PathLike
        The target file. Its parent directories are created if needed.
    write : callable taking a Path
        Writes the complete content to the path it is given, e.g.
        ``lambda tmp: frame.to_csv(tmp)``. It must create that file.

    Returns
    -------
    path : Path
        The target, now holding the new content.

    Raises
    ------
    BlockedPathError
        When the target is a directory or a parent of it is a file (nothing written).
    DiskFullError
        When the device is full (or the quota used up); the target is unchanged and the
        temporary file removed.
    WriteError
        When the file system is read-only or the directory not writable, likewise.
    ReplaceError
        When the temporary file was written but could not replace the target (the
        target is open in another program or not writable). The target is unchanged and
        the temporary file removed.
    Exception
        Whatever `write` raises, unchanged; the target is unchanged and the temporary
        file removed.
    """
    target = check_writable_target(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        explained = as_write_error(error, target)
        if explained is None:
            raise
        raise explained from error
    tmp = temporary_path(target)
    try:
        try:
            write(tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        except OSError as error:
            explained = as_write_error(error, target)
            if explained is None:
                raise
            raise explained from error
        try:
            os.replace(tmp, target)
        except OSError as error:
            raise ReplaceError(error.errno, error.strerror, str(target)) from error
        _fsync_directory(target.parent)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return target


#: ``temporary_path``'s names (and the older ``.{stem}.{pid}.tmp{suffix}`` of downloads).
_TEMPORARY_NAME = re.compile(
    r"^\.(?P<name>.+)\.(?P<pid>\d+)(?:\.(?P<token>[0-9a-f]{8}))?\.tmp(?P<suffix>\.[^./]*)?$"
)
#: A temporary file whose writer is gone is stale after this many seconds (a writer on
#: another machine sharing the directory cannot be seen; its writes take seconds).
STALE_AFTER_SECONDS = 60.0
#: Any temporary file older than this is stale, whoever wrote it.
ALWAYS_STALE_AFTER_SECONDS = 24 * 3600.0


def remove_stale_temporaries(
    directory: str | os.PathLike[str], *, now: float | None = None
) -> list[Path]:
    """Remove the temporary files that killed writers left in ``directory``.

    A temporary file (named by `temporary_path`) is stale when the process that wrote it
    no longer runs on this machine and it is older than `STALE_AFTER_SECONDS`, or when
    it is older than `ALWAYS_STALE_AFTER_SECONDS`. Live writers' files are left alone,
    so runs sharing the directory are safe. Only files directly in ``directory``.

    Parameters
    ----------
    directory : str or os.PathLike
        A directory that atomic writes go to (missing: nothing to do).
    now : float, optional
        The current time (``time.time()``), for tests.

    Returns
    -------
    removed : list of Path
    """
    folder = Path(directory)
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY_NAME.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.lstat()
        except OSError:
            continue
        age = now - info.st_mtime
        pid = int(match["pid"])
        gone = pid != os.getpid() and not _process_alive(pid)
        if (gone and age > STALE_AFTER_SECONDS) or age > ALWAYS_STALE_AFTER_SECONDS:
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _process_alive(pid: int) -> bool:
    """True if a process ``pid`` runs on this machine (or it cannot be told: Windows)."""
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True


def _fsync_directory(directory: Path) -> None:
    """Make a rename in `directory` durable where the platform allows it (POSIX)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    # Some file systems refuse fsync on a directory; the rename itself already happened.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Write a string to a file atomically, byte for byte (no newline translation).

    Parameters
    ----------
    path : str or os.PathLike
        The target file.
    text : str
        The complete content; ``"\\n"`` stays ``"\\n"`` on every platform.
    encoding : str, default "utf-8"

    Returns
    -------
    path : Path
        The target.
    """
    data = text.encode(encoding)
    return write_atomic(path, lambda tmp: tmp.write_bytes(data))


def to_json_compatible(obj: Any) -> Any:
    """Copy of `obj` that ``json.dumps(..., allow_nan=False)`` accepts.

    Parameters
    ----------
    obj : Any
        Nested dicts, lists and tuples of str, int, float, bool, None, numpy scalars and
        numpy arrays.

    Returns
    -------
    obj : Any
        The same structure with tuples and arrays as lists, numpy scalars as Python
        scalars, and every non-finite float (nan, inf, -inf) as None, which JSON writes
        as ``null``. Other types are returned unchanged (``json.dumps`` then rejects
        them, as it should).
    """
    if isinstance(obj, dict):
        return {key: to_json_compatible(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json_compatible(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return [to_json_compatible(value) for value in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write `obj` as strict JSON (UTF-8, indented, final newline) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The target file.
    obj : Any
        See `to_json_compatible`. Non-finite floats are written as ``null``: strict JSON
        has no nan or inf, and every JSON reader accepts ``null``. Readers turn ``null``
        back into nan where a number is expected (the sign of an infinity is lost; losses
        and times are never legitimately infinite).
    indent : int, default 2

    Returns
    -------
    path : Path
        The target.

    Raises
    ------
    TypeError
        When `obj` holds something JSON cannot represent; nothing is written then.
    """
    text = json.dumps(to_json_compatible(obj), indent=indent, allow_nan=False, ensure_ascii=False)
    return write_text_atomic(path, text + "\n")
