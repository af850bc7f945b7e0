"""Fitting a fitted model again: the same law (as fitted), observation model, priors and sampler settings.

:func:`refit` fits it to other runs (the refits of LOO, LFO, LOGO and backtests), with the priors' reference
scales fixed at the fit's values (:func:`fixed_priors`); :func:`refit_batch` fits many vectors of loss at the fit's
inputs in one vectorised program (recalibration, calibration studies); :func:`log_likelihood` recomputes the
pointwise log likelihood from the posterior and the stored runs, and :func:`ensure_log_likelihood` adds it to a fit
that was too large to keep it (:mod:`bayeslaw.inference.pointwise`).
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from ..core.observation import get_observation_model
from ..core.priors import Prior
from ..core.runs import Runs
from ..errors import BayeslawError
from .fit import fit as fit_one
from .fit import prepare
from .model import (COORDINATES_SITE, independent_log_density_fn, log_likelihood_fn, make_model, pad, padded_size,
                    prior_arguments, prior_families, prior_refs)
from .plan import one_input, plan_fit
from .result import Fit
from .sampler import run_nuts_batch


def fixed_priors(fit: Fit) -> dict[str, Prior]:
    """The fit's priors with reference-scale symbols (y0, log_y0) replaced by the fit's values.

    A refit on a subset of the runs then uses exactly the same prior densities as the
    original fit, not ones re-derived from the subset's geometric-mean loss.
    """
    refs = fit.spec.prior_symbols
    out = {}
    for k, d in fit.spec.priors.items():
        p = Prior.from_dict(d)
        out[k] = Prior(p.dist, **p.resolved_params(refs))
    return out


def refit(fit: Fit, runs: Runs, *, seed: int | None = None, check: bool = False,
          priors: Mapping[str, Any] | None = None) -> Fit:
    """Fit the same law (as fitted: ``curvature=False``), likelihood, priors and sampler settings to other runs.

    ``priors`` replaces the fit's priors with reference scales fixed at its values (:func:`fixed_priors`).
    """
    s = fit.spec.sampler
    x = fit.spec.design["x"] if one_input(fit.law) else None
    priors = fixed_priors(fit) if priors is None else priors
    return fit_one(runs, fit.law, x=x, priors=priors, likelihood=fit.spec.likelihood, run=fit.spec.data.run,
                   curvature=False, num_warmup=s.num_warmup, num_samples=s.num_samples, num_chains=s.num_chains,
                   chain_method=s.chain_method, target_accept_prob=s.target_accept_prob, dense_mass=s.dense_mass,
                   seed=s.seed if seed is None else seed, progress_bar=False, check=check)


def refit_batch(fit, log_y: np.ndarray, *, num_warmup: int = 500, num_samples: int = 500, num_chains: int = 2,
                seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Refit ``fit``'s law, likelihood and priors to B new vectors of log loss at its runs' inputs.

    ``log_y`` is (B, runs). All B fits run in one compiled, vectorised NUTS program (the
    simulated data sets of a recalibration or a calibration study); each data set's priors are
    resolved from its own loss scale, as :func:`fit` would. Returns (samples, extra fields)
    shaped (B, chains, draws, ...), in the law's sampled parameterisation.
    """
    law = fit.law
    if law.derived is not None:
        raise BayeslawError(f"refit_batch samples one program for all data sets, and law {law.name!r} is fitted in two "
                            "stages (its base law first); refit it one data set at a time with bayeslaw.refit.")
    obs = get_observation_model(fit.spec.likelihood)
    resolved = {k: Prior.from_dict(d) for k, d in fit.spec.priors.items()}
    log_y = np.atleast_2d(np.asarray(log_y, dtype=float))
    batch, n = log_y.shape
    const = fit.idata["constant_data"]
    log_ref = fit.log_ref
    xs = {v: np.log(np.asarray(const[col].values, float)) - log_ref[v]
          for v, col in fit.spec.design.items()}
    if next(iter(xs.values())).shape[0] != n:
        raise BayeslawError(f"log_y has {n} columns but the fit has {next(iter(xs.values())).shape[0]} runs.")
    families = prior_families(resolved)
    size = padded_size(n)
    with jax.enable_x64(True):
        per_set = [prior_arguments(resolved, prior_refs({"loss": float(np.mean(row))})) for row in log_y]
        prior_args = jax.tree.map(lambda *v: jnp.stack(v), *per_set)
        args = (prior_args,
                {v: jnp.asarray(np.broadcast_to(pad(a, size), (batch, size))) for v, a in xs.items()},
                jnp.asarray(np.stack([pad(row, size) for row in log_y])),
                jnp.asarray(np.broadcast_to(np.arange(size) < n, (batch, size))))
        support_key = tuple((k, repr(p)) for k, p in resolved.items())
        samples, extra = run_nuts_batch(make_model(law, obs, families), args,
                                        cache_key=(law.name, law.hash, obs.name, support_key),
                                        num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                                        dense_mass=fit.spec.sampler.dense_mass,
                                        target_accept_prob=fit.spec.sampler.target_accept_prob, seed=seed,
                                        chunk=min(16, batch))
    samples.pop(COORDINATES_SITE, None)
    return samples, extra


def log_likelihood(fit: Fit) -> np.ndarray:
    """The fit's pointwise log likelihood (chains, draws, rows), computed from its posterior and runs.

    The rows' inputs, centring and (for learning-curve and correlated models) the context of each
    row are rebuilt by :func:`prepare` from the fit's runs and its priors fixed
    at their fitted values, as for a refit.
    """
    obs = get_observation_model(fit.spec.likelihood)
    s = fit.spec.sampler
    x = fit.spec.design["x"] if one_input(fit.law) else None
    plan = plan_fit(fit.runs(), fit.law, x=x, priors=fixed_priors(fit), likelihood=fit.spec.likelihood,
                    run=fit.spec.data.run, curvature=False, num_warmup=s.num_warmup, num_samples=s.num_samples,
                    num_chains=s.num_chains, seed=s.seed)
    post = fit.idata["posterior"]
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    names = [*fit.law.mean_params, *obs.params]
    with jax.enable_x64(True):
        prep = prepare(plan, first_stage=False)   # the draws carry a law's derived numbers
        samples = {k: np.asarray(post[k].values, float).reshape(chains * draws) for k in names}
        if obs.process is not None:
            fn = log_likelihood_fn(fit.law, obs, prior_families(plan.priors))
            out = fn(samples, prep.prior_args, prep.xs, prep.log_y, prep.ctx_exact)
        else:
            out = independent_log_density_fn(fit.law, obs)(samples, prep.xs, prep.log_y)
        return np.asarray(out).reshape(chains, draws, -1)


def ensure_log_likelihood(fit: Fit) -> Fit:
    """The fit, with its ``log_likelihood`` group computed (:func:`log_likelihood`) and added if it had none (a fit
    too large to keep it: :mod:`bayeslaw.inference.pointwise`)."""
    if "log_likelihood" in fit.idata.children:
        return fit
    values = log_likelihood(fit)
    post = fit.idata["posterior"]
    data = xr.Dataset({"log_loss": (("chain", "draw", "run"), values)},
                      coords={"chain": post["chain"].values, "draw": post["draw"].values,
                              "run": fit.idata["observed_data"]["run"].values})
    fit.idata["log_likelihood"] = xr.DataTree(data)
    return fit
