"""House prices: the paper's preprocessing reproduces the published split.

The published split lives beside the repository in ../shared (as in CI); the
comparison tests skip, saying so, when it is absent.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

import datasets.house_price as house_price
from datasets.house_price import DEFAULT_PATH, load_house_price
from datasets.splits import Splits
from tests.conftest import PARTS, read_published_split
from utils.errors import InputError

PAPER_SPLIT = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "house_price"
PAPER_SPLIT = PAPER_SPLIT / "paper_split"
#: The only columns with missing values; KNNImputer fills them with means of 10
#: neighbours, whose summation order differs between scikit-learn versions.
IMPUTED = ("LotFrontage", "MasVnrArea", "GarageYrBlt")


@pytest.fixture(scope="module")
def splits() -> Splits:
    return load_house_price()


@pytest.fixture(scope="module")
def paper() -> dict[str, pd.DataFrame]:
    return read_published_split(PAPER_SPLIT)


def test_shapes_and_names(splits):
    assert splits.n_samples == (934, 234, 292)
    assert splits.n_features == 284
    assert splits.target_name == "SalePrice"
    assert splits.name == "house_price"
    assert splits.feature_names[:3] == ("MSSubClass", "LotFrontage", "LotArea")
    assert splits.feature_names[35:37] == ("YrSold", "MSZoning_C (all)")
    # "None" in MasVnrType is read as missing and imputed as BrkFace: no None level
    assert "MasVnrType_None" not in splits.feature_names
    assert splits.y_train.min() > 30_000  # dollars, not scaled


@pytest.mark.parametrize("part", PARTS)
def test_equals_the_published_split(splits, paper, part):
    X_paper, y_paper = paper[f"x_{part}"], paper[f"y_{part}"]
    X, y = getattr(splits, f"X_{part}"), getattr(splits, f"y_{part}")
    assert splits.feature_names == tuple(X_paper.columns)
    assert tuple(y_paper.columns) == (splits.target_name,)
    # row by row: the published rows are pairwise distinct, so equal rows in equal
    # positions pin the row order
    assert not X_paper.duplicated().any()
    np.testing.assert_array_equal(y, y_paper["SalePrice"].to_numpy(dtype=float))
    np.testing.assert_allclose(X, X_paper.to_numpy(dtype=float), rtol=0, atol=1e-12)
    # measured: bit-identical outside the imputed columns, 4.4e-16 inside them (numpy 2.4,
    # scikit-learn 1.9); the oldest supported releases differ by up to 3.6e-15 there
    exact = [j for j, name in enumerate(splits.feature_names) if name not in IMPUTED]
    np.testing.assert_allclose(X[:, exact], X_paper.to_numpy(dtype=float)[:, exact],
                               rtol=0, atol=1e-14)


def test_published_row_labels_are_positions(paper):
    """The published files label rows by position, not by house: test 0..291,
    train/val by position among the 1168 rows of the first training part."""
    np.testing.assert_array_equal(paper["x_test"].index, np.arange(292))
    train, val = train_test_split(np.arange(1168), test_size=0.2, random_state=42)
    np.testing.assert_array_equal(paper["x_train"].index, train)
    np.testing.assert_array_equal(paper["x_val"].index, val)
    for part in PARTS:
        np.testing.assert_array_equal(paper[f"x_{part}"].index, paper[f"y_{part}"].index)


def test_numeric_columns_are_standardised_on_train_only(splits):
    # 36 numeric columns: the 934 + 234 training rows have mean 0, std 1 (before the
    # imputed entries moved them), the 248 dummies are 0/1
    X_fit = np.vstack([splits.X_train, splits.X_val])
    complete = [j for j, n in enumerate(splits.feature_names[:36]) if n not in IMPUTED]
    np.testing.assert_allclose(X_fit[:, complete].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X_fit[:, complete].std(axis=0), 1.0, rtol=1e-12)
    dummies = np.vstack([splits.X_train, splits.X_val, splits.X_test])[:, 36:]
    assert set(np.unique(dummies)) == {0.0, 1.0}


def _fake_openml_frame() -> pd.DataFrame:
    """Kaggle's table dressed as fetch_openml returns it: numbers as float64,
    text as pandas categoricals. (DEFAULT_PATH is byte-identical to the shared
    train.csv.)"""
    frame = pd.read_csv(DEFAULT_PATH)
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(np.float64)
        else:
            frame[column] = frame[column].astype("category")
    return frame


def test_download_saves_kaggle_layout_once(tmp_path, monkeypatch, splits):
    calls = []

    def fake_fetch_openml(**kwargs):
        calls.append(kwargs)
        frame = _fake_openml_frame()
        return SimpleNamespace(frame=frame, data=None, target=None)

    monkeypatch.setattr(house_price, "fetch_openml", fake_fetch_openml)
    path = tmp_path / "sub" / "train.csv"
    downloaded = load_house_price(path)
    assert calls == [{"data_id": 42165, "as_frame": True, "n_retries": 1, "delay": 0.5}]
    assert path.is_file()
    assert [p.name for p in path.parent.iterdir()] == ["train.csv"]  # no temporary left
    pd.testing.assert_frame_equal(pd.read_csv(path), pd.read_csv(DEFAULT_PATH))
    assert path.read_text().splitlines()[1].startswith("1,60,RL,65,8450,Pave,NA,Reg,")
    for part in PARTS:
        for kind in ("X", "y"):
            np.testing.assert_array_equal(
                getattr(downloaded, f"{kind}_{part}"), getattr(splits, f"{kind}_{part}")
            )

    def offline(**kwargs):
        raise AssertionError("the table is there: no second download")

    monkeypatch.setattr(house_price, "fetch_openml", offline)
    load_house_price(path)


def test_openml_frame_without_id_or_frame_is_converted():
    frame = _fake_openml_frame().drop(columns=["Id"]).iloc[::-1]
    frame = frame.reset_index(drop=True)
    table = house_price.openml_to_kaggle_layout(frame)
    assert list(table.columns[[0, -1]]) == ["Id", "SalePrice"]
    assert table.shape == (1460, 81)
    assert table["Id"].tolist() == list(range(1, 1461))


def test_offline_download_says_which_file_to_put_where(tmp_path, monkeypatch):
    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(house_price, "fetch_openml", offline)
    path = tmp_path / "train.csv"
    with pytest.raises(InputError) as info:
        load_house_price(path)
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        f"{path} is missing and downloading OpenML dataset 42165 failed (<urlopen error "
        "[Errno -3] Temporary failure in name resolution>); put Kaggle's House Prices "
        f"train.csv (1460 rows) at {path}."
    )
    assert not path.exists()


def test_directory_and_foreign_tables_are_rejected(tmp_path):
    with pytest.raises(InputError, match="is a directory; give the path of Kaggle's House"):
        load_house_price(tmp_path)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(
        InputError, match=r"is not Kaggle's House Prices train.csv: no column\(s\) Id, PoolQC"
    ):
        load_house_price(other)
