from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import T_QUANTILE_RTOL
from utils.statistics import mean_ci95


def test_mean_ci95_matches_hand_computation():
    # values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squared deviations 32,
    # sample variance 32 / 7, half-width 1.96 * sqrt(32 / 7) / sqrt(8).
    mean, ci95 = mean_ci95([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0])
    assert mean == pytest.approx(5.0, rel=1e-15)
    assert ci95 == pytest.approx(1.96 * math.sqrt(32.0 / 7.0) / math.sqrt(8.0), rel=1e-14)
    assert ci95 == pytest.approx(1.4816207342, rel=1e-9)


def test_mean_ci95_single_value_has_no_ci():
    mean, ci95 = mean_ci95(np.array([3.5]))
    assert mean == 3.5
    assert math.isnan(ci95)


def test_mean_ci95_empty_is_nan():
    mean, ci95 = mean_ci95([])
    assert math.isnan(mean)
    assert math.isnan(ci95)


def test_mean_ci95_identical_values_have_zero_ci():
    assert mean_ci95([7.25, 7.25, 7.25]) == (7.25, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_mean_ci95_non_finite_values_propagate(bad):
    mean, ci95 = mean_ci95([1.0, 2.0, bad])
    assert not math.isfinite(mean)
    assert math.isnan(ci95)


def test_mean_ci95_returns_python_floats():
    mean, ci95 = mean_ci95(np.arange(4, dtype=np.float32))
    assert type(mean) is float
    assert type(ci95) is float


# --------------------------------------------------------------------------------------
# Student-t intervals and paired comparisons (the comparison sheet)
# --------------------------------------------------------------------------------------
from utils.statistics import (  # noqa: E402
    holm_adjust,
    mean_ci95_t,
    paired_outcomes,
    tied_differences,
    wilcoxon_p_value,
)


def test_mean_ci95_t_in_closed_form():
    # n = 2: Student's t with 1 degree of freedom is the Cauchy distribution, whose
    # 0.975 quantile is tan(0.475 pi) = 12.706; values 1 and 3: s = sqrt(2).
    mean, ci95 = mean_ci95_t([1.0, 3.0])
    assert mean == 2.0
    assert ci95 == pytest.approx(math.tan(0.475 * math.pi) * math.sqrt(2.0) / math.sqrt(2.0),
                                 rel=T_QUANTILE_RTOL)
    # n = 3: 2 degrees of freedom, F(t) = 1/2 + t / (2 sqrt(t^2 + 2))
    t_2 = math.sqrt(2 * 0.95**2 / (1 - 0.95**2))
    assert mean_ci95_t([2.0, 4.0, 6.0])[1] == pytest.approx(t_2 * 2.0 / math.sqrt(3),
                                                           rel=T_QUANTILE_RTOL)
    # wider than the paper's 1.96 interval
    assert mean_ci95_t([2.0, 4.0, 6.0])[1] > mean_ci95([2.0, 4.0, 6.0])[1]
    assert math.isnan(mean_ci95_t([5.0])[1])
    assert all(math.isnan(v) for v in mean_ci95_t([]))


def test_ties_within_the_relative_tolerance_are_zeroed():
    d = tied_differences([1.0, 2.0 + 1e-7, 3.5], [1.0 + 1e-9, 2.0, 3.0], rtol=1e-6)
    np.testing.assert_array_equal(d, [0.0, 0.0, 0.5])
    assert paired_outcomes([0.5, 1.0, 3.0, np.nan], [1.0, 1.0, 1.0, 1.0], rtol=1e-6) == (1, 1, 1)
    with pytest.raises(ValueError, match="equal lengths"):
        tied_differences([1.0], [1.0, 2.0], rtol=0.0)


def test_wilcoxon_p_value_exact_small_samples():
    # 5 pairs, all lower: the exact two-sided p-value is 2 / 2^5 (one extreme sign
    # pattern on each side).
    assert wilcoxon_p_value([1, 2, 3, 4, 5], [2, 4, 6, 8, 10], rtol=0.0) == pytest.approx(
        2 / 32, rel=1e-12)
    assert wilcoxon_p_value([1.0, 2.0], [1.0, 2.0], rtol=0.0) == 1.0  # only ties
    assert math.isnan(wilcoxon_p_value([1.0], [2.0], rtol=0.0))
    # ties count for neither side: they are dropped, so six wins and two ties give the
    # p-value of six wins (2 / 2^6), and two wins among many ties give p = 2 / 2^2
    wins = [float(k) for k in range(1, 7)]
    assert wilcoxon_p_value([*wins, 7.0, 8.0], [w + k for k, w in enumerate(wins, 1)]
                            + [7.0, 8.0], rtol=0.0) == pytest.approx(2 / 64, rel=1e-12)
    assert wilcoxon_p_value([1.0, 1.0] + [5.0] * 18, [2.0, 3.0] + [5.0] * 18,
                            rtol=0.0) == pytest.approx(0.5, rel=1e-12)
    assert wilcoxon_p_value([1.0, 5.0, 5.0], [2.0, 5.0, 5.0], rtol=0.0) == 1.0


def test_holm_adjust_by_hand():
    # sorted 0.01, 0.03, 0.04 of m = 3: 3 * 0.01, max(0.03, 2 * 0.03), max(0.06, 0.04)
    adjusted = holm_adjust([0.04, 0.01, np.nan, 0.03])
    np.testing.assert_allclose(adjusted[[0, 1, 3]], [0.06, 0.03, 0.06], rtol=1e-12)
    assert math.isnan(adjusted[2])
    assert holm_adjust([0.6, 0.9]).tolist() == [1.0, 1.0]
    assert holm_adjust([]).size == 0
