"""The orthogonal curvature term (``<law>_orthogonal``, :func:`bayeslaw.core.curvature.orthogonal`): a quadratic
discrepancy with the law's own share over the fitted runs projected out, fitted in two stages."""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayeslaw
from bayeslaw.core.curvature import curvature_names


THETA = {"E": 1.8, "a": 0.1, "alpha": 0.35, "b": 0.2, "beta": 0.3}


def _x(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return {"N": jnp.asarray(rng.uniform(-2, 2, n)), "D": jnp.asarray(rng.uniform(-1.5, 2.5, n))}


def test_discrepancy_is_orthogonal_to_the_law_over_the_runs():
    base, law = bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_orthogonal")
    assert law is bayeslaw.get_law("chinchilla_orthogonal") and law.derived.base is base
    assert law.discrepancy == tuple(n for n, _ in curvature_names(base))
    x = _x()
    with jax.enable_x64(True):
        w = jnp.asarray(np.random.default_rng(1).uniform(0.2, 1.0, 40))
        consts = law.derived.fn(THETA, x, w)
        assert set(consts) == set(law.derived.names)
        c = {"curv_N": 0.01, "curv_D": -0.02, "curv_N_D": 0.005}
        term = law.log_mean(x, **THETA, **c, **consts) - base.log_mean(x, **THETA)
        vec = jnp.asarray([THETA[k] for k in base.params])
        jac = jax.jacfwd(lambda v: base.log_mean(x, **dict(zip(base.params, v))))(vec)
        # nothing of the term lies along the law's own parameters over the runs (in the likelihood's weights) ...
        np.testing.assert_allclose(jac.T @ (w * term), 0.0, atol=1e-10)
        assert float(jnp.max(jnp.abs(term))) > 1e-3
        # ... and without the discrepancy the mean is the law's
        alone = law.without_discrepancy({**THETA, **c, **consts})
        np.testing.assert_allclose(law.log_mean(x, **alone), base.log_mean(x, **THETA), rtol=1e-13)
        # beyond the runs the term keeps bending
        far = {"N": jnp.asarray([6.0]), "D": jnp.asarray([6.0])}
        assert abs(float(law.log_mean(far, **THETA, **c, **consts)[0] - base.log_mean(far, **THETA)[0])) > 0.01


@pytest.mark.parametrize("extrapolate", ["linear", "hold"])
def test_a_bounded_continuation_is_the_same_law_inside_the_runs_and_bounded_beyond(extrapolate):
    from bayeslaw.core.curvature import orthogonal
    base, quad = bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_orthogonal")
    law = orthogonal(base, extrapolate=extrapolate)
    assert {"hold": "held", "linear": "tangent"}[extrapolate] in law.formula and law.hash != quad.hash
    assert set(law.derived.names) == set(quad.derived.names) | {"lo_N", "hi_N", "lo_D", "hi_D"}
    x = _x()
    with jax.enable_x64(True):
        w = jnp.ones(40)
        consts = law.derived.fn(THETA, x, w)
        assert float(consts["lo_N"]) == float(jnp.min(x["N"])) and float(consts["hi_D"]) == float(jnp.max(x["D"]))
        c = {"curv_N": 0.01, "curv_D": -0.02, "curv_N_D": 0.005}
        p = {**THETA, **c, **consts}
        qp = {k: v for k, v in p.items() if k in quad.params or k in quad.derived.names}
        # inside the box of the runs: the quadratic's law, to rounding
        np.testing.assert_allclose(law.log_mean(x, **p), quad.log_mean(x, **qp), rtol=0, atol=1e-12)

        def term(n, d):
            xx = {"N": jnp.asarray([n]), "D": jnp.asarray([d])}
            return float(law.log_mean(xx, **p)[0] - base.log_mean(xx, **THETA)[0])

        hi_n, hi_d = float(consts["hi_N"]), float(consts["hi_D"])
        edge, steps = term(hi_n, hi_d), [term(hi_n + s, hi_d + s) for s in (1.0, 2.0, 4.0)]
        if extrapolate == "hold":   # beyond the box the term keeps its value at the edge
            np.testing.assert_allclose(steps, edge, atol=1e-12)
        else:                       # ... or goes on along its tangent: equal steps, equal changes
            np.testing.assert_allclose(steps[1] - steps[0], steps[0] - edge, rtol=1e-9)
            np.testing.assert_allclose(steps[2] - steps[1], 2 * (steps[0] - edge), rtol=1e-9)
        quad_far = float(quad.log_mean({"N": jnp.asarray([hi_n + 4]), "D": jnp.asarray([hi_d + 4])}, **qp)[0]
                         - base.log_mean({"N": jnp.asarray([hi_n + 4]), "D": jnp.asarray([hi_d + 4])}, **THETA)[0])
        assert abs(steps[2] - edge) < abs(quad_far - edge)
    with pytest.raises(ValueError, match="extrapolate"):
        orthogonal(base, extrapolate="cubic")


def test_the_blend_runs_from_the_tangent_to_the_quadratic_beyond_the_runs_and_carries_its_prior_over():
    from bayeslaw.core.curvature import orthogonal
    base, quad = bayeslaw.get_law("chinchilla"), bayeslaw.get_law("chinchilla_orthogonal")
    blend, tangent = orthogonal(base, extrapolate="blend"), orthogonal(base, extrapolate="linear")
    assert "continuation" in blend.params and blend.params["continuation"].prior.dist == "Uniform"
    assert "continuation" not in blend.discrepancy and blend.coordinates.size == quad.coordinates.size + 1
    x = _x()
    with jax.enable_x64(True):
        consts = blend.derived.fn(THETA, x, jnp.ones(40))
        c = {"curv_N": 0.01, "curv_D": -0.02, "curv_N_D": 0.005}
        qp = {k: v for k, v in {**THETA, **c, **consts}.items() if k in quad.params or k in quad.derived.names}
        for w in (0.0, 0.3, 1.0):
            p = {**THETA, **c, **consts, "continuation": w}
            np.testing.assert_allclose(blend.log_mean(x, **p), quad.log_mean(x, **qp), rtol=0, atol=1e-12)  # inside
            far = {"N": jnp.asarray([float(consts["hi_N"]) + 3]), "D": jnp.asarray([float(consts["hi_D"]) + 3])}
            t = float(tangent.log_mean(far, **{k: v for k, v in p.items() if k != "continuation"})[0])
            q = float(quad.log_mean(far, **qp)[0])
            assert float(blend.log_mean(far, **p)[0]) == pytest.approx(t + w * (q - t), abs=1e-12)
        # the coordinates: the sigmoid of the last number, and the closed-form log-Jacobian is autodiff's
        z = jnp.asarray(np.random.default_rng(3).normal(size=blend.coordinates.size))
        params = blend.coordinates.to_params(z, x)
        assert float(params["continuation"]) == pytest.approx(float(jax.nn.sigmoid(z[-1])))
        names = tuple(blend.params)
        jac = jax.jacfwd(lambda v: jnp.stack([blend.coordinates.to_params(v, x)[n] for n in names]))(z)
        np.testing.assert_allclose(blend.coordinates.log_det(z, x), jnp.linalg.slogdet(jac)[1], rtol=1e-10)


@pytest.fixture(scope="module")
def orthogonal_fit():
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    return bayeslaw.fit(runs.subset(runs.frame.index[::3]), "chinchilla", curvature="orthogonal", num_chains=2,
                        num_warmup=300, num_samples=300, seed=2, check=False)


def test_two_stage_fit_keeps_the_projection_with_each_draw(orthogonal_fit, tmp_path):
    f = orthogonal_fit
    law = f.law
    assert law.name == "chinchilla_orthogonal" and "curvature='orthogonal'" in f.spec.law_reason
    post = f.idata["posterior"]
    # the fixed numbers are the plain law's posterior medians on the same runs and the projection there
    plain = bayeslaw.fit(f.runs(), "chinchilla", curvature=False, num_chains=2, num_warmup=300, num_samples=300, seed=2,
                         check=False)
    for k in bayeslaw.get_law("chinchilla").params:
        values = post[f"at_{k}"].values
        assert np.ptp(values) == 0.0
        assert values.flat[0] == pytest.approx(float(np.median(plain.draws(k))), rel=1e-12)
    assert {"curv_N", "curv_D", "curv_N_D"} <= set(f.summary().index)
    assert not any(n.startswith(("at_", "proj_")) for n in f.summary().index)
    f.save(tmp_path / "fit")
    g = bayeslaw.load(tmp_path / "fit")
    assert g.law is law
    a, b = bayeslaw.predict(f, N=1e12, D=2e13).table, bayeslaw.predict(g, N=1e12, D=2e13).table
    np.testing.assert_allclose(a["new_run_median"], b["new_run_median"], rtol=1e-12)


def test_optima_are_the_laws_alone_and_their_losses_the_full_means(orthogonal_fit):
    from bayeslaw.cli.optimum import _turn_back_note
    from bayeslaw.posterior.decide import _law_params
    from bayeslaw.posterior.predict import posterior_params

    f = orthogonal_fit
    alone, full = _law_params(f)
    assert all(np.all(alone[n] == 0.0) for n in f.law.discrepancy)
    assert all(np.any(full[n] != 0.0) for n in f.law.discrepancy)
    opt = bayeslaw.optimal_allocation(f, [1e21, 1e24])
    assert np.isfinite(opt.table["N_opt_median"]).all()
    # N* minimises the law alone along the iso-FLOP line ...
    N, D = opt.draws("N_opt"), opt.draws("D_opt")
    post = {k: v[:, None] for k, v in posterior_params(f).items() if k in f.law.mean_params}
    with jax.enable_x64(True):
        def log_mean(params, n, d):
            return np.asarray(f.law.log_mean({"N": jnp.log(n) - f.log_ref["N"], "D": jnp.log(d) - f.log_ref["D"]},
                                             **params))
        for step in (0.9, 1.1):
            assert np.all(log_mean(alone, N, D) <= log_mean(alone, N * step, D / step) + 1e-12)
        # ... and the loss reported there is the full mean's, as a prediction at (N*, D*) gives it
        np.testing.assert_allclose(opt.draws("loss_opt"), np.exp(log_mean(post, N, D)), rtol=1e-10)
    assert not np.allclose(opt.draws("loss_opt"), np.exp(log_mean(alone, N, D)))
    pred = bayeslaw.predict(f, N=float(np.median(N[:, 1])), D=float(np.median(D[:, 1]))).table
    assert pred["mean_median"].iloc[0] == pytest.approx(opt.table["loss_opt_median"].iloc[1], rel=2e-3)
    # compute for a loss walks the same path: a draw whose loss at a budget is at or below the median loss reaches
    # that loss by that budget (the same event, draw by draw, wherever its loss falls with compute), so the
    # budget lies between the 40% and 60% quantiles of the compute needed. (Comparing the median itself with
    # the budget tests how far apart the two middle draws are: 1% here, 3% on another CPU.)
    target = opt.table["loss_opt_median"].to_numpy()
    C = bayeslaw.compute_for_loss(f, target).draws("C")
    for j, budget in enumerate([1e21, 1e24]):
        assert np.mean((C[:, j] <= budget) == (opt.draws("loss_opt")[:, j] <= target[j])) >= 0.97
        lower, upper = np.quantile(C[:, j], [0.4, 0.6], method="lower")  # draws never reaching it are inf
        assert lower < budget < upper
    # far beyond the runs the term's quadratic turns the loss along the optimum back up for most draws, so a
    # loss the law alone reaches is out of reach for many draws with the term: the table and the CLI say so
    path = bayeslaw.optimal_allocation(f, np.logspace(21, 28, 15)).draws("loss_opt")
    turned = np.mean((np.diff(path, axis=1) > 0).any(axis=1))
    assert turned > 0.5
    table = bayeslaw.compute_for_loss(f, target).table
    assert (table["reachable_law_alone"] >= table["reachable"]).all()
    assert table["reachable_law_alone"].iloc[1] - table["reachable"].iloc[1] > 0.2
    note = _turn_back_note(table)
    assert note.startswith("note: loss target 1: ") and "law alone" in note and "back up" in note
    # the other way round: the term carries the loss below where the law alone levels off
    below = pd.DataFrame({"loss": [1.8], "reachable": [0.888], "reachable_law_alone": [0.061]})
    assert "below where the law alone levels off" in _turn_back_note(below)
    assert _turn_back_note(bayeslaw.compute_for_loss(bayeslaw.fit(f.runs(), "chinchilla", curvature=False, num_chains=2,
                                                                  num_warmup=300, num_samples=300, seed=2, check=False),
                                                     target).table) is None


def test_refused_with_a_process_likelihood():
    from bayeslaw.inference.plan import plan_fit

    runs = bayeslaw.load_runs(bayeslaw.example_data_path()).frame.assign(family=lambda d: np.arange(len(d)) % 3)
    with pytest.raises(bayeslaw.LawError, match="fitted in two stages, which only independent noise supports"):
        plan_fit(runs, "chinchilla", curvature="orthogonal", likelihood="compute_misfit")


def test_plan_draws_more_for_the_orthogonal_term_unless_told():
    from bayeslaw.inference.plan import ORTHOGONAL_SAMPLES, plan_fit

    path = bayeslaw.example_data_path()
    assert plan_fit(path, "chinchilla", curvature=False).sampler.num_samples == 1000
    on = plan_fit(path, "chinchilla", curvature="orthogonal")
    assert on.law is bayeslaw.get_law("chinchilla_orthogonal") and on.sampler.num_samples == ORTHOGONAL_SAMPLES == 2000
    assert on.sampler.num_warmup == 1000
    assert plan_fit(path, "chinchilla_orthogonal", num_samples=300).sampler.num_samples == 300


@pytest.mark.parametrize("budget, first", [({}, (1000, 1000)), (dict(num_warmup=300, num_samples=300), (300, 300)),
                                           (dict(num_warmup=3000, num_samples=4000), (1000, 1000))])
def test_first_stage_draws_at_most_the_plain_laws_defaults(budget, first, monkeypatch):
    """Only the base law's medians are used: its fit is the plain law's default program (4 x (1000 + 1000)), or the
    caller's smaller budget; nothing else of the sampler changes."""
    import bayeslaw.inference.fit as fit_module
    from bayeslaw.inference.plan import plan_fit

    plan = plan_fit(bayeslaw.example_data_path(), "chinchilla", curvature="orthogonal", seed=7, **budget)
    seen = []

    class Stop(Exception):
        pass

    def first_stage(p, **kw):
        seen.append(p)
        raise Stop

    monkeypatch.setattr(fit_module, "run_plan", first_stage)
    with pytest.raises(Stop):
        fit_module.prepare(plan)
    (stage,) = seen
    assert stage.law is bayeslaw.get_law("chinchilla")
    assert (stage.sampler.num_warmup, stage.sampler.num_samples) == first
    assert stage.sampler.num_chains == plan.sampler.num_chains and stage.sampler.seed == 7


def test_log_likelihood_on_demand_uses_the_draws_numbers_and_refit_batch_refuses(orthogonal_fit, monkeypatch):
    import bayeslaw.inference.fit as fit_module
    import bayeslaw.inference.refit as refit_module

    stored = np.asarray(orthogonal_fit.idata["log_likelihood"]["log_loss"].values)
    monkeypatch.setattr(fit_module, "run_plan", lambda *a, **k: pytest.fail("a first stage was fitted again"))
    np.testing.assert_allclose(refit_module.log_likelihood(orthogonal_fit), stored, rtol=1e-9)
    with pytest.raises(bayeslaw.BayeslawError, match="fitted in two stages"):
        refit_module.refit_batch(orthogonal_fit, np.log(orthogonal_fit.runs().loss)[None, :])


@pytest.mark.default_curvature
def test_the_default_gives_ladders_the_orthogonal_term_when_they_have_five_runs_per_parameter():
    """curvature='auto' (the default): a ladder of independent runs with >= 5 runs per parameter of
    <law>_orthogonal gets it, and says why; smaller ladders, learning curves and correlated noise get the plain
    law, with a sentence that says why; an explicit choice wins."""
    from bayeslaw.inference.defaults import RUNS_PER_PARAMETER
    from bayeslaw.inference.plan import plan_fit

    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    big = plan_fit(runs, "chinchilla")                    # 245 runs, 8 parameters with the term
    assert big.law is bayeslaw.get_law("chinchilla_orthogonal") and big.sampler.num_samples == 2000
    assert "default for a ladder of 245 runs" in big.law_reason and "curvature=False" in big.law_reason
    need = RUNS_PER_PARAMETER * 8
    small = plan_fit(runs.subset(runs.frame.index[: need - 1]), "chinchilla")
    assert small.law is bayeslaw.get_law("chinchilla") and small.sampler.num_samples == 1000
    assert f"needs {need} runs" in small.law_reason and f"there are {need - 1}" in small.law_reason
    assert plan_fit(runs.subset(runs.frame.index[:need]), "chinchilla").law.name == "chinchilla_orthogonal"
    one = plan_fit(runs, "power_law", x="N")               # 4 parameters with the term: 20 runs
    assert one.law.name == "power_law_orthogonal"
    assert plan_fit(runs.subset(runs.frame.index[:19]), "power_law", x="N").law.name == "power_law"
    curves = runs.frame.assign(run=np.arange(len(runs.frame)) // 5)
    lc = plan_fit(curves, "power_law", x="N", run="run")
    assert lc.law.name == "power_law" and "ladders of separate runs" in lc.law_reason
    lc_t = plan_fit(curves, "power_law", x="N", run="run", likelihood="student_t")
    assert lc_t.law.name == "power_law" and "up to 5 rows each" in lc_t.law_reason
    ar = plan_fit(runs, "chinchilla", likelihood="compute_misfit")
    assert ar.law.name == "chinchilla" and "needs independent noise" in ar.law_reason
    assert plan_fit(runs, "chinchilla", curvature=False).law.name == "chinchilla"
    assert plan_fit(runs, "chinchilla", likelihood="normal").law.name == "chinchilla_orthogonal"
