"""Figures of a fit: the scaling curve, parameters, sampler diagnostics and the compute optimum.

Every function returns the matplotlib :class:`~matplotlib.figure.Figure` it drew (or, for
the ArviZ plots, the :class:`arviz_plots.PlotCollection`) and never calls ``plt.show()``;
:func:`save_figure` writes either kind to PNG, SVG or PDF. Figures are made with pyplot,
so ``plt.show()`` works in scripts and notebooks display them; close them with
``plt.close(fig)`` when you make many. No backend is forced: pick one as usual (tests and
servers use ``Agg``).

Bands are equal-tailed posterior intervals: 50% and ``interval`` (90% by default) for the
*mean law* (the uncertainty about the law itself), and ``interval`` for a *new run* (the law
plus the likelihood's run-to-run noise: where one more training run at that scale would land).
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import BayeslawError, DataError, LawError

__all__ = ["plot_curve", "plot_overlay", "plot_compare", "plot_params", "plot_diagnostics", "plot_optimum",
           "save_figure"]

#: Axis labels with units, by canonical variable.
AXIS_LABELS = {
    "N": "parameters N",
    "D": "training tokens D",
    "C": "training compute C (FLOPs)",
    "x": "size x",
    "loss": "loss",
}
_MEAN_COLOR = "#1f5fa8"
_NEW_RUN_COLOR = "#7fa7d6"
_RUN_COLOR = "0.25"
_HELD_OUT_COLOR = "#e07b00"
_TARGET_COLOR = "#c0282d"
_N_GRID = 80
_MAX_SLICES = 5
_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


# -- public API ----------------------------------------------------------------------------


def plot_curve(fit, targets=None, *, held_out=None, slice: str | None = None, interval: float = 0.9,
               ax=None):
    """The scaling curve: observed runs, the fitted law with its uncertainty, and targets.

    Draws the runs as points on log-log axes, the posterior median of the mean law (line)
    with its 50% and ``interval`` bands, the ``interval`` band of a new run (lighter, dashed
    outline) extended from the data to beyond the targets, the targets (posterior median of
    the mean law with the new-run interval as error bar, labelled) and held-out runs (orange
    diamonds, label "held out") so a reader can see whether they fall inside the band.

    Parameters
    ----------
    fit : Fit or Stack
        A fit, or a stacked predictive (:func:`bayeslaw.stack`): its bands are those of the
        mixture. A stack's members may mix laws of N and D with laws of C (drawn against C).
    targets : dict, DataFrame or Prediction, optional
        Scales to mark, e.g. ``{"N": [7e10], "D": [1.4e12]}`` (any inputs accepted by
        :meth:`Fit.predict`; in the ``"optimal"`` slice ``{"C": [...]}`` alone is also
        accepted and placed on the compute-optimal frontier), or a :class:`Prediction`.
    held_out : DataFrame or Runs, optional
        Runs not used in the fit (same columns as the fitted table, with ``loss``).
    slice : {"optimal", "ratio=<r>", "N"}, optional
        For laws of N and D, which one-dimensional cut to draw. ``"optimal"`` (default):
        x-axis C, the curve along the compute-optimal frontier solved per posterior draw
        (:meth:`Fit.optimal_allocation`), runs at their own C. ``"ratio=20"``: x-axis C along
        D = 20 N. ``"N"``: x-axis D, one curve (median and ``interval`` band of the mean law,
        dashed new-run interval) for each of up to 5 model sizes taken from the data, runs
        coloured by their nearest size (runs at exactly that size opaque). Not used for laws
        of one variable, whose x-axis is the fitted column.
    interval : float, default 0.9
        Mass of the outer band of the mean law and of the new-run band.
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    _check_interval(interval)
    cut = _curve_cut(fit, slice)
    xcol = cut["xcol"]
    runs = _observed(_rep(fit))
    held = _held_out_frame(_rep(fit), held_out) if held_out is not None else None
    tgt = _target_frame(fit, targets, cut) if targets is not None else None
    grid, x_hi = _grid(runs, held, tgt, xcol)
    mean, new = _curve_draws(fit, cut, grid) if cut["kind"] != "N" else (None, None)

    # all computation done: draw
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    else:
        fig = ax.figure
    if cut["kind"] == "N":
        _draw_n_slices(ax, fit, runs, grid, interval)
    else:
        _draw_bands(ax, grid, mean, new, interval)
        _draw_runs(ax, runs, xcol, zorder=4)
    head = f"{fit.law.name}: {fit.law.formula}" if not _is_stack(fit) else fit.label
    _finish_axes(ax, fit, xcol, held, tgt, x_hi, f"{head}\n{_cut_title(cut, _rep(fit))}")
    return fig


