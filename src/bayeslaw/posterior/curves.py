"""Scaling curves, computed: the numbers a curve figure draws, for a fit or a mixture of fits.

:func:`curve` chooses the one-dimensional cut (a one-input law's own axis; for laws of N and D
the compute-optimal frontier, a fixed ratio D = r N, or one curve per model size), builds the x
grid (from the data to beyond held-out runs and targets), and summarises along it the
posterior of the mean law (median, 50% and ``ci_prob`` bands) and of a new run (``ci_prob``
band), plus the runs, held-out runs and targets to mark. The result is a :class:`Curve`:
figures (:mod:`bayeslaw.plots`) only draw it.

New-run bands use common random numbers: each posterior draw's noise values are shared across
the grid, so the band's edges are smooth curves instead of Monte Carlo zigzags; several noise
draws per posterior draw steady its tails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..core.records import resolve_ci_prob
from ..core.runs import SIZE_COLUMNS, Runs, load_runs
from ..errors import BayeslawError, DataError, LawError
from ..inference.result import Fit
from .decide import optimal_allocation
from .mixture import Mixture
from .predict import Prediction, noise_draws, predict
from .summaries import interval
from .targets import ignored_names

_N_GRID = 80
_MAX_SLICES = 5
_NEW_RUN_DRAWS = 8000


@dataclass
class Curve:
    """A scaling curve's numbers.

    Attributes
    ----------
    kind : {"x", "optimal", "ratio", "N", "partial"}
        The cut: a one-input law's axis, the compute-optimal frontier, D = ratio N, one line per N, or one
        input of a law of several with the others at their fitted geometric means.
    xcol : str
        The x axis's column (``C`` along the frontier or a ratio, ``D`` per model size).
    bands : DataFrame
        One row per (``member``, ``line``, ``x``): ``mean_median``, ``mean_lower``/``mean_upper``
        (``ci_prob``), ``mean_lower_50``/``mean_upper_50`` and, for the model itself (``member``
        ``""``), ``new_run_lower``/``new_run_upper``. ``line`` is ``""`` or a model size N.
    runs, held_out, targets : DataFrame
        The fitted runs (xcol and loss; along the frontier also ``off_frontier``, see
        :func:`off_frontier`), held-out runs (or None), targets with ``x``, ``median``
        (mean law), ``lower``/``upper`` (new run) and ``label`` (or None).
    x_max : float
        The largest fitted x: beyond it the curve extrapolates.
    ci_prob : float
    title : str
        What the cut is, in words.
    ratio : float or None
    """

    kind: str
    xcol: str
    bands: pd.DataFrame
    runs: pd.DataFrame
    held_out: pd.DataFrame | None
    targets: pd.DataFrame | None
    x_max: float
    ci_prob: float
    title: str
    ratio: float | None = None

    def line(self, member: str = "", line: Any = "") -> pd.DataFrame:
        """The rows of one band: a member's (``""``: the model's own) along one line."""
        b = self.bands
        return b[(b["member"] == member) & (b["line"] == line)]

    @property
    def lines(self) -> list:
        """The lines of the curve (``""``, or one model size N per line of the "N" cut), in order."""
        return list(dict.fromkeys(self.bands.loc[self.bands["member"] == "", "line"]))


def fits_of(model: Fit | Mixture) -> list[Fit]:
    return list(model.fits.values()) if isinstance(model, Mixture) else [model]


def representative(model: Fit | Mixture) -> Fit:
    """The fit whose runs, column names and k a figure uses: the fit itself, or a mixture's first law of
    N and D (else its first fit). A mixture's fits share their runs."""
    fits = fits_of(model)
    return next((f for f in fits if set(f.design) == {"N", "D"}), fits[0])


def parse_slice(slice: str | None) -> dict[str, Any]:
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


