"""Learning curves: the sequential observation model (drift + diffusion + jitter by a Kalman filter),
the default chosen from the data's structure, predictions conditioned on a run, and the refusal of
PSIS-LOO on checkpoints."""

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest
from jax.scipy.stats import multivariate_normal as mvn

import bayeslaw
from bayeslaw.core import statespace
from bayeslaw.errors import BayeslawError, DataError
from bayeslaw.inference.model import COORDINATES_SITE, padded_size
from bayeslaw.inference.plan import plan_fit
from conftest import check_result_contract

SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300, check=False)


def dense_log_density(r, t, drift, drift_length, diffusion, sigma):
    """The same process as a dense Gaussian: OU + Wiener from the first checkpoint + jitter."""
    d = np.abs(t[:, None] - t[None, :])
    t0 = t.min()
    cov = (drift ** 2 * np.exp(-d / drift_length) + diffusion ** 2 * np.minimum(t[:, None] - t0, t[None, :] - t0)
           + sigma ** 2 * np.eye(len(t)))
    return float(mvn.logpdf(r, np.zeros(len(t)), cov))


def ou_curves(n_runs=2, n=16, seed=0, drift=0.03, length=1.0, sigma=0.005):
    """Checkpoints of a few runs of a power law, each drifting from it as an OU process in log D."""
    rng = np.random.default_rng(seed)
    rows = []
    for run in range(n_runs):
        D = np.geomspace(1e8, 1e10, n) * (1 + 0.3 * run)
        r = statespace.simulate(rng, np.log(D), sigma=sigma, drift=drift, drift_length=length)
        loss = (1.7 + 400 * D ** -0.3) * np.exp(r)
        rows.append(pd.DataFrame({"D": D, "loss": loss, "run": f"r{run}"}))
    return pd.concat(rows, ignore_index=True)


def test_kalman_filter_equals_the_dense_gaussian():
    """Two runs, rows shuffled, padded to 32: the filter's one-step-ahead densities sum to each run's exact
    multivariate-normal log density, and padded rows score 0."""
    rng = np.random.default_rng(0)
    t = np.r_[rng.uniform(-2, 2, 15), rng.uniform(0, 3, 9)]
    ids = np.r_[np.full(15, "a"), np.full(9, "b")]
    perm = rng.permutation(24)
    t, ids = t[perm], ids[perm]
    r = rng.normal(0, 0.1, 24)
    p = dict(drift=0.1, drift_length=0.7, diffusion=0.05, sigma=0.02)
    ctx = statespace.context(ids, t, 32)
    ll = np.asarray(statespace.log_density(np.r_[r, np.full(8, r[0])], ctx, **p))
    ref = sum(dense_log_density(r[ids == k][np.argsort(t[ids == k])], np.sort(t[ids == k]), **p) for k in "ab")
    assert ll.sum() == pytest.approx(ref, rel=1e-10)
    assert np.all(ll[24:] == 0)
    # each row's term is its one-step-ahead conditional: the first row of a run is its marginal
    first = [np.flatnonzero(ids == k)[np.argmin(t[ids == k])] for k in "ab"]
    for i in first:
        var = p["drift"] ** 2 + p["sigma"] ** 2
        assert ll[i] == pytest.approx(-0.5 * (np.log(2 * np.pi * var) + r[i] ** 2 / var))



