"""Reading and validating run tables.

A run table has one row per training run: model parameters ``N``, training
tokens ``D``, training FLOPs ``C`` and the final ``loss``, plus optional group
columns (``family``, ``seed``, ...) and, for data-constrained laws, the number of
unique training tokens ``U`` (``D / U`` epochs; ``U <= D``). :func:`load_runs` accepts a
CSV/Parquet path or a DataFrame, finds the columns (case-insensitive aliases, or an explicit
mapping), derives a missing one of N/D/C from ``C = k N D`` (k = 6 by default,
recorded), and checks every value. All problems are collected and reported in
one :class:`~bayeslaw.errors.DataError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import DataError

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

ROW_NOTE = "rows are counted from 1 after the header"


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch not in " _-.")


@dataclass(frozen=True)
class Runs:
    """A validated run table.

    Attributes
    ----------
    frame : DataFrame
        Canonical columns (``N``, ``D``, ``C``, ``U`` as available, or ``x``; and ``loss``) as
        float64, then group and other columns as given. The index is the 1-based row
        number in the source.
    columns : dict
        Canonical name -> source column it came from.
    derived : dict
        Canonical name -> the convention used to derive it (e.g. ``"D = C / (6 N)"``).
    groups : tuple of str
        Group columns carried through (``family``, ``seed``, ...).
    source : str
        File path or ``"<DataFrame>"``.
    flops_per_param_token : float
        k in C = k N D.
    """

    frame: pd.DataFrame
    columns: Mapping[str, str]
    derived: Mapping[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    source: str = "<DataFrame>"
    flops_per_param_token: float = 6.0

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def variables(self) -> tuple[str, ...]:
        """Size variables available (canonical names)."""
        return tuple(c for c in ("x", *SIZE_COLUMNS) if c in self.frame.columns)

    @property
    def loss(self) -> np.ndarray:
        return self.frame["loss"].to_numpy(float)

    def data_hash(self, columns: tuple[str, ...] | None = None) -> str:
        """SHA-256 (first 16 hex digits) of the numeric columns used by a fit."""
        cols = list(columns or (*self.variables, "loss"))
        h = hashlib.sha256()
        h.update(repr(cols).encode())
        h.update(np.ascontiguousarray(self.frame[cols].to_numpy(np.float64)).tobytes())
        return h.hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "columns": dict(self.columns), "derived": dict(self.derived),
                "groups": list(self.groups), "flops_per_param_token": self.flops_per_param_token,
                "n_runs": len(self)}

    def subset(self, mask: Any) -> "Runs":
        """The same table restricted to some rows (a boolean mask or index labels)."""
        frame = self.frame.loc[mask] if not isinstance(mask, np.ndarray) else self.frame[mask]
        return Runs(frame, self.columns, self.derived, self.groups, self.source, self.flops_per_param_token)


def load_runs(
    source: str | os.PathLike | pd.DataFrame | Runs,
    *,
    x: str | Mapping[str, str] | None = None,
    y: str | None = None,
    groups: tuple[str, ...] | list[str] | None = None,
    flops_per_param_token: float = 6.0,
) -> Runs:
    """Read a run table (CSV, Parquet or DataFrame) and validate it.

    Parameters
    ----------
    source : path or DataFrame
        ``.csv``/``.tsv``/``.txt`` (comma or tab separated) or ``.parquet`` file, or a DataFrame.
    x : str or dict, optional
        Which columns are the sizes. A dict maps canonical names to columns, e.g.
        ``{"N": "params", "D": "tokens"}``. A single column name that is not N/D/C
        makes that column the generic size ``x`` (for one-variable laws). By default
        N, D and C are found by name (case-insensitive aliases such as ``params``,
        ``tokens``, ``flops``), and so are unique tokens U (``unique_tokens``), which
        data-constrained laws need and which may not exceed D.
    y : str, optional
        The loss column (default: ``loss`` or an alias such as ``val_loss``).
    groups : list of str, optional
        Group columns to carry (default: any of family, seed, group, task, dataset, recipe).
    flops_per_param_token : float, default 6
        k in C = k N D, used to derive a missing one of N, D, C (recorded in the fit).

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
                        f"got {flops_per_param_token!r}.")
    if isinstance(source, pd.DataFrame):
        df, name = source.copy(), "<DataFrame>"
    elif isinstance(source, (str, os.PathLike)):
        df, name = _read(source), str(source)
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
    mapping = _find_columns(df, x, y, name)

    problems: list[str] = []
    out = pd.DataFrame(index=df.index)
    for canon, col in mapping.items():
        values, errs = _numeric(df[col], col, canon)
        problems += errs
        out[canon] = values
    if problems:
        raise DataError(_bullets(name, problems))

    derived = complete_sizes(out, k)
    if {"U", "D"} <= set(out.columns):
        problems += _unique_within_tokens(out, mapping, derived)
        if problems:
            raise DataError(_bullets(name, problems))

    group_cols = _find_groups(df, groups, set(mapping.values()), name)
    order = [c for c in ("x", *SIZE_COLUMNS, "loss") if c in out.columns]
    out = out[order]
    for col in df.columns:
        # A column that is not used but is named like a variable (e.g. an unmapped 'x', or an 'N'
        # when x={'N': 'params'}) is left out: carried along, it would pass for that variable.
        if col not in mapping.values() and col not in ("x", *SIZE_COLUMNS, "loss"):
            out[col] = df[col]

    dup_cols = order + list(group_cols)
    dups = out.duplicated(subset=dup_cols, keep=False)
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
    return Runs(out, mapping, derived, tuple(group_cols), name, k)


