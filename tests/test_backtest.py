"""Extrapolation backtests: fit on the smaller runs, score the larger held-out ones.

Data are synthetic, generated from the Chinchilla law (Hoffmann et al. 2022 Approach 3 values)
on a ladder of 8 model sizes x 6 tokens-per-parameter ratios with 2% lognormal noise.
"""


import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp

import bayeslaw
from bayeslaw.cli import main
from bayeslaw.posterior.predict import log_density
from bayeslaw.validation.backtest import COLUMNS, split
from bayeslaw.validation.scores import crps_samples
from conftest import check_result_contract
from strictjson import loads as strict_loads

SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300, check=False, curvature=False)  # the plain laws
TPP = [1, 3, 10, 30, 100, 300]
JSON_KEYS = {"model", "law", "likelihood", "rank", "n_train", "n_test", "cutoff", "elpd_test", "elpd_test_per_run",
             "rmsle", "coverage", "coverage_50", "crps", "converged", "ci_prob", "coverage_units", "coverage_p",
             "undercovers"}


def chinchilla_runs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = np.repeat(np.logspace(7, 9, 8), len(TPP))
    D = N * np.tile(TPP, 8)
    loss = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    loss = loss * np.exp(0.02 * rng.standard_normal(loss.size))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


@pytest.fixture(scope="module")
def runs():
    return bayeslaw.load_runs(chinchilla_runs())


@pytest.fixture(scope="module")
def result(runs):
    return bayeslaw.backtest(runs, ["chinchilla", "compute"], by="C", holdout_top=0.25, seed=1, ci_prob=0.9,
                             **SAMPLER)


def test_split_puts_the_top_quarter_by_compute_in_test(runs, result):
    C = runs.frame["C"]
    top = set(C.sort_values().index[-12:])
    assert set(result.test_runs) == top and len(result.test_runs) == 12
    assert set(result.train_runs) == set(C.index) - top and len(result.train_runs) == 36
    assert result.cutoff == pytest.approx(C.sort_values().iloc[35])
    assert C[result.test_runs].min() > result.cutoff
    # the fits saw only the training runs
    for f in result.fits.values():
        assert f.spec.data.n_runs == 36
        assert float(np.max(f.idata["constant_data"]["C"].values)) == pytest.approx(result.cutoff)
    mask = split(runs, by="C", holdout_top=0.25)
    assert mask.sum() == 36 and set(runs.frame.index[~mask]) == top


def test_chinchilla_extrapolates_better_than_compute(result):
    t = result.table
    assert list(t.columns) == list(COLUMNS) and t.index.name == "model"
    assert result.best == "chinchilla" and list(t["rank"]) == [0, 1]  # rank 0 is the best, as in arviz_stats.compare
    assert t.loc["chinchilla", "elpd_test"] > t.loc["compute", "elpd_test"]
    assert t.loc["chinchilla", "rmsle"] < t.loc["compute", "rmsle"]
    for law in ("chinchilla", "compute"):
        row = t.loc[law]
        assert row["n_train"] == 36 and row["n_test"] == 12
        assert 0 <= row["coverage_50"] <= 1 and 0 <= row["coverage"] <= 1
        assert row["coverage"] >= row["coverage_50"]
        assert row["crps"] > 0 and np.isfinite(row["elpd_test"])
        assert row["elpd_test_per_run"] == pytest.approx(row["elpd_test"] / 12)
    # the true law's 90% new-run interval holds almost every held-out run
    assert t.loc["chinchilla", "coverage"] >= 0.75


def test_scores_match_definitions(runs, result):
    fit = result.fits["chinchilla"]
    test = runs.subset(runs.frame.index.isin(result.test_runs))
    ll = log_density(fit, test).reshape(-1, 12)
    elpd = float(np.sum(logsumexp(ll, axis=0) - np.log(ll.shape[0])))
    row = result.table.loc["chinchilla"]
    assert row["elpd_test"] == pytest.approx(elpd)
    pw = result.pointwise[result.pointwise["model"] == "chinchilla"]
    assert len(pw) == 12 and pw["elpd"].sum() == pytest.approx(elpd)
    assert row["rmsle"] == pytest.approx(np.sqrt(np.mean(np.log(pw["new_run_median"] / pw["loss"]) ** 2)))
    inside = (pw["loss"] >= pw["new_run_lower"]) & (pw["loss"] <= pw["new_run_upper"])
    assert row["coverage"] == pytest.approx(inside.mean())
    assert row["crps"] == pytest.approx(pw["crps"].mean())
    recs = result.to_records()
    assert [r["model"] for r in recs] == ["chinchilla", "compute"] and all(JSON_KEYS == set(r) for r in recs)
    check_result_contract(result)


