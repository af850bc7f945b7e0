"""Extrapolation-aware validation: fit on the small runs, score the predictions of the large ones.

LOO asks how well a law predicts a run *inside* the fitted range; a scaling law is used to
predict runs *beyond* it. :func:`backtest` splits the runs by a scale column (``N``, ``D``,
``C`` or ``x``): the runs at or below a cutoff (by default the smallest 80%) are the
training set, the larger ones the test set. Each law is fitted on the training runs
only and scored on the test runs by

* ``elpd_test``: held-out log predictive density, the sum over test runs of the
  log-mean-exp over posterior draws of the likelihood's density of the run's log loss
  (:func:`bayeslaw.comparison.log_density`, as for the exact refits of ``compare``);
* ``rmsle``: root mean squared error of log loss of the posterior median of a new run;
* ``coverage_50`` / ``coverage_90``: fraction of test runs inside the equal-tailed 50% and
  90% intervals of a new run (law + the likelihood's noise);
* ``crps``: mean continuous ranked probability score of the new-run predictive of log loss
  (sample-based, :func:`crps_samples`; lower is better, in units of log loss).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import BayeslawError

#: Columns of :attr:`Backtest.table`, in order.
COLUMNS = ("law", "n_train", "n_test", "cutoff", "elpd_test", "elpd_test_per_run", "rmsle", "coverage_50",
           "coverage_90", "crps", "rank")

#: Scale columns a backtest can split on.
SPLIT_COLUMNS = ("N", "D", "C", "x")


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


@dataclass
class Backtest:
    """Laws fitted on the smaller runs and scored on the larger ones.

    Attributes
    ----------
    table : DataFrame
        One row per law, best (highest ``elpd_test``) first; columns :data:`COLUMNS`.
    pointwise : DataFrame
        One row per law and test run: the run, its ``by`` value, observed loss,
        ``elpd`` (log predictive density), new-run median and 50%/90% bounds of the loss,
        and ``crps`` (on log loss).
    fits : dict of str to Fit
        The fits on the training runs, by law name.
    by : str
        The scale column the runs were split on.
    cutoff : float
        Largest ``by`` value in the training set.
    train_runs, test_runs : list
        Row labels of the training and test runs.
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame
    fits: dict[str, Any]
    by: str
    cutoff: float
    train_runs: list
    test_runs: list

    @property
    def best(self) -> str:
        """Name of the law with the highest held-out elpd."""
        return str(self.table["law"].iloc[0])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-able list, one object per law, best first (keys as in docs/cli.md)."""
        out = []
        for _, row in self.table.iterrows():
            rec: dict[str, Any] = {"law": str(row["law"]), "rank": int(row["rank"])}
            for k in ("n_train", "n_test"):
                rec[k] = int(row[k])
            for k in ("cutoff", "elpd_test", "elpd_test_per_run", "rmsle", "coverage_50", "coverage_90", "crps"):
                rec[k] = float(row[k])
            rec["converged"] = bool(self.fits[rec["law"]].converged)
            out.append(rec)
        return out

    def __repr__(self) -> str:
        return (f"<Backtest of {len(self.table)} laws: trained on {len(self.train_runs)} runs with "
                f"{self.by} <= {self.cutoff:.4g}, tested on {len(self.test_runs)}; best {self.best!r}>")


def _laws(laws) -> list:
    from .law import Law, get_law

    if isinstance(laws, (str, Law)):
        laws = [laws]
    if not isinstance(laws, Sequence) or not laws:
        raise BayeslawError("backtest() takes a law or a list of laws, e.g. ['chinchilla', 'compute'].")
    out, seen = [], set()
    for name in laws:
        law = get_law(name)
        if law.name not in seen:
            seen.add(law.name)
            out.append(law)
    return out


def load_runs_and_x(data, x, y, groups=None):
    """The run table (with ``groups`` columns kept), and the ``x`` to give fit() for one-variable laws."""
    from .data import SIZE_COLUMNS, Runs, load_runs

    if isinstance(data, Runs):
        return data, x if isinstance(x, str) else None
    if isinstance(x, str) and x not in SIZE_COLUMNS:
        return load_runs(data, x=x, y=y, groups=groups), "x"  # any other column becomes the generic size x
    return (load_runs(data, x=x if isinstance(x, Mapping) else None, y=y, groups=groups),
            x if isinstance(x, str) else None)


def _fit_law(runs, law, fit_x, **settings):
    """fit() of one law (``x`` only for one-variable laws), its diagnostic warnings prefixed with the law."""
    from .engine import fit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = fit(runs, law, x=fit_x if tuple(law.inputs) == ("x",) else None, **settings)
    for w in caught:  # say which law each warning is about
        warnings.warn(f"{law.name}: {w.message}", w.category, stacklevel=3)
    return f


def split(runs, *, by: str = "C", holdout_top: float = 0.2, cutoff: float | None = None) -> np.ndarray:
    """Boolean mask of the training runs: ``by <= cutoff``, or the smallest (1 - holdout_top) fraction.

    Without ``cutoff``, the test set is the round(holdout_top * n) runs with the largest ``by``
    (runs tied with the largest training value stay in training).
    """
    if by not in SPLIT_COLUMNS:
        raise BayeslawError(f"by must be one of {', '.join(SPLIT_COLUMNS)}; got {by!r}.")
    if by not in runs.frame.columns:
        have = ", ".join(runs.variables) or "none"
        raise BayeslawError(f"Cannot split by {by}: the run table has no {by} column (size columns: {have}).")
    values = runs.frame[by].to_numpy(float)
    n = len(values)
    if cutoff is not None:
        try:
            cutoff = float(cutoff)
        except (TypeError, ValueError):
            raise BayeslawError(f"cutoff must be a number (a value of {by}); got {cutoff!r}.") from None
        if not np.isfinite(cutoff):
            raise BayeslawError(f"cutoff must be finite; got {cutoff!r}.")
        return values <= cutoff
    if isinstance(holdout_top, bool) or not isinstance(holdout_top, (int, float)) or not 0 < holdout_top < 1:
        raise BayeslawError(f"holdout_top must be a fraction between 0 and 1 (e.g. 0.2: test on the largest 20% "
                            f"of runs by {by}); got {holdout_top!r}.")
    n_test = int(round(holdout_top * n))
    if n_test == 0:
        raise BayeslawError(f"holdout_top={holdout_top:g} of {n} runs leaves no test runs; raise holdout_top "
                            "or give more runs.")
    if n_test >= n:
        raise BayeslawError(f"holdout_top={holdout_top:g} of {n} runs leaves no training runs; lower holdout_top.")
    threshold = np.sort(values)[n - n_test - 1]
    return values <= threshold


def score(fit, test, *, seed: int = 0) -> dict[str, Any]:
    """Held-out scores of a fit on test runs: elpd, RMSLE, 50%/90% coverage, CRPS, and per-run values."""
    from scipy.special import logsumexp

    from .comparison import log_density
    from .predict import log_mean_draws, noise_draws

    ll = log_density(fit, test)
    ll = ll.reshape(-1, ll.shape[-1])
    elpd_i = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    design = fit.spec["data"]["design"]
    mu = log_mean_draws(fit, {col: test.frame[col].to_numpy(float) for col in design.values()})
    new = mu + noise_draws(fit, mu.shape, seed)  # log loss of a new run, per draw and test run
    y = np.log(test.loss)
    q05, q25, med, q75, q95 = np.quantile(new, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    crps = crps_samples(new, y)
    inside50 = (y >= q25) & (y <= q75)
    inside90 = (y >= q05) & (y <= q95)
    pointwise = pd.DataFrame({
        "run": test.frame.index.to_numpy(), "loss": test.loss, "elpd": elpd_i,
        "new_run_median": np.exp(med), "lower_50": np.exp(q25), "upper_50": np.exp(q75),
        "lower_90": np.exp(q05), "upper_90": np.exp(q95), "crps": crps,
    })
    return {
        "elpd_test": float(elpd_i.sum()), "elpd_test_per_run": float(elpd_i.mean()),
        "rmsle": float(np.sqrt(np.mean((med - y) ** 2))), "coverage_50": float(inside50.mean()),
        "coverage_90": float(inside90.mean()), "crps": float(crps.mean()), "pointwise": pointwise,
    }


def backtest(data, laws, *, by: str = "C", holdout_top: float = 0.2, cutoff: float | None = None,
             likelihood: str = "student_t", x: str | Mapping[str, str] | None = None, y: str | None = None,
             seed: int = 0, num_warmup: int = 1000, num_samples: int = 1000, num_chains: int = 4,
             target_accept_prob: float = 0.8, check: bool = True, progress_bar: bool = False) -> Backtest:
    """Fit laws on the smaller runs and score their predictions of the larger ones.

    Parameters
    ----------
    data : Runs, DataFrame or path
        The run table (see :func:`bayeslaw.load_runs`).
    laws : str, Law or list of them
        The laws to backtest (catalogue names or :class:`~bayeslaw.Law` objects).
    by : {"C", "N", "D", "x"}, default "C"
        The scale column to split on.
    holdout_top : float, default 0.2
        Without ``cutoff``: test on the round(holdout_top * n) runs with the largest ``by``.
    cutoff : float, optional
        Train on the runs with ``by <= cutoff``, test on the rest (overrides ``holdout_top``).
    likelihood : {"student_t", "normal"}
    x, y : optional
        Size and loss columns, as for :func:`bayeslaw.fit`.
    seed, num_warmup, num_samples, num_chains, target_accept_prob, check, progress_bar
        Passed to :func:`bayeslaw.fit` for every law (``seed`` also seeds the new-run draws).
        Diagnostic warnings of each fit are re-issued with the law's name in front.

    Returns
    -------
    Backtest

    Raises
    ------
    BayeslawError
        If the split leaves no test runs, or fewer training runs than a law needs
        (its parameters + 2).
    """
    from .engine import design, get_likelihood

    law_list = _laws(laws)
    get_likelihood(likelihood)
    runs, fit_x = load_runs_and_x(data, x, y)
    train_mask = split(runs, by=by, holdout_top=holdout_top, cutoff=cutoff)
    cutoff = None if cutoff is None else float(cutoff)  # split() has checked it
    n_train, n_test = int(train_mask.sum()), int((~train_mask).sum())
    values = runs.frame[by].to_numpy(float)
    if n_test == 0:
        raise BayeslawError(f"The split leaves no test runs: every run has {by} <= {cutoff:.4g} (largest "
                            f"{values.max():.4g}); lower the cutoff.")
    train, test = runs.subset(train_mask), runs.subset(~train_mask)
    for law in law_list:
        one_var = tuple(law.inputs) == ("x",)
        design(runs, law, fit_x if one_var else None)
        need = law.n_params + 2
        if n_train < need:
            where = f"{by} <= {cutoff:.4g}" if cutoff is not None else f"holdout_top={holdout_top:g}"
            raise BayeslawError(f"The split ({where}) leaves {n_train} training runs of {len(runs)}, but law "
                                f"{law.name!r} has {law.n_params} parameters and needs at least {need} "
                                "(parameters + 2); raise the cutoff or lower holdout_top.")
    cut = float(values[train_mask].max())

    fits, rows, points = {}, [], []
    for law in law_list:
        f = _fit_law(train, law, fit_x, likelihood=likelihood, num_warmup=num_warmup, num_samples=num_samples,
                     num_chains=num_chains, target_accept_prob=target_accept_prob, seed=seed,
                     progress_bar=progress_bar, check=check)
        fits[law.name] = f
        s = score(f, test, seed=seed)
        pw = s.pop("pointwise")
        pw.insert(0, "law", law.name)
        pw.insert(2, by, test.frame[by].to_numpy(float))
        points.append(pw)
        rows.append({"law": law.name, "n_train": n_train, "n_test": n_test, "cutoff": cut, **s})
    table = pd.DataFrame(rows)
    table["rank"] = table["elpd_test"].rank(ascending=False, method="min").astype(int)
    table = table.sort_values(["rank", "law"]).reset_index(drop=True)[list(COLUMNS)]
    return Backtest(table=table, pointwise=pd.concat(points, ignore_index=True), fits=fits, by=by, cutoff=cut,
                    train_runs=list(train.frame.index), test_runs=list(test.frame.index))


# -- leave-future-out and leave-one-group-out -------------------------------------------------------


@dataclass
class CrossValidation:
    """Leave-future-out or leave-one-group-out cross-validation of one fit.

    Attributes
    ----------
    kind : {"lfo", "logo"}
    elpd, se : float
        Summed held-out log predictive density and its standard error.
    n_scored : int
        Runs scored (LFO: the runs after the first ``min_train``; LOGO: all runs).
    n_refits : int
        Exact refits made (LFO with ``method="approx"`` refits only where PSIS fails).
    pointwise : DataFrame
        One row per scored run: ``run``, the split column's value (LFO) or ``group`` (LOGO),
        ``elpd``, and for LFO ``pareto_k`` (NaN where the run was scored by a refit).
    result : arviz_stats ELPDData
        The ArviZ object (``ELPDDataLFO`` / ``ELPDDataLOOKFold``), for ``arviz_stats.compare``.
    """

    kind: str
    elpd: float
    se: float
    n_scored: int
    n_refits: int
    pointwise: pd.DataFrame
    result: Any

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "elpd": float(self.elpd), "se": float(self.se), "n_scored": int(self.n_scored),
                "n_refits": int(self.n_refits)}


def _ordered_tree(fit, order, dim):
    """The fit's posterior and log-likelihood with runs reordered and their dimension renamed."""
    import xarray as xr

    ll = fit.idata["log_likelihood"]["log_loss"].isel(run=order).rename(run=dim)
    return xr.DataTree.from_dict({"posterior": fit.idata["posterior"].to_dataset(),
                                  "log_likelihood": xr.Dataset({"log_loss": ll})})


