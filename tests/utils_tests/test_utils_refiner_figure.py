"""The refiners' change figure: the changes it draws, and a readable PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from utils.refiner_figure import plot_refiner_changes, relative_changes


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    rows = []
    for refiner in ("hls", "random-local", "path"):
        for simulation in range(8):
            start_val, start_test = 100.0, 120.0
            rows.append({"refiner": refiner, "simulation": simulation,
                         "start_val_mse": start_val, "start_test_mse": start_test,
                         "val_mse": start_val * (1 - rng.uniform(0, 0.1)),
                         "test_mse": start_test * (1 + rng.normal(0, 0.05))})
    return pd.DataFrame(rows)


def test_relative_changes():
    frame = pd.DataFrame({"val_mse": [9.0, 12.0], "start_val_mse": [10.0, 10.0]})
    np.testing.assert_allclose(relative_changes(frame, "val"), [-0.1, 0.2], rtol=1e-15)


def test_figure_is_written(frame, tmp_path):
    path = plot_refiner_changes(frame, path=tmp_path / "sub" / "changes.png", title="t",
                                refiner_order=["hls", "random-local", "path"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 20_000
