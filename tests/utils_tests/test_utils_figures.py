from __future__ import annotations

import numpy as np
import pytest

from utils.figures import incumbent_curve, plot_sampler_losses

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _history(rng: np.random.Generator, n_trials: int) -> list[dict[str, float]]:
    history, best = [], np.inf
    for trial in range(n_trials):
        val = 8e8 + 1e8 * rng.exponential() * (20 if trial < 3 else 1)
        if val < best:
            best = val
            history.append(
                {
                    "trial": trial,
                    "l1": 0.5,
                    "l2": 0.04,
                    "train_mse": 0.8 * val,
                    "val_mse": val,
                    "test_mse": 1.3 * val,
                }
            )
    return history


def _hls(rng: np.random.Generator) -> dict[str, float]:
    return {"train_mse": 4.5e8 + 1e7 * rng.normal(), "val_mse": 7.3e8, "test_mse": 8.8e8}


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 5_000
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_incumbent_curve_holds_last_improvement():
    history = [
        {"trial": 4, "val_mse": 2.0},
        {"trial": 1, "val_mse": 5.0},
        {"trial": 7, "val_mse": 1.0},
    ]
    curve = incumbent_curve(history, "val_mse", 9)
    np.testing.assert_array_equal(curve, [np.nan, 5, 5, 5, 2, 2, 2, 1, 1])
    assert np.isnan(incumbent_curve([], "val_mse", 3)).all()
    with pytest.raises(ValueError, match=r"0\.\.8"):
        incumbent_curve([{"trial": 9, "val_mse": 1.0}], "val_mse", 9)


def test_plot_several_simulations(tmp_path):
    rng = np.random.default_rng(0)
    histories = [_history(rng, 30) for _ in range(5)]
    histories.append([{"trial": 0, "train_mse": 9e8, "val_mse": 9e8, "test_mse": 9e8}])
    hls = [_hls(rng) for _ in histories]
    path = plot_sampler_losses(
        histories,
        hls,
        sampler="random",
        n_trials=30,
        path=tmp_path / "figs" / "random.png",
        target_units="dollars",
    )
    assert path == tmp_path / "figs" / "random.png"
    _assert_png(path)


def test_plot_one_simulation_single_incumbent(tmp_path):
    history = [
        {
            "trial": 3,
            "l1": 1.0,
            "l2": 1e-10,
            "train_mse": 3.4e8,
            "val_mse": 8.5e8,
            "test_mse": 9.9e8,
        }
    ]
    hls = [{"train_mse": 4.2e8, "val_mse": 7.9e8, "test_mse": np.nan}]
    path = plot_sampler_losses(
        [history], hls, sampler="grid", n_trials=10, path=tmp_path / "grid.png"
    )
    _assert_png(path)


def test_plot_one_trial(tmp_path):
    history = [{"trial": 0, "train_mse": 1.0, "val_mse": 2.0, "test_mse": 3.0}]
    hls = [{"train_mse": 1.0, "val_mse": 1.5, "test_mse": 2.5}]
    _assert_png(
        plot_sampler_losses([history], hls, sampler="qmc", n_trials=1, path=tmp_path / "qmc.png")
    )


def test_plot_rejects_mismatched_inputs(tmp_path):
    with pytest.raises(ValueError, match="2 histories but 1 HLS"):
        plot_sampler_losses([[], []], [{}], sampler="tpe", n_trials=5, path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="no simulation"):
        plot_sampler_losses([], [], sampler="tpe", n_trials=5, path=tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_title_names_the_data_set_and_axes_carry_its_units(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    drawn = []
    savefig = Figure.savefig

    def keep(figure, *args, **kwargs):
        drawn.append(figure)
        return savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    rng = np.random.default_rng(1)
    histories = [_history(rng, 20) for _ in range(3)]
    plot_sampler_losses(histories, [_hls(rng) for _ in histories], sampler="tpe", n_trials=20,
                        path=tmp_path / "tpe.png", target_units="dollars",
                        dataset="house_price")
    (figure,) = drawn
    assert figure.get_suptitle().startswith("house_price, tpe sampler: incumbent after each")
    assert [axis.get_ylabel() for axis in figure.axes] == ["MSE (dollars$^2$)"] * 3
