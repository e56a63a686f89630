"""User CSV tables: every bad input gives its one-line message; good ones load."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import datasets.csv_table as csv_table
from datasets.csv_table import load_csv_table
from utils.errors import InputError


def _table(rows: int = 12, *, header: str = "a,b,y", extra: tuple[str, ...] = ()) -> str:
    """A numeric table: row i is ``i, i % 3, 1.5 * i`` then ``extra[i % len(extra)]``
    if `extra` is given (its name must then be in `header`)."""
    lines = [header]
    for i in range(rows):
        cells = [str(i), str(i % 3), str(1.5 * i)] + ([extra[i % len(extra)]] if extra else [])
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def _write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _raises(path: Path, message: str, *, target: str | None = "y") -> None:
    """The exact message, on one line, with the path in front."""
    with pytest.raises(InputError, match=f"^{re.escape(message.format(path=path))}$") as info:
        load_csv_table(path, target, seed=0)
    assert "\n" not in str(info.value)


def test_happy_path(tmp_path):
    text = _table(rows=20, header="a,b,y,flag", extra=("0", "1", "1"))
    path = _write(tmp_path, b"\xef\xbb\xbf" + text.encode(), name="houses.csv")  # with a BOM
    splits = load_csv_table(path, "y", seed=1)
    assert splits.n_samples == (12, 4, 4)
    assert splits.feature_names == ("a", "b", "flag")
    assert splits.target_name == "y"
    assert splits.name == "houses"
    np.testing.assert_allclose(splits.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(splits.X_train.std(axis=0), 1.0, rtol=1e-12)
    y_all = np.sort(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))
    np.testing.assert_array_equal(y_all, 1.5 * np.arange(20))  # target in its units
    again = load_csv_table(str(path), "y", seed=1)
    np.testing.assert_array_equal(again.X_val, splits.X_val)
    other = load_csv_table(path, "y", seed=2)
    assert not np.array_equal(other.y_test, splits.y_test)


def test_target_can_be_any_column_and_booleans_count_as_numbers(tmp_path):
    path = _write(tmp_path, _table(header="a,b,y,flag", extra=("True", "False")))
    splits = load_csv_table(path, "a", seed=0)
    assert splits.feature_names == ("b", "y", "flag")
    assert splits.target_name == "a"
    flags = np.concatenate([splits.X_train[:, 2], splits.X_val[:, 2], splits.X_test[:, 2]])
    assert len(np.unique(flags)) == 2  # True/False read as 1/0, then standardised


def test_trailing_commas_are_tolerated(tmp_path):
    # spreadsheet exports often end every data line with a comma
    text = _table().replace("\n", ",\n").replace("a,b,y,", "a,b,y", 1)
    splits = load_csv_table(_write(tmp_path, text), "y", seed=0)
    assert splits.feature_names == ("a", "b")


def test_missing_file(tmp_path):
    _raises(tmp_path / "nope.csv", "{path}: no such file; check the path of the CSV table.")


def test_directory(tmp_path):
    folder = tmp_path / "tables.csv"
    folder.mkdir()
    _raises(folder, "{path} is a directory, not a CSV file; give the path of a .csv file.")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (
            b"\xff\xfe\x00\x01\x80\x81binary",
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        ),
        (
            "a,b,y\n1,2,3\n4,5,6,7\n",
            "Error tokenizing data. C error: Expected 3 fields in line 3, saw 4",
        ),
    ],
    ids=["binary", "ragged"],
)
def test_unreadable(tmp_path, content, reason):
    _raises(
        _write(tmp_path, content),
        f"{{path}}: cannot be read as a CSV table ({reason}); save it as comma-separated "
        "UTF-8 text with a header row.",
    )


def test_unreadable_permissions(tmp_path, monkeypatch):
    # simulated: the tests may run as root, who reads any file
    path = _write(tmp_path, _table())

    def denied(file, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(file))

    monkeypatch.setattr(csv_table, "open", denied, raising=False)
    _raises(
        path,
        f"{{path}}: cannot be read as a CSV table ([Errno 13] Permission denied: '{path}'); "
        "save it as comma-separated UTF-8 text with a header row.",
    )


def test_first_row_longer_than_header(tmp_path):
    # pandas would silently turn the first two fields into a row index
    _raises(
        _write(tmp_path, "a,y\n1,2,3,4\n" + "5,6\n" * 12),
        "{path}: a data row has more fields than the 2 columns of the header; fix that row "
        "or add the missing column names.",
    )


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["zero-bytes", "blank-lines"])
def test_empty(tmp_path, content):
    _raises(
        _write(tmp_path, content),
        "{path} is empty; a CSV table needs a header row and at least 10 data rows.",
    )


def test_header_without_rows(tmp_path):
    _raises(
        _write(tmp_path, "a,b,y\n"),
        "{path} has a header row but no data rows; it needs at least 10.",
    )


def test_duplicate_column_names(tmp_path):
    # pandas would read them as "a", "a.1", "y", "y.1"; the header is checked as written
    text = _table(header="a,a,y,y", extra=("0",))
    _raises(
        _write(tmp_path, text),
        "{path}: duplicate column name(s) a, y; rename the columns so that each name is unique.",
    )


def test_unnamed_columns_are_not_duplicates(tmp_path):
    text = _table().replace("a,b,y", ",,y").replace("\n0,0,", "\n50,0,")  # no row index
    splits = load_csv_table(_write(tmp_path, text), "y", seed=0)
    assert splits.feature_names == ("Unnamed: 0", "Unnamed: 1")


def test_single_column(tmp_path):
    _raises(
        _write(tmp_path, "y\n" + "".join(f"{i}\n" for i in range(12))),
        "{path}: only one column (y); a regression table needs a target column and at least "
        "one feature column, separated by commas.",
    )


def test_target_not_given(tmp_path):
    _raises(
        _write(tmp_path, _table()),
        "{path}: no target column given; choose one of the columns a, b, y with --target.",
        target=None,
    )


def test_target_missing(tmp_path):
    _raises(
        _write(tmp_path, _table()),
        "{path}: no target column 'price'; the columns are a, b, y. Choose one with --target.",
        target="price",
    )


def test_long_column_lists_are_cut(tmp_path):
    header = ",".join(f"c{j}" for j in range(30))
    path = _write(tmp_path, header + "\n" + ",".join("1" * 30) + "\n")
    shown = ", ".join(f"c{j}" for j in range(20))
    _raises(
        path,
        f"{{path}}: no target column 'y'; the columns are {shown}, ... (10 more). "
        "Choose one with --target.",
    )


def test_non_numeric_features(tmp_path):
    text = _table(header="a,b,y,city", extra=("Paris", "Rome"))
    text = text.replace("a,b,y,city", "a,zone,y,city").replace("\n8,2,", "\n8,north,")
    _raises(
        _write(tmp_path, text),
        "{path}: non-numeric feature column(s) zone (e.g. 'north'), city (e.g. 'Paris'); "
        "encode them as numbers (e.g. one-hot) or drop them.",
    )


def test_non_numeric_target(tmp_path):
    text = _table().replace(",4.5\n", ",high\n")
    _raises(
        _write(tmp_path, text),
        "{path}: target column 'y' is not numeric (e.g. 'high'); a regression needs a "
        "numeric target.",
    )


def test_missing_and_infinite_values(tmp_path):
    lines = _table().splitlines()
    lines[3] = "2,,3.0"  # b missing
    lines[6] = "5,,7.5"  # b missing
    lines[8] = "7,inf,10.5"  # b infinite
    lines[4] = "3,0,"  # y missing
    _raises(
        _write(tmp_path, "\n".join(lines) + "\n"),
        "{path}: missing or infinite values in 4 row(s): b (2 missing, 1 infinite), "
        "y (1 missing); fill them in or drop those rows.",
    )


def test_values_too_large_to_square(tmp_path):
    # finite, but a variance or an MSE of them overflows to inf
    lines = _table().splitlines()
    lines[1] = "1e308,0,0.0"
    lines[2] = "-2e200,1,1.5"
    _raises(
        _write(tmp_path, "\n".join(lines) + "\n"),
        "{path}: values too large to square in column(s) a (up to 1e+308); rescale them to "
        "magnitudes below 1e+150 (e.g. change their unit).",
    )
    lines[1] = "1e149,0,0.0"
    lines[2] = "-2e149,1,1.5"
    splits = load_csv_table(_write(tmp_path, "\n".join(lines) + "\n"), "y", seed=0)
    assert np.isfinite(splits.X_train).all()


def test_constant_target(tmp_path):
    text = "a,y\n" + "".join(f"{i},4\n" for i in range(12))
    _raises(
        _write(tmp_path, text),
        "{path}: target column 'y' is constant (every row is 4); a regression needs a target "
        "that varies.",
    )


def test_too_few_rows(tmp_path):
    _raises(
        _write(tmp_path, _table(rows=9)),
        "{path}: only 9 data row(s); the 60/20/20 train/validation/test split needs at least "
        "10 (at least 2 rows per part).",
    )
    splits = load_csv_table(_write(tmp_path, _table(rows=10)), "y", seed=0)
    assert splits.n_samples == (6, 2, 2)
