"""Comparing fits: PSIS-LOO with exact refits where PSIS fails, stacking weights, prior sensitivity.

:func:`compare` scores each fit by its expected log pointwise predictive density
estimated with Pareto-smoothed importance sampling leave-one-out (``arviz_stats.loo``).
Runs whose Pareto shape k exceeds ``pareto_k_max`` (0.7) are the ones PSIS cannot
estimate; they are refitted exactly: the same law, likelihood, priors and sampler
settings on the runs without that one (``arviz_stats.reloo`` drives the refits), and
the held-out run's log predictive density is the log-mean-exp over the refit's draws
of the likelihood's density of its log loss. ``arviz_stats.compare`` then ranks the
fits (Δelpd to the best, SE of the difference) and computes stacking weights.

:func:`prior_sensitivity` runs power-scaling sensitivity analysis
(``arviz_stats.psense_summary``, Kallioinen et al. 2024) on a fit: the log prior of
every draw is computed from the fit's recorded priors and added as a ``log_prior`` group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .errors import BayeslawError, DiagnosticWarning

#: Pareto shape above which PSIS-LOO is not trusted (Vehtari et al. 2024, JMLR 25(72)).
PARETO_K_MAX = 0.7

#: Columns of :attr:`Comparison.table`, in order.
COLUMNS = ("rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "n_pareto_k_high", "n_refitted",
           "likelihood", "law")


# -- rebuilding a fit's data and refitting -------------------------------------------------


def runs_of(fit):
    """The run table a fit was made from, rebuilt from its DataTree (constant and observed data)."""
    from .data import Runs

    const = fit.idata["constant_data"]
    data = fit.spec["data"]
    groups = [g for g in data.get("groups", []) if g in const.data_vars]
    variables = [v for v in ("x", "N", "D", "C", "U") if v in const.data_vars]
    index = const["run"].values
    frame = pd.DataFrame({v: np.asarray(const[v].values, float) for v in variables}, index=index)
    frame["loss"] = np.exp(np.asarray(fit.idata["observed_data"]["log_loss"].values, float))
    for g in groups:
        frame[g] = const[g].values
    return Runs(frame, dict(data.get("columns", {})), dict(data.get("derived", {})), tuple(groups),
                str(data.get("source", "<DataFrame>")), float(data.get("flops_per_param_token", 6.0)))


def fixed_priors(fit) -> dict[str, Any]:
    """The fit's priors with reference-scale symbols (y0, log_y0) replaced by the fit's values.

    A refit on a subset of the runs then uses exactly the same prior densities as the
    original fit, not ones re-derived from the subset's geometric-mean loss.
    """
    from .priors import Prior

    refs = fit.spec["reference_scales"]["prior_symbols"]
    out = {}
    for k, d in fit.spec["priors"].items():
        p = Prior.from_dict(d)
        out[k] = Prior(p.dist, **p.resolved_params(refs))
    return out


def refit(fit, runs, *, seed: int | None = None, check: bool = False, priors: Mapping[str, Any] | None = None):
    """Fit the same law, likelihood, priors and sampler settings to other runs (e.g. a subset).

    ``priors`` replaces the fit's priors with reference scales fixed at its values (:func:`fixed_priors`).
    """
    from .engine import fit as _fit

    s = fit.spec["sampler"]
    design = fit.spec["data"]["design"]
    x = design["x"] if tuple(fit.law.inputs) == ("x",) else None
    priors = fixed_priors(fit) if priors is None else priors
    return _fit(runs, fit.law, x=x, priors=priors, likelihood=fit.spec["likelihood"],
                num_warmup=int(s["num_warmup"]), num_samples=int(s["num_samples"]),
                num_chains=int(s["num_chains"]), chain_method=s.get("chain_method"),
                target_accept_prob=float(s.get("target_accept_prob", 0.8)),
                dense_mass=bool(s.get("dense_mass", True)), seed=int(s["seed"] if seed is None else seed),
                progress_bar=False, check=check)


def log_density(fit, runs) -> np.ndarray:
    """Log likelihood of each run in ``runs`` under each posterior draw of ``fit``: (chain, draw, run)."""
    from scipy import stats

    from .predict import log_mean_draws

    design = fit.spec["data"]["design"]
    inputs = {col: runs.frame[col].to_numpy(float) for col in design.values()}
    mu = log_mean_draws(fit, inputs)
    y = np.log(runs.loss)[None, :]
    sigma = fit.draws("sigma")[:, None]
    if fit.spec["likelihood"] == "student_t":
        out = stats.t.logpdf(y, df=fit.draws("nu")[:, None], loc=mu, scale=sigma)
    else:
        out = stats.norm.logpdf(y, loc=mu, scale=sigma)
    post = fit.idata["posterior"]
    return out.reshape(post.sizes["chain"], post.sizes["draw"], -1)


def held_out_elpd(fit_without, run) -> float:
    """log p(y_i | y_-i): log-mean-exp over the draws of a fit made without run ``i`` (a one-row Runs)."""
    from scipy.special import logsumexp

    ll = log_density(fit_without, run).reshape(-1)
    return float(logsumexp(ll) - np.log(ll.size))


def refit_wrapper(fit, runs=None, dim: str = "run"):
    """An ``arviz_stats.SamplingWrapper`` that refits ``fit``'s model on subsets of ``runs``.

    One wrapper serves ``reloo`` (exact LOO refits), ``loo_kfold`` (leave-one-group-out) and
    ``lfo_cv`` (leave-future-out): observations are positions in ``runs`` (default: the fit's
    own runs; pass them reordered, e.g. by scale, for LFO), each refit uses the same law,
    likelihood, priors and sampler settings (:func:`refit`), and the left-out runs are scored
    along ``dim``. Every refit is recorded in ``.refits`` (the runs it left out and the
    diagnostic checks it failed).
    """
    from arviz_stats import SamplingWrapper

    class _Refit(SamplingWrapper):
        def __init__(self):
            super().__init__(model=fit.law, idata_orig=fit.idata)
            self.runs = runs_of(fit) if runs is None else runs
            self.refits: list[dict[str, Any]] = []
            self._fits: dict[int, Any] = {}

        def sel_observations(self, idx):
            if isinstance(idx, dict):  # reloo passes {"run": label}
                pos = np.flatnonzero(self.runs.frame.index == idx["run"])
            else:
                pos = np.asarray(idx, int).ravel()
            mask = np.ones(len(self.runs), bool)
            mask[pos] = False
            return self.runs.subset(mask), self.runs.subset(~mask)

        def sample(self, modified_observed_data):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a refit's sampler warnings are recorded, not the user's fit's
                return refit(fit, modified_observed_data)

        def get_inference_data(self, fitted_model):
            self._fits[id(fitted_model.idata)] = fitted_model
            return fitted_model.idata

        def log_likelihood__i(self, excluded_obs, idata__i):
            f = self._fits.pop(id(idata__i))  # each refit is scored once
            labels = excluded_obs.frame.index.to_numpy()
            self.refits.append({"runs": [_plain(v) for v in labels], "run": _plain(labels[0]),
                                "diagnostics": f.diagnostics})
            return xr.DataArray(log_density(f, excluded_obs), dims=("chain", "draw", dim), coords={dim: labels})

    return _Refit()


# -- LOO of one fit -------------------------------------------------------------------------


@dataclass
class LooResult:
    """PSIS-LOO of one fit, with exact refits for the runs PSIS could not handle."""

    elpd: Any  # arviz_stats ELPDData (pointwise)
    pareto_k: np.ndarray  # PSIS Pareto k per run, before any refit
    high_k_runs: list  # run labels with k > pareto_k_max
    refitted_runs: list  # run labels whose elpd_i comes from an exact refit
    refit_diagnostics: list = field(default_factory=list)


def _psis(fit):
    import arviz_stats as azs

    with warnings.catch_warnings():
        # high Pareto k is reported (and refitted) by this module, not warned about by ArviZ
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*shape parameter.*", category=UserWarning)
        return azs.loo(fit.idata, pointwise=True, var_name="log_loss")


def loo(fit, *, pareto_k_max: float = PARETO_K_MAX, refit: bool = True) -> LooResult:
    """PSIS-LOO of a fit; runs with Pareto k > ``pareto_k_max`` are refitted exactly when ``refit``."""
    import arviz_stats as azs

    if not 0 < pareto_k_max < 1.5:
        raise BayeslawError(f"pareto_k_max must be between 0 and 1.5 (0.7 is the usual threshold); got {pareto_k_max!r}.")
    psis = _psis(fit)
    k = np.asarray(psis.pareto_k.values, float)
    labels = psis.pareto_k["run"].values
    high = [lab.item() if hasattr(lab, "item") else lab for lab in labels[k > pareto_k_max]]
    if not high or not refit:
        return LooResult(psis, k, high, [])
    wrapper = refit_wrapper(fit)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        done = azs.reloo(wrapper, loo_orig=psis, var_name="log_loss", k_threshold=pareto_k_max, pointwise=True)
    return LooResult(done, k, high, [r["run"] for r in wrapper.refits],
                     [{"run": r["run"], "diagnostics": r["diagnostics"]} for r in wrapper.refits if r["diagnostics"]])


# -- comparison -----------------------------------------------------------------------------


@dataclass
class Comparison:
    """Fits ranked by PSIS-LOO (with exact refits where PSIS failed).

    Attributes
    ----------
    table : DataFrame
        One row per fit (index ``model``), best first: ``rank``, ``elpd_loo``, ``se``,
        ``elpd_diff`` (to the best), ``dse`` (SE of the difference), ``p_loo``, ``weight``
        (stacking unless another method was asked for), ``n_pareto_k_high`` (runs with
        PSIS k > ``pareto_k_max``), ``n_refitted`` (of those, how many were refitted exactly),
        ``likelihood`` and ``law``.
    loo : dict
        Per fit, a :class:`LooResult` (the ELPD object, Pareto k, refitted runs).
    method : str
        How the weights were computed (``"stacking"``, ``"bb-pseudo-bma"``, ``"pseudo-bma"``).
    pareto_k_max : float
    fits : dict
        The compared fits, by name (:meth:`stack` averages them with these weights).
    """

    table: pd.DataFrame
    loo: dict[str, LooResult]
    method: str
    pareto_k_max: float
    fits: dict[str, Any] = field(default_factory=dict)

    @property
    def elpd(self) -> dict[str, Any]:
        """Per fit, the arviz-stats ELPD object (pointwise, refits included)."""
        return {name: r.elpd for name, r in self.loo.items()}

    @property
    def weights(self) -> pd.Series:
        return self.table["weight"]

    @property
    def best(self) -> str:
        return str(self.table.index[0])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-able rows (keys as in docs/cli.md)."""
        out = []
        for name, row in self.table.iterrows():
            r = self.loo[name]
            out.append({"name": str(name), "law": str(row["law"]), "likelihood": str(row["likelihood"]),
                        "rank": int(row["rank"]), "elpd_loo": float(row["elpd_loo"]), "se": float(row["se"]),
                        "elpd_diff": float(row["elpd_diff"]), "dse": float(row["dse"]),
                        "p_loo": float(row["p_loo"]), "weight": float(row["weight"]),
                        "n_pareto_k_high": int(row["n_pareto_k_high"]), "n_refitted": int(row["n_refitted"]),
                        "refitted_runs": [_plain(v) for v in r.refitted_runs],
                        "pareto_k_high_runs": [_plain(v) for v in r.high_k_runs],
                        "refit_diagnostics": [{"run": _plain(d["run"]), "checks": [c["check"] for c in d["diagnostics"]]}
                                              for d in r.refit_diagnostics]})
        return out

    def plot(self, *, relative_scale: bool = True, backend: str = "matplotlib", **kwargs):
        """The comparison plot (``arviz_plots.plot_compare``): elpd_loo (or the difference to the best)
        with its SE per model, best on top. Returns the PlotCollection; save it with
        :func:`bayeslaw.plots.save_figure`."""
        import arviz_plots as azp

        frame = self.table.rename(columns={"elpd_loo": "elpd"})
        return azp.plot_compare(frame, relative_scale=relative_scale, backend=backend, **kwargs)

    def stack(self):
        """The stacked predictive of the compared fits with these weights (:func:`bayeslaw.stack`)."""
        from .averaging import stack

        if not self.fits:
            raise BayeslawError("This comparison holds no fits; use bayeslaw.stack(fits, weights=comparison).")
        return stack(self.fits, weights=self)

    def __repr__(self) -> str:
        return f"<Comparison of {len(self.table)} fits by PSIS-LOO ({self.method}); best {self.best!r}>"


