"""The README's reproduction table: published, fresh and replay side by side.

    python expes/reproduction_markdown.py

reads the published table (../shared/reference) and the two committed runs
(OUTPUT_BACKUPS/house_price_paper_line_search and OUTPUT_BACKUPS/house_price_replay) and
prints a markdown table: for each row of the paper (random, tpe, qmc, grid; mean, then
95% CI) the paper's numbers, the fresh run's and the replay's, losses in 1e8 dollars^2
(means to four decimals, CIs to two significant digits), run times in seconds; then the
relative differences of the means from the published ones.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = (ROOT.parent / "shared" / "reference"
             / "paper_house_price_results_100_trials_50_simulations.csv")
RUNS = {
    "fresh": ROOT / "OUTPUT_BACKUPS" / "house_price_paper_line_search" / "results_summary"
    / "results_summary_house_price_100_50.xlsx",
    "replay": ROOT / "OUTPUT_BACKUPS" / "house_price_replay" / "results_summary"
    / "results_summary_house_price_replay_100_50.xlsx",
}
HEADERS = ("train Optuna", "train HLS", "val Optuna", "val HLS", "test Optuna", "test HLS",
           "s Optuna", "s HLS")
SCALE = 1e8


def _cell(value: float, *, mean: bool, loss: bool) -> str:
    if not math.isfinite(value):
        return ""
    if loss:
        value /= SCALE
    if mean:
        return f"{value:.4f}" if loss else f"{value:.3g}"
    return "0" if value == 0 else f"{value:.2g}"


def tables(published: pd.DataFrame, runs: dict[str, pd.DataFrame]) -> str:
    """The two markdown tables (values; relative differences of the means)."""
    lines = ["| row | source | " + " | ".join(HEADERS) + " |",
             "|---|---|" + "---:|" * len(HEADERS)]
    sources = {"paper": published, **runs}
    for row in published.index:
        mean = row.endswith("_Mean")
        for name, table in sources.items():
            if row not in table.index:
                continue
            cells = [_cell(float(table.loc[row, column]), mean=mean, loss="Losses" in column)
                     for column in published.columns]
            lines.append(f"| {row} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "| row | source | " + " | ".join(HEADERS[:6]) + " |",
              "|---|---|" + "---:|" * 6]
    for row in (r for r in published.index if r.endswith("_Mean")):
        for name, table in runs.items():
            if row not in table.index:
                continue
            cells = []
            for column in published.columns[:6]:
                ours, theirs = float(table.loc[row, column]), float(published.loc[row, column])
                cells.append(f"{(ours - theirs) / abs(theirs):+.1e}")
            lines.append(f"| {row} | {name} vs paper | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    published = pd.read_csv(PUBLISHED, index_col=0)
    runs = {name: pd.read_excel(path, index_col=0) for name, path in RUNS.items()}
    print(tables(published, runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