def test_the_one_state_filter_without_diffusion_equals_the_two_state_filter():
    """diffusion given as the number 0 runs the Ornstein-Uhlenbeck filter alone: the same densities (and the
    dense Gaussian's total) and the same filtered states as the two-state filter with a zero Wiener rate."""
    rng = np.random.default_rng(1)
    t = np.r_[rng.uniform(-2, 2, 12), rng.uniform(0, 3, 7)]
    ids = np.r_[np.full(12, "a"), np.full(7, "b")]
    r = rng.normal(0, 0.1, 19)
    p = dict(drift=0.08, drift_length=1.3, sigma=0.03)
    ctx = statespace.context(ids, t, 24)
    r_pad = np.r_[r, np.zeros(5)][ctx["order"]]
    ll1, st1 = statespace.filter_residuals(r_pad, ctx, diffusion=0, states=True, **p)
    ll2, st2 = statespace.filter_residuals(r_pad, ctx, diffusion=np.zeros(()), states=True, **p)
    np.testing.assert_allclose(np.asarray(ll1), np.asarray(ll2), rtol=1e-12, atol=1e-15)
    for a, b in zip(st1, st2):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-15)
    ref = sum(dense_log_density(r[ids == k][np.argsort(t[ids == k])], np.sort(t[ids == k]), diffusion=0.0, **p)
              for k in "ab")
    assert float(np.sum(ll1)) == pytest.approx(ref, rel=1e-10)


def test_filtered_models_pad_to_quarter_octaves_and_score_the_same():
    """A filter along the rows pays for every padded row, so its fits pad to the next quarter octave (a curve
    of 71 checkpoints to 80 rows, not 128; fit_many keeps powers of two); the padding is masked out, so the
    model's log density at any point is the same at either size."""
    from numpyro.infer.util import log_density

    assert [padded_size(n, fine=True) for n in (9, 17, 33, 47, 71, 129)] == [16, 20, 40, 48, 80, 160]
    assert [padded_size(n) for n in (9, 17, 33, 47, 71, 129)] == [16, 32, 64, 64, 128, 256]
    fit_module = importlib.import_module("bayeslaw.inference.fit")
    plan = plan_fit(ou_curves(n_runs=1, n=17), "power_law", x="D", run="run")
    fine = fit_module.prepare(plan)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fit_module, "padded_size", lambda n, fine=False: padded_size(n))
        coarse = fit_module.prepare(plan)
    assert fine.args[2].shape == (20,) and coarse.args[2].shape == (32,)
    # fit_many asks for powers of two: many curves of different lengths share fewer programs
    assert fit_module.prepare(plan, shared_sizes=True).args[2].shape == (32,)
    rng = np.random.default_rng(3)
    for _ in range(3):
        point = {COORDINATES_SITE: rng.normal(0, 0.3, 3), "sigma": 0.01 * rng.uniform(0.5, 2),
                 "drift": 0.03 * rng.uniform(0.5, 2), "drift_length": rng.uniform(0.5, 2)}
        a, _ = log_density(fine.model, fine.args, {}, point)
        b, _ = log_density(coarse.model, coarse.args, {}, point)
        assert np.isfinite(float(a)) and float(a) == pytest.approx(float(b), rel=1e-12)


def test_the_default_follows_the_data_structure():
    curves = ou_curves()
    plan = plan_fit(curves, "power_law", x="D", run="run")
    assert plan.observation.name == "learning_curve" and plan.axis == "x"
    assert "learning curves" in plan.likelihood_reason and "'run'" in plan.likelihood_reason
    assert "holds 2 runs with up to 16 checkpoints each" in plan.likelihood_reason
    one = plan_fit(curves[curves["run"] == "r0"], "power_law", x="D", run="run")
    assert "holds 1 run of 16 checkpoints)" in one.likelihood_reason
    ladder = curves.groupby("run").head(1)
    ladder = pd.concat([ladder.assign(run=[f"s{k}_{i}" for i in range(len(ladder))], D=ladder["D"] * k)
                        for k in (1, 2, 3)], ignore_index=True)
    plan = plan_fit(ladder, "power_law", x="D", run="run")
    assert plan.observation.name == "student_t" and "ladder" in plan.likelihood_reason
    plan = plan_fit(curves, "power_law", x="D")
    assert plan.observation.name == "student_t" and "no run column" in plan.likelihood_reason
    plan = plan_fit(curves, "power_law", x="D", likelihood="learning_curve")
    assert plan.observation.name == "learning_curve" and "one run" in plan.likelihood_reason
    plan = plan_fit(curves, "power_law", x="D", run="run", likelihood="normal")
    assert plan.observation.name == "normal" and "chosen by the caller" in plan.likelihood_reason
    with pytest.raises(DataError, match="has no run column 'runs'.*run"):
        plan_fit(curves, "power_law", x="D", run="runs")


