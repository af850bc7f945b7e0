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
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    f = bayeslaw.fit(runs.subset(runs.frame.index[::8]), "power_law_curved", x="N", num_chains=2, num_warmup=300,
                     num_samples=300, seed=3, check=False)
    assert "curv_x" in f.summary().index
    f.save(tmp_path / "fit")
    g = bayeslaw.load(tmp_path / "fit")
    assert g.law is bayeslaw.get_law("power_law_curved")
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
