"""Extrapolation-aware validation: fit on the small runs, score the predictions of the large ones.

LOO asks how well a law predicts a run *inside* the fitted range; a scaling law is used to
predict runs *beyond* it. :func:`backtest` splits the runs by a size column (``C`` by default):
the runs at or below a cutoff (by default the smallest 80%) are the training set, the larger
ones the test set. Each law is fitted on the training runs only and scored on the test runs
(:func:`bayeslaw.validation.scores.score`: held-out elpd, RMSLE, coverage of the new-run
intervals, CRPS). :func:`backtest_fits` does the same for fits already made (each refitted with
its own likelihood and priors), which is what stacking by backtest needs; given collections of fits
(:func:`bayeslaw.fit_many`) it backtests them curve by curve.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core.catalogue import get_law
from ..core.collection import Each, for_each, per_key
from ..core.curvature import is_curved, is_orthogonal, orthogonal_name
from ..core.law import Law
from ..core.priors import Prior
from ..core.records import resolve_ci_prob, table_records
from ..core.runs import Runs
from ..errors import BayeslawError, DiagnosticWarning, shown
from ..inference.fit import fit as fit_one
from ..inference.refit import refit
from ..inference.plan import check_enough_runs, design, one_input, plan_models, read_runs
from ..inference.result import Fit
from .scores import COVERAGE_ALPHA, score

#: Columns of :attr:`Backtest.table`, in order (index: ``model``).
COLUMNS = ("rank", "law", "likelihood", "n_train", "n_test", "cutoff", "elpd_test", "elpd_test_per_run", "rmsle",
           "coverage", "coverage_50", "crps", "coverage_units", "coverage_p")
#: The columns of :attr:`Backtest.table` that say how it was split rather than how a model scored.
BOOKKEEPING = ("rank", "n_train", "n_test", "cutoff", "coverage_units", "coverage_p")


@dataclass
class Backtest:
    """Models fitted on the smaller runs and scored on the larger ones.

    Attributes
    ----------
    table : DataFrame
        One row per model (index ``model``), best (highest ``elpd_test``, rank 0) first; columns
        :data:`COLUMNS`; ``coverage`` is at ``ci_prob``; ``coverage_units`` (held-out runs) and
        ``coverage_p`` (one-sided binomial p-value of so low a coverage,
        :func:`~bayeslaw.validation.scores.coverage_test`) judge it.
    pointwise : DataFrame
        One row per model and test run: ``model``, the run, its ``by`` value, observed loss,
        ``elpd`` (log predictive density), the new run's median and ``ci_prob`` and 50% bounds of the
        loss, and ``crps`` (on log loss).
    fits : dict of str to Fit
        The fits on the training runs, by model name.
    by : str
        The size column the runs were split on.
    cutoff : float
        Largest ``by`` value in the training set.
    train_runs, test_runs : list
        Row labels of the training and test runs.
    ci_prob : float
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame
    fits: dict[str, Fit]
    by: str
    cutoff: float
    train_runs: list
    test_runs: list
    ci_prob: float

    @property
    def undercovering(self) -> list[str]:
        """Models whose held-out coverage is far below ``ci_prob`` (``coverage_p`` below ``COVERAGE_ALPHA``)."""
        return [str(n) for n, p in self.table["coverage_p"].items() if p < COVERAGE_ALPHA]

    @property
    def verdict(self) -> str | None:
        """One sentence when some model's held-out coverage is far below nominal, pointing to the observation
        models that widen its bands; None otherwise."""
        bad = self.undercovering
        if not bad:
            return None
        t = self.table
        what = ", ".join(f"{n} {t.loc[n, 'coverage']:.2f}" for n in bad)
        units = int(t.loc[bad[0], "coverage_units"])
        first = self.fits[bad[0]]
        if first.spec.data.run is not None and first.spec.likelihood != "learning_curve":
            fix = f"fit the checkpoints as learning curves (--likelihood learning_curve with --run {first.spec.data.run})"
        elif (first.spec.data.run is None and not is_curved(first.law) and not is_orthogonal(first.law)
              and _has_law(orthogonal_name(first.law))):
            fix = (f"for a ladder of runs fit the law with an orthogonal curvature term (--curvature orthogonal, or "
                   f"--law {orthogonal_name(first.law)}), which keeps the law's parameters near its own, or stack "
                   "it with the plain law")
        else:
            fix = "try another observation model or law"
        return (f"Held-out coverage is far below the nominal {self.ci_prob:g} ({what} of {units} held-out runs; "
                f"one-sided binomial p < {COVERAGE_ALPHA:g}, runs as units): the new-run bands are too narrow beyond "
                f"the fitted range, so {fix}; `bayeslaw laws` lists the observation models and laws.")

    @property
    def best(self) -> str:
        """Name of the model with the highest held-out elpd."""
        return str(self.table.index[0])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-safe list, one object per model, best first (keys as in docs/cli.md)."""
        return [dict(rec, converged=bool(self.fits[rec["model"]].converged),
                     undercovers=rec["model"] in self.undercovering)
                for rec in table_records(self.table, ci_prob=self.ci_prob)]

    def __repr__(self) -> str:
        return (f"<Backtest of {len(self.table)} models: trained on {len(self.train_runs)} runs with "
                f"{self.by} <= {self.cutoff:.4g}, tested on {len(self.test_runs)}; best {self.best!r}>")


def _has_law(name: str) -> bool:
    try:
        get_law(name)
    except BayeslawError:
        return False
    return True


def law_list(laws: str | Law | Sequence[str | Law]) -> list[Law]:
    """Laws by name or object, without repeats (a law or a list of them)."""
    if isinstance(laws, (str, Law)):
        laws = [laws]
    if not isinstance(laws, Sequence) or not laws:
        raise BayeslawError("Give a law or a list of laws, e.g. ['chinchilla', 'compute'].")
    out: dict[str, Law] = {}
    for name in laws:
        law = get_law(name)
        out.setdefault(law.name, law)
    return list(out.values())


def fit_named(name: str, data: Any, law: Law | str | None = None, **kwargs: Any) -> Fit:
    """:func:`bayeslaw.fit` (of a plan or data), its diagnostic warnings re-issued with ``name`` in front."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = fit_one(data, law, **kwargs) if law is not None else fit_one(data, **kwargs)
    for w in caught:
        warnings.warn(f"{name}: {w.message}", w.category, stacklevel=3)
    return f


