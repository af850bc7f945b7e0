"""Predictions at target scales: the mean law and a new run, as posteriors.

For each target and each posterior draw we evaluate the law (the *mean law*) and add one draw
of the observation model's noise (a *new run* trained at that scale). Summaries are medians
and equal-tailed intervals at ``ci_prob``; the draws go in a DataTree with ArviZ's
``predictions`` and ``predictions_constant_data`` groups (variable ``loss`` with a ``kind``
coordinate: ``"mean"`` or ``"new_run"``). Every target carries how far it lies beyond the
fitted range, per input, in decades (positive above the largest fitted value, negative below
the smallest). :func:`log_density` scores runs under a fit's posterior predictive (held-out
runs of LOO refits, backtests and cross-validation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from ..core.observation import get_observation_model
from ..core.records import json_value, resolve_ci_prob
from ..core.runs import Runs
from ..core.spec import check_seed
from ..errors import DataError
from ..inference.many import Fits
from ..inference.result import Fit
from . import correlated, sequential
from .summaries import summarise
from .targets import as_targets, derivable, read_targets  # noqa: F401 (part of this module's face)

KINDS = ("mean", "new_run")


@dataclass
class Prediction:
    """Posterior predictions at targets.

    Attributes
    ----------
    table : DataFrame
        One row per target (index ``target``): the inputs, ``mean_median/mean_lower/mean_upper``
        (the law), ``new_run_median/new_run_lower/new_run_upper`` (law + noise) and
        ``beyond_<input>`` (decades beyond the fitted range).
    idata : DataTree
        Groups ``predictions`` (``loss``: chain, draw, target, kind) and
        ``predictions_constant_data`` (the targets' inputs).
    ci_prob : float
        Probability mass of the equal-tailed intervals.
    """

    table: pd.DataFrame
    idata: xr.DataTree
    ci_prob: float
    inputs: tuple[str, ...] = field(default=())

    def draws(self, kind: str = "mean") -> np.ndarray:
        """Loss draws for one kind, shape (chains * draws, targets)."""
        v = self.idata["predictions"]["loss"].sel(kind=kind).values
        return v.reshape(-1, v.shape[-1])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-able list, one object per target (see docs/cli.md); non-finite numbers are null, flagged in
        ``non_finite``."""
        out = []
        for i, row in self.table.iterrows():
            rec: dict[str, Any] = {"target": int(i), **{k: row[k] for k in self.inputs}}
            for kind in KINDS:
                rec[kind if kind != "mean" else "mean_law"] = {
                    "median": row[f"{kind}_median"], "lower": row[f"{kind}_lower"], "upper": row[f"{kind}_upper"]}
            rec["ci_prob"] = self.ci_prob
            rec["extrapolation_decades"] = {c[len("beyond_"):]: row[c] for c in self.table.columns
                                            if c.startswith("beyond_")}
            out.append(json_value(rec))
        return out


def posterior_params(fit: Fit) -> dict[str, np.ndarray]:
    """Posterior draws of the law's sampled parameters and of the noise, chains stacked."""
    post = fit.idata["posterior"].data_vars
    names = list(fit.law.mean_params) + [n for n in get_observation_model(fit.spec.likelihood).params if n in post]
    return {n: fit.draws(n) for n in names}


def log_mean_draws(fit: Fit, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """log L for every posterior draw (rows) and target (columns); ``inputs`` by run-table column."""
    params = posterior_params(fit)
    with jax.enable_x64(True):
        raw = {v: np.asarray(inputs[col], float)[None, :] for v, col in fit.spec.design.items()}
        p = {k: v[:, None] for k, v in params.items() if k in fit.law.mean_params}
        out = fit.law.evaluate_log(raw, p, fit.log_ref)
        return np.asarray(out, dtype=float)


def noise_params(fit: Fit) -> dict[str, np.ndarray]:
    """The observation model's parameters, one column of draws each: shape (draws, 1)."""
    obs = get_observation_model(fit.spec.likelihood)
    return {n: fit.draws(n)[:, None] for n in obs.params}


def new_run_log_loss(fit: Fit, frame: pd.DataFrame, mu: np.ndarray, seed: int, *, run: Any = None,
                     held_out: bool = False) -> np.ndarray:
    """Log loss of a new run (or a run's next checkpoint) at each row of ``frame``, per posterior draw.

    Independent models add one noise draw to the law. Sequential models condition on a run: the
    one named by ``run``, the fit's only run, or, with ``held_out``, each row's own run column.
    Correlated ladders add the misfit at each row given every fitted run, and the noise.
    """
    obs = get_observation_model(fit.spec.likelihood)
    if obs.correlated:
        groups = correlated.held_out_groups(fit, frame) if held_out else \
            np.full(len(frame), sequential.resolve_run(fit, run) if run is not None else None, dtype=object)
        return mu + correlated.noise_draws(fit, frame, fitted_log_mean(fit), seed, groups)
    if not obs.sequential:
        return mu + noise_draws(fit, mu.shape, seed)
    ids = sequential.held_out_runs(fit, frame) if held_out else sequential.target_runs(fit, frame, run)
    return mu + sequential.noise_draws(fit, sequential.axis_values(fit, frame), ids, fitted_log_mean(fit), seed)


def noise_draws(fit: Fit, shape: tuple[int, int], seed: int) -> np.ndarray:
    """Draws of the observation model's noise on log loss, one per posterior draw (rows) and column.

    For a sequential (learning-curve) model these are a fresh run's departure at one checkpoint, from its
    stationary spread (drift and jitter); :func:`new_run_log_loss` conditions on a run instead.
    """
    obs = get_observation_model(fit.spec.likelihood)
    rng = np.random.default_rng(seed)
    if obs.process is not None:  # the stationary spread, not conditioned on any run
        p = obs.process_args(noise_params(fit))
        return np.sqrt(p["drift"] ** 2 + p["sigma"] ** 2) * rng.standard_normal(shape)
    return obs.noise(rng, shape, **noise_params(fit))


def fitted_log_mean(fit: Fit) -> np.ndarray:
    """The law's log mean at the fitted rows, per posterior draw (draws x rows)."""
    const = fit.idata["constant_data"]
    return log_mean_draws(fit, {c: np.asarray(const[c].values, float) for c in fit.spec.design.values()})


def log_density(fit: Fit, runs: Runs) -> np.ndarray:
    """Log likelihood of each run in ``runs`` under each posterior draw of ``fit``: (chain, draw, run).

    For a sequential (learning-curve) fit, each row is scored given the fitted checkpoints of its
    run (the run column of ``runs``), or as a fresh run's when the fit has not seen its run.
    """
    obs = get_observation_model(fit.spec.likelihood)
    mu = log_mean_draws(fit, {col: runs.frame[col].to_numpy(float) for col in fit.spec.design.values()})
    y = np.log(runs.loss)[None, :]
    post = fit.idata["posterior"]
    if obs.correlated:
        out = correlated.log_density(fit, runs.frame, y[0], mu, fitted_log_mean(fit))
        return out.reshape(post.sizes["chain"], post.sizes["draw"], -1)
    if obs.sequential:
        ids = sequential.held_out_runs(fit, runs.frame)
        t = sequential.axis_values(fit, runs.frame)
        out = sequential.log_density(fit, ids, t, y[0], mu, fitted_log_mean(fit))
        return out.reshape(post.sizes["chain"], post.sizes["draw"], -1)
    with jax.enable_x64(True):
        params = {k: jnp.asarray(v) for k, v in noise_params(fit).items()}
        out = np.asarray(obs.distribution(jnp.asarray(mu), **params).log_prob(jnp.asarray(y)), float)
    return out.reshape(post.sizes["chain"], post.sizes["draw"], -1)


def fitted_range(fit: Fit) -> dict[str, tuple[float, float]]:
    """Per input column of the fit, the (min, max) of the fitted runs."""
    const = fit.idata["constant_data"]
    out = {}
    for col in fit.spec.design.values():
        v = np.asarray(const[col].values, float)
        out[col] = (float(v.min()), float(v.max()))
    return out


def decades_beyond(frame: pd.DataFrame, ranges: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """``beyond_<col>``: decades above the range's max (> 0), below its min (< 0), or 0 inside (NaN for a
    NaN value), for each column of ``ranges`` that ``frame`` has."""
    out = {}
    for col, (lo, hi) in ranges.items():
        if col not in frame.columns:
            continue
        lo, hi = np.log10(lo), np.log10(hi)
        t = np.log10(frame[col].to_numpy(float))
        out[f"beyond_{col}"] = np.where(np.isnan(t), np.nan, np.where(t > hi, t - hi, np.where(t < lo, t - lo, 0.0)))
    return pd.DataFrame(out, index=frame.index)


def prediction(frame: pd.DataFrame, mean_loss: np.ndarray, new_loss: np.ndarray, beyond: pd.DataFrame,
               ci_prob: float, chains: np.ndarray, draws: np.ndarray, attrs: Mapping[str, Any],
               coords: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The table and DataTree of a prediction from loss draws (draws x targets) of the mean law and a new run."""
    table = frame.copy()
    for kind, arr in (("mean", mean_loss), ("new_run", new_loss)):
        table = pd.concat([table, summarise(arr, kind, ci_prob)], axis=1)
    table = pd.concat([table, beyond], axis=1)
    table.index = pd.RangeIndex(len(table), name="target")
    n_t = len(frame)
    stacked = np.stack([mean_loss, new_loss], axis=-1).reshape(len(chains), len(draws), n_t, 2)
    preds = xr.Dataset({"loss": (("chain", "draw", "target", "kind"), stacked)},
                       coords={"chain": chains, "draw": draws, "target": np.arange(n_t), "kind": list(KINDS),
                               **(coords or {})},
                       attrs={"ci_prob": ci_prob, **attrs})
    const = xr.Dataset({c: ("target", frame[c].to_numpy(float)) for c in frame.columns},
                       coords={"target": np.arange(n_t)})
    tree = xr.DataTree.from_dict({"predictions": preds, "predictions_constant_data": const})
    return {"table": table, "idata": tree, "ci_prob": ci_prob, "inputs": tuple(frame.columns)}


def predict(fit: Fit, targets: pd.DataFrame | Mapping | None = None, *, ci_prob: float | None = None,
            seed: int = 0, run: Any = None, **inputs: Any) -> Prediction:
    """Posterior of the mean law and of a new run at each target.

    Parameters
    ----------
    fit : Fit
    targets : DataFrame or dict, optional
        Targets as columns (one row per target), instead of or besides keywords.
    **inputs : float or array
        Target values of the law's inputs by name (``N=7e10, D=1.4e12``, ``T=...``; ``x=`` for a
        one-input law), broadcast together. For laws of N and D two of N, D, C suffice: the third
        follows from C = k N D with the fit's k.
    ci_prob : float, optional
        Mass of the equal-tailed intervals (default: ArviZ's ``rcParams["stats.ci_prob"]``).
    seed : int
        Seed of the new-run noise draws.
    run : optional
        Learning-curve fits: the run whose later checkpoints to predict (the new-run band is
        then conditioned on that run's checkpoints, and widens with the distance beyond its
        last one). A fit of one run uses it by default; otherwise the band is a fresh run's.
        Grouped fits: the group of the new run (its offset given the group's rows); by default
        a new group's.

    Returns
    -------
    Prediction
    """
    if isinstance(fit, Fits):  # fit_many's collection: each fit at the same targets
        return fit.predict(targets, ci_prob=ci_prob, seed=seed, run=run, **inputs)
    ci_prob = resolve_ci_prob(ci_prob)
    seed = check_seed(seed)
    frame = as_targets(fit, targets, **inputs)
    mu = log_mean_draws(fit, {c: frame[c].to_numpy(float) for c in frame.columns})
    obs = get_observation_model(fit.spec.likelihood)
    if run is not None and not (obs.sequential or obs.grouped):
        raise DataError(f"run={run!r} applies to learning-curve and grouped fits; this fit's observation model "
                        f"({fit.spec.likelihood}) has no runs or groups to condition on.")
    new = new_run_log_loss(fit, frame, mu, seed, run=run)
    with np.errstate(over="ignore"):  # a Student-t draw with small nu can exceed exp's range: inf is its value
        mean_loss, new_loss = np.exp(mu), np.exp(new)
    post = fit.idata["posterior"]
    beyond = decades_beyond(frame, fitted_range(fit))
    return Prediction(**prediction(frame, mean_loss, new_loss, beyond, ci_prob, post["chain"].values,
                                   post["draw"].values, {"seed": seed, "law": fit.law.name}))
