"""Predictions and held-out scores of sequential (learning-curve) fits, conditioned on each run.

A sequential observation model (:mod:`bayeslaw.core.statespace`) says a run's later
checkpoints depend on its earlier ones. So the new-run band at a target of run ``R`` is the
law plus the run's forecast departure: for each posterior draw, the run's residuals (its log
loss minus that draw's law) are filtered in order, and the filtered state at the last
checkpoint before the target is carried forward (:func:`departure`). A target of a run the
fit has not seen (or of a fit with several runs when no run is named) gets the departure of a
fresh run: the stationary drift plus the diffusion since the earliest fitted checkpoint.
:func:`log_density` scores held-out checkpoints the same way (backtests of learning curves).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..core.observation import get_observation_model
from ..errors import DataError
from ..inference.datatree import constant_name
from ..inference.result import Fit


def run_column(fit: Fit) -> np.ndarray:
    """The run id of each fitted row, as strings (one run when the fit has no run column)."""
    const = fit.idata["constant_data"]
    col = fit.spec.data.run
    if col is None:
        return np.zeros(const.sizes["run"], dtype=int).astype(str)
    return np.asarray(const[constant_name(col)].values).astype(str)


def axis_values(fit: Fit, values: dict[str, np.ndarray] | Any) -> np.ndarray:
    """The centred log of the run axis (natural log, the model's ``t``) for raw input columns."""
    axis = fit.spec.data.axis
    col = fit.spec.design[axis]
    return np.log(np.asarray(values[col], float)) - fit.log_ref[axis]


def resolve_run(fit: Fit, run: Any) -> str | None:
    """The run to condition on: the named one, the only one, or None (a fresh run)."""
    ids = run_column(fit)
    if run is None:
        unique = np.unique(ids)
        return str(unique[0]) if len(unique) == 1 else None
    if str(run) not in set(ids):
        shown = ", ".join(map(str, np.unique(ids)[:5]))
        raise DataError(f"run={run!r} is not a run of this fit (column {fit.spec.data.run!r}; runs include {shown}); "
                        "name one of them, or leave run out to predict a fresh run.")
    return str(run)


def _noise(fit: Fit) -> dict[str, np.ndarray]:
    obs = get_observation_model(fit.spec.likelihood)
    p = {n: fit.draws(n) for n in obs.params}
    p.setdefault("diffusion", np.zeros_like(p["sigma"]))  # models without the Wiener component
    return p


def departure(fit: Fit, t_new: np.ndarray, run: str | None, mu_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (draws x targets) of a new checkpoint's log loss minus the law, jitter included.

    ``mu_fit`` is the law's log mean at the fitted rows (draws x rows).
    """
    obs = get_observation_model(fit.spec.likelihood)
    p = _noise(fit)
    const = fit.idata["constant_data"]
    t_fit = axis_values(fit, {c: const[c].values for c in fit.spec.design.values()})
    t_new = np.asarray(t_new, float)
    with jax.enable_x64(True):
        if run is None:
            state = obs.process.prior_state(jnp.full(t_new.shape, float(np.min(t_fit))), p["drift"][:, None])
            mean, var = obs.process.forecast(state, t_new[None, :], p["drift"][:, None],
                                             p["drift_length"][:, None], p["diffusion"][:, None])
        else:
            rows = np.flatnonzero(run_column(fit) == run)
            rows = rows[np.argsort(t_fit[rows], kind="stable")]
            t_run = t_fit[rows]
            log_y = np.asarray(fit.idata["observed_data"]["log_loss"].values, float)[rows]
            r = jnp.asarray(log_y[None, :] - mu_fit[:, rows])
            ctx = {"t": jnp.asarray(t_run), "start": jnp.arange(len(rows)) == 0,
                   "mask": jnp.ones(len(rows), bool)}

            def states(r_d, sigma, drift, drift_length, diffusion):
                return obs.process.filter_residuals(r_d, ctx, sigma, drift, drift_length, diffusion, states=True)[1]

            st = jax.vmap(states)(r, *(jnp.asarray(p[k]) for k in ("sigma", "drift", "drift_length", "diffusion")))
            idx = np.searchsorted(t_run, t_new, side="right") - 1
            before = idx < 0
            picked = tuple(a[:, np.maximum(idx, 0)] for a in st)
            fresh = obs.process.prior_state(jnp.full(t_new.shape, t_run[0]), p["drift"][:, None])
            state = tuple(jnp.where(before[None, :], f, s) for f, s in zip(fresh, picked))
            mean, var = obs.process.forecast(state, t_new[None, :], p["drift"][:, None],
                                             p["drift_length"][:, None], p["diffusion"][:, None])
        var = var + p["sigma"][:, None] ** 2
        return np.asarray(mean, float), np.asarray(var, float)


def departures(fit: Fit, t_new: np.ndarray, runs: np.ndarray, mu_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`departure` for targets of several runs: ``runs`` holds each target's run id, conditioned on
    that run's checkpoints when the fit has seen it, a fresh run's otherwise (also for ``None``)."""
    known = set(run_column(fit))
    keys = [str(r) if r is not None and str(r) in known else None for r in np.asarray(runs, dtype=object)]
    mean, var = np.empty(mu_fit.shape[:1] + (len(keys),)), np.empty(mu_fit.shape[:1] + (len(keys),))
    for key in dict.fromkeys(keys):
        cols = np.flatnonzero([k == key for k in keys])
        mean[:, cols], var[:, cols] = departure(fit, np.asarray(t_new, float)[cols], key, mu_fit)
    return mean, var


def noise_draws(fit: Fit, t_new: np.ndarray, runs: np.ndarray, mu_fit: np.ndarray, seed: int) -> np.ndarray:
    """Draws of a new checkpoint's log loss minus the law, one per posterior draw (rows) and target
    (``runs`` as for :func:`departures`)."""
    mean, var = departures(fit, t_new, runs, mu_fit)
    z = np.random.default_rng(seed).standard_normal(mean.shape)
    return mean + np.sqrt(var) * z


def target_runs(fit: Fit, frame, run: Any = None) -> np.ndarray:
    """Each target's run id: the run named (or the fit's only run), else None (a fresh run) for all."""
    return np.full(len(frame), resolve_run(fit, run), dtype=object)


def held_out_runs(fit: Fit, frame) -> np.ndarray:
    """The run ids of held-out rows (their run column; one run when the fit has none)."""
    col = fit.spec.data.run
    return frame[col].to_numpy() if col is not None else np.full(len(frame), run_column(fit)[0], dtype=object)


def log_density(fit: Fit, run_ids: np.ndarray, t_new: np.ndarray, log_y: np.ndarray, mu_new: np.ndarray,
                mu_fit: np.ndarray) -> np.ndarray:
    """Log predictive density of held-out checkpoints (draws x rows), each given its run's fitted rows.

    A held-out row of a run the fit has seen is conditioned on that run's checkpoints; a row of
    another run is scored as a fresh run's.
    """
    mean, var = departures(fit, t_new, run_ids, mu_fit)
    resid = log_y[None, :] - mu_new - mean
    return -0.5 * (np.log(2 * np.pi * var) + resid ** 2 / var)
