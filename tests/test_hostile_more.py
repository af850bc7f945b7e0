"""Hostile inputs, continued (issue 15: the rest of items 4, 6, 7, 8, 10, 13 and 16).

Columns a fit does not read are named in one note; big tables say that they are loading and load
with bounded memory; the API's figure and report writers refuse existing files as the CLI does;
``--at-file`` wherever ``--at`` is taken; Ctrl-C at the very start of the console script; the
backtest's coverage verdict on the Marin IsoFLOP runs; the loss unit in the CLI's tables and JSON.

CLI commands run in-process (``cli.main``) with NUTS replaced by the session's small fit where a
command would sample, so that each test takes well under a second (one subprocess test sends a
real signal; the Marin backtest runs NUTS and is slow-marked).
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import bayeslaw
import bayeslaw.inference.fit
from bayeslaw.cli import common
from bayeslaw.core.spec import FitSpec

from clirun import one_sentence_error, run  # noqa: E402
from strictjson import loads as strict  # noqa: E402


def good_frame(n: int = 10) -> pd.DataFrame:
    N = np.geomspace(1e7, 1e10, n)
    D = np.geomspace(2e8, 2e11, n)[::-1].copy()
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 1.7 + 400 * N ** -0.34 + 410 * D ** -0.28})


# -- item 7: columns the fit does not read ---------------------------------------------------------


def test_columns_the_fit_does_not_read_are_named_in_the_plan():
    frame = good_frame().assign(budget=1e20, lr=3e-4, family="a")
    plan = bayeslaw.plan_fit(frame, "chinchilla")
    assert plan.ignored_columns == ("budget", "lr")   # family is a group column: carried, not ignored
    assert bayeslaw.plan_fit(good_frame(), "chinchilla").ignored_columns == ()
    curves = good_frame().assign(run_id=["a"] * 5 + ["b"] * 5, budget=1.0)
    assert bayeslaw.plan_fit(curves, "chinchilla", run="run_id").ignored_columns == ("budget",)
    # an unmapped column named like a variable is not read either
    assert bayeslaw.plan_fit(good_frame().rename(columns={"N": "params"}).assign(x=1.0), "chinchilla"
                             ).ignored_columns == ("x",)


def test_the_fit_records_the_columns_it_did_not_read(power_law_fit):
    spec = power_law_fit.spec
    assert spec.data.ignored == ("epoch_excluded",)   # the bundled runs' flag column
    none = spec.replace(data=replace(spec.data, ignored=()))
    assert "ignored" not in none.to_dict()["data"]    # spec.json of tables read whole is unchanged
    marked = spec.replace(data=replace(spec.data, ignored=("budget", "lr")))
    assert marked.to_dict()["data"]["ignored"] == ["budget", "lr"]
    assert FitSpec.from_dict(marked.to_dict()).data.ignored == ("budget", "lr")


def test_fit_names_the_columns_it_ignored_in_one_note(tmp_path, capsys, fake_nuts):
    path = tmp_path / "runs.csv"
    good_frame().assign(budget=1e20, source="marin").to_csv(path, index=False)
    code, out, err = run(capsys, ["fit", path, "--law", "chinchilla"])
    assert code == 0, err
    notes = [ln for ln in err.splitlines() if "not used by the fit" in ln]
    assert len(notes) == 1 and notes[0].startswith("note: columns 'budget', 'source' are"), err
    assert str(path) in notes[0] and "--x NAME=COLUMN" in notes[0]
    assert "not used by the fit" not in out
    code, out, err = run(capsys, ["fit", path, "--law", "chinchilla", "--format", "json"])
    assert code == 0 and "not used by the fit" in err
    code, out, err = run(capsys, ["--quiet", "fit", path, "--law", "chinchilla"])
    assert code == 0 and "not used by the fit" not in err
    plain = tmp_path / "plain.csv"
    good_frame().to_csv(plain, index=False)
    code, out, err = run(capsys, ["fit", plain, "--law", "chinchilla"])
    assert code == 0 and "not used by the fit" not in err


# -- item 4 (API): save_figure and write_report refuse existing files unless overwrite=True ----------


def test_api_writers_refuse_an_existing_file_unless_overwrite(power_law_fit, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayeslaw import plots
    from bayeslaw.report import write_report

    fig, _ = plt.subplots()
    png = tmp_path / "fig.png"
    png.write_bytes(b"old")
    with pytest.raises(bayeslaw.BayeslawError, match=r"'.*fig\.png' already exists.*overwrite=True") as exc:
        plots.save_figure(fig, png)
    assert "\n" not in str(exc.value) and png.read_bytes() == b"old"
    assert plots.save_figure(fig, png, overwrite=True) == png and png.read_bytes().startswith(b"\x89PNG")
    target = tmp_path / "target.png"
    target.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(target)
    plots.save_figure(fig, link, overwrite=True)   # written through the link, which stays a link
    assert link.is_symlink() and target.read_bytes().startswith(b"\x89PNG")
    plt.close(fig)

    html = tmp_path / "r.html"
    html.write_text("old")
    with pytest.raises(bayeslaw.BayeslawError, match=r"'.*r\.html' already exists.*overwrite=True"):
        write_report(power_law_fit, html)
    assert html.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png", "link.png", "r.html", "target.png"]


# -- item 6: --at-file wherever --at is taken -------------------------------------------------------


@pytest.fixture(scope="module")
def n_dir(power_law_fit, tmp_path_factory):
    """The shared one-variable fit (power_law of N), saved."""
    return power_law_fit.save(tmp_path_factory.mktemp("n") / "fit")


def _commands_with_at():
    from bayeslaw.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(name for name, p in sub.choices.items() if any("--at" in a.option_strings for a in p._actions))


def test_every_command_that_takes_at_takes_at_file():
    from bayeslaw.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    with_at = _commands_with_at()
    assert {"predict", "plot", "report", "compare"} <= set(with_at)
    for name in with_at:
        assert any("--at-file" in a.option_strings for a in sub.choices[name]._actions), name


def test_at_file_in_plot_and_report(capsys, n_dir, tmp_path):
    good = tmp_path / "targets.csv"
    good.write_text("N\n1e9\n7e10\n")
    out = tmp_path / "curve.png"
    code, _, err = run(capsys, ["plot", n_dir, "--kind", "curve", "--at-file", good, "-o", out])
    assert code == 0 and out.read_bytes().startswith(b"\x89PNG"), err
    html = tmp_path / "r.html"
    code, _, err = run(capsys, ["report", n_dir, "--at-file", good, "-o", html])
    assert code == 0, err
    assert "10<sup>10</sup></td>" in html.read_text()   # the second target's row (7e10)
    assert "Loss in the run table&#x27;s unit." in html.read_text() or "Loss in the run table's unit." in \
        html.read_text()   # the loss unit of FitSpec.loss_unit, as in the figures and the CLI


@pytest.mark.parametrize("command", ["plot", "report", "compare"])
def test_bad_at_file_is_one_sentence_and_writes_nothing(command, capsys, n_dir, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("N\n1e9\nlots\n")
    out = tmp_path / ("out.html" if command == "report" else "out.png")
    data = tmp_path / "runs.csv"
    good_frame().to_csv(data, index=False)
    head = {"plot": ["plot", n_dir, "-o", out], "report": ["report", n_dir, "-o", out],
            "compare": ["compare", data, "--law", "power_law", "--x", "N", "--plot", out]}[command]
    one_sentence_error(*run(capsys, [*head, "--at-file", bad])[::2], "row 2", "column 'N'", "'lots'")
    one_sentence_error(*run(capsys, [*head, "--at-file", bad, "--at", "N=1e9"])[::2], "not both")
    one_sentence_error(*run(capsys, [*head, "--at-file", tmp_path / "none.csv"])[::2], "does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "runs.csv"]


# -- item 16: the loss unit, stated the same way in figures, tables and JSON -------------------------


@pytest.fixture(scope="module")
def nd_dir(chinchilla_fit, tmp_path_factory):
    """The shared Chinchilla fit (a law of N and D), saved."""
    return chinchilla_fit.save(tmp_path_factory.mktemp("nd") / "fit")


def test_loss_unit_in_predict_optimum_and_fit_outputs(capsys, nd_dir, n_dir, chinchilla_fit, power_law_fit,
                                                      fake_nuts, tmp_path):
    from bayeslaw.plots.style import loss_label

    assert chinchilla_fit.spec.loss_unit == "nats per token"
    assert loss_label(chinchilla_fit) == f"loss ({chinchilla_fit.spec.loss_unit})"   # the figures' rule
    for fit_dir, fit in ((nd_dir, chinchilla_fit), (n_dir, power_law_fit)):
        unit = fit.spec.loss_unit
        at = "N=7e10,D=1.4e12" if fit is chinchilla_fit else "N=7e10"
        code, out, err = run(capsys, ["predict", fit_dir, "--at", at, "--format", "json"])
        assert code == 0 and strict(out)["loss_unit"] == unit, err
        code, out, err = run(capsys, ["predict", fit_dir, "--at", at])
        assert code == 0 and f"loss in {unit}\n" in out, err
    code, out, err = run(capsys, ["optimum", nd_dir, "--compute", "5.76e23", "--format", "json"])
    assert code == 0 and strict(out)["loss_unit"] == "nats per token", err
    code, out, err = run(capsys, ["optimum", nd_dir, "--compute", "5.76e23", "--loss", "2.0"])
    assert code == 0 and "loss in nats per token\n" in out, err
    data = tmp_path / "runs.csv"
    good_frame().to_csv(data, index=False)
    code, out, err = run(capsys, ["fit", data, "--law", "chinchilla", "--format", "json"])
    doc = strict(out)
    assert code == 0 and doc["loss_unit"] == power_law_fit.spec.loss_unit, err   # the fake fit's spec
    code, out, err = run(capsys, ["fit", data, "--law", "chinchilla"])
    assert code == 0 and f"loss in {power_law_fit.spec.loss_unit}\n" in out


# -- item 10: Ctrl-C in the first tenth of a second of the console script ------------------------------


def test_sigint_while_the_console_script_imports_exits_130_quietly(tmp_path):
    """The handler of bayeslaw.__main__ is in place before the CLI's modules import. Earlier than that is the
    interpreter's own start-up (its site import, e.g. an editable install's finder): Python dies there with
    "Fatal Python error: init_import_site" or, before its handler exists, by the signal; no package code runs."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    data = tmp_path / "runs.csv"
    good_frame().to_csv(data, index=False)
    script = Path(sys.executable).with_name("bayeslaw")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    PACKAGE = str(Path(bayeslaw.__file__).parent)
    FACE = f'File "{bayeslaw.__file__}"'
    outcomes = []
    for i, delay in enumerate([0.03, 0.05, 0.07, 0.1, 0.15, 0.25]):
        out = tmp_path / f"f{i}"
        # a terminal's SIGINT has its default action; a pytest-xdist worker ignores SIGINT, and an ignored signal stays
        # ignored across exec (the child would run the fit to the end): start the child with a handled SIGINT,
        # which exec resets to the default
        before = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            proc = subprocess.Popen([str(script), "fit", str(data), "--law", "chinchilla", "--out", str(out)],
                                    cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        finally:
            signal.signal(signal.SIGINT, before)
        # a signal between fork and exec reaches the forked copy of this interpreter, which cannot act on it (the
        # exec'd fit then runs to the end): wait for the exec, seen as the child's own command line
        cmdline, t0 = Path(f"/proc/{proc.pid}/cmdline"), time.monotonic()
        while time.monotonic() - t0 < 10:
            try:
                if str(out).encode() in cmdline.read_bytes():
                    break
            except OSError:   # no /proc, or the child has already gone
                break
            time.sleep(0.001)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        stdout, err = proc.communicate(timeout=120)
        assert not out.exists()
        own_frames = [ln for ln in err.splitlines() if ln.strip().startswith("File ") and PACKAGE in ln]
        if "init_import_site" in err or (proc.returncode == -signal.SIGINT
                                         and all(ln.strip().startswith(FACE) for ln in own_frames)):
            # before the handler existed: Python's start-up, finding the package, or the face's first lines (the
            # traceback, if any, has no frame of bayeslaw's files other than the face's)
            outcomes.append("interpreter start-up")
            continue
        assert proc.returncode == 130 and "Traceback" not in err, (delay, proc.returncode, err)
        assert err.strip().splitlines()[-1] == "interrupted: nothing was written" and stdout == ""
        outcomes.append(130)
    assert 130 in outcomes, outcomes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.csv"]


# -- item 8: large tables say that they load, and load in seconds with bounded memory --------------------


def test_a_large_table_says_it_is_loading(tmp_path, capsys, monkeypatch, fake_nuts):
    from bayeslaw.core import tables

    path = tmp_path / "runs.csv"
    good_frame().to_csv(path, index=False)
    size = path.stat().st_size
    bayeslaw.load_runs(path)
    assert capsys.readouterr().err == ""             # below the threshold (50 MB): silent
    monkeypatch.setattr(tables, "PROGRESS_BYTES", size)
    bayeslaw.load_runs(path)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0] == f"reading {path} ({size / 1e6:,.0f} MB) ..."
    assert lines[1].startswith(f"read {path}: 10 rows, 4 columns in ") and lines[1].endswith(" s")
    code, out, err = run(capsys, ["fit", path, "--law", "chinchilla"])
    assert code == 0 and err.startswith(f"reading {path}") and "reading" not in out
    code, out, err = run(capsys, ["--quiet", "fit", path, "--law", "chinchilla"])
    assert code == 0 and "reading" not in err and tables.PROGRESS_BYTES == size   # restored after the command
    monkeypatch.setattr(tables, "PROGRESS_BYTES", None)
    bayeslaw.load_runs(path)
    assert capsys.readouterr().err == ""