def _draw_runs(ax, runs, xcol: str, *, zorder: int) -> None:
    ax.scatter(runs[xcol].to_numpy(float), runs["loss"].to_numpy(float), s=14, color=_RUN_COLOR, alpha=0.7,
               lw=0, zorder=zorder, label=f"runs (n={len(runs)})", gid="runs")


def _finish_axes(ax, model, xcol: str, held, tgt, x_hi: float, title: str) -> None:
    """What every scaling-curve figure has: held-out runs, targets, the edge of the data, log axes, labels,
    title, grid, log ticks and legend."""
    if held is not None:
        ax.scatter(held[xcol].to_numpy(float), held["loss"].to_numpy(float), s=46, marker="D",
                   facecolor=_HELD_OUT_COLOR, edgecolor="black", lw=0.7, zorder=6, label="held out", gid="held_out")
    if tgt is not None:
        _draw_targets(ax, tgt)
    ax.axvline(x_hi, color="0.55", lw=0.8, ls=":", zorder=1)
    ax.annotate("extrapolation \u2192", xy=(x_hi, 0.02), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", fontsize=8, color="0.4", va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(_axis_label(_rep(model), xcol))
    ax.set_ylabel(AXIS_LABELS["loss"])
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", color="0.9", lw=0.6)
    ax.autoscale_view()
    _nice_log_ticks(ax.yaxis)
    ax.legend(fontsize=8, loc="upper right", framealpha=0.9)


def plot_overlay(models, targets=None, *, weights: Any = "loo", held_out=None, slice: str | None = None,
                 interval: float = 0.9, ax=None):
    """Several laws on one scaling-curve figure: each fit's mean-law band and the stacked one.

    Draws, on log-log axes, the ``interval`` band and median of the mean law of every fit in a
    distinct colour (legend: name and stacking weight), the band and median of the stacked
    predictive's mean law (black outline, black line), the observed runs, held-out runs and
    targets (the stack's median with its new-run interval). The cut is chosen as in
    :func:`plot_curve` (for laws of N and D: ``slice`` "optimal", "ratio=<r>" or "N"; laws of C
    are drawn against C alongside them).

    Parameters
    ----------
    models : Stack, Comparison or dict of str to Fit
        A stack (:func:`bayeslaw.stack`); a comparison (its fits and weights); or fits of the same
        runs, stacked with ``weights``.
    targets : dict, DataFrame or Prediction, optional
        As for :func:`plot_curve`.
    weights : optional
        For a dict of fits: the ``weights`` argument of :func:`bayeslaw.stack` (default "loo").
    held_out, slice, interval, ax
        As for :func:`plot_curve`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl
    import matplotlib.pyplot as plt

    _check_interval(interval)
    stk = _as_stack(models, weights)
    cut = _curve_cut(stk, slice)
    xcol = cut["xcol"]
    runs = _observed(_rep(stk))
    held = _held_out_frame(_rep(stk), held_out) if held_out is not None else None
    tgt = _target_frame(stk, targets, cut) if targets is not None else None
    grid, x_hi = _grid(runs, held, tgt, xcol)
    if cut["kind"] == "N":
        sizes = _slice_sizes(runs)
        N, D = np.repeat(sizes, len(grid)), np.tile(grid, len(sizes))
        member = {n: _member_mean(f, {"kind": "points"}, None, N=N, D=D).reshape(-1, len(sizes), len(grid))
                  for n, f in stk.fits.items()}
    else:
        sizes = None
        member = {n: _member_mean(f, cut, grid)[:, None, :] for n, f in stk.fits.items()}
    counts = stk.draw_counts
    mixture = stk.mix({n: m for n, m in member.items() if counts[n] > 0})

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    else:
        fig = ax.figure
    colors = mpl.colormaps["tab10"](np.arange(len(member)) % 10)
    for (name, draws), color in zip(member.items(), colors):
        for j in range(draws.shape[1]):
            lo, hi = _q(draws[:, j], interval)
            first = j == 0
            ax.fill_between(grid, lo, hi, facecolor=color, alpha=0.18, edgecolor=color, lw=0.6, zorder=2,
                            label=f"{name} (weight {stk.weights[name]:.2f})" if first else None, gid="band_model")
            ax.plot(grid, np.median(draws[:, j], axis=0), color=color, lw=1.0, ls="--", zorder=3,
                    gid="median_model")
    for j in range(mixture.shape[1]):
        lo, hi = _q(mixture[:, j], interval)
        first = j == 0
        ax.fill_between(grid, lo, hi, facecolor="none", edgecolor="black", lw=1.0 if sizes is None else 0.7,
                        zorder=4, hatch="////" if sizes is None else None,
                        label=f"stack: {_pct(interval)} interval, mean law" if first else None, gid="band_stack")
        med = np.median(mixture[:, j], axis=0)
        ax.plot(grid, med, color="black", lw=1.8, zorder=5, gid="median_stack",
                label=("stack: posterior median" + ("" if sizes is None else ", one line per N")) if first else None)
        if sizes is not None:
            ax.annotate(f"N = {_human(sizes[j], 'N')}", (grid[-1], med[-1]), xytext=(3, 0),
                        textcoords="offset points", fontsize=7, va="center", ha="left")
    _draw_runs(ax, runs, xcol, zorder=6)
    how = {"loo": "stacking weights by PSIS-LOO", "backtest": "stacking weights by backtest",
           "given": "given weights"}.get(stk.method, stk.method)
    _finish_axes(ax, stk, xcol, held, tgt, x_hi, f"{len(stk.fits)} laws and their stack ({how})\n"
                 f"{_cut_title(cut, _rep(stk))}")
    return fig


def plot_compare(comparison, *, relative_scale: bool = True, rotated: bool = False, show_weights: bool = True,
                 **pc_kwargs):
    """The ELPD comparison plot of a :class:`~bayeslaw.Comparison` (``arviz_plots.plot_compare``).

    One point per model with its standard-error bar, best on top: with ``relative_scale`` the
    difference to the best model's elpd_loo and the SE of that difference (``dse``), otherwise
    elpd_loo and its SE; a dashed line marks the best model. With ``show_weights`` the model
    labels carry the stacking weights. Returns the ``arviz_plots.PlotCollection``
    (matplotlib backend); save it with :func:`save_figure`.
    """
    import arviz_plots as azp

    frame = comparison.table.rename(columns={"elpd_loo": "elpd"})
    if show_weights:
        frame = frame.rename(index={n: f"{n} (weight {w:.2f})" for n, w in frame["weight"].items()})
    pc = azp.plot_compare(frame, relative_scale=relative_scale, rotated=rotated, backend="matplotlib", **pc_kwargs)
    fig = as_figure(pc)
    fig.axes[0].set_title(f"Model comparison by PSIS-LOO, {comparison.method} weights\nhigher is better",
                          fontsize=10)
    return pc


def plot_params(fit, var_names: list[str] | None = None, *, log_scale: str | bool | list[str] = "auto",
                kind: str = "kde"):
    """Marginal posterior of each parameter with its prior overlaid.

    Uses :func:`arviz_plots.plot_prior_posterior` on the fit's ``prior`` and ``posterior``
    groups. Conventional amplitudes such as Chinchilla's A and B have priors spanning
    many decades, so on a linear axis the posterior is an invisible spike next to a flat
    prior. With ``log_scale="auto"`` every positive variable whose prior's 1-99% range
    spans more than two decades is drawn as ``log10 <name>`` (the usual way such
    constants are compared across papers): with the default priors that is the amplitudes
    (A, B), the floor E and the noise scale sigma; exponents and nu stay linear.
    A posterior much narrower than its prior means the data, not the prior, determine it.

    Parameters
    ----------
    fit : Fit
    var_names : list of str, optional
        Default: the law's reported parameters, then ``sigma`` and ``nu`` when present.
    log_scale : "auto", bool or list of str
        Which variables to show as log10: the automatic rule, all positive ones, none,
        or the names listed.
    kind : {"kde", "hist", "ecdf"}
        Density representation, passed to arviz-plots.

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz_plots as azp

    names = list(var_names) if var_names is not None else fit.param_names
    _check_names(fit, names)
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
    import xarray as xr

    tree = xr.DataTree.from_dict({"posterior": post, "prior": prior})
    ncol = min(4, len(shown))
    nrow = math.ceil(len(shown) / ncol)
    pc = azp.plot_prior_posterior(tree, var_names=shown, kind=kind, col_wrap=ncol,
                                  figure_kwargs={"figsize": (3.1 * ncol, 2.5 * nrow + 0.5)})
    fig = pc.get_viz("figure")
    fig.suptitle(f"{fit.law.name}: prior and posterior of each parameter", fontsize=11)
    _tidy_arviz_figure(fig)
    return pc


def plot_diagnostics(fit, var_names: list[str] | None = None, *, kind: str = "rank"):
    """Sampler diagnostics: per-chain posteriors with rank plots (or traces).

    With ``kind="rank"`` (default) uses :func:`arviz_plots.plot_rank_dist`: per-chain
    densities (chains that agree overlap) and fractional-rank ECDF differences (chains
    that mix well stay inside the envelope), the check recommended by Vehtari et al. 2021.
    ``kind="trace"`` uses :func:`arviz_plots.plot_trace_dist` (densities and traces, with
    divergent transitions marked). The title gives the numbers behind the verdict: max
    R-hat, min bulk/tail ESS and the divergence count.

    Parameters
    ----------
    fit : Fit
    var_names : list of str, optional
        Default: the law's reported parameters, then ``sigma`` and ``nu`` when present.
    kind : {"rank", "trace"}

    Returns
    -------
    arviz_plots.PlotCollection
    """
    import arviz_plots as azp

    names = list(var_names) if var_names is not None else fit.param_names
    _check_names(fit, names)
    if kind == "rank":
        func = azp.plot_rank_dist
    elif kind == "trace":
        func = azp.plot_trace_dist
    else:
        raise BayeslawError(f"kind must be 'rank' or 'trace'; got {kind!r}.")
    pc = func(fit.idata, var_names=names, figure_kwargs={"figsize": (10.0, 1.45 * len(names) + 0.9)})
    fig = pc.get_viz("figure")
    s = diagnostic_numbers(fit, names)
    fig.suptitle(f"{fit.law.name}: {s['chains']} chains \u00d7 {s['draws']} draws \u2014 max R-hat "
                 f"{s['max_rhat']:.3f}, min ESS {s['min_ess']:.0f} (bulk/tail), "
                 f"{s['divergences']} divergences", fontsize=10)
    _tidy_arviz_figure(fig)
    return pc


def plot_optimum(fit, C=None, *, interval: float = 0.9):
    """Compute-optimal model size N*(C) and training tokens D*(C), as posteriors.

    Two panels on log-log axes with the posterior median and the 50% and ``interval``
    bands, from :meth:`Fit.optimal_allocation` (solved per posterior draw). The dotted
    line marks the largest fitted budget; beyond it the allocation is an extrapolation.

    Parameters
    ----------
    fit : Fit
        A fit of a law of N and D.
    C : array of float, optional
        Compute budgets in FLOPs. Default: 30 budgets from the smallest fitted C to 100x
        the largest.
    interval : float, default 0.9

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    LawError
        For laws that are not of N and D (no allocation to choose).
    """
    import matplotlib.pyplot as plt

    _check_interval(interval)
    design = _design(fit)
    if set(design) != {"N", "D"}:
        raise LawError(f"plot_optimum needs a law of parameters N and tokens D (such as chinchilla or kaplan); "
                       f"{fit.law.name!r} is a law of {', '.join(design.values())}.")
    runs = _observed(fit)
    c_max = float(runs["C"].max())
    if C is None:
        C = np.logspace(np.log10(runs["C"].min()), np.log10(c_max * 100), 30)
    C = np.sort(np.atleast_1d(np.asarray(C, dtype=float)))
    dec = fit.optimal_allocation(C, interval=interval)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.2), layout="constrained")
    for ax, key, var in zip(axes, ("N_opt", "D_opt"), ("N", "D")):
        draws = dec.draws[key]
        if len(C) >= 2:
            _draw_mean_bands(ax, C, draws, interval, what=None)
        else:
            lo, med, hi = np.quantile(draws[:, 0], [(1 - interval) / 2, 0.5, (1 + interval) / 2])
            ax.errorbar(C, [med], yerr=[[med - lo], [hi - med]], fmt="o", color=_MEAN_COLOR, capsize=3,
                        label=f"median, {_pct(interval)} interval")
        if C.min() <= c_max:
            ax.axvline(c_max, color="0.55", lw=0.8, ls=":", label="largest fitted budget")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(AXIS_LABELS["C"])
        ax.set_ylabel(f"compute-optimal {AXIS_LABELS[var]}*")
        ax.grid(True, which="major", color="0.9", lw=0.6)
        ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    tpp = dec.draws["tokens_per_param"][:, -1]
    lo, med, hi = np.quantile(tpp, [(1 - interval) / 2, 0.5, (1 + interval) / 2])
    axes[1].text(0.97, 0.04, f"at C = {_sci(C[-1])}: D*/N* = {med:.3g} [{lo:.3g}, {hi:.3g}]",
                 transform=axes[1].transAxes, ha="right", va="bottom", fontsize=8)
    k = _k(fit)
    fig.suptitle(f"{fit.law.name}: compute-optimal allocation (C = {k:g} N D)", fontsize=11)
    return fig


