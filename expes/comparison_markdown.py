"""Print a run's comparison sheet as the Markdown table of the README's Results section.

    python expes/comparison_markdown.py OUTPUT_BACKUPS/house_price_refiners_paper_space
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def markdown(comparison: pd.DataFrame, scale: float) -> str:
    """Rows (sampler, refiner): validation and test means with 95% CIs in units of
    ``scale``, fits, seconds, grid gap, and the improved / worse-than-start counts."""
    lines = [
        "| sampler | refiner | validation (95% CI) | test (95% CI) | fits | s | grid gap | "
        "improved | worse |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for sampler in comparison.sampler.unique():
        for _, row in comparison[comparison.sampler == sampler].iterrows():
            lines.append(
                f"| {sampler} | {row.refiner} | {row.validation_mean / scale:.4f} "
                f"(±{row.validation_ci95 / scale:.4f}) | {row.test_mean / scale:.4f} "
                f"(±{row.test_ci95 / scale:.4f}) | {row.fits_mean:.1f} | {row.seconds_mean:.2f} | "
                f"{row.grid_gap_mean:+.4f} | {row.improved}/{row.simulations} | "
                f"{row.worse_than_start} |"
            )
    return "\n".join(lines)


def compact(comparison: pd.DataFrame, summary: pd.DataFrame, scale: float) -> str:
    """Rows: the Optuna start, then each refiner; columns: samplers; cells: validation
    mean ± 95% CI in units of ``scale``, then the grid gap in brackets."""
    samplers = list(comparison.sampler.unique())
    lines = ["| refiner | " + " | ".join(samplers) + " |", "|---|" + "---:|" * len(samplers)]
    start = [
        f"{summary.loc[f'{s}_Mean', 'Validation_Losses_optuna'] / scale:.4f} "
        f"(±{summary.loc[f'{s}_95% CI', 'Validation_Losses_optuna'] / scale:.4f})"
        for s in samplers
    ]
    lines.append("| Optuna (start) | " + " | ".join(start) + " |")
    for refiner in comparison.refiner.unique():
        cells = []
        for sampler in samplers:
            row = comparison[(comparison.refiner == refiner) & (comparison.sampler == sampler)]
            row = row.iloc[0]
            cells.append(f"{row.validation_mean / scale:.4f} (±{row.validation_ci95 / scale:.4f})"
                         f" [{row.grid_gap_mean:+.4f}]")
        lines.append(f"| {refiner} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="an output directory of a --refiners run")
    parser.add_argument("--scale", type=float, default=1e8, help="loss unit (default 1e8)")
    parser.add_argument("--compact", action="store_true",
                        help="refiners x samplers, validation (grid gap) per cell")
    args = parser.parse_args()
    books = sorted((args.run_dir / "results_summary").glob("results_summary_*.xlsx"))
    if not books:
        print(f"error: no results_summary_*.xlsx under {args.run_dir}", file=sys.stderr)
        return 2
    comparison = pd.read_excel(books[-1], sheet_name="comparison")
    settings = pd.read_excel(books[-1], sheet_name="settings").set_index("setting")["value"]
    print(f"<!-- {books[-1]}; grid: {settings.get('validation_grid', '')}; "
          f"best: {settings.get('validation_grid_best', '')} -->")
    if args.compact:
        summary = pd.read_excel(books[-1], sheet_name="summary", index_col=0)
        print(compact(comparison, summary, args.scale))
    else:
        print(markdown(comparison, args.scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
