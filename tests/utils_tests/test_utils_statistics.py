from __future__ import annotations

import math

import numpy as np
import pytest

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
