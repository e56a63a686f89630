"""Atomic file writes: a crash or an error leaves the old file or the new one, never half.

Every writer here writes to a temporary file beside the target (same directory, so the
same file system), flushes it to disk with ``fsync`` and moves it over the target with
``os.replace``. On any failure the temporary file is removed and the target is left as
it was. Nothing here uses pickle.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ReplaceError",
    "temporary_path",
    "to_json_compatible",
    "write_atomic",
    "write_json_atomic",
    "write_text_atomic",
]


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
    ReplaceError
        When the temporary file was written but could not replace the target (the
        target is open in another program or not writable). The target is unchanged and
        the temporary file removed.
    Exception
        Whatever `write` raises, unchanged; the target is unchanged and the temporary
        file removed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(target)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, target)
        except OSError as error:
            raise ReplaceError(error.errno, error.strerror, str(target)) from error
        _fsync_directory(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return target


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
