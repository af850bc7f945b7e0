"""Comparing fits of the same runs by PSIS-LOO, and the law x likelihood grid that makes them.

:func:`compare` scores each fit by PSIS-LOO with exact refits where PSIS fails
(:func:`bayeslaw.loo`); ``arviz_stats.compare`` then ranks the fits (Δelpd to the best, SE of
the difference, rank 0 for the best). The weights (stacking, pseudo-BMA+ or pseudo-BMA, named as
in ``arviz_stats.compare``) and their Bayesian-bootstrap interval come from the pointwise LOO
values (:func:`bayeslaw.validation.weights.model_weights`); :func:`reweigh` gives a comparison
other weights without recomputing LOO. Given one collection of fits per model
(:func:`bayeslaw.fit_many` of each law on the same curves), :func:`compare` compares the models
curve by curve. :func:`fit_models` fits a grid of laws and likelihoods to one run table, every plan
checked before the first fit, and :func:`compare_models` compares them: what ``bayeslaw compare`` runs
(learning curves, whose checkpoints PSIS-LOO cannot score, are weighed by a backtest instead).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import arviz_stats as azs
import numpy as np
import pandas as pd

from ..core.catalogue import get_law
from ..core.collection import Each, for_each, per_key
from ..core.law import Law
from ..core.observation import DEFAULT
from ..core.records import json_value, resolve_ci_prob
from ..errors import BayeslawError, DiagnosticWarning
from ..inference.fit import fit as fit_one
from ..inference.plan import plan_models, read_runs
from .loo import PARETO_K_MAX, LooResult, loo
from .refits import plain
from .weights import N_BOOTSTRAP, check_method, model_weights, shown_weight

#: Columns of :attr:`Comparison.table`, in order.
COLUMNS = ("rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "weight_lower", "weight_upper",
           "n_pareto_k_high", "n_refitted", "likelihood", "law", "checks_passed", "failed_checks")
#: Values of ``compare(..., failed=)``: what a fit that failed its diagnostic checks gets.
FAILED = ("exclude", "include")


@dataclass
class Comparison:
    """Fits ranked by PSIS-LOO (with exact refits where PSIS failed).

    Attributes
    ----------
    table : DataFrame
        One row per fit (index ``model``), best first: ``rank``, ``elpd_loo``, ``se``,
        ``elpd_diff`` (to the best), ``dse`` (SE of the difference), ``p_loo``, ``weight``
        (stacking unless another method was asked for), ``weight_lower`` and ``weight_upper``
        (the ``ci_prob`` interval of the weight's Bayesian-bootstrap distribution), ``n_pareto_k_high`` (runs with
        PSIS k > ``pareto_k_max``), ``n_refitted`` (of those, how many were refitted exactly),
        ``likelihood``, ``law``, ``checks_passed`` (the fit passed R-hat, ESS, divergence and E-BFMI
        checks) and ``failed_checks`` (the names of those it failed, comma-separated).
    loo : dict
        Per fit, a :class:`LooResult` (the ELPD object, Pareto k, refitted runs).
    method : str
        How the weights were computed (``"stacking"``, ``"bb-pseudo-bma"``, ``"pseudo-bma"``).
    pareto_k_max : float
    fits : dict
        The compared fits, by name (:func:`bayeslaw.stack` averages them with these weights).
    ci_prob : float or None
        Mass of the weights' intervals.
    weight_draws : DataFrame or None
        The weights' Bayesian-bootstrap replicates: one row per replicate, one column per fit.
    excluded : tuple of str
        Fits that failed their checks and were given no weight (``compare(..., failed="exclude")``).
    """

    table: pd.DataFrame
    loo: dict[str, LooResult]
    method: str
    pareto_k_max: float
    fits: dict[str, Any] = field(default_factory=dict)
    ci_prob: float | None = None
    weight_draws: pd.DataFrame | None = None
    excluded: tuple[str, ...] = ()

    @property
    def elpd(self) -> dict[str, Any]:
        """Per fit, the arviz-stats ELPD object (pointwise, refits included)."""
        return {name: r.elpd for name, r in self.loo.items()}

    @property
    def weights(self) -> pd.Series:
        """The weights of the fits (stacking unless another method was asked for), by name."""
        return self.table["weight"]

    @property
    def pointwise(self) -> pd.DataFrame:
        """The pointwise elpd_loo (refits included): one row per run, one column per fit (table order)."""
        names = list(self.table.index)
        first = self.loo[names[0]].elpd.elpd_i
        return pd.DataFrame({n: np.asarray(self.loo[n].elpd.elpd_i.values, float).ravel() for n in names},
                            index=pd.Index([plain(v) for v in first["run"].values], name="run"))

    @property
    def best(self) -> str:
        """The name of the fit with the highest elpd_loo (rank 0)."""
        return str(self.table.index[0])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-able rows (keys as in docs/cli.md); weights below ``WEIGHT_FLOOR`` (1e-9) are written as 0."""
        out = []
        for name, row in self.table.iterrows():
            r = self.loo[name]
            out.append(json_value({
                        "model": str(name), "law": str(row["law"]), "likelihood": str(row["likelihood"]),
                        "rank": int(row["rank"]), "elpd_loo": row["elpd_loo"], "se": row["se"],
                        "elpd_diff": row["elpd_diff"], "dse": row["dse"], "p_loo": row["p_loo"],
                        "weight": shown_weight(row["weight"]), "weight_lower": shown_weight(row.get("weight_lower")),
                        "weight_upper": shown_weight(row.get("weight_upper")), "ci_prob": self.ci_prob,
                        "n_pareto_k_high": int(row["n_pareto_k_high"]), "n_refitted": int(row["n_refitted"]),
                        "checks_passed": bool(row["checks_passed"]),
                        "failed_checks": [x for x in str(row["failed_checks"]).split(", ") if x],
                        "weighted": str(name) not in self.excluded,
                        "refitted_runs": [plain(v) for v in r.refitted_runs],
                        "pareto_k_high_runs": [plain(v) for v in r.high_k_runs],
                        "refit_diagnostics": [{"run": plain(d["run"]), "checks": [c["check"] for c in d["diagnostics"]]}
                                              for d in r.refit_diagnostics]}))
        return out

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.table)} fits by PSIS-LOO ({self.method}); best {self.best!r}>"


