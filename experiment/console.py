"""How the command line talks: every warning and error on one line of stderr.

``one_line_faults`` wraps the command line's ``main``: each `utils.errors.RunWarning`
is printed as ``warning: ...`` on one line (other warnings as Python prints them), and
SIGTERM stops a run as Ctrl-C does (the finished units are kept, one line says so),
instead of killing it without a word. Once interrupted, logging is switched off: Optuna
would otherwise log the interrupted trial with a traceback before the one line.
"""

from __future__ import annotations

import functools
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from utils.errors import RunWarning

_F = TypeVar("_F", bound=Callable[..., Any])


def one_line(text: object) -> str:
    """``text`` on one line: line breaks (a hostile file name may hold them) escaped."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def one_line_faults(main: _F) -> _F:
    """Decorate ``main`` so that run warnings print on one line and SIGTERM interrupts."""

    @functools.wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("always", RunWarning)
            python_show = warnings.showwarning

            def show(message, category, filename, lineno, file=None, line=None):
                if issubclass(category, RunWarning):
                    print(f"warning: {one_line(message)}", file=sys.stderr, flush=True)
                else:
                    python_show(message, category, filename, lineno, file, line)

            warnings.showwarning = show
            previous = _interrupt_quietly()
            try:
                return main(*args, **kwargs)
            finally:
                for number, handler in previous.items():
                    signal.signal(number, handler)
                logging.disable(logging.NOTSET)

    return wrapper  # type: ignore[return-value]


def _interrupt_quietly() -> dict[int, Any]:
    """SIGINT and SIGTERM raise KeyboardInterrupt with logging off (main thread only).

    Returns the previous handlers, by signal number, to put back.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum, frame):
        logging.disable(logging.CRITICAL)
        raise KeyboardInterrupt

    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) in (signal.default_int_handler, signal.SIG_DFL):
            previous[number] = signal.signal(number, interrupt)
    return previous
