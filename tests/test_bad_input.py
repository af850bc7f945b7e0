"""Bad input to the ``bayeslaw`` command: one plain message, exit status 2, nothing written.

Every case runs ``bayeslaw.cli.main([...])`` in-process. Fitting and JAX set-up are
replaced by functions that fail the test, so each check is also shown to happen before
any sampling. Rows in messages are counted from 1 after the header (``core.tables.ROW_NOTE``).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest

import bayeslaw
import bayeslaw.inference.fit
from bayeslaw import cli
from bayeslaw.cli import common

LAW_NAMES = ("broken_power_law", "chinchilla", "compute", "kaplan", "power_law")


# -- helpers -------------------------------------------------------------------------------


def good_frame(n: int = 10) -> pd.DataFrame:
    """n runs with distinct N, D, C = 6ND and a Chinchilla-like loss."""
    N = np.geomspace(1e7, 1e10, n)
    D = np.geomspace(2e8, 2e11, n)[::-1].copy()
    loss = 1.7 + 400 * N ** -0.34 + 410 * D ** -0.28
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": loss})


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    df.to_csv(path, index=False)
    return path


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under root with its bytes (None for directories)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def rows_named(line: str) -> set[int]:
    """The row numbers a message line names ('row 3', 'rows 2, 5')."""
    found: set[int] = set()
    for m in re.finditer(r"\brows? (\d+(?:, \d+)*)", line):
        found |= {int(v) for v in m.group(1).split(", ")}
    return found


def line_about(err: str, needle: str) -> str:
    lines = [ln for ln in err.splitlines() if needle in ln]
    assert len(lines) == 1, f"expected one line mentioning {needle!r} in:\n{err}"
    return lines[0]


@dataclass
class Case:
    """A bad input: build(tmp) -> argv; the message must contain every `names` and one of `fixes`."""

    build: Callable[[Path], list[str]]
    names: tuple[str, ...]
    fixes: tuple[str, ...]
    bullets: int = 0  # >0: a header line plus this many '  - ' problem lines
    rows: dict[str, set[int]] = field(default_factory=dict)  # line needle -> exact row numbers


@pytest.fixture(autouse=True)
def no_fitting(monkeypatch):
    """Bad input must be refused before JAX is set up and before NUTS runs."""

    def forbidden(*args, **kwargs):
        raise AssertionError("bad input reached JAX set-up or NUTS fitting; it must be refused before")

    monkeypatch.setattr(bayeslaw, "fit", forbidden)
    monkeypatch.setattr(bayeslaw.inference.fit, "fit", forbidden)
    monkeypatch.setattr(bayeslaw.inference.fit, "run_plan", forbidden)
    monkeypatch.setattr(common, "setup_jax", forbidden)


def run_bad(capsys, argv: list[str]) -> str:
    """Run the CLI, check the common contract of bad input, and return stderr."""
    code = cli.main(argv)
    cap = capsys.readouterr()
    assert code == 2, f"exit status {code}, stderr:\n{cap.err}"
    assert cap.out == "", f"bad input printed to stdout:\n{cap.out}"
    assert "Traceback" not in cap.err
    assert cap.err.startswith("error: "), cap.err
    assert cap.err.endswith("\n") and cap.err.count("error: ") == 1, cap.err
    return cap.err


def check_message(err: str, case: Case) -> None:
    lines = err.rstrip("\n").split("\n")
    if case.bullets:
        assert len(lines) == 1 + case.bullets, err
        assert all(ln.startswith("  - ") for ln in lines[1:]), err
        assert f"{case.bullets} problems" in lines[0], err
    else:
        assert len(lines) == 1, f"expected one line, got:\n{err}"
    for name in case.names:
        assert name in err, f"{name!r} not named in:\n{err}"
    assert any(fix in err for fix in case.fixes), f"none of {case.fixes} (what to do) in:\n{err}"
    for needle, rows in case.rows.items():
        assert rows_named(line_about(err, needle)) == rows, f"rows for {needle!r} in:\n{err}"


# -- the cases -----------------------------------------------------------------------------


def _fit(path: Path | str, *extra: str) -> list[str]:
    return ["fit", str(path), *extra]


def _missing(tmp: Path) -> list[str]:
    return _fit(tmp / "no_such_runs.csv")


def _directory(tmp: Path) -> list[str]:
    (tmp / "runs_dir").mkdir()
    return _fit(tmp / "runs_dir")


def _empty(tmp: Path) -> list[str]:
    (tmp / "empty.csv").write_bytes(b"")
    return _fit(tmp / "empty.csv")


def _binary_csv(tmp: Path) -> list[str]:
    (tmp / "binary.csv").write_bytes(np.random.default_rng(0).bytes(2048))
    return _fit(tmp / "binary.csv")


def _not_parquet(tmp: Path) -> list[str]:
    (tmp / "runs.parquet").write_text("N,D,loss\n1,2,3\n")
    return _fit(tmp / "runs.parquet")


def _binary_parquet(tmp: Path) -> list[str]:
    (tmp / "noise.parquet").write_bytes(np.random.default_rng(1).bytes(1024))
    return _fit(tmp / "noise.parquet")


def _header_only(tmp: Path) -> list[str]:
    (tmp / "header_only.csv").write_text("N,D,C,loss\n")
    return _fit(tmp / "header_only.csv")


def _no_loss(tmp: Path) -> list[str]:
    df = good_frame().rename(columns={"loss": "perplexity_bits"})
    return _fit(write_csv(tmp / "no_loss.csv", df))


def _no_size(tmp: Path) -> list[str]:
    df = good_frame()[["loss"]].assign(width=np.arange(10) + 1.0)
    return _fit(write_csv(tmp / "no_size.csv", df))


def _loss_only(tmp: Path) -> list[str]:
    # one column: the delimiter sniffer once split the header 'loss' into 'lo', 'Unnamed: 1', ...
    return _fit(write_csv(tmp / "loss_only.csv", good_frame()[["loss"]]))


def _ambiguous(tmp: Path) -> list[str]:
    df = good_frame().drop(columns=["N", "C"])
    df.insert(0, "params", good_frame()["N"])
    df.insert(1, "n_params", good_frame()["N"] * 0.9)
    return _fit(write_csv(tmp / "ambiguous.csv", df))


def _text_in_numbers(tmp: Path) -> list[str]:
    df = good_frame().astype(object)
    df.loc[2, "D"] = "abc"      # row 3
    df.loc[5, "D"] = "1.2e9x"   # row 6
    return _fit(write_csv(tmp / "text.csv", df))


def _nan_inf(tmp: Path) -> list[str]:
    df = good_frame()
    df.loc[1, "D"] = np.nan     # row 2
    df.loc[3, "N"] = np.inf     # row 4
    df.loc[6, "loss"] = -np.inf  # row 7
    df.loc[8, "loss"] = np.nan  # row 9
    return _fit(write_csv(tmp / "nan_inf.csv", df))


def _nonpositive(tmp: Path) -> list[str]:
    df = good_frame()
    df.loc[1, "N"] = 0.0        # row 2
    df.loc[2, "D"] = -5e9       # row 3
    df.loc[3, "C"] = 0.0        # row 4
    df.loc[4, "loss"] = -0.1    # row 5
    df.loc[7, "loss"] = 0.0     # row 8
    return _fit(write_csv(tmp / "nonpositive.csv", df))


def _duplicates(tmp: Path) -> list[str]:
    df = good_frame()
    df.iloc[6] = df.iloc[1]     # row 7 copies row 2
    return _fit(write_csv(tmp / "dups.csv", df))


def _too_few(tmp: Path) -> list[str]:
    return _fit(write_csv(tmp / "six_runs.csv", good_frame(6)), "--law", "chinchilla")


def _too_many_values(tmp: Path) -> list[str]:
    text = good_frame(8).to_csv(index=False).splitlines()
    text[4] += ",7"             # line 5 of the file = row 4
    (tmp / "ragged.csv").write_text("\n".join(text) + "\n")
    return _fit(tmp / "ragged.csv")


def _repeated_header(tmp: Path) -> list[str]:
    (tmp / "twice.csv").write_text("N,D,N,loss\n1e9,2e10,2e9,2.5\n")
    return _fit(tmp / "twice.csv")


def _spreadsheet(tmp: Path) -> list[str]:
    (tmp / "runs.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")
    return _fit(tmp / "runs.xlsx")


def _good(tmp: Path, name: str = "runs.csv") -> Path:
    path = tmp / name
    if not path.exists():
        write_csv(path, good_frame())
    return path


CASES: dict[str, Case] = {
    "missing-file": Case(_missing, ("no_such_runs.csv", "does not exist"), ("check the path",)),
    "directory": Case(_directory, ("runs_dir", "directory"), ("give the path of a CSV or Parquet file",)),
    "empty-file": Case(_empty, ("empty.csv", "empty"), ("give a table with a header",)),
    "binary-csv": Case(_binary_csv, ("binary.csv", "not UTF-8 text"), ("give a CSV/TSV file",)),
    "text-as-parquet": Case(_not_parquet, ("runs.parquet", "Parquet"), ("give a CSV/TSV file",)),
    "binary-parquet": Case(_binary_parquet, ("noise.parquet", "Parquet"), ("check that it is a complete Parquet",)),
    "spreadsheet": Case(_spreadsheet, ("runs.xlsx", "Excel"), ("export the table as CSV",)),
    "header-only": Case(_header_only, ("header_only.csv", "no data rows"), ("one row per training run",)),
    "no-loss-column": Case(_no_loss, ("no_loss.csv", "no loss column", "perplexity_bits"), ("--y COLUMN",)),
    "no-size-column": Case(_no_size, ("no_size.csv", "no size column", "width"), ("--x COLUMN",)),
    "loss-column-only": Case(_loss_only, ("loss_only.csv", "no size column", "its columns are: loss."),
                             ("--x COLUMN",)),
    "ambiguous-columns": Case(_ambiguous, ("ambiguous.csv", "'params'", "'n_params'", "could each be N"),
                              ("--x N=COLUMN",)),
    "text-in-numeric-column": Case(_text_in_numbers, ("text.csv", "column 'D'", "not a number", "'abc'"),
                                   ("fix or remove those rows",), rows={"column 'D'": {3, 6}}),
    "nan-and-inf": Case(_nan_inf, ("nan_inf.csv", "column 'N'", "column 'D'", "column 'loss'"),
                        ("remove those rows or fill in the values",), bullets=3,
                        rows={"column 'N'": {4}, "column 'D'": {2}, "column 'loss'": {7, 9}}),
    "zero-and-negative": Case(_nonpositive, ("nonpositive.csv", "column 'N'", "column 'D'", "column 'C'",
                                             "column 'loss'", "must be positive"),
                              ("remove or correct those rows",), bullets=4,
                              rows={"column 'N'": {2}, "column 'D'": {3}, "column 'C'": {4},
                                    "column 'loss'": {5, 8}}),
    "duplicated-rows": Case(_duplicates, ("dups.csv", "exact duplicates"), ("remove the copies",),
                            rows={"duplicates": {2, 7}}),
    "too-many-values-in-a-row": Case(_too_many_values, ("ragged.csv", "more values than the header"),
                                     ("remove the extra values",), rows={"more values": {4}}),
    "repeated-header-name": Case(_repeated_header, ("twice.csv", "'N' twice"), ("rename or remove",)),
    "too-few-runs": Case(_too_few, ("six_runs.csv", "6 runs", "'chinchilla'", "5 parameters", "at least 7"),
                         ("add runs",)),
    "unknown-law": Case(lambda t: _fit(_good(t), "--law", "chinchila"),
                        ("'chinchila'", *LAW_NAMES), ("see `bayeslaw laws`",)),
    "prior-without-equals": Case(lambda t: _fit(_good(t), "--prior", "alpha"),
                                 ("'alpha'", "NAME=DIST"), ("e.g. --prior alpha=",)),
    "prior-unknown-distribution": Case(lambda t: _fit(_good(t), "--prior", "alpha=Gaussian(0, 1)"),
                                       ("alpha=Gaussian(0, 1)", "Unknown distribution 'Gaussian'", "Normal"),
                                       ("Give a valid distribution",)),
    "prior-bad-syntax": Case(lambda t: _fit(_good(t), "--prior", "alpha=Uniform(0,"),
                             ("alpha=Uniform(0,", "Cannot read prior"), ("write it like Uniform(0, 1)",)),
    "prior-unknown-parameter": Case(lambda t: _fit(_good(t), "--prior", "alhpa=Normal(0,1)"),
                                    ("'alhpa'", "'chinchilla'", "did you mean 'alpha'"),
                                    ("its parameters are E, a, alpha, b, beta, sigma, nu",)),
    "prior-invalid-argument": Case(lambda t: _fit(_good(t), "--prior", "alpha=HalfNormal(-1)"),
                                   ("alpha=HalfNormal(-1)", "scale must be positive"),
                                   ("Give a valid distribution",)),
    "prior-no-name": Case(lambda t: _fit(_good(t), "--prior", "=HalfNormal(1)"),
                          ("'=HalfNormal(1)'", "no parameter name"), ("write NAME=DIST",)),
    "x-column-missing": Case(lambda t: _fit(_good(t), "--x", "N=model_size"),
                             ("runs.csv", "no column 'model_size'", "asked for as N"),
                             ("give one of its columns: N, D, C, loss",)),
    "one-variable-law-needs-x": Case(lambda t: _fit(_good(t), "--law", "power_law"),
                                     ("runs.csv", "'power_law'", "N, D, C"), ("--x D",)),
    "single-x-for-two-variable-law": Case(lambda t: _fit(_good(t), "--law", "chinchilla", "--x", "steps"),
                                          ("x='steps'", "'chinchilla'"), ("--x N=COLUMN --x D=COLUMN",)),
    "same-column-twice": Case(lambda t: _fit(_good(t), "--x", "N=N", "--x", "D=N"),
                              ("runs.csv", "'N'", "both N and D"), ("its own column",)),
    "target-accept-out-of-range": Case(lambda t: _fit(_good(t), "--target-accept-prob", "1.5"),
                                       ("target_accept_prob", "1.5"), ("between 0 and 1",)),
    "zero-chains": Case(lambda t: _fit(_good(t), "--num-chains", "0"), ("num_chains",), ("positive integer",)),
    "negative-seed": Case(lambda t: _fit(_good(t), "--seed", "-1"), ("seed", "-1"), ("from 0 to",)),
    "huge-seed": Case(lambda t: _fit(_good(t), "--seed", "1180591620717411303424"), ("seed",), ("from 0 to",)),
    "unknown-likelihood": Case(lambda t: _fit(_good(t), "--likelihood", "gaussian"),
                               ("'gaussian'", "student_t", "normal"), ("choose one of",)),
    "usage-error": Case(lambda t: _fit(_good(t), "--num-chains", "two"),
                        ("--num-chains", "'two'"), ("see `bayeslaw fit --help`",)),
}


@pytest.mark.parametrize("case_id", list(CASES))
def test_bad_input(case_id, tmp_path, capsys):
    case = CASES[case_id]
    argv = case.build(tmp_path)
    out_dir = tmp_path / "fit_out"
    before = snapshot(tmp_path)
    t0 = time.perf_counter()
    err = run_bad(capsys, [*argv, "--out", str(out_dir)])
    assert time.perf_counter() - t0 < 10, "refusing bad input should take well under 10 s"
    check_message(err, case)
    assert not out_dir.exists()
    assert snapshot(tmp_path) == before, "bad input changed files"


def test_existing_out_dir_is_refused_before_fitting(tmp_path, capsys):
    data = _good(tmp_path)
    out_dir = tmp_path / "previous_fit"
    out_dir.mkdir()
    (out_dir / "spec.json").write_text('{"keep": true}')
    (out_dir / "notes.txt").write_bytes(b"my notes\n")
    before = snapshot(tmp_path)
    t0 = time.perf_counter()
    err = run_bad(capsys, ["fit", str(data), "--out", str(out_dir)])
    assert time.perf_counter() - t0 < 10
    assert len(err.splitlines()) == 1
    assert "previous_fit" in err and "already exists" in err
    assert "--overwrite" in err and "choose another --out" in err
    assert snapshot(tmp_path) == before


def test_out_dir_that_is_not_a_fit_is_refused_even_with_overwrite(tmp_path, capsys):
    data = _good(tmp_path)
    out_dir = tmp_path / "thesis"
    out_dir.mkdir()
    (out_dir / "chapter1.tex").write_text("do not delete")
    before = snapshot(tmp_path)
    err = run_bad(capsys, ["fit", str(data), "--out", str(out_dir), "--overwrite"])
    assert "thesis" in err and "not a saved fit" in err and "choose another --out" in err
    assert snapshot(tmp_path) == before


def test_duplicate_rows_with_missing_group_value_name_the_rows(tmp_path, capsys):
    # duplicates whose group value is empty were once reported as "(rows )"
    df = good_frame().assign(family=["a"] * 10)
    df.loc[[3, 5], "family"] = np.nan
    df.iloc[5, :4] = df.iloc[3, :4]
    err = run_bad(capsys, ["fit", str(write_csv(tmp_path / "fam.csv", df))])
    assert rows_named(line_about(err, "duplicates")) == {4, 6}
    assert "family" in err


def test_boolean_loss_is_not_a_number(tmp_path, capsys):
    df = good_frame().assign(loss=True)
    err = run_bad(capsys, ["fit", str(write_csv(tmp_path / "bool.csv", df))])
    assert "column 'loss'" in err and "not a number" in err and "(e.g. True)" in err
    assert rows_named(err.splitlines()[0]) == {1, 2, 3, 4, 5}


# -- the real console script ---------------------------------------------------------------


def _console_script() -> Path:
    script = Path(sys.executable).with_name("bayeslaw")
    assert script.is_file(), f"console script not installed next to {sys.executable} (pip install -e .)"
    return script


def _run_script(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "BAYESLAW_NO_CACHE": "1"}
    return subprocess.run([str(_console_script()), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_console_script_missing_file(tmp_path):
    proc = _run_script(["fit", "missing.csv"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr == "error: File 'missing.csv' does not exist; check the path.\n"
    assert list(tmp_path.iterdir()) == []


def test_console_script_malformed_prior(tmp_path):
    _good(tmp_path)
    before = snapshot(tmp_path)
    proc = _run_script(["fit", "runs.csv", "--prior", "alpha=Uniform(0,", "--out", "f"], tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Prior alpha=Uniform(0,: Cannot read prior")
    assert snapshot(tmp_path) == before
