"""The contract every result shares: the default interval, and tables as strict-JSON records.

Every result object (a fit, a prediction, a decision, a comparison, a backtest, a
cross-validation, a stack) has ``.table`` (a DataFrame with a named index), ``.to_records()``
(JSON-able dicts) and, where draws exist, ``.idata`` (a DataTree) and ``.draws(name)``.
Intervals are named ``<quantity>_lower`` / ``<quantity>_upper`` (``lower`` / ``upper`` in a
parameter table), and their probability mass is the result's ``ci_prob``: by default ArviZ's
``rcParams["stats.ci_prob"]`` (0.89 unless you set it), or the ``ci_prob=`` you pass.
Ranks count from 0 for the best, as ``arviz_stats.compare`` does.

Non-finite numbers (an infinite compute that is never reached, an R-hat that one chain cannot
give, an overflowing loss) have one representation in every JSON bayeslaw writes: the value is
``null`` and the object that holds it gets a ``non_finite`` member naming the key and what the
number was, e.g. ``{"median": null, "lower": null, "upper": 3.1, "non_finite": {"median": "inf",
"lower": "inf"}}`` (``"inf"``, ``"-inf"`` or ``"nan"``; an item of a list is named ``key[i]``). A
``null`` without that flag means "not applicable".
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Mapping

import numpy as np
import pandas as pd
from arviz_base import rcParams

from ..errors import BayeslawError, shown


def resolve_ci_prob(ci_prob: float | None = None, *, low: float = 0.0) -> float:
    """``ci_prob``, or ArviZ's ``rcParams["stats.ci_prob"]`` when None; checked to lie in (low, 1)."""
    value = rcParams["stats.ci_prob"] if ci_prob is None else ci_prob
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < value < 1:
        raise BayeslawError(f"ci_prob must be a probability between {low:g} and 1 (e.g. 0.9); got {shown(value)}.")
    return float(value)


def non_finite_kind(v: Any) -> str | None:
    """``"inf"``, ``"-inf"`` or ``"nan"`` for a non-finite real number, else None."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or isinstance(v, numbers.Integral):
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def json_value(v: Any) -> Any:
    """A JSON-safe value: Python numbers and strings, None for NaN and infinities (strict JSON has neither).

    In a mapping, each non-finite number becomes None and is named in the mapping's ``non_finite``
    member (see the module docstring); NumPy scalars become Python ones.
    """
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, Mapping):
        out: dict[str, Any] = {}
        flags: dict[str, str] = dict(v.get("non_finite") or {}) if isinstance(v.get("non_finite"), Mapping) else {}
        for k, x in v.items():
            if k == "non_finite":
                continue
            kind = non_finite_kind(x)
            if kind is not None:
                flags[str(k)] = kind
            elif isinstance(x, (list, tuple, np.ndarray)):
                for i, item in enumerate(np.asarray(x, dtype=object).ravel() if isinstance(x, np.ndarray) else x):
                    item_kind = non_finite_kind(item)
                    if item_kind is not None:
                        flags[f"{k}[{i}]"] = item_kind
            out[str(k)] = json_value(x)
        if flags:
            out["non_finite"] = flags
        return out
    if isinstance(v, (list, tuple, np.ndarray)):
        return [json_value(x) for x in v]
    return str(v)


def strict_json(doc: Any, **kwargs: Any) -> str:
    """``doc`` as strict JSON text (non-finite numbers as null plus a ``non_finite`` flag; never NaN or
    Infinity); ``kwargs`` go to :func:`json.dumps` (e.g. ``indent=2``)."""
    return json.dumps(json_value(doc), allow_nan=False, **kwargs)


def restore_non_finite(doc: Any) -> Any:
    """The inverse of :func:`json_value`'s flags: each ``null`` named in a ``non_finite`` member is the
    number again (used when bayeslaw reads back JSON it wrote, such as a fit's ``spec.json``)."""
    if isinstance(doc, list):
        return [restore_non_finite(x) for x in doc]
    if not isinstance(doc, dict):
        return doc
    flags = doc.get("non_finite") if isinstance(doc.get("non_finite"), dict) else {}
    out = {k: restore_non_finite(v) for k, v in doc.items() if not (flags and k == "non_finite")}
    for key, kind in flags.items():
        name, _, index = key.partition("[")
        if name in out and index and isinstance(out[name], list):
            out[name][int(index.rstrip("]"))] = float(kind)
        elif key in out:
            out[key] = float(kind)
    return out


def table_records(table: pd.DataFrame, **extra: Any) -> list[dict[str, Any]]:
    """One JSON-safe dict per row: the index under its name, then the columns, then ``extra``."""
    name = table.index.name or "index"
    out = []
    for label, row in table.iterrows():
        rec = {name: label}
        rec.update({str(k): v for k, v in row.items()})
        rec.update(extra)
        out.append(json_value(rec))
    return out
