"""One-dimensional searches along a step size t >= 0, on any callable t -> loss.

The paper's search: a bounding phase that doubles the step while the loss decreases,
then a golden-section search on the bracket it found. Both work on plain callables,
so they are tested on functions with known minima; in HLS each call is one
elastic-net fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: 1 / golden ratio.
INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
#: The paper's first bounding step and golden-section stopping width.
PAPER_INITIAL_STEP = 1e-3
PAPER_TOL = 1e-6
#: Doublings after which the bounding phase gives up (t = 2^60 * 1e-3 ~ 1e15).
MAX_DOUBLINGS = 60


@dataclass(frozen=True)
class LineSearchResult:
    """Outcome of a line search.

    Attributes
    ----------
    t : float
        The step returned.
    loss : float
        The loss at ``t``.
    bracket : tuple of float
        The interval (lower, upper) the bounding phase handed to the golden section.
    n_evaluations : int
        Calls of the loss function (each one elastic-net fit in HLS).
    steps : ndarray of shape (n_evaluations,)
        Every evaluated t, in call order.
    losses : ndarray of shape (n_evaluations,)
        The loss at each evaluated t.
    hit_max_doublings : bool
        True when the loss still decreased after MAX_DOUBLINGS doublings.
    """

    t: float
    loss: float
    bracket: tuple[float, float]
    n_evaluations: int
    steps: np.ndarray
    losses: np.ndarray
    hit_max_doublings: bool


class _Recorder:
    """Wraps the loss function and records every call."""

    def __init__(self, loss: Callable[[float], float]):
        self._loss = loss
        self.steps: list[float] = []
        self.losses: list[float] = []

    def __call__(self, t: float) -> float:
        value = float(self._loss(t))
        self.steps.append(t)
        self.losses.append(value)
        return value


def bounding_phase(
    loss: Callable[[float], float], *, initial_step: float = PAPER_INITIAL_STEP
) -> tuple[float, float, bool]:
    """Bracket a minimum along t >= 0 by doubling the step (the paper's rule).

    Evaluates t = 0, then t_i = 2^i * initial_step for i = 0, 1, ... while the loss
    strictly decreases. If it stops at i <= 1 the bracket is [0, t_i], otherwise
    [2^(i-2) * initial_step, t_i]. A non-finite loss counts as no decrease.

    Returns
    -------
    lower, upper : float
        The bracket.
    hit_max_doublings : bool
        True if the loss was still decreasing at MAX_DOUBLINGS (upper is then the last t).
    """
    previous = loss(0.0)
    for i in range(MAX_DOUBLINGS + 1):
        t = initial_step * 2.0**i
        current = loss(t)
        if not current < previous:
            lower = 0.0 if i <= 1 else initial_step * 2.0 ** (i - 2)
            return lower, t, False
        previous = current
    lower = initial_step * 2.0 ** (MAX_DOUBLINGS - 1)
    return lower, t, True


def golden_section_paper(
    loss: Callable[[float], float], lower: float, upper: float, *, tol: float = PAPER_TOL
) -> tuple[float, float]:
    """Golden-section search exactly as the authors' code runs it.

    Both interior points c < d are evaluated at every iteration (nothing reused), and
    the loop runs while |c - d| > tol, so it stops at a bracket width of about
    tol / (2 / phi - 1) ~ 4.24 * tol. Returns the better of the final ends (ties go to
    the upper end), with its loss: two more evaluations.

    Returns
    -------
    t, loss_at_t : float
    """
    a, b = lower, upper
    c = b - INV_PHI * (b - a)
    d = a + INV_PHI * (b - a)
    while abs(c - d) > tol:
        if loss(c) < loss(d):
            b = d
        else:
            a = c
        c = b - INV_PHI * (b - a)
        d = a + INV_PHI * (b - a)
    loss_a, loss_b = loss(a), loss(b)
    return (a, loss_a) if loss_a < loss_b else (b, loss_b)


def paper_line_search(
    loss: Callable[[float], float],
    *,
    initial_step: float = PAPER_INITIAL_STEP,
    tol: float = PAPER_TOL,
) -> LineSearchResult:
    """The paper's line search: bounding phase, then golden section (authors' rules).

    Parameters
    ----------
    loss : callable t -> float
        The loss along the search line; called about 95 times on house_price.
    initial_step : float
        First bounding step.
    tol : float
        Golden-section stopping distance between the interior points.
    """
    recorder = _Recorder(loss)
    lower, upper, capped = bounding_phase(recorder, initial_step=initial_step)
    t, value = golden_section_paper(recorder, lower, upper, tol=tol)
    return LineSearchResult(
        t=t,
        loss=value,
        bracket=(lower, upper),
        n_evaluations=len(recorder.steps),
        steps=np.array(recorder.steps),
        losses=np.array(recorder.losses),
        hit_max_doublings=capped,
    )
