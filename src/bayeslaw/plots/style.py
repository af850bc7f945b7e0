"""What every bayeslaw figure shares: colours, axis labels, log ticks, and writing figures to files.

Figures are made with pyplot (``plt.show()`` works in scripts, notebooks display them) and
never shown here; :func:`save_figure` writes one to PNG, SVG or PDF, atomically. No backend is
forced: pick one as usual (tests and servers use ``Agg``).
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ..core.paths import check_output
from ..errors import BayeslawError

AXIS_LABELS = {
    "N": "parameters N",
    "D": "training tokens D",
    "C": "training compute C (FLOPs)",
    "x": "size x",
    "loss": "loss",
}
"""Axis labels with units, by canonical variable."""
MEAN_COLOR = "#1f5fa8"
NEW_RUN_COLOR = "#7fa7d6"
RUN_COLOR = "0.25"
HELD_OUT_COLOR = "#e07b00"
TARGET_COLOR = "#c0282d"
PRIOR_COLOR = "#d9822b"
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def axis_label(fit: Any, col: str) -> str:
    """The axis label of a size column: with its unit for N, D, C; the source column's name for others."""
    if col in AXIS_LABELS and col != "x":
        return AXIS_LABELS[col]
    source = fit.spec.data.columns.get(col, col)
    return f"size {source}" if source != col else AXIS_LABELS.get(col, f"size {col}")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 150, overwrite: bool = False) -> Path:
    """Write a figure to PNG, SVG or PDF (by suffix), atomically; returns the path.

    An existing file is replaced only with ``overwrite=True`` (the rule of every bayeslaw output, as
    :meth:`bayeslaw.Fit.save` and the CLI's ``--overwrite``: :mod:`bayeslaw.core.paths`); a symbolic link
    is written through to its target.

    Parameters
    ----------
    fig : matplotlib Figure (or an arviz-plots PlotCollection)
    path : str or path
        Output file; its suffix (``.png``, ``.svg``, ``.pdf``) picks the format.
    dpi : int, default 150
        Resolution of PNG output.
    overwrite : bool, default False
        Replace ``path`` if it exists; without it an existing file is refused (:class:`~bayeslaw.BayeslawError`).
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BayeslawError(f"Cannot tell the image format of '{path}'; end the name in .png, .svg or .pdf.")
    dest = check_output(path, flag="Figure file", overwrite=overwrite)
    fig = as_figure(fig)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight")
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def as_figure(obj: Any):
    """The matplotlib Figure behind a Figure or an arviz-plots PlotCollection."""
    from matplotlib.figure import Figure  # matplotlib loads with the first figure, not with bayeslaw

    if isinstance(obj, Figure):
        return obj
    get_viz = getattr(obj, "get_viz", None)
    if get_viz is not None:
        fig = get_viz("figure")
        if isinstance(fig, Figure):
            return fig
    raise BayeslawError(f"Expected a matplotlib Figure or an arviz-plots PlotCollection (matplotlib backend); "
                        f"got {type(obj).__name__}.")


def nice_log_ticks(axis) -> None:
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


def loss_label(fit: Any) -> str:
    """The loss axis's label with its unit (:attr:`bayeslaw.FitSpec.loss_unit`, the unit the CLI's tables and
    JSON state): nats per token for language-model runs, else the run table's own."""
    if fit is None:
        return "loss"
    return f"loss ({fit.spec.loss_unit})"


def tidy_log_ticks(ax) -> None:
    """Readable ticks on both log axes: plain numbers on a short span, and no two x tick labels overlapping
    (every other label dropped until none do; needs a draw to measure them)."""
    for axis in (ax.xaxis, ax.yaxis):
        nice_log_ticks(axis)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for step in (2, 3, 4, 5):
        labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
        boxes = [t.get_window_extent(renderer) for t in labels]
        if not any(a.x1 > b.x0 for a, b in zip(boxes, boxes[1:])):
            return
        from matplotlib.ticker import FixedLocator

        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        ax.xaxis.set_major_locator(FixedLocator(ticks[::step]))
        fig.canvas.draw()


def place_legend(ax, **kwargs) -> None:
    """The legend where it covers no band and the fewest points: the first such corner or side, else outside
    the axes on the right."""
    legend = ax.legend(fontsize=8, framealpha=0.9, **kwargs)
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bands = [poly.get_transform().transform_path(path) for poly in ax.collections
             if type(poly).__name__ in ("PolyCollection", "FillBetweenPolyCollection") for path in poly.get_paths()]
    points = [c.get_offset_transform().transform(c.get_offsets()) for c in ax.collections
              if type(c).__name__ == "PathCollection" and len(c.get_offsets())]
    points = np.concatenate(points) if points else np.empty((0, 2))
    best, best_cost = None, None
    for loc in ("upper right", "upper left", "lower left", "lower right", "upper center", "lower center",
                "center right", "center left"):
        legend.set_loc(loc)
        box = legend.get_window_extent(renderer)
        if any(path.intersects_bbox(box, filled=True) for path in bands):
            continue
        inside = int(np.sum((points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0)
                            & (points[:, 1] < box.y1))) if len(points) else 0
        if best_cost is None or inside < best_cost:
            best, best_cost = loc, inside
        if inside == 0:
            break
    if best is not None:
        legend.set_loc(best)
    else:
        legend.remove()
        ax.legend(fontsize=8, framealpha=0.9, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0,
                  **kwargs)


def tidy_arviz_figure(fig) -> None:
    """Room for the suptitle, at most ~5 ticks per x-axis, no overlapping labels (arviz-plots figures)."""
    from matplotlib.ticker import MaxNLocator

    for ax in fig.axes:
        if ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    fig.set_layout_engine("constrained")


def pct(p: float) -> str:
    return f"{100 * p:g}%"


def sci(v: float) -> str:
    """Mathtext a x 10^b."""
    if not np.isfinite(v) or v <= 0:
        return f"{v:g}"
    e = math.floor(np.log10(v))
    m = v / 10 ** e
    if round(m, 1) >= 10:
        m, e = m / 10, e + 1
    return rf"${m:.1f}\times10^{{{e}}}$" if abs(m - 1) > 0.05 else rf"$10^{{{e}}}$"


def check_names(fit: Any, names: list[str]) -> None:
    have = list(fit.idata["posterior"].data_vars)
    missing = [n for n in names if n not in have]
    if missing:
        raise BayeslawError(f"No posterior variable(s) {', '.join(missing)} in this fit; choose among "
                            f"{', '.join(have)}.")