def cut_of(model: Fit | Mixture, slice: str | None) -> dict[str, Any]:
    """The one-dimensional cut a curve is drawn along: kind ("x", "optimal", "ratio", "N", "partial") and
    x-axis column. A law of other inputs than one size or N and D is drawn against one of its inputs
    (``slice`` names it; default the first) with the others at their fitted geometric means."""
    fits = fits_of(model)
    cols = [tuple(f.design.values()) for f in fits]
    if len(set(cols)) == 1 and len(cols[0]) == 1:
        if slice is not None:
            what = repr(fits[0].law.name) if isinstance(model, Fit) else "this stack"
            raise BayeslawError(f"slice={slice!r} applies to laws of several inputs; {what} is a law of "
                                f"{cols[0][0]} alone: leave slice out.")
        return {"kind": "x", "xcol": cols[0][0]}
    if any(set(f.design) == {"N", "D"} for f in fits):
        cut = parse_slice(slice)
        cut["xcol"] = "D" if cut["kind"] == "N" else "C"
        return cut
    if len(set(cols)) == 1:
        inputs = cols[0]
        xcol = inputs[0] if slice is None else slice
        if xcol not in inputs:
            raise BayeslawError(f"slice={slice!r} must name one of the law's inputs ({', '.join(inputs)}): the "
                                "x-axis, with the other inputs at their fitted geometric means.")
        runs = observed(representative(model))
        fixed = {c: float(np.exp(np.mean(np.log(runs[c].to_numpy(float))))) for c in inputs if c != xcol}
        return {"kind": "partial", "xcol": xcol, "fixed": fixed}
    raise LawError("A stack's curve needs fits of the same inputs, or laws of N and D (with laws of C beside "
                   f"them); these are laws of {'; '.join(', '.join(c) for c in cols)}.")


def observed(fit: Fit) -> pd.DataFrame:
    """The fitted runs: their size columns and loss (C = k N D added when missing)."""
    runs = fit.runs()
    frame = runs.frame[list(runs.variables)].reset_index(drop=True)
    if {"N", "D"} <= set(frame.columns) and "C" not in frame.columns:
        frame["C"] = runs.flops_per_param_token * frame["N"] * frame["D"]
    frame["loss"] = runs.loss
    return frame


def held_out_frame(fit: Fit, held_out: pd.DataFrame | Runs) -> pd.DataFrame:
    """Held-out runs as a frame with the fit's input columns (and C for laws of N and D).

    A table is read with the fit's own column mapping where it has the fitted table's columns
    (a fit made with ``x="seen_examples"`` reads held-out runs' ``seen_examples`` as its x), and by
    name otherwise."""
    data = fit.spec.data
    k = float(data.flops_per_param_token)
    if isinstance(held_out, Runs):
        frame = held_out.frame.copy()
    else:
        table = pd.DataFrame(held_out)
        have = {str(c) for c in table.columns}
        x = {v: str(col) for v, col in data.columns.items()
             if v != "loss" and v not in data.derived and str(col) in have}
        y = data.columns.get("loss")
        frame = load_runs(table, x=x or None, y=y if y in have else None, flops_per_param_token=k,
                          inputs=list(fit.design.values())).frame.copy()
    if {"N", "D"} <= set(frame.columns) and "C" not in frame.columns:
        frame["C"] = k * frame["N"] * frame["D"]
    need = list(fit.design.values()) + (["C"] if set(fit.design) == {"N", "D"} else [])
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DataError(f"Held-out runs need column(s) {', '.join(missing)} like the fitted runs; "
                        f"they have {', '.join(frame.columns)}.")
    return frame


def slice_sizes(runs: pd.DataFrame) -> np.ndarray:
    """Up to 5 model sizes of the runs, evenly spread in rank, for the "N" slice."""
    sizes = np.unique(runs["N"].to_numpy(float))
    if len(sizes) > _MAX_SLICES:
        idx = np.unique(np.round(np.linspace(0, len(sizes) - 1, _MAX_SLICES)).astype(int))
        sizes = sizes[idx]
    return sizes


