"""Law averaging: a stacked predictive over several fits of the same runs.

:func:`stack` combines fits of different laws or likelihoods into one predictive distribution,
the mixture ``p(y | x) = sum_k w_k p_k(y | x)`` (:class:`~bayeslaw.posterior.mixture.Mixture`:
predictions, decisions and curves of a mixture), with weights from

* ``"loo"``: the PSIS-LOO pointwise log predictive densities (:func:`bayeslaw.compare`, exact
  refits where PSIS fails);
* ``"backtest"``: the held-out log predictive densities of a backtest (each fit refitted on the
  smaller runs and scored on the larger ones, :func:`bayeslaw.validation.backtest.backtest_fits`):
  the weights that predicted the *extrapolation* best;
* a :class:`~bayeslaw.Comparison` or :class:`~bayeslaw.Backtest` already computed, or explicit
  weights (a dict name -> weight, normalised to sum to 1).

From pointwise densities the weights are computed by ``method`` (names of ``arviz_stats.compare``):
``"stacking"`` (Yao et al. 2018) or ``"bb-pseudo-bma"`` (pseudo-BMA+), each with the ``ci_prob``
interval of its Bayesian-bootstrap distribution (:mod:`bayeslaw.validation.weights`), kept in
:attr:`Stack.table` and :meth:`Stack.describe`. ``bayeslaw.stack(comparison)`` stacks the fits a
comparison holds with its weights. :meth:`Stack.score` scores the stacked predictive on held-out
runs (:func:`bayeslaw.averaging.heldout.score_stack`). Given one collection of fits per model
(:func:`bayeslaw.fit_many` of each law on the same curves), or the per-curve comparisons of such
collections, :func:`stack` stacks curve by curve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from ..core.collection import Each, for_each, per_key
from ..core.records import table_records
from ..errors import BayeslawError
from ..inference.result import Fit
from ..posterior.mixture import MixedPrediction, Mixture, check_same_runs
from ..core.runs import Runs
from ..validation.backtest import Backtest, backtest_fits
from ..validation.compare import Comparison, compare, reweigh
from ..validation.loo import PARETO_K_MAX, exchangeable
from ..validation.weights import N_BOOTSTRAP, check_method, shown_weight, weight_interval
from .heldout import score_stack
from .weights import backtest_model_weights, given_weights

#: Values of :attr:`Stack.method`: where the weights came from.
METHODS = ("loo", "backtest", "given")
#: The weighting of ``stack(fits)`` (and ``bayeslaw compare``) with LOO weights unless another is asked for.
DEFAULT_WEIGHTING = "stacking"
#: The weighting of backtest weights unless another is asked for: a backtest scores a few held-out runs or
#: checkpoints, on which stacking's optimum is nearly always all-or-nothing and picks the law that extrapolated
#: better about as often as a coin (92 Revisiting curves: 47%); pseudo-BMA+ keeps both laws, with the same or better
#: coverage and log score (case_studies/real_data_calibration: law_stack.py on 92 real and 60 synthetic learning
#: curves, averaged.py --weights backtest on the Chinchilla ladders and 10 synthetic ones; 2026-12-06).
BACKTEST_WEIGHTING = "bb-pseudo-bma"


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
    weighting : {"stacking", "bb-pseudo-bma", "pseudo-bma"} or None
        How the weights were computed from pointwise densities (None for given weights).
    weight_draws : DataFrame or None
        The weights' Bayesian-bootstrap replicates (one row per replicate, one column per fit).
    ci_prob : float or None
        Mass of the weights' intervals (``weight_lower``, ``weight_upper`` of :attr:`table`).
    """

    method: str = "given"
    comparison: Comparison | None = None
    backtest: Backtest | None = None
    weighting: str | None = None
    weight_draws: pd.DataFrame | None = None
    ci_prob: float | None = None

    @property
    def weight_intervals(self) -> pd.DataFrame | None:
        """Per fit, the ``ci_prob`` interval of its weight's Bayesian-bootstrap distribution, widened to hold
        the weight (columns ``weight_lower``, ``weight_upper``; :func:`~bayeslaw.validation.weights.weight_interval`),
        or None for given weights."""
        if self.weight_draws is None:
            return None
        lo, hi = weight_interval(self.weight_draws[self.names].to_numpy(float), self.weights[self.names].to_numpy(float),
                                 self.ci_prob)
        return pd.DataFrame({"weight_lower": lo, "weight_upper": hi}, index=pd.Index(self.names, name="model"))

    @property
    def table(self) -> pd.DataFrame:
        """One row per fit (index ``model``): law, likelihood, weight, the weight's interval (when the weights
        were computed) and the mixture draws it contributes."""
        out = pd.DataFrame({"law": [f.law.name for f in self.fits.values()],
                            "likelihood": [f.spec.likelihood for f in self.fits.values()],
                            "weight": self.weights.to_numpy(float)}, index=pd.Index(self.names, name="model"))
        ci = self.weight_intervals
        if ci is not None:
            out = out.join(ci)
        out["draws"] = self.draw_counts.to_numpy()
        return out

    def to_records(self) -> list[dict[str, Any]]:
        """The table as JSON-safe rows, each with where the weights came from (and ``ci_prob`` of the
        weights' intervals when there are some)."""
        extra = {"weights_from": self.method, "weighting": self.weighting}
        if self.weight_draws is not None:
            extra["ci_prob"] = self.ci_prob
        table = self.table.copy()
        for col in ("weight", "weight_lower", "weight_upper"):
            if col in table.columns:
                table[col] = [shown_weight(w) for w in table[col]]
        return table_records(table, **extra)

    def describe(self) -> dict[str, Any]:
        """JSON-able description (keys as in docs/cli.md): where the weights came from and how they were
        computed, the weights and their intervals, the number of mixture draws in all and from each fit, and
        the backtest's split when there is one."""
        out = {"weights_from": self.method, "weighting": self.weighting,
               "weights": {n: shown_weight(w) for n, w in self.weights.items()}}
        ci = self.weight_intervals
        if ci is not None:
            out["weight_intervals"] = {n: {"lower": shown_weight(r["weight_lower"]),
                                           "upper": shown_weight(r["weight_upper"])}
                                       for n, r in ci.iterrows()}
            out["ci_prob"] = self.ci_prob
            out["n_bootstrap"] = len(self.weight_draws)
        out.update({"draws": int(self.draw_counts.sum()),
                    "draws_per_model": {n: int(c) for n, c in self.draw_counts.items()}})
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
                                               weighting=self.weighting or "given",
                                               weights=json.dumps({n: float(w) for n, w in self.weights.items()}))
        return pred

    def score(self, test: Runs, *, ci_prob: float | None = None, seed: int = 0) -> dict[str, Any]:
        """Held-out scores of the stacked predictive on runs its fits were not fitted to (log score, coverage
        of the ``ci_prob`` and 50% new-run intervals, CRPS, RMSLE): :func:`~bayeslaw.averaging.heldout.score_stack`."""
        return score_stack(self, test, ci_prob=ci_prob, seed=seed)

    def __repr__(self) -> str:
        how = self.method if self.weighting is None else f"{self.method} {self.weighting}"
        return f"<Stack ({how} weights) of {len(self.fits)} fits: " + ", ".join(
            f"{n} {w:.3g}" for n, w in self.weights.items()) + ">"


