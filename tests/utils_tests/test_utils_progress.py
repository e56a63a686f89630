"""utils.progress: plain lines off a terminal, a live line on one, an ETA from this run."""

from __future__ import annotations

import io
import math

import pytest

from utils.progress import Progress, format_duration


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_one_plain_line_per_five_percent_and_no_carriage_return():
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(200, label="simulations", stream=stream, clock=clock)
    for i in range(200):
        clock.now += 2.0
        progress.advance(f"tpe #{i}")
    progress.close()
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 20  # 5%, 10%, ..., 100%
    assert lines[0] == "simulations 10/200 (5%), 20s elapsed, ETA 6m20s [tpe #9]"
    assert lines[-1] == "simulations 200/200 (100%), 6m40s elapsed [tpe #199]"


def test_few_units_give_a_line_each():
    stream = io.StringIO()
    progress = Progress(3, stream=stream, clock=_Clock())
    for _ in range(3):
        progress.advance()
    assert len(stream.getvalue().splitlines()) == 3


def test_eta_counts_only_the_units_computed_in_this_run():
    # 150 of 200 units come from an earlier run's store, in an instant; then each of the
    # others takes 10 s. The ETA must say 10 s per remaining unit, not 150 units per 10 s.
    stream, clock = io.StringIO(), _Clock()
    progress = Progress(200, stream=stream, clock=clock)
    for _ in range(150):
        clock.now += 0.001
        progress.advance(cached=True)
    for _ in range(5):
        clock.now += 10.0
        progress.advance()
    assert progress.eta_seconds() == pytest.approx(45 * 10.0)
    assert "150 from an earlier run" in progress.line()


def test_eta_is_unknown_before_the_first_computed_unit():
    progress = Progress(10, stream=io.StringIO(), clock=_Clock())
    progress.advance(cached=True)
    assert math.isnan(progress.eta_seconds())
    assert "ETA ?" in progress.line()


def test_on_a_terminal_one_line_redrawn_in_place():
    stream, clock = _Terminal(), _Clock()
    with Progress(4, stream=stream, clock=clock, min_redraw_seconds=0.0) as progress:
        for _ in range(4):
            clock.now += 1.0
            progress.advance()
    text = stream.getvalue()
    assert text.count("\r") == 4
    assert text.endswith("4/4 (100%), 4s elapsed\x1b[K\n")
    assert text.count("\n") == 1


def test_disabled_progress_writes_nothing():
    stream = io.StringIO()
    with Progress(5, stream=stream, enabled=False) as progress:
        progress.advance()
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0s"), (59.6, "1m00s"), (187, "3m07s"),
                                               (7500, "2h05m"), (math.nan, "?")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
