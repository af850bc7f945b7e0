"""The two-term laws' coordinates (models/_two_term.py, kaplan's) and the sampler-health case study.

Per law (chinchilla, shared_exponent, kaplan, data_constrained): the coordinates map is a bijection onto the
parameters' support (every z lands inside it, and each parameter vector has one preimage, found again from
other starts), its closed-form log-Jacobian is the automatic one, its coordinates mean what they say on the
example ladder (the loss at the centre of the runs, the rise down each input), the example's truth has
coordinates that map back to it, and with no data NUTS in the coordinates draws the parameters' own priors
(the same model). NUTS recovery of each example runs in tests/test_catalogue.py, now in these coordinates.
The case study: a small-budget run end to end, and its committed results against expected.json.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import least_squares

import bayeslaw
from bayeslaw.core.observation import get_observation_model
from bayeslaw.inference.model import prior_refs
from bayeslaw.inference.plan import resolve_priors
from priorcheck import assert_priors_carried_over
from test_case_studies import CASES, SMALL, expected, load, run_main  # noqa: F401 (run_main: a fixture)

LAWS = ("chinchilla", "shared_exponent", "kaplan", "data_constrained")


def example_x(law) -> dict[str, jnp.ndarray]:
    """The example's inputs centred as a fit centres them."""
    raw = {v: np.asarray(a, float) for v, a in law.example.inputs.items()}
    log_ref = law.centred({v: float(np.mean(np.log(a))) for v, a in raw.items()})
    return {v: jnp.asarray(np.log(raw[v]) - log_ref[v]) for v in law.inputs}


def default_priors(law, y0: float = 2.3) -> dict:
    return {k: p.resolve(prior_refs({"loss": np.log(y0)}))
            for k, p in resolve_priors(law, get_observation_model("student_t"), None).items() if k in law.params}


def vector(law, x):
    return lambda z: jnp.stack([law.coordinates.to_params(jnp.asarray(z), x)[k] for k in law.params])


def preimage(law, x, theta, start, compiled=None) -> np.ndarray:
    """The z that maps to ``theta``, solved for by least squares from ``start`` (``compiled``: the jitted map and
    its Jacobian, to reuse across calls)."""
    with jax.enable_x64(True):
        f, jac = compiled or (jax.jit(vector(law, x)), jax.jit(jax.jacfwd(vector(law, x))))
        res = least_squares(lambda z: np.asarray(f(z)) - theta, start, jac=lambda z: np.asarray(jac(z)),
                            xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000)
    return res.x


@pytest.mark.parametrize("name", LAWS)
def test_coordinates_map_is_a_bijection_onto_the_support(name):
    law = bayeslaw.get_law(name)
    x, dists, rng = example_x(law), default_priors(law), np.random.default_rng(0)
    with jax.enable_x64(True):
        # compiled once per law (a new closure per call would trace and compile again on every draw)
        f, jac = jax.jit(vector(law, x)), jax.jit(jax.jacfwd(vector(law, x)))
        log_det_of = jax.jit(lambda z: law.coordinates.log_det(z, x))
        for i in range(20):
            z = rng.normal(0.0, 1.5, law.coordinates.size)
            theta = np.asarray(f(z))
            assert np.all(np.isfinite(theta)), (z, theta)
            for k, v in zip(law.params, theta):
                assert bool(dists[k].support(v)), f"{k} = {v} is outside its prior's support"
            # one preimage: the parameters found again from another start give back this z
            back = preimage(law, x, theta, start=rng.normal(0.0, 1.0, law.coordinates.size), compiled=(f, jac))
            assert np.allclose(back, z, atol=1e-6), (z, back)
            # the Jacobian is regular (a local bijection) and its closed-form log |det| is the automatic one
            sign, log_det = np.linalg.slogdet(np.asarray(jac(jnp.asarray(z))))
            assert sign != 0 and float(log_det_of(jnp.asarray(z))) == pytest.approx(log_det, abs=1e-9)


