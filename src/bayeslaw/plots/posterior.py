"""Figures of the posterior made with arviz-plots: parameters over their priors, sampler diagnostics,
and the ELPD comparison. Each returns the matplotlib Figure it drew."""

from __future__ import annotations

import copy
import functools
import math
import weakref

import arviz_plots as azp
import numpy as np

from ..errors import BayeslawError
from ..inference.diagnostics import diagnostic_numbers
from ..inference.result import Fit
from ..validation.compare import Comparison
from .grid import refuse_collection
from .style import MEAN_COLOR, PRIOR_COLOR, as_figure, check_names, tidy_arviz_figure


def plot_params(fit: Fit, var_names: list[str] | None = None, *, log_scale: str | bool | list[str] = "auto",
                kind: str = "kde"):
    """Marginal posterior of each parameter, with its prior over the same range.

    One panel per parameter, x range the posterior's (its 0.5-99.5% range, padded): the posterior
    density filled (left axis), the prior's density over that range as a line on a second axis
    (right, as a fraction of the prior's own peak, so a prior that is flat here reads as flat
    instead of as an invisible line under a spike). Each panel says how much narrower the
    posterior is than the prior (ratio of interquartile ranges): a large ratio means the data, not
    the prior, determine the parameter. Conventional amplitudes such as Chinchilla's A and B have
    priors spanning many decades: with ``log_scale="auto"`` every positive variable whose prior's
    1-99% range spans more than two decades is drawn as ``log10 <name>`` (with the default priors
    the amplitudes, the floor E and sigma); exponents and nu stay linear.

    Parameters
    ----------
    fit : Fit
    var_names : list of str, optional
        Default: the law's reported parameters, then the noise model's.
    log_scale : "auto", bool or list of str
        Which variables to show as log10: the automatic rule, all positive ones, none, or the names listed.
    kind : {"kde", "hist"}
        Density representation of the posterior.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    refuse_collection(fit, "plot_params")
    names = list(var_names) if var_names is not None else fit.param_names
    check_names(fit, names)
    if kind not in ("kde", "hist"):
        raise BayeslawError(f"kind must be 'kde' or 'hist'; got {kind!r}.")
    if "prior" not in fit.idata.children:
        raise BayeslawError("This fit has no prior draws (it was saved by an older bayeslaw); refit it to plot "
                            "priors against posteriors, or use plot_diagnostics for the posteriors alone.")
    missing = [n for n in names if n not in fit.idata["prior"].data_vars]
    if missing:
        raise BayeslawError(f"The fit's prior group has no draws of {', '.join(missing)}; "
                            f"choose among {', '.join(fit.idata['prior'].data_vars)}.")
    nrow = math.ceil(len(names) / 4)
    ncol = math.ceil(len(names) / nrow)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.45 * nrow + 0.7), layout="constrained", squeeze=False)
    for ax, n in zip(axes.flat, names):
        post = np.asarray(fit.idata["posterior"][n].values, float).ravel()
        prior = np.asarray(fit.idata["prior"][n].values, float).ravel()
        label = n
        if _use_log(n, prior, post, log_scale):
            post, prior, label = np.log10(post), np.log10(prior), f"log10 {n}"
        _prior_posterior_panel(ax, post, prior[np.isfinite(prior)], label, kind)
    for ax in axes.flat[len(names):]:
        fig.delaxes(ax)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=MEAN_COLOR, alpha=0.35, edgecolor=MEAN_COLOR),
               plt.Line2D([], [], color=PRIOR_COLOR, lw=1.4)]
    fig.legend(handles, ["posterior (density, left axis)", "prior over the same range (right axis: its density "
                         "as a share of its peak)"], loc="outside lower center", ncol=2, fontsize=8, frameon=False)
    fig.suptitle(f"{fit.law.name}: posterior of each parameter, and its prior over the same range", fontsize=11)
    return fig


def _prior_posterior_panel(ax, post: np.ndarray, prior: np.ndarray, label: str, kind: str) -> None:
    """One parameter: the posterior filled on ``ax``, the prior over the posterior's range on a twin axis."""
    from matplotlib.ticker import MaxNLocator
    from scipy.stats import gaussian_kde

    lo, hi = np.quantile(post, [0.005, 0.995])
    pad = 0.3 * (hi - lo) if hi > lo else max(abs(lo) * 0.05, 1e-6)
    both = np.concatenate([post, prior])
    grid = np.linspace(max(lo - pad, both.min()), min(hi + pad, both.max()), 200)
    if kind == "hist":
        ax.hist(post, bins=40, range=(grid[0], grid[-1]), density=True, color=MEAN_COLOR, alpha=0.35,
                edgecolor=MEAN_COLOR, lw=0.5, gid="posterior")
    else:
        dens = gaussian_kde(post)(grid) if np.ptp(post) > 0 else np.zeros_like(grid)
        ax.fill_between(grid, dens, color=MEAN_COLOR, alpha=0.35, lw=0, gid="posterior")
        ax.plot(grid, dens, color=MEAN_COLOR, lw=1.2)
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(bottom=0)
    ax.set_yticks([])
    ax.set_title(label, fontsize=10)
    ax.tick_params(labelsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
    twin = ax.twinx()
    if len(prior) > 1 and np.ptp(prior) > 0:
        kde = gaussian_kde(prior)
        dens = kde(grid)
        peak = max(float(kde(np.quantile(prior, np.linspace(0.01, 0.99, 99))).max()), float(dens.max()))
        twin.plot(grid, dens / peak, color=PRIOR_COLOR, lw=1.4, gid="prior")
        iqr = np.subtract(*np.quantile(prior, [0.75, 0.25])) / max(np.subtract(*np.quantile(post, [0.75, 0.25])),
                                                                   1e-300)
        ratio = f"{iqr:.2g}" if iqr < 100 else f"{iqr:,.0f}"   # 110x, not 1.1e+02x
        ax.set_xlabel(f"posterior {ratio}\u00d7 narrower than the prior (IQR)", fontsize=7, color="0.3")
    twin.set_ylim(0, 1.05)
    twin.set_yticks([0, 0.5, 1])
    twin.tick_params(labelsize=7, colors=PRIOR_COLOR)
    twin.spines["right"].set_color(PRIOR_COLOR)


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
    refuse_collection(fit, "plot_diagnostics")
    names = list(var_names) if var_names is not None else fit.param_names
    check_names(fit, names)
    key = (tuple(names), kind)
    ref, last_key, kept = _LAST_DIAGNOSTICS
    if ref is not None and ref() is fit and last_key == key:
        return _copy_figure(kept)   # a fresh copy: a caller may draw on the figure it gets
    fig = _draw_diagnostics(fit, names, kind)
    try:
        _LAST_DIAGNOSTICS[:] = [weakref.ref(fit), key, _copy_figure(fig)]
    except Exception:   # a figure that cannot be copied is drawn again next time
        _LAST_DIAGNOSTICS[:] = [None, None, None]
    return fig


#: The last diagnostics figure drawn (the fit, by weak reference; the arguments; an untouched copy of the figure):
#: the rank test and its envelope are ~7 s on a 4 x 2000-draw fit, and the demo draws the figure, then its report
#: again.
_LAST_DIAGNOSTICS: list = [None, None, None]


def _copy_figure(fig):
    """A deep copy of a figure, outside pyplot's figure list, on an Agg canvas (a copy of a pyplot figure joins
    pyplot's list and one of a copy comes with a bare canvas; savefig and drawing need a real one)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    out = copy.deepcopy(fig)
    plt.close(out)
    FigureCanvasAgg(out)
    return out


def _draw_diagnostics(fit: Fit, names: list[str], kind: str):
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
    if kind == "rank":
        _readable_rank_panels(fig, fit)
    s = diagnostic_numbers(fit.idata, names)
    rhat = f"max R-hat {s['max_rhat']:.3f}" if s["rhat_computed"] else "R-hat not computed (needs 2+ chains)"
    chains = f"{s['chains']} chain" + ("s" if s["chains"] != 1 else "")
    fig.suptitle(f"{fit.law.name}: {chains} \u00d7 {s['draws']} draws \u2014 {rhat}, "
                 f"min ESS {s['min_ess']:.0f} (bulk/tail), "
                 f"{s['divergences']} divergences", fontsize=10)
    tidy_arviz_figure(fig)
    return fig


@functools.lru_cache(maxsize=8)
def _rank_envelope(draws: int, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The envelope of one chain's ECDF of uniform ranks (arviz-stats' multi-chain simulation spans [0, 1] here):
    a simulation of ~2 s that depends on the draw count alone, so a report after a figure reuses it."""
    from arviz_stats.ecdf_utils import ecdf_pit

    x, _, lower, upper = ecdf_pit(np.linspace(0, 1, draws), prob, n_simulations=1000, n_chains=1)
    arrays = tuple(np.array(a, dtype=float) for a in (x, lower, upper))
    for a in arrays:
        a.flags.writeable = False   # shared by every figure of this draw count
    return arrays


def _readable_rank_panels(fig, fit: Fit) -> None:
    """The rank panels of ``plot_rank_dist`` made readable: the simultaneous envelope of the chains' rank ECDFs
    (grey; a chain that leaves it mixes badly), a y scale, and the rank test's p-value in words."""
    import re

    from arviz_base import rcParams

    prob = float(rcParams["stats.envelope_prob"])
    draws = int(fit.idata["posterior"].sizes["draw"])
    x, lower, upper = _rank_envelope(draws, prob)
    rank_axes = [ax for ax in fig.axes if ax.get_xlabel() == "Fractional ranks"]
    for i, ax in enumerate(rank_axes):
        ax.fill_between(x, lower - x, upper - x, step="post", color="0.5", alpha=0.18, lw=0, zorder=0,
                        gid="rank_envelope")
        ax.axhline(0.0, color="0.6", lw=0.6, zorder=0)
        lo, hi = ax.get_ylim()
        half = max(abs(lo), abs(hi), float(np.max(upper - x)) * 1.15)
        ax.set_ylim(-half, half)
        ax.spines["left"].set_visible(True)
        ax.tick_params(axis="y", which="both", left=True, labelleft=True, labelsize=7, direction="out", length=3)
        from matplotlib.ticker import MaxNLocator

        ax.yaxis.set_major_locator(MaxNLocator(nbins=3, symmetric=True))
        for text in list(ax.texts):
            m = re.match(r"\s*p=([0-9.]+)\(\u03b1=([0-9.]+)\)", text.get_text())
            if m is None:
                continue
            p, alpha = float(m.group(1)), float(m.group(2))
            text.remove()
            verdict = (f"chains differ (rank test p = {p:.2f} < {alpha:g})" if p < alpha
                       else f"chains agree (rank test p = {p:.2f})")
            ax.text(0.01, 0.97, verdict, transform=ax.transAxes, fontsize=7, va="top", ha="left",
                    color="#b2182b" if p < alpha else "0.3", gid="rank_test")
        ax.set_xlabel("fractional rank" if i == len(rank_axes) - 1 else "", fontsize=8)
    if rank_axes:
        rank_axes[0].set_title(f"rank ECDF minus uniform, per chain (grey: {100 * prob:g}% simultaneous envelope of one chain)",
                               fontsize=8)


def plot_compare(comparison: Comparison, *, relative_scale: bool = True, rotated: bool = False,
                 show_weights: bool = True, **pc_kwargs):
    """The ELPD comparison plot of a :class:`~bayeslaw.Comparison` (``arviz_plots.plot_compare``).

    One point per model with its standard-error bar, best on top: with ``relative_scale`` the
    difference to the best model's elpd_loo and the SE of that difference (``dse``), otherwise
    elpd_loo and its SE; a dashed line marks the best model. With ``show_weights`` the model
    labels carry the weights (stacking unless the comparison used another method) and, when the
    comparison has them, their Bayesian-bootstrap intervals: ``name (weight 0.65 [0.31, 0.88])``.
    A model whose fit failed its diagnostic checks (``checks_passed`` False in the table) is drawn
    in grey on a hatched row, its label ending in ``failed checks: r_hat, ...``: its elpd is not to
    be trusted until it is refitted.

    Returns
    -------
    matplotlib.figure.Figure
    """
    refuse_collection(comparison, "plot_compare", "comparison")
    frame = comparison.table.rename(columns={"elpd_loo": "elpd"})
    failed = {str(n): str(r["failed_checks"]) or "failed checks" for n, r in frame.iterrows()
              if "checks_passed" in frame.columns and not bool(r["checks_passed"])}
    if show_weights:
        if "weight_lower" in frame.columns:
            labels = {n: f"{n} (weight {r['weight']:.2f} [{r['weight_lower']:.2f}, {r['weight_upper']:.2f}])"
                      for n, r in frame.iterrows()}
        else:
            labels = {n: f"{n} (weight {w:.2f})" for n, w in frame["weight"].items()}
        frame = frame.rename(index=labels)
    names = list(comparison.table.index.astype(str))
    frame = frame.rename(index={shown: f"{shown}\nfailed checks: {failed[n]}"
                                for n, shown in zip(names, frame.index) if n in failed})
    pc = azp.plot_compare(frame, relative_scale=relative_scale, rotated=rotated, backend="matplotlib", **pc_kwargs)
    fig = as_figure(pc)
    if failed:
        _mark_failed(fig.axes[0], [n in failed for n in names], rotated)
    ci = getattr(comparison, "ci_prob", None)
    interval = f" [{100 * ci:g}% bootstrap interval]" if show_weights and ci and "weight_lower" in frame else ""
    note = "; grey hatched: failed its diagnostic checks, refit before trusting" if failed else ""
    fig.axes[0].set_title(f"Model comparison by PSIS-LOO, {comparison.method} weights{interval}\nhigher is better"
                          f"{note}", fontsize=10)
    return fig


def _mark_failed(ax, is_failed: list[bool], rotated: bool) -> None:
    """Grey hatched rows, grey bars, points and labels for the models that failed their checks (arviz-plots puts
    the models at positions n, n-1, ..., 1, best first)."""
    from matplotlib.colors import to_rgba

    positions = np.arange(len(is_failed), 0, -1)
    grey = to_rgba("0.55")
    for pos, bad in zip(positions, is_failed):
        if not bad:
            continue
        span = ax.axvspan if rotated else ax.axhspan
        span(pos - 0.4, pos + 0.4, facecolor="0.93", edgecolor="0.7", hatch="///", lw=0, zorder=0,
             gid="failed_checks", label="failed diagnostic checks: refit before trusting")
        for line in ax.lines:
            along = line.get_xdata() if rotated else line.get_ydata()
            if len(along) == 2 and np.allclose(along, pos):
                line.set_color(grey)
    for coll in ax.collections:
        offsets = coll.get_offsets()
        if len(offsets) == len(is_failed):
            colors = np.tile(coll.get_facecolor()[:1], (len(offsets), 1))
            at = offsets[:, 0] if rotated else offsets[:, 1]
            for i, pos in enumerate(at):
                if is_failed[len(is_failed) - int(round(pos))]:
                    colors[i] = grey
            coll.set_facecolor(colors)
            coll.set_edgecolor(colors)
    for label in (ax.get_xticklabels() if rotated else ax.get_yticklabels()):
        if "failed checks" in label.get_text():
            label.set_color("0.45")


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
