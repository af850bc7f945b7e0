"""Every command keeps its streams apart: results (tables, JSON, CSV) on stdout, notes, warnings,
progress and "wrote FILE" on stderr, so that ``bayeslaw predict ... > out.txt`` and
``bayeslaw plot ... | ...`` give the results alone.

The fits are the session's shared ones (saved once to a folder here); the commands that sample
(fit, compare, backtest) use the small settings and data of the other CLI tests, so they reuse
their compiled programs.
"""

import json

import numpy as np
import pandas as pd
import pytest

from bayeslaw.cli import main

SMALL = ["--num-chains", "2", "--num-warmup", "300", "--num-samples", "300", "--seed", "1"]


@pytest.fixture(scope="module")
def saved(chinchilla_fit, power_law_fit, tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    chinchilla_fit.save(root / "chin")
    power_law_fit.save(root / "pl")
    return root


@pytest.fixture(scope="module")
def ladder(tmp_path_factory):
    """The synthetic Chinchilla ladder of tests/test_compare.py (8 sizes x 6 ratios, 2% noise)."""
    rng = np.random.default_rng(0)
    N = np.repeat(np.logspace(7, 9, 8), 6)
    D = N * np.tile([1, 3, 10, 30, 100, 300], 8)
    loss = (1.69 + 406.4 / N**0.34 + 410.7 / D**0.28) * np.exp(0.02 * rng.standard_normal(N.size))
    path = tmp_path_factory.mktemp("ladder") / "runs.csv"
    pd.DataFrame({"N": N, "D": D, "loss": loss}).to_csv(path, index=False)
    return path


def run(capsys, argv):
    code = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "Traceback" not in cap.out
    return code, cap.out, cap.err


def test_predict_notes_go_to_stderr(saved, capsys):
    # 100x the largest fitted N: the table on stdout, the extrapolation note on stderr
    code, out, err = run(capsys, ["predict", str(saved / "chin"), "--at", "N=7e12,D=1.4e12"])
    assert code == 0
    assert "mean law" in out and "note:" not in out
    assert err.startswith("note: target 0 lies") and "decades beyond the fitted range" in err
    code, out, err = run(capsys, ["predict", str(saved / "chin"), "--at", "N=7e12,D=1.4e12", "--format", "json"])
    assert code == 0 and json.loads(out)["results"] and "note:" not in out


@pytest.mark.parametrize("kind", ["curve", "optimum"])
def test_plot_says_what_it_wrote_on_stderr(saved, tmp_path, capsys, kind):
    out_file = tmp_path / f"{kind}.png"
    code, out, err = run(capsys, ["plot", str(saved / "chin"), "--kind", kind, "-o", str(out_file)])
    assert code == 0 and out == ""
    assert err == f"wrote {out_file}\n"
    code, out, err = run(capsys, ["--quiet", "plot", str(saved / "chin"), "--kind", kind, "-o", str(out_file),
                                  "--overwrite"])
    assert code == 0 and out == "" and err == ""


def test_report_says_what_it_wrote_on_stderr(saved, tmp_path, capsys):
    out_file = tmp_path / "r.html"
    code, out, err = run(capsys, ["report", str(saved / "pl"), "-o", str(out_file)])
    assert code == 0 and out == ""
    assert err == f"wrote {out_file}\n"


def test_optimum_and_laws_write_results_only_to_stdout(saved, capsys):
    code, out, err = run(capsys, ["optimum", str(saved / "chin"), "--compute", "5.76e23"])
    assert code == 0 and "compute-optimal allocation" in out and "note:" not in out
    assert all(line.startswith("note: ") for line in err.splitlines())  # the extrapolation note, if any
    code, out, err = run(capsys, ["laws"])
    assert code == 0 and "chinchilla" in out and err == ""


def test_errors_go_to_stderr_alone(saved, tmp_path, capsys):
    for argv in (["predict", str(saved / "chin"), "--at", "N=abc"],
                 ["plot", str(tmp_path / "no_fit"), "-o", str(tmp_path / "x.png")],
                 ["report", str(tmp_path / "no_fit"), "-o", str(tmp_path / "x.html")],
                 ["optimum", str(saved / "chin")]):
        code, out, err = run(capsys, argv)
        assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1, argv


def test_fit_summary_on_stdout(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAYESLAW_NO_CACHE", "1")  # keep the test session's JAX cache setting
    rng = np.random.default_rng(3)
    D = np.geomspace(1e6, 1e10, 30)  # the power_law program of tests/test_loader.py
    loss = (1.5 + 20 * D ** -0.3) * rng.lognormal(0.0, 0.01, size=D.size)
    path = tmp_path / "runs.csv"
    pd.DataFrame({"D": D, "loss": loss}).to_csv(path, index=False)
    code, out, err = run(capsys, ["fit", str(path), "--law", "power_law", "--x", "D", *SMALL,
                                  "--out", str(tmp_path / "f")])
    assert code == 0 and out.startswith("law: power_law") and f"saved: {tmp_path / 'f'}" in out
    # stderr carries only warnings (a short fit may draw some), never the results
    assert all(line.startswith("warning: ") for line in err.splitlines()), err
    assert "law: power_law" not in err


def test_compare_and_backtest_keep_results_on_stdout(ladder, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAYESLAW_NO_CACHE", "1")
    png = tmp_path / "elpd.png"
    code, out, err = run(capsys, ["compare", str(ladder), "--law", "chinchilla", "--law", "compute",
                                  "--include-failed", *SMALL, "--plot", str(png), "--at", "N=7e12,D=1.4e14"])
    assert code == 0 and out.startswith("PSIS-LOO on 48 runs") and "target 0:" in out
    assert "wrote" not in out and "note:" not in out
    assert f"wrote {png}" in err and "note: " in err and "decades beyond the fitted range" in err
    code, out, err = run(capsys, ["backtest", str(ladder), "--law", "compute", *SMALL, "--format", "csv"])
    assert code == 0 and out.splitlines()[0].startswith("model,")
    assert all(line.startswith("warning: ") for line in err.splitlines()), err