def leave_future_out(fit, *, by: str = "C", min_train: float | int = 0.5, horizon: int = 1,
                     method: str = "approx", k_threshold: float = 0.7) -> CrossValidation:
    """Leave-future-out cross-validation over increasing scale (``arviz_stats.lfo_cv``).

    The runs are ordered by ``by`` (ties keep file order). At each forecast origin i the law
    is fitted to the i smallest runs and scores the next ``horizon`` runs; the first origin
    is ``min_train`` (a count, or a fraction of the runs). With ``method="approx"`` the
    posterior is carried from one origin to the next by Pareto-smoothed importance sampling
    and refitted exactly (same law, likelihood, priors and sampler settings) whenever the
    Pareto k of the weights exceeds ``k_threshold`` (Bürkner, Gabry & Vehtari 2020);
    ``method="exact"`` refits at every origin.

    Unlike LOO, every scored run is predicted from smaller runs only, so the score rewards
    laws that extrapolate, not laws that interpolate.
    """
    import arviz_stats as azs

    from .comparison import refit_wrapper, runs_of

    runs = runs_of(fit)
    if by not in runs.frame.columns:
        raise BayeslawError(f"Cannot order runs by {by}: the fit's runs have no {by} column "
                            f"(they have {', '.join(runs.variables)}).")
    if method not in ("approx", "exact"):
        raise BayeslawError(f"method must be 'approx' or 'exact'; got {method!r}.")
    n = len(runs)
    start = int(round(min_train * n)) if isinstance(min_train, float) and min_train < 1 else int(min_train)
    need = fit.law.n_params + 2
    if not need <= start < n - horizon + 1:
        raise BayeslawError(f"min_train={min_train!r} gives {start} training runs of {n}; it must leave at least "
                            f"{need} (the law's parameters + 2) for the first fit and {horizon} run(s) to predict.")
    order = np.argsort(runs.frame[by].to_numpy(float), kind="stable")
    ordered = runs.subset(runs.frame.index[order])
    wrapper = refit_wrapper(fit, ordered, dim="time")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*refits out of.*", category=UserWarning)
        res = azs.lfo_cv(_ordered_tree(fit, order, "time"), wrapper, start, horizon, time_dim="time",
                         pointwise=True, var_name="log_loss", method=method, k_threshold=k_threshold)
    labels = res.elpd_i["time"].values
    pareto = res.pareto_k.values if res.pareto_k is not None else np.full(len(labels), np.nan)
    pointwise = pd.DataFrame({"run": labels, by: ordered.frame.loc[labels, by].to_numpy(float),
                              "elpd": res.elpd_i.values, "pareto_k": pareto})
    return CrossValidation("lfo", float(res.elpd), float(res.se), len(labels), len(wrapper.refits), pointwise, res)