def _plain(v):
    return v.item() if hasattr(v, "item") else v


def compare(fits: Mapping[str, Any], *, method: str = "stacking", pareto_k_max: float = PARETO_K_MAX,
            refit: bool = True) -> Comparison:
    """Rank fits of the same runs by PSIS-LOO, refitting exactly where PSIS fails.

    Parameters
    ----------
    fits : dict of str to Fit
        Two or more fits of the same runs (different laws, likelihoods or priors).
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}
        How ``arviz_stats.compare`` computes the weights.
    pareto_k_max : float, default 0.7
        Runs with PSIS Pareto k above this are refitted exactly (``refit=True``).
    refit : bool, default True
        Refit without each high-k run; with False their PSIS values are kept (and counted)
        and a :class:`~bayeslaw.errors.DiagnosticWarning` says the numbers are unreliable.

    Returns
    -------
    Comparison
    """
    import arviz_stats as azs

    if not isinstance(fits, Mapping) or len(fits) < 2:
        raise BayeslawError("compare() takes a dict of at least two fits, e.g. {'chinchilla': f1, 'kaplan': f2}.")
    if method not in ("stacking", "bb-pseudo-bma", "pseudo-bma"):
        raise BayeslawError(f"method must be 'stacking', 'bb-pseudo-bma' or 'pseudo-bma'; got {method!r}.")
    hashes = {name: f.spec.get("data", {}).get("hash") for name, f in fits.items()}
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
        cmp = azs.compare({n: r.elpd for n, r in results.items()}, method=method, round_to="none")
    cmp = pd.DataFrame(cmp)
    table = pd.DataFrame({
        "rank": cmp["rank"].astype(int),
        "elpd_loo": cmp["elpd"].astype(float),
        "se": cmp["se"].astype(float),
        "elpd_diff": cmp["elpd_diff"].astype(float),
        "dse": cmp["dse"].astype(float),
        "p_loo": cmp["p"].astype(float),
        "weight": cmp["weight"].astype(float),
    }, index=cmp.index)
    table["n_pareto_k_high"] = [len(results[n].high_k_runs) for n in table.index]
    table["n_refitted"] = [len(results[n].refitted_runs) for n in table.index]
    table["likelihood"] = [fits[n].spec.get("likelihood") for n in table.index]
    table["law"] = [fits[n].law.name for n in table.index]
    table = table.sort_values("rank")
    table.index.name = "model"
    return Comparison(table=table[list(COLUMNS)], loo=results, method=method, pareto_k_max=pareto_k_max,
                      fits={str(n): f for n, f in fits.items()})


