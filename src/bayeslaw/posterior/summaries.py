"""Posterior summaries shared by every result with draws: medians and equal-tailed intervals.

One rule, in one place: a quantity's draws (draws on the first axis) become three columns,
``<name>_median``, ``<name>_lower`` and ``<name>_upper``, the equal-tailed ``ci_prob``
interval. Draws that are infinite (a target some draws never reach) are summarised without
interpolating across them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def quantile_levels(ci_prob: float) -> list[float]:
    """The lower, median and upper quantile levels of an equal-tailed ``ci_prob`` interval."""
    return [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2]


def interval(draws: np.ndarray, ci_prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, median, upper) over the first axis of ``draws``."""
    arr = np.asarray(draws, float)
    method = "inverted_cdf" if np.isinf(arr).any() else "linear"
    lo, med, hi = np.quantile(arr, quantile_levels(ci_prob), axis=0, method=method)
    return lo, med, hi


def summarise(draws: np.ndarray, name: str, ci_prob: float, index: pd.Index | None = None) -> pd.DataFrame:
    """``<name>_median``, ``<name>_lower``, ``<name>_upper`` of draws (draws x items), one row per item."""
    lo, med, hi = interval(draws, ci_prob)
    return pd.DataFrame({f"{name}_median": np.atleast_1d(med), f"{name}_lower": np.atleast_1d(lo),
                         f"{name}_upper": np.atleast_1d(hi)}, index=index)