def test_cutoff_split(runs):
    C = runs.frame["C"].sort_values()
    # between the 34th and 35th smallest compute: 34 training runs pad to the fixture's 36 runs' program size
    cut = float(np.sqrt(C.iloc[33] * C.iloc[34]))
    bt = bayeslaw.backtest(runs, "compute", by="C", cutoff=cut, seed=1, **SAMPLER)
    assert len(bt.train_runs) == 34 and len(bt.test_runs) == 14
    assert set(bt.test_runs) == set(C.index[34:])
    assert bt.cutoff == pytest.approx(C.iloc[33])
    row = bt.table.iloc[0]
    assert row["law"] == "compute" and row["n_train"] == 34 and row["n_test"] == 14
    assert 0 <= row["coverage_50"] <= row["coverage"] <= 1


def test_bad_splits_are_clear_errors(runs):
    C = runs.frame["C"]
    with pytest.raises(bayeslaw.BayeslawError, match="no test runs"):
        bayeslaw.backtest(runs, "compute", cutoff=float(C.max()) * 2, **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match=r"training set.*has 5 runs.*'chinchilla'.*needs at least 7"):
        bayeslaw.backtest(runs, ["compute", "chinchilla"], cutoff=float(C.sort_values().iloc[4]), **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="training set.*has 0 runs"):
        bayeslaw.backtest(runs, "compute", cutoff=float(C.min()) / 2, **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="holdout_top must be a fraction"):
        bayeslaw.backtest(runs, "compute", holdout_top=1.5, **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="leaves no test runs"):
        bayeslaw.backtest(runs, "compute", holdout_top=0.001, **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="'x': it is not a size column.*N, D, C"):
        bayeslaw.backtest(runs, "compute", by="x", **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="'loss': it is not a size column"):
        bayeslaw.backtest(runs, "compute", by="loss", **SAMPLER)


def test_crps_matches_normal_closed_form():
    rng = np.random.default_rng(0)
    mu, sigma = 0.3, 1.7
    ys = np.array([-2.0, 0.3, 1.0, 5.0])
    draws = rng.normal(mu, sigma, size=(200_000, 1)) * np.ones((1, ys.size))
    z = (ys - mu) / sigma
    exact = sigma * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    got = crps_samples(draws, ys)
    # Monte Carlo SE of each term is below sd|X - y| / sqrt(S) < 0.012 here
    assert got == pytest.approx(exact, abs=0.03)
    # a degenerate predictive is the absolute error
    assert crps_samples(np.full((10, 1), 2.0), np.array([5.0])) == pytest.approx([3.0])
    with pytest.raises(bayeslaw.BayeslawError, match="at least 2"):
        crps_samples(np.ones((1, 3)), np.zeros(3))


def test_cli_backtest_json(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    chinchilla_runs().to_csv(path, index=False)
    code = main(["backtest", str(path), "--law", "chinchilla", "--law", "compute", "--by", "C",
                 "--holdout-top", "0.25", "--curvature", "off", "--num-chains", "2", "--num-warmup", "300", "--num-samples", "300",
                 "--seed", "1", "--ci-prob", "0.9", "--quiet", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = strict_loads(out)
    assert {"data", "by", "cutoff", "holdout_top", "likelihood", "n_runs", "n_train", "n_test", "ci_prob",
            "criterion", "verdict", "models"} == set(doc)
    assert doc["by"] == "C" and doc["n_runs"] == 48 and doc["n_train"] == 36 and doc["n_test"] == 12
    assert doc["holdout_top"] == 0.25 and doc["likelihood"] == "student_t"
    assert [m["model"] for m in doc["models"]] == ["chinchilla", "compute"]
    assert [m["rank"] for m in doc["models"]] == [0, 1]  # as in compare: rank 0 is the best
    for m in doc["models"]:
        assert set(m) == JSON_KEYS
        assert all(np.isfinite(m[k]) for k in JSON_KEYS - {"model", "law", "likelihood", "converged", "undercovers"})


def test_cli_backtest_errors(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    chinchilla_runs().to_csv(path, index=False)
    assert main(["backtest", str(path), "--quiet"]) == 2
    assert "Give the laws" in capsys.readouterr().err
    assert main(["backtest", str(path), "--law", "compute", "--cutoff", "1e40", "--quiet"]) == 2
    assert "no test runs" in capsys.readouterr().err
    assert main(["backtest", str(path), "--law", "compute", "--cutoff", "1e15", "--holdout-top", "0.2",
                 "--quiet"]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert main(["backtest", str(path), "--law", "compute", "--num-chains", "0", "--quiet"]) == 2
    assert "num_chains must be a positive integer" in capsys.readouterr().err