# -- prior sensitivity ------------------------------------------------------------------------


def log_prior_draws(fit) -> dict[str, np.ndarray]:
    """Log prior density of each sampled parameter at each posterior draw: name -> (chain, draw).

    The posterior holds the sampled parameters on their own (constrained) scale, so the log
    density is that of the recorded prior at the drawn value.
    """
    import jax

    from .priors import Prior

    refs = fit.spec["reference_scales"]["prior_symbols"]
    post = fit.idata["posterior"]
    out = {}
    with jax.enable_x64(True):
        for name, d in fit.spec["priors"].items():
            if name not in post.data_vars:
                continue
            dist = Prior.from_dict(d).resolve(refs)
            out[name] = np.asarray(dist.log_prob(np.asarray(post[name].values, float)), float)
    return out


def with_log_prior(fit) -> xr.DataTree:
    """The fit's DataTree plus a ``log_prior`` group (one variable per sampled parameter)."""
    import arviz_base as azb

    post = fit.idata["posterior"]
    lp = azb.from_dict({"log_prior": log_prior_draws(fit)},
                       coords={"chain": post["chain"].values, "draw": post["draw"].values})
    tree = fit.idata.copy()
    tree["log_prior"] = lp["log_prior"]
    return tree


def prior_sensitivity(fit, *, var_names: list[str] | None = None, threshold: float = 0.05) -> pd.DataFrame:
    """Power-scaling prior and likelihood sensitivity of each parameter (``arviz_stats.psense_summary``).

    Returns
    -------
    DataFrame
        One row per parameter (index ``param``): ``prior`` and ``likelihood`` (cumulative
        Jensen-Shannon sensitivity to power-scaling each), ``diagnosis`` as ArviZ words it
        (``"✓"``, ``"potential strong prior / weak likelihood"``, ``"potential prior-data
        conflict"``) and ``dominated_by``: ``"prior"`` where the prior is sensitive and the
        likelihood is not, ``"prior-data conflict"`` where both are, else ``"likelihood"``.
    """
    import logging

    import arviz_stats as azs

    names = var_names or fit.param_names
    tree = with_log_prior(fit)
    logger = logging.getLogger("arviz_stats")
    level = logger.level
    logger.setLevel(logging.ERROR)  # psense_summary logs a pointer to docs when it flags something
    try:
        table = pd.DataFrame(azs.psense_summary(tree, var_names=names, threshold=threshold, round_to=6))
    finally:
        logger.setLevel(level)
    table.index.name = "param"

    def dominated(row):
        if row["prior"] >= threshold and row["likelihood"] >= threshold:
            return "prior-data conflict"
        if row["prior"] > threshold > row["likelihood"]:
            return "prior"
        return "likelihood"

    table["dominated_by"] = table.apply(dominated, axis=1)
    return table
