"""Generic checks over whatever the law catalogue holds: a new law needs no edit here.

Every law declares an ``example`` (synthetic runs: inputs, true sampled parameters, noise), and
on it the suite checks that

- its runs load and its fit plan is accepted;
- its default priors put the prior predictive at the loss's scale, finite everywhere;
- the model's log density has finite gradients at NumPyro's start and far from it;
- a fit (prior draws standing in for the posterior: no sampling) saves, loads, predicts beyond the
  data, draws its scaling curve and writes its report;
- NUTS recovers the example's true parameters (the laws whose sampler programs the rest of the
  default suite compiles anyway, in the default suite; every other law in the slow suite).

The example's noise is made orthogonal to the law's tangent space at the truth (d log L / d theta,
by JAX): the best fit to the noisy runs is then the truth to first order, so the posterior is
centred on it with a width set by realistic noise, and a miss means a bias (a prior that
dominates, a parameterisation that cannot reach the truth), not an unlucky seed. With plain
independent noise a 90% interval misses each parameter 10% of the time by construction, and a
law of 4-6 correlated parameters fails for about one seed in three.
"""

from __future__ import annotations

import html
import math

import arviz_stats as azs
import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pandas as pd
import pytest
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import initialize_model

import bayeslaw
from bayeslaw import plots
from bayeslaw.core.priors import DISTRIBUTIONS
from bayeslaw.core.spec import DataRecord, FitSpec, SamplerRecord
from bayeslaw.inference.datatree import build_datatree
from bayeslaw.inference.model import (COORDINATES_SITE, make_model, prior_arguments, prior_families, prior_refs,
                                      reference_scales)
from bayeslaw.inference.plan import plan_fit
from bayeslaw.inference.result import Fit

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LAWS = bayeslaw.available_laws()
NAMES = sorted(LAWS)
SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300)
# recovery fits in the default suite: laws whose programs (at these sizes and settings) other tests compile too
DEFAULT_RECOVERY = {"chinchilla", "compute", "power_law"}
PROB = 0.90


def simulate(law: bayeslaw.Law, seed: int = 0) -> pd.DataFrame:
    """The law's example runs, with noise orthogonal to its tangent space at the truth."""
    ex = law.example
    raw = {v: np.asarray(a, float) for v, a in ex.inputs.items()}
    log_ref = law.centred({v: float(np.mean(np.log(a))) for v, a in raw.items()})
    x = {v: jnp.asarray(np.log(a) - log_ref[v]) for v, a in raw.items()}
    flat, unravel = ravel_pytree({k: jnp.asarray(float(v)) for k, v in ex.params.items()})
    with jax.enable_x64(True):
        f = lambda q: law.log_mean(x, **unravel(q))  # noqa: E731
        mu = np.asarray(jax.jit(f)(flat))   # one program each, not the law's operations one at a time
        jac = np.asarray(jax.jit(jax.jacfwd(f))(flat))
    q, _ = np.linalg.qr(jac)
    eps = np.random.default_rng(seed).normal(0.0, ex.sigma, mu.size)
    eps -= q @ (q.T @ eps)
    return pd.DataFrame({**raw, "loss": np.exp(mu + eps)})


