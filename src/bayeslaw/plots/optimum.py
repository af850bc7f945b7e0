"""The compute-optimal allocation figure: N*(C) and D*(C) as posteriors, drawn from a Decision."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import LawError
from ..inference.result import Fit
from ..posterior.curves import observed
from ..posterior.decide import optimal_allocation
from .grid import refuse_collection
from .style import AXIS_LABELS, MEAN_COLOR, TARGET_COLOR, pct, sci


def plot_optimum(fit: Fit, C: Any = None, *, budget: Any = None, ci_prob: float | None = None):
    """Compute-optimal model size N*(C) and training tokens D*(C), as posteriors.

    Two panels on log-log axes with the posterior median and the 50% and ``ci_prob`` bands, from
    :func:`bayeslaw.optimal_allocation` (solved per posterior draw). The dotted line marks the
    largest fitted budget; beyond it the allocation is an extrapolation. Each requested ``budget``
    is marked on both panels (a dashed line, and its N* or D* with the ``ci_prob`` interval) and
    the ratio D*/N* at the (first) budget is written in the figure.

    Parameters
    ----------
    fit : Fit
        A fit of a law of N and D.
    C : array of float, optional
        Compute budgets in FLOPs. Default: 30 budgets from the smallest fitted C to 100x the largest.
    budget : float or list of float, optional
        Budgets to mark (e.g. the ``--compute`` of a report); the curve's range is widened to include them.
    ci_prob : float, optional
        Mass of the outer band (default: ArviZ's ``stats.ci_prob``).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    LawError
        For laws that are not of N and D (no allocation to choose).
    """
    import matplotlib.pyplot as plt

    refuse_collection(fit, "plot_optimum")
    if set(fit.design) != {"N", "D"}:
        raise LawError(f"plot_optimum needs a law of parameters N and tokens D (such as chinchilla or kaplan); "
                       f"{fit.law.name!r} is a law of {', '.join(fit.design.values())}.")
    runs = observed(fit)
    c_max = float(runs["C"].max())
    if C is None:
        C = np.logspace(np.log10(runs["C"].min()), np.log10(c_max * 100), 30)
    C = np.sort(np.atleast_1d(np.asarray(C, dtype=float)))
    marks = np.sort(np.atleast_1d(np.asarray(budget, dtype=float))) if budget is not None else np.empty(0)
    if len(marks) and len(C) >= 2:
        C = np.geomspace(min(C[0], marks[0] / 2), max(C[-1], marks[-1] * 2), len(C))
    dec = optimal_allocation(fit, C, ci_prob=ci_prob)
    at = optimal_allocation(fit, marks, ci_prob=ci_prob).table if len(marks) else None
    outer, inner, q = dec.table, dec.summary_at(0.5), dec.ci_prob
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.2), layout="constrained")
    for ax, key, var in zip(axes, ("N_opt", "D_opt"), ("N", "D")):
        med, lo, hi = (outer[f"{key}_{s}"].to_numpy() for s in ("median", "lower", "upper"))
        if len(C) >= 2:
            ax.fill_between(C, lo, hi, facecolor=MEAN_COLOR, alpha=0.2, lw=0, label=f"{pct(q)} interval",
                            gid="band_outer", zorder=2)
            ax.fill_between(C, inner[f"{key}_lower"], inner[f"{key}_upper"], facecolor=MEAN_COLOR, alpha=0.35, lw=0,
                            label="50% interval", gid="band_50", zorder=2)
            ax.plot(C, med, color=MEAN_COLOR, lw=1.8, label="posterior median", gid="median", zorder=3)
        else:
            ax.errorbar(C, med, yerr=[med - lo, hi - med], fmt="o", color=MEAN_COLOR, capsize=3,
                        label=f"median, {pct(q)} interval")
        if C.min() <= c_max:
            ax.axvline(c_max, color="0.55", lw=0.8, ls=":", label="largest fitted budget")
        if at is not None:
            m, lo_b, hi_b = (at[f"{key}_{s}"].to_numpy() for s in ("median", "lower", "upper"))
            for j, c_b in enumerate(marks):
                ax.axvline(c_b, color=TARGET_COLOR, lw=0.9, ls="--", zorder=4, gid="budget",
                           label="requested budget" if j == 0 else None)
            ax.errorbar(marks, m, yerr=[m - lo_b, hi_b - m], fmt="s", ms=6, color=TARGET_COLOR, mec="black", mew=0.6,
                        capsize=4, zorder=6, label=f"{var}* at the budget: median, {pct(q)} interval")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(AXIS_LABELS["C"])
        ax.set_ylabel(f"compute-optimal {AXIS_LABELS[var]}*")
        ax.grid(True, which="major", color="0.9", lw=0.6)
        ax.legend(fontsize=8, loc="upper left", framealpha=0.9)
    last, c_text = (at.iloc[0], marks[0]) if at is not None else (outer.iloc[-1], C[-1])
    axes[1].text(0.97, 0.04, f"at C = {sci(c_text)}: D*/N* = {last['tokens_per_param_median']:.3g} "
                 f"[{last['tokens_per_param_lower']:.3g}, {last['tokens_per_param_upper']:.3g}]",
                 transform=axes[1].transAxes, ha="right", va="bottom", fontsize=8)
    fig.suptitle(f"{fit.law.name}: compute-optimal allocation (C = {fit.spec.data.flops_per_param_token:g} N D)",
                 fontsize=11)
    return fig