def _grid(runs: pd.DataFrame, held, tgt, xcol: str) -> tuple[np.ndarray, float]:
    """The figure's x grid, in decades: from the smallest point to a margin past the largest run, held-out run
    or target (a target whose x overflows a float, C = 6 N D with N = 1e300, is not placed; see _targets)."""
    x_data = runs[xcol].to_numpy(float)
    x_lo, x_hi = x_data.min(), x_data.max()
    ends = [np.log10(x_hi) + 1.0]
    if held is not None:
        ends.append(np.log10(held[xcol].max()) + 0.25)
        x_lo = min(x_lo, held[xcol].min())
    if tgt is not None and len(tgt):
        ends.append(np.log10(tgt["x"].max()) + 0.5)
        x_lo = min(x_lo, tgt["x"].min())
    top = min(max(ends), np.log10(np.finfo(float).max))
    return np.logspace(np.log10(x_lo), top, _N_GRID), float(x_hi)


def _predict_mean(fit: Fit, targets: Mapping[str, Any] | None = None, **kwargs) -> np.ndarray:
    """The mean law's draws at the cut's points; sizes of the cut that this law does not use (D for a law of N
    alone, drawn along D = r N) are left out, as a stack's members are."""
    given = {**(dict(targets) if targets is not None else {}), **kwargs}
    drop = {n for n in ignored_names(fit, set(given)) if n in SIZE_COLUMNS}
    try:
        return predict(fit, **{k: v for k, v in given.items() if k not in drop}).draws("mean")
    except DataError as exc:
        raise LawError(f"{fit.law.name!r} cannot be drawn on this curve: {exc}") from None


def member_mean(fit: Fit, cut: Mapping[str, Any], grid: np.ndarray | None, **points) -> np.ndarray:
    """Draws (draws x grid) of one fit's mean law along a cut; a law of C alone is drawn against C
    (along the frontier, or at C = k N D of the points)."""
    if cut["kind"] == "points":
        return _predict_mean(fit, **points)
    if cut["kind"] == "optimal":
        if set(fit.design) == {"N", "D"}:
            return optimal_allocation(fit, grid).draws("loss_opt")
        if list(fit.design.values()) != ["C"]:
            raise LawError(f"{fit.law.name!r} is a law of {', '.join(fit.design.values())}: it has no value along "
                           "the compute-optimal frontier; draw it with slice='ratio=20' or slice='N'.")
        return _predict_mean(fit, C=grid)
    if cut["kind"] == "ratio":
        N = np.sqrt(grid / (fit.spec.data.flops_per_param_token * cut["ratio"]))
        return _predict_mean(fit, N=N, D=cut["ratio"] * N)
    return _predict_mean(fit, targets={cut["xcol"]: grid, **cut.get("fixed", {})})


def mean_draws(model: Fit | Mixture, cut: Mapping[str, Any], grid: np.ndarray | None, **points) -> np.ndarray:
    """Draws of the mean law along a cut: a fit's, or a mixture's (the mixture of its members')."""
    if isinstance(model, Mixture):
        counts = model.draw_counts
        return model.mix({n: member_mean(f, cut, grid, **points) for n, f in model.fits.items() if counts[n] > 0})
    return member_mean(model, cut, grid, **points)


def new_run_draws(model: Fit | Mixture, mean: np.ndarray) -> np.ndarray:
    """Draws of a new run along a grid: the mean law times exp(noise), several noise draws per posterior draw,
    each draw's noise shared across the grid (common random numbers)."""
    reps = max(1, math.ceil(_NEW_RUN_DRAWS / mean.shape[0]))
    eps = (model.noise_draws(reps, seed=0) if isinstance(model, Mixture)
           else noise_draws(model, (mean.shape[0], reps), seed=0))
    with np.errstate(over="ignore"):  # a Student-t draw with small nu can exceed exp's range: inf is its value
        return (mean[:, None, :] * np.exp(eps)[:, :, None]).reshape(-1, mean.shape[1])