def leave_one_group_out(fit, group: str) -> CrossValidation:
    """Leave-one-group-out cross-validation: refit without each group and score its runs
    (``arviz_stats.loo_kfold`` with one fold per group).

    Asks whether a law fitted to some families (architectures, tasks, data sets) predicts a
    family it has not seen. ``group`` is a group column of the fit's runs (see
    :func:`bayeslaw.load_runs`, ``groups=``).
    """
    import arviz_stats as azs

    from .comparison import refit_wrapper, runs_of

    runs = runs_of(fit)
    if group not in runs.groups:
        have = ", ".join(runs.groups) or "none"
        raise BayeslawError(f"Cannot leave groups out by {group!r}: it is not a group column of the fit's runs "
                            f"(group columns: {have}); load the runs with groups=[{group!r}].")
    values = runs.frame[group].to_numpy()
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) < 2:
        raise BayeslawError(f"Column {group!r} has one value ({uniques[0]!r}); leave-one-group-out needs two or more.")
    wrapper = refit_wrapper(fit, runs)
    res = azs.loo_kfold(fit.idata, wrapper, pointwise=True, var_name="log_loss", folds=codes + 1)
    pointwise = pd.DataFrame({"run": runs.frame.index.to_numpy(), "group": values,
                              "elpd": np.asarray(res.elpd_i.values, float)})
    return CrossValidation("logo", float(res.elpd), float(res.se), len(runs), len(wrapper.refits), pointwise, res)


