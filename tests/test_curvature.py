"""Laws with a curvature term (``<law>_curved``, :mod:`bayeslaw.core.curvature`): a quadratic misfit in the
centred log inputs, opt-in by name, fitted, saved and loaded like any law."""

import numpy as np
import pytest

import bayeslaw
from bayeslaw.core.curvature import curvature_names


def test_names_resolve_and_extend_the_law():
    base, law = bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_curved")
    assert law is bayeslaw.get_law("chinchilla_curved")  # one object: its compiled programs are reused
    assert [n for n, _ in curvature_names(base)] == ["curv_N", "curv_D", "curv_N_D"]
    assert list(law.params) == [*base.params, "curv_N", "curv_D", "curv_N_D"]
    assert law.hash != base.hash and law.inputs == base.inputs
    x = {"N": np.array([-1.0, 0.0, 2.0]), "D": np.array([0.5, 0.0, -1.0])}
    p = {"E": 1.8, "a": 0.1, "alpha": 0.35, "b": 0.2, "beta": 0.3}
    c = {"curv_N": 0.01, "curv_D": -0.02, "curv_N_D": 0.005}
    want = base.log_mean(x, **p) + 0.01 * x["N"] ** 2 - 0.02 * x["D"] ** 2 + 0.005 * x["N"] * x["D"]
    np.testing.assert_allclose(law.log_mean(x, **p, **c), want, rtol=1e-12)
    one = bayeslaw.get_law("power_law_curved")
    assert one.coordinates is not None and one.coordinates.size == bayeslaw.get_law("power_law").coordinates.size + 1
    with pytest.raises(bayeslaw.LawError, match="Unknown law"):
        bayeslaw.get_law("no_such_law_curved")


def test_fit_save_load_predict(tmp_path):
    """curvature=True fits <law>_curved and records why; the fit saves, loads (reason included) and predicts."""
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    f = bayeslaw.fit(runs.subset(runs.frame.index[::8]), "power_law", x="N", curvature=True, num_chains=2,
                     num_warmup=300, num_samples=300, seed=3, check=False)
    assert "curv_x" in f.summary().index
    assert f.law.name == "power_law_curved" and f.summary().attrs["law"] == f.spec.law_reason
    f.save(tmp_path / "fit")
    g = bayeslaw.load(tmp_path / "fit")
    assert g.law is bayeslaw.get_law("power_law_curved") and g.spec.law_reason == f.spec.law_reason
    a, b = bayeslaw.predict(f, N=1e12).table, bayeslaw.predict(g, N=1e12).table
    np.testing.assert_allclose(a["new_run_median"], b["new_run_median"], rtol=1e-12)


def test_closed_form_log_det_is_carried_over():
    import jax
    import jax.numpy as jnp

    law = bayeslaw.get_law("chinchilla_curved")
    assert law.coordinates.log_det is not None
    x = {"N": jnp.linspace(-2.0, 2.0, 12), "D": jnp.linspace(-1.5, 2.5, 12)}
    z = jnp.asarray(np.random.default_rng(0).normal(0, 0.5, law.coordinates.size))

    def theta(z):
        p = law.coordinates.to_params(z, x)
        return jnp.stack([p[n] for n in law.params])

    with jax.enable_x64(True):
        _, auto = jnp.linalg.slogdet(jax.jacfwd(theta)(z))
        assert float(law.coordinates.log_det(z, x)) == pytest.approx(float(auto), rel=1e-8, abs=1e-8)


def test_curvature_switch_plans_the_curved_law_and_says_why():
    """curvature=True fits <law>_curved with 2000 warmup iterations unless the caller sets them; curvature=False is
    the plain law and says nothing; the reason travels to the spec, summary() and spec.json."""
    from bayeslaw.inference.plan import CURVED_WARMUP, plan_fit

    path = bayeslaw.example_data_path()
    plain = plan_fit(path, "chinchilla", curvature=False)
    assert plain.law.name == "chinchilla" and plain.law_reason == "" and plain.sampler.num_warmup == 1000
    on = plan_fit(path, "chinchilla", curvature=True)
    assert on.law is bayeslaw.get_law("chinchilla_curved") and on.sampler.num_warmup == CURVED_WARMUP == 2000
    assert "curvature=True" in on.law_reason and "asymptotes" in on.law_reason
    assert plan_fit(path, "chinchilla", curvature=True, num_warmup=300).sampler.num_warmup == 300
    named = plan_fit(path, "chinchilla_curved")
    assert named.law is on.law and "named by the caller" in named.law_reason
    with pytest.raises(bayeslaw.LawError, match="curvature must be 'auto', False, True or 'orthogonal'"):
        plan_fit(path, "chinchilla", curvature="yes")
    with pytest.raises(bayeslaw.LawError, match="Unknown prior name 'curv_N'"):
        plan_fit(path, "chinchilla", curvature=False, priors={"curv_N": "Normal(0, 0.01)"})
    widened = plan_fit(path, "chinchilla", curvature=True, priors={"curv_N": "Normal(0, 0.01)"})
    assert widened.priors["curv_N"].to_dict()["scale"] == 0.01 and widened.priors["curv_D"].to_dict()["scale"] == 0.0025


@pytest.mark.default_curvature
def test_compare_names_models_by_the_law_fitted():
    from bayeslaw.inference.plan import plan_models, read_runs

    laws = [bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_curved")]
    runs, _ = read_runs(bayeslaw.example_data_path(), laws)
    # beside its curvature twin the plain law is fitted plain, not given the default orthogonal term
    assert list(plan_models(runs, laws)) == ["chinchilla", "chinchilla_curved"]
    twins = [bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_orthogonal")]
    assert list(plan_models(runs, twins)) == ["chinchilla", "chinchilla_orthogonal"]
    # alone, the 245-run ladder gets the default orthogonal term, and the plan says why
    (plan,) = plan_models(runs, laws[:1]).values()
    assert plan.law.name == "chinchilla_orthogonal" and "default for a ladder of 245 runs" in plan.law_reason
    assert list(plan_models(runs, laws[:1], curvature=True)) == ["chinchilla_curved"]
    with pytest.raises(bayeslaw.LawError, match="same model, chinchilla_curved"):
        plan_models(runs, laws, curvature=True)


def test_cli_fit_curvature_on(tmp_path, capsys):
    import json

    from bayeslaw.cli import main

    # the runs and budget of test_fit_save_load_predict: one compiled program for both
    runs = bayeslaw.load_runs(bayeslaw.example_data_path()).frame.iloc[::8]
    runs.to_csv(tmp_path / "runs.csv")
    code = main(["fit", str(tmp_path / "runs.csv"), "--law", "power_law", "--x", "N", "--curvature", "on",
                 "--num-chains", "2", "--num-warmup", "300", "--num-samples", "300", "--seed", "3", "--format", "json",
                 "--quiet"])
    doc = json.loads(capsys.readouterr().out)
    assert code in (0, 1) and doc["law"] == "power_law_curved" and "curvature=True" in doc["law_reason"]
    assert doc["sampler"]["num_warmup"] == 300
