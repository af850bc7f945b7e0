"""Predictions at target scales: the mean law and a new run, as posteriors.

For each target (N, D, C, ...) and each posterior draw we evaluate the law (the
*mean law*) and add one draw of the likelihood's noise (a *new run* trained at
that scale). Summaries are medians and equal-tailed intervals; the draws go in a
DataTree with ArviZ's ``predictions`` and ``predictions_constant_data`` groups
(variable ``loss`` with a ``kind`` coordinate: ``"mean"`` or ``"new_run"``).
Every target carries how far it lies beyond the fitted range, per variable, in
decades (positive above the largest fitted value, negative below the smallest).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import jax
import numpy as np
import pandas as pd
import xarray as xr

from .data import SIZE_COLUMNS, complete_sizes
from .errors import DataError

KINDS = ("mean", "new_run")


@dataclass
class Prediction:
    """Posterior predictions at targets.

    Attributes
    ----------
    table : DataFrame
        One row per target: the inputs, ``mean_median/mean_lower/mean_upper`` (the law),
        ``new_run_median/new_run_lower/new_run_upper`` (law + noise) and
        ``beyond_<var>`` (decades beyond the fitted range).
    idata : DataTree
        Groups ``predictions`` (``loss``: chain, draw, target, kind) and
        ``predictions_constant_data`` (the targets' inputs).
    interval : float
        Probability mass of the equal-tailed intervals.
    """

    table: pd.DataFrame
    idata: xr.DataTree
    interval: float

    def draws(self, kind: str = "mean") -> np.ndarray:
        """Loss draws for one kind, shape (chains * draws, targets)."""
        v = self.idata["predictions"]["loss"].sel(kind=kind).values
        return v.reshape(-1, v.shape[-1])

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-able list, one object per target (see docs/cli.md)."""
        out = []
        inputs = [c for c in self.table.columns if c in (*SIZE_COLUMNS, "x")]
        for _, row in self.table.iterrows():
            rec: dict[str, Any] = {k: float(row[k]) for k in inputs}
            for kind in KINDS:
                rec[kind if kind != "mean" else "mean_law"] = {
                    "median": float(row[f"{kind}_median"]), "lower": float(row[f"{kind}_lower"]),
                    "upper": float(row[f"{kind}_upper"])}
            rec["interval"] = self.interval
            rec["extrapolation_decades"] = {c[len("beyond_"):]: float(row[c]) for c in self.table.columns
                                            if c.startswith("beyond_")}
            out.append(rec)
        return out


def as_targets(fit, N=None, D=None, C=None, x=None, targets: pd.DataFrame | Mapping | None = None,
               U=None) -> pd.DataFrame:
    """Targets as a DataFrame with every input the law needs (derived with C = k N D if missing)."""
    design = fit.spec["data"]["design"]
    k = float(fit.spec["data"].get("flops_per_param_token", 6.0))
    given: dict[str, Any] = {}
    if targets is not None:
        frame = pd.DataFrame(targets)
        for c in frame.columns:
            given[str(c)] = frame[c].to_numpy(float)
    for name, val in (("N", N), ("D", D), ("C", C), ("x", x), ("U", U)):
        if val is not None:
            given[name] = np.atleast_1d(np.asarray(val, dtype=float))
    if not given:
        raise DataError(f"Give targets to predict at, e.g. {', '.join(f'{v}=...' for v in _user_inputs(design))}.")
    try:
        arrays = np.broadcast_arrays(*given.values())
    except ValueError:
        shapes = ", ".join(f"{k}: {np.shape(v)}" for k, v in given.items())
        raise DataError(f"Target arrays have shapes that do not broadcast ({shapes}); give equal lengths.") from None
    frame = pd.DataFrame({k: a.ravel() for k, a in zip(given, arrays)})
    for col in frame.columns:
        bad = ~np.isfinite(frame[col]) | (frame[col] <= 0)
        if bad.any():
            raise DataError(f"Target {col} must be positive and finite; got {frame[col][bad].iloc[0]!r}.")
    # one-variable laws fitted on a named column (e.g. x -> "D") also accept x=...
    if "x" in design and design["x"] != "x" and "x" in frame.columns and design["x"] not in frame.columns:
        frame = frame.rename(columns={"x": design["x"]})
    complete_sizes(frame, k)
    missing = [col for col in design.values() if col not in frame.columns]
    if missing:
        raise DataError(f"Law {fit.law.name!r} needs {', '.join(missing)} at each target "
                        f"(or two of N, D, C); got {', '.join(frame.columns)}.")
    order = [c for c in ("x", *SIZE_COLUMNS) if c in frame.columns]
    return frame[order + [c for c in frame.columns if c not in order]]


def _user_inputs(design: Mapping[str, str]) -> list[str]:
    return list(design.values())


def posterior_params(fit) -> dict[str, np.ndarray]:
    """Posterior draws of the law's sampled parameters and noise, chains stacked."""
    names = list(fit.law.params) + [n for n in ("sigma", "nu") if n in fit.idata["posterior"].data_vars]
    return {n: fit.draws(n) for n in names}


def log_mean_draws(fit, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """log L for every posterior draw (rows) and target (columns)."""
    params = posterior_params(fit)
    design = fit.spec["data"]["design"]
    with jax.enable_x64(True):
        raw = {v: np.asarray(inputs[col], float)[None, :] for v, col in design.items()}
        p = {k: v[:, None] for k, v in params.items() if k in fit.law.params}
        out = fit.law.evaluate_log(raw, p, fit.log_ref)
        return np.asarray(out, dtype=float)


def scaled_noise(rng: np.random.Generator, sigma: np.ndarray, nu: np.ndarray | None, shape) -> np.ndarray:
    """``sigma`` times Student-t(``nu``) draws of ``shape`` (standard normal ones when ``nu`` is None)."""
    if nu is not None:
        return sigma * rng.standard_t(np.broadcast_to(nu, shape))
    return sigma * rng.standard_normal(shape)


def noise_draws(fit, shape: tuple[int, int], seed: int) -> np.ndarray:
    """Draws of the likelihood's noise on log loss, one per posterior draw and target."""
    nu = fit.draws("nu")[:, None] if fit.spec["likelihood"] == "student_t" else None
    return scaled_noise(np.random.default_rng(seed), fit.draws("sigma")[:, None], nu, shape)


def fitted_range(fit) -> dict[str, tuple[float, float]]:
    """Per input column of the fit, the (min, max) of the fitted runs."""
    const = fit.idata["constant_data"]
    out = {}
    for col in fit.spec["data"]["design"].values():
        v = np.asarray(const[col].values, float)
        out[col] = (float(v.min()), float(v.max()))
    return out


def decades_beyond(frame: pd.DataFrame, ranges: Mapping[str, tuple[float, float]]) -> pd.DataFrame:
    """``beyond_<col>``: decades above the range's max (> 0), below its min (< 0), or 0 inside,
    for each column of ``ranges`` that ``frame`` has."""
    out = {}
    for col, (lo, hi) in ranges.items():
        if col not in frame.columns:
            continue
        lo, hi = np.log10(lo), np.log10(hi)
        t = np.log10(frame[col].to_numpy(float))
        out[f"beyond_{col}"] = np.where(t > hi, t - hi, np.where(t < lo, t - lo, 0.0))
    return pd.DataFrame(out, index=frame.index)


def extrapolation(fit, frame: pd.DataFrame) -> pd.DataFrame:
    """Decades beyond the fitted range per input: > 0 above the max, < 0 below the min, 0 inside."""
    return decades_beyond(frame, fitted_range(fit))


def predict(fit, N=None, D=None, C=None, x=None, *, U=None, targets=None, interval: float = 0.9,
            seed: int = 0) -> Prediction:
    """Posterior of the mean law and of a new run at each target.

    Parameters
    ----------
    fit : Fit
    N, D, C, x : float or array, optional
        Target sizes (broadcast together). Two of N, D, C suffice for (N, D) laws; the third
        follows from C = k N D with the fit's k.
    targets : DataFrame or dict, optional
        Targets as columns instead of keywords.
    interval : float, default 0.9
        Mass of the equal-tailed intervals.
    seed : int
        Seed of the new-run noise draws.

    Returns
    -------
    Prediction
    """
    if not 0 < interval < 1:
        raise DataError(f"interval must be between 0 and 1; got {interval!r}.")
    frame = as_targets(fit, N=N, D=D, C=C, x=x, U=U, targets=targets)
    mu = log_mean_draws(fit, {c: frame[c].to_numpy(float) for c in frame.columns})
    new = mu + noise_draws(fit, mu.shape, seed)
    with np.errstate(over="ignore"):  # a Student-t draw with small nu can exceed exp's range: inf is its value
        mean_loss, new_loss = np.exp(mu), np.exp(new)
    q = [(1 - interval) / 2, 0.5, (1 + interval) / 2]
    table = frame.copy()
    for kind, arr in (("mean", mean_loss), ("new_run", new_loss)):
        lo, med, hi = np.quantile(arr, q, axis=0)
        table[f"{kind}_median"], table[f"{kind}_lower"], table[f"{kind}_upper"] = med, lo, hi
    table = pd.concat([table, extrapolation(fit, frame)], axis=1)
    table.index = pd.RangeIndex(len(table), name="target")

    post = fit.idata["posterior"]
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    stacked = np.stack([mean_loss, new_loss], axis=-1).reshape(n_chain, n_draw, len(frame), 2)
    preds = xr.Dataset(
        {"loss": (("chain", "draw", "target", "kind"), stacked)},
        coords={"chain": post["chain"].values, "draw": post["draw"].values, "target": np.arange(len(frame)),
                "kind": list(KINDS)},
        attrs={"interval": interval, "seed": seed, "law": fit.law.name},
    )
    const = xr.Dataset({c: ("target", frame[c].to_numpy(float)) for c in frame.columns},
                       coords={"target": np.arange(len(frame))})
    tree = xr.DataTree.from_dict({"predictions": preds, "predictions_constant_data": const})
    return Prediction(table=table, idata=tree, interval=interval)