def save_figure(obj, path: str | os.PathLike, *, dpi: int = 150) -> Path:
    """Write a Figure or an arviz-plots PlotCollection to PNG, SVG or PDF (by suffix), atomically.

    Parameters
    ----------
    obj : matplotlib Figure or arviz_plots.PlotCollection
    path : str or path
        Output file; its suffix (``.png``, ``.svg``, ``.pdf``) picks the format.
    dpi : int, default 150
        Resolution of PNG output.

    Returns
    -------
    Path
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BayeslawError(f"Cannot tell the image format of '{path}'; end the name in .png, .svg or .pdf.")
    fig = as_figure(obj)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def as_figure(obj):
    """The matplotlib Figure behind a Figure or an arviz-plots PlotCollection."""
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        return obj
    get_viz = getattr(obj, "get_viz", None)
    if get_viz is not None:
        fig = get_viz("figure")
        if isinstance(fig, Figure):
            return fig
    raise BayeslawError(f"Expected a matplotlib Figure or an arviz-plots PlotCollection (matplotlib backend); "
                        f"got {type(obj).__name__}.")


def diagnostic_numbers(fit, var_names: list[str] | None = None) -> dict[str, Any]:
    """Max R-hat, min bulk/tail ESS, divergences and min E-BFMI of a fit (the numbers behind the checks)."""
    import arviz_stats as azs

    names = list(var_names) if var_names is not None else fit.param_names
    post = fit.idata["posterior"]
    rhat = azs.rhat(fit.idata, var_names=names)
    ess_b = azs.ess(fit.idata, var_names=names, method="bulk")
    ess_t = azs.ess(fit.idata, var_names=names, method="tail")
    bfmi = np.asarray(azs.bfmi(fit.idata["sample_stats"].to_dataset())["energy"]).ravel()
    return {
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
        "max_rhat": max(float(rhat[n].max()) for n in names),
        "min_ess_bulk": min(float(ess_b[n].min()) for n in names),
        "min_ess_tail": min(float(ess_t[n].min()) for n in names),
        "min_ess": min(min(float(ess_b[n].min()) for n in names), min(float(ess_t[n].min()) for n in names)),
        "divergences": int(np.asarray(fit.idata["sample_stats"]["diverging"]).sum()),
        "transitions": int(post.sizes["chain"] * post.sizes["draw"]),
        "min_bfmi": float(bfmi.min()),
    }


# -- data ----------------------------------------------------------------------------------


def _design(fit) -> dict[str, str]:
    return dict(fit.spec["data"]["design"])


def _is_stack(obj) -> bool:
    from .averaging import Stack

    return isinstance(obj, Stack)


def _rep(obj):
    """The fit whose runs, column names and k a figure uses: the fit itself, or a stack's first law of N and D
    (else its first fit). A stack's fits share their runs."""
    if not _is_stack(obj):
        return obj
    fits = list(obj.fits.values())
    return next((f for f in fits if set(_design(f)) == {"N", "D"}), fits[0])