def test_the_axis_of_checkpoints_of_a_two_input_law_is_the_one_that_grows():
    rows = []
    for N in (1e8, 3e8, 1e9):
        D = np.geomspace(1e9, 1e11, 6)
        rows.append(pd.DataFrame({"N": N, "D": D, "loss": 1.7 + 400 / N ** 0.34 + 400 / D ** 0.28, "run": f"N{N:g}"}))
    plan = plan_fit(pd.concat(rows), "chinchilla", run="run")
    assert plan.observation.name == "learning_curve" and plan.axis == "D"


@pytest.fixture(scope="module")
def curve_fit():
    return bayeslaw.fit(ou_curves(), "power_law", x="D", run="run", seed=0, **SAMPLER)


def test_a_learning_curve_fit_records_why_and_predicts_each_run(curve_fit, tmp_path):
    f = curve_fit
    assert f.spec.likelihood == "learning_curve" and f.spec.data.run == "run" and f.spec.data.axis == "x"
    assert f.summary().attrs["observation_model"].startswith("learning_curve (the default for learning curves")
    assert set(f.param_names) >= {"sigma", "drift", "drift_length"}
    check_result_contract(f)
    # pointwise log likelihoods are one-step-ahead conditionals: they sum to the joint of each draw
    assert f.idata["log_likelihood"]["log_loss"].shape[-1] == 32
    # a run's continuation: conditioned on its checkpoints, wider further beyond its last one
    last = float(ou_curves().query("run == 'r1'")["D"].max())
    pred = bayeslaw.predict(f, x=[last * 1.5, last * 10, last * 100], run="r1", ci_prob=0.9)
    width = (pred.table["new_run_upper"] - pred.table["new_run_lower"]).to_numpy()
    assert np.all(np.diff(width) > 0)
    fresh = bayeslaw.predict(f, x=[last * 1.5], ci_prob=0.9)  # no run named: a fresh run
    assert (fresh.table["new_run_upper"] - fresh.table["new_run_lower"]).iloc[0] > width[0]
    with pytest.raises(DataError, match="run='r9' is not a run of this fit"):
        bayeslaw.predict(f, x=[last], run="r9")
    f.save(tmp_path / "fit")
    g = bayeslaw.load(tmp_path / "fit")
    assert g.spec.likelihood_reason == f.spec.likelihood_reason and g.spec.data.run == "run"
    again = bayeslaw.predict(g, x=[last * 1.5, last * 10, last * 100], run="r1", ci_prob=0.9)
    pd.testing.assert_frame_equal(again.table, pred.table)


def test_psis_loo_is_refused_on_checkpoints(curve_fit):
    with pytest.raises(BayeslawError, match="PSIS-LOO is not valid for a learning_curve fit.*backtest.*"
                                            "leave_one_group_out\\(fit, 'run'\\)"):
        bayeslaw.loo(curve_fit)
    with pytest.raises(BayeslawError, match="PSIS-LOO is not valid for a learning_curve fit"):
        bayeslaw.compare({"a": curve_fit, "b": curve_fit})
    with pytest.raises(BayeslawError, match="PSIS-LOO is not valid for a learning_curve fit"):
        bayeslaw.stack({"a": curve_fit, "b": curve_fit}, weights="loo")
    # stack's default weights for learning curves: the backtest (later checkpoints scored given their run)
    with warnings.catch_warnings():  # the small budget's refits may warn (ESS)
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        stk = bayeslaw.stack({"a": curve_fit, "b": curve_fit}, holdout_top=0.1)
    assert stk.method == "backtest" and len(stk.backtest.test_runs) > 0


