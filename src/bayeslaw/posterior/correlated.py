"""Predictions and held-out scores of correlated fits (``compute_misfit``, ``grouped``).

A correlated ladder says the law's misfit is shared by runs of similar compute, or by the rows
of one group (:mod:`bayeslaw.core.misfit`). So a new run at a target is the law, plus the misfit
there given every fitted row's residual (for each posterior draw: the Gaussian-process
conditional, which beyond the largest run relaxes from the misfit there to its stationary
spread; for a group the fit has seen, its offset given its rows; for a new group, the offsets'
spread), plus the run's own noise. Held-out rows (backtests, leave-future-out, exact LOO
refits) are scored with the same conditional, each in its own group.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..core import misfit
from ..core.observation import get_observation_model
from ..inference.plan import axis_inputs
from ..inference.result import Fit
from .sequential import run_column


def axis_values(fit: Fit, values: Mapping[str, Any]) -> np.ndarray:
    """The centred log compute axis (the model's ``t``; 0 for groups) of raw input columns (run-table names)."""
    design = fit.spec.design
    n = len(np.asarray(values[next(iter(design.values()))]))
    return np.sum([np.log(np.asarray(values[design[v]], float)) - fit.log_ref[v]
                   for v in axis_inputs(fit.spec.data.axis)], axis=0) + np.zeros(n)


def group_codes(fit: Fit, groups_new: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer group codes of the fitted rows and of targets (``groups_new``: each target's group, or None
    for a new one; -1 for a group the fit has not seen). A ``compute_misfit`` fit is one group."""
    fitted = run_column(fit)
    n_new = 0 if groups_new is None else len(groups_new)
    if not get_observation_model(fit.spec.likelihood).grouped:
        return np.zeros(len(fitted), int), np.zeros(n_new, int)
    names, codes = np.unique(fitted, return_inverse=True)
    lookup = {str(n): i for i, n in enumerate(names)}
    groups = [] if groups_new is None else list(groups_new)
    return codes.ravel(), np.array([-1 if g is None else lookup.get(str(g), -1) for g in groups], int)


def held_out_groups(fit: Fit, frame) -> np.ndarray | None:
    """The groups of held-out rows (their run column), or None (new groups) when the frame has none."""
    col = fit.spec.data.run
    return frame[col].to_numpy() if col is not None and col in getattr(frame, "columns", ()) else None


def _params(fit: Fit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = get_observation_model(fit.spec.likelihood)
    p = obs.process_args({n: fit.draws(n) for n in obs.params})
    sigma = np.asarray(p["sigma"], float)
    return sigma, np.broadcast_to(p["drift"], sigma.shape), np.broadcast_to(p["drift_length"], sigma.shape)


def conditional(fit: Fit, t_new: np.ndarray, mu_fit: np.ndarray, groups_new: Any = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and variance of the misfit at ``t_new`` (in groups ``groups_new``) given the fitted rows, and the
    noise sd: (draws x targets) twice, then (draws, 1). ``mu_fit``: the law at the fitted rows (draws x rows)."""
    const = fit.idata["constant_data"]
    t_fit = axis_values(fit, {c: const[c].values for c in fit.spec.design.values()})
    log_y = np.asarray(fit.idata["observed_data"]["log_loss"].values, float)
    sigma, drift, length = _params(fit)
    t_new = np.asarray(t_new, float)
    g_fit, g_new = group_codes(fit, groups_new if groups_new is not None else np.full(len(t_new), None, object))
    mean, var = misfit.over_draws(lambda r, s, d, ell, t, tn, g, gn: misfit.conditional(r, t, tn, s, d, ell, g, gn),
                                  (log_y[None, :] - mu_fit, sigma, drift, length), (t_fit, t_new, g_fit, g_new))
    return mean, var, sigma[:, None]


def noise_draws(fit: Fit, frame, mu_fit: np.ndarray, seed: int, groups_new: Any = None) -> np.ndarray:
    """A new run's log loss minus the law at each row of ``frame`` (in groups ``groups_new``; None: a new
    group): one draw per posterior draw (rows)."""
    mean, var, sigma = conditional(fit, axis_values(fit, frame), mu_fit, groups_new)
    z = np.random.default_rng(seed).standard_normal(mean.shape)
    return mean + np.sqrt(var + sigma ** 2) * z


def log_density(fit: Fit, frame, log_y: np.ndarray, mu_new: np.ndarray, mu_fit: np.ndarray) -> np.ndarray:
    """Log predictive density of held-out rows (draws x rows), each given every fitted row (and in its own
    group: the frame's run column)."""
    mean, var, sigma = conditional(fit, axis_values(fit, frame), mu_fit, held_out_groups(fit, frame))
    var = var + sigma ** 2
    resid = log_y[None, :] - mu_new - mean
    return -0.5 * (np.log(2 * np.pi * var) + resid ** 2 / var)