def _as_stack(models, weights):
    from .averaging import stack
    from .comparison import Comparison

    if _is_stack(models):
        return models
    if isinstance(models, Comparison):
        return models.stack()
    if isinstance(models, Mapping):
        return stack(models, weights=weights)
    raise BayeslawError(f"Expected a Stack, a Comparison or a dict of fits; got {type(models).__name__}.")


def _curve_cut(obj, slice: str | None) -> dict[str, Any]:
    """The one-dimensional cut a curve is drawn along: kind ("x", "optimal", "ratio", "N") and x-axis column."""
    fits = list(obj.fits.values()) if _is_stack(obj) else [obj]
    cols = [tuple(_design(f).values()) for f in fits]
    if len(set(cols)) == 1 and len(cols[0]) == 1:
        if slice is not None:
            what = repr(fits[0].law.name) if not _is_stack(obj) else "this stack"
            raise BayeslawError(f"slice={slice!r} applies to laws of N and D; {what} is a law of "
                                f"{cols[0][0]} alone: leave slice out.")
        return {"kind": "x", "xcol": cols[0][0]}
    if any(set(_design(f)) == {"N", "D"} for f in fits):
        cut = _parse_slice(slice)
        cut["xcol"] = "D" if cut["kind"] == "N" else "C"
        return cut
    if not _is_stack(obj):
        raise LawError(f"plot_curve draws laws of one variable or of N and D; {obj.law.name!r} is a law of "
                       f"{', '.join(cols[0])}.")
    raise LawError("A stack's curve needs fits of the same variable, or laws of N and D (with laws of C beside "
                   f"them); these are laws of {'; '.join(', '.join(c) for c in cols)}.")


