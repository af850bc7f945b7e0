"""Reading a run table from disk: CSV/TSV (any common delimiter, UTF-8/UTF-16, BOM) or Parquet.

:func:`read_table` returns the file as a DataFrame, exactly as written, or raises a
:class:`~bayeslaw.errors.DataError` that names the file, the row and the fix. Which columns
mean what, and whether the values make sense, is :mod:`bayeslaw.core.runs`'s business.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from ..errors import DataError

ROW_NOTE = "rows are counted from 1 after the header"

_PARQUET_SUFFIXES = (".parquet", ".pq")
_OTHER_FORMATS = {".xlsx": "Excel", ".xls": "Excel", ".json": "JSON", ".feather": "Feather", ".pkl": "pickle",
                  ".pickle": "pickle", ".h5": "HDF5", ".hdf5": "HDF5", ".npz": "NumPy", ".npy": "NumPy"}
_FIX_FILE = "give a CSV/TSV file (UTF-8 text with a header row) or a Parquet file"


def read_table(source: str | os.PathLike) -> pd.DataFrame:
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
        raise DataError(f"'{path}': {row_list(long)} {'have' if len(long) > 1 else 'has'} more values than the "
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


def row_list(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"
