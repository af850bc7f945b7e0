"""Figures of the posterior made with arviz-plots: parameters over their priors, sampler diagnostics,
and the ELPD comparison. Each returns the matplotlib Figure it drew."""

from __future__ import annotations

import math

import arviz_plots as azp
import numpy as np
import xarray as xr

from ..errors import BayeslawError
from ..inference.diagnostics import diagnostic_numbers
from ..inference.result import Fit
from ..validation.compare import Comparison
from .style import as_figure, check_names, tidy_arviz_figure


def plot_params(fit: Fit, var_names: list[str] | None = None, *, log_scale: str | bool | list[str] = "auto",
                kind: str = "kde"):
    """Marginal posterior of each parameter with its prior overlaid (``arviz_plots.plot_prior_posterior``).

    Conventional amplitudes such as Chinchilla's A and B have priors spanning many decades, so on
    a linear axis the posterior is an invisible spike next to a flat prior. With
    ``log_scale="auto"`` every positive variable whose prior's 1-99% range spans more than two
    decades is drawn as ``log10 <name>`` (the usual way such constants are compared across papers):
    with the default priors that is the amplitudes (A, B), the floor E and the noise scale sigma;
    exponents and nu stay linear. A posterior much narrower than its prior means the data, not
    the prior, determine it.

    Parameters
    ----------
    fit : Fit
    var_names : list of str, optional
        Default: the law's reported parameters, then the noise model's.
    log_scale : "auto", bool or list of str
        Which variables to show as log10: the automatic rule, all positive ones, none, or the names listed.
    kind : {"kde", "hist", "ecdf"}
        Density representation, passed to arviz-plots.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(var_names) if var_names is not None else fit.param_names
    check_names(fit, names)
    if "prior" not in fit.idata.children:
        raise BayeslawError("This fit has no prior draws (it was saved by an older bayeslaw); refit it to plot "
                            "priors against posteriors, or use plot_diagnostics for the posteriors alone.")
    missing = [n for n in names if n not in fit.idata["prior"].data_vars]
    if missing:
        raise BayeslawError(f"The fit's prior group has no draws of {', '.join(missing)}; "
                            f"choose among {', '.join(fit.idata['prior'].data_vars)}.")
    post = fit.idata["posterior"].to_dataset()[names]
    prior = fit.idata["prior"].to_dataset()[names]
    shown = []
    for n in names:
        if _use_log(n, prior[n].values, post[n].values, log_scale):
            label = f"log10 {n}"
            post = post.rename({n: label})
            prior = prior.rename({n: label})
            post[label] = np.log10(post[label])
            prior[label] = np.log10(prior[label])
            shown.append(label)
        else:
            shown.append(n)
    tree = xr.DataTree.from_dict({"posterior": post, "prior": prior})
    ncol = min(4, len(shown))
    nrow = math.ceil(len(shown) / ncol)
    pc = azp.plot_prior_posterior(tree, var_names=shown, kind=kind, col_wrap=ncol,
                                  figure_kwargs={"figsize": (3.1 * ncol, 2.5 * nrow + 0.5)})
    fig = as_figure(pc)
    fig.suptitle(f"{fit.law.name}: prior and posterior of each parameter", fontsize=11)
    tidy_arviz_figure(fig)
    return fig


def plot_diagnostics(fit: Fit, var_names: list[str] | None = None, *, kind: str = "rank"):
    """Sampler diagnostics: per-chain posteriors with rank plots (or traces).

    A fit of one chain gets ``kind="trace"`` (rank plots compare chains). With ``kind="rank"`` (default) uses :func:`arviz_plots.plot_rank_dist`: per-chain densities
    (chains that agree overlap) and fractional-rank ECDF differences (chains that mix well stay
    inside the envelope), the check recommended by Vehtari et al. 2021. ``kind="trace"`` uses
    :func:`arviz_plots.plot_trace_dist` (densities and traces, with divergent transitions
    marked). The title gives the numbers behind the verdict, computed once for the checks and for this
    figure: max R-hat, min bulk/tail ESS and the divergence count.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(var_names) if var_names is not None else fit.param_names
    check_names(fit, names)
    if kind == "rank" and int(fit.idata["posterior"].sizes["chain"]) < 2:
        func = azp.plot_trace_dist  # rank plots compare chains: one chain gets its trace
    elif kind == "rank":
        func = azp.plot_rank_dist
    elif kind == "trace":
        func = azp.plot_trace_dist
    else:
        raise BayeslawError(f"kind must be 'rank' or 'trace'; got {kind!r}.")
    pc = func(fit.idata, var_names=names, figure_kwargs={"figsize": (10.0, 1.45 * len(names) + 0.9)})
    fig = as_figure(pc)
    s = diagnostic_numbers(fit.idata, names)
    rhat = f"max R-hat {s['max_rhat']:.3f}" if s["rhat_computed"] else "R-hat not computed (needs 2+ chains)"
    chains = f"{s['chains']} chain" + ("s" if s["chains"] != 1 else "")
    fig.suptitle(f"{fit.law.name}: {chains} \u00d7 {s['draws']} draws \u2014 {rhat}, "
                 f"min ESS {s['min_ess']:.0f} (bulk/tail), "
                 f"{s['divergences']} divergences", fontsize=10)
    tidy_arviz_figure(fig)
    return fig


