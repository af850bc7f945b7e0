"""Averaging weights of fits: from a backtest's held-out runs, and weights given by the user.

:func:`backtest_weights` weighs fits by a backtest's held-out pointwise log predictive densities
(stacking or pseudo-BMA+, with their Bayesian-bootstrap interval:
:func:`bayeslaw.validation.weights.model_weights`); :func:`given_weights` checks and normalises
explicit weights. :func:`stacking_weights` (the objective of ``arviz_stats.compare``) lives in
:mod:`bayeslaw.validation.weights` and is re-exported here.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import BayeslawError
from ..inference.result import Fit
from ..validation.backtest import Backtest
from ..validation.weights import N_BOOTSTRAP, ModelWeights, model_weights, stacking_weights

__all__ = ["backtest_matrix", "backtest_model_weights", "backtest_weights", "given_weights", "stacking_weights"]


def backtest_matrix(fits: Mapping[str, Fit], bt: Backtest) -> np.ndarray:
    """A backtest's held-out pointwise log predictive densities as an (held-out runs, fits) matrix.

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
    return matrix


def backtest_model_weights(fits: Mapping[str, Fit], bt: Backtest, method: str = "stacking", *,
                           ci_prob: float | None = None, n_bootstrap: int = N_BOOTSTRAP,
                           seed: int = 0) -> ModelWeights:
    """The weights of ``fits`` on a backtest's held-out runs with their Bayesian-bootstrap distribution
    (:func:`~bayeslaw.validation.weights.model_weights` of :func:`backtest_matrix`; columns in the order of ``fits``)."""
    return model_weights(backtest_matrix(fits, bt), method, ci_prob=ci_prob, n_bootstrap=n_bootstrap, seed=seed)


def backtest_weights(fits: Mapping[str, Fit], bt: Backtest, method: str = "stacking", *,
                     ci_prob: float | None = None, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> pd.Series:
    """Weights of ``fits`` (by ``method``: ``"stacking"``, ``"bb-pseudo-bma"`` or ``"pseudo-bma"``) on a
    backtest's held-out pointwise log predictive densities, by name (see :func:`backtest_matrix`)."""
    mw = backtest_model_weights(fits, bt, method, ci_prob=ci_prob, n_bootstrap=n_bootstrap, seed=seed)
    return pd.Series(mw.weights, index=list(fits), name="weight")


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


