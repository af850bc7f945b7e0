"""The contract every result shares: the default interval, and tables as strict-JSON records.

Every result object (a fit, a prediction, a decision, a comparison, a backtest, a
cross-validation, a stack) has ``.table`` (a DataFrame with a named index), ``.to_records()``
(JSON-able dicts) and, where draws exist, ``.idata`` (a DataTree) and ``.draws(name)``.
Intervals are named ``<quantity>_lower`` / ``<quantity>_upper`` (``lower`` / ``upper`` in a
parameter table), and their probability mass is the result's ``ci_prob``: by default ArviZ's
``rcParams["stats.ci_prob"]`` (0.89 unless you set it), or the ``ci_prob=`` you pass.
Ranks count from 0 for the best, as ``arviz_stats.compare`` does.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np
import pandas as pd
from arviz_base import rcParams

from ..errors import BayeslawError


def resolve_ci_prob(ci_prob: float | None = None, *, low: float = 0.0) -> float:
    """``ci_prob``, or ArviZ's ``rcParams["stats.ci_prob"]`` when None; checked to lie in (low, 1)."""
    value = rcParams["stats.ci_prob"] if ci_prob is None else ci_prob
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < value < 1:
        raise BayeslawError(f"ci_prob must be a probability between {low:g} and 1 (e.g. 0.9); got {value!r}.")
    return float(value)


def json_value(v: Any) -> Any:
    """A JSON-safe scalar: Python numbers and strings, None for NaN and infinities (strict JSON has neither)."""
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): json_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [json_value(x) for x in v]
    return str(v)


def table_records(table: pd.DataFrame, **extra: Any) -> list[dict[str, Any]]:
    """One JSON-safe dict per row: the index under its name, then the columns, then ``extra``."""
    name = table.index.name or "index"
    out = []
    for label, row in table.iterrows():
        rec = {name: json_value(label)}
        rec.update({str(k): json_value(v) for k, v in row.items()})
        rec.update({k: json_value(v) for k, v in extra.items()})
        out.append(rec)
    return out