def compare(fits: Mapping[str, Any], *, method: str = "stacking", pareto_k_max: float = PARETO_K_MAX,
            refit: bool = True, ci_prob: float | None = None, n_bootstrap: int = N_BOOTSTRAP,
            bootstrap_seed: int = 0, failed: str = "exclude") -> Comparison | Each:
    """Rank fits of the same runs by PSIS-LOO, refitting exactly where PSIS fails, and weigh them.

    Parameters
    ----------
    fits : dict of str to Fit, or of str to Fits
        Two or more fits of the same runs (different laws, likelihoods or priors). Or one collection per
        model (:func:`bayeslaw.fit_many` of each law, with the same keys): the models are compared curve by
        curve, and the result is an :class:`~bayeslaw.core.collection.Each` of comparisons keyed by curve
        (``.table`` stacks them; warnings and refusals name the curve).
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}
        The weights, named as in ``arviz_stats.compare``: stacking of the LOO predictive
        densities; pseudo-BMA+ (``w ∝ exp(elpd_loo)`` averaged over Bayesian-bootstrap replicates);
        pseudo-BMA without the bootstrap (see :mod:`bayeslaw.validation.weights`).
    pareto_k_max : float, default 0.7
        Runs with PSIS Pareto k above this are refitted exactly (``refit=True``).
    refit : bool, default True
        Refit without each high-k run; with False their PSIS values are kept (and counted)
        and a :class:`~bayeslaw.errors.DiagnosticWarning` says the numbers are unreliable.
    ci_prob : float, optional
        Mass of the weights' intervals (``weight_lower``, ``weight_upper``; default ArviZ's
        ``rcParams["stats.ci_prob"]``).
    n_bootstrap, bootstrap_seed : int
        Bayesian-bootstrap replicates of the pointwise LOO values behind the intervals (and
        behind pseudo-BMA+'s weights), and the seed of their Dirichlet draws.
    failed : {"exclude", "include"}
        What a fit that failed its diagnostic checks gets: no weight, with a
        :class:`~bayeslaw.errors.DiagnosticWarning` that names it and says to refit it (the
        default; its elpd is still ranked), or a weight like the others (no warning; the table
        still flags it). When every fit failed, all are weighed and the warning says so.

    Returns
    -------
    Comparison, or Each of Comparison (one collection of fits per model)
    """
    if failed not in FAILED:
        raise BayeslawError(f"failed= must be one of {', '.join(FAILED)}; got {failed!r}.")
    per = per_key(fits, "compare()")
    if per is not None:
        kw = dict(method=check_method(method), pareto_k_max=pareto_k_max, refit=refit, ci_prob=ci_prob,
                  n_bootstrap=n_bootstrap, bootstrap_seed=bootstrap_seed, failed=failed)
        return for_each(per, lambda models: compare(models, **kw), name=next(iter(fits.values())).name)
    if isinstance(fits, Each):
        raise BayeslawError("compare() ranks models of the same runs, and this collection holds fits of different "
                            "data sets; pass one collection per model, e.g. compare({'power_law': fits_a, "
                            "'m4': fits_b}).")
    if not isinstance(fits, Mapping) or len(fits) < 2:
        raise BayeslawError("compare() takes a dict of at least two fits, e.g. {'chinchilla': f1, 'kaplan': f2}.")
    method = check_method(method)
    hashes = {name: f.spec.data.hash for name, f in fits.items()}
    n_runs = {name: f.idata["observed_data"].sizes["run"] for name, f in fits.items()}
    if len(set(n_runs.values())) > 1:
        raise BayeslawError("The fits were made on different numbers of runs "
                            f"({', '.join(f'{k}: {v}' for k, v in n_runs.items())}); LOO compares fits of the same runs.")
    obs = [np.asarray(f.idata["observed_data"]["log_loss"].values) for f in fits.values()]
    if any(not np.allclose(o, obs[0]) for o in obs[1:]):
        raise BayeslawError("The fits were made on different losses (data hashes "
                            f"{', '.join(f'{k}: {v}' for k, v in hashes.items())}); LOO compares fits of the same runs.")
    results = {str(name): loo(f, pareto_k_max=pareto_k_max, refit=refit) for name, f in fits.items()}
    if not refit:
        bad = {n: len(r.high_k_runs) for n, r in results.items() if r.high_k_runs}
        if bad:
            warnings.warn("PSIS-LOO is unreliable for " + ", ".join(f"{n} ({v} run(s) with Pareto k > {pareto_k_max})"
                                                                     for n, v in bad.items())
                          + "; compare with refit=True to refit those runs exactly.", DiagnosticWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        cmp = azs.compare({n: r.elpd for n, r in results.items()}, method="stacking", round_to="none")
    cmp = pd.DataFrame(cmp)
    table = pd.DataFrame({
        "rank": cmp["rank"].astype(int),
        "elpd_loo": cmp["elpd"].astype(float),
        "se": [results[n].se for n in cmp.index],
        "elpd_diff": cmp["elpd_diff"].astype(float),
        "dse": cmp["dse"].astype(float),
        "p_loo": cmp["p"].astype(float),
    }, index=cmp.index)
    table["n_pareto_k_high"] = [len(results[n].high_k_runs) for n in table.index]
    table["n_refitted"] = [len(results[n].refitted_runs) for n in table.index]
    table["likelihood"] = [fits[n].spec.likelihood for n in table.index]
    table["law"] = [fits[n].law.name for n in table.index]
    failed_checks = {n: [d["check"] for d in fits[n].spec.diagnostics] for n in table.index}
    table["checks_passed"] = [not failed_checks[n] for n in table.index]
    table["failed_checks"] = [", ".join(failed_checks[n]) for n in table.index]
    table = table.sort_values("rank")
    table.index.name = "model"
    bad = [str(n) for n in table.index if failed_checks[n]]
    excluded = tuple(bad) if failed == "exclude" and len(bad) < len(table) else ()
    if bad and failed == "exclude":  # with "include" the caller chose to weigh them; the table still flags them
        what = "; ".join(f"{n} ({', '.join(failed_checks[n])})" for n in bad)
        fate = "they get no weight in the average" if excluded else "every fit failed, so all are weighed anyway"
        warnings.warn(f"Some compared fits failed their diagnostic checks: {what}; {fate}. Refit them with more "
                      "warmup or target_accept_prob=0.95 (--num-warmup 2000 --target-accept-prob 0.95) before "
                      "trusting their elpd.", DiagnosticWarning, stacklevel=2)
    out = Comparison(table=table, loo=results, method=method, pareto_k_max=pareto_k_max,
                     fits={str(n): f for n, f in fits.items()}, excluded=excluded)
    return reweigh(out, method, ci_prob=ci_prob, n_bootstrap=n_bootstrap, bootstrap_seed=bootstrap_seed)


def reweigh(comparison: Comparison, method: str, *, ci_prob: float | None = None, n_bootstrap: int = N_BOOTSTRAP,
            bootstrap_seed: int = 0) -> Comparison:
    """The comparison with weights by ``method`` and their Bayesian-bootstrap interval, from its pointwise
    LOO values (nothing is refitted); ``method``, ``ci_prob``, ``n_bootstrap`` and ``bootstrap_seed`` as for
    :func:`compare`."""
    method = check_method(method)
    if not comparison.loo:
        raise BayeslawError("This comparison holds no pointwise LOO values to weigh; make it with bayeslaw.compare.")
    pointwise = comparison.pointwise
    kept = [n for n in pointwise.columns if n not in comparison.excluded]
    mw = model_weights(pointwise[kept].to_numpy(float), method, ci_prob=ci_prob, n_bootstrap=n_bootstrap,
                       seed=bootstrap_seed)
    table = comparison.table.drop(columns=["weight", "weight_lower", "weight_upper"], errors="ignore")
    for col, values in (("weight", mw.weights), ("weight_lower", mw.lower), ("weight_upper", mw.upper)):
        table[col] = pd.Series(values, index=kept).reindex(table.index).fillna(0.0).to_numpy(float)
    draws = pd.DataFrame(mw.draws, columns=pd.Index(kept, name="model")).reindex(
        columns=pd.Index(list(pointwise.columns), name="model"), fill_value=0.0)
    draws.index.name = "replicate"
    return Comparison(table=table[list(COLUMNS)], loo=comparison.loo, method=method,
                      pareto_k_max=comparison.pareto_k_max, fits=comparison.fits, ci_prob=mw.ci_prob,
                      weight_draws=draws, excluded=comparison.excluded)


def fit_models(data: Any, laws: str | Law | Sequence[str | Law], *, likelihoods: Iterable[str | None] = (None,),
               x: str | Mapping[str, str] | None = None, y: str | None = None,
               groups: Iterable[str] | None = None, run: str | None = None, flops_per_param_token: float = 6.0,
               progress_bar: bool = False, **sampler: Any) -> dict[str, Any]:
    """Fit every law with every likelihood to the same runs: the fits :func:`compare_models` compares, by name.

    Every plan (runs, law, likelihood, priors, sampler settings) is checked before the first fit, so bad input is
    refused at once. Models are named by law, or ``law/likelihood`` when several likelihoods are given; each fit's
    diagnostic warnings are re-issued with its name in front. A likelihood of ``None`` is the data's default
    (``learning_curve`` when ``run`` names a column with several rows per run, else ``student_t``).
    """
    laws = [laws] if isinstance(laws, (str, Law)) else list(dict.fromkeys(laws))
    liks = list(dict.fromkeys(likelihoods))
    if not laws:
        raise BayeslawError("Give the laws to compare, e.g. laws=['chinchilla', 'compute'] (--law chinchilla "
                            "--law compute; see `bayeslaw laws`).")
    if len(laws) * len(liks) < 2:
        raise BayeslawError("compare needs at least two models: give two or more laws, or two likelihoods "
                            "(e.g. --likelihood student_t --likelihood normal).")
    law_objs = [get_law(law) for law in laws]
    runs, fit_x = read_runs(data, law_objs, x=x, y=y, groups=groups, flops_per_param_token=flops_per_param_token)
    plans = plan_models(runs, law_objs, fit_x=fit_x, likelihoods=liks, run=run, **sampler)
    fits = {}
    for name, plan in plans.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits[name] = fit_one(plan, progress_bar=progress_bar)
        for w in caught:  # say which model each warning is about
            warnings.warn(f"{name}: {w.message}", w.category, stacklevel=2)
    return fits


def compare_models(data: Any, laws: str | Law | Sequence[str | Law], *, likelihoods: Iterable[str] = (DEFAULT,),
                   x: str | Mapping[str, str] | None = None, y: str | None = None,
                   groups: Iterable[str] | None = None, flops_per_param_token: float = 6.0, method: str = "stacking",
                   pareto_k_max: float = PARETO_K_MAX, refit: bool = True, ci_prob: float | None = None,
                   failed: str = "exclude", progress_bar: bool = False, **sampler: Any) -> Comparison:
    """Fit every law with every likelihood to the same runs (:func:`fit_models`) and compare them by PSIS-LOO.

    ``sampler`` takes :func:`bayeslaw.fit`'s NUTS settings (``num_samples``, ``seed``, ...); ``method``
    ``ci_prob`` and ``failed`` are :func:`compare`'s (the weights, the mass of their intervals, and what a fit
    that failed its checks gets).

    Returns
    -------
    Comparison
        Its ``fits`` are the fitted models (``bayeslaw.stack(comparison)`` averages them).
    """
    method = check_method(method)
    ci_prob = resolve_ci_prob(ci_prob)
    fits = fit_models(data, laws, likelihoods=likelihoods, x=x, y=y, groups=groups,
                      flops_per_param_token=flops_per_param_token, progress_bar=progress_bar, **sampler)
    return compare(fits, method=method, pareto_k_max=pareto_k_max, refit=refit, ci_prob=ci_prob, failed=failed)
