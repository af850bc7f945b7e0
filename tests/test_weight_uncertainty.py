"""Law weights that keep laws within a few standard errors, with their Bayesian-bootstrap uncertainty.

Stacking and pseudo-BMA+ (``method="bb-pseudo-bma"``, the names of ``arviz_stats.compare``) from pointwise
densities, the ``ci_prob`` interval of each weight over Dirichlet(1, ..., 1) reweightings of the points, in
the comparison, the stack, their JSON and the ``compare`` command; and the held-out scores of a stack.

Fits use the small settings of tests/test_compare.py (48 synthetic Chinchilla runs, 2 chains x (300 + 300),
seed 1), so they share its compiled sampler programs.
"""

import json

import numpy as np
import pandas as pd
import pytest

import arviz_stats as azs
import bayeslaw
from bayeslaw.averaging.heldout import weighted_crps
from bayeslaw.averaging.weights import backtest_model_weights
from bayeslaw.cli import main
from bayeslaw.validation.backtest import Backtest
from bayeslaw.validation.scores import crps_samples, score
from bayeslaw.validation.weights import METHODS, model_weights
from conftest import check_result_contract

SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300, check=False, curvature=False)  # the plain laws
TPP = [1, 3, 10, 30, 100, 300]


def runs_table(seed: int = 0, beta: float = 0.28) -> pd.DataFrame:
    """tests/test_compare.py's ladder: 8 sizes x 6 tokens-per-parameter ratios, 2% lognormal noise."""
    rng = np.random.default_rng(seed)
    N = np.repeat(np.logspace(7, 9, 8), len(TPP))
    D = N * np.tile(TPP, 8)
    loss = 1.69 + 406.4 / N**0.34 + 410.7 / D**beta
    return pd.DataFrame({"N": N, "D": D, "loss": loss * np.exp(0.02 * rng.standard_normal(loss.size))})


from strictjson import loads as strict_json  # noqa: E402


