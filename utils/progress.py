"""Progress of a run on stderr: a live line on a terminal, a few plain lines elsewhere.

On a terminal the line is redrawn in place (carriage return) at most a few times a
second. When the stream is not a terminal (piped to a file, a CI log) there is no
carriage return at all: one plain line each time another ``every_percent`` of the units
is done, and one at the end. The ETA counts only the units computed in this run: units
loaded from an earlier run's store arrive in an instant and would make the run look
faster than it is.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """Seconds as "45s", "3m07s" or "2h05m" ("?" when not finite).

    Parameters
    ----------
    seconds : float
    """
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Counts finished units and reports them on a stream.

    Parameters
    ----------
    total : int
        Units of the run.
    label : str
        What is counted, e.g. "simulations".
    stream : text stream, optional
        Default ``sys.stderr``.
    enabled : bool
        False: report nothing.
    every_percent : float
        Off a terminal, a line each time this share of the units (in percent) is done.
    clock : callable () -> float
        Seconds (default ``time.monotonic``); for tests.
    min_redraw_seconds : float
        On a terminal, the least time between two redraws (the last one always shows).
    """

    def __init__(
        self,
        total: int,
        *,
        label: str = "units",
        stream: TextIO | None = None,
        enabled: bool = True,
        every_percent: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        min_redraw_seconds: float = 0.2,
    ) -> None:
        self.total, self.label = int(total), label
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and self.total > 0
        self.every_percent = every_percent
        self._clock, self._min_redraw = clock, min_redraw_seconds
        self.done = 0
        self.cached = 0
        self._computed = 0
        self._started = clock()
        # When this run began computing: after the last unit loaded from the store (they
        # are all loaded before any computing starts).
        self._computing_since = self._started
        self._last_draw = -math.inf
        self._next_percent = every_percent
        self._drawn = False
        isatty = getattr(self.stream, "isatty", None)
        self.live = bool(isatty and isatty())

    def advance(self, note: str = "", *, cached: bool = False) -> None:
        """One more unit done.

        Parameters
        ----------
        note : str
            Shown after the count (e.g. "tpe #3").
        cached : bool
            The unit was loaded from an earlier run, not computed: it counts towards the
            total but not towards the speed.
        """
        now = self._clock()
        self.done += 1
        if cached:
            self.cached += 1
            if not self._computed:
                self._computing_since = now
        else:
            self._computed += 1
        if not self.enabled:
            return
        if self.live:
            if now - self._last_draw >= self._min_redraw or self.done == self.total:
                self._last_draw = now
                self.stream.write("\r" + self.line(note, now) + "\x1b[K")
                self.stream.flush()
                self._drawn = True
            return
        percent = 100.0 * self.done / self.total
        if percent + 1e-9 >= self._next_percent or self.done == self.total:
            while self._next_percent <= percent + 1e-9:
                self._next_percent += self.every_percent
            self.stream.write(self.line(note, now) + "\n")
            self.stream.flush()

    def eta_seconds(self, now: float | None = None) -> float:
        """Seconds left at this run's own speed (nan before the first computed unit).

        Parameters
        ----------
        now : float, optional
            The clock's time (default: now).
        """
        now = self._clock() if now is None else now
        remaining = self.total - self.done
        if remaining <= 0:
            return 0.0
        if not self._computed:
            return math.nan
        elapsed = now - self._computing_since
        if elapsed <= 0:
            return math.nan
        return remaining * elapsed / self._computed

    def line(self, note: str = "", now: float | None = None) -> str:
        """The progress text, e.g. "simulations 40/200 (20%), 1m12s, ETA 4m48s".

        Parameters
        ----------
        note : str
        now : float, optional
        """
        now = self._clock() if now is None else now
        parts = [f"{self.label} {self.done}/{self.total} "
                 f"({100.0 * self.done / self.total:.0f}%)"]
        if self.cached:
            parts.append(f"{self.cached} from an earlier run")
        parts.append(f"{format_duration(now - self._started)} elapsed")
        if self.done < self.total:
            parts.append(f"ETA {format_duration(self.eta_seconds(now))}")
        text = ", ".join(parts)
        return f"{text} [{note}]" if note else text

    def close(self) -> None:
        """End the live line (a newline after the last redraw)."""
        if self.enabled and self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
