"""Prediction targets: which names a fit takes, the rules they must follow, and tables of targets.

:func:`as_targets` turns targets given as keywords or a table into a frame with every input the
law needs, or refuses them with one sentence. A target may name an input by the law's name
(``N``, ``D``, ``x``), by the run table's own column (``params``, ``seen_examples``: the fit
records the mapping), or give two of N, D, C for the third (C = k N D with the fit's k). Nothing
is ignored: a name the law does not use, one input given twice, or N, D and C that disagree with
C = k N D (by more than :data:`C_RTOL`) are refused. :func:`read_targets` reads a table of
targets (one per row, columns named like the law's inputs).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..core.runs import SIZE_COLUMNS, complete_sizes
from ..core.tables import read_table
from ..errors import DataError

#: N, D and C given together must agree with C = k N D to this relative tolerance (rounded inputs pass).
C_RTOL = 0.01
_ND = {"N", "D", "C"}


def derivable(design: Mapping[str, str]) -> set[str]:
    """Target names a fit accepts: its design columns, ``x`` for a one-input law, and N, D, C when two of
    them give the third (C = k N D)."""
    cols = set(design.values())
    names = set(cols)
    if "x" in design:
        names.add("x")
    if cols & _ND:
        names |= _ND
    return names


def source_names(fit: Any) -> dict[str, str]:
    """The run table's own column names that the fit's inputs came from, mapped to the input's column
    (e.g. ``{"seen_examples": "x"}`` for a fit made with ``x="seen_examples"``)."""
    columns = getattr(fit.spec.data, "columns", None) or {}
    inputs = set(fit.spec.design.values())
    return {str(src): canon for canon, src in columns.items() if canon in inputs and str(src) != canon}


def _rename(given: dict[str, Any], old: str, new: str, law: str) -> None:
    if old not in given:
        return
    if new in given:
        raise DataError(f"Targets give both {old} and {new}, which name the same input of {law!r}; give one.")
    given[new] = given.pop(old)


def _unused(given: set[str], need: set[str]) -> list[str]:
    """Given names that are not inputs and do not derive one via C = k N D (sorted)."""
    unused = []
    for col in sorted(given - need):
        if col in _ND and need & _ND and ((need & _ND) - given or len(need & _ND) >= 2):
            continue  # derives a missing input, or is the third of N, D, C for a law of two of them
        unused.append(col)
    return unused


def ignored_names(fit: Any, names: set[str]) -> set[str]:
    """The target names :func:`as_targets` would refuse for this fit as not its inputs or unused (a stack passes
    each member only the names it uses)."""
    design = fit.spec.design
    alias = {src: canon for src, canon in source_names(fit).items() if src not in derivable(design)}
    if "x" in design and design["x"] != "x":
        alias["x"] = design["x"]
    mapped = {n: alias.get(n, n) for n in names}
    unknown = {n for n, m in mapped.items() if m not in derivable(design)}
    unused = set(_unused({m for n, m in mapped.items() if n not in unknown}, set(design.values())))
    return unknown | {n for n, m in mapped.items() if m in unused}


def _check_unused(given: set[str], need: set[str], law: str, wanted: str) -> None:
    """Refuse names that would be ignored: not an input, and not needed to derive one via C = k N D."""
    unused = _unused(given, need)
    if unused:
        raise DataError(f"Law {law!r} was fitted to {', '.join(sorted(need))}; "
                        f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not used by it and would be "
                        f"ignored; give targets as {wanted}")


def _check_compute(frame: pd.DataFrame, k: float) -> None:
    """N, D and C all given: they must agree with C = k N D."""
    implied = k * frame["N"].to_numpy(float) * frame["D"].to_numpy(float)
    given = frame["C"].to_numpy(float)
    with np.errstate(over="ignore", invalid="ignore"):
        off = ~(np.abs(given / implied - 1) <= C_RTOL)
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise DataError(f"Target {i}: C={given[i]:.4g} disagrees with C = {k:g} N D = {implied[i]:.4g} for "
                        f"N={frame['N'].iloc[i]:.4g}, D={frame['D'].iloc[i]:.4g} (the fit's k is {k:g}); give two "
                        "of N, D, C and the third follows.")


def as_targets(fit: Any, targets: pd.DataFrame | Mapping | None = None, **inputs: Any) -> pd.DataFrame:
    """Targets as a DataFrame with every input the law needs (derived with C = k N D if missing).

    Names the law does not take (or would ignore) are refused with a sentence that lists the ones it does.
    """
    design = fit.spec.design
    k = float(fit.spec.data.flops_per_param_token)
    law = fit.law.name
    given: dict[str, Any] = {}
    if targets is not None:
        frame = pd.DataFrame(targets)
        for c in frame.columns:
            given[str(c)] = frame[c].to_numpy(float)
    for name, val in inputs.items():
        if val is not None:
            given[name] = np.atleast_1d(np.asarray(val, dtype=float))
    wanted = ", ".join(f"{v}=..." for v in design.values())
    if not given:
        raise DataError(f"Give targets to predict at, e.g. {wanted}.")
    for src, canon in source_names(fit).items():
        if src not in derivable(design):
            _rename(given, src, canon, law)
    unknown = [n for n in given if n not in derivable(design)]
    if unknown:
        also = "".join(f" (or {src}=...)" for src in source_names(fit))
        raise DataError(f"Law {law!r} was fitted to {', '.join(design.values())}; it has no input "
                        f"{', '.join(map(repr, unknown))}: give targets as {wanted}{also}.")
    # one-input laws fitted on a named column (e.g. x -> "D") also accept x=...
    if "x" in design and design["x"] != "x":
        _rename(given, "x", design["x"], law)
    _check_unused(set(given), set(design.values()), law, wanted)
    try:
        arrays = np.broadcast_arrays(*given.values())
    except ValueError:
        shapes = ", ".join(f"{k}: {np.shape(v)}" for k, v in given.items())
        raise DataError(f"Target arrays have shapes that do not broadcast ({shapes}); give equal lengths.") from None
    frame = pd.DataFrame({k: a.ravel() for k, a in zip(given, arrays)})
    for col in frame.columns:
        bad = ~np.isfinite(frame[col]) | (frame[col] <= 0)
        if bad.any():
            raise DataError(f"Target {col} must be positive and finite; got {float(frame[col][bad].iloc[0])!r}.")
    if _ND <= set(frame.columns):
        _check_compute(frame, k)
    complete_sizes(frame, k)
    missing = [col for col in design.values() if col not in frame.columns]
    if missing:
        extra = " (or two of N, D, C)" if set(missing) <= _ND else ""
        raise DataError(f"Law {law!r} needs {', '.join(missing)} at each target{extra}; "
                        f"got {', '.join(frame.columns)}.")
    order = [c for c in ("x", *SIZE_COLUMNS) if c in frame.columns]
    return frame[order + [c for c in frame.columns if c not in order]]


def read_targets(path: str | os.PathLike) -> pd.DataFrame:
    """A table of targets from a CSV/TSV or Parquet file: one target per row, one column per input (named like
    the law's inputs or the run table's columns); every value a positive number."""
    table = read_table(path)
    if table.empty:
        raise DataError(f"'{path}' has no rows; give one target per row under a header such as N,D.")
    table.columns = [str(c).strip() for c in table.columns]
    for col in table.columns:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            cell = table[col].iloc[i]
            what = "is empty" if pd.isna(cell) else f"{str(cell)!r} is not a number"
            raise DataError(f"'{path}', row {i + 1} (rows are counted from 1 after the header), column {col!r}: "
                            f"{what}; give one number per cell.")
        table[col] = values.astype(float)
    return table
