"""Hostile inputs to the numbers the CLI reads and writes (issue 15, items 1, 2, 5, 6, 13, 17).

One-chain fits, strict JSON for every command with ``--format json`` (non-finite numbers as null
plus a ``non_finite`` flag), seeds, targets the law cannot use, backtest coverage verdicts and
the smaller renderings. Saved fits come from the session fixtures of ``conftest.py``; the only
new NUTS fit is the one-chain one (and the compare/backtest runs reuse the compiled programs of
``test_compare.py`` and ``test_backtest.py``: same runs, laws and sampler settings).
"""

import math

import numpy as np
import pandas as pd
import pytest

import bayeslaw
from bayeslaw.cli import main
from bayeslaw.core.records import json_value, restore_non_finite, strict_json


from clirun import one_sentence_error, run  # noqa: E402
from strictjson import loads as strict  # noqa: E402


@pytest.fixture(scope="module")
def nd_dir(chinchilla_fit, tmp_path_factory):
    """The shared Chinchilla fit (a law of N and D), saved."""
    return chinchilla_fit.save(tmp_path_factory.mktemp("nd") / "fit")


@pytest.fixture(scope="module")
def n_dir(power_law_fit, tmp_path_factory):
    """The shared one-variable fit (power_law of N), saved."""
    return power_law_fit.save(tmp_path_factory.mktemp("n") / "fit")


# -- item 2: one representation of non-finite numbers ---------------------------------------------


def test_non_finite_numbers_are_null_with_a_flag_and_read_back():
    doc = {"C": {"median": np.inf, "lower": -np.inf, "upper": np.float64(2.0)}, "bfmi": [1.0, np.nan], "run": None}
    text = strict_json(doc)
    back = strict(text)
    assert back["C"] == {"median": None, "lower": None, "upper": 2.0,
                         "non_finite": {"median": "inf", "lower": "-inf"}}
    assert back["bfmi"] == [1.0, None] and back["non_finite"] == {"bfmi[1]": "nan"}
    assert back["run"] is None  # null without a flag: not applicable
    restored = restore_non_finite(back)
    assert restored["C"]["median"] == math.inf and restored["C"]["lower"] == -math.inf
    assert math.isnan(restored["bfmi"][1]) and "non_finite" not in restored
    assert json_value(np.float64(0.5)) == 0.5 and type(json_value(np.int64(3))) is int


def test_spec_json_with_an_infinite_prior_bound_is_strict_and_loads(power_law_fit, tmp_path):
    import dataclasses

    priors = {**power_law_fit.spec.priors,
              "alpha": {"dist": "TruncatedNormal", "loc": 0.3, "scale": 0.2, "low": 0.0, "high": math.inf}}
    fit = dataclasses.replace(power_law_fit, spec=power_law_fit.spec.replace(priors=priors))
    path = fit.save(tmp_path / "fit")
    raw = strict((path / "spec.json").read_text())
    assert raw["priors"]["alpha"]["high"] is None and raw["priors"]["alpha"]["non_finite"] == {"high": "inf"}
    assert bayeslaw.load(path).spec.priors["alpha"]["high"] == math.inf


def test_predict_json_with_extreme_targets_is_strict(capsys, nd_dir):
    code, out, err = run(capsys, ["predict", nd_dir, "--at", "N=1e300,D=1e10", "--format", "json"])
    assert code == 0, err
    rec = strict(out)["results"][0]
    assert rec["C"] is None and rec["non_finite"] == {"C": "inf"}  # 6 N D overflows


def test_optimum_json_never_reached_is_null_with_a_flag(capsys, nd_dir):
    code, out, err = run(capsys, ["optimum", nd_dir, "--loss", "0.5", "--loss", "1.9", "--compute", "1e24",
                                  "--format", "json"])
    assert code == 0, err
    doc = strict(out)
    never, reached = doc["compute_for_loss"]
    assert never["reachable"] == 0 and never["C"]["median"] is None
    assert never["C"]["non_finite"] == {"median": "inf", "lower": "inf", "upper": "inf"}
    assert reached["C"]["median"] > 0 and "non_finite" not in reached["C"]
    assert "inf" not in out.replace('"inf"', "")  # no "inf" strings as numbers