def two_models(z: float, n: int = 48, seed: int = 0) -> np.ndarray:
    """Pointwise elpd of two models whose summed difference is z standard errors (model 0 ahead)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(2.0, 0.5, n)
    d = rng.normal(0.0, 0.3, n)
    d -= d.mean()
    d += z * np.sqrt(n * np.var(d, ddof=1)) / n
    return np.column_stack([base + d / 2, base - d / 2])


@pytest.fixture(scope="module")
def fits():
    runs = bayeslaw.load_runs(runs_table())
    return {law: bayeslaw.fit(runs, law, seed=1, **SAMPLER) for law in ("chinchilla", "compute")}


@pytest.fixture(scope="module")
def comparison(fits):
    return bayeslaw.compare(fits, method="bb-pseudo-bma", ci_prob=0.9, failed="include")


# -- the weights and their bootstrap (pointwise matrices: no sampling) ---------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_weights_sum_to_one_and_intervals_hold_them(method):
    three = np.column_stack([two_models(0.5), two_models(3.0, seed=1)[:, 1]])
    for e in (two_models(0.5), two_models(1.0), two_models(10.0), three):
        w = model_weights(e, method, ci_prob=0.9)
        assert w.weights.sum() == pytest.approx(1.0, abs=1e-9) and np.all(w.weights >= 0)
        assert w.draws.shape == (1000, e.shape[1])
        np.testing.assert_allclose(w.draws.sum(axis=1), 1.0, atol=1e-9)
        assert np.all(w.lower <= w.weights + 1e-6) and np.all(w.weights <= w.upper + 1e-6), (w.lower, w.weights)
        assert w.ci_prob == 0.9 and w.method == method
        again = model_weights(e, method, ci_prob=0.9)  # seeded: the same replicates
        np.testing.assert_array_equal(again.draws, w.draws)


def test_near_tie_keeps_both_and_decisive_gives_one_zero():
    near = model_weights(two_models(0.5), "bb-pseudo-bma", ci_prob=0.9)
    # 0.5 SE apart: pseudo-BMA+ keeps about a third on the one behind, and the bootstrap spans most of [0, 1]
    assert 0.2 < near.weights[1] < near.weights[0] < 0.8
    assert np.all(near.upper - near.lower > 0.5)
    one_se = model_weights(two_models(1.0), "bb-pseudo-bma", ci_prob=0.9)
    assert 0.1 < one_se.weights[1] < 0.4 and one_se.upper[1] > 0.5
    # stacking's point weights may sit at a corner, but its bootstrap interval shows they could be anything
    stacked = model_weights(two_models(0.5), "stacking", ci_prob=0.9)
    assert np.all(stacked.upper - stacked.lower > 0.9)
    for method in METHODS:  # 10 SE apart: all the weight on the better one, with no doubt
        w = model_weights(two_models(10.0), method, ci_prob=0.9)
        assert w.weights[0] > 0.999 and w.upper[1] < 1e-3


def test_bad_method_and_input_are_refused(fits):
    with pytest.raises(bayeslaw.BayeslawError, match="bb-pseudo-bma"):
        model_weights(two_models(1.0), "bma")
    with pytest.raises(bayeslaw.BayeslawError, match="bb-pseudo-bma"):
        bayeslaw.compare(fits, method="BMA")
    with pytest.raises(bayeslaw.BayeslawError, match="NaN"):
        model_weights(np.array([[1.0, np.nan]]))
    with pytest.raises(bayeslaw.BayeslawError, match="explicit weights"):
        bayeslaw.stack(fits, [0.5, 0.5], method="stacking")


# -- comparison, stack, JSON --------------------------------------------------------------------------------
def test_comparison_reports_weight_intervals(fits, comparison):
    t = comparison.table
    assert list(t.columns[6:9]) == ["weight", "weight_lower", "weight_upper"]
    assert comparison.method == "bb-pseudo-bma" and comparison.ci_prob == 0.9
    assert t["weight"].sum() == pytest.approx(1.0)
    assert (t["weight_lower"] <= t["weight"] + 1e-9).all() and (t["weight"] <= t["weight_upper"] + 1e-9).all()
    # chinchilla is decisively better (3.6 SE): ~1/0 even with pseudo-BMA+
    assert comparison.best == "chinchilla" and -t.loc["compute", "elpd_diff"] > 3 * t.loc["compute", "dse"]
    assert t.loc["chinchilla", "weight"] > 0.99 and t.loc["compute", "weight_upper"] < 0.01
    # pseudo-BMA+ is the replicates' mean; the interval their 5% and 95% quantiles, widened to hold it: here
    # the mean of a skewed distribution lies beyond the 5% quantile
    d = comparison.weight_draws
    assert d.shape == (1000, 2) and set(d.columns) == {"chinchilla", "compute"}
    np.testing.assert_allclose(t["weight"], d[t.index].mean().to_numpy())
    q05, q95 = d[t.index].quantile(0.05).to_numpy(), d[t.index].quantile(0.95).to_numpy()
    np.testing.assert_allclose(t["weight_lower"], np.minimum(q05, t["weight"]))
    np.testing.assert_allclose(t["weight_upper"], np.maximum(q95, t["weight"]))
    # the same method as arviz-stats (its own 1000 replicates, another seed)
    az = azs.compare(comparison.elpd, method="bb-pseudo-bma", round_to="none")
    np.testing.assert_allclose(t["weight"], az.loc[t.index, "weight"].astype(float), atol=0.02)
    # se stays the LOO standard error whatever the method
    assert t.loc["compute", "se"] == pytest.approx(comparison.loo["compute"].se)
    check_result_contract(comparison)
    recs = strict_json(json.dumps(comparison.to_records()))
    assert all(r["ci_prob"] == 0.9 and r["weight_lower"] <= r["weight"] <= r["weight_upper"] + 1e-9 for r in recs)


def test_stack_carries_the_intervals_and_reweighs_without_refitting(fits, comparison):
    s = bayeslaw.stack(comparison)
    assert s.method == "loo" and s.weighting == "bb-pseudo-bma" and s.ci_prob == 0.9
    np.testing.assert_allclose(s.table["weight_lower"], comparison.table.loc[s.names, "weight_lower"])
    check_result_contract(s)
    doc = strict_json(json.dumps(s.describe(), allow_nan=False))
    assert doc["weighting"] == "bb-pseudo-bma" and doc["ci_prob"] == 0.9 and doc["n_bootstrap"] == 1000
    assert set(doc["weight_intervals"]) == {"chinchilla", "compute"}
    assert all(v["lower"] <= doc["weights"][n] + 1e-9 <= v["upper"] + 2e-9 for n, v in doc["weight_intervals"].items())
    # another method on the same pointwise LOO values: the comparison's LOO objects are reused
    st = bayeslaw.stack(comparison, method="stacking")
    assert st.weighting == "stacking" and st.comparison.loo is comparison.loo
    direct = bayeslaw.compare(fits, method="stacking", ci_prob=0.9, failed="include")
    np.testing.assert_allclose(st.weights.to_numpy(), direct.weights[st.names].to_numpy(), atol=1e-9)
    np.testing.assert_allclose(st.weight_draws.to_numpy(), direct.weight_draws[st.names].to_numpy(), atol=1e-9)
    # given weights have no interval
    given = bayeslaw.stack(fits, [0.3, 0.7])
    assert given.weighting is None and "weight_lower" not in given.table and "ci_prob" not in given.describe()


def test_backtest_weights_by_either_method():
    """Weights on a backtest's held-out densities, as stacking or pseudo-BMA+, with intervals."""
    rng = np.random.default_rng(0)
    good = rng.normal(2.0, 0.3, 10)
    near = good + rng.normal(0.0, 0.3, 10)
    pointwise = pd.DataFrame({"model": ["a"] * 10 + ["b"] * 10, "run": list(range(10)) * 2,
                              "elpd": np.concatenate([good, near])})
    class _Fit:  # what backtest_matrix reads of a fit: its law and likelihood
        def __init__(self):
            self.law = bayeslaw.get_law("chinchilla")
            self.spec = type("S", (), {"likelihood": "student_t"})()

    f = {"a": _Fit(), "b": _Fit()}
    bt = Backtest(table=pd.DataFrame(), pointwise=pointwise, fits={}, by="C", cutoff=1.0, train_runs=[],
                  test_runs=list(range(10)), ci_prob=0.9)
    for method in ("stacking", "bb-pseudo-bma"):
        mw = backtest_model_weights(f, bt, method, ci_prob=0.9)
        assert mw.weights.sum() == pytest.approx(1.0) and np.all(mw.lower <= mw.weights + 1e-6)
        expected = model_weights(np.column_stack([good, near]), method, ci_prob=0.9)
        np.testing.assert_allclose(mw.weights, expected.weights)


