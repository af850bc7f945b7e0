"""Averaging weights: stacking on pointwise predictive densities, and weights given by the user.

:func:`stacking_weights` maximises the log score of the mixture over held-out (or
leave-one-out) points (Yao et al. 2018); :func:`backtest_weights` applies it to a backtest's
held-out runs; :func:`given_weights` checks and normalises explicit weights.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, minimize

from ..errors import BayeslawError
from ..inference.result import Fit
from ..validation.backtest import Backtest


def stacking_weights(elpd_i: np.ndarray) -> np.ndarray:
    """Stacking weights from pointwise log predictive densities (Yao et al. 2018, eq. 4).

    Maximises ``sum_i log sum_k w_k exp(elpd_i[i, k])`` over the simplex, the objective of
    ``arviz_stats.compare(method="stacking")``; each row is shifted by its maximum first
    (which leaves the maximiser unchanged) so that very negative densities do not underflow.

    Parameters
    ----------
    elpd_i : array (n, K)
        Log predictive density of each of n held-out (or leave-one-out) observations under
        each of K models.

    Returns
    -------
    array (K,)
        Non-negative weights summing to 1.
    """
    e = np.asarray(elpd_i, float)
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 1:
        raise BayeslawError(f"stacking_weights takes an (observations, models) array; got shape {e.shape}.")
    k = e.shape[1]
    if k == 1:
        return np.ones(1)
    if np.isnan(e).any():
        raise BayeslawError("The pointwise log predictive densities contain NaN; cannot compute stacking weights.")
    top = e.max(axis=1, keepdims=True)
    if not np.all(np.isfinite(top)):
        bad = int(np.flatnonzero(~np.isfinite(top[:, 0]))[0])
        raise BayeslawError(f"Observation {bad} has zero predictive density under every model; "
                            "stacking weights are undefined.")
    p = np.exp(e - top)

    def score(w):
        return -np.sum(np.log(p @ w))

    def grad(w):
        return -np.sum(p / (p @ w)[:, None], axis=0)

    res = minimize(score, np.full(k, 1.0 / k), jac=grad, bounds=Bounds(np.zeros(k), np.ones(k)),
                   constraints=LinearConstraint(np.ones(k), 1.0, 1.0))
    w = np.clip(np.asarray(res.x, float), 0.0, None)
    return w / w.sum()


def backtest_weights(fits: Mapping[str, Fit], bt: Backtest) -> pd.Series:
    """Stacking weights of ``fits`` on a backtest's held-out pointwise log predictive densities.

    Each fit is matched to the backtest's model of the same name, else to the one of its law's
    name (when that is unambiguous); the matched backtest fit must have the same law and
    likelihood. Held-out runs are matched by ``run`` (and ``fold``/``split`` when present).
    """
    pw = bt.pointwise
    have = list(dict.fromkeys(pw["model"].astype(str)))
    law_counts = pd.Series([f.law.name for f in fits.values()]).value_counts()
    keys = {}
    for name, f in fits.items():
        if name in have:
            key = name
        elif f.law.name in have and law_counts[f.law.name] == 1:
            key = f.law.name
        else:
            raise BayeslawError(f"The backtest has no model for {name!r} (law {f.law.name}); it scored "
                                f"{', '.join(have)}. Backtest the same laws, or name the fits like its models.")
        other = bt.fits.get(key)
        if other is not None and (other.law.name != f.law.name or other.spec.likelihood != f.spec.likelihood):
            raise BayeslawError(f"The backtest's {key!r} is law {other.law.name} with the "
                                f"{other.spec.likelihood} likelihood, but {name!r} is law {f.law.name} with "
                                f"the {f.spec.likelihood} likelihood; backtest the same models.")
        keys[name] = key
    index = [c for c in ("fold", "split", "run") if c in pw.columns]
    try:
        table = pw.pivot(index=index, columns="model", values="elpd")
    except ValueError:
        raise BayeslawError("The backtest's pointwise table has several rows per model and run; "
                            "cannot match held-out runs across models.") from None
    matrix = table[[keys[n] for n in fits]].to_numpy(float)
    if np.isnan(matrix).any():
        raise BayeslawError("The backtest did not score every model on the same held-out runs.")
    return pd.Series(stacking_weights(matrix), index=list(fits), name="weight")


def given_weights(fits: Mapping[str, Fit], weights: Any) -> pd.Series:
    """Explicit weights (a dict name -> weight, a Series, or a sequence in the order of ``fits``),
    checked and normalised to sum to 1."""
    names = list(fits)
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if isinstance(weights, Mapping):
        unknown = [str(k) for k in weights if k not in fits]
        if unknown:
            raise BayeslawError(f"Weights for unknown fit(s) {', '.join(unknown)}; the fits are {', '.join(names)}.")
        missing = [n for n in names if n not in weights]
        if missing:
            raise BayeslawError(f"No weight for {', '.join(missing)}; give one per fit (0 leaves a fit out).")
        values = [weights[n] for n in names]
    elif isinstance(weights, Sequence) and not isinstance(weights, str):
        values = list(weights)
        if len(values) != len(names):
            raise BayeslawError(f"{len(values)} weights for {len(names)} fits; give one per fit, in order.")
    else:
        raise BayeslawError(f"weights must be 'loo', 'backtest', a Comparison, a Backtest, or a dict of fit name "
                            f"to weight; got {weights!r}.")
    try:
        w = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise BayeslawError(f"Weights must be numbers; got {values!r}.") from None
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise BayeslawError(f"Weights must be non-negative and finite with a positive sum; got {w.tolist()}.")
    return pd.Series(w / w.sum(), index=names, name="weight")


