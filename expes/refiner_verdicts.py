"""Count, over committed refiner runs, what the README's "What the statistics support" states.

    python expes/refiner_verdicts.py                      # every OUTPUT_BACKUPS/*_refiners*
    python expes/refiner_verdicts.py OUTPUT_BACKUPS/hitters_refiners ...

Over the (run, sampler) cells of the runs' comparison sheets: for each refiner, the cells
where it beats hls on validation (Holm-adjusted paired Wilcoxon p < 0.05, more wins than
losses) and where hls beats it (the "+" and "-" of the README's tables); the cells where
each refiner has the lowest mean validation MSE; the cells where hls's test MSE differs
significantly from the start's, better or worse; and the (run, sampler, refiner) cells,
path excluded, whose mean validation MSE fell while the mean test MSE rose; and the end
points that did not reach the converged solver's gap.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def comparison_of(run_dir: Path) -> pd.DataFrame:
    """The comparison sheet of a run's (only) workbook."""
    [book] = sorted((run_dir / "results_summary").glob("results_summary_*.xlsx"))
    return pd.read_excel(book, sheet_name="comparison")


def verdicts(comparisons: dict[str, pd.DataFrame]) -> str:
    """The counts, as text lines."""
    rows = pd.concat([frame.assign(run=name) for name, frame in comparisons.items()])
    cells = rows.groupby(["run", "sampler"], sort=False)
    lines = [f"{len(comparisons)} runs, {cells.ngroups} (run, sampler) cells"]
    others = rows[rows.refiner != "hls"]
    significant = others.p_value_vs_hls < 0.05
    beats = significant & (others.wins_vs_hls > others.losses_vs_hls)
    loses = significant & ~beats
    for refiner in others.refiner.unique():
        mine = others.refiner == refiner
        lines.append(f"  {refiner:>16}: beats hls in {int((beats & mine).sum()):2d}, "
                     f"loses to it in {int((loses & mine).sum()):2d}")
    flat = rows.reset_index(drop=True)
    winners = flat.loc[flat.groupby(["run", "sampler"], sort=False).validation_mean.idxmin()]
    counts = winners.refiner.value_counts()
    lines.append("  lowest mean validation MSE: " + ", ".join(
        f"{name} {int(count)}" for name, count in counts.items()))
    hls = rows[rows.refiner == "hls"]
    test_significant = hls.p_value_test < 0.05
    lines.append(f"  hls test MSE significantly better than the start in "
                 f"{int((test_significant & (hls.test_change_mean < 0)).sum())}, worse in "
                 f"{int((test_significant & (hls.test_change_mean > 0)).sum())}")
    no_path = rows[rows.refiner != "path"]
    overfit = (no_path.validation_change_mean < 0) & (no_path.test_change_mean > 0)
    lines.append(f"  validation fell while test rose in {int(overfit.sum())} of "
                 f"{len(no_path)} (run, sampler, refiner) cells, path excluded")
    lines.append(f"  end points that did not reach the 1e-9 gap: {int(rows.unconverged.sum())}; "
                 f"largest end-point gap {rows.fit_gap_max.max():.2g}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dirs", nargs="*", type=Path,
                        help="--refiners run directories (default: OUTPUT_BACKUPS/*_refiners*)")
    args = parser.parse_args()
    run_dirs = args.run_dirs or sorted((ROOT / "OUTPUT_BACKUPS").glob("*_refiners*"))
    print(verdicts({path.name: comparison_of(path) for path in run_dirs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
