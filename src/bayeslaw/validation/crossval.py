"""Cross-validation that respects scale and groups: leave-future-out and leave-one-group-out.

:func:`leave_future_out` orders the runs by a size and predicts each from the smaller ones only
(``arviz_stats.lfo_cv``: PSIS carries the posterior forward, exact refits where Pareto k > 0.7);
:func:`leave_one_group_out` predicts each group (model family, task) from the others
(``arviz_stats.loo_kfold``, one fold per group). :func:`cross_validate` puts PSIS-LOO, LFO and
LOGO side by side for several laws. Refits go through
:class:`~bayeslaw.validation.refits.RefitWrapper`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr

from ..core.law import Law
from ..core.observation import DEFAULT
from ..core.records import json_value, table_records
from ..errors import BayeslawError, shown
from ..inference.plan import check_enough_runs, plan_models, read_runs
from ..inference.refit import ensure_log_likelihood
from ..inference.result import Fit
from .backtest import fit_named, law_list
from .loo import loo
from .refits import RefitWrapper


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

    @property
    def table(self) -> pd.DataFrame:
        """The pointwise table, indexed by ``run``."""
        return self.pointwise.set_index("run")

    def to_records(self) -> list[dict[str, Any]]:
        """The pointwise table as JSON-safe rows."""
        return table_records(self.table)

    def summary(self) -> dict[str, Any]:
        """elpd, its SE, the runs scored and the refits made, JSON-safe."""
        return {"kind": self.kind, "elpd": json_value(self.elpd), "se": json_value(self.se),
                "n_scored": int(self.n_scored), "n_refits": int(self.n_refits)}


def _ordered_tree(fit: Fit, order: np.ndarray, dim: str) -> xr.DataTree:
    """The fit's posterior and log-likelihood with runs reordered and their dimension renamed."""
    ll = ensure_log_likelihood(fit).idata["log_likelihood"]["log_loss"].isel(run=order).rename(run=dim)
    return xr.DataTree.from_dict({"posterior": fit.idata["posterior"].to_dataset(),
                                  "log_likelihood": xr.Dataset({"log_loss": ll})})


def leave_future_out(fit: Fit, *, by: str = "C", min_train: float | int = 0.5, horizon: int = 1,
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
    runs = fit.runs()
    if by not in runs.variables:
        raise BayeslawError(f"Cannot order runs by {by!r}: it is not a size column of the fit's runs "
                            f"(they have {', '.join(runs.variables)}).")
    if method not in ("approx", "exact"):
        raise BayeslawError(f"method must be 'approx' or 'exact'; got {method!r}.")
    n = len(runs)
    start = int(round(min_train * n)) if isinstance(min_train, float) and min_train < 1 else int(min_train)
    check_enough_runs(fit.law, start, f"min_train={shown(min_train)} gives a first training set that",
                      "raise min_train")
    if start >= n - horizon + 1:
        raise BayeslawError(f"min_train={shown(min_train)} gives {start} training runs of {n}; it must leave "
                            f"{horizon} run(s) to predict: lower min_train.")
    order = np.argsort(runs.frame[by].to_numpy(float), kind="stable")
    ordered = runs.subset(runs.frame.index[order])
    wrapper = RefitWrapper(fit, ordered, dim="time")
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


def leave_one_group_out(fit: Fit, group: str) -> CrossValidation:
    """Leave-one-group-out cross-validation: refit without each group and score its runs
    (``arviz_stats.loo_kfold`` with one fold per group).

    Asks whether a law fitted to some families (architectures, tasks, data sets) predicts a
    family it has not seen. ``group`` is a group column of the fit's runs (see
    :func:`bayeslaw.load_runs`, ``groups=``).
    """
    runs = fit.runs()
    if group not in runs.groups:
        have = ", ".join(runs.groups) or "none"
        raise BayeslawError(f"Cannot leave groups out by {group!r}: it is not a group column of the fit's runs "
                            f"(group columns: {have}); load the runs with groups=[{group!r}].")
    values = runs.frame[group].to_numpy()
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) < 2:
        raise BayeslawError(f"Column {group!r} has one value ({uniques[0]!r}); leave-one-group-out needs two or more.")
    wrapper = RefitWrapper(fit, runs)
    res = azs.loo_kfold(ensure_log_likelihood(fit).idata, wrapper, pointwise=True, var_name="log_loss", folds=codes + 1)
    pointwise = pd.DataFrame({"run": runs.frame.index.to_numpy(), "group": values,
                              "elpd": np.asarray(res.elpd_i.values, float)})
    return CrossValidation("logo", float(res.elpd), float(res.se), len(runs), len(wrapper.refits), pointwise, res)


@dataclass
class CrossValidated:
    """Laws fitted to all runs and scored by PSIS-LOO, leave-future-out and leave-one-group-out, side by side.

    Attributes
    ----------
    table : DataFrame
        One row per law (index ``model``), best LFO first when computed, else best LOO:
        ``elpd_loo, se_loo``, and ``elpd_lfo, se_lfo, n_lfo, refits_lfo`` (with LFO),
        ``elpd_logo, se_logo, groups`` (with LOGO).
    fits : dict of str to Fit
    results : dict
        Per law, ``{"loo": LooResult, "lfo": CrossValidation, "logo": CrossValidation}`` as computed.
    """

    table: pd.DataFrame
    fits: dict[str, Fit]
    results: dict[str, dict[str, Any]]

    def to_records(self) -> list[dict[str, Any]]:
        """The table as JSON-safe rows."""
        return table_records(self.table)


def cross_validate(data: Any, laws: str | Law | Sequence[str | Law], *, by: str = "C", lfo: bool = True,
                   min_train: float | int = 0.5, group: str | None = None, likelihood: str = DEFAULT,
                   x: str | Mapping[str, str] | None = None, y: str | None = None, flops_per_param_token: float = 6.0,
                   progress_bar: bool = False, **sampler: Any) -> CrossValidated:
    """Each law fitted to all runs and scored three ways, side by side: PSIS-LOO (interpolation, exact
    refits where Pareto k > 0.7), leave-future-out over increasing ``by`` (extrapolation, when ``lfo``)
    and leave-one-group-out over ``group`` (transfer to an unseen family, when given).

    LOO and LFO/LOGO can rank laws differently: a law that interpolates well may extrapolate badly.
    ``sampler`` takes :func:`bayeslaw.fit`'s NUTS settings.
    """
    laws = law_list(laws)
    runs, fit_x = read_runs(data, laws, x=x, y=y, groups=None if group is None else [group],
                            flops_per_param_token=flops_per_param_token)
    plans = plan_models(runs, laws, fit_x=fit_x, likelihoods=(likelihood,), **sampler)
    rows, fits, results = [], {}, {}
    for name, plan in plans.items():
        f = fits[name] = fit_named(name, plan, progress_bar=progress_bar)
        res = results[name] = {"loo": loo(f)}
        row = {"model": name, "elpd_loo": res["loo"].elpd_loo, "se_loo": res["loo"].se}
        if lfo:
            cv = res["lfo"] = leave_future_out(f, by=by, min_train=min_train)
            row.update(elpd_lfo=cv.elpd, se_lfo=cv.se, n_lfo=cv.n_scored, refits_lfo=cv.n_refits)
        if group is not None:
            cv = res["logo"] = leave_one_group_out(f, group)
            row.update(elpd_logo=cv.elpd, se_logo=cv.se, groups=int(runs.frame[group].nunique()))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    table = table.sort_values("elpd_lfo" if lfo else "elpd_loo", ascending=False)
    return CrossValidated(table=table, fits=fits, results=results)