def stack(fits: Mapping[str, Fit] | Comparison, weights: Any = "auto", *, method: str | None = None,
          by: str | None = None, holdout_top: float = 0.2, cutoff: float | None = None, pareto_k_max: float = PARETO_K_MAX,
          refit: bool = True, ci_prob: float | None = None, n_bootstrap: int = N_BOOTSTRAP,
          bootstrap_seed: int = 0, failed: str = "exclude") -> Stack | Each:
    """Average fits of the same runs into one stacked predictive.

    Parameters
    ----------
    fits : dict of str to Fit, or Comparison
        Fits of the same runs (different laws, likelihoods or priors), by name; or a comparison,
        whose fits are stacked with its weights. Curve by curve, into an
        :class:`~bayeslaw.core.collection.Each` of stacks keyed by curve: a dict of one collection of fits
        per model (:func:`bayeslaw.fit_many`, the same keys), or the Each of comparisons that
        :func:`bayeslaw.compare` makes of them; ``weights`` may then be an Each of comparisons or
        backtests with the same keys.
    weights : "auto", "loo", "backtest", Comparison, Backtest, dict or sequence, default "auto"
        ``"auto"``: ``"loo"``, or ``"backtest"`` for learning-curve fits (PSIS-LOO cannot score their
        checkpoints). ``"loo"``: weights by PSIS-LOO (:func:`bayeslaw.compare` with ``pareto_k_max`` and
        ``refit``). ``"backtest"``: weights on held-out log predictive densities, each fit
        refitted (same law, likelihood, priors, sampler settings) on the runs with the smaller
        ``by`` and scored on the rest (``holdout_top`` / ``cutoff`` as in :func:`bayeslaw.backtest`).
        A :class:`~bayeslaw.Comparison`: its weights (or, with another ``method``, that method's on
        its pointwise LOO values, nothing refitted). A :class:`~bayeslaw.Backtest`: weights on its
        held-out runs. A dict name -> weight (or a sequence in the order of ``fits``): explicit
        weights, normalised to sum to 1; 0 leaves a fit out of the mixture.
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}, optional
        How weights are computed from pointwise densities (names of ``arviz_stats.compare``):
        stacking, or pseudo-BMA+ (``w ∝ exp(elpd)`` averaged over Bayesian-bootstrap replicates), or
        pseudo-BMA. Default: a comparison's own method; ``"stacking"`` for LOO weights; ``"bb-pseudo-bma"``
        for backtest weights (a few held-out runs make stacking's weights all-or-nothing).
    failed : {"exclude", "include"}
        With ``"loo"`` weights: whether a fit that failed its diagnostic checks gets no weight (the
        default, with a warning) or is weighed like the others (see :func:`bayeslaw.compare`).
    ci_prob, n_bootstrap, bootstrap_seed
        Mass of the weights' intervals (default ArviZ's ``rcParams["stats.ci_prob"]``), and the
        Bayesian-bootstrap replicates behind them and their seed.

    Returns
    -------
    Stack, or Each of Stack (collections of fits)
    """
    kw = dict(method=method, by=by, holdout_top=holdout_top, cutoff=cutoff, pareto_k_max=pareto_k_max, refit=refit,
              ci_prob=ci_prob, n_bootstrap=n_bootstrap, bootstrap_seed=bootstrap_seed, failed=failed)
    per = per_key(fits, "stack()")
    if per is None and isinstance(fits, Each) and all(isinstance(c, Comparison) for c in fits.values()):
        per = {k: c for k, c in fits.items()}
    elif per is None and isinstance(fits, Each):
        raise BayeslawError("stack() averages models of the same runs, and this collection holds fits of different "
                            "data sets; pass one collection per model, e.g. stack({'power_law': fits_a, "
                            "'m4': fits_b}).")
    if per is not None:
        if isinstance(weights, Each) and set(weights) != set(per):
            raise BayeslawError("The weights are keyed by other curves than the fits; give weights made of these "
                                "fits (bayeslaw.compare or bayeslaw.backtest_fits of the same collections).")
        name = fits.name if isinstance(fits, Each) else next(iter(fits.values())).name
        pairs = {k: (m, weights[k] if isinstance(weights, Each) else weights) for k, m in per.items()}
        return for_each(pairs, lambda mw: stack(mw[0], mw[1], **kw), name=name)
    if isinstance(fits, Comparison):
        if not fits.fits:
            raise BayeslawError("This comparison holds no fits; use bayeslaw.stack(fits, weights=comparison).")
        fits, weights = fits.fits, fits
    if not isinstance(fits, Mapping) or not fits:
        raise BayeslawError("stack() takes a dict of fits, e.g. {'chinchilla': f1, 'compute': f2}.")
    bad = [str(n) for n, f in fits.items() if not isinstance(f, Fit)]
    if bad:
        raise BayeslawError(f"stack() takes fits (bayeslaw.fit results); {', '.join(bad)} is not one.")
    if method is not None:
        method = check_method(method)
    fits = {str(n): f for n, f in fits.items()}
    check_same_runs(fits)
    boot = {"ci_prob": ci_prob, "n_bootstrap": n_bootstrap}
    comparison = bt = draws = None
    weighting = ci = None
    if isinstance(weights, str) and weights == "auto":
        weights = "loo" if all(exchangeable(f) for f in fits.values()) else "backtest"
    if isinstance(weights, str) and weights == "loo":
        weights = compare(fits, method=method or DEFAULT_WEIGHTING, pareto_k_max=pareto_k_max, refit=refit,
                          bootstrap_seed=bootstrap_seed, failed=failed, **boot)
    elif isinstance(weights, str) and weights == "backtest":
        weights = backtest_fits(fits, by=by, holdout_top=holdout_top, cutoff=cutoff)
    if isinstance(weights, Comparison):
        missing = [n for n in fits if n not in weights.table.index]
        extra = [str(n) for n in weights.table.index if n not in fits]
        if missing or extra:
            raise BayeslawError(f"The comparison ranks {', '.join(map(str, weights.table.index))}, the fits are "
                                f"{', '.join(fits)}; stack the fits that were compared.")
        if (method is not None and method != weights.method) or (ci_prob is not None and ci_prob != weights.ci_prob) \
                or weights.weight_draws is None and weights.loo:
            weights = reweigh(weights, method or weights.method, bootstrap_seed=bootstrap_seed, **boot)
        comparison, method_from, weighting = weights, "loo", weights.method
        w = given_weights(fits, pd.Series(weights.table.loc[list(fits), "weight"].to_numpy(float), index=list(fits)))
        if weights.weight_draws is not None:
            draws, ci = weights.weight_draws[list(fits)], weights.ci_prob
    elif isinstance(weights, Backtest):
        bt, method_from, weighting = weights, "backtest", method or BACKTEST_WEIGHTING
        mw = backtest_model_weights(fits, weights, weighting, seed=bootstrap_seed, **boot)
        w = pd.Series(mw.weights, index=list(fits), name="weight")
        draws, ci = pd.DataFrame(mw.draws, columns=pd.Index(list(fits), name="model")), mw.ci_prob
    elif isinstance(weights, str):
        raise BayeslawError(f"weights must be 'auto', 'loo', 'backtest', a Comparison, a Backtest, or a dict of fit name "
                            f"to weight; got {weights!r}.")
    else:
        if method is not None:
            raise BayeslawError(f"method={method!r} computes weights from pointwise densities; explicit weights are "
                                "used as given. Leave method out, or pass weights='loo' or 'backtest'.")
        method_from = "given"
        w = given_weights(fits, weights)
    return Stack(fits=fits, weights=w, method=method_from, comparison=comparison, backtest=bt, weighting=weighting,
                 weight_draws=draws, ci_prob=ci)