@pytest.mark.parametrize("name", LAWS)
def test_coordinates_of_the_example_truth_map_back_to_it(name):
    """The example's true parameters have coordinates, and on the example ladder z[0] is log L at the centre of
    the runs (every centred log input 0) and the rises of log L from there down to the smallest N and to the
    smallest D are exp(z) (chinchilla's terms for data_constrained, whose coordinates are chinchilla's at the
    runs' nominal N and D)."""
    law = bayeslaw.get_law(name)
    x = example_x(law)
    truth = np.array([law.example.params[k] for k in law.params])
    z = preimage(law, x, truth, start=np.zeros(law.coordinates.size))
    with jax.enable_x64(True):
        got = law.coordinates.to_params(jnp.asarray(z), x)
        assert np.allclose([float(got[k]) for k in law.params], truth, rtol=1e-9, atol=1e-12)
        mean = bayeslaw.get_law("chinchilla" if name == "data_constrained" else name)
        p = {k: got[k] for k in mean.params}
        lo = {v: float(jnp.min(x[v])) for v in ("N", "D")}

        def log_l(n, d):
            return float(mean.log_mean({"N": jnp.atleast_1d(n), "D": jnp.atleast_1d(d)}, **p)[0])

        at_centre = log_l(0.0, 0.0)
        assert z[0] == pytest.approx(at_centre, abs=1e-9)
        if name == "shared_exponent":  # one rise: down both inputs by the narrower width
            w = min(-lo["N"], -lo["D"])
            assert np.exp(z[3]) == pytest.approx(log_l(-w, -w) - at_centre, rel=1e-9)
        else:
            rises = (z[3], z[4]) if name != "kaplan" else (z[2], z[3])
            assert np.exp(rises[0]) == pytest.approx(log_l(lo["N"], 0.0) - at_centre, rel=1e-9)
            assert np.exp(rises[1]) == pytest.approx(log_l(0.0, lo["D"]) - at_centre, rel=1e-9)


@pytest.mark.parametrize("name", LAWS)
def test_coordinates_carry_the_default_priors_over(name):
    """With no data, NUTS in the coordinates draws the parameters' own priors: the model is unchanged."""
    law = bayeslaw.get_law(name)
    x, dists = example_x(law), default_priors(law)

    assert_priors_carried_over(law, dists, x, np.zeros(law.coordinates.size))


# -- the case study ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study():
    return load("sampler_health")


def test_ladders_follow_the_example_truth(study):
    for name in LAWS:
        law = bayeslaw.get_law(name)
        for design in set(study.designs(law)) - {"isoflop"}:
            for runs in study.SIZES:
                ladder, kind = study.make_ladder(law, design, runs, seed=3)
                assert len(ladder) == runs and kind == "student_t3" and ladder["loss"].gt(0).all()
                params, log_ref = study.truth(law)
                mu = np.asarray(law.evaluate_log({v: ladder[v].to_numpy() for v in law.inputs}, params, log_ref))
                assert np.median(np.abs(np.log(ladder["loss"]) - mu)) < 3 * law.example.sigma
                again, _ = study.make_ladder(law, design, runs, seed=3)
                assert again.equals(ladder)  # a ladder depends only on its seed
        if set(law.inputs) == {"N", "D"}:
            grid, _ = study.make_ladder(law, "grid", 48, seed=0)
            ratio = grid["D"] / grid["N"]
            # 7e7-2e9 and 5-80, each moved by up to half a grid step (x1.27 in N, x1.32 in D / N)
            assert grid["N"].min() > 5.5e7 and grid["N"].max() < 2.6e9 and ratio.min() > 3.7 and ratio.max() < 106


def test_isoflop_ladders_are_real_runs_of_one_experiment(study):
    if not study.ISOFLOP.exists():
        pytest.skip(f"the isoFLOP data are not at {study.ISOFLOP} (../shared/data beside the repository)")
    import pandas as pd

    table = pd.read_csv(study.ISOFLOP)
    for seed in range(len(study.ISOFLOP_EXPERIMENTS)):
        ladder, name = study.make_ladder(bayeslaw.get_law("kaplan"), "isoflop", 25, seed)
        assert name == study.ISOFLOP_EXPERIMENTS[seed] and len(ladder) == 25
        rows = table[(table["experiment"] == name) & ~table["outlier"]]
        assert set(zip(ladder["N"], ladder["D"], ladder["loss"])) <= set(zip(rows["params"], rows["tokens"],
                                                                              rows["loss"]))
        same, _ = study.make_ladder(bayeslaw.get_law("chinchilla"), "isoflop", 25, seed)
        assert same.equals(ladder)  # the same real ladder for every law


