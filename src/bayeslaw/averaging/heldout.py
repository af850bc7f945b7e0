"""Held-out scores of a stacked predictive: how a weighted mixture of fits predicts runs none was fitted to.

:func:`score_stack` scores the mixture ``p(y | x) = sum_k w_k p_k(y | x)`` on test runs with the
quantities :func:`bayeslaw.validation.scores.score` gives one fit, computed from each member's
draws without subsampling them:

* ``elpd_test``: the sum over test runs of ``log sum_k w_k p_k(y_i)``, each member's density
  being the mean over its posterior draws (the mixture's log score);
* ``coverage`` and ``coverage_50``: the share of test runs inside the mixture's equal-tailed
  ``ci_prob`` and 50% new-run intervals, read from its probability integral transform
  ``F(y_i) = sum_k w_k F_k(y_i)`` (``F_k``: the empirical CDF of member k's new-run draws of log loss);
* ``crps``: the mean CRPS of the mixture's new-run predictive of log loss, from all members'
  draws, each weighted ``w_k / S_k``;
* ``rmsle``: of the mixture's new-run median.

Members with weight 0 are not scored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from ..core.records import resolve_ci_prob
from ..core.runs import Runs
from ..errors import BayeslawError
from ..posterior.mixture import Mixture
from ..posterior.predict import log_density, log_mean_draws, new_run_log_loss


def weighted_crps(values: np.ndarray, probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of discrete distributions (one per column of ``values``, atom probabilities ``probs``) at ``y``.

    ``CRPS = sum_j p_j |x_j - y| - 1/2 sum_jl p_j p_l |x_j - x_l|``; the second term from the sorted
    atoms in O(S log S): ``sum_jl p_j p_l |x_j - x_l| = 2 sum_j p_j x_j (2 P_j - p_j - 1)`` with
    ``P_j`` the cumulative probability through atom j.
    """
    x = np.asarray(values, float)
    p = np.asarray(probs, float)
    y = np.atleast_1d(np.asarray(y, float))
    term1 = np.sum(p[:, None] * np.abs(x - y[None, :]), axis=0)
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    ps = p[order]
    cum = np.cumsum(ps, axis=0)
    pair = 2 * np.sum(ps * xs * (2 * cum - ps - 1), axis=0)
    return term1 - 0.5 * pair


def _weighted_median(values: np.ndarray, probs: np.ndarray) -> np.ndarray:
    order = np.argsort(values, axis=0, kind="stable")
    xs = np.take_along_axis(values, order, axis=0)
    cum = np.cumsum(probs[order], axis=0)
    first = np.argmax(cum >= 0.5, axis=0)
    return xs[first, np.arange(values.shape[1])]


def score_stack(stack: Mixture, test: Runs, *, ci_prob: float | None = None, seed: int = 0) -> dict[str, Any]:
    """Held-out scores of a stack (any :class:`~bayeslaw.Mixture`) on test runs (see the module docstring).

    Parameters
    ----------
    stack : Stack or Mixture
        Its fits must not have been fitted to ``test`` (e.g. a backtest's fits and its test runs).
    test : Runs
        The held-out runs, with every column the members' laws read.
    ci_prob : float, optional
        Mass of the interval whose coverage is reported (default ArviZ's ``stats.ci_prob``).
    seed : int
        Seed of each member's new-run noise draws (as :func:`bayeslaw.validation.scores.score`).

    Returns
    -------
    dict
        ``elpd_test``, ``elpd_test_per_run``, ``rmsle``, ``coverage``, ``coverage_50``, ``crps``,
        ``ci_prob`` and ``pointwise`` (one row per test run: ``run``, ``loss``, ``elpd``, ``pit``, ``crps``).
    """
    ci_prob = resolve_ci_prob(ci_prob)
    if not isinstance(test, Runs) or len(test) == 0:
        raise BayeslawError("score_stack takes the held-out runs as a bayeslaw Runs table (bayeslaw.load_runs).")
    y = np.log(test.loss)
    names = [n for n in stack.names if stack.weights[n] > 0]
    w = stack.weights[names].to_numpy(float)
    log_dens, cdfs, values, probs = [], [], [], []
    for name, wk in zip(names, w):
        f = stack.fits[name]
        ll = log_density(f, test)
        ll = ll.reshape(-1, ll.shape[-1])
        log_dens.append(logsumexp(ll, axis=0) - np.log(ll.shape[0]))
        mu = log_mean_draws(f, {col: test.frame[col].to_numpy(float) for col in f.design.values()})
        new = new_run_log_loss(f, test.frame, mu, seed, held_out=True)
        cdfs.append(np.mean(new <= y[None, :], axis=0))
        values.append(new)
        probs.append(np.full(new.shape[0], wk / new.shape[0]))
    elpd_i = logsumexp(np.vstack(log_dens), axis=0, b=w[:, None])
    pit = w @ np.vstack(cdfs)
    values, probs = np.vstack(values), np.concatenate(probs)
    crps = weighted_crps(values, probs, y)
    median = _weighted_median(values, probs)
    lo = (1 - ci_prob) / 2
    inside = (pit >= lo) & (pit <= 1 - lo)
    inside50 = (pit >= 0.25) & (pit <= 0.75)
    pointwise = pd.DataFrame({"run": test.frame.index.to_numpy(), "loss": test.loss, "elpd": elpd_i, "pit": pit,
                              "new_run_median": np.exp(median), "crps": crps})
    return {"elpd_test": float(elpd_i.sum()), "elpd_test_per_run": float(elpd_i.mean()),
            "rmsle": float(np.sqrt(np.mean((median - y) ** 2))), "coverage": float(inside.mean()),
            "coverage_50": float(inside50.mean()), "crps": float(crps.mean()), "ci_prob": ci_prob,
            "pointwise": pointwise}