def test_held_out_checkpoints_are_scored_given_their_run(curve_fit):
    from bayeslaw.posterior.predict import log_density

    data = ou_curves()
    later = bayeslaw.load_runs(data.assign(D=data["D"] * 1.2))
    dens = log_density(curve_fit, later)
    assert dens.shape == (2, 300, 32) and np.isfinite(dens).all()
    unknown = bayeslaw.load_runs(data.assign(run="new", D=data["D"] * 1.2).head(5))
    assert np.isfinite(log_density(curve_fit, unknown)).all()


def test_backtest_of_learning_curves_conditions_on_each_run():
    """The last quarter of the checkpoints (by D) held out: each is predicted from its own run's earlier ones,
    which the learning-curve model does far better than a fresh run's band would."""
    data = ou_curves()
    bt = bayeslaw.backtest(data, "power_law", x="D", run="run", by="D", holdout_top=0.25, seed=0, ci_prob=0.9,
                           check=False, **{k: v for k, v in SAMPLER.items() if k != "check"})
    row = bt.table.iloc[0]
    assert row["likelihood"] == "learning_curve" and row["n_train"] == 24 and row["n_test"] == 8
    assert np.isfinite(row["elpd_test"]) and 0 <= row["coverage_50"] <= row["coverage"] <= 1
    f = bt.fits["power_law"]
    assert f.spec.data.run == "run" and "learning curves" in f.spec.likelihood_reason


def test_cli_fit_says_which_observation_model_and_why(tmp_path, capsys):
    from bayeslaw.cli import main

    path = tmp_path / "curves.csv"
    ou_curves().to_csv(path, index=False)
    code = main(["fit", str(path), "--law", "power_law", "--x", "D", "--run", "run", "--num-chains", "2",
                 "--num-warmup", "300", "--num-samples", "300", "--quiet", "--format", "json"])
    assert code == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["likelihood"] == "learning_curve" and doc["run"] == "run"
    assert doc["likelihood_reason"].startswith("learning_curve (the default for learning curves: run column 'run'")



def test_cli_compare_of_learning_curves_weighs_them_by_a_backtest(tmp_path, capsys):
    """`bayeslaw compare --run`: no PSIS-LOO for checkpoints; the backtest (each held-out checkpoint scored given
    its run) ranks the laws and weighs their stack, whose prediction is printed; --plot (the LOO figure) and
    --weights loo are refused with one sentence, exit 2."""
    import json

    from clirun import one_sentence_error, run

    path = tmp_path / "curves.csv"
    ou_curves().to_csv(path, index=False)
    base = ["compare", path, "--law", "power_law", "--law", "m3", "--x", "D", "--run", "run", "--num-chains", "2",
            "--num-warmup", "300", "--num-samples", "300", "--quiet"]
    split = ["--holdout-top", "0.1"]   # 29 rows to train on: the full fits' padded size, so their programs
    code, out, err = run(capsys, [*base, *split, "--method", "bb-pseudo-bma", "--at", "D=3e10", "--format", "json"])
    assert code == 0, err
    doc = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert doc["criterion"] == "backtest" and doc["method"] == "bb-pseudo-bma" and doc["n_rows"] == 32
    assert {m["law"] for m in doc["models"]} == {"power_law", "m3"}
    assert {m["likelihood"] for m in doc["models"]} == {"learning_curve"}
    weights = doc["stack"]["weights"]
    assert doc["stack"]["weights_from"] == "backtest" and sum(weights.values()) == pytest.approx(1, abs=1e-6)
    assert 0 < min(weights.values())   # pseudo-BMA+ keeps both laws
    assert len(doc["predictions"]["results"]) == 1
    png = tmp_path / "elpd.png"
    code, out, err = run(capsys, [*base, *split, "--plot", png])
    one_sentence_error(code, err, "--plot", "learning-curve", "backtest")
    assert not png.exists()
    code, out, err = run(capsys, [*base, "--weights", "loo"])
    one_sentence_error(code, err, "--weights loo", "backtest")