def plot_compare(comparison: Comparison, *, relative_scale: bool = True, rotated: bool = False,
                 show_weights: bool = True, **pc_kwargs):
    """The ELPD comparison plot of a :class:`~bayeslaw.Comparison` (``arviz_plots.plot_compare``).

    One point per model with its standard-error bar, best on top: with ``relative_scale`` the
    difference to the best model's elpd_loo and the SE of that difference (``dse``), otherwise
    elpd_loo and its SE; a dashed line marks the best model. With ``show_weights`` the model
    labels carry the weights (stacking unless the comparison used another method) and, when the
    comparison has them, their Bayesian-bootstrap intervals: ``name (weight 0.65 [0.31, 0.88])``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = comparison.table.rename(columns={"elpd_loo": "elpd"})
    if show_weights:
        if "weight_lower" in frame.columns:
            labels = {n: f"{n} (weight {r['weight']:.2f} [{r['weight_lower']:.2f}, {r['weight_upper']:.2f}])"
                      for n, r in frame.iterrows()}
        else:
            labels = {n: f"{n} (weight {w:.2f})" for n, w in frame["weight"].items()}
        frame = frame.rename(index=labels)
    pc = azp.plot_compare(frame, relative_scale=relative_scale, rotated=rotated, backend="matplotlib", **pc_kwargs)
    fig = as_figure(pc)
    ci = getattr(comparison, "ci_prob", None)
    interval = f" [{100 * ci:g}% bootstrap interval]" if show_weights and ci and "weight_lower" in frame else ""
    fig.axes[0].set_title(f"Model comparison by PSIS-LOO, {comparison.method} weights{interval}\nhigher is better",
                          fontsize=10)
    return fig


def _use_log(name: str, prior: np.ndarray, post: np.ndarray, log_scale) -> bool:
    """Whether to show a variable as log10: positive, and (``"auto"``) a prior spanning over two decades."""
    positive = bool(np.all(prior > 0) and np.all(post > 0))
    if isinstance(log_scale, bool):
        return log_scale and positive
    if log_scale == "auto":
        if not positive:
            return False
        lo, hi = np.quantile(prior, [0.01, 0.99])
        return bool(hi / lo > 1e2)
    if isinstance(log_scale, (list, tuple, set)):
        if name in log_scale and not positive:
            raise BayeslawError(f"Cannot show {name} on a log scale: it has draws at or below zero.")
        return name in log_scale
    raise BayeslawError(f"log_scale must be 'auto', True, False or a list of names; got {log_scale!r}.")