def default_by(runs: Runs, laws: Sequence[Law], x: str | None = None) -> str:
    """The size to split on when none is given: the laws' own axis when every law has one input (the column
    it is fitted on), else compute C."""
    if laws and all(one_input(law) for law in laws):
        return design(runs, laws[0], x)["x"]
    return "C"


def fits_axis(fits: Mapping[str, Fit]) -> str:
    """The size to split fits already made on: their own axis for one-input laws, else compute C."""
    designs = [f.spec.design for f in fits.values()]
    if designs and all(set(d) == {"x"} for d in designs):
        return designs[0]["x"]
    return "C"


def split(runs: Runs, *, by: str = "C", holdout_top: float = 0.2, cutoff: float | None = None) -> np.ndarray:
    """Boolean mask of the training runs: ``by <= cutoff``, or the smallest (1 - holdout_top) fraction.

    Without ``cutoff``, the test set is the round(holdout_top * n) runs with the largest ``by``
    (runs tied with the largest training value stay in training).
    """
    if by not in runs.variables:
        have = ", ".join(runs.variables) or "none"
        raise BayeslawError(f"Cannot split by {by!r}: it is not a size column of the runs (size columns: {have}).")
    values = runs.frame[by].to_numpy(float)
    n = len(values)
    if cutoff is not None:
        try:
            cutoff = float(cutoff)
        except (TypeError, ValueError):
            raise BayeslawError(f"cutoff must be a number (a value of {by}); got {shown(cutoff)}.") from None
        if not np.isfinite(cutoff):
            raise BayeslawError(f"cutoff must be finite; got {shown(cutoff)}.")
        return values <= cutoff
    if isinstance(holdout_top, bool) or not isinstance(holdout_top, (int, float)) or not 0 < holdout_top < 1:
        raise BayeslawError(f"holdout_top must be a fraction between 0 and 1 (e.g. 0.2: test on the largest 20% "
                            f"of runs by {by}); got {shown(holdout_top)}.")
    n_test = int(round(holdout_top * n))
    if n_test == 0:
        raise BayeslawError(f"holdout_top={holdout_top:g} of {n} runs leaves no test runs; raise holdout_top "
                            "or give more runs.")
    if n_test >= n:
        raise BayeslawError(f"holdout_top={holdout_top:g} of {n} runs leaves no training runs; lower holdout_top.")
    threshold = np.sort(values)[n - n_test - 1]
    return values <= threshold



