"""Write the public regression tables the refiner check runs on, as numeric CSV files.

Four tables the project's code was never tuned on, with 17-89 features and 157-465
training rows under the default 60/20/20 split:

- hitters.csv: ISLP ``Hitters`` (1986-87 MLB), the 263 rows with a salary, 19
  features, target Salary (k$);
- star98.csv: statsmodels ``star98`` (California STAR 1998, 303 districts), 20
  features, target the share of students above the national math median;
- boston_poly.csv: ISLP ``Boston`` (506 tracts), all degree-2 products of its 12
  features (89 features), target medv (k$);
- college.csv: ISLP ``College`` (US News 1995, 777 colleges), 17 features, target Apps
  (applications received).

The raw tables ship inside two packages' wheels; no network is needed beyond pip::

    pip download --no-deps -d /tmp/pkgs islp statsmodels
    python expes/public_tables.py /tmp/pkgs /tmp/tables

Categorical columns with two levels become 0/1 columns (League A/N, Division E/W,
NewLeague A/N, Private No/Yes); ``boston_poly`` keeps each product once (chas^2 = chas
is dropped). Nothing is scaled here: the loader standardises on each training split.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from itertools import combinations_with_replacement
from pathlib import Path

import pandas as pd


def _read(wheels: Path, pattern: str, member: str) -> pd.DataFrame:
    matches = sorted(wheels.glob(pattern))
    if not matches:
        raise SystemExit(f"error: no {pattern} in {wheels}; run "
                         f"'pip download --no-deps -d {wheels} islp statsmodels' first.")
    with zipfile.ZipFile(matches[-1]) as wheel:
        return pd.read_csv(io.BytesIO(wheel.read(member)))


def hitters(wheels: Path) -> pd.DataFrame:
    frame = _read(wheels, "islp-*.whl", "ISLP/data/Hitters.csv").dropna(subset=["Salary"])
    for column, level in (("League", "N"), ("Division", "W"), ("NewLeague", "N")):
        frame[column] = (frame[column] == level).astype(float)
    return frame.reset_index(drop=True)


def star98(wheels: Path) -> pd.DataFrame:
    frame = _read(wheels, "statsmodels-*.whl", "statsmodels/datasets/star98/star98.csv")
    share = frame.pop("PR50M") / frame.pop("MATHTOT")  # above the median / tested
    frame["share_above_median"] = share
    return frame


def boston_poly(wheels: Path) -> pd.DataFrame:
    frame = _read(wheels, "islp-*.whl", "ISLP/data/Boston.csv")
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed")])
    target = frame.pop("medv")
    columns = list(frame.columns)
    products = {}
    for a, b in combinations_with_replacement(columns, 2):
        if a == b == "chas":
            continue  # a 0/1 column: chas^2 is chas
        products[f"{a}*{b}" if a != b else f"{a}^2"] = frame[a] * frame[b]
    out = pd.concat([frame, pd.DataFrame(products)], axis=1)
    out["medv"] = target
    return out


def college(wheels: Path) -> pd.DataFrame:
    frame = _read(wheels, "islp-*.whl", "ISLP/data/College.csv")
    frame = frame.drop(columns=[c for c in frame.columns if c.startswith("Unnamed")])
    frame["Private"] = (frame["Private"] == "Yes").astype(float)
    target = frame.pop("Apps")
    frame["Apps"] = target
    return frame


#: file stem -> (builder, target column)
TABLES = {"hitters": (hitters, "Salary"), "star98": (star98, "share_above_median"),
          "boston_poly": (boston_poly, "medv"), "college": (college, "Apps")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wheels", type=Path, help="directory with the islp and statsmodels wheels")
    parser.add_argument("out", type=Path, help="directory to write the CSV files to")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for stem, (build, target) in TABLES.items():
        frame = build(args.wheels)
        path = args.out / f"{stem}.csv"
        frame.to_csv(path, index=False)
        print(f"{path}: {frame.shape[0]} rows, {frame.shape[1] - 1} features, target {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