def _grid(runs: pd.DataFrame, held, tgt, xcol: str) -> tuple[np.ndarray, float]:
    """The x grid of a curve (from the data to beyond held-out runs and targets) and the largest fitted x."""
    x_data = runs[xcol].to_numpy(float)
    x_lo, x_hi = x_data.min(), x_data.max()
    ends = [x_hi * 10.0]
    if held is not None:
        ends.append(held[xcol].max() * 10 ** 0.25)
        x_lo = min(x_lo, held[xcol].min())
    if tgt is not None:
        ends.append(tgt["x"].max() * 10 ** 0.5)
        x_lo = min(x_lo, tgt["x"].min())
    return np.logspace(np.log10(x_lo), np.log10(max(ends)), _N_GRID), float(x_hi)


def _design_col(fit) -> str:
    return next(iter(_design(fit).values()))


def _k(fit) -> float:
    return float(fit.spec["data"].get("flops_per_param_token", 6.0))


def _observed(fit) -> pd.DataFrame:
    """The fitted runs: their size columns and loss (C = k N D added when missing)."""
    const = fit.idata["constant_data"]
    sizes = {"x", "N", "D", "C", *_design(fit).values()}
    cols = {v: np.asarray(const[v].values, float) for v in const.data_vars if v in sizes}
    frame = pd.DataFrame(cols)
    if {"N", "D"} <= set(frame.columns) and "C" not in frame.columns:
        frame["C"] = _k(fit) * frame["N"] * frame["D"]
    frame["loss"] = np.exp(np.asarray(fit.idata["observed_data"]["log_loss"].values, float))
    return frame