def test_laws_json_is_strict(capsys):
    code, out, _ = run(capsys, ["laws", "--format", "json"])
    assert code == 0 and strict(out)


# -- item 5: seeds --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", "1180591620717411303424", "4294967296", "1.5", "abc"])
@pytest.mark.parametrize("command", ["fit", "predict", "compare", "backtest"])
def test_bad_seed_is_refused_at_parse_time(command, seed, tmp_path, capsys):
    argv = {"fit": ["fit", tmp_path / "runs.csv", "--law", "power_law"],
            "predict": ["predict", tmp_path / "fit", "--at", "N=1e9"],
            "compare": ["compare", tmp_path / "runs.csv", "--law", "chinchilla", "--law", "compute"],
            "backtest": ["backtest", tmp_path / "runs.csv", "--law", "compute"]}[command]
    code, out, err = run(capsys, [*argv, "--seed", seed])
    one_sentence_error(code, err, "--seed", "seed must be an integer from 0 to 4294967295")
    assert out == "" and list(tmp_path.iterdir()) == []


def test_seed_rule_in_the_api(power_law_fit):
    for bad in (-1, 2**32, 1.5, True):
        with pytest.raises(bayeslaw.BayeslawError, match="seed must be an integer from 0 to 4294967295"):
            bayeslaw.predict(power_law_fit, N=1e9, seed=bad)
    with pytest.raises(bayeslaw.BayeslawError, match="seed must be an integer"):
        bayeslaw.fit(pd.DataFrame({"N": [1e7, 1e8, 1e9] * 3, "loss": [3.0, 2.5, 2.2] * 3}), "power_law", seed=-1)
    from bayeslaw.validation.weights import bootstrap_weights

    with pytest.raises(bayeslaw.BayeslawError, match="bootstrap_seed must be an integer"):
        bootstrap_weights(np.zeros((4, 2)), seed=-3)
    assert bayeslaw.predict(power_law_fit, N=1e9, seed=2**32 - 1).table.shape[0] == 1


# -- item 1: one-chain fits -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def one_chain(tmp_path_factory):
    """`bayeslaw fit --num-chains 1` of every 8th bundled run (the runs of conftest's power_law_fit)."""
    root = tmp_path_factory.mktemp("one_chain")
    data = pd.read_csv(bayeslaw.example_data_path()).iloc[::8]
    data.to_csv(root / "runs.csv", index=False)
    argv = ["fit", root / "runs.csv", "--law", "power_law", "--x", "N", "--curvature", "off", "--num-chains", "1", "--num-warmup", "300",
            "--num-samples", "300", "--seed", "3", "--quiet", "--out", root / "f1", "--format", "json"]
    code = main([str(a) for a in argv])
    return code, root


def test_one_chain_fit_says_r_hat_was_not_checked(one_chain, capsys):
    code, root = one_chain
    assert code == 0
    fit = bayeslaw.load(root / "f1")
    assert not fit.converged
    (item,) = [d for d in fit.diagnostics if d.get("status") == "not_computed"]
    assert item["check"] == "r_hat" and "num_chains >= 2" in item["message"]
    # the table render: no "all checks passed", R-hat marked n/a, "1 chain" without "parallel"
    from bayeslaw.cli.fit import render

    text = render(fit, "table", None, 0.9)
    assert "all checks passed" not in text
    assert "r_hat not computed with 1 chain (refit with --num-chains 2 or more)" in text
    assert "1 chain x (300 warmup + 300 draws), seed 3" in text and "chains" not in text.split("\n")[3]
    # JSON: R-hat is null with the flag, and the check is listed as not computed
    doc = strict(render(fit, "json", None, 0.9))
    assert doc["checks_not_computed"] == ["r_hat"] and doc["converged"] is False
    assert all(p["r_hat"] is None and p["non_finite"] == {"r_hat": "nan"} for p in doc["params"])