# -- the constructed near tie, with real fits ------------------------------------------------------------------
def test_two_laws_within_one_se_keep_both_under_pseudo_bma_plus():
    """Runs from a law with nearly one exponent (alpha 0.34, beta 0.32): ``chinchilla`` (two exponents) and
    ``shared_exponent`` (one) predict them equally well (elpd_diff -0.17, dse 1.07 with these settings).
    Pseudo-BMA+ keeps both (0.54 and 0.46, 90% intervals [0.17, 0.88] and [0.12, 0.83]); stacking's point
    weights (0.65, 0.35) have a bootstrap interval of [0, 1] for each: the data do not pin them down."""
    runs = bayeslaw.load_runs(runs_table(beta=0.32))
    tie = {law: bayeslaw.fit(runs, law, seed=1, **SAMPLER) for law in ("chinchilla", "shared_exponent")}
    plus = bayeslaw.compare(tie, method="bb-pseudo-bma", ci_prob=0.9, failed="include")
    t = plus.table
    behind = t.index[1]
    assert abs(t.loc[behind, "elpd_diff"]) < t.loc[behind, "dse"]
    assert t["weight"].min() > 0.3 and (t["weight_upper"] - t["weight_lower"]).min() > 0.5
    stacked = bayeslaw.stack(plus, method="stacking").weight_intervals
    assert (stacked["weight_upper"] - stacked["weight_lower"]).min() > 0.9