_PARQUET_SUFFIXES = (".parquet", ".pq")
_OTHER_FORMATS = {".xlsx": "Excel", ".xls": "Excel", ".json": "JSON", ".feather": "Feather", ".pkl": "pickle",
                  ".pickle": "pickle", ".h5": "HDF5", ".hdf5": "HDF5", ".npz": "NumPy", ".npy": "NumPy"}
_FIX_FILE = "give a CSV/TSV file (UTF-8 text with a header row) or a Parquet file"


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


def _read(source: str | os.PathLike) -> pd.DataFrame:
    path = Path(source)
    if not path.exists():
        raise DataError(f"File '{path}' does not exist; check the path.")
    if path.is_dir():
        raise DataError(f"'{path}' is a directory; give the path of a CSV or Parquet file.")
    if path.stat().st_size == 0:
        raise DataError(f"File '{path}' is empty; give a table with a header and one row per training run.")
    suffix = path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read '{path}' ({exc.strerror or type(exc).__name__}); check that the file "
                        "is readable (permissions) and try again.") from None
    if suffix in _PARQUET_SUFFIXES or raw[:4] == b"PAR1":
        try:
            return pd.read_parquet(path)
        except ImportError as exc:
            raise DataError(f"Cannot read '{path}': {exc}. Install pyarrow (pip install 'bayeslaw[parquet]').") from None
        except (ValueError, OSError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"Cannot read '{path}' as Parquet ({msg}); check that it is a complete Parquet "
                            "file, or give a CSV/TSV file with the suffix .csv or .tsv.") from None
    if suffix in _OTHER_FORMATS:
        raise DataError(f"'{path}' is a {suffix} ({_OTHER_FORMATS[suffix]}) file, which bayeslaw does not read; "
                        "export the table as CSV (or Parquet) and give that file.")
    try:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            text = raw.decode("utf-16")
        else:
            text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"Cannot read '{path}' as CSV: it is not UTF-8 text (byte {raw[exc.start]:#04x} at "
                        f"offset {exc.start}); {_FIX_FILE}, e.g. re-save it as 'CSV UTF-8'.") from None
    if "\x00" in text:
        raise DataError(f"Cannot read '{path}' as CSV: it is a binary file, not text; {_FIX_FILE}.")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise DataError(f"File '{path}' has no columns; give a table with a header and one row per run.")
    sep = "\t" if suffix == ".tsv" else _sniff(lines[0])
    if sep == r"\s+":
        rows = [ln.split() for ln in lines]
    else:
        # blank lines are skipped, as pandas does, so that row numbers agree with the loaded table
        try:
            rows = [r for r in csv.reader(io.StringIO(text), delimiter=sep)
                    if r and not (len(r) == 1 and not r[0].strip())]
        except csv.Error as exc:
            raise DataError(f"Cannot read '{path}' as CSV ({exc}); {_FIX_FILE}.") from None
    header = [h.strip() for h in rows[0]]
    seen: dict[str, int] = {}
    for i, h in enumerate(header, 1):
        if h and h in seen:
            raise DataError(f"'{path}': the header names column {h!r} twice (columns {seen[h]} and {i}); "
                            "rename or remove one of them.")
        seen.setdefault(h, i)
    long = [i for i, r in enumerate(rows[1:], 1) if len(r) > len(header)]
    if long:
        raise DataError(f"'{path}': {_rows(long)} {'have' if len(long) > 1 else 'has'} more values than the "
                        f"header has columns ({len(header)}: {', '.join(header)}); remove the extra values or "
                        f"name the missing column in the header ({ROW_NOTE}).")
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, index_col=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"File '{path}' has no columns; give a table with a header and one row per run.") from None
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Cannot read '{path}' as CSV ({msg}); {_FIX_FILE}.") from None