def test_one_chain_fit_report_and_diagnostics_plot(one_chain, capsys):
    _, root = one_chain
    code, out, err = run(capsys, ["report", root / "f1", "-o", root / "r.html"])
    assert code == 0, err
    text = (root / "r.html").read_text()
    assert "R-hat could not be checked with 1 chain" in text and "not computed (1 chain)" in text
    assert ">nan<" not in text
    code, out, err = run(capsys, ["plot", root / "f1", "--kind", "diagnostics", "-o", root / "d.png"])
    assert code == 0, err
    assert (root / "d.png").read_bytes()[:4] == b"\x89PNG"
    from bayeslaw.plots import plot_diagnostics

    fig = plot_diagnostics(bayeslaw.load(root / "f1"))
    assert "R-hat not computed" in fig._suptitle.get_text() and "1 chain \u00d7" in fig._suptitle.get_text()


# -- item 6: targets the law cannot use -----------------------------------------------------------


def test_inconsistent_or_unused_targets_are_refused(capsys, nd_dir, n_dir):
    code, out, err = run(capsys, ["predict", nd_dir, "--at", "N=1e9,D=1e10,C=1"])
    one_sentence_error(code, err, "C=1 disagrees with C = 6 N D = 6e+19", "give two of N, D, C")
    assert out == ""
    code, out, err = run(capsys, ["predict", nd_dir, "--at", "N=1e9,D=1e10,x=5"])
    one_sentence_error(code, err, "no input 'x'")
    code, out, err = run(capsys, ["predict", n_dir, "--at", "N=1e9,D=1e10"])
    one_sentence_error(code, err, "D is not used by it and would be ignored", "N=...")
    code, out, err = run(capsys, ["predict", n_dir, "--at", "N=1e9,x=5"])
    one_sentence_error(code, err, "both x and N")
    # N, D and C that agree (to 1%) pass, and so do two of them
    code, out, err = run(capsys, ["predict", nd_dir, "--at", "N=7e10,D=1.4e12,C=5.9e23", "--format", "json"])
    assert code == 0, err
    assert strict(out)["results"][0]["C"] == 5.9e23


def test_targets_by_the_run_tables_own_column_name():
    from types import SimpleNamespace

    from bayeslaw.posterior.targets import as_targets

    fit = SimpleNamespace(law=SimpleNamespace(name="power_law"), spec=SimpleNamespace(
        design={"x": "x"}, data=SimpleNamespace(columns={"x": "seen_examples", "loss": "loss"},
                                                flops_per_param_token=6.0)))
    assert as_targets(fit, pd.DataFrame({"seen_examples": [1e6]}))["x"].tolist() == [1e6]
    assert as_targets(fit, x=1e6)["x"].tolist() == [1e6]
    with pytest.raises(bayeslaw.DataError, match="both seen_examples and x"):
        as_targets(fit, x=1e6, seen_examples=1e6)
    with pytest.raises(bayeslaw.DataError, match=r"no input 'N'.*\(or seen_examples=...\)"):
        as_targets(fit, N=1e6)


def test_at_file(capsys, nd_dir, tmp_path):
    good = tmp_path / "targets.csv"
    good.write_text("N,D\n1e9,2e10\n7e10,1.4e12\n")
    code, out, err = run(capsys, ["predict", nd_dir, "--at-file", good, "--format", "json"])
    assert code == 0, err
    assert [r["N"] for r in strict(out)["results"]] == [1e9, 7e10]
    code, table, _ = run(capsys, ["predict", nd_dir, "--at", "N=1e9,D=2e10", "--at", "N=7e10,D=1.4e12"])
    code2, from_file, _ = run(capsys, ["predict", nd_dir, "--at-file", good])
    assert code == code2 == 0 and table == from_file
    bad = tmp_path / "bad.csv"
    bad.write_text("N,D\n1e9,2e10\n7e10,lots\n")
    one_sentence_error(*run(capsys, ["predict", nd_dir, "--at-file", bad])[::2], "row 2", "column 'D'", "'lots'")
    empty = tmp_path / "empty.csv"
    empty.write_text("N,D\n")
    one_sentence_error(*run(capsys, ["predict", nd_dir, "--at-file", empty])[::2], "no rows")
    one_sentence_error(*run(capsys, ["predict", nd_dir, "--at-file", tmp_path / "none.csv"])[::2], "does not exist")
    one_sentence_error(*run(capsys, ["predict", nd_dir, "--at-file", good, "--at", "N=1e9,D=2e10"])[::2],
                       "not both")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("N,T\n1e9,2e10\n")
    one_sentence_error(*run(capsys, ["predict", nd_dir, "--at-file", wrong])[::2], "no input 'T'")


