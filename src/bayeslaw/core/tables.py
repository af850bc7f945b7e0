"""Reading a run table: CSV/TSV (any common delimiter, UTF-8/UTF-16, BOM) or Parquet, from a file, a pipe or stdin.

:func:`read_table` returns the file as a DataFrame, exactly as written, or raises a
:class:`~bayeslaw.errors.DataError` that names the file, the row and the fix. The bytes are
read once into memory and then parsed, so pipes (``<(cat runs.csv)``, FIFOs) and standard
input (``-``, named ``<stdin>``) work as files do. Which columns mean what, and whether the
values make sense, is :mod:`bayeslaw.core.runs`'s business.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from ..errors import DataError

ROW_NOTE = "rows are counted from 1 after the header"

_PARQUET_SUFFIXES = (".parquet", ".pq")
_OTHER_FORMATS = {".xlsx": "Excel", ".xls": "Excel", ".json": "JSON", ".feather": "Feather", ".pkl": "pickle",
                  ".pickle": "pickle", ".h5": "HDF5", ".hdf5": "HDF5", ".npz": "NumPy", ".npy": "NumPy"}
_FIX_FILE = "give a CSV/TSV file (UTF-8 text with a header row) or a Parquet file"


def source_name(source: str | os.PathLike) -> str:
    """How a table's source is named in messages and in a fit's record: ``<stdin>`` for ``-``, the path otherwise
    (``<pipe /dev/fd/63>`` for a shell's process substitution, whose path means nothing afterwards)."""
    text = str(source)
    if text in ("-", "/dev/stdin"):
        return "<stdin>"
    if text.startswith(("/dev/fd/", "/proc/self/fd/")):
        return f"<pipe {text}>"
    return text


#: Tables of at least this many bytes say on stderr that they are loading, and how long it took (None: never).
PROGRESS_BYTES: int | None = 50 * 10**6


def read_table(source: str | os.PathLike) -> pd.DataFrame:
    """The table in a CSV/TSV or Parquet file, a pipe or standard input (``-``), exactly as written.

    A table of :data:`PROGRESS_BYTES` or more says so on stderr while it loads (one line before, one after)."""
    path = source_name(source)
    big = _big(source)
    if big:
        print(f"reading {path} ({big / 1e6:,.0f} MB) ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    raw, suffix = read_source(source)
    table = _parse(raw, suffix, path)
    if big or (PROGRESS_BYTES is not None and len(raw) >= PROGRESS_BYTES):
        print(f"read {path}: {len(table):,} rows, {len(table.columns)} columns in {time.monotonic() - start:.1f} s",
              file=sys.stderr, flush=True)
    return table


def _big(source: str | os.PathLike) -> int:
    """The size of a regular file of at least :data:`PROGRESS_BYTES` bytes, else 0 (pipes say so once read)."""
    if PROGRESS_BYTES is None or str(source) == "-":
        return 0
    try:
        st = os.stat(source)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) and st.st_size >= PROGRESS_BYTES else 0


def read_source(source: str | os.PathLike) -> tuple[bytes, str]:
    """The bytes of a file, a pipe (a FIFO, ``/dev/fd/N``) or standard input (``-``), read once, and the
    name's suffix. A pipe can be read only once, so its bytes are kept for the rest of the process: a
    command that reads its table twice (backtest, then cross-validation) gets the same bytes."""
    name = source_name(source)
    if str(source) == "-":
        return _read_stdin(), ""
    path = Path(source)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DataError(f"File '{path}' does not exist; check the path.") from None
    except OSError as exc:
        raise DataError(f"Cannot read '{path}' ({exc.strerror or type(exc).__name__}); check the path and that "
                        "the file is readable.") from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"'{path}' is a directory; give the path of a CSV or Parquet file.")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise DataError(f"'{path}' is a device, not a table; give a CSV or Parquet file, a pipe, or - for "
                        "standard input.")
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        raise DataError(f"File '{name}' is empty; give a table with a header and one row per training run.")
    key = (st.st_dev, st.st_ino)
    if not stat.S_ISREG(st.st_mode) and key in _STREAMS:
        return _STREAMS[key], path.suffix.lower()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read '{name}' ({exc.strerror or type(exc).__name__}); check that the file "
                        "is readable (permissions) and try again.") from None
    if not stat.S_ISREG(st.st_mode):
        _STREAMS[key] = raw
    if not raw:
        raise DataError(f"'{name}' is empty (nothing came through the pipe); give a table with a header and one "
                        "row per training run.")
    return raw, path.suffix.lower()


_STREAMS: dict[tuple[int, int], bytes] = {}   # pipes already read, by (device, inode): they cannot be read twice
_STDIN: list[tuple[object, bytes]] = []          # standard input already read: (its stream, its bytes)


