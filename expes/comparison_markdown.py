"""Print a run's comparison sheet as the Markdown tables of the README's Results section.

    python expes/comparison_markdown.py OUTPUT_BACKUPS/house_price_refiners_paper_space

One table per sampler, one row per refiner: the validation change against the Optuna
start (mean and Student-t 95% CI, in %), wins/ties/losses against the start and against
hls with their Holm-adjusted Wilcoxon p-values, the test change (%, CI), test
better/worse counts and p-value, the gap to the reference optimum (%), fits and early
stops. ``--compact`` prints one table for all samplers with fewer columns, ``--readme``
the refiners x samplers table of the README (see ``readme``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def _p(value: float) -> str:
    if pd.isna(value):
        return "-"
    return f"{value:.2g}" if value >= 0.001 else "<0.001"


def _pct(mean: float, ci: float) -> str:
    return f"{100 * mean:+.3g} ± {100 * ci:.2g}"


def _wtl(row: pd.Series, against: str) -> str:
    if pd.isna(row[f"wins_vs_{against}"]):
        return "-"
    return (f"{int(row[f'wins_vs_{against}'])}/{int(row[f'ties_vs_{against}'])}/"
            f"{int(row[f'losses_vs_{against}'])}")


def markdown(comparison: pd.DataFrame, sampler: str) -> str:
    """The table of one sampler."""
    lines = [
        "| refiner | val change % | W/T/L vs start | p | W/T/L vs hls | p | test change % | "
        "test better/worse | p | gap to ref. % | fits | early stops |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for _, row in comparison[comparison.sampler == sampler].iterrows():
        early = f"{int(row.stopped_early)}" + (f" ({row.stop_reasons})"
                                                if isinstance(row.stop_reasons, str) else "")
        lines.append(
            f"| {row.refiner} | {_pct(row.validation_change_mean, row.validation_change_ci95)} "
            f"| {_wtl(row, 'start')} | {_p(row.p_value_vs_start)} | {_wtl(row, 'hls')} | "
            f"{_p(row.p_value_vs_hls)} | {_pct(row.test_change_mean, row.test_change_ci95)} | "
            f"{int(row.test_improved)}/{int(row.test_worse)} | {_p(row.p_value_test)} | "
            f"{100 * row.reference_gap_mean:.3g} | {row.fits_mean:.0f} | {early} |")
    return "\n".join(lines)


def compact(comparison: pd.DataFrame) -> str:
    """All samplers: validation change (W/T/L vs hls, p), test change, gap to the reference."""
    lines = ["| sampler | refiner | val change % | W/T/L vs hls (p) | test change % "
             "(better/worse) | gap to ref. % |", "|---|---|---:|---:|---:|---:|"]
    for _, row in comparison.iterrows():
        vs_hls = "-" if row.refiner == "hls" else f"{_wtl(row, 'hls')} ({_p(row.p_value_vs_hls)})"
        lines.append(
            f"| {row.sampler} | {row.refiner} | "
            f"{_pct(row.validation_change_mean, row.validation_change_ci95)} | {vs_hls} | "
            f"{_pct(row.test_change_mean, row.test_change_ci95)} "
            f"({int(row.test_improved)}/{int(row.test_worse)}) | "
            f"{100 * row.reference_gap_mean:.3g} |")
    return "\n".join(lines)


def readme(comparison: pd.DataFrame) -> str:
    """Refiners x samplers; cell: validation change % / test change % (test better/worse).

    Markers (Holm-adjusted paired Wilcoxon p < 0.05): on the validation change, "+" the
    refiner beat hls, "-" hls beat it (for hls itself: "*" it changed the start); on the
    test change, "*" it differs from the start's test MSE.
    """
    samplers = list(comparison.sampler.unique())
    lines = ["| refiner | " + " | ".join(samplers) + " |", "|---|" + "---:|" * len(samplers)]
    for refiner in comparison.refiner.unique():
        cells = []
        for sampler in samplers:
            row = comparison[(comparison.refiner == refiner)
                             & (comparison.sampler == sampler)].iloc[0]
            if refiner == "hls":
                mark = "*" if row.p_value_vs_start < 0.05 else ""
            elif row.p_value_vs_hls < 0.05:
                mark = "+" if row.wins_vs_hls > row.losses_vs_hls else "-"
            else:
                mark = ""
            test_mark = "*" if row.p_value_test < 0.05 else ""
            cells.append(f"{100 * row.validation_change_mean:+.2f}{mark} / "
                         f"{100 * row.test_change_mean:+.2f}{test_mark} "
                         f"({int(row.test_improved)}/{int(row.test_worse)})")
        lines.append(f"| {refiner} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="an output directory of a --refiners run")
    parser.add_argument("--compact", action="store_true", help="one table, fewer columns")
    parser.add_argument("--readme", action="store_true",
                        help="refiners x samplers, validation / test change per cell")
    args = parser.parse_args()
    books = sorted((args.run_dir / "results_summary").glob("results_summary_*.xlsx"))
    if not books:
        print(f"error: no results_summary_*.xlsx under {args.run_dir}", file=sys.stderr)
        return 2
    comparison = pd.read_excel(books[-1], sheet_name="comparison")
    settings = pd.read_excel(books[-1], sheet_name="settings").set_index("setting")["value"]
    summary = pd.read_excel(books[-1], sheet_name="summary", index_col=0)
    print(f"<!-- {books[-1]}; {settings.get('dataset_shapes', '')}; reference: "
          f"{settings.get('reference_optimum', '')} -->")
    if args.compact:
        print(compact(comparison))
        return 0
    if args.readme:
        print(readme(comparison))
        return 0
    for sampler in comparison.sampler.unique():
        start = summary.loc[f"{sampler}_Mean"]
        print(f"\n{sampler} (start: validation {start['Validation_Losses_optuna']:.6g}, test "
              f"{start['Testing_Losses_optuna']:.6g}; reference validation "
              f"{settings.get('reference_val_mse', '')}):\n")
        print(markdown(comparison, sampler))
    return 0


if __name__ == "__main__":
    sys.exit(main())
