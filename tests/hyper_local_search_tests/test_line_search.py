import numpy as np
import pytest

from hyper_local_search.line_search import (
    MAX_DOUBLINGS,
    bounding_phase,
    golden_section_paper,
    paper_line_search,
)

#: The paper's loop stops once |c - d| <= 1e-6, i.e. at a bracket width of ~4.24e-6.
FINAL_WIDTH = 1e-6 / (np.sqrt(5) - 2)


def test_quadratic_minimum_is_found():
    result = paper_line_search(lambda t: (t - 5.0) ** 2)
    assert result.t == pytest.approx(5.0, abs=FINAL_WIDTH)
    # Bounding: f(0), then 1e-3 * 2^i for i = 0..13 (8.192 is the first increase).
    assert result.bracket == (pytest.approx(2.048), pytest.approx(8.192))
    assert result.n_evaluations == len(result.steps) == len(result.losses)
    assert result.loss == pytest.approx((result.t - 5.0) ** 2)


@pytest.mark.parametrize("minimum", [0.0123, 0.7, 3.3, 42.0, 1234.5])
def test_minima_at_many_scales(minimum):
    result = paper_line_search(lambda t: abs(t - minimum) ** 1.5)
    assert result.t == pytest.approx(minimum, abs=FINAL_WIDTH)
    assert result.bracket[0] <= minimum <= result.bracket[1]


def test_minimum_at_zero_when_loss_increases():
    calls = []

    def loss(t):
        calls.append(t)
        return 1.0 + t

    result = paper_line_search(loss)
    assert result.bracket == (0.0, 1e-3)
    assert result.t == 0.0
    assert result.loss == 1.0
    assert calls[:2] == [0.0, 1e-3]


def test_bracket_rule_after_two_decreases():
    # Decreases at 1e-3 and 2e-3, then stops at i = 2 (4e-3): bracket [1e-3, 4e-3].
    lower, upper, capped = bounding_phase(lambda t: (t - 0.0027) ** 2)
    assert (lower, upper, capped) == (pytest.approx(1e-3), pytest.approx(4e-3), False)


def test_equal_loss_stops_bounding():
    lower, upper, _ = bounding_phase(lambda t: 0.0)
    assert (lower, upper) == (0.0, 1e-3)


def test_non_finite_loss_stops_bounding():
    lower, upper, _ = bounding_phase(lambda t: -t if t < 0.05 else np.nan)
    assert upper == pytest.approx(0.064)
    assert lower == pytest.approx(0.016)


def test_golden_section_returns_lower_end_minimum():
    t, value = golden_section_paper(lambda t: t, 0.0, 1.0)
    assert t == 0.0
    assert value == 0.0


def test_golden_section_returns_upper_end_minimum():
    t, value = golden_section_paper(lambda t: -t, 0.0, 1.0)
    assert t == 1.0
    assert value == -1.0


def test_golden_section_ties_go_to_upper_end():
    t, _ = golden_section_paper(lambda t: 0.0, 2.0, 3.0)
    assert 3.0 - t < FINAL_WIDTH


def test_golden_section_evaluation_count():
    calls = []

    def loss(t):
        calls.append(t)
        return (t - 0.3) ** 2

    golden_section_paper(loss, 0.0, 1.0)
    # width shrinks by 1/phi per iteration until |c - d| = 0.236 * width <= 1e-6
    iterations = int(np.ceil(np.log(1.0 / FINAL_WIDTH) / np.log((1 + np.sqrt(5)) / 2)))
    assert len(calls) == 2 * iterations + 2


def test_unbounded_decrease_is_capped():
    result = paper_line_search(lambda t: 1.0 / (1.0 + t))
    assert result.hit_max_doublings
    assert result.bracket[1] == pytest.approx(1e-3 * 2.0**MAX_DOUBLINGS)