def test_far_targets_get_one_note_in_predict_and_optimum(capsys, nd_dir):
    code, out, err = run(capsys, ["predict", nd_dir, "--at", "N=1e12,D=1e14", "--at", "N=2e12,D=3e14",
                                  "--at", "N=1e9,D=2e10"])
    assert code == 0, err
    notes = [ln for ln in err.splitlines() if ln.startswith("note:")]  # notes go to stderr, results to stdout
    assert len(notes) == 1 and notes[0].startswith("note: targets 0, 1 lie up to ") and "note:" not in out
    code, out, err = run(capsys, ["optimum", nd_dir, "--compute", "1e26", "--compute", "1e21"])
    assert code == 0, err
    notes = [ln for ln in err.splitlines() if ln.startswith("note:")]
    assert len(notes) == 1 and notes[0].startswith("note: budget 0 lies up to ") and "N " in notes[0]
    assert "note:" not in out
    assert "beyond_" not in out
    code, out, err = run(capsys, ["optimum", nd_dir, "--compute", "1e26", "--format", "json"])
    rec = strict(out)["optimal_allocation"][0]
    assert rec["extrapolation_decades"]["N"] > 1.5 and set(rec["extrapolation_decades"]) == {"N", "D", "C"}
    assert list(rec)[:4] == ["target", "C", "N_opt", "D_opt"]  # N before D, as in the docs


# -- item 13: backtest coverage is judged ---------------------------------------------------------


def test_coverage_test_counts_runs_not_checkpoints():
    from scipy.stats import binom

    from bayeslaw.validation.scores import coverage_test

    # 20 held-out runs, 8 covered by 90% intervals: far below nominal
    inside = np.array([True] * 8 + [False] * 12)
    r = coverage_test(inside, 0.9)
    assert r["coverage_units"] == 20 and r["undercovers"]
    assert r["coverage_p"] == pytest.approx(binom.cdf(8, 20, 0.9))
    # 18 of 20: what calibrated 90% intervals give
    assert not coverage_test(np.array([True] * 18 + [False] * 2), 0.9)["undercovers"]
    # 3 runs of 10 checkpoints each: 3 units, not 30; 12 of 30 points covered is not damning for 3 runs
    units = np.repeat(["a", "b", "c"], 10)
    r = coverage_test(np.array([True] * 10 + [True] * 2 + [False] * 8 + [False] * 10), 0.9, units)
    assert r["coverage_units"] == 3 and r["coverage_p"] == pytest.approx(binom.cdf(1, 3, 0.9))
    assert not r["undercovers"]


def _backtest_with_coverage(fit, coverage: float, p: float):
    from bayeslaw.validation.backtest import COLUMNS, Backtest

    row = dict.fromkeys(COLUMNS, 0.0)
    row.update(rank=0, law=fit.law.name, likelihood=fit.spec.likelihood, n_train=200, n_test=20, coverage=coverage,
               coverage_units=20, coverage_p=p)
    table = pd.DataFrame([row], index=pd.Index([fit.law.name], name="model"))[list(COLUMNS)]
    return Backtest(table=table, pointwise=pd.DataFrame(), fits={fit.law.name: fit}, by="C", cutoff=1e21,
                    train_runs=[], test_runs=[], ci_prob=0.9)


