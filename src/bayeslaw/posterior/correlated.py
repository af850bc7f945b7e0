"""Predictions and held-out scores of correlated-ladder fits (the ``compute_misfit`` observation model).

A correlated ladder says the law's misfit is shared by runs of similar compute
(:mod:`bayeslaw.core.misfit`). So a new run at a target is the law, plus the misfit there
given every fitted run's residual (for each posterior draw: the Gaussian-process conditional,
which beyond the largest run relaxes from the misfit there to its stationary spread), plus
the run's own noise. Held-out runs (backtests, leave-future-out, exact LOO refits) are scored
with the same conditional.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..core import misfit
from ..core.observation import get_observation_model
from ..inference.plan import axis_inputs
from ..inference.result import Fit


def axis_values(fit: Fit, values: Mapping[str, Any]) -> np.ndarray:
    """The centred log compute axis (the model's ``t``) of raw input columns (run-table names)."""
    design = fit.spec.design
    return np.sum([np.log(np.asarray(values[design[v]], float)) - fit.log_ref[v]
                   for v in axis_inputs(fit.spec.data.axis)], axis=0)


def _params(fit: Fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = get_observation_model(fit.spec.likelihood)
    p = obs.process_args({n: fit.draws(n) for n in obs.params})
    return p["sigma"], p["drift"], p["drift_length"]


def conditional(fit: Fit, t_new: np.ndarray, mu_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and variance of the misfit at ``t_new`` given the fitted runs, and the noise sd: (draws x targets)
    twice, then (draws, 1). ``mu_fit`` is the law's log mean at the fitted rows (draws x rows)."""
    const = fit.idata["constant_data"]
    t_fit = axis_values(fit, {c: const[c].values for c in fit.spec.design.values()})
    log_y = np.asarray(fit.idata["observed_data"]["log_loss"].values, float)
    sigma, drift, length = _params(fit)
    mean, var = misfit.over_draws(lambda r, s, d, ell, t, tn: misfit.conditional(r, t, tn, s, d, ell),
                                  (log_y[None, :] - mu_fit, sigma, drift, length), (t_fit, np.asarray(t_new, float)))
    return mean, var, sigma[:, None]


def noise_draws(fit: Fit, frame, mu_fit: np.ndarray, seed: int) -> np.ndarray:
    """A new run's log loss minus the law at each row of ``frame``: one draw per posterior draw (rows)."""
    mean, var, sigma = conditional(fit, axis_values(fit, frame), mu_fit)
    z = np.random.default_rng(seed).standard_normal(mean.shape)
    return mean + np.sqrt(var + sigma ** 2) * z


def log_density(fit: Fit, frame, log_y: np.ndarray, mu_new: np.ndarray, mu_fit: np.ndarray) -> np.ndarray:
    """Log predictive density of held-out runs (draws x rows), each given every fitted run."""
    mean, var, sigma = conditional(fit, axis_values(fit, frame), mu_fit)
    var = var + sigma ** 2
    resid = log_y[None, :] - mu_new - mean
    return -0.5 * (np.log(2 * np.pi * var) + resid ** 2 / var)
