"""Predictions and decision quantities (bayeslaw.predict, bayeslaw.optimal_allocation, ...) and their CLI commands."""

import json

import numpy as np
import pandas as pd
import pytest

import arviz_base
import bayeslaw
from bayeslaw.cli import main
from bayeslaw.errors import DataError, LawError


@pytest.fixture(scope="module")
def power_fit():
    rng = np.random.default_rng(5)
    D = np.geomspace(1e8, 1e10, 20)
    loss = (1.7 + np.exp(np.log(400.0) - 0.3 * np.log(D))) * np.exp(0.01 * rng.standard_normal(20))
    return bayeslaw.fit(pd.DataFrame({"D": D, "loss": loss}), "power_law", num_chains=2, num_warmup=300,
                        num_samples=300, seed=2, check=False)


def test_predict_summaries_match_the_draws(chinchilla_fit):
    pred = chinchilla_fit.predict(N=[7e10, 1e9], D=[1.4e12, 2e10], ci_prob=0.8)
    assert pred.ci_prob == 0.8 and pred.table.index.name == "target"
    t = pred.table
    assert list(t["C"]) == pytest.approx([6 * 7e10 * 1.4e12, 6 * 1e9 * 2e10])
    mean = pred.draws("mean")
    assert mean.shape == (2 * 500, 2)
    assert t["mean_median"].to_numpy() == pytest.approx(np.median(mean, axis=0))
    assert t["mean_lower"].to_numpy() == pytest.approx(np.quantile(mean, 0.1, axis=0))
    # the mean law is the law evaluated at every posterior draw
    p = {k: chinchilla_fit.draws(k) for k in ("E", "A", "B", "alpha", "beta")}
    direct = p["E"] + p["A"] / 7e10 ** p["alpha"] + p["B"] / 1.4e12 ** p["beta"]
    assert mean[:, 0] == pytest.approx(direct, rel=1e-9)
    # a new run is wider than the law, and centred on it
    assert np.all(t["new_run_upper"] - t["new_run_lower"] > t["mean_upper"] - t["mean_lower"])
    assert abs(t["new_run_median"].iloc[0] / t["mean_median"].iloc[0] - 1) < 0.01


def test_predict_datatree_groups_and_extrapolation_flags(chinchilla_fit):
    pred = chinchilla_fit.predict(N=7e10, C=5.76e23)
    assert set(pred.idata.children) == {"predictions", "predictions_constant_data"}
    assert list(pred.idata["predictions"]["loss"].coords["kind"].values) == ["mean", "new_run"]
    assert pred.idata["predictions_constant_data"]["D"].values[0] == pytest.approx(5.76e23 / (6 * 7e10))
    n_max = chinchilla_fit.idata["constant_data"]["N"].values.max()
    assert pred.table["beyond_N"].iloc[0] == pytest.approx(np.log10(7e10 / n_max))
    inside = chinchilla_fit.predict(N=1e9, D=2e10).table
    assert inside["beyond_N"].iloc[0] == 0 and inside["beyond_D"].iloc[0] == 0
    rec = pred.to_records()[0]
    assert set(rec) >= {"target", "N", "D", "C", "mean_law", "new_run", "ci_prob", "extrapolation_decades"}
    assert set(rec["mean_law"]) == {"median", "lower", "upper"}


def test_predict_bad_targets(chinchilla_fit, power_fit):
    with pytest.raises(DataError, match="needs D at each target"):
        chinchilla_fit.predict(N=7e10)
    with pytest.raises(DataError, match="positive"):
        chinchilla_fit.predict(N=-1, D=1e12)
    with pytest.raises(bayeslaw.BayeslawError, match="between 0 and 1"):
        chinchilla_fit.predict(N=7e10, D=1e12, ci_prob=1.5)
    # names the law does not take are refused, with the ones it does (not silently ignored)
    with pytest.raises(DataError, match="no input 'T'.*N=..., D=..."):
        chinchilla_fit.predict(N=7e10, D=1e12, T=5)
    with pytest.raises(DataError, match="no input 'x'"):
        chinchilla_fit.predict(N=7e10, D=1e12, x=5)
    # one-variable law fitted on D accepts D= or x=, by keyword or as a table
    a = power_fit.predict(D=1e11).table["mean_median"].iloc[0]
    b = power_fit.predict(x=1e11).table["mean_median"].iloc[0]
    c = power_fit.predict(pd.DataFrame({"D": [1e11]})).table["mean_median"].iloc[0]
    assert a == b == c


def test_optimal_allocation_matches_closed_form(chinchilla_fit):
    C = [1e21, 5.76e23, 1e25]
    dec = chinchilla_fit.optimal_allocation(C=C)
    p = {k: chinchilla_fit.draws(k) for k in ("A", "B", "alpha", "beta")}
    a, b = p["alpha"], p["beta"]
    G = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    for j, c in enumerate(C):
        N = G * (c / 6) ** (b / (a + b))
        assert dec.draws("N_opt")[:, j] == pytest.approx(N, rel=1e-6)
        assert dec.draws("D_opt")[:, j] == pytest.approx(c / 6 / N, rel=1e-6)
    assert dec.table["tokens_per_param_median"].iloc[1] == pytest.approx(
        np.median(dec.draws("D_opt")[:, 1] / dec.draws("N_opt")[:, 1]))
    # the draws as a DataTree (chains kept apart), like every result with draws
    tree = dec.idata["predictions"]
    assert tree["N_opt"].dims == ("chain", "draw", "target") and tree["N_opt"].shape == (2, 500, 3)
    # a different FLOPs convention moves the optimum
    k8 = chinchilla_fit.optimal_allocation(C=5.76e23, flops_per_param_token=8.0)
    assert k8.table["N_opt_median"].iloc[0] < dec.table["N_opt_median"].iloc[1]


