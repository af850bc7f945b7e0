"""The loader under fuzzing (hypothesis): any table either loads sensibly or is refused with a BayeslawError.

Column names (odd unicode, spaces, duplicates, empty), encodings (UTF-8, UTF-8 with BOM, UTF-16,
Latin-1), separators (comma, semicolon, tab) and values (negative, zero, nan, inf, huge, text) are
drawn together; so are arbitrary bytes. Never another exception. A few hostile files go through the
console script too: exit 2, one line on stderr, no traceback. Examples are derandomized and no example
database is kept, so every run (and CI) sees the same cases.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayeslaw
from bayeslaw.core.tables import read_table
from bayeslaw.errors import BayeslawError

FUZZ = settings(max_examples=120, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

NAMES = st.one_of(
    st.sampled_from(["N", "D", "C", "loss", "params", "tokens", "val_loss", "flops", "family", "seed", "x", ""]),
    st.sampled_from([" N ", "lo ss", "Loss", "N\u00a0", "\u00e9t\u00e9", "\u0394", "\u6570", "\U0001f600", "a\"b",
                     "a,b", "1e9", "nan", "#"]),
    st.text(min_size=0, max_size=6),
)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-300, 1e300, 1e308, 3.5, 2e9, 7e11]),
    st.integers(min_value=-10**20, max_value=10**20),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "", " ", "abc", "1,5", "1e9", "true", "\u00e9", "NULL", "1_000"]),
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "latin-1")
SEPS = (",", ";", "\t")


def _cell(v) -> str:
    if isinstance(v, float):
        return repr(v)
    return str(v)


@st.composite
def tables(draw):
    names = draw(st.lists(NAMES, min_size=1, max_size=5))
    n_rows = draw(st.integers(min_value=0, max_value=6))
    rows = [[_cell(draw(VALUES)) for _ in names] for _ in range(n_rows)]
    sep = draw(st.sampled_from(SEPS))
    encoding = draw(st.sampled_from(ENCODINGS))
    text = "\n".join(sep.join(r) for r in [names, *rows]) + draw(st.sampled_from(["", "\n", "\r\n"]))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    return data, draw(st.sampled_from([".csv", ".tsv", ".txt", ""]))


def _check(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"runs{suffix}"
        path.write_bytes(data)
        try:
            df = read_table(path)
        except BayeslawError as exc:
            assert str(exc).strip() and "Traceback" not in str(exc)
            return
        assert isinstance(df, pd.DataFrame)
        try:
            runs = bayeslaw.load_runs(path)
        except BayeslawError as exc:
            assert str(exc).strip()
            return
        # a sensible table: one row per data row, positive finite sizes and losses
        assert len(runs) >= 1 and "loss" in runs.frame.columns
        for col in (*runs.variables, "loss"):
            values = runs.frame[col].to_numpy(float)
            assert np.all(np.isfinite(values)) and np.all(values > 0), col
        assert runs.frame.index[0] == 1


@FUZZ
@given(tables())
def test_fuzzed_tables_load_or_are_refused(case):
    _check(*case)


@settings(max_examples=60, derandomize=True, database=None, deadline=None)
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"PAR1" + b + b"PAR1"),
                 st.binary(max_size=200).map(lambda b: b"\xff\xfe" + b)), st.sampled_from([".csv", ".parquet", ""]))
def test_fuzzed_bytes_load_or_are_refused(data, suffix):
    _check(data, suffix)


@FUZZ
@given(st.lists(st.sampled_from(["N", "D", "loss", "n", "params", "", " ", "loss "]), min_size=1, max_size=5),
       st.sampled_from(ENCODINGS), st.sampled_from(SEPS))
def test_duplicate_and_empty_column_names_are_named(names, encoding, sep):
    text = sep.join(names) + "\n" + sep.join(["1e9"] * len(names)) + "\n"
    _check(text.encode(encoding), ".csv")


def test_a_good_table_survives_every_encoding_and_separator(tmp_path):
    df = pd.DataFrame({"N": [1e8, 1e9, 1e10], "D": [2e9, 2e10, 2e11], "loss": [3.1, 2.7, 2.4]})
    for encoding in ENCODINGS:
        for sep in SEPS:
            path = tmp_path / f"{encoding}{'tab' if sep == chr(9) else sep}.csv"
            path.write_bytes(df.to_csv(index=False, sep=sep).encode(encoding))
            runs = bayeslaw.load_runs(path)
            assert runs.frame["N"].tolist() == [1e8, 1e9, 1e10], (encoding, sep)
            assert math.isclose(runs.frame["C"].iloc[0], 6 * 1e8 * 2e9)


HOSTILE = {
    "utf16-nan.csv": "N;D;loss\n1e9;2e10;nan\n2e9;4e10;2.5\n".encode("utf-16"),
    "latin1-name.csv": "N,D,perte_\u00e9t\u00e9\n1e9,2e10,2.5\n".encode("latin-1"),
    "tab-inf.tsv": b"N\tD\tloss\n1e9\t2e10\tinf\n",
}


def test_hostile_files_through_the_console_script(tmp_path):
    script = Path(sys.executable).with_name("bayeslaw")
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "BAYESLAW_NO_CACHE": "1"}
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
        proc = subprocess.run([str(script), "fit", name, "--out", "f"], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stdout == "" and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
        assert not (tmp_path / "f").exists()