def test_wilson_interval(study):
    lo, hi = study.wilson(2, 100)
    assert abs(lo - 0.0055) < 1e-4 and abs(hi - 0.0700) < 1e-4


def test_sampler_health_smoke(run_main, tmp_path, study):
    """One chinchilla ladder per design at 48 runs in both coordinates, and the equivalence check, on a small
    budget (the sampler programs of the other 2 x (300 + 300) tests at 64 padded runs, the equivalence check too)."""
    code = run_main("sampler_health", "--laws", "chinchilla", "--sizes", "48", "--ladders", "1", *SMALL,
                    "--equivalence-samples", "300", "--equivalence-warmup", "300", "--equivalence-target-accept", "0.8",
                    "--out", tmp_path)
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    designs = study.designs(bayeslaw.get_law("chinchilla"))  # isoflop too where ../shared/data has it
    assert set(summary) == {f"chinchilla/{d}/48/{c}" for d in designs for c in ("params", "law")}
    for e in summary.values():
        assert e["ladders"] == 1 and 0 <= e["share_with_warning"] <= 1 and e["median_wall_s"] > 0
        assert e["ci95"][0] <= e["share_with_warning"] <= e["ci95"][1]
    eq = json.loads((tmp_path / "equivalence.json").read_text())
    assert [r["law"] for r in eq] == ["chinchilla"] and set(eq[0]["fits"]) == {"params", "law"}
    assert np.isfinite(eq[0]["max_abs_z"])
    assert "| chinchilla | grid | 48 | law | 1 |" in (tmp_path / "summary.md").read_text()
    assert {p.name for p in tmp_path.iterdir()} == {"ladders_law.csv", "ladders_params.csv", "summary.json",
                                                    "summary.md", "equivalence.json"}


def test_sampler_health_committed_results_meet_expected(study):
    """The committed rows give summary.json; in the laws' coordinates every cell meets the bar (at most 5% of
    ladders with a sampler warning) and matches expected.json's reference; the equivalence check holds."""
    results = CASES / "sampler_health" / "results"
    summary = study.collect(results)
    assert json.loads((results / "summary.json").read_text()) == json.loads(json.dumps(summary))
    exp = expected("sampler_health")
    for key, ref in exp["reference"].items():
        got = summary[key]
        assert got["ladders"] == ref["ladders"] and got["with_warning"] == ref["with_warning"], key
        if key.endswith("/law"):
            assert got["share_with_warning"] <= exp["acceptance"]["max_share_with_warning"], key
    eq = json.loads((results / "equivalence.json").read_text())
    assert [r["law"] for r in eq] == list(LAWS)
    for r in eq:
        assert r["max_abs_z"] <= exp["acceptance"]["equivalence_max_abs_z"], r["law"]
        assert not r["fits"]["law"]["warnings"] and not r["fits"]["params"]["warnings"], r["law"]


def test_the_laplace_start_does_not_stop_at_a_saddle_point():
    """f = (x^2 - 1)^2 + 2 y^2 has a saddle at (0, 0) and minima at (+-1, 0). From (0.01, 0.5) damped Newton on the
    Hessian (negative along x there) steps towards the saddle and converges to it (H not positive definite: no
    start); with the Hessian's eigenvalues taken by absolute value the search leaves it and finds the mode (1, 0),
    whose inverse Hessian, diag(1/8, 1/4), is the covariance returned."""
    from bayeslaw.inference.start import laplace_start

    with jax.enable_x64(True):
        f = lambda z: (z["x"] ** 2 - 1.0) ** 2 + 2.0 * z["y"] ** 2  # noqa: E731
        z0 = {"x": jnp.asarray(0.01), "y": jnp.asarray(0.5)}
        start, cov, ok = laplace_start(f, z0, jax.random.PRNGKey(0))
    assert bool(ok)
    np.testing.assert_allclose(np.asarray(cov), np.diag([1 / 8, 1 / 4]), rtol=1e-6, atol=1e-12)
    assert abs(float(start["x"]) - 1.0) < 5 * np.sqrt(1 / 8) and abs(float(start["y"])) < 5 * np.sqrt(1 / 4)