def _assemble(trained: Mapping[str, Fit], test: Mapping[str, Runs], by: str, n_train: int, cut: float,
              train_runs: list, test_runs: list, ci_prob: float, seed: int) -> Backtest:
    """Score each trained fit on its test runs and build the Backtest."""
    rows, points = [], []
    for name, f in trained.items():
        s = score(f, test[name], ci_prob=ci_prob, seed=seed)
        pw = s.pop("pointwise")
        pw.insert(0, "model", name)
        pw.insert(2, by, test[name].frame[by].to_numpy(float))
        points.append(pw)
        rows.append({"model": name, "law": f.law.name, "likelihood": f.spec.likelihood, "n_train": n_train,
                     "n_test": len(test[name]), "cutoff": cut, **{k: v for k, v in s.items() if k != "undercovers"}})
    table = pd.DataFrame(rows)
    table["rank"] = (table["elpd_test"].rank(ascending=False, method="min") - 1).astype(int)
    table = table.sort_values(["rank", "model"]).set_index("model")[list(COLUMNS)]
    return Backtest(table=table, pointwise=pd.concat(points, ignore_index=True), fits=dict(trained), by=by,
                    cutoff=cut, train_runs=train_runs, test_runs=test_runs, ci_prob=ci_prob)


def backtest(data: Any, laws: str | Law | Sequence[str | Law], *, by: str | None = None, holdout_top: float = 0.2,
             cutoff: float | None = None, likelihood: str | None = None, run: str | None = None,
             x: str | Mapping[str, str] | None = None,
             y: str | None = None, groups: Iterable[str] | None = None, flops_per_param_token: float = 6.0,
             ci_prob: float | None = None,
             check: bool = True, progress_bar: bool = False, **sampler: Any) -> Backtest:
    """Fit laws on the smaller runs and score their predictions of the larger ones.

    Parameters
    ----------
    data : Runs, DataFrame or path
        The run table (see :func:`bayeslaw.load_runs`).
    laws : str, Law or list of them
        The laws to backtest (catalogue names or :class:`~bayeslaw.Law` objects).
    by : str, optional
        The size column to split on (``N``, ``D``, ``C``, ``x`` or a law's input); by default the laws'
        own axis when every law has one input (:func:`default_by`), else ``C``.
    holdout_top : float, default 0.2
        Without ``cutoff``: test on the round(holdout_top * n) runs with the largest ``by``.
    cutoff : float, optional
        Train on the runs with ``by <= cutoff``, test on the rest (overrides ``holdout_top``).
    likelihood : str, optional
        The observation model (default: chosen from the data, as by :func:`bayeslaw.fit`).
    run : str, optional
        The run-id column of learning curves: the training part of each run is fitted, and each
        held-out checkpoint is predicted given its own run's earlier checkpoints.
    x, y, groups, flops_per_param_token : optional
        Size, loss and group columns and k in C = k N D, as for :func:`bayeslaw.plan_fit`.
    ci_prob : float, optional
        Mass of the new-run interval whose coverage is reported (default: ArviZ's ``stats.ci_prob``).
    check, progress_bar, **sampler
        Passed to :func:`bayeslaw.fit` for every law (``seed`` also seeds the new-run draws).
        Diagnostic warnings of each fit are re-issued with the law's name in front.

    Returns
    -------
    Backtest

    Raises
    ------
    BayeslawError
        If the split leaves no test runs, or fewer training runs than a law needs (its parameters + 2).
    """
    ci_prob = resolve_ci_prob(ci_prob)
    laws = law_list(laws)
    runs, fit_x = read_runs(data, laws, x=x, y=y, groups=groups, flops_per_param_token=flops_per_param_token)
    by = default_by(runs, laws, fit_x) if by is None else by
    train_mask = split(runs, by=by, holdout_top=holdout_top, cutoff=cutoff)
    n_train, n_test = int(train_mask.sum()), int((~train_mask).sum())
    values = runs.frame[by].to_numpy(float)
    if n_test == 0:
        raise BayeslawError(f"The split leaves no test runs: every run has {by} <= {float(cutoff):.4g} (largest "
                            f"{values.max():.4g}); lower the cutoff.")
    train, test = runs.subset(train_mask), runs.subset(~train_mask)
    where = (f"The training set of the split ({by} <= {float(cutoff):.4g}, {len(runs)} runs)" if cutoff is not None
             else f"The training set of the split (holdout_top={holdout_top:g}, {len(runs)} runs)")
    for law in laws:
        check_enough_runs(law, n_train, where, "raise the cutoff or lower holdout_top")
    plans = plan_models(train, laws, fit_x=fit_x, likelihoods=(likelihood,), run=run, **sampler)
    trained = {name: fit_named(name, plan, progress_bar=progress_bar, check=check) for name, plan in plans.items()}
    seed = int(sampler.get("seed", 0))
    return _assemble(trained, {n: test for n in trained}, by, n_train, float(values[train_mask].max()),
                     list(train.frame.index), list(test.frame.index), ci_prob, seed)