def band_rows(x: np.ndarray, mean: np.ndarray, new: np.ndarray | None, ci_prob: float, member: str = "",
              line: Any = "") -> pd.DataFrame:
    """One band's rows: median, ``ci_prob`` and 50% intervals of the mean law (and the new run's) at each x."""
    lo, med, hi = interval(mean, ci_prob)
    lo50, _, hi50 = interval(mean, 0.5)
    out = pd.DataFrame({"member": member, "line": [line] * len(x), "x": x, "mean_median": med, "mean_lower": lo,
                        "mean_upper": hi, "mean_lower_50": lo50, "mean_upper_50": hi50})
    if new is not None:
        out["new_run_lower"], _, out["new_run_upper"] = interval(new, ci_prob)
    return out


def _targets(model: Fit | Mixture, targets: Any, cut: Mapping[str, Any], ci_prob: float) -> pd.DataFrame:
    """Targets as x, median (mean law), lower/upper (new run) and a label; a target whose x is not a finite
    positive float along this cut (C = 6 N D overflows) is left off the figure (its numbers are in predict)."""
    if isinstance(targets, Prediction):
        table = targets.table
    else:
        frame = pd.DataFrame(targets)
        if cut["kind"] == "optimal" and list(frame.columns) == ["C"]:
            C = frame["C"].to_numpy(float)
            mean = mean_draws(model, cut, C)
            table = pd.DataFrame({"C": C, "mean_median": np.median(mean, axis=0)})
            table["new_run_lower"], _, table["new_run_upper"] = interval(new_run_draws(model, mean), ci_prob)
        else:
            table = model.predict(frame, ci_prob=ci_prob).table
    xcol = cut["xcol"]
    if xcol not in table.columns:
        raise DataError(f"Targets need {xcol} (or inputs it follows from) to be placed on this plot; "
                        f"they have {', '.join(c for c in table.columns if c in ('N', 'D', 'C', 'x'))}.")
    label_cols = [c for c in ("N", "D") if c in table.columns] or [xcol]
    names = {c: str(representative(model).spec.data.columns.get(c, c)) if c == "x" else c for c in label_cols}
    labels = [", ".join(f"{names[c]} = {human(row[c], c)}" for c in label_cols) for _, row in table.iterrows()]
    frame = pd.DataFrame({"x": table[xcol].to_numpy(float), "median": table["mean_median"].to_numpy(float),
                          "lower": table["new_run_lower"].to_numpy(float),
                          "upper": table["new_run_upper"].to_numpy(float), "label": labels})
    x = frame["x"].to_numpy(float)
    return frame[np.isfinite(x) & (x > 0)].reset_index(drop=True)


