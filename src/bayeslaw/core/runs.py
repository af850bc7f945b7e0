"""Run tables: which column is what, and whether the values can be fitted.

A run table has one row per training run (or per checkpoint): its sizes and its ``loss``,
plus optional group columns (``family``, ``seed``, ...). The sizes a law takes are found by
name: parameters ``N``, training tokens ``D``, training FLOPs ``C`` and unique tokens ``U``
by case-insensitive aliases (``params``, ``tokens``, ``flops``, ``unique_tokens``, ...), any
other input a law declares (``T``, ``V``, ...) by its own name, or by an explicit mapping
(``x={"T": "step"}``). :func:`load_runs` accepts a CSV/Parquet path
(:func:`bayeslaw.core.tables.read_table`) or a DataFrame, derives a missing one of N/D/C
from ``C = k N D`` (k = 6 by default, recorded), and checks every value; all problems are
collected and reported in one :class:`~bayeslaw.errors.DataError`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, shown
from .tables import ROW_NOTE, read_table, source_name
from .values import check_flops_convention, duplicated_rows, numeric, unique_within_tokens

#: Sizes with well-known aliases: parameters, tokens, FLOPs, unique tokens.
SIZE_COLUMNS = ("N", "D", "C", "U")

#: Case-insensitive aliases for the canonical columns (compared after removing spaces, '-' and '_').
ALIASES: dict[str, tuple[str, ...]] = {
    "N": ("n", "params", "nparams", "numparams", "parameters", "numparameters", "modelsize",
          "paramcount", "nonembeddingparams", "modelparams"),
    "D": ("d", "tokens", "ntokens", "numtokens", "trainingtokens", "traintokens", "datasize",
          "datasetsize", "tokensseen", "data"),
    "C": ("c", "flops", "flop", "compute", "trainingflops", "trainingflop", "trainingcompute",
          "computeflops"),
    "U": ("u", "uniquetokens", "nuniquetokens", "numuniquetokens", "uniquedata", "uniquedatasize",
          "uniquetrainingtokens"),
    "loss": ("loss", "finalloss", "valloss", "validationloss", "evalloss", "testloss", "l"),
}
GROUP_NAMES = ("family", "seed", "group", "task", "dataset", "recipe")


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch not in " _-.")


@dataclass(frozen=True)
class Runs:
    """A validated run table.

    Attributes
    ----------
    frame : DataFrame
        The size columns (``N``, ``D``, ``C``, ``U`` as available, a law's own inputs such as
        ``T``, or the generic ``x``) and ``loss`` as float64, then group and other columns as
        given. The index is the 1-based row number in the source.
    columns : dict
        Canonical name -> source column it came from.
    derived : dict
        Canonical name -> the convention used to derive it (e.g. ``"D = C / (6 N)"``).
    groups : tuple of str
        Group columns carried through (``family``, ``seed``, ...).
    source : str
        File path, ``"<stdin>"`` (read from ``-``) or ``"<DataFrame>"``.
    flops_per_param_token : float
        k in C = k N D.
    sizes : tuple of str
        The size columns, validated as positive numbers (default: those of ``x``, N, D, C, U
        that ``frame`` has).
    ignored : tuple of str
        Columns of the source that were not read as a size, the loss or a group (e.g. ``budget``); a
        fit's run column is among them until :func:`~bayeslaw.plan_fit` takes it out
        (``FitPlan.ignored_columns``).
    """

    frame: pd.DataFrame
    columns: Mapping[str, str]
    derived: Mapping[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    source: str = "<DataFrame>"
    flops_per_param_token: float = 6.0
    sizes: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.sizes:
            object.__setattr__(self, "sizes", tuple(c for c in ("x", *SIZE_COLUMNS) if c in self.frame.columns))

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def variables(self) -> tuple[str, ...]:
        """The size columns (canonical names: ``x``, N, D, C, U, then a law's own inputs)."""
        return tuple(self.sizes)

    @property
    def loss(self) -> np.ndarray:
        """The loss of each run, as float64."""
        return self.frame["loss"].to_numpy(float)

    def data_hash(self, columns: tuple[str, ...] | None = None) -> str:
        """SHA-256 (first 16 hex digits) of the numeric columns used by a fit."""
        cols = list(columns or (*self.variables, "loss"))
        h = hashlib.sha256()
        h.update(repr(cols).encode())
        h.update(np.ascontiguousarray(self.frame[cols].to_numpy(np.float64)).tobytes())
        return h.hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        """Where the runs came from and how their columns map, as plain JSON."""
        return {"source": self.source, "columns": dict(self.columns), "derived": dict(self.derived),
                "groups": list(self.groups), "flops_per_param_token": self.flops_per_param_token,
                "n_runs": len(self)}

    def subset(self, mask: Any) -> "Runs":
        """The same table restricted to some rows (a boolean mask or index labels)."""
        frame = self.frame.loc[mask] if not isinstance(mask, np.ndarray) else self.frame[mask]
        return Runs(frame, self.columns, self.derived, self.groups, self.source, self.flops_per_param_token,
                    self.sizes, self.ignored)


def load_runs(
    source: str | os.PathLike | pd.DataFrame | Runs,
    *,
    x: str | Mapping[str, str] | None = None,
    y: str | None = None,
    groups: tuple[str, ...] | list[str] | None = None,
    flops_per_param_token: float = 6.0,
    inputs: Iterable[str] = (),
) -> Runs:
    """Read a run table (CSV, Parquet or DataFrame) and validate it.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``/``.tsv``/``.txt`` (comma or tab separated) or ``.parquet`` file, a pipe, ``"-"`` for
        standard input, or a DataFrame.
    x : str or dict, optional
        Which columns are the sizes. A dict maps size names to columns, e.g.
        ``{"N": "params", "D": "tokens"}`` or ``{"T": "step"}``. A single column name that is
        not N/D/C/U makes that column the generic size ``x`` (for one-variable laws). By
        default N, D and C are found by name (case-insensitive aliases such as ``params``,
        ``tokens``, ``flops``), and so are unique tokens U (``unique_tokens``), which
        data-constrained laws need and which may not exceed D.
    y : str, optional
        The loss column (default: ``loss`` or an alias such as ``val_loss``).
    groups : list of str, optional
        Group columns to carry (default: any of family, seed, group, task, dataset, recipe).
    flops_per_param_token : float, default 6
        k in C = k N D, used to derive a missing one of N, D, C (recorded in the fit).
    inputs : iterable of str, optional
        Other sizes to find by name (case-insensitive), e.g. a law's input ``T``: a law declares
        its inputs, and :func:`bayeslaw.fit` passes them here.

    Returns
    -------
    Runs

    Raises
    ------
    DataError
        With every problem found, each naming the column/rows and the fix.

    Examples
    --------
    >>> import bayeslaw
    >>> runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    >>> runs.derived
    {}
    """
    if isinstance(source, Runs):
        return source
    try:
        k = float(flops_per_param_token)
    except (TypeError, ValueError):
        k = float("nan")
    if isinstance(flops_per_param_token, bool) or not (np.isfinite(k) and k > 0):
        raise DataError(f"flops_per_param_token must be a positive number (k in C = k N D, usually 6); "
                        f"got {shown(flops_per_param_token)}.")
    if isinstance(source, pd.DataFrame):
        df, name = source.copy(), "<DataFrame>"
    elif isinstance(source, (str, os.PathLike)):
        df, name = read_table(source), source_name(source)
    else:
        raise DataError(f"load_runs() takes a file path or a pandas DataFrame; got {type(source).__name__}.")
    if len(df.columns) == 0 or len(df) == 0:
        raise DataError(f"{name} has no data rows; give a table with a header and one row per training run.")
    df.columns = [str(c) for c in df.columns]
    dup_names = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup_names:
        raise DataError(f"{name} has several columns named {', '.join(map(repr, dup_names))}; rename or remove "
                        "the copies.")
    df = df.reset_index(drop=True)
    df.index = pd.RangeIndex(1, len(df) + 1, name="row")
    inputs = [v for v in inputs if v not in ("loss", *SIZE_COLUMNS)]
    mapping = _find_columns(df, x, y, name, inputs)

    problems: list[str] = []
    out = pd.DataFrame(index=df.index)
    for canon, col in mapping.items():
        values, errs = numeric(df[col], col, canon)
        problems += errs
        out[canon] = values
    if problems:
        raise DataError(_bullets(name, problems))

    derived = complete_sizes(out, k)
    if {"N", "D", "C"} <= set(out.columns):
        check_flops_convention(out, mapping, k, name)
    if {"U", "D"} <= set(out.columns):
        problems += unique_within_tokens(out, mapping, derived)
        if problems:
            raise DataError(_bullets(name, problems))

    group_cols = _find_groups(df, groups, set(mapping.values()), name)
    sizes = [c for c in ("x", *SIZE_COLUMNS) if c in out.columns]
    sizes += [c for c in out.columns if c not in sizes and c != "loss"]
    order = [*sizes, "loss"]
    out = out[order]
    for col in df.columns:
        # A column that is not used but is named like a variable (e.g. an unmapped 'x', or an 'N'
        # when x={'N': 'params'}) is left out: carried along, it would pass for that variable.
        if col not in mapping.values() and col not in (*order, *SIZE_COLUMNS, "x"):
            out[col] = df[col]

    dup_cols = order + list(group_cols)
    dups = duplicated_rows(out, dup_cols)
    if dups.any():
        rows = list(out.index[dups])
        first = out.loc[dups].groupby(dup_cols, sort=False, dropna=False).groups
        pairs = [", ".join(str(r) for r in idx) for idx in list(first.values())[:3]]
        problems.append(
            f"{len(rows)} rows are exact duplicates of another row in columns {', '.join(dup_cols)} "
            f"(rows {'; '.join(pairs)}{' ...' if len(first) > 3 else ''}); remove the copies, or add a "
            "'seed' column if they are genuine repeats"
        )
    if problems:
        raise DataError(_bullets(name, problems))
    ignored = tuple(c for c in df.columns if c not in mapping.values() and c not in group_cols)
    return Runs(out, mapping, derived, tuple(group_cols), name, k, tuple(sizes), ignored)


def complete_sizes(frame: pd.DataFrame, k: float) -> dict[str, str]:
    """Derive the missing one of N, D, C in place from C = k N D; returns what was derived and how."""
    have, kk = set(frame.columns), f"{k:g}"
    if {"N", "C"} <= have and "D" not in have:
        frame["D"] = frame["C"] / (k * frame["N"])
        return {"D": f"D = C / ({kk} N)"}
    if {"N", "D"} <= have and "C" not in have:
        frame["C"] = k * frame["N"] * frame["D"]
        return {"C": f"C = {kk} N D"}
    if {"D", "C"} <= have and "N" not in have:
        frame["N"] = frame["C"] / (k * frame["D"])
        return {"N": f"N = C / ({kk} D)"}
    return {}


def _find_columns(df: pd.DataFrame, x: Any, y: str | None, name: str, inputs: list[str]) -> dict[str, str]:
    cols = list(df.columns)
    by_norm: dict[str, list[str]] = {}
    for c in cols:
        by_norm.setdefault(_norm(c), []).append(str(c))

    def require(col: str, what: str) -> str:
        if col in cols:
            return col
        matches = by_norm.get(_norm(col), [])
        if len(matches) == 1:
            return matches[0]
        raise DataError(f"{name} has no column {col!r} (asked for as {what}); give one of its columns: "
                        f"{', '.join(map(str, cols))}.")

    mapping: dict[str, str] = {}
    explicit: dict[str, str] = {}
    if isinstance(x, Mapping):
        for canon, col in x.items():
            if not isinstance(canon, str) or not canon.isidentifier() or canon == "loss":
                raise DataError(f"x= maps {canon!r}, but a size is named by an identifier (N, D, C, U, x, or a "
                                f"law's input such as T); write e.g. x={{'N': 'params'}}.")
            explicit[canon] = require(col, canon)
    elif isinstance(x, str):
        if x in SIZE_COLUMNS and x not in cols:
            pass  # a variable name (e.g. "D" for a one-variable law), resolved by alias below
        elif x in SIZE_COLUMNS:
            explicit[x] = x
        else:
            explicit["x"] = require(x, "the size variable x")
    elif x is not None:
        raise DataError(f"x= must be a column name or a dict like {{'N': 'params'}}; got {type(x).__name__}.")
    mapping.update(explicit)
    if y is not None:
        mapping["loss"] = require(y, "the loss")
    taken: dict[str, str] = {}
    for canon, col in mapping.items():
        if col in taken:
            raise DataError(f"{name}: column {col!r} is given as both {taken[col]} and {canon}; "
                            "map each variable to its own column.")
        taken[col] = canon

    used = set(mapping.values())
    wanted = {**ALIASES, **{v: (_norm(v),) for v in inputs if v not in mapping}}
    for canon, aliases in wanted.items():
        if canon in mapping or (canon == "loss" and y is not None):
            continue
        found = [c for c in cols if _norm(c) in aliases and c not in used]
        if len(found) > 1:
            flag = "--y" if canon == "loss" else "--x"
            api = "y=" if canon == "loss" else "x={...}"
            raise DataError(
                f"{name}: columns {', '.join(repr(str(f)) for f in found)} could each be {canon}; say which with "
                f"{api} in Python or {flag} {'COLUMN' if canon == 'loss' else canon + '=COLUMN'} on the command line."
            )
        if found:
            mapping[canon] = str(found[0])
            used.add(found[0])
    if "loss" not in mapping:
        raise DataError(f"{name} has no loss column (looked for: loss, val_loss, eval_loss, final_loss, ...); "
                        f"its columns are: {', '.join(map(str, cols))}. Name it with y='COLUMN' (--y COLUMN).")
    if not any(c != "loss" and c != "U" for c in mapping):
        extra = f", {', '.join(inputs)}" if inputs else ""
        raise DataError(f"{name} has no size column (N/params, D/tokens, C/flops{extra}); its columns are: "
                        f"{', '.join(map(str, cols))}. Name it with x='COLUMN' (--x COLUMN).")
    order = [k for k in ("x", *SIZE_COLUMNS) if k in mapping] + [k for k in mapping if k not in ("x", *SIZE_COLUMNS,
                                                                                                  "loss")]
    return {k: mapping[k] for k in (*order, "loss")}


def _find_groups(df: pd.DataFrame, groups: Any, used: set[str], name: str) -> list[str]:
    if groups is None:
        return [c for c in df.columns if _norm(c) in GROUP_NAMES and c not in used]
    if isinstance(groups, str):
        groups = [groups]
    missing = [g for g in groups if g not in df.columns]
    if missing:
        raise DataError(f"{name} has no group column {missing[0]!r}; its columns are: "
                        f"{', '.join(map(str, df.columns))}.")
    return list(groups)


def _bullets(name: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{name}: {problems[0]} ({ROW_NOTE})."
    body = "\n".join(f"  - {p}" for p in problems)
    return f"{name} has {len(problems)} problems ({ROW_NOTE}):\n{body}"