def test_the_fast_reader_still_names_rows_with_extra_values(tmp_path):
    """Past the first 64k characters (where the header is read) pandas parses alone; rows with more values than
    the header still get the sentence that names them, also where pandas would only warn (one column)."""
    frame = good_frame(3000).assign(seed=range(3000))
    lines = frame.to_csv(index=False).splitlines()
    lines[2500] += ",7"
    path = tmp_path / "long.csv"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 1 << 16
    with pytest.raises(bayeslaw.DataError, match=r"row 2500 has more values than the header has columns \(5:"):
        bayeslaw.load_runs(path)
    one = tmp_path / "one.csv"
    one.write_text("loss\n1.0\n2.0,3\n")
    with pytest.raises(bayeslaw.DataError, match=r"row 2 has more values than the header"):
        bayeslaw.load_runs(one)
    quoted = tmp_path / "quoted.csv"   # a quoted header cell with a comma and a newline
    quoted.write_text('"N","D","loss","note, with\nnewline"\n1e8,1e9,3.0,a\n2e8,2e9,2.9,b\n')
    from bayeslaw.core.tables import read_table

    assert list(read_table(quoted).columns) == ["N", "D", "loss", "note, with\nnewline"]


def test_duplicated_rows_by_hashing_agree_with_pandas():
    from bayeslaw.core.values import duplicated_rows

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"N": rng.integers(0, 5, 2000).astype(float), "D": rng.integers(0, 5, 2000).astype(float),
                          "family": rng.choice(["a", "b", None], 2000)})
    frame.index = pd.RangeIndex(1, 2001, name="row")
    for cols in (["N"], ["N", "D"], ["N", "D", "family"]):
        assert duplicated_rows(frame, cols).equals(frame.duplicated(subset=cols, keep=False))
    assert not duplicated_rows(good_frame(), ["N", "D", "C", "loss"]).any()


