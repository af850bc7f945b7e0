"""Scaling-curve figures: one law with its bands, or several laws and their stack on one axes.

Both draw a :class:`~bayeslaw.posterior.curves.Curve` (computed by :func:`bayeslaw.curve`; give
a fit or a stack and it is computed for you): observed runs on log-log axes, the posterior
median of the mean law with its 50% and ``ci_prob`` bands, the ``ci_prob`` band of a new run,
held-out runs and targets. Each returns the matplotlib Figure it drew and never calls
``plt.show()``. :func:`plot_curve` draws a collection (:func:`bayeslaw.fit_many`'s fits, or per-curve stacks) as
small multiples, one panel per curve (:mod:`bayeslaw.plots.grid`).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..averaging.stack import Stack, stack
from ..core.collection import Each
from ..errors import BayeslawError
from ..inference.many import split_by
from ..inference.result import Fit
from ..posterior.curves import Curve, curve, human, representative
from ..posterior.mixture import Mixture
from ..validation.compare import Comparison
from .style import (AXIS_LABELS, HELD_OUT_COLOR, MEAN_COLOR, NEW_RUN_COLOR, RUN_COLOR, TARGET_COLOR, axis_label,
                    loss_label, pct, place_legend, tidy_log_ticks)
from .grid import check_panels, key_text, refuse_collection, small_multiples


def _curve_of(model: Any, targets: Any, held_out: Any, slice: str | None, ci_prob: float | None,
              members: bool = False) -> Curve:
    if isinstance(model, Curve):
        return model
    return curve(model, targets, held_out=held_out, slice=slice, ci_prob=ci_prob, members=members)


def _axes(ax):
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    return ax.figure, ax


def plot_curve(model: Fit | Mixture | Curve | Each, targets: Any = None, *, held_out: Any = None,
               slice: str | None = None, ci_prob: float | None = None, ax=None):
    """The scaling curve: observed runs, the fitted law with its uncertainty, and targets.

    Draws the runs as points on log-log axes, the posterior median of the mean law (line) with
    its 50% and ``ci_prob`` bands, the ``ci_prob`` band of a new run (lighter, dashed outline)
    extended from the data to beyond the targets, the targets (posterior median of the mean law
    with the new-run interval as error bar, labelled) and held-out runs (orange diamonds, label
    "held out") so a reader can see whether they fall inside the band.

    Parameters
    ----------
    model : Fit, Stack, Curve or Fits
        A fit, a stacked predictive (:func:`bayeslaw.stack`; its bands are the mixture's, and its
        members may mix laws of N and D with laws of C, drawn against C), or a curve already
        computed by :func:`bayeslaw.curve` (then the other arguments are its own). A collection
        (:func:`bayeslaw.fit_many`'s fits, or the per-curve stacks of :func:`bayeslaw.stack`) is drawn as
        small multiples: one panel per curve (at most 16; draw more as ``fits[key]``), titled by its key
        (in red with the checks it failed), the same targets on each, one legend for the figure.
    targets : dict, DataFrame or Prediction, optional
        Scales to mark, e.g. ``{"N": [7e10], "D": [1.4e12]}`` (in the ``"optimal"`` slice
        ``{"C": [...]}`` alone is placed on the compute-optimal frontier), or a :class:`Prediction`.
    held_out : DataFrame or Runs, optional
        Runs not used in the fit (same columns as the fitted table, with ``loss``). For a collection: a
        dict of curve key to such runs, or one table with the collection's ``by`` column(s).
    slice : {"optimal", "ratio=<r>", "N"}, optional
        For laws of N and D, which cut to draw: the compute-optimal frontier (x-axis C, solved
        per posterior draw; default), D = r N (x-axis C), or one curve per model size (x-axis D,
        up to 5 sizes from the data, runs coloured by their nearest size).
    ci_prob : float, optional
        Mass of the outer band of the mean law and of the new-run band (default: ArviZ's
        ``stats.ci_prob``); the inner band is 50%.
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure (not for a collection).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(model, Each):
        if ax is not None:
            raise BayeslawError("plot_curve draws a collection on a grid of its own; leave ax out, or draw one "
                                "curve into it with plot_curve(fits[key], ax=ax).")
        return _plot_grid(model, targets, held_out, slice, ci_prob)
    c = _curve_of(model, targets, held_out, slice, ci_prob)
    fig, ax = _axes(ax)
    _draw_curve(ax, c)
    head = "" if isinstance(model, Curve) else _head(model)
    _finish_axes(ax, model, c, f"{head}\n{_title(c, model)}" if head else _title(c, model))
    return fig


def _draw_curve(ax, c: Curve, counted: bool = True) -> None:
    """A curve's bands and runs (``counted``: the legend says how many runs)."""
    if c.kind == "N":
        _draw_n_slices(ax, c)
        return
    band = c.line()
    x = band["x"].to_numpy()
    ax.fill_between(x, band["new_run_lower"], band["new_run_upper"], facecolor=NEW_RUN_COLOR, alpha=0.2,
                    edgecolor=NEW_RUN_COLOR, linestyle="--", linewidth=1.0,
                    label=f"{pct(c.ci_prob)} interval, new run", gid="band_new_run", zorder=1)
    _draw_mean_bands(ax, band, c.ci_prob)
    _draw_runs(ax, c, zorder=4, counted=counted)


def _head(model: Fit | Mixture) -> str:
    return f"{model.law.name}: {model.law.formula}" if isinstance(model, Fit) else model.label


def _plot_grid(models: Each, targets: Any, held_out: Any, slice: str | None, ci_prob: float | None):
    """:func:`plot_curve` of a collection: one panel per curve, the same targets on each."""
    check_panels(models, "plot_curve")
    if slice == "N":
        raise BayeslawError("slice='N' draws one line per model size with a legend of its own, too much for a panel "
                            "of a grid; draw one curve with plot_curve(fits[key], slice='N'), or the collection along "
                            "the compute-optimal frontier (slice='optimal').")
    bad = [k for k, m in models.items() if not isinstance(m, (Fit, Mixture))]
    if bad:
        raise BayeslawError(f"plot_curve draws collections of fits or stacks; {bad[0]!r} holds a "
                            f"{type(models[bad[0]]).__name__}, so plot its own figure.")
    by = getattr(models, "by", None)
    held = _held_out_by_key(models, held_out, by)
    curves = {k: _curve_of(m, targets, held.get(k), slice, ci_prob) for k, m in models.items()}
    heads = {_head(m) for m in models.values()}

    def draw(ax, key, model):
        c = curves[key]
        _draw_curve(ax, c, counted=False)
        failed = [d["check"] for d in model.spec.diagnostics] if isinstance(model, Fit) else []
        title = key_text(key, by) + (f"\n{_head(model)}" if len(heads) > 1 else "")
        _finish_axes(ax, model, c, title + (f" (failed checks: {', '.join(failed)})" if failed else ""),
                     legend=False)
        if failed:
            ax.title.set_color("#b2182b")

    first_key, first = next(iter(models.items()))
    c, fit = curves[first_key], representative(first)
    what = f"{len(models)} curves" + (f" by {by}" if isinstance(by, str) else "")
    head = f"{next(iter(heads))}\n" if len(heads) == 1 else ""
    return small_multiples(models, draw, figure="plot_curve", title=f"{head}{_title(c, first)}: {what}",
                           xlabel=axis_label(fit, c.xcol), ylabel=loss_label(fit))


def _held_out_by_key(models: Each, held_out: Any, by: Any) -> dict[Any, Any]:
    """Each curve's held-out runs: from a dict keyed like the collection, or one table split by its ``by``."""
    if held_out is None:
        return {}
    if isinstance(held_out, Mapping):
        unknown = [k for k in held_out if k not in models]
        if unknown:
            raise BayeslawError(f"held_out names {unknown[0]!r}, which is not a curve of this collection; key it "
                                f"like the collection ({', '.join(map(repr, list(models)[:3]))}, ...).")
        return dict(held_out)
    if by is None:
        raise BayeslawError("held_out for a collection is a dict of curve key to runs, or one table with the "
                            "column the collection was split by (fit_many's by=); this collection has no by.")
    return split_by(held_out, by)


def plot_overlay(models: Stack | Comparison | Curve, targets: Any = None, *, held_out: Any = None,
                 slice: str | None = None, ci_prob: float | None = None, ax=None):
    """Several laws on one scaling-curve figure: each fit's mean-law band and the stacked one.

    Draws, on log-log axes, the ``ci_prob`` band and median of the mean law of every fit in a
    distinct colour (legend: name and stacking weight), the band and median of the stacked
    predictive's mean law (black outline, black line), the observed runs, held-out runs and
    targets (the stack's median with its new-run interval). The cut is chosen as in
    :func:`plot_curve`.

    Parameters
    ----------
    models : Stack, Comparison or Curve
        A stack (:func:`bayeslaw.stack`), or a comparison (its fits with its weights). To overlay
        fits with other weights, stack them first: nothing is refitted here.
    targets, held_out, slice, ci_prob, ax
        As for :func:`plot_curve`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    refuse_collection(models, "plot_overlay", "stack")
    if isinstance(models, Comparison):
        models = stack(models)
    if not isinstance(models, (Mixture, Curve)):
        raise BayeslawError(f"plot_overlay takes a Stack or a Comparison; got {type(models).__name__}. Stack fits "
                            "first with bayeslaw.stack(fits, weights=...).")
    stk = models if isinstance(models, Mixture) else None
    c = _curve_of(models, targets, held_out, slice, ci_prob, members=True)
    fig, ax = _axes(ax)
    names = [m for m in dict.fromkeys(c.bands["member"]) if m != ""]
    colors = mpl.colormaps["tab10"](np.arange(len(names)) % 10)
    per_size = c.kind == "N"
    for name, color in zip(names, colors):
        weight = f" (weight {stk.weights[name]:.2f})" if stk is not None else ""
        for j, line in enumerate(c.lines):
            band = c.line(name, line)
            x = band["x"].to_numpy()
            ax.fill_between(x, band["mean_lower"], band["mean_upper"], facecolor=color, alpha=0.18, edgecolor=color,
                            lw=0.6, zorder=2, label=f"{name}{weight}" if j == 0 else None, gid="band_model")
            ax.plot(x, band["mean_median"], color=color, lw=1.0, ls="--", zorder=3, gid="median_model")
    for j, line in enumerate(c.lines):
        band = c.line("", line)
        x = band["x"].to_numpy()
        first = j == 0
        ax.fill_between(x, band["mean_lower"], band["mean_upper"], facecolor="none", edgecolor="black",
                        lw=0.7 if per_size else 1.0, zorder=4, hatch=None if per_size else "////",
                        label=f"stack: {pct(c.ci_prob)} interval, mean law" if first else None, gid="band_stack")
        ax.plot(x, band["mean_median"], color="black", lw=1.8, zorder=5, gid="median_stack",
                label=("stack: posterior median" + (", one line per N" if per_size else "")) if first else None)
        if per_size:
            ax.annotate(f"N = {human(line, 'N')}", (x[-1], band["mean_median"].iloc[-1]), xytext=(3, 0),
                        textcoords="offset points", fontsize=7, va="center", ha="left")
    _draw_runs(ax, c, zorder=6)
    how = {"loo": "stacking weights by PSIS-LOO", "backtest": "stacking weights by backtest",
           "given": "given weights"}.get(getattr(stk, "method", ""), "weights")
    _finish_axes(ax, stk if stk is not None else models, c,
                 f"{len(names)} laws and their stack ({how})\n{_title(c, stk)}")
    return fig


def _title(c: Curve, model: Any) -> str:
    if c.kind == "x" and model is not None and not isinstance(model, Curve):
        return f"loss against {axis_label(representative(model), c.xcol)}"
    return c.title


def _draw_runs(ax, c: Curve, *, zorder: int, counted: bool = True) -> None:
    """The fitted runs; along the compute-optimal frontier, those whose N and D are far from compute-optimal
    (their law lies above the frontier: see :func:`bayeslaw.posterior.curves.off_frontier`) hollow and grey.
    ``counted``: the legend says how many (not on a grid, whose panels share one legend)."""
    x, y = c.runs[c.xcol].to_numpy(float), c.runs["loss"].to_numpy(float)
    off = c.runs["off_frontier"].to_numpy(bool) if "off_frontier" in c.runs else np.zeros(len(x), bool)
    on, off_n = (f" (n={int((~off).sum())})", f" (n={int(off.sum())})") if counted else ("", "")
    on_label = f"runs near the frontier{on}" if off.any() else (f"runs (n={len(x)})" if counted else "runs")
    ax.scatter(x[~off], y[~off], s=14, color=RUN_COLOR, alpha=0.7, lw=0, zorder=zorder, label=on_label, gid="runs")
    if off.any():
        ax.scatter(x[off], y[off], s=14, facecolor="none", edgecolor="0.6", lw=0.6, zorder=zorder - 0.5,
                   label=f"runs off the frontier{off_n}: N, D not compute-optimal, so above it",
                   gid="runs_off_frontier")


def _draw_mean_bands(ax, band, ci_prob: float, what: str | None = "mean law") -> None:
    tail = f", {what}" if what else ""
    x = band["x"].to_numpy()
    ax.fill_between(x, band["mean_lower"], band["mean_upper"], facecolor=MEAN_COLOR, alpha=0.2, lw=0,
                    label=f"{pct(ci_prob)} interval{tail}", gid="band_outer", zorder=2)
    ax.fill_between(x, band["mean_lower_50"], band["mean_upper_50"], facecolor=MEAN_COLOR, alpha=0.35, lw=0,
                    label=f"50% interval{tail}", gid="band_50", zorder=2)
    ax.plot(x, band["mean_median"], color=MEAN_COLOR, lw=1.8, label=f"posterior median{tail}", gid="median",
            zorder=3)


def _draw_n_slices(ax, c: Curve) -> None:
    import matplotlib as mpl

    sizes = np.asarray(c.lines, float)
    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.85, len(sizes)))
    for i, (n, color) in enumerate(zip(sizes, colors)):
        band = c.line("", float(n))
        x = band["x"].to_numpy()
        ax.fill_between(x, band["mean_lower"], band["mean_upper"], facecolor=color, alpha=0.22, lw=0, zorder=2,
                        label=f"{pct(c.ci_prob)} interval, mean law" if i == 0 else None)
        ax.plot(x, band["new_run_lower"], color=color, lw=0.8, ls="--", zorder=2,
                label=f"{pct(c.ci_prob)} interval, new run" if i == 0 else None)
        ax.plot(x, band["new_run_upper"], color=color, lw=0.8, ls="--", zorder=2)
        ax.plot(x, band["mean_median"], color=color, lw=1.8, zorder=3, label=f"N = {human(n, 'N')}", gid="slice")
    logn = np.log10(c.runs["N"].to_numpy(float))
    nearest = np.abs(logn[:, None] - np.log10(sizes)[None, :]).argmin(axis=1)
    on_slice = np.abs(logn - np.log10(sizes)[nearest]) < 0.01
    rgba = colors[nearest].copy()
    rgba[:, 3] = np.where(on_slice, 0.9, 0.3)
    ax.scatter(c.runs["D"].to_numpy(float), c.runs["loss"].to_numpy(float), s=14, color=rgba, lw=0, zorder=4,
               label=f"runs (n={len(c.runs)}), coloured by nearest N", gid="runs")


def _draw_targets(ax, tgt, ci_prob: float, x_max: float) -> None:
    """Targets with their new-run interval, labelled above, on the side away from the edge of the data (so that the
    label never crosses the dotted line there)."""
    y = tgt["median"].to_numpy()
    yerr = np.vstack([y - tgt["lower"].to_numpy(), tgt["upper"].to_numpy() - y])
    ax.errorbar(tgt["x"].to_numpy(float), y, yerr=yerr, fmt="s", ms=6, color=TARGET_COLOR, mec="black", mew=0.6,
                capsize=4, elinewidth=1.4, zorder=7, label=f"target: median, {pct(ci_prob)} new-run interval",
                gid="target")
    for x, top, label in zip(tgt["x"], tgt["upper"], tgt["label"]):
        beyond = x >= x_max
        ax.annotate(label, (x, top), xytext=(-4 if beyond else 4, 5), textcoords="offset points", fontsize=8,
                    color=TARGET_COLOR, ha="left" if beyond else "right", va="bottom", zorder=8, gid="target_label")


def _finish_axes(ax, model: Any, c: Curve, title: str, legend: bool = True) -> None:
    """What every scaling-curve figure has: held-out runs, targets, the edge of the data, log axes, labels,
    title, grid, log ticks and (``legend``) the legend."""
    if c.held_out is not None:
        ax.scatter(c.held_out[c.xcol].to_numpy(float), c.held_out["loss"].to_numpy(float), s=46, marker="D",
                   facecolor=HELD_OUT_COLOR, edgecolor="black", lw=0.7, zorder=6, label="held out", gid="held_out")
    if c.targets is not None:
        _draw_targets(ax, c.targets, c.ci_prob, c.x_max)
    ax.axvline(c.x_max, color="0.55", lw=0.8, ls=":", zorder=1)
    ax.annotate("extrapolation \u2192", xy=(c.x_max, 0.02), xycoords=("data", "axes fraction"),
                xytext=(4, 0), textcoords="offset points", fontsize=8, color="0.4", va="bottom")
    ax.set_xscale("log")
    ax.set_yscale("log")
    fit = representative(model) if isinstance(model, (Fit, Mixture)) else None
    ax.set_xlabel(axis_label(fit, c.xcol) if fit is not None else AXIS_LABELS.get(c.xcol, c.xcol))
    ax.set_ylabel(loss_label(fit))
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", color="0.9", lw=0.6)
    ax.autoscale_view()
    tidy_log_ticks(ax)
    _place_target_labels(ax, c.x_max)
    if legend:
        place_legend(ax)


def _place_target_labels(ax, x_max: float) -> None:
    """Each target's label inside the axes and clear of the dotted line at the edge of the data: aligned away
    from the line, else towards it, else centred (the axes were drawn by :func:`tidy_log_ticks`)."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    line_x = ax.transData.transform((x_max, 1.0))[0]
    for label in [t for t in ax.texts if t.get_gid() == "target_label"]:
        beyond = label.xy[0] >= x_max
        for ha, dx in ((("left", -4), ("right", 4)) if beyond else (("right", 4), ("left", -4))) + (("center", 0),):
            label.set_horizontalalignment(ha)
            label.xyann = (dx, 5)
            box = label.get_window_extent(renderer)
            if box.x0 >= frame.x0 and box.x1 <= frame.x1 and not box.x0 < line_x < box.x1:
                break
