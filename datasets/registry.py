"""One entry point for every data set: a known name, or the path of a CSV table."""

from __future__ import annotations

from collections.abc import Callable

from datasets.california_housing import load_california_housing
from datasets.csv_table import load_csv_table
from datasets.diabetes import load_diabetes
from datasets.house_price import load_house_price
from datasets.simulation import load_simulation
from datasets.splits import Splits
from utils.errors import InputError

#: Names `load_dataset` knows, in the order the command line lists them.
DATASET_NAMES = ("house_price", "california_housing", "simulation", "diabetes")


def _load_diabetes(seed: int) -> Splits:
    return load_diabetes(seed=seed)


# The paper's three data sets have fixed splits; only diabetes uses the seed.
_LOADERS: dict[str, Callable[[int], Splits]] = {
    "house_price": lambda seed: load_house_price(),
    "california_housing": lambda seed: load_california_housing(),
    "simulation": lambda seed: load_simulation(),
    "diabetes": _load_diabetes,
}


def load_dataset(name: str, *, target: str | None = None, seed: int = 0) -> Splits:
    """Load a data set by name, or a user's CSV table by path.

    Parameters
    ----------
    name : str
        One of `DATASET_NAMES`, or a path ending in ``.csv`` (any case).
    target : str, optional
        Target column of a CSV table (required for one); must be None for the
        named data sets, whose targets are fixed.
    seed : int, default 0
        Seed of the 60/20/20 split of diabetes and CSV tables. house_price,
        california_housing and simulation ignore it: their splits are the paper's.

    Returns
    -------
    Splits

    Raises
    ------
    InputError
        For an unknown name, a target given for a named data set, or any problem
        with a CSV table (see `datasets.csv_table.load_csv_table`).
    """
    if name in _LOADERS:
        if target is not None:
            raise InputError(
                f"--target applies to CSV tables only; the data set {name!r} has a fixed target "
                "(drop --target)."
            )
        return _LOADERS[name](seed)
    if name.lower().endswith(".csv"):
        return load_csv_table(name, target, seed=seed)
    raise InputError(
        f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}, or give the path "
        "of a .csv file together with --target COLUMN."
    )