def test_backtest_verdict_points_to_the_observation_models(chinchilla_fit, monkeypatch, tmp_path, capsys):
    ok = _backtest_with_coverage(chinchilla_fit, 0.85, 0.3)
    assert ok.verdict is None and ok.undercovering == []
    bad = _backtest_with_coverage(chinchilla_fit, 0.4, 1e-6)
    assert bad.undercovering == ["chinchilla"]
    assert "far below the nominal 0.9 (chinchilla 0.40 of 20 held-out runs" in bad.verdict
    assert "--law chinchilla_orthogonal" in bad.verdict and "bayeslaw laws" in bad.verdict
    assert bad.to_records()[0]["undercovers"] is True
    # the CLI renders the verdict (table and JSON), it does not compute it
    import bayeslaw.validation.backtest as bt

    monkeypatch.setattr(bt, "backtest", lambda *a, **k: bad)
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n1e9,2e10,2.5\n")
    code, out, err = run(capsys, ["backtest", path, "--law", "chinchilla", "--quiet"])
    assert code == 0, err
    (line,) = [ln for ln in out.splitlines() if "far below" in ln]
    assert line == f"warning: {bad.verdict}"
    code, out, err = run(capsys, ["backtest", path, "--law", "chinchilla", "--quiet", "--format", "json"])
    assert strict(out)["verdict"] == bad.verdict


def test_backtest_splits_one_variable_tables_on_their_own_axis(monkeypatch, tmp_path, capsys):
    from bayeslaw.core.catalogue import get_law
    from bayeslaw.validation.backtest import default_by

    one = bayeslaw.load_runs(pd.DataFrame({"D": np.geomspace(1e8, 1e10, 12), "loss": np.linspace(3, 2, 12)}))
    assert default_by(one, [get_law("power_law")]) == "D"
    two = bayeslaw.load_runs(pd.DataFrame({"N": [1e8, 1e9] * 6, "D": np.geomspace(1e9, 1e11, 12),
                                           "loss": np.linspace(3, 2, 12)}))
    assert default_by(two, [get_law("chinchilla"), get_law("compute")]) == "C"
    assert default_by(two, [get_law("power_law")], "D") == "D"
    # the CLI leaves --by to the library
    import bayeslaw.validation.backtest as bt

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise bayeslaw.BayeslawError("stop here.")

    monkeypatch.setattr(bt, "backtest", fake)
    code, _, err = run(capsys, ["backtest", tmp_path / "runs.csv", "--law", "power_law", "--quiet"])
    assert code == 2 and seen["by"] is None


# -- item 17: smaller things ----------------------------------------------------------------------


def test_messages_show_numbers_as_written_not_numpy_reprs(power_law_fit):
    from bayeslaw.core.records import resolve_ci_prob
    from bayeslaw.core.spec import SamplerSettings, check_seed

    calls = [lambda: resolve_ci_prob(np.float64(1.5)), lambda: check_seed(np.int64(-1)),
             lambda: SamplerSettings(num_chains=np.int64(0)),
             lambda: SamplerSettings(target_accept_prob=np.float64(0.0)),
             lambda: bayeslaw.predict(power_law_fit, N=np.float64(0.0)),
             lambda: bayeslaw.predict(power_law_fit, N=np.float64(-2.0)),
             lambda: bayeslaw.predict(power_law_fit, N=np.array([1e9, np.nan]))]
    for call in calls:
        with pytest.raises(bayeslaw.BayeslawError) as info:
            call()
        assert "np." not in str(info.value) and "float64" not in str(info.value), str(info.value)


def test_fit_table_prints_r_hat_with_three_decimals(power_law_fit):
    import re

    from bayeslaw.cli.fit import render

    text = render(power_law_fit, "table", None, 0.9)
    lines = text.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("param"))
    col = lines[head].split().index("r_hat")
    cells = [ln.split()[col] for ln in lines[head + 1:head + 1 + len(power_law_fit.summary(0.9))]]
    assert cells and all(re.fullmatch(r"\d\.\d{3}", c) for c in cells), cells
    assert "2 chains x (300 warmup + 300 draws)" in text