# -- held-out scores of a stack ----------------------------------------------------------------------------------
def test_weighted_crps_is_the_pairwise_formula():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 3))
    p = rng.dirichlet(np.ones(40))
    y = np.array([0.1, -1.0, 2.0])
    direct = (np.sum(p[:, None] * np.abs(x - y), axis=0)
              - 0.5 * np.einsum("i,j,ijk->k", p, p, np.abs(x[:, None, :] - x[None, :, :])))
    np.testing.assert_allclose(weighted_crps(x, p, y), direct, rtol=1e-12)
    s = x.shape[0]  # equal weights: the V-statistic, (S - 1) / S of the unbiased pair term
    biased = weighted_crps(x, np.full(s, 1 / s), y)
    unbiased = crps_samples(x, y)
    term1 = np.mean(np.abs(x - y), axis=0)
    np.testing.assert_allclose(term1 - biased, (term1 - unbiased) * (s - 1) / s, rtol=1e-12)


def test_stack_score_on_held_out_runs(fits):
    test = bayeslaw.load_runs(runs_table(seed=5))  # the same ladder, fresh noise: runs the fits have not seen
    one = bayeslaw.stack(fits, {"chinchilla": 1, "compute": 0}).score(test, ci_prob=0.9, seed=0)
    own = score(fits["chinchilla"], test, ci_prob=0.9, seed=0)
    assert one["elpd_test"] == pytest.approx(own["elpd_test"], rel=1e-12)
    # The stack resamples the fit's draws (and its new-run noise), so its interval ends differ from the fit's by
    # Monte Carlo error: from 600 draws a quantile moves by ~0.02 in probability, which puts ~3 of the 48 runs within
    # reach of an interval end; up to 3 runs may change sides.
    assert one["coverage"] == pytest.approx(own["coverage"], abs=3.01 / 48)
    assert one["coverage_50"] == pytest.approx(own["coverage_50"], abs=3.01 / 48)
    assert one["crps"] == pytest.approx(own["crps"], rel=1e-2)
    assert one["rmsle"] == pytest.approx(own["rmsle"], rel=0.05)
    half = bayeslaw.stack(fits, [0.5, 0.5]).score(test, ci_prob=0.9)
    other = score(fits["compute"], test, ci_prob=0.9)
    np.testing.assert_allclose(half["pointwise"]["elpd"],
                               np.logaddexp(own["pointwise"]["elpd"], other["pointwise"]["elpd"]) - np.log(2))
    assert half["pointwise"]["pit"].between(0, 1).all() and half["ci_prob"] == 0.9


# -- the compare command -----------------------------------------------------------------------------------------
def test_cli_compare_shows_weight_intervals(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    runs_table().to_csv(path, index=False)
    base = ["compare", str(path), "--law", "chinchilla", "--law", "compute", "--include-failed", "--num-chains", "2", "--num-warmup",
            "300", "--num-samples", "300", "--seed", "1", "--quiet", "--method", "bb-pseudo-bma", "--ci-prob", "0.9",
            "--curvature", "off"]
    assert main([*base, "--format", "json", "--at", "N=7e10,D=1.4e12"]) == 0
    doc = strict_json(capsys.readouterr().out)
    assert doc["method"] == "bb-pseudo-bma"
    for m in doc["models"]:
        assert m["ci_prob"] == 0.9 and m["weight_lower"] <= m["weight"] <= m["weight_upper"] + 1e-9
    assert doc["stack"]["weighting"] == "bb-pseudo-bma" and doc["stack"]["ci_prob"] == 0.9
    assert set(doc["stack"]["weight_intervals"]) == {"chinchilla", "compute"}
    assert main([*base]) == 0
    out = capsys.readouterr().out
    assert "weights: bb-pseudo-bma" in out and "weight [90%]" in out
    row = next(line for line in out.splitlines() if line.startswith("compute "))
    weight = float(row.split("[")[0].split()[-1])
    lo, hi = (float(v) for v in row.split("[")[1].split("]")[0].split(","))
    assert 0 < weight < 0.01 and lo <= weight <= hi + 0.005 and hi < 0.05  # pseudo-BMA+ keeps ~0.5% on a law 3.6 SE behind
    assert "Bayesian-bootstrap replicates" in out