def curve(model: Fit | Mixture, targets: Any = None, *, held_out: pd.DataFrame | Runs | None = None,
          slice: str | None = None, ci_prob: float | None = None, members: bool = False) -> Curve:
    """The numbers of a scaling-curve figure of a fit or a mixture (see the module docstring).

    ``targets`` are scales to mark (a dict or DataFrame of inputs, or a :class:`Prediction`; along the
    frontier ``{"C": [...]}`` alone is placed on it); ``held_out`` runs not used in the fit; ``slice``
    the cut of a law of N and D (``"optimal"``, ``"ratio=20"`` or ``"N"``); ``members`` adds each
    member's mean-law band for a mixture.
    """
    ci_prob = resolve_ci_prob(ci_prob, low=0.5)
    cut = cut_of(model, slice)
    xcol, rep = cut["xcol"], representative(model)
    runs = observed(rep)
    held = held_out_frame(rep, held_out) if held_out is not None else None
    tgt = _targets(model, targets, cut, ci_prob) if targets is not None else None
    grid, x_max = _grid(runs, held, tgt, xcol)
    parts = []
    if cut["kind"] == "N":
        sizes = slice_sizes(runs)
        points = {"N": np.repeat(sizes, len(grid)), "D": np.tile(grid, len(sizes))}
        flat = mean_draws(model, {"kind": "points"}, None, **points)
        new = new_run_draws(model, flat).reshape(-1, len(sizes), len(grid))
        mean = flat.reshape(-1, len(sizes), len(grid))
        parts += [band_rows(grid, mean[:, i], new[:, i], ci_prob, line=float(n)) for i, n in enumerate(sizes)]
        if members and isinstance(model, Mixture):
            for name, f in model.fits.items():
                m = member_mean(f, {"kind": "points"}, None, **points).reshape(-1, len(sizes), len(grid))
                parts += [band_rows(grid, m[:, i], None, ci_prob, member=name, line=float(n))
                          for i, n in enumerate(sizes)]
    else:
        mean = mean_draws(model, cut, grid)
        parts.append(band_rows(grid, mean, new_run_draws(model, mean), ci_prob))
        if members and isinstance(model, Mixture):
            parts += [band_rows(grid, member_mean(f, cut, grid), None, ci_prob, member=name)
                      for name, f in model.fits.items()]
    if cut["kind"] == "optimal" and set(rep.design) == {"N", "D"}:
        runs["off_frontier"] = off_frontier(rep, runs, parts[0])
    return Curve(kind=cut["kind"], xcol=xcol, bands=pd.concat(parts, ignore_index=True), runs=runs, held_out=held,
                 targets=tgt, x_max=x_max, ci_prob=ci_prob, title=cut_title(cut, rep), ratio=cut.get("ratio"))


def off_frontier(fit: Fit, runs: pd.DataFrame, band: pd.DataFrame) -> np.ndarray:
    """Which runs lie off the compute-optimal frontier by design: the law (posterior median) at the run's own
    N and D exceeds the frontier's at its C by more than half the new-run interval's upper half-width there.

    Such runs (e.g. the ends of an isoFLOP profile) sit above the frontier's band without any
    misfit; a figure along the frontier draws them apart so they are not read as miscalibration.
    """
    mean = np.median(mean_draws(fit, {"kind": "points"}, None, N=runs["N"].to_numpy(float),
                                D=runs["D"].to_numpy(float)), axis=0)
    log_c = np.log(runs["C"].to_numpy(float))
    grid = np.log(band["x"].to_numpy(float))
    frontier = np.exp(np.interp(log_c, grid, np.log(band["mean_median"].to_numpy(float))))
    upper = np.exp(np.interp(log_c, grid, np.log(band["new_run_upper"].to_numpy(float))))
    return np.log(mean / frontier) > 0.5 * np.log(upper / frontier)


def cut_title(cut: Mapping[str, Any], fit: Fit) -> str:
    if cut["kind"] == "optimal":
        if getattr(fit.law, "discrepancy", ()):   # a stack's representative fit, or a fit
            return ("along the law's compute-optimal frontier N*(C), D*(C) (per posterior draw; the loss with its "
                    "curvature term)")
        return "along the compute-optimal frontier N*(C), D*(C) (solved per posterior draw)"
    if cut["kind"] == "ratio":
        return f"along D = {cut['ratio']:g} N (C = {fit.spec.data.flops_per_param_token:g} N D)"
    if cut["kind"] == "N":
        return "one curve per model size N"
    if cut["kind"] == "partial":
        return f"loss against {cut['xcol']}, " + ", ".join(f"{c} = {human(v, c)}" for c, v in cut["fixed"].items()) \
            + " (the fitted runs' geometric means)"
    return f"loss against {cut['xcol']}"


def human(v: float, var: str) -> str:
    """70B, 1.4T for parameters and tokens; scientific notation otherwise."""
    if var in ("N", "D") and np.isfinite(v) and v > 0:
        for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
            if v >= div:
                return f"{v / div:.3g}{suffix}"
        return f"{v:.3g}"
    text = f"{v:.3g}"
    return text.replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")