def _held_out_frame(fit, held_out) -> pd.DataFrame:
    from .data import Runs, load_runs

    if isinstance(held_out, Runs):
        frame = held_out.frame.copy()
    else:
        frame = load_runs(pd.DataFrame(held_out), flops_per_param_token=_k(fit)).frame.copy()
    if {"N", "D"} <= set(frame.columns) and "C" not in frame.columns:
        frame["C"] = _k(fit) * frame["N"] * frame["D"]
    need = list(_design(fit).values())
    if set(_design(fit)) == {"N", "D"}:
        need.append("C")
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(f"Held-out runs need column(s) {', '.join(missing)} like the fitted runs; "
                        f"they have {', '.join(frame.columns)}.")
    return frame


def _parse_slice(slice: str | None) -> dict[str, Any]:
    if slice is None or slice == "optimal":
        return {"kind": "optimal"}
    if slice == "N":
        return {"kind": "N"}
    if isinstance(slice, str) and slice.replace(" ", "").startswith("ratio="):
        try:
            r = float(slice.split("=", 1)[1])
        except ValueError:
            r = float("nan")
        if np.isfinite(r) and r > 0:
            return {"kind": "ratio", "ratio": r}
    raise BayeslawError(f"slice must be 'optimal', 'ratio=<tokens per parameter>' (e.g. 'ratio=20') or 'N'; "
                        f"got {slice!r}.")


def _cut_title(cut: Mapping[str, Any], fit) -> str:
    if cut["kind"] == "optimal":
        return "along the compute-optimal frontier N*(C), D*(C) (solved per posterior draw)"
    if cut["kind"] == "ratio":
        return f"along D = {cut['ratio']:g} N (C = {_k(fit):g} N D)"
    if cut["kind"] == "N":
        return "one curve per model size N"
    return f"loss against {_axis_label(fit, cut['xcol'])}"


def _axis_label(fit, col: str) -> str:
    if col in AXIS_LABELS and col != "x":
        return AXIS_LABELS[col]
    source = fit.spec["data"].get("columns", {}).get(col, col)
    return f"size {source}" if source != col else AXIS_LABELS.get(col, col)


# -- curve draws ---------------------------------------------------------------------------


