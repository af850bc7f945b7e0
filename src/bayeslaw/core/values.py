"""Whether a run table's values can be fitted: each column a positive finite number, and the columns' conventions.

:func:`numeric` reads one column as float64 and lists its problems (text that is not a number, missing or
infinite values, zero or negative sizes) with row numbers; a column that is already numeric takes a fast path
with no per-value Python work, so that tables of millions of rows load in seconds (:func:`duplicated_rows` finds
repeated rows by hashing, for the same reason). :func:`check_flops_convention` and :func:`unique_within_tokens`
check conventions across columns (C = k N D; unique tokens U within D).
:mod:`bayeslaw.core.runs` calls them while it loads a table.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError
from .tables import row_list


def numeric(series: pd.Series, col: str, canon: str) -> tuple[pd.Series, list[str]]:
    """The column as float64 and its problems (sentences naming the rows); ``canon`` is the variable it holds."""
    label = f"column {col!r}" + (f" ({canon})" if canon != col else "")
    errs: list[str] = []
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(np.float64)   # numbers already: nothing can be text (a lazy copy under pandas 3)
    else:
        is_bool = series.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
        values = pd.to_numeric(series.where(~is_bool), errors="coerce")
        bad_text = is_bool | (values.isna() & series.notna() & (series.astype(str).str.strip().str.lower() != "nan"))
        if bad_text.any():
            rows = list(series.index[bad_text])
            errs.append(f"{label} has text that is not a number in {row_list(rows)} (e.g. "
                        f"{_plain(series[rows[0]])!r}); fix or remove those rows")
            values = values.where(~bad_text, 1.0)
        values = values.astype(float)
    nonfinite = ~np.isfinite(values)
    if nonfinite.any():
        rows = list(series.index[nonfinite])
        errs.append(f"{label} is missing, NaN or infinite in {row_list(rows)}; remove those rows or fill in the values")
    nonpos = np.isfinite(values) & (values <= 0)
    if nonpos.any():
        rows = list(series.index[nonpos])
        what = "the loss" if canon == "loss" else f"a size ({canon})"
        errs.append(f"{label} has zero or negative values in {row_list(rows)} (e.g. {values[rows[0]]:g}); "
                    f"{what} must be positive because laws are fitted in log space, so remove or correct those rows")
    return values, errs


def duplicated_rows(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Which rows equal another row in ``columns`` (every copy marked, as ``duplicated(keep=False)``), found by
    hashing each row once (a vectorised pass, seconds for millions of rows) and comparing exactly only the rows
    whose hashes collide."""
    hashes = pd.util.hash_pandas_object(frame[columns], index=False)
    candidates = hashes.duplicated(keep=False).to_numpy()
    out = pd.Series(False, index=frame.index)
    if candidates.any():
        out[candidates] = frame.loc[candidates, columns].duplicated(keep=False).to_numpy()
    return out


def check_flops_convention(frame: pd.DataFrame, mapping: Mapping[str, str], k: float, name: str) -> None:
    """Refuse a C column that follows another C = k N D convention than the fit's, in every run alike
    (e.g. 18 N D, counting the backward pass twice, against k = 6): decisions in compute would be off by that
    factor. Ratios that vary between runs (different architectures) are left alone."""
    ratio = (frame["C"] / (frame["N"] * frame["D"])).to_numpy(float)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    if ratio.size == 0:
        return
    lo, hi, mid = float(ratio.min()), float(ratio.max()), float(np.median(ratio))
    if hi / lo < 1.01 and abs(mid / k - 1) > 0.01:
        raise DataError(f"{name}: column {mapping.get('C', 'C')!r} is {mid:.4g} N D in every run, but the fit assumes "
                        f"C = {k:g} N D; pass flops_per_param_token={mid:.4g} (--flops-per-token {mid:.4g}) so compute "
                        "means the same in the data and in the decisions.")


def unique_within_tokens(out: pd.DataFrame, mapping: Mapping[str, str], derived: Mapping[str, str]) -> list[str]:
    """Unique tokens U cannot exceed the tokens D seen in training (a relative 1e-9 allows rounding)."""
    over = out["U"] > out["D"] * (1 + 1e-9)
    if not over.any():
        return []
    rows = list(out.index[over])
    r = rows[0]
    d_col = f"D ({derived['D']})" if "D" in derived else f"column {mapping['D']!r}"
    u_col = f"column {mapping['U']!r}" + (" (U)" if mapping["U"] != "U" else "")
    return [f"{u_col} is larger than the tokens {d_col} in {row_list(rows)} (e.g. U = {out.at[r, 'U']:g} > "
            f"D = {out.at[r, 'D']:g}); unique tokens cannot exceed the tokens seen in training, so correct "
            "those rows or map the right columns"]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (so messages show True, not np.True_)."""
    return value.item() if isinstance(value, np.generic) else value