def backtest_fits(fits: Mapping[str, Fit] | Each, *, by: str | None = None, holdout_top: float = 0.2,
                  cutoff: float | None = None, ci_prob: float | None = None,
                  seed: int | None = None) -> Backtest | Each:
    """Backtest fits already made: each refitted (same law, likelihood, priors and sampler settings) on the runs
    with the smaller ``by`` and scored on the larger ones; models are named like ``fits``.

    ``by`` defaults to the fits' own axis for one-input laws, else ``C`` (:func:`fits_axis`).
    Reference-scale priors such as ``E ~ HalfNormal(y0)`` are re-derived from the training runs, as a
    fit on them would.

    Collections of fits (:func:`bayeslaw.fit_many`) are backtested curve by curve, into an
    :class:`~bayeslaw.core.collection.Each` of backtests keyed by curve: one collection (its law, named
    by the law, on each curve), or a dict of one collection per model with the same keys (warnings and
    refusals name the curve; ``cutoff`` is a value of ``by`` shared by every curve).
    """
    kw = dict(by=by, holdout_top=holdout_top, cutoff=cutoff, ci_prob=ci_prob, seed=seed)
    per = per_key(fits, "backtest_fits()")
    if isinstance(fits, Each):   # one collection: each curve's fit, named by its law
        per = {k: {f.law.name: f} for k, f in fits.items()}
    if per is not None:
        name = fits.name if isinstance(fits, Each) else next(iter(fits.values())).name
        return for_each(per, lambda models: backtest_fits(models, **kw), name=name)
    ci_prob = resolve_ci_prob(ci_prob)
    by = fits_axis(fits) if by is None else by
    runs = next(iter(fits.values())).runs()
    mask = split(runs, by=by, holdout_top=holdout_top, cutoff=cutoff)
    n_train, n_test = int(mask.sum()), int((~mask).sum())
    if n_test == 0:
        raise BayeslawError(f"The split leaves no test runs: every run has {by} <= {float(cutoff):.4g}; lower the "
                            "cutoff.")
    train_labels = runs.frame.index[mask]
    trained, tests = {}, {}
    for name, f in fits.items():
        check_enough_runs(f.law, n_train, f"The training set of {name!r}'s backtest split",
                          "raise the cutoff or lower holdout_top")
        own = f.runs()
        inside = np.asarray(own.frame.index.isin(train_labels))
        priors = {k: Prior.from_dict(d) for k, d in f.spec.priors.items()}
        g = refit(f, own.subset(inside), seed=seed, priors=priors)
        if g.diagnostics:
            checks = ", ".join(d["check"] for d in g.diagnostics)
            unit = "checkpoints" if f.spec.data.run is not None else "runs"
            warnings.warn(f"{name}: the backtest fit on {n_train} {unit} failed diagnostic checks ({checks}); "
                          "its held-out score, and the weights, are less certain.", DiagnosticWarning, stacklevel=2)
        trained[name], tests[name] = g, own.subset(~inside)
    cut = float(runs.frame[by].to_numpy(float)[mask].max())
    return _assemble(trained, tests, by, n_train, cut, list(train_labels), list(runs.frame.index[~mask]), ci_prob,
                     0 if seed is None else seed)
