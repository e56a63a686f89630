from __future__ import annotations

import math

import pandas as pd
import pytest

from tests.conftest import PUBLISHED_TABLE
from utils.summary_text import format_summary, loss_scale


@pytest.fixture(scope="module")
def published():
    if not PUBLISHED_TABLE.is_file():
        pytest.skip(f"no published table at {PUBLISHED_TABLE}")
    return pd.read_csv(PUBLISHED_TABLE, index_col=0)


def test_published_table_reads_in_1e8_dollars_squared(published):
    assert loss_scale(published) == 8
    lines = format_summary(published, title="house_price", target_units="dollars").splitlines()
    assert lines[0] == ("house_price: losses (MSE) in 1e8 dollars^2, run times in seconds per "
                        "simulation")
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    # random_Mean: 7.0560 4.9742 8.4456 7.4693 10.8869 9.1942 (the paper's, / 1e8), 3.600 4.443
    assert rows["random_Mean"][1:] == ["7.0560", "4.9742", "8.4456", "7.4693", "10.8869",
                                       "9.1942", "3.600", "4.443"]
    # CIs with two significant digits: tpe's validation HLS CI is 297.6 dollars^2 = 3e-06 1e8.
    assert rows["tpe_95%"][2:] == ["0.0063", "0.00098", "0.00011", "3e-06", "0.0029",
                                   "2.5e-05", "0.076", "0.016"]
    # Columns line up: every line after the title is as wide as the header.
    assert len({len(line) for line in lines[1:]}) == 1


def test_not_computable_ci_and_small_losses():
    table = pd.DataFrame(
        [[0.25, 0.24, 0.31, 0.30, 0.35, 0.34, 1.5, 0.2], [math.nan] * 8],
        index=["qmc_Mean", "qmc_95% CI"],
        columns=["Training_Losses_optuna", "Training_Losses_hls", "Validation_Losses_optuna",
                 "Validation_Losses_hls", "Testing_Losses_optuna", "Testing_Losses_hls",
                 "Runtimes_optuna", "Runtimes_hls"],
    )
    assert loss_scale(table) == -1
    lines = format_summary(table, title="simulation").splitlines()
    assert "in 1e-1 target units^2" in lines[0]
    assert lines[2].split()[1:3] == ["2.5000", "2.4000"]
    assert lines[3].split()[2:] == ["n/a"] * 8
