"""Per-row draws (draws x rows arrays): when a fit keeps them, and the log likelihood recomputed on demand.

A fit's ``log_likelihood`` and ``posterior_predictive`` groups hold one number per draw and row. At
4,000 draws and 30,000 rows each is 0.96 GB of float64 (a saved ``fit.nc`` was 962 MB, 99.8% of it
the log likelihood; peak RSS 10 GB), so a fit keeps them only up to :data:`POINTWISE_MAX` numbers
(:func:`keeps_pointwise`): every ladder and most learning curves. Above that, the fit's DataTree and
its ``fit.nc`` have neither group, and :func:`ensure_log_likelihood` (called by LOO, comparisons and
cross-validation) computes the log likelihood from the posterior and the stored runs when it is asked
for, the same values as the fit would have stored.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
import xarray as xr

from ..core.law import Law
from ..core.observation import ObservationModel, get_observation_model

#: Most numbers (draws x rows) of one per-row group a fit keeps: 2**25, 256 MiB of float64.
POINTWISE_MAX = 2 ** 25

_FNS: dict[tuple, Any] = {}


def keeps_pointwise(draws: int, rows: int) -> bool:
    """True when a fit of ``rows`` rows and ``draws`` draws (all chains) keeps its per-row groups."""
    return int(draws) * int(rows) <= POINTWISE_MAX


def _independent_fn(law: Law, observation: ObservationModel):
    """Jitted log density of each row under each draw for rows scored independently (Student-t, normal, ...)."""
    key = (law.name, law.hash, observation.name)
    if key not in _FNS:
        def one(draw, xs, log_y):
            mu = law.log_mean(xs, **{k: draw[k] for k in law.params})
            return observation.distribution(mu, **{k: draw[k] for k in observation.params}).log_prob(log_y)

        _FNS[key] = jax.jit(lambda samples, xs, log_y: jax.lax.map(lambda d: one(d, xs, log_y), samples,
                                                                     batch_size=64))
    return _FNS[key]


def log_likelihood(fit) -> np.ndarray:
    """The fit's pointwise log likelihood (chains, draws, rows), computed from its posterior and runs.

    The rows' inputs, centring and (for learning-curve and correlated models) the context of each
    row are rebuilt by :func:`bayeslaw.inference.fit.prepare` from the fit's runs and its priors fixed
    at their fitted values, as for a refit.
    """
    from .fit import fixed_priors, prepare   # same layer; fit.py imports this module
    from .model import log_likelihood_fn, prior_families
    from .plan import one_input, plan_fit

    obs = get_observation_model(fit.spec.likelihood)
    s = fit.spec.sampler
    x = fit.spec.design["x"] if one_input(fit.law) else None
    plan = plan_fit(fit.runs(), fit.law, x=x, priors=fixed_priors(fit), likelihood=fit.spec.likelihood,
                    run=fit.spec.data.run, num_warmup=s.num_warmup, num_samples=s.num_samples,
                    num_chains=s.num_chains, seed=s.seed)
    post = fit.idata["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    names = [*fit.law.params, *obs.params]
    with jax.enable_x64(True):
        prep = prepare(plan)
        samples = {k: np.asarray(post[k].values, float).reshape(chains * draws) for k in names}
        if obs.process is not None:
            fn = log_likelihood_fn(fit.law, obs, prior_families(plan.priors))
            out = fn(samples, prep.prior_args, prep.xs, prep.log_y, prep.ctx_exact)
        else:
            out = _independent_fn(fit.law, obs)(samples, prep.xs, prep.log_y)
        return np.asarray(out).reshape(chains, draws, -1)


def ensure_log_likelihood(fit):
    """The fit, with its ``log_likelihood`` group computed (:func:`log_likelihood`) and added if it had none."""
    if "log_likelihood" in fit.idata.children:
        return fit
    values = log_likelihood(fit)
    post = fit.idata["posterior"]
    data = xr.Dataset({"log_loss": (("chain", "draw", "run"), values)},
                      coords={"chain": post["chain"].values, "draw": post["draw"].values,
                              "run": fit.idata["observed_data"]["run"].values})
    fit.idata["log_likelihood"] = xr.DataTree(data)
    return fit