def _sniff(header: str) -> str:
    """The delimiter of a header line: the most frequent of , tab ; (comma on ties), else whitespace."""
    counts = {sep: header.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda k: counts[k])
    if counts[best]:
        return best
    return r"\s+" if len(header.split()) > 1 else ","


def _find_columns(df: pd.DataFrame, x: Any, y: str | None, name: str) -> dict[str, str]:
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
            if canon not in SIZE_COLUMNS and canon != "x":
                raise DataError(f"x= maps {canon!r}, but the size variables are N, D, C, U (or x); "
                                f"write e.g. x={{'N': 'params'}}.")
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
    for canon, aliases in ALIASES.items():
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
    if not any(c in mapping for c in ("x", "N", "D", "C")):
        raise DataError(f"{name} has no size column (N/params, D/tokens, C/flops); its columns are: "
                        f"{', '.join(map(str, cols))}. Name it with x='COLUMN' (--x COLUMN).")
    return {k: mapping[k] for k in ("x", *SIZE_COLUMNS, "loss") if k in mapping}


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


def _numeric(series: pd.Series, col: str, canon: str) -> tuple[pd.Series, list[str]]:
    label = f"column {col!r}" + (f" ({canon})" if canon != col else "")
    errs: list[str] = []
    is_bool = series.map(lambda v: isinstance(v, (bool, np.bool_))).astype(bool)
    values = pd.to_numeric(series.where(~is_bool), errors="coerce")
    bad_text = is_bool | (values.isna() & series.notna() & (series.astype(str).str.strip().str.lower() != "nan"))
    if bad_text.any():
        rows = list(series.index[bad_text])
        errs.append(f"{label} has text that is not a number in {_rows(rows)} (e.g. {_plain(series[rows[0]])!r}); "
                    "fix or remove those rows")
        values = values.where(~bad_text, 1.0)
    values = values.astype(float)
    nonfinite = ~np.isfinite(values)
    if nonfinite.any():
        rows = list(series.index[nonfinite])
        errs.append(f"{label} is missing, NaN or infinite in {_rows(rows)}; remove those rows or fill in the values")
    nonpos = np.isfinite(values) & (values <= 0)
    if nonpos.any():
        rows = list(series.index[nonpos])
        what = "the loss" if canon == "loss" else f"a size ({canon})"
        errs.append(f"{label} has zero or negative values in {_rows(rows)} (e.g. {values[rows[0]]:g}); "
                    f"{what} must be positive because laws are fitted in log space, so remove or correct those rows")
    return values, errs


def _unique_within_tokens(out: pd.DataFrame, mapping: Mapping[str, str], derived: Mapping[str, str]) -> list[str]:
    """Unique tokens U cannot exceed the tokens D seen in training (a relative 1e-9 allows rounding)."""
    over = out["U"] > out["D"] * (1 + 1e-9)
    if not over.any():
        return []
    rows = list(out.index[over])
    r = rows[0]
    d_col = f"D ({derived['D']})" if "D" in derived else f"column {mapping['D']!r}"
    u_col = f"column {mapping['U']!r}" + (" (U)" if mapping["U"] != "U" else "")
    return [f"{u_col} is larger than the tokens {d_col} in {_rows(rows)} (e.g. U = {out.at[r, 'U']:g} > "
            f"D = {out.at[r, 'D']:g}); unique tokens cannot exceed the tokens seen in training, so correct "
            "those rows or map the right columns"]


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (so messages show True, not np.True_)."""
    return value.item() if isinstance(value, np.generic) else value


def _rows(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _bullets(name: str, problems: list[str]) -> str:
    if len(problems) == 1:
        return f"{name}: {problems[0]} ({ROW_NOTE})."
    body = "\n".join(f"  - {p}" for p in problems)
    return f"{name} has {len(problems)} problems ({ROW_NOTE}):\n{body}"