def test_compute_for_loss_inverts_the_optimum(chinchilla_fit):
    dec = chinchilla_fit.optimal_allocation(C=1e23)
    target = float(dec.table["loss_opt_median"].iloc[0])
    back = chinchilla_fit.compute_for_loss(target)
    assert back.table["reachable"].iloc[0] == 1.0
    assert back.table["C_median"].iloc[0] == pytest.approx(1e23, rel=0.05)
    # a loss below every draw's floor is never reached
    never = chinchilla_fit.compute_for_loss(1.0)
    assert never.table["reachable"].iloc[0] == 0.0 and np.isinf(never.table["C_median"].iloc[0])
    rec = never.to_records()[0]
    assert rec["C"]["median"] is None and rec["reachable"] == 0.0  # strict JSON: null, and the flag says why
    json.dumps(rec, allow_nan=False)


def test_decisions_undefined_for_one_variable_laws(power_fit):
    with pytest.raises(LawError, match="law of parameters N and tokens D"):
        power_fit.optimal_allocation(C=1e22)
    with pytest.raises(LawError, match="compute C"):
        power_fit.compute_for_loss(2.0)


def test_cli_predict_and_optimum_json(chinchilla_fit, tmp_path, capsys):
    chinchilla_fit.save(tmp_path / "fit")
    assert main(["predict", str(tmp_path / "fit"), "--at", "N=70e9,D=1.4e12", "--at", "N=1e9,D=2e10",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ci_prob"] == arviz_base.rcParams["stats.ci_prob"]  # the default follows ArviZ
    assert doc["law"] == "chinchilla" and len(doc["results"]) == 2
    assert doc["results"][0]["mean_law"]["lower"] < doc["results"][0]["mean_law"]["upper"]
    assert main(["predict", str(tmp_path / "fit"), "--at", "N=70e9,D=1.4e12", "--format", "csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("target,N,D,C,mean_median") and len(csv) == 2
    assert main(["optimum", str(tmp_path / "fit"), "--compute", "5.76e23", "--loss", "1.95", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["optimal_allocation"][0]) >= {"C", "N_opt", "D_opt", "tokens_per_param", "loss_opt"}
    assert doc["compute_for_loss"][0]["loss"] == 1.95
    assert main(["optimum", str(tmp_path / "fit"), "--compute", "5.76e23"]) == 0
    assert "tokens_per_param" in capsys.readouterr().out


@pytest.mark.parametrize("argv,needle", [
    (["--at", "N"], "NAME=VALUE"),
    (["--at", "N=70e9;D=1"], "not a number"),
    (["--at", "N=abc,D=1e12"], "not a number"),
    (["--at", "N=7e10,D=1e12", "--at", "N=7e10"], "same variables"),
    (["--at", "N=7e10,D=1e12", "--ci-prob", "2"], "between 0 and 1"),
    (["--at", "N=7e10,D=1e12,T=3"], "no input 'T'"),
    (["--at", "N=7e10,D=1e12", "--seed", "-1"], "seed must be an integer from 0"),
])
def test_cli_predict_bad_input(chinchilla_fit, tmp_path, capsys, argv, needle):
    chinchilla_fit.save(tmp_path / "fit")
    assert main(["predict", str(tmp_path / "fit"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and "Traceback" not in err


@pytest.mark.slow  # its vectorised program compiles for about a minute on 2 cores
def test_refit_batch_refits_many_data_sets_in_one_program(power_fit):
    """refit_batch: B data sets at the fit's inputs, one vectorised program, each with
    its own prior scale; the same data give the fit's posterior, data 5% higher give E 5% higher."""
    from bayeslaw.inference.refit import refit_batch

    log_y = power_fit.idata["observed_data"]["log_loss"].values
    batch = np.stack([log_y, log_y + np.log(1.05), log_y])
    samples, extra = refit_batch(power_fit, batch, num_warmup=200, num_samples=200, num_chains=2, seed=1)
    assert samples["E"].shape == (3, 2, 200) and extra["diverging"].shape == (3, 2, 200)
    e_fit = power_fit.draws("E")
    e0, e1, e2 = (samples["E"][b].ravel() for b in range(3))
    se = e_fit.std() / np.sqrt(100)  # a few hundred effective draws
    assert abs(e0.mean() - e_fit.mean()) < 5 * se
    assert abs(np.median(e1) / np.median(e0) - 1.05) < 0.02
    # two data sets with identical data but different chains agree, and are not copies
    assert abs(e2.mean() - e0.mean()) < 5 * se and not np.array_equal(e0, e2)
    with pytest.raises(bayeslaw.errors.BayeslawError, match="columns"):
        refit_batch(power_fit, batch[:, :5])
