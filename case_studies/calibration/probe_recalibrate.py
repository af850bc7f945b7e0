"""Probe (session 4): recalibrate prediction intervals by simulating from the posterior and refitting.

The idea ("calibrated Bayes", Rubin 1984; the double bootstrap's logic applied to a posterior):
draw R parameter sets from the posterior, simulate a ladder at the same inputs from each (law +
the fitted noise), refit all R in one vectorised NUTS program (``bayeslaw.engine.refit_batch``),
and record where each replicate's truth falls in its own posterior (the probability integral
transform, PIT). Their probit transforms are summarised by a normal (mean m, sd s: a bias and a
width factor), and the interval at nominal mass p is read from the original posterior at the
levels Phi(m -/+ z s), z = Phi^-1((1+p)/2).

Result (README, "What this says", item 6): on power_law/Gaussian ladders the replicates' probit
PITs have mean 0.02-0.03 and sd 1.00, i.e. the posterior is calibrated around its own draws,
while at the study's truth the probit PIT has mean 0.32 on the same 18 ladders (0.26 over
ladders 0-199). The correction is therefore
about zero and the probe was stopped after 18 ladders. Not part of the library.

``source="plugin"`` (session 5) simulates every replicate from one parameter set instead, the
posterior medians: a parametric bootstrap of the whole fit (Beran's prepivoting), which measures
the frequentist coverage at a plug-in truth rather than the average over the posterior.

Used by ``run.py --recalibrate R [--recalibrate-from plugin]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from bayeslaw.errors import DataError
from bayeslaw.predict import log_mean_draws, noise_draws, posterior_params, scaled_noise


def _pit(draws: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Fraction of draws (axis 1) below ``value``, kept off 0 and 1 by half a draw."""
    s = draws.shape[1]
    return (np.sum(draws < value[:, None, :], axis=1) + 0.5) / (s + 1)


def _levels(pit: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    z = ndtri(pit)
    m, s = z.mean(axis=0), z.std(axis=0, ddof=1)
    q = ndtri((1 + interval) / 2)
    return ndtr(m - q * s), ndtr(m + q * s)


def recalibration(fit, frame: pd.DataFrame, *, interval: float = 0.9, replicates: int = 48,
                  num_warmup: int = 300, num_samples: int = 250, num_chains: int = 2,
                  seed: int = 0, source: str = "posterior") -> pd.DataFrame:
    """Quantile levels that make ``interval`` intervals at the targets in ``frame`` calibrated.

    ``frame`` holds the targets' inputs (as :func:`bayeslaw.predict.as_targets` returns them).
    Returns one row per target with, for ``kind`` in ``mean`` and ``new_run``:
    ``{kind}_level_lower``/``{kind}_level_upper`` (where to read the posterior's quantiles;
    ``(1-interval)/2`` and ``(1+interval)/2`` when it is calibrated) and
    ``{kind}_pit_shift``/``{kind}_pit_scale`` (mean and sd of the replicates' probit PITs; 0 and 1
    when calibrated: a positive shift means the truth tends to lie above the posterior's centre,
    a scale above 1 that the posterior is too narrow). The ``replicates`` refits run in a
    vectorised program with ``num_chains`` x (``num_warmup`` + ``num_samples``) iterations each.
    ``source``: ``"posterior"`` draws each replicate's truth from the posterior; ``"plugin"``
    uses the posterior medians for all of them (a parametric bootstrap).
    """
    from bayeslaw.engine import refit_batch

    if replicates < 8:
        raise DataError(f"recalibration needs at least 8 replicates to estimate the PIT's spread; got {replicates}.")
    rng = np.random.default_rng(seed + 7919)
    params = posterior_params(fit)
    total = next(iter(params.values())).shape[0]
    if source == "plugin":
        truth = {k: np.full(replicates, np.median(v)) for k, v in params.items()}
    elif source == "posterior":
        truth = {k: v[rng.choice(total, size=replicates, replace=total < replicates)] for k, v in params.items()}
    else:
        raise ValueError(f"source must be 'posterior' or 'plugin', not {source!r}")
    student = fit.spec["likelihood"] == "student_t"

    def noise(p, shape):
        sigma = p["sigma"].reshape(p["sigma"].shape + (1,) * (len(shape) - p["sigma"].ndim))
        return scaled_noise(rng, sigma, p["nu"].reshape(sigma.shape) if student else None, shape)

    law, log_ref, design = fit.law, fit.log_ref, fit.spec["data"]["design"]
    const = fit.idata["constant_data"]
    runs = {v: np.asarray(const[col].values, float)[None, :] for v, col in design.items()}
    at = {v: frame[col].to_numpy(float)[None, :] for v, col in design.items()}
    p = {k: truth[k][:, None] for k in law.params}
    mu_runs = np.asarray(law.evaluate_log(runs, p, log_ref), float)        # (R, runs)
    mu_true = np.asarray(law.evaluate_log(at, p, log_ref), float)          # (R, targets)
    fresh = mu_true + noise(truth, mu_true.shape)
    samples, _ = refit_batch(fit, mu_runs + noise(truth, mu_runs.shape), num_warmup=num_warmup,
                             num_samples=num_samples, num_chains=num_chains, seed=seed)
    rep = {k: v.reshape(replicates, -1) for k, v in samples.items()}       # (R, draws)
    rep_mu = np.asarray(law.evaluate_log({v: a[:, None, :] for v, a in at.items()},
                                         {k: rep[k][:, :, None] for k in law.params}, log_ref), float)
    rep_new = rep_mu + noise(rep, rep_mu.shape)
    out = pd.DataFrame(index=frame.index)
    for kind, pit in (("mean", _pit(rep_mu, mu_true)), ("new_run", _pit(rep_new, fresh))):
        z = ndtri(pit)
        out[f"{kind}_level_lower"], out[f"{kind}_level_upper"] = _levels(pit, interval)
        out[f"{kind}_pit_shift"], out[f"{kind}_pit_scale"] = z.mean(axis=0), z.std(axis=0, ddof=1)
    return out


def recalibrated_table(fit, frame: pd.DataFrame, *, interval: float = 0.9, replicates: int = 48,
                       seed: int = 0, source: str = "posterior") -> pd.DataFrame:
    """``fit.predict``'s interval columns, read at the recalibrated levels, plus the levels and PIT summaries."""
    levels = recalibration(fit, frame, interval=interval, replicates=replicates, seed=seed, source=source)
    mu = log_mean_draws(fit, {c: frame[c].to_numpy(float) for c in frame.columns})
    table = frame.copy()
    for kind, draws in (("mean", mu), ("new_run", mu + noise_draws(fit, mu.shape, seed))):
        with np.errstate(over="ignore"):
            for side in ("lower", "upper"):
                lv = levels[f"{kind}_level_{side}"].to_numpy()
                table[f"{kind}_{side}"] = np.exp([np.quantile(draws[:, k], lv[k]) for k in range(len(frame))])
    return pd.concat([table, levels], axis=1)