def test_tiny_weights_are_shown_as_zero():
    from bayeslaw.validation.weights import model_weights, shown_weight

    assert shown_weight(5.55e-17) == 0.0 and shown_weight(0.25) == 0.25 and shown_weight(None) is None
    e = np.column_stack([np.zeros(30), np.full(30, -40.0)])  # the second model is hopeless
    w = model_weights(e, "stacking", ci_prob=0.9, n_bootstrap=20)
    assert w.weights[1] == 0.0 and w.weights[0] == 1.0


# -- item 7: data that cannot identify the law are refused before sampling ---------------------------


def test_constant_losses_and_a_single_value_of_an_input_are_refused(tmp_path, capsys):
    import pandas as pd

    base = pd.DataFrame({"N": [1e7, 2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.28e9],
                         "D": [2e8, 4e8, 8e8, 1.6e9, 3.2e9, 6.4e9, 1.28e10, 2.56e10],
                         "loss": [4.0, 3.7, 3.45, 3.25, 3.1, 2.98, 2.9, 2.84]})
    flat = tmp_path / "flat.csv"
    base.assign(loss=3.0).to_csv(flat, index=False)
    one_n = tmp_path / "one_n.csv"
    base.assign(N=1e8).to_csv(one_n, index=False)
    for path, words in ((flat, "every loss is 3.0"), (one_n, "column 'N' has one value")):
        with pytest.raises(bayeslaw.DataError, match=words):
            bayeslaw.plan_fit(path, "chinchilla")
        code, out, err = run(capsys, ["fit", str(path), "--law", "chinchilla", "--out", str(tmp_path / "f")])
        assert code == 2 and out == "" and words in err and "Traceback" not in err and len(err.splitlines()) == 1
        assert not (tmp_path / "f").exists()


def test_a_flops_column_with_another_convention_is_refused(tmp_path, capsys):
    import pandas as pd

    runs = pd.DataFrame({"N": [1e7, 2e7, 4e7, 8e7, 1.6e8, 3.2e8, 6.4e8, 1.28e9],
                         "D": [2e8, 4e8, 8e8, 1.6e9, 3.2e9, 6.4e9, 1.28e10, 2.56e10],
                         "loss": [4.0, 3.7, 3.45, 3.25, 3.1, 2.98, 2.9, 2.84]})
    path = tmp_path / "c18.csv"
    runs.assign(C=18 * runs["N"] * runs["D"]).to_csv(path, index=False)
    with pytest.raises(bayeslaw.DataError, match=r"'C' is 18 N D in every run.*--flops-per-token 18"):
        bayeslaw.plan_fit(path, "chinchilla")
    assert bayeslaw.plan_fit(path, "chinchilla", flops_per_param_token=18).runs.flops_per_param_token == 18
    mixed = tmp_path / "mixed.csv"   # ratios that vary between runs (architectures) are not a convention
    runs.assign(C=runs["N"] * runs["D"] * [6, 7, 6.5, 6, 8, 6, 6.2, 6]).to_csv(mixed, index=False)
    bayeslaw.plan_fit(mixed, "chinchilla")
    code, out, err = run(capsys, ["fit", str(path), "--law", "chinchilla", "--out", str(tmp_path / "f")])
    assert code == 2 and "--flops-per-token 18" in err and "Traceback" not in err and not (tmp_path / "f").exists()


def test_a_table_too_large_for_memory_is_refused_before_sampling():
    from bayeslaw.core.spec import SamplerSettings
    from bayeslaw.inference.plan import check_memory

    runs = bayeslaw.plan_fit(bayeslaw.example_data_path(), "chinchilla").runs
    sampler = SamplerSettings(num_warmup=1000, num_samples=1000, num_chains=4, chain_method="parallel",
                              target_accept_prob=0.8, dense_mass=True, seed=0)
    check_memory(runs, sampler, available=2**30)   # 245 rows x 4000 draws: about 31 MB
    with pytest.raises(bayeslaw.DataError, match=r"245 rows x 4,000 draws need about .* GiB.*fewer draws \(about "):
        check_memory(runs, sampler, available=2**24)
