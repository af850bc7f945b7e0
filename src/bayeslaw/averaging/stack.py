"""Law averaging: a stacked predictive over several fits of the same runs.

:func:`stack` combines fits of different laws or likelihoods into one predictive distribution,
the mixture ``p(y | x) = sum_k w_k p_k(y | x)`` (:class:`~bayeslaw.posterior.mixture.Mixture`:
predictions, decisions and curves of a mixture), with weights

* ``"loo"``: stacking weights on the PSIS-LOO pointwise log predictive densities
  (:func:`bayeslaw.compare`, exact refits where PSIS fails; Yao et al. 2018);
* ``"backtest"``: stacking weights on the held-out log predictive densities of a backtest
  (each fit refitted on the smaller runs and scored on the larger ones,
  :func:`bayeslaw.validation.backtest.backtest_fits`): the weights that predicted the
  *extrapolation* best;
* a :class:`~bayeslaw.Comparison` or :class:`~bayeslaw.Backtest` already computed, or explicit
  weights (a dict name -> weight, normalised to sum to 1).

``bayeslaw.stack(comparison)`` stacks the fits a comparison holds with its weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from ..core.records import table_records
from ..errors import BayeslawError
from ..inference.result import Fit
from ..posterior.mixture import MixedPrediction, Mixture, check_same_runs
from ..validation.backtest import Backtest, backtest_fits
from ..validation.compare import Comparison, compare
from ..validation.loo import PARETO_K_MAX
from .weights import backtest_weights, given_weights

#: Values of :attr:`Stack.method`: where the weights came from.
METHODS = ("loo", "backtest", "given")


@dataclass
class Stack(Mixture):
    """A weighted mixture of fits of the same runs (law averaging); build it with :func:`stack`.

    Attributes
    ----------
    fits : dict of str to Fit
    weights : Series
        Weight of each fit (index: the fits' names), non-negative, summing to 1.
    method : {"loo", "backtest", "given"}
        Where the weights came from.
    comparison : Comparison or None
        The LOO comparison behind ``"loo"`` weights.
    backtest : Backtest or None
        The backtest behind ``"backtest"`` weights.
    """

    method: str = "given"
    comparison: Comparison | None = None
    backtest: Backtest | None = None

    @property
    def table(self) -> pd.DataFrame:
        """One row per fit (index ``model``): law, likelihood, weight and the mixture draws it contributes."""
        return pd.DataFrame({"law": [f.law.name for f in self.fits.values()],
                             "likelihood": [f.spec.likelihood for f in self.fits.values()],
                             "weight": self.weights.to_numpy(float), "draws": self.draw_counts.to_numpy()},
                            index=pd.Index(self.names, name="model"))

    def to_records(self) -> list[dict[str, Any]]:
        """The table as JSON-safe rows, each with where the weights came from."""
        return table_records(self.table, weights_from=self.method)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (keys as in docs/cli.md): where the weights came from, the weights,
        the number of mixture draws in all and from each fit, and the backtest's split when there is one."""
        out = {"weights_from": self.method, "weights": {n: float(w) for n, w in self.weights.items()},
               "draws": int(self.draw_counts.sum()),
               "draws_per_model": {n: int(c) for n, c in self.draw_counts.items()}}
        if self.backtest is not None:
            bt = self.backtest
            out["backtest"] = {"by": bt.by, "cutoff": float(bt.cutoff), "n_train": len(bt.train_runs),
                               "n_test": len(bt.test_runs)}
        return out

    def predict(self, targets: Any = None, *, ci_prob: float | None = None, seed: int = 0,
                **inputs: Any) -> MixedPrediction:
        """The stacked predictive of the mean law and of a new run at targets (see :meth:`Mixture.predict`)."""
        pred = super().predict(targets, ci_prob=ci_prob, seed=seed, **inputs)
        pred.idata["predictions"].attrs.update(law="stack", weights_from=self.method,
                                               weights=json.dumps({n: float(w) for n, w in self.weights.items()}))
        return pred

    def __repr__(self) -> str:
        return f"<Stack ({self.method} weights) of {len(self.fits)} fits: " + ", ".join(
            f"{n} {w:.3g}" for n, w in self.weights.items()) + ">"


def stack(fits: Mapping[str, Fit] | Comparison, weights: Any = "loo", *, by: str = "C", holdout_top: float = 0.2,
          cutoff: float | None = None, pareto_k_max: float = PARETO_K_MAX, refit: bool = True) -> Stack:
    """Average fits of the same runs into one stacked predictive.

    Parameters
    ----------
    fits : dict of str to Fit, or Comparison
        Fits of the same runs (different laws, likelihoods or priors), by name; or a comparison,
        whose fits are stacked with its weights.
    weights : "loo", "backtest", Comparison, Backtest, dict or sequence, default "loo"
        ``"loo"``: stacking weights by PSIS-LOO (:func:`bayeslaw.compare` with ``pareto_k_max``
        and ``refit``). ``"backtest"``: stacking weights on held-out log predictive densities,
        each fit refitted (same law, likelihood, priors, sampler settings) on the runs with the
        smaller ``by`` and scored on the rest (``holdout_top`` / ``cutoff`` as in
        :func:`bayeslaw.backtest`). A :class:`~bayeslaw.Comparison` or :class:`~bayeslaw.Backtest`:
        its weights (a backtest's by stacking on its held-out runs). A dict name -> weight (or a
        sequence in the order of ``fits``): explicit weights, normalised to sum to 1; 0 leaves a
        fit out of the mixture.

    Returns
    -------
    Stack
    """
    if isinstance(fits, Comparison):
        if not fits.fits:
            raise BayeslawError("This comparison holds no fits; use bayeslaw.stack(fits, weights=comparison).")
        fits, weights = fits.fits, fits
    if not isinstance(fits, Mapping) or not fits:
        raise BayeslawError("stack() takes a dict of fits, e.g. {'chinchilla': f1, 'compute': f2}.")
    bad = [str(n) for n, f in fits.items() if not isinstance(f, Fit)]
    if bad:
        raise BayeslawError(f"stack() takes fits (bayeslaw.fit results); {', '.join(bad)} is not one.")
    fits = {str(n): f for n, f in fits.items()}
    check_same_runs(fits)
    comparison = bt = None
    if isinstance(weights, str) and weights == "loo":
        weights = compare(fits, pareto_k_max=pareto_k_max, refit=refit)
    elif isinstance(weights, str) and weights == "backtest":
        weights = backtest_fits(fits, by=by, holdout_top=holdout_top, cutoff=cutoff)
    if isinstance(weights, Comparison):
        comparison, method = weights, "loo"
        missing = [n for n in fits if n not in weights.table.index]
        extra = [str(n) for n in weights.table.index if n not in fits]
        if missing or extra:
            raise BayeslawError(f"The comparison ranks {', '.join(map(str, weights.table.index))}, the fits are "
                                f"{', '.join(fits)}; stack the fits that were compared.")
        w = given_weights(fits, pd.Series(weights.table.loc[list(fits), "weight"].to_numpy(float), index=list(fits)))
    elif isinstance(weights, Backtest):
        bt, method = weights, "backtest"
        w = backtest_weights(fits, weights)
    elif isinstance(weights, str):
        raise BayeslawError(f"weights must be 'loo', 'backtest', a Comparison, a Backtest, or a dict of fit name "
                            f"to weight; got {weights!r}.")
    else:
        method = "given"
        w = given_weights(fits, weights)
    return Stack(fits=fits, weights=w, method=method, comparison=comparison, backtest=bt)
