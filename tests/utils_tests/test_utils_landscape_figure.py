from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

from hyper_local_search.landscape import ValidationGrid
from utils.landscape_figure import _to_axes, plot_landscape

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _grid() -> dict[str, np.ndarray]:
    """A bowl in (log10 l1, log10 l2) with its minimum at (1, 1e-3), plus one nan point."""
    l1 = np.logspace(-3, 4, 15)
    l2 = np.logspace(-10, 4, 29)
    x, y = np.meshgrid(np.log10(l1), np.log10(l2), indexing="ij")
    val_mse = 7e8 * (1 + 0.05 * x**2 + 0.01 * (y + 3) ** 2)
    val_mse[3, 4] = np.nan
    return {"l1_values": l1, "l2_values": l2, "val_mse": val_mse}


OVERLAYS = {
    "trials": {"trials": [(0.5, 0.04), (1e-10, 1e-10), (1.0, 1.0), (0.01, 0.3)]},
    "hls_path": {"hls_path": [(0.47, 0.04), (101.2, 1e-10), (120.0, 1e-10)]},
    "end_points": {"end_points": {"hls": (101.2, 1e-10), "random_local": (0.9, 0.04),
                                  "hypergradient": (0.9, 0.04)}},
    "search_box": {"search_box": (1e-10, 1.0)},
}


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_plain_grid(tmp_path):
    path = plot_landscape(_grid(), path=tmp_path / "landscape.png")
    assert path == tmp_path / "landscape.png"
    _assert_png(path)


@pytest.mark.parametrize("overlay", list(OVERLAYS))
def test_each_overlay(tmp_path, overlay):
    path = plot_landscape(_grid(), path=tmp_path / f"{overlay}.png", **OVERLAYS[overlay])
    _assert_png(path)


def test_all_overlays_on_a_validation_grid_and_nested_output(tmp_path):
    arrays = _grid()
    grid = ValidationGrid(
        l1_values=arrays["l1_values"], l2_values=arrays["l2_values"],
        val_mse=arrays["val_mse"], n_iter=np.ones(arrays["val_mse"].shape, dtype=int),
        converged=np.ones(arrays["val_mse"].shape, dtype=bool),
    )
    overlays = {key: value for entry in OVERLAYS.values() for key, value in entry.items()}
    path = plot_landscape(grid, title="house_price, TPE, simulation 0",
                          path=tmp_path / "figures" / "landscape.png", **overlays)
    _assert_png(path)


def test_points_outside_the_grid_do_not_crash(tmp_path):
    outside = [(1e-12, 1e-12), (0.0, 0.5), (1e9, 1e9), (-1.0, -1.0), (np.nan, 0.1),
               (np.inf, 1e-3)]
    path = plot_landscape(
        _grid(), trials=outside, hls_path=outside, search_box=(0.0, 1e9),
        end_points={f"r{k}": point for k, point in enumerate(outside * 3)},
        path=tmp_path / "outside.png",
    )
    _assert_png(path)


def test_points_are_clipped_to_the_axes():
    x, y = _to_axes([(1e-10, 1e-10), (1e-12, 0.0), (1e9, 1e9), (np.nan, 1.0)],
                    (-3.4, 4.4), (-10.4, 4.4))
    np.testing.assert_allclose(x[:3], [-3.4, -3.4, 4.4])
    np.testing.assert_allclose(y, [-10.0, -10.4, 4.4, 0.0])  # the 1e-10 floor stays at -10
    assert np.isnan(x[3])


def test_a_flat_grid_draws(tmp_path):
    grid = {"l1_values": [1.0, 10.0], "l2_values": [1.0, 10.0], "val_mse": np.full((2, 2), 5.0)}
    _assert_png(plot_landscape(grid, path=tmp_path / "flat.png"))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"val_mse": np.ones((3, 3))}, r"val_mse must have shape \(15, 29\); got \(3, 3\)"),
     ({"val_mse": np.full((15, 29), np.nan)}, "positive minimum"),
     ({"l1_values": np.logspace(4, -3, 15)}, "l1_values must hold at least 2 increasing")],
)
def test_bad_grids_are_refused(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        plot_landscape({**_grid(), **change}, path=tmp_path / "bad.png")
    assert not any(tmp_path.iterdir())


def test_docstring_parameters_match_signature():
    doc = inspect.getdoc(plot_landscape)
    section = doc.split("Parameters\n----------\n")[1].split("\n\n")[0]
    documented = []
    for line in section.splitlines():
        if match := re.match(r"^(\w+(?:, \w+)*)(?: :.*)?$", line):
            documented.extend(match.group(1).split(", "))
    assert documented == list(inspect.signature(plot_landscape).parameters)
