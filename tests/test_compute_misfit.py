"""The correlated-ladder observation model (``compute_misfit``): a Gaussian process of the law's misfit
along log compute, scored in the sampler by the Kalman filter and, for LOO and predictions, densely.

Checks the dense algebra against brute force (the filter's joint density equals the dense multivariate
normal's; the closed-form leave-one-out conditionals equal conditioning on the other rows; the conditional
at a new compute equals the joint normal's), then a small fit end to end: fit, predict (bands that widen
beyond the runs), PSIS-LOO/compare (allowed: its pointwise values are exact LOO conditionals), a held-out
score through backtest, save and load.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import bayeslaw
from bayeslaw.core import misfit, statespace

jax.config.update("jax_enable_x64", True)

SIGMA, DRIFT, LENGTH = 0.01, 0.02, 1.5


def _dense(t):
    return np.asarray(misfit.covariance(jnp.asarray(t), jnp.asarray(t), DRIFT, LENGTH)) + SIGMA ** 2 * np.eye(len(t))


def test_filter_joint_equals_dense_normal():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(-3, 3, 30))
    t[5] = t[4]  # two runs at the same compute share the misfit exactly
    perm = rng.permutation(30)  # rows arrive in any order
    r = rng.multivariate_normal(np.zeros(30), _dense(t))
    ctx = {k: jnp.asarray(v) for k, v in statespace.context(np.zeros(30), t[perm], 32).items()}
    r_pad = jnp.asarray(np.concatenate([r[perm], [0.0, 0.0]]))
    joint = float(jnp.sum(statespace.log_density(r_pad, ctx, SIGMA, DRIFT, LENGTH)))
    assert joint == pytest.approx(multivariate_normal(np.zeros(30), _dense(t)).logpdf(r), rel=1e-9)


def test_loo_conditionals_and_prediction_equal_brute_force():
    rng = np.random.default_rng(1)
    t = rng.uniform(-2, 2, 12)
    K = _dense(t)
    r = rng.multivariate_normal(np.zeros(12), K)
    loo = np.asarray(misfit.loo_log_density(jnp.asarray(r), jnp.asarray(t), SIGMA, DRIFT, LENGTH))
    for i in range(12):
        o = np.delete(np.arange(12), i)
        w = np.linalg.solve(K[np.ix_(o, o)], K[o, i])
        m, v = w @ r[o], K[i, i] - w @ K[o, i]
        assert loo[i] == pytest.approx(-0.5 * (np.log(2 * np.pi * v) + (r[i] - m) ** 2 / v), rel=1e-5)  # 1e-10 jitter on the diagonal
    t_new = np.array([0.0, 3.0, 8.0])
    mean, var = misfit.conditional(jnp.asarray(r), jnp.asarray(t), jnp.asarray(t_new), SIGMA, DRIFT, LENGTH)
    k_star = np.asarray(misfit.covariance(jnp.asarray(t), jnp.asarray(t_new), DRIFT, LENGTH))
    np.testing.assert_allclose(mean, k_star.T @ np.linalg.solve(K, r), rtol=1e-5)
    np.testing.assert_allclose(var, DRIFT ** 2 - np.sum(k_star * np.linalg.solve(K, k_star), axis=0), rtol=1e-6)
    assert var[2] > var[1] > var[0] - 1e-12 and var[2] == pytest.approx(DRIFT ** 2, rel=0.05)


@pytest.fixture(scope="module")
def ladder_fit():
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    small = runs.subset(runs.frame.index[runs.frame["C"] < runs.frame["C"].quantile(0.8)][::4])
    return bayeslaw.fit(small, "power_law", x="C", likelihood="compute_misfit", num_chains=2, num_warmup=300,
                        num_samples=300, seed=2, check=False)


def test_fit_predict_compare_and_reload(ladder_fit, tmp_path):
    f = ladder_fit
    assert f.spec.likelihood == "compute_misfit" and f.spec.data.axis == "x"
    assert {"sigma", "misfit", "misfit_length"} <= set(f.idata["posterior"].data_vars)
    c_max = float(f.idata["constant_data"]["C"].max())
    p = bayeslaw.predict(f, x=c_max * np.array([1.0, 10.0, 1000.0]))
    width = np.log(p.table["new_run_upper"] / p.table["new_run_lower"]).to_numpy()
    assert np.all(np.isfinite(width)) and width[2] > width[0]
    loo = bayeslaw.loo(f, refit=False)  # allowed: the pointwise values are exact leave-one-out conditionals
    assert np.isfinite(loo.elpd_loo) and np.all(np.isfinite(loo.table["elpd_loo"]))
    f.save(tmp_path / "fit")
    g = bayeslaw.load(tmp_path / "fit")
    q = bayeslaw.predict(g, x=c_max * np.array([1.0, 10.0, 1000.0]))
    np.testing.assert_allclose(q.table["new_run_median"], p.table["new_run_median"], rtol=1e-9)
    json.loads(json.dumps(g.spec.to_dict()))


def test_backtest_scores_held_out_runs():
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    sub = runs.subset(runs.frame.index[::4])   # trains on 49 or 50 runs: ladder_fit's padded size, its programs
    bt = bayeslaw.backtest(sub, "power_law", x="C", likelihood="compute_misfit", num_chains=2, num_warmup=300,
                           num_samples=300, check=False)
    pw = bt.pointwise
    assert len(pw) == len(bt.test_runs) and np.all(np.isfinite(pw["elpd"]))
    assert bt.table["likelihood"].iloc[0] == "compute_misfit"


# -- the grouped model: one shared offset per group, on the same algebra ------------------------------------
def test_grouped_covariance_is_a_random_intercept():
    g = jnp.asarray([0, 0, 1, 2, 2, 2])
    t = jnp.zeros(6)
    k = np.asarray(misfit.covariance(t, t, 0.05, 1.0, g, g))
    np.testing.assert_allclose(k, 0.05 ** 2 * (np.asarray(g)[:, None] == np.asarray(g)[None, :]))
    r = jnp.asarray(np.random.default_rng(3).normal(0, 0.05, 6))
    mean, var = misfit.conditional(r, t, jnp.zeros(2), 0.01, 0.05, 1.0, g, jnp.asarray([2, -1]))
    w = 0.05 ** 2 / (0.05 ** 2 + 0.01 ** 2 / 3)  # the shrinkage of group 2's three rows
    assert float(mean[0]) == pytest.approx(w * float(np.mean(np.asarray(r)[3:])), rel=1e-6)
    assert float(mean[1]) == 0.0 and float(var[1]) == pytest.approx(0.05 ** 2) and float(var[0]) < 0.05 ** 2 / 3


def _families(seed=0, families=8, sizes=6, offset=0.05, noise=0.01):
    rng = np.random.default_rng(seed)
    rows = []
    for fam in range(families):
        shift = offset * rng.standard_normal()
        for n in np.geomspace(1e7, 1e9, sizes):
            rows.append({"family": f"f{fam}", "N": n,
                         "loss": (1.7 + 400 * n ** -0.3) * np.exp(shift + noise * rng.standard_normal())})
    import pandas as pd
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def grouped_fit():
    return bayeslaw.fit(_families(), "power_law", x="N", likelihood="grouped", run="family", num_chains=2,
                        num_warmup=300, num_samples=300, seed=1, check=False)


def test_grouped_fit_pools_offsets_and_predicts_per_group(grouped_fit):
    runs = _families()
    with pytest.raises(bayeslaw.DataError, match="group column"):
        bayeslaw.plan_fit(runs, "power_law", x="N", likelihood="grouped")
    f = grouped_fit
    assert 0.02 < float(np.median(f.draws("group_sd"))) < 0.12 and float(np.median(f.draws("sigma"))) < 0.02
    seen = bayeslaw.predict(f, N=1e9, run="f3").table
    new = bayeslaw.predict(f, N=1e9).table
    w_seen = np.log(seen["new_run_upper"] / seen["new_run_lower"]).iloc[0]
    w_new = np.log(new["new_run_upper"] / new["new_run_lower"]).iloc[0]
    assert w_seen < 0.6 * w_new  # a known family's offset is pinned by its rows
    truth = runs[(runs.family == "f3")]["loss"].iloc[-1]
    assert seen["new_run_lower"].iloc[0] < truth < seen["new_run_upper"].iloc[0]
    assert np.isfinite(bayeslaw.loo(f, refit=False).elpd_loo)


@pytest.mark.slow
def test_grouped_fit_leaves_one_family_out(grouped_fit):
    """Leave-one-group-out refits the grouped model once per family (most of this file's time: slow-marked)."""
    cv = bayeslaw.leave_one_group_out(grouped_fit, "family")
    assert len(cv.table) > 0


def test_which_models_suit_a_plain_ladder():
    ladder = {n for n, m in bayeslaw.OBSERVATION_MODELS.items() if m.for_ladders}
    assert ladder == {"student_t", "normal", "compute_misfit"}
    assert bayeslaw.get_observation_model("grouped").to_dict()["for_ladders"] is False
