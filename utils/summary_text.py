"""The paper's summary table as plain text for the terminal, in readable units.

Losses are divided by one power of ten chosen from the data (e.g. 1e8 for house-price
MSEs in dollars^2), means get four decimals and 95% CIs two significant digits; run
times stay in seconds. The numbers are those of the workbook's ``summary`` sheet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["SHORT_HEADERS", "format_summary", "loss_scale"]

#: The paper's columns, shortened for the terminal, in the paper's order.
SHORT_HEADERS = {
    "Training_Losses_optuna": "train Optuna",
    "Training_Losses_hls": "train HLS",
    "Validation_Losses_optuna": "val Optuna",
    "Validation_Losses_hls": "val HLS",
    "Testing_Losses_optuna": "test Optuna",
    "Testing_Losses_hls": "test HLS",
    "Runtimes_optuna": "s Optuna",
    "Runtimes_hls": "s HLS",
}
_LOSS_COLUMNS = tuple(name for name in SHORT_HEADERS if "Losses" in name)


def loss_scale(summary: pd.DataFrame) -> int:
    """The power of ten k such that the loss means read as numbers near 1 to 10 in 10^k.

    Parameters
    ----------
    summary : DataFrame
        The summary table (``utils.excel_summary.summary_table``).

    Returns
    -------
    k : int
        floor(log10) of the median absolute loss mean; 0 when there is none.
    """
    means = summary.loc[summary.index.str.endswith("_Mean"),
                        [c for c in _LOSS_COLUMNS if c in summary.columns]]
    values = np.abs(means.to_numpy(dtype=np.float64).ravel())
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return 0
    return math.floor(math.log10(float(np.median(values))))


def _cell(value: float, *, mean: bool, digits: int) -> str:
    if not math.isfinite(value):
        return "n/a" if (math.isnan(value) and not mean) else f"{value}"
    if mean:
        return f"{value:.{digits}f}"
    if value == 0:
        return "0"
    return f"{value:.2g}"


def format_summary(
    summary: pd.DataFrame,
    *,
    title: str,
    target_units: str = "target units",
    rows: Sequence[str] | None = None,
) -> str:
    """The summary table as aligned text lines.

    Parameters
    ----------
    summary : DataFrame of shape (2 * n_samplers, 8)
        Rows ``{sampler}_Mean`` and ``{sampler}_95% CI``, the paper's columns.
    title : str
        First line, e.g. "house_price: 100 trials x 50 simulations".
    target_units : str
        Units of the target ("dollars"): losses are shown in 10^k target_units^2.
    rows : sequence of str, optional
        Row labels to show, in order (default: the table's).

    Returns
    -------
    text : str
        The title with the units, a header line and one line per row; a CI that is not
        computable (one simulation) shows as "n/a".
    """
    k = loss_scale(summary)
    scale = 10.0 ** k
    unit = f"{target_units}^2" if k == 0 else f"1e{k} {target_units}^2"
    columns = [c for c in SHORT_HEADERS if c in summary.columns]
    labels = list(summary.index if rows is None else rows)
    table = [["", *(SHORT_HEADERS[c] for c in columns)]]
    for label in labels:
        is_mean = str(label).endswith("_Mean")
        cells = [str(label)]
        for column in columns:
            value = float(summary.loc[label, column])
            if column in _LOSS_COLUMNS:
                cells.append(_cell(value / scale, mean=is_mean, digits=4))
            else:
                cells.append(_cell(value, mean=is_mean, digits=3))
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines = [f"{title}: losses (MSE) in {unit}, run times in seconds per simulation"]
    for row in table:
        first = row[0].ljust(widths[0])
        rest = "  ".join(cell.rjust(width) for cell, width in zip(row[1:], widths[1:],
                                                                  strict=True))
        lines.append(f"{first}  {rest}")
    return "\n".join(lines)