def _curve_draws(fit, cut: Mapping[str, Any], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws (draws x grid) of the mean law and of a new run along the cut (a stack: of its mixture)."""
    if _is_stack(fit):
        counts = fit.draw_counts
        mean = fit.mix({n: _member_mean(f, cut, grid) for n, f in fit.fits.items() if counts[n] > 0})
    else:
        mean = _member_mean(fit, cut, grid)
    return mean, _new_run_draws(fit, mean)


def _member_mean(fit, cut: Mapping[str, Any], grid: np.ndarray | None, **points) -> np.ndarray:
    """Draws (draws x grid) of one fit's mean law along a cut; a law of C alone is drawn against C
    (along the frontier, or at C = k N D of the points)."""
    if cut["kind"] == "points":
        return _predict_mean(fit, **points)
    if cut["kind"] == "optimal":
        if set(_design(fit)) == {"N", "D"}:
            return fit.optimal_allocation(grid).draws["loss_opt"]
        if list(_design(fit).values()) != ["C"]:
            raise LawError(f"{fit.law.name!r} is a law of {', '.join(_design(fit).values())}: it has no value along "
                           "the compute-optimal frontier; draw it with slice='ratio=20' or slice='N'.")
        return _predict_mean(fit, C=grid)
    if cut["kind"] == "ratio":
        N = np.sqrt(grid / (_k(fit) * cut["ratio"]))
        return _predict_mean(fit, N=N, D=cut["ratio"] * N)
    return _predict_mean(fit, targets={cut["xcol"]: grid})


def _predict_mean(fit, **kwargs) -> np.ndarray:
    try:
        return fit.predict(**kwargs).draws("mean")
    except DataError as exc:
        raise LawError(f"{fit.law.name!r} cannot be drawn on this curve: {exc}") from None


def _new_run_draws(fit, mean: np.ndarray) -> np.ndarray:
    """Draws of a new run along a grid: the mean law times exp(noise), several noise draws per posterior draw.

    Each posterior draw's noise values are shared across the grid (common random numbers): the
    distribution at every grid point is that of :meth:`Fit.predict`'s new run, but the band's edges
    are smooth curves instead of Monte Carlo zigzags, and the extra noise draws steady its tails.
    """
    from .predict import noise_draws

    reps = max(1, math.ceil(8000 / mean.shape[0]))
    eps = fit.noise_draws(reps, seed=0) if _is_stack(fit) else noise_draws(fit, (mean.shape[0], reps), seed=0)
    return (mean[:, None, :] * np.exp(eps)[:, :, None]).reshape(-1, mean.shape[1])


def _target_frame(fit, targets, cut: Mapping[str, Any]) -> pd.DataFrame:
    """Targets as x, median (mean law), lower/upper (new run), interval and a label."""
    from .predict import Prediction

    if isinstance(targets, Prediction):
        table, q = targets.table, targets.interval
    else:
        frame = pd.DataFrame(targets)
        if cut["kind"] == "optimal" and list(frame.columns) == ["C"]:
            C = frame["C"].to_numpy(float)
            mean, new = _curve_draws(fit, cut, C)
            table = pd.DataFrame({"C": C, "mean_median": np.median(mean, axis=0)})
            table["new_run_lower"], table["new_run_upper"] = np.quantile(new, [0.05, 0.95], axis=0)
            q = 0.9
        else:
            table, q = fit.predict(targets=frame, interval=0.9).table, 0.9
    xcol = cut["xcol"]
    if xcol not in table.columns:
        raise DataError(f"Targets need {xcol} (or inputs it follows from) to be placed on this plot; "
                        f"they have {', '.join(c for c in table.columns if c in ('N', 'D', 'C', 'x'))}.")
    label_cols = [c for c in ("N", "D") if c in table.columns] or [xcol]
    labels = [", ".join(f"{c}={_human(row[c], c)}" for c in label_cols) for _, row in table.iterrows()]
    return pd.DataFrame({"x": table[xcol].to_numpy(float), "median": table["mean_median"].to_numpy(float),
                         "lower": table["new_run_lower"].to_numpy(float),
                         "upper": table["new_run_upper"].to_numpy(float), "label": labels, "interval": q})


# -- drawing -------------------------------------------------------------------------------


def _q(draws: np.ndarray, mass: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(draws, [(1 - mass) / 2, (1 + mass) / 2], axis=0)
    return lo, hi


def _draw_bands(ax, x, mean, new, interval: float) -> None:
    lo, hi = _q(new, interval)
    from matplotlib.colors import to_rgba

    ax.fill_between(x, lo, hi, facecolor=to_rgba(_NEW_RUN_COLOR, 0.2), edgecolor=_NEW_RUN_COLOR, linestyle="--",
                    linewidth=1.0, label=f"{_pct(interval)} interval, new run", gid="band_new_run", zorder=1)
    _draw_mean_bands(ax, x, mean, interval)


def _draw_mean_bands(ax, x, draws, interval: float, what: str | None = "mean law") -> None:
    tail = f", {what}" if what else ""
    lo, hi = _q(draws, interval)
    ax.fill_between(x, lo, hi, facecolor=_MEAN_COLOR, alpha=0.2, lw=0, label=f"{_pct(interval)} interval{tail}",
                    gid="band_outer", zorder=2)
    lo, hi = _q(draws, 0.5)
    ax.fill_between(x, lo, hi, facecolor=_MEAN_COLOR, alpha=0.35, lw=0, label=f"50% interval{tail}",
                    gid="band_50", zorder=2)
    ax.plot(x, np.median(draws, axis=0), color=_MEAN_COLOR, lw=1.8, label=f"posterior median{tail}",
            gid="median", zorder=3)


def _draw_n_slices(ax, fit, runs: pd.DataFrame, grid: np.ndarray, interval: float) -> None:
    import matplotlib as mpl

    sizes = _slice_sizes(runs)
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, len(sizes)))
    N = np.repeat(sizes, len(grid))
    D = np.tile(grid, len(sizes))
    flat = fit.predict(N=N, D=D, interval=interval).draws("mean")
    mean = flat.reshape(-1, len(sizes), len(grid))
    new = _new_run_draws(fit, flat).reshape(-1, len(sizes), len(grid))
    for i, (n, c) in enumerate(zip(sizes, colors)):
        lo, hi = _q(mean[:, i], interval)
        ax.fill_between(grid, lo, hi, facecolor=c, alpha=0.22, lw=0, zorder=2,
                        label=f"{_pct(interval)} interval, mean law" if i == 0 else None)
        nlo, nhi = _q(new[:, i], interval)
        ax.plot(grid, nlo, color=c, lw=0.8, ls="--", zorder=2,
                label=f"{_pct(interval)} interval, new run" if i == 0 else None)
        ax.plot(grid, nhi, color=c, lw=0.8, ls="--", zorder=2)
        ax.plot(grid, np.median(mean[:, i], axis=0), color=c, lw=1.8, zorder=3, label=f"N = {_human(n, 'N')}",
                gid="slice")
    logn = np.log10(runs["N"].to_numpy(float))
    nearest = np.abs(logn[:, None] - np.log10(sizes)[None, :]).argmin(axis=1)
    on_slice = np.abs(logn - np.log10(sizes)[nearest]) < 0.01
    rgba = colors[nearest].copy()
    rgba[:, 3] = np.where(on_slice, 0.9, 0.3)
    ax.scatter(runs["D"].to_numpy(float), runs["loss"].to_numpy(float), s=14, color=rgba, lw=0, zorder=4,
               label=f"runs (n={len(runs)}), coloured by nearest N", gid="runs")


def _slice_sizes(runs: pd.DataFrame) -> np.ndarray:
    """Up to 5 model sizes of the runs, evenly spread in rank, for the "N" slice."""
    sizes = np.unique(runs["N"].to_numpy(float))
    if len(sizes) > _MAX_SLICES:
        idx = np.unique(np.round(np.linspace(0, len(sizes) - 1, _MAX_SLICES)).astype(int))
        sizes = sizes[idx]
    return sizes


def _draw_targets(ax, tgt: pd.DataFrame) -> None:
    y = tgt["median"].to_numpy()
    yerr = np.vstack([y - tgt["lower"].to_numpy(), tgt["upper"].to_numpy() - y])
    q = float(tgt["interval"].iloc[0])
    ax.errorbar(tgt["x"].to_numpy(float), y, yerr=yerr, fmt="s", ms=6, color=_TARGET_COLOR, mec="black", mew=0.6,
                capsize=4, elinewidth=1.4, zorder=7, label=f"target: median, {_pct(q)} new-run interval", gid="target")
    for x, top, label in zip(tgt["x"], tgt["upper"], tgt["label"]):
        ax.annotate(label, (x, top), xytext=(0, 5), textcoords="offset points", fontsize=8, color=_TARGET_COLOR,
                    ha="center", va="bottom", zorder=8)


def _nice_log_ticks(axis) -> None:
    """Readable plain-number ticks on a log axis that spans less than about a decade."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    lo, hi = axis.get_view_interval()
    if not (lo > 0 and hi > lo) or np.log10(hi / lo) > 1.3:
        return
    for mantissas in ((1, 2, 5), (1, 1.5, 2, 3, 5, 7), (1, 2, 3, 4, 5, 6, 7, 8, 9),
                      (1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 9), tuple(np.round(np.arange(1, 10, 0.1), 1))):
        ticks = [m * 10.0 ** e for e in range(math.floor(np.log10(lo)) - 1, math.ceil(np.log10(hi)) + 1)
                 for m in mantissas]
        ticks = [t for t in ticks if lo <= t <= hi]
        if len(ticks) >= 4:
            break
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _tidy_arviz_figure(fig) -> None:
    """Room for the suptitle, at most ~5 ticks per x-axis, no overlapping labels (arviz-plots figures)."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    fig.set_layout_engine("constrained")


# -- small helpers -------------------------------------------------------------------------


def _check_interval(interval: float) -> None:
    if not (isinstance(interval, (int, float)) and 0.5 < interval < 1):
        raise BayeslawError(f"interval must be between 0.5 and 1 (the outer band; the inner one is 50%); "
                            f"got {interval!r}.")


def _check_names(fit, names: list[str]) -> None:
    have = list(fit.idata["posterior"].data_vars)
    missing = [n for n in names if n not in have]
    if missing:
        raise BayeslawError(f"No posterior variable(s) {', '.join(missing)} in this fit; choose among "
                            f"{', '.join(have)}.")


def _use_log(name: str, prior: np.ndarray, post: np.ndarray, log_scale) -> bool:
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


def _pct(p: float) -> str:
    return f"{100 * p:g}%"


def _sci(v: float) -> str:
    """Mathtext a x 10^b."""
    if not np.isfinite(v) or v <= 0:
        return f"{v:g}"
    e = math.floor(np.log10(v))
    m = v / 10 ** e
    if round(m, 1) >= 10:
        m, e = m / 10, e + 1
    return rf"${m:.1f}\times10^{{{e}}}$" if abs(m - 1) > 0.05 else rf"$10^{{{e}}}$"


def _human(v: float, var: str) -> str:
    """70B, 1.4T for parameters and tokens; scientific notation otherwise."""
    if var in ("N", "D") and np.isfinite(v) and v > 0:
        for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if v >= div:
                return f"{v / div:.3g}{suffix}"
        return f"{v:.3g}"
    return f"{v:.2g}"
