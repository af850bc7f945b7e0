"""Small multiples of a collection (:func:`bayeslaw.fit_many`'s fits, or per-curve stacks): one panel per key on
a grid of at most :data:`MAX_PANELS`, with one legend for the figure; and the one-sentence refusal of figures that
draw one fit when they are given a collection.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..core.collection import Each
from ..errors import BayeslawError

#: The most panels one grid draws (beyond it the panels are too small to read).
MAX_PANELS = 16
#: Inches of one panel (width, height).
PANEL_SIZE = (3.4, 2.7)


def refuse_collection(obj: Any, figure: str, what: str = "fit") -> None:
    """Refuse a collection given to a figure of one ``what``, saying to pass one of its members."""
    if isinstance(obj, Each):
        first = next(iter(obj), None)
        raise BayeslawError(f"{figure} draws one {what}, and this is a collection of {len(obj)} (one per "
                            f"{obj.name}); pass one of them, e.g. {figure}({what}s[{first!r}]).")


def check_panels(collection: Each, figure: str) -> None:
    """Refuse an empty collection, or one of more than :data:`MAX_PANELS` members, saying how to draw fewer."""
    n = len(collection)
    if n == 0:
        raise BayeslawError(f"{figure} was given an empty collection; fit at least one data set first.")
    if n > MAX_PANELS:
        first = next(iter(collection))
        raise BayeslawError(f"{figure} draws at most {MAX_PANELS} curves on one grid and this collection holds {n}; "
                            f"pass one curve (fits[{first!r}]) or a collection of at most {MAX_PANELS} "
                            f"(bayeslaw.Fits({{k: fits[k] for k in keys}})).")


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, columns) of a grid of ``n`` panels: one row up to 3, 2 x 2 for 4, beyond that 3 or 4 columns,
    whichever makes fewer rows (then fewer empty cells)."""
    if n <= 4:
        return (2, 2) if n == 4 else (1, n)
    cols = min((3, 4), key=lambda c: (math.ceil(n / c), -n % c))
    return math.ceil(n / cols), cols


def small_multiples(collection: Each, draw: Callable[[Any, Any, Any], None], *, figure: str, title: str,
                    xlabel: str, ylabel: str):
    """A figure with one panel per member of ``collection``: ``draw(ax, key, member)`` fills a panel; the x
    axis is labelled under the panels with none below them, the y axis once for the grid, and the panels'
    legend entries, deduplicated, make one legend under the grid (:func:`check_panels` first)."""
    import matplotlib.pyplot as plt

    check_panels(collection, figure)
    n = len(collection)
    rows, cols = grid_shape(n)
    fig, axes = plt.subplots(rows, cols, figsize=(PANEL_SIZE[0] * cols, PANEL_SIZE[1] * rows + 1.0),
                             layout="constrained", squeeze=False)
    for i, (ax, (key, member)) in enumerate(zip(axes.flat, collection.items())):
        draw(ax, key, member)
        ax.set_xlabel(xlabel if i + cols >= n else "", fontsize=9)
        ax.set_ylabel("")
    for ax in axes.flat[n:]:
        fig.delaxes(ax)
    seen: dict[str, Any] = {}
    for ax in axes.flat[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside lower center", ncol=min(3, len(seen)),
                   fontsize=8, frameon=False)
    fig.supylabel(ylabel, fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def key_text(key: Any, by: Any) -> str:
    """A panel's title: ``by = key`` (several columns: ``a = 1, b = 2``), or the key alone."""
    if isinstance(by, str):
        return f"{by} = {key}"
    if by is not None and isinstance(key, tuple) and len(key) == len(by):
        return ", ".join(f"{b} = {k}" for b, k in zip(by, key))
    return str(key)