def prior_fit(law: bayeslaw.Law, draws: int = 200) -> Fit:
    """A Fit of the example runs whose 'posterior' is draws from the priors: every group a real fit has,
    made without sampling (plumbing checks in milliseconds)."""
    plan = plan_fit(simulate(law), law)
    runs, cols = plan.runs, plan.design
    raw = {v: runs.frame[c].to_numpy(float) for v, c in cols.items()}
    log_ref = law.centred(reference_scales(raw, runs.loss))
    refs = prior_refs(log_ref)
    keys = jax.random.split(jax.random.PRNGKey(0), len(plan.priors))
    with jax.enable_x64(True):
        params = {k: np.asarray(p.resolve(refs).sample(key, (2, draws // 2)))
                  for (k, p), key in zip(plan.priors.items(), keys)}
        conventional = {k: np.asarray(v) for k, v in law.conventional(params, log_ref).items()}
    shape = (2, draws // 2)
    energy = np.random.default_rng(0).normal(size=shape)
    extra = {"diverging": np.zeros(shape, bool), "energy": energy, "potential_energy": energy,
             "accept_prob": np.full(shape, 0.8), "step_size": np.full(shape, 0.1), "num_steps": np.full(shape, 7)}
    spec = FitSpec(law=law.to_dict(), likelihood=plan.observation.name,
                   priors={k: p.to_dict() for k, p in plan.priors.items()}, log_ref=log_ref, prior_symbols=refs,
                   data=DataRecord(source=runs.source, columns=dict(runs.columns), derived=dict(runs.derived),
                                   n_runs=len(runs), design=dict(cols), hash=runs.data_hash()),
                   sampler=SamplerRecord(num_chains=2, num_samples=draws // 2))
    loglik = np.zeros((*shape, len(runs)))
    idata = build_datatree(law, plan.observation, conventional, extra, loglik, runs, spec, prior=conventional)
    return Fit(idata=idata, law=law, spec=spec)


by_law = pytest.mark.parametrize("name", NAMES)


def planned(law: bayeslaw.Law):
    """The example's fit plan, its log reference scales (as a fit centres the inputs) and centred inputs."""
    plan = plan_fit(simulate(law), law)
    raw = {v: plan.runs.frame[c].to_numpy(float) for v, c in plan.design.items()}
    log_ref = law.centred(reference_scales(raw, plan.runs.loss))
    return plan, log_ref, {v: jnp.asarray(np.log(a) - log_ref[v]) for v, a in raw.items()}


@by_law
def test_example_runs_load_and_plan(name):
    law = LAWS[name]
    assert law.example is not None, f"{name} declares no example=Example(...): the suite cannot check it"
    runs = bayeslaw.load_runs(simulate(law), inputs=law.inputs)
    plan = plan_fit(runs, law)
    assert len(runs) >= law.n_params + 2
    assert set(plan.design) == set(law.inputs)
    assert np.isfinite(runs.loss).all() and (runs.loss > 0).all()


@by_law
def test_prior_predictive_is_sane(name):
    """The default priors, as the model builds them, put the typical curve at the loss scale y0."""
    law = LAWS[name]
    plan, log_ref, centred = planned(law)
    refs = prior_refs(log_ref)
    xs = {v: x[None, :] for v, x in centred.items()}
    args = prior_arguments(plan.priors, refs)
    keys = jax.random.split(jax.random.PRNGKey(0), len(plan.priors) + 1)
    with jax.enable_x64(True):
        draws = {k: DISTRIBUTIONS[p.dist][0](**args[k]).sample(key, (1000,))
                 for (k, p), key in zip(plan.priors.items(), keys)}
        mu = np.asarray(jax.jit(law.log_mean)(xs, **{k: draws[k][:, None] for k in law.params}))
        noise = {k: draws[k][:, None] for k in plan.observation.params}
        # the noise about 0 at one shape for every law, then shifted to mu (the default models are location
        # families on log loss): a Student-t draw is a Gamma draw, whose sampler takes ~3 s to compile per shape
        width = 64
        assert len(plan.runs) <= width
        eps = plan.observation.distribution(jnp.zeros((1000, width)), **noise).sample(keys[-1])[:, :len(plan.runs)]
        log_loss = mu + np.asarray(eps)
    assert mu.shape == (1000, len(plan.runs))
    assert np.isfinite(mu).all() and np.isfinite(log_loss).all()
    assert abs(np.median(mu) - math.log(refs["y0"])) < 2.0


@by_law
def test_log_density_gradient_is_finite(name):
    law = LAWS[name]
    plan, log_ref, xs = planned(law)
    model = make_model(law, plan.observation, prior_families(plan.priors))
    with jax.enable_x64(True):
        args = (prior_arguments(plan.priors, prior_refs(log_ref)), xs, jnp.asarray(np.log(plan.runs.loss)))
        info = initialize_model(jax.random.PRNGKey(1), model, model_args=args)
        z = info.param_info.z
        sampled = {COORDINATES_SITE} if law.coordinates is not None else set(law.params)
        assert set(z) == sampled | set(plan.observation.params)
        assert np.isfinite(float(info.param_info.potential_energy))
        assert all(np.isfinite(np.asarray(g)).all() for g in info.param_info.z_grad.values())
        far = {k: jnp.full_like(v, 3.0 if i % 2 else -3.0) for i, (k, v) in enumerate(z.items())}
        grads = jax.grad(info.potential_fn)(far)
    assert all(np.isfinite(np.asarray(v)).all() for v in grads.values())


@by_law
def test_a_fit_saves_loads_predicts_plots_and_reports(name, tmp_path):
    law = LAWS[name]
    fit = prior_fit(law)
    loaded = bayeslaw.load(fit.save(tmp_path / "fit"))
    assert loaded.law is law and loaded.spec == fit.spec
    np.testing.assert_array_equal(loaded.draws(law.report[0]), fit.draws(law.report[0]))
    # ten times beyond the largest run in every input, by the law's own input names
    runs = loaded.runs()
    targets = {col: [10 * runs.frame[col].max()] for col in loaded.design.values()}
    pred = bayeslaw.predict(loaded, ci_prob=0.9, **targets)
    assert set(loaded.design.values()) <= set(pred.table.columns)
    assert all(pred.table[f"beyond_{c}"].iloc[0] == pytest.approx(1.0) for c in loaded.design.values())
    # (prior draws far beyond the data may overflow: +inf is such a draw's value, never NaN)
    assert not np.isnan(pred.draws("mean")).any() and np.isfinite(pred.table["mean_median"]).all()
    rec = pred.to_records()[0]
    assert rec["ci_prob"] == 0.9 and set(targets) <= set(rec)
    # prior draws need not have a compute optimum: laws of N and D are drawn along D = 20 N here
    fig = plots.plot_curve(loaded, targets, ci_prob=0.9, slice="ratio=20" if set(loaded.design) == {"N", "D"} else None)
    assert fig.axes[0].get_xscale() == "log"
    plt.close("all")
    page = bayeslaw.write_report(loaded, tmp_path / "report.html", targets=targets, ci_prob=0.9).read_text()
    assert html.escape(law.formula) in page
    curve_section = page.split('<section id="curve">')[1].split("</section>")[0]
    assert "data:image/png;base64," in curve_section  # (prior draws may lack a compute optimum: no decisions)


@pytest.mark.parametrize("name", [n if n in DEFAULT_RECOVERY else pytest.param(n, marks=pytest.mark.slow)
                                  for n in NAMES])
def test_nuts_recovers_the_example(name):
    """2 chains x (300 + 300): the truth inside every sampled parameter's 90% interval, no divergence,
    R-hat <= 1.05 (the library's 1.01 is meant for full-length runs)."""
    law = LAWS[name]
    f = bayeslaw.fit(simulate(law), law, seed=0, check=False, **SAMPLER)
    lines, ok = [], True
    for k, truth in law.example.params.items():
        lo, hi = np.quantile(f.draws(k), [(1 - PROB) / 2, (1 + PROB) / 2])
        lines.append(f"{k}: truth {truth:.4g}, {PROB:.0%} interval [{lo:.4g}, {hi:.4g}]")
        ok &= bool(lo <= truth <= hi)
    assert ok, f"{name}: " + "; ".join(lines)
    assert int(np.asarray(f.idata["sample_stats"]["diverging"]).sum()) == 0, f"{name}: divergences"
    rhat = azs.rhat(f.idata, var_names=list(law.params))
    assert max(float(rhat[k]) for k in law.params) <= 1.05, rhat


def test_same_seed_gives_bit_identical_draws():
    law = LAWS["power_law"]
    runs = simulate(law)
    first = bayeslaw.fit(runs, law, seed=0, check=False, **SAMPLER)
    again = bayeslaw.fit(runs, law, seed=0, check=False, **SAMPLER)
    for group in ("posterior", "sample_stats", "log_likelihood"):
        a, b = first.idata[group].to_dataset(), again.idata[group].to_dataset()
        assert list(a.data_vars) == list(b.data_vars)
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{group}/{v}")
    other = bayeslaw.fit(runs, law, seed=1, check=False, **SAMPLER)
    assert not np.array_equal(other.draws("alpha"), first.draws("alpha"))
    assert other.spec.sampler.seed == 1 and first.spec.sampler.seed == 0


def test_installed_packages_add_laws_through_the_entry_point_group(tmp_path, monkeypatch):
    """A package that declares `[project.entry-points."bayeslaw.laws"]` adds its laws to the catalogue."""
    from bayeslaw.core import catalogue

    (tmp_path / "my_laws.py").write_text(
        "from bayeslaw.core.law import Law\n"
        "def _log_mean(x, log_c, alpha):\n"
        "    return log_c - alpha * x['V']\n"
        "vocab_law = Law(name='vocab_law', inputs=('V',), log_mean=_log_mean, formula='L = c V^-alpha',\n"
        "                reference='a test package', params={'log_c': 'Normal(log_y0, 1)', 'alpha': 'Gamma(2, 5)'})\n")
    dist = tmp_path / "my_laws-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-laws\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bayeslaw.laws]\nmy_laws = my_laws\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        laws = catalogue.refresh()
        assert "vocab_law" in laws and bayeslaw.get_law("vocab_law").inputs == ("V",)
        assert catalogue.origin("vocab_law") == "entry point my_laws (my_laws)"
        assert set(LAWS) <= set(laws)  # the catalogue folder's laws are all still there
    finally:
        monkeypatch.undo()
        catalogue.refresh()
    assert "vocab_law" not in bayeslaw.available_laws()