# -- item 13 on real data: the backtest's coverage verdict on the Marin IsoFLOP runs ---------------------


def _marin(shared_data, tmp_path, dataset: str = "dclm"):
    """One of the three Marin data sets (comma, dclm, nemotron) of ../shared/data/isoflop, as its own table."""
    path = shared_data / "isoflop" / "marin_202603.csv"
    if not path.exists():
        pytest.skip(f"{path} not found (the Marin IsoFLOP runs of ../shared/data/isoflop)")
    frame = pd.read_csv(path)
    out = tmp_path / f"marin_{dataset}.csv"
    frame[frame["dataset"] == dataset].to_csv(out, index=False)
    return out


def test_marin_budget_column_is_named_as_ignored(shared_data, tmp_path):
    plan = bayeslaw.plan_fit(_marin(shared_data, tmp_path), "chinchilla")
    assert plan.runs.columns == {"N": "params", "D": "tokens", "loss": "loss"} and "budget" in plan.ignored_columns
    assert plan.runs.groups == ("dataset",)


@pytest.mark.slow
def test_marin_backtest_says_coverage_is_far_below_nominal(shared_data, tmp_path, capsys):
    """docs/guide/validate.md records this run (the plain law, default sampler settings); 2 chains here."""
    path = _marin(shared_data, tmp_path)
    code, out, err = run(capsys, ["backtest", path, "--law", "chinchilla", "--curvature", "off", "--num-chains", "2",
                                  "--quiet"])
    assert code == 0, err
    (line,) = [ln for ln in out.splitlines() if "far below" in ln]
    assert line.startswith("warning: Held-out coverage is far below the nominal 0.89 (chinchilla 0.")
    assert "of 17 held-out runs; one-sided binomial p < 0.01, runs as units" in line and "--curvature orthogonal" in line


def test_fit_by_names_the_columns_it_ignored(tmp_path, capsys, monkeypatch, power_law_fit):
    import bayeslaw.inference.many as many

    marked = copy.copy(power_law_fit)
    marked.spec = power_law_fit.spec.replace(data=replace(power_law_fit.spec.data, ignored=("budget",)))
    monkeypatch.setattr(many, "fit_many", lambda *a, **k: many.Fits({"a": marked, "b": marked}, by="curve"))
    monkeypatch.setattr(common, "setup_jax", lambda n: None)
    path = tmp_path / "runs.csv"
    good_frame().assign(curve=["a", "b"] * 5, budget=1.0).to_csv(path, index=False)
    code, out, err = run(capsys, ["fit", path, "--law", "power_law", "--x", "N", "--by", "curve"])
    assert code == 0, err
    assert [ln for ln in err.splitlines() if "not used by the fit" in ln] == [
        f"note: column 'budget' is not used by the fit ({path}: not read as a size, the loss, a group or the run "
        "column); if one is a size, map it with --x NAME=COLUMN."]
