"""Held-out scores of a fit's predictions of runs it was not fitted to.

:func:`score` gives, on test runs: ``elpd_test`` (the sum over test runs of the log-mean-exp
over posterior draws of the observation model's density of the run's log loss), ``rmsle`` (of
the new-run median), ``coverage`` and ``coverage_50`` (the share of test runs inside the
equal-tailed ``ci_prob`` and 50% new-run intervals) and ``crps`` (the mean continuous ranked
probability score of the new-run predictive of log loss, :func:`crps_samples`; lower is better).

:func:`coverage_test` judges the coverage: with runs as units (the checkpoints of one learning
curve count as one run, its share of covered checkpoints), the one-sided binomial probability of
covering so few held-out runs if the intervals were calibrated. Below :data:`COVERAGE_ALPHA` the
intervals are too narrow beyond the fitted range (``undercovers``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from scipy.stats import binom

from ..core.runs import Runs
from ..core.spec import check_seed
from ..errors import BayeslawError
from ..inference.result import Fit
from ..posterior.predict import log_density, log_mean_draws, new_run_log_loss


#: One-sided binomial p-value below which held-out coverage is judged far below nominal.
COVERAGE_ALPHA = 0.01


def coverage_test(inside: np.ndarray, ci_prob: float, units: np.ndarray | None = None) -> dict[str, Any]:
    """Is the held-out coverage far below ``ci_prob``? A one-sided binomial test with runs as units.

    Parameters
    ----------
    inside : array of bool (n,)
        Whether each held-out row fell inside its ``ci_prob`` new-run interval.
    ci_prob : float
        The intervals' nominal mass.
    units : array (n,), optional
        The run of each row (checkpoints of one run are one unit, counted by their covered share);
        by default every row is its own run.

    Returns
    -------
    dict
        ``coverage_units`` (runs), ``coverage_p`` (P(X <= covered runs) for X ~ Binomial(runs, ci_prob),
        covered runs rounded down) and ``undercovers`` (``coverage_p < COVERAGE_ALPHA``).
    """
    inside = np.asarray(inside, bool)
    if units is None:
        share = inside.astype(float)
    else:
        share = pd.Series(inside.astype(float)).groupby(pd.Series(np.asarray(units)).astype(str).to_numpy()).mean()
    n = int(len(share))
    covered = float(np.sum(share))
    p = float(binom.cdf(np.floor(covered + 1e-9), n, ci_prob)) if n else 1.0
    return {"coverage_units": n, "coverage_p": p, "undercovers": bool(p < COVERAGE_ALPHA)}


def crps_samples(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample-based CRPS of predictive draws at observations (lower is better).

    ``CRPS(F, y) = E|X - y| - 0.5 E|X - X'|`` with X, X' independent draws from F. The
    first term is the mean over draws; the second the mean over distinct pairs of draws
    (unbiased), computed from the sorted draws in O(S log S).

    Parameters
    ----------
    draws : array (S, n)
        S draws of the predictive for each of n observations.
    y : array (n,)
        The observations.

    Returns
    -------
    array (n,)
    """
    draws = np.asarray(draws, float)
    if draws.ndim == 1:
        draws = draws[:, None]
    y = np.atleast_1d(np.asarray(y, float))
    s = draws.shape[0]
    if s < 2:
        raise BayeslawError(f"CRPS needs at least 2 predictive draws; got {s}.")
    term1 = np.mean(np.abs(draws - y[None, :]), axis=0)
    srt = np.sort(draws, axis=0)
    weights = (2 * np.arange(1, s + 1) - s - 1)[:, None]
    pair_mean = 2 * np.sum(weights * srt, axis=0) / (s * (s - 1))  # mean |X - X'| over i != j
    return term1 - 0.5 * pair_mean


def score(fit: Fit, test: Runs, *, ci_prob: float, seed: int = 0) -> dict[str, Any]:
    """Held-out scores of a fit on test runs (see the module docstring), and per-run values (``pointwise``)."""
    seed = check_seed(seed)
    ll = log_density(fit, test)
    ll = ll.reshape(-1, ll.shape[-1])
    elpd_i = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    mu = log_mean_draws(fit, {col: test.frame[col].to_numpy(float) for col in fit.design.values()})
    new = new_run_log_loss(fit, test.frame, mu, seed, held_out=True)  # a new run's log loss, per draw and run
    y = np.log(test.loss)
    lo, q25, med, q75, hi = np.quantile(new, [(1 - ci_prob) / 2, 0.25, 0.5, 0.75, (1 + ci_prob) / 2], axis=0)
    crps = crps_samples(new, y)
    inside50 = (y >= q25) & (y <= q75)
    inside = (y >= lo) & (y <= hi)
    pointwise = pd.DataFrame({
        "run": test.frame.index.to_numpy(), "loss": test.loss, "elpd": elpd_i,
        "new_run_median": np.exp(med), "new_run_lower": np.exp(lo), "new_run_upper": np.exp(hi),
        "new_run_lower_50": np.exp(q25), "new_run_upper_50": np.exp(q75), "crps": crps,
    })
    run_col = getattr(fit.spec.data, "run", None)
    units = test.frame[run_col].to_numpy() if run_col is not None and run_col in test.frame.columns else None
    return {
        "elpd_test": float(elpd_i.sum()), "elpd_test_per_run": float(elpd_i.mean()),
        "rmsle": float(np.sqrt(np.mean((med - y) ** 2))), "coverage": float(inside.mean()),
        "coverage_50": float(inside50.mean()), "crps": float(crps.mean()),
        **coverage_test(inside, ci_prob, units), "pointwise": pointwise,
    }