def cross_validate(data, laws, *, by: str = "C", lfo: bool = True, min_train: float | int = 0.5,
                   group: str | None = None, likelihood: str = "student_t",
                   x: str | Mapping[str, str] | None = None, y: str | None = None, seed: int = 0,
                   num_warmup: int = 1000, num_samples: int = 1000, num_chains: int = 4,
                   target_accept_prob: float = 0.8, progress_bar: bool = False) -> pd.DataFrame:
    """Each law fitted to all runs and scored three ways, side by side: PSIS-LOO (interpolation, exact
    refits where Pareto k > 0.7), leave-future-out over increasing ``by`` (extrapolation, when ``lfo``)
    and leave-one-group-out over ``group`` (transfer to an unseen family, when given).

    Returns a DataFrame, one row per law (best LFO first when computed, else best LOO):
    ``elpd_loo, se_loo, elpd_lfo, se_lfo, n_lfo, refits_lfo, elpd_logo, se_logo, groups``.
    LOO and LFO/LOGO can rank laws differently: a law that interpolates well may extrapolate badly.
    """
    law_list = _laws(laws)
    runs, fit_x = load_runs_and_x(data, x, y, groups=None if group is None else [group])
    rows = []
    for law in law_list:
        f = _fit_law(runs, law, fit_x, likelihood=likelihood, num_warmup=num_warmup, num_samples=num_samples,
                     num_chains=num_chains, target_accept_prob=target_accept_prob, seed=seed,
                     progress_bar=progress_bar)
        loo = f.loo()
        row = {"law": law.name, "elpd_loo": float(loo.elpd), "se_loo": float(loo.se)}
        if lfo:
            cv = leave_future_out(f, by=by, min_train=min_train)
            row.update(elpd_lfo=cv.elpd, se_lfo=cv.se, n_lfo=cv.n_scored, refits_lfo=cv.n_refits)
        if group is not None:
            cv = leave_one_group_out(f, group)
            row.update(elpd_logo=cv.elpd, se_logo=cv.se, groups=int(runs.frame[group].nunique()))
        rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values("elpd_lfo" if lfo else "elpd_loo", ascending=False).reset_index(drop=True)