def _read_stdin() -> bytes:
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise DataError("'-' means standard input, but this process has none; give the path of a CSV or Parquet "
                        "file.")
    if _STDIN and _STDIN[0][0] is stream:
        return _STDIN[0][1]
    try:
        if stream.isatty():
            raise DataError("'-' reads the table from standard input, which is a terminal here; pipe the table in "
                            "(e.g. `cat runs.csv | bayeslaw fit -`) or give the file's path.")
        raw = stream.read()
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot read the table from standard input ({exc}); pipe a CSV or Parquet table in, or "
                        "give the file's path.") from None
    _STDIN[:] = [(stream, raw)]
    if not raw:
        raise DataError("Standard input ('-') is empty; pipe a table with a header and one row per training run "
                        "into it, or give the file's path.")
    return raw


def _parse(raw: bytes, suffix: str, path: str) -> pd.DataFrame:
    if suffix in _PARQUET_SUFFIXES or raw[:4] == b"PAR1":
        try:
            return pd.read_parquet(io.BytesIO(raw))
        except ImportError as exc:
            raise DataError(f"Cannot read '{path}': {exc}. Install pyarrow (pip install 'bayeslaw[parquet]').") from None
        except (ValueError, OSError, TypeError) as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"Cannot read '{path}' as Parquet ({msg}); check that it is a complete Parquet "
                            "file, or give a CSV/TSV file with the suffix .csv or .tsv.") from None
    if suffix in _OTHER_FORMATS:
        raise DataError(f"'{path}' is a {suffix} ({_OTHER_FORMATS[suffix]}) file, which bayeslaw does not read; "
                        "export the table as CSV (or Parquet) and give that file.")
    utf16 = raw[:2] in (b"\xff\xfe", b"\xfe\xff")
    try:
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"Cannot read '{path}' as CSV: it is not UTF-8 text (byte {raw[exc.start]:#04x} at "
                        f"offset {exc.start}); {_FIX_FILE}, e.g. re-save it as 'CSV UTF-8'.") from None
    if "\x00" in text:
        raise DataError(f"Cannot read '{path}' as CSV: it is a binary file, not text; {_FIX_FILE}.")
    # the header from the first lines (the whole text only if they are all blank): no per-row work in Python
    lines = _nonblank(text[:_HEAD]) or _nonblank(text)
    if not lines:
        raise DataError(f"File '{path}' has no columns; give a table with a header and one row per run.")
    sep = "\t" if suffix == ".tsv" else _sniff(lines[0])
    try:
        rows = _rows(text[:_HEAD], sep, path, lines) if len(text) > _HEAD else []
    except DataError:   # the first lines cut inside a quoted value
        rows = []
    rows = rows or _rows(text, sep, path, lines)
    if not rows or not any(h.strip() for h in rows[0]):
        raise DataError(f"File '{path}' has no column names in its first line; give a table with a header and one "
                        "row per run.")
    header = [h.strip() for h in rows[0]]
    seen: dict[str, int] = {}
    for i, h in enumerate(header, 1):
        if h and h in seen:
            raise DataError(f"'{path}': the header names column {h!r} twice (columns {seen[h]} and {i}); "
                            "rename or remove one of them.")
        seen.setdefault(h, i)
    # pandas parses the bytes as they are (UTF-16 re-encoded once); rows with more values than the header make it
    # stop, and only then are all rows read in Python, to name them
    buffer = io.BytesIO(text.encode("utf-8") if utf16 else raw)
    del text, lines   # the decoded copy is not kept while pandas parses (peak memory of large tables)
    try:
        with warnings.catch_warnings():   # pandas drops some extra values with only a warning: they are refused
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(buffer, sep=sep, index_col=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"File '{path}' has no columns; give a table with a header and one row per run.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as exc:
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
        long = [i for i, r in enumerate(_rows(text, sep, path, None)[1:], 1) if len(r) > len(header)]
        if long:
            raise DataError(f"'{path}': {row_list(long)} {'have' if len(long) > 1 else 'has'} more values than the "
                            f"header has columns ({len(header)}: {', '.join(header)}); remove the extra values or "
                            f"name the missing column in the header ({ROW_NOTE}).") from None
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Cannot read '{path}' as CSV ({msg}); {_FIX_FILE}.") from None


_HEAD = 1 << 16   # characters searched for the header line


def _nonblank(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def _rows(text: str, sep: str, path: str, lines: list[str] | None) -> list[list[str]]:
    """The rows of some CSV text as lists of strings, blank lines skipped as pandas does (so that row numbers
    agree with the loaded table); ``lines`` are its non-blank lines when already split."""
    if sep == r"\s+":
        return [ln.split() for ln in (lines if lines is not None else _nonblank(text))]
    try:
        return [r for r in csv.reader(io.StringIO(text), delimiter=sep) if r and not (len(r) == 1 and not r[0].strip())]
    except csv.Error as exc:
        raise DataError(f"Cannot read '{path}' as CSV ({exc}); {_FIX_FILE}.") from None


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