def test_plots_and_report_of_a_learning_curve_fit(curve_fit, tmp_path):
    """The curve plot's new-run band is a fresh run's (drift and jitter); the report says which model and why."""
    import matplotlib.pyplot as plt

    from bayeslaw import plots
    from bayeslaw.report import write_report

    for name in ("plot_curve", "plot_params", "plot_diagnostics"):
        assert isinstance(getattr(plots, name)(curve_fit), plt.Figure)
    plt.close("all")
    page = write_report(curve_fit, tmp_path / "report.html", ci_prob=0.9).read_text()
    assert "Chosen: learning_curve (the default for learning curves" in page


def test_simulated_residuals_have_the_filtered_process_covariance():
    """statespace.simulate draws the process the filter scores: OU + Wiener from the first checkpoint + jitter."""
    t = np.array([0.0, 0.3, 1.0, 1.2, 2.5])
    p = dict(sigma=0.02, drift=0.1, drift_length=0.7, diffusion=0.05)
    rng = np.random.default_rng(0)
    draws = np.stack([statespace.simulate(rng, t, **p) for _ in range(20000)])
    d = np.abs(t[:, None] - t[None, :])
    cov = (p["drift"] ** 2 * np.exp(-d / p["drift_length"]) + p["diffusion"] ** 2 * np.minimum(t[:, None], t[None, :])
           + p["sigma"] ** 2 * np.eye(len(t)))
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=4e-4)


def test_learning_curves_sample_with_target_accept_095_unless_told():
    """Drift and jitter trade off on short curves; the plan raises NUTS's target acceptance for sequential models."""
    from bayeslaw.inference.plan import SEQUENTIAL_TARGET_ACCEPT

    d = np.geomspace(1e6, 1e9, 12)
    runs = pd.DataFrame({"D": d, "loss": 2.0 + 50 * d ** -0.3, "run": "r"})
    assert plan_fit(runs, "power_law", x="D", run="run").sampler.target_accept_prob == SEQUENTIAL_TARGET_ACCEPT == 0.99
    assert plan_fit(runs, "power_law", x="D", run="run", target_accept_prob=0.8).sampler.target_accept_prob == 0.8
    assert plan_fit(runs.drop(columns="run"), "power_law", x="D").sampler.target_accept_prob == 0.8


def test_learning_curves_sample_1000_plus_2000_unless_told():
    """A learning-curve fit's default budget is 4 x (1000 + 2000): fewer curves end with R-hat / ESS warnings than at
    500 + 1500 (defaults.SEQUENTIAL_WARMUP's measurements); a caller's budget is kept, and a ladder keeps 1000 +
    1000."""
    d = np.geomspace(1e6, 1e9, 12)
    runs = pd.DataFrame({"D": d, "loss": 2.0 + 50 * d ** -0.3, "run": "r"})
    s = plan_fit(runs, "power_law", x="D", run="run").sampler
    assert (s.num_warmup, s.num_samples) == (1000, 2000)
    s = plan_fit(runs, "power_law", x="D", run="run", num_warmup=300, num_samples=200).sampler
    assert (s.num_warmup, s.num_samples) == (300, 200)
    s = plan_fit(runs.drop(columns="run"), "power_law", x="D", curvature=False).sampler
    assert (s.num_warmup, s.num_samples) == (1000, 1000)
    # the CLI's help names the plan's budgets (core.budgets), not numbers of its own
    import argparse

    from bayeslaw.cli.common import add_sampler_args
    text = " ".join(a.help for a in (lambda p: (add_sampler_args(p), p)[1])(argparse.ArgumentParser())._actions)
    assert "2000 for a learning-curve model" in text and "0.99 for a learning-curve model" in text
