"""Figures of fits, stacks and comparisons; they draw results computed by the layers below.

Every function returns the matplotlib Figure it drew and never calls ``plt.show()``;
:func:`save_figure` writes one to PNG, SVG or PDF. Bands are equal-tailed posterior intervals:
50% and ``ci_prob`` for the *mean law* (uncertainty about the law itself) and ``ci_prob`` for a
*new run* (the law plus the run-to-run noise). :func:`plot_curve` draws a collection of fits
(:func:`bayeslaw.fit_many`) as small multiples (:mod:`bayeslaw.plots.grid`); the figures of one fit refuse one.
"""

from .curve import plot_curve, plot_overlay
from .optimum import plot_optimum
from .posterior import plot_compare, plot_diagnostics, plot_params
from .style import AXIS_LABELS, as_figure, save_figure

__all__ = ["AXIS_LABELS", "as_figure", "plot_compare", "plot_curve", "plot_diagnostics", "plot_optimum",
           "plot_overlay", "plot_params", "save_figure"]
