"""CSV tables as users really save them, and files that are no tables at all (issue 14).

A FIFO must not block; a semicolon table with decimal commas, a saved pandas index and a
tab-separated table are read correctly (and the user told how); every problem of a
table comes in one message; few rows and a split whose training target is constant are
said out loud.
"""

from __future__ import annotations

import os
import re
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

from datasets.csv_table import load_csv_table
from datasets.splits import split_sizes
from utils.errors import InputError, RunWarning


def _frame(n_rows: int = 100, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(size=n_rows), 3)
    b = np.round(rng.uniform(-5, 5, size=n_rows), 2)
    return pd.DataFrame({"a": a, "b": b, "y": np.round(2.0 * a - b + 0.25, 4)})


def _all_rows(splits) -> np.ndarray:
    """Every (unstandardised target) value, sorted: independent of the split."""
    return np.sort(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))


def _load_quietly(path, target="y", seed=0):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        splits = load_csv_table(path, target, seed=seed)
    return splits, [str(w.message) for w in caught if issubclass(w.category, RunWarning)]


def test_a_fifo_is_refused_at_once_instead_of_blocking(tmp_path):
    fifo = tmp_path / "table.csv"
    os.mkfifo(fifo)
    outcome = {}

    def load():
        try:
            load_csv_table(fifo, "y", seed=0)
        except InputError as error:
            outcome["error"] = str(error)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    try:
        assert not thread.is_alive(), "reading a FIFO blocked"
    finally:
        if thread.is_alive():  # unblock the reader: open and close the writing end
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            thread.join(5)
    assert re.fullmatch(rf"{re.escape(str(fifo))} is not a regular file \(a pipe, socket or "
                        r"device, which may never end\); save the table to a file and give "
                        r"that file's path\.", outcome["error"])


def test_semicolons_and_decimal_commas_are_read_and_said(tmp_path):
    frame = _frame()
    path = tmp_path / "european.csv"
    text = frame.to_csv(sep=";", index=False, decimal=",")
    assert "," in text  # really decimal commas
    assert "." not in text
    path.write_text(text)
    splits, notes = _load_quietly(path)
    np.testing.assert_array_equal(_all_rows(splits), np.sort(frame["y"].to_numpy()))
    assert splits.feature_names == ("a", "b")
    assert notes == [f"{path}: read as a semicolon-separated table with decimal commas."]


def test_tabs_with_decimal_points_are_read(tmp_path):
    frame = _frame()
    path = tmp_path / "tabs.csv"
    path.write_text(frame.to_csv(sep="\t", index=False))
    splits, notes = _load_quietly(path)
    np.testing.assert_array_equal(_all_rows(splits), np.sort(frame["y"].to_numpy()))
    assert notes == [f"{path}: read as a tab-separated table."]


@pytest.mark.parametrize("shuffled", [False, True], ids=["in-order", "shuffled"])
def test_a_saved_pandas_index_is_not_a_feature(tmp_path, shuffled):
    frame = _frame()
    if shuffled:
        frame = frame.sample(frac=1.0, random_state=3)
    path = tmp_path / "with_index.csv"
    frame.to_csv(path)  # pandas' default: the index as an unnamed first column
    splits, notes = _load_quietly(path)
    assert splits.feature_names == ("a", "b")
    reference, _ = _load_quietly(_saved(tmp_path / "plain.csv", frame))
    np.testing.assert_array_equal(splits.X_train, reference.X_train)
    assert notes == [f"{path}: read without its first column ('Unnamed: 0'): it has no name "
                     "and numbers the rows, a saved row index, not a feature (name the column "
                     "to keep it)."]


def _saved(path, frame):
    frame.to_csv(path, index=False)
    return path


def test_an_unnamed_first_column_that_is_data_stays_a_feature(tmp_path):
    frame = _frame()
    frame.insert(0, "", np.arange(100) * 3)  # unnamed, but not 0..n-1
    splits, notes = _load_quietly(_saved(tmp_path / "t.csv", frame))
    assert splits.feature_names == ("Unnamed: 0", "a", "b")
    assert notes == []


def test_every_problem_of_a_table_in_one_message(tmp_path):
    lines = _frame(12).to_csv(index=False).splitlines()
    lines[0] = "a,b,y,city"
    lines[1:] = [f"{line},Paris" for line in lines[1:]]
    lines[3] = "0.5,,1.0,Rome"  # b missing
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        load_csv_table(path, "y", seed=0)
    assert str(info.value) == (
        f"{path}: 2 problems. (1) non-numeric feature column(s) city (e.g. 'Paris'); encode "
        "them as numbers (e.g. one-hot) or drop them. (2) missing or infinite values in 1 "
        "row(s): b (1 missing); fill them in or drop those rows."
    )


def test_quoted_decimal_commas_are_named_in_the_message(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text("a,y\n" + "".join(f'"{i},5",{i}\n' for i in range(12)))
    with pytest.raises(InputError, match=r"non-numeric feature column\(s\) a \(e\.g\. '0,5'\); "
                       r"encode them as numbers \(e\.g\. one-hot\) or drop them \('0,5' looks "
                       r"like a number with a decimal comma: write '0\.5', or separate the "
                       r"fields with ';'\)\.$"):
        load_csv_table(path, "y", seed=0)


def test_few_rows_for_the_features_are_warned_about(tmp_path):
    splits, notes = _load_quietly(_saved(tmp_path / "small.csv", _frame(10)))
    assert splits.n_samples == (6, 2, 2)
    assert notes == [f"{tmp_path / 'small.csv'}: only 6 training and 2 validation rows for 2 "
                     "feature(s); the tuned (l1, l2) and the losses will be noisy (advised: 10 "
                     "training rows per feature and 20 validation rows or more)."]
    _, notes = _load_quietly(_saved(tmp_path / "enough.csv", _frame(100)))
    assert notes == []


def test_a_split_whose_training_target_is_constant_is_refused(tmp_path):
    n_rows, seed = 30, 4
    _, n_val, n_test = split_sizes(n_rows)
    # the documented split: the first n_test rows of the seeded permutation are the test
    # part, the next n_val the validation part, the rest the training part
    held_out = np.random.default_rng(seed).permutation(n_rows)[: n_test + n_val]
    frame = _frame(n_rows)
    frame["y"] = 5.0
    frame.loc[held_out, "y"] = np.arange(1.0, n_test + n_val + 1.0)
    path = _saved(tmp_path / "mostly_constant.csv", frame)
    with pytest.raises(InputError) as info:
        load_csv_table(path, "y", seed=seed)
    assert str(info.value) == (
        f"{path}: the training part of the split (--seed 4) has a constant target (all 18 "
        "rows are 5); nothing can be learnt from it: choose another --seed or give a table "
        "whose target varies more."
    )
