"""load_dataset: names, CSV paths, and the errors in between."""

from __future__ import annotations

import re

import numpy as np
import pytest

import datasets
from datasets.registry import DATASET_NAMES, load_dataset
from utils.errors import InputError

UNKNOWN = (
    "unknown data set {name!r}; choose one of house_price, california_housing, simulation, "
    "diabetes, or give the path of a .csv file together with --target COLUMN."
)


def test_names_and_package_exports():
    assert DATASET_NAMES == ("house_price", "california_housing", "simulation", "diabetes")
    assert datasets.DATASET_NAMES is DATASET_NAMES
    assert datasets.load_dataset is load_dataset
    assert datasets.__all__ == ["DATASET_NAMES", "Splits", "load_dataset"]


@pytest.mark.parametrize(
    ("name", "n_samples", "n_features"),
    [
        ("house_price", (934, 234, 292), 284),
        ("california_housing", (13894, 2452, 4087), 13),
        ("simulation", (6400, 1600, 2000), 100),
        ("diabetes", (264, 89, 89), 10),
    ],
)
def test_every_name_loads(name, n_samples, n_features):
    splits = load_dataset(name)
    assert splits.name == name
    assert splits.n_samples == n_samples
    assert splits.n_features == n_features


def test_seed_reaches_diabetes_only():
    assert not np.array_equal(
        load_dataset("diabetes", seed=1).y_test, load_dataset("diabetes", seed=2).y_test
    )
    np.testing.assert_array_equal(
        load_dataset("simulation", seed=1).y_test, load_dataset("simulation", seed=2).y_test
    )


def test_csv_path_goes_to_the_csv_loader(tmp_path):
    path = tmp_path / "Table.CSV"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 4},{i * i}\n" for i in range(15)))
    first = load_dataset(str(path), target="y", seed=3)
    assert first.name == "Table"
    assert first.feature_names == ("a", "b")
    np.testing.assert_array_equal(first.y_test, load_dataset(str(path), target="y", seed=3).y_test)
    assert not np.array_equal(first.y_test, load_dataset(str(path), target="y", seed=4).y_test)
    with pytest.raises(InputError, match=r"no target column given; choose one of the columns"):
        load_dataset(str(path))


@pytest.mark.parametrize("name", ["House_Price", "boston", "data.tsv", "", "diabetes.csv.gz"])
def test_unknown_names(name):
    with pytest.raises(InputError, match=f"^{re.escape(UNKNOWN.format(name=name))}$"):
        load_dataset(name)


def test_missing_csv_is_reported_by_the_csv_loader(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(InputError, match=r"nope.csv: no such file; check the path"):
        load_dataset(str(path), target="y")


def test_target_with_a_named_data_set():
    with pytest.raises(
        InputError,
        match=re.escape(
            "--target applies to CSV tables only; the data set 'diabetes' has a fixed target "
            "(drop --target)."
        ),
    ):
        load_dataset("diabetes", target="y")
