"""Law and likelihood comparison by PSIS-LOO (exact refits for high Pareto k), the `compare`
command, and prior sensitivity (issue 5).

Data are synthetic, generated from the Chinchilla law (Hoffmann et al. 2022 Approach 3 values)
on a ladder of 8 model sizes x 6 tokens-per-parameter ratios with 2% lognormal noise.
"""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

import bayeslaw
from bayeslaw.cli import main
from bayeslaw.comparison import fixed_priors, held_out_elpd, log_prior_draws, refit, runs_of
from bayeslaw.predict import log_mean_draws

SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300, check=False)
TPP = [1, 3, 10, 30, 100, 300]  # tokens per parameter: wide enough that loss is not a function of C alone
OUTLIER = 20  # position of the planted outlier (run label 21: rows are numbered from 1)


def chinchilla_runs(seed: int = 0, outlier: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    N = np.repeat(np.logspace(7, 9, 8), len(TPP))
    D = N * np.tile(TPP, 8)
    loss = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    loss = loss * np.exp(0.02 * rng.standard_normal(loss.size))
    if outlier is not None:
        loss[outlier] *= 3.0
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


@pytest.fixture(scope="module")
def clean_fits():
    runs = bayeslaw.load_runs(chinchilla_runs())
    return {law: bayeslaw.fit(runs, law, seed=1, **SAMPLER) for law in ("chinchilla", "compute")}


@pytest.fixture(scope="module")
def outlier_comparison():
    runs = bayeslaw.load_runs(chinchilla_runs(outlier=OUTLIER))
    fits = {lik: bayeslaw.fit(runs, "chinchilla", likelihood=lik, seed=1, **SAMPLER)
            for lik in ("student_t", "normal")}
    return fits, bayeslaw.compare(fits)


@pytest.fixture(scope="module")
def clean_comparison(clean_fits):
    return bayeslaw.compare(clean_fits)


def test_true_law_wins(clean_fits, clean_comparison):
    c = clean_comparison
    t = c.table
    assert list(t.columns[:7]) == ["rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight"]
    assert c.best == "chinchilla"
    assert t.loc["chinchilla", "weight"] > 0.5
    assert c.weights.sum() == pytest.approx(1.0, abs=1e-6)
    diff, dse = t.loc["compute", "elpd_diff"], t.loc["compute", "dse"]
    assert diff < 0 and -diff > 2 * dse
    assert t.loc["chinchilla", "elpd_diff"] == 0.0
    # elpd_loo is the sum of the pointwise values, refits included, and its SE their sqrt(n) sd
    for name, e in c.elpd.items():
        elpd_i = np.asarray(e.elpd_i.values)
        assert np.all(np.isfinite(elpd_i)) and elpd_i.size == 48
        assert t.loc[name, "elpd_loo"] == pytest.approx(elpd_i.sum(), rel=1e-9)
        assert t.loc[name, "se"] == pytest.approx(np.sqrt(48 * np.var(elpd_i, ddof=1)), rel=1e-9)
        assert t.loc[name, "n_refitted"] == t.loc[name, "n_pareto_k_high"]
    # Fit.loo() is the same estimate as the comparison's
    assert clean_fits["compute"].loo().elpd == pytest.approx(t.loc["compute", "elpd_loo"], rel=1e-9)


def test_outlier_high_pareto_k_is_refitted_exactly(outlier_comparison):
    fits, c = outlier_comparison
    normal = c.loo["normal"]
    label = runs_of(fits["normal"]).frame.index[OUTLIER]
    labels = list(normal.elpd.elpd_i["run"].values)
    # PSIS cannot handle the outlier under the Normal likelihood ...
    assert normal.pareto_k[OUTLIER] > 0.7
    assert label in normal.high_k_runs
    # ... so it is refitted, and the table says so
    assert label in normal.refitted_runs
    assert c.table.loc["normal", "n_pareto_k_high"] >= 1
    assert c.table.loc["normal", "n_refitted"] == c.table.loc["normal", "n_pareto_k_high"]
    rec = {r["name"]: r for r in c.to_records()}["normal"]
    assert label in rec["refitted_runs"] and rec["n_refitted"] == len(rec["refitted_runs"])
    assert all(d["run"] in rec["refitted_runs"] and d["checks"] for d in rec["refit_diagnostics"])
    reported = float(normal.elpd.elpd_i.values[labels.index(label)])
    assert np.isfinite(reported)

    # the exact leave-one-out value, by an explicit refit without the outlier
    runs = runs_of(fits["normal"])
    keep = runs.frame.index != label
    same_seed = refit(fits["normal"], runs.subset(keep))
    assert reported == pytest.approx(held_out_elpd(same_seed, runs.subset(~keep)), rel=1e-9)
    # an independent refit (other seed, more draws): the same value up to Monte Carlo error, which is
    # large for a run 50 residual SDs away (its density is set by the few draws with the largest sigma)
    independent = bayeslaw.fit(runs.subset(keep), "chinchilla", likelihood="normal",
                               priors=fixed_priors(fits["normal"]), num_chains=2, num_warmup=300,
                               num_samples=1000, seed=7, check=False)
    m = log_mean_draws(independent, {"N": runs.frame["N"].to_numpy()[[OUTLIER]],
                                     "D": runs.frame["D"].to_numpy()[[OUTLIER]]})[:, 0]
    s = independent.draws("sigma")
    y = np.log(runs.frame["loss"].iloc[OUTLIER])
    ll = -0.5 * ((y - m) / s) ** 2 - np.log(s) - 0.5 * np.log(2 * np.pi)
    exact = float(logsumexp(ll) - np.log(ll.size))
    assert np.isfinite(exact) and exact < -100
    assert reported == pytest.approx(exact, rel=0.25)


def test_student_t_beats_normal_with_outliers(outlier_comparison):
    fits, c = outlier_comparison
    t = c.table
    assert c.best == "student_t"
    assert t.loc["student_t", "weight"] > 0.9
    assert t.loc["normal", "elpd_diff"] < 0
    # The SE of the difference is dominated by the one outlying run (|elpd_diff| ~ dse whatever the
    # models), so the decisive evidence is run by run: with the outlier inflating the Normal's sigma,
    # the Student-t predicts nearly every clean run better, and the clean runs alone separate the two.
    et = np.asarray(c.elpd["student_t"].elpd_i.values)
    en = np.asarray(c.elpd["normal"].elpd_i.values)
    clean = np.arange(et.size) != OUTLIER
    d = et[clean] - en[clean]
    assert np.mean(d > 0) > 0.9
    assert d.sum() > 2 * np.sqrt(d.size * np.var(d, ddof=1))
    assert et[OUTLIER] - en[OUTLIER] > 100
    # Student-t absorbs the outlier with heavy tails: its scale stays near the 2% noise
    assert np.median(fits["student_t"].draws("sigma")) < 0.04
    assert np.median(fits["normal"].draws("sigma")) > 0.1


def test_no_refit_warns_and_keeps_psis(outlier_comparison):
    fits, c = outlier_comparison
    with pytest.warns(bayeslaw.DiagnosticWarning, match="Pareto k"):
        fast = bayeslaw.compare(fits, refit=False)
    assert fast.table.loc["normal", "n_refitted"] == 0
    assert fast.table.loc["normal", "n_pareto_k_high"] == c.table.loc["normal", "n_pareto_k_high"]
    psis = float(fast.loo["normal"].elpd.elpd_i.values[OUTLIER])
    exact = float(c.loo["normal"].elpd.elpd_i.values[OUTLIER])
    # PSIS is wildly optimistic about the outlier (about -30 against about -900 by refitting)
    assert psis - exact > 100


def test_compare_rejects_bad_input(clean_fits):
    with pytest.raises(bayeslaw.BayeslawError, match="at least two"):
        bayeslaw.compare({"only": clean_fits["chinchilla"]})
    other = bayeslaw.fit(bayeslaw.load_runs(chinchilla_runs(seed=3)), "compute", seed=1, **SAMPLER)
    with pytest.raises(bayeslaw.BayeslawError, match="same runs"):
        bayeslaw.compare({"a": clean_fits["chinchilla"], "b": other})


def test_cli_compare_json(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    chinchilla_runs().to_csv(path, index=False)
    code = main(["compare", str(path), "--law", "chinchilla", "--law", "compute", "--chains", "2",
                 "--warmup", "300", "--draws", "300", "--seed", "1", "--quiet", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["n_runs"] == 48 and doc["method"] == "stacking" and doc["pareto_k_max"] == 0.7
    keys = {"name", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "n_pareto_k_high", "n_refitted"}
    assert [m["name"] for m in doc["models"]] == ["chinchilla", "compute"]
    for m in doc["models"]:
        assert keys <= set(m)
        assert all(np.isfinite(m[k]) for k in keys - {"name"})
    assert sum(m["weight"] for m in doc["models"]) == pytest.approx(1.0, abs=1e-6)


def test_cli_compare_table_and_errors(tmp_path, capsys):
    path = tmp_path / "runs.csv"
    chinchilla_runs().to_csv(path, index=False)
    code = main(["compare", str(path), "--law", "compute", "--likelihood", "student_t", "--likelihood", "normal",
                 "--chains", "2", "--warmup", "300", "--draws", "300", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert "compute/student_t" in out and "compute/normal" in out and "Pareto k" in out
    assert main(["compare", str(path), "--law", "chinchilla", "--quiet"]) == 2
    assert "at least two models" in capsys.readouterr().err
    assert main(["compare", str(path), "--law", "nope", "--law", "compute", "--quiet"]) == 2


def test_prior_sensitivity(clean_fits):
    fit = clean_fits["chinchilla"]
    lp = log_prior_draws(fit)
    assert set(lp) == set(fit.spec["priors"])
    assert all(v.shape == (2, 300) and np.all(np.isfinite(v)) for v in lp.values())
    # the log prior of one draw, by hand: E's prior at its first posterior draw
    prior_E = bayeslaw.Prior.from_dict(fit.spec["priors"]["E"]).resolve(
        fit.spec["reference_scales"]["prior_symbols"])
    assert lp["E"][0, 0] == pytest.approx(float(prior_E.log_prob(fit.draws("E")[0])))
    table = bayeslaw.prior_sensitivity(fit)
    assert list(table.index) == fit.param_names
    assert {"prior", "likelihood", "diagnosis", "dominated_by"} <= set(table.columns)
    assert set(table["dominated_by"]) <= {"prior", "likelihood", "prior-data conflict"}
    # 48 runs with 2% noise pin the law's exponents down: the likelihood dominates them
    for p in ("alpha", "beta"):
        assert table.loc[p, "likelihood"] > table.loc[p, "prior"]
        assert table.loc[p, "dominated_by"] == "likelihood"


def test_comparison_plot(clean_comparison, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayeslaw.plots import as_figure, save_figure

    pc = clean_comparison.plot()
    fig = as_figure(pc)
    labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    assert {"chinchilla", "compute"} <= set(labels)
    out = save_figure(pc, tmp_path / "compare.png")
    assert out.stat().st_size > 1000
    plt.close(fig)


@pytest.mark.slow
def test_chinchilla_data_student_t_beats_normal():
    """The bundled Chinchilla runs (Epoch AI's digitisation, 245 runs): the Normal likelihood is
    dragged by outlying runs to very different exponents, and LOO prefers Student-t decisively."""
    path = bayeslaw.example_data_path()
    fits = {lik: bayeslaw.fit(path, "chinchilla", likelihood=lik, seed=1, **SAMPLER) for lik in ("student_t", "normal")}
    c = bayeslaw.compare(fits)
    t = c.table
    assert c.best == "student_t" and t.loc["student_t", "weight"] > 0.9
    assert -t.loc["normal", "elpd_diff"] > 2 * t.loc["normal", "dse"]
    assert t.loc["normal", "n_refitted"] == t.loc["normal", "n_pareto_k_high"] >= 1
    assert np.median(fits["normal"].draws("beta")) - np.median(fits["student_t"].draws("beta")) > 0.1
