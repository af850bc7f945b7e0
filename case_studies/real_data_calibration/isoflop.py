"""Which compute-optimal allocation the Chinchilla iso-FLOP slices agree with: the law's own optimum, or the
optimum of the full mean with the orthogonal curvature term.

Under the ladder default (``chinchilla_orthogonal``) ``optimal_allocation`` reports the law's own N* (the term's
coefficients set to 0) and the full mean's loss there. Solved with the term the optimum runs off beyond the runs, but
inside them it exists, and the two disagree. The runs (Epoch's digitisation of Chinchilla's figure) fall in
iso-FLOP slices; within a slice of at least 9 runs a parabola in log N (Chinchilla's Approach 2) gives an empirical
optimum, with a 90% interval from resampling the slice's runs. This script compares, per slice:

- the slice's parabola optimum (tokens per parameter D/N at the slice's median C);
- the law's own optimum and the full mean's optimum (on a grid of a factor 10 either side of the law's; the share
  of draws whose minimum lies on the grid's edge is reported), from a fit to every run (in sample) and from a fit
  to the runs below 10^20.9 FLOPs (the 1e21 and 3e21 slices held out); the same for the plain law
  (``curvature=False``, whose full mean is the law).

Writes ``results/isoflop.md`` and ``results/isoflop.json``. About a minute on 2 cores with a warm cache.

    python case_studies/real_data_calibration/isoflop.py [--quick]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import bayeslaw
from bayeslaw.posterior.decide import _law_params

HERE = Path(__file__).resolve().parent
SLICES = (20.0, 20.5, 21.0, 21.5)          # log10 C of the slices with >= 9 runs at the top of the ladder
HALF = 0.05                                # a slice: log10 C within +-0.05
HELD_OUT_BELOW = 20.9                      # the held-out fit sees runs with log10 C below this


def slice_optimum(s: pd.DataFrame, rng: np.random.Generator, boots: int = 2000) -> dict:
    """The parabola-in-log-N optimum of one slice (tokens per parameter at its median C), with a 90% interval."""
    c = float(s["C"].median())

    def tpp(frame):
        p = np.polyfit(np.log(frame["N"]), np.log(frame["loss"]), 2)
        if p[0] <= 0:
            return np.nan                  # no minimum: the resample is not convex
        n = np.exp(-p[1] / (2 * p[0]))
        return c / 6 / n ** 2

    draws = np.array([tpp(s.iloc[rng.integers(0, len(s), len(s))]) for _ in range(boots)])
    ok = draws[np.isfinite(draws)]
    return {"runs": int(len(s)), "C": c, "tpp": tpp(s), "tpp_lower": float(np.percentile(ok, 5)),
            "tpp_upper": float(np.percentile(ok, 95)), "not_convex": float(np.mean(~np.isfinite(draws)))}


def model_optima(fit: bayeslaw.Fit, c: float) -> dict:
    """Tokens per parameter at budget c: the law's own optimum, and the full mean's on a grid around it."""
    dec = bayeslaw.optimal_allocation(fit, c)
    n0 = np.log(dec.draws("N_opt")[:, 0])
    _, full = _law_params(fit)
    grid = np.linspace(-np.log(10), np.log(10), 241)
    log_n = n0[:, None] + grid[None, :]
    log_cc = np.log(c / 6)
    with jax.enable_x64(True):
        vals = np.asarray(fit.law.log_mean({"N": jnp.asarray(log_n - fit.log_ref["N"]),
                                            "D": jnp.asarray(log_cc - log_n - fit.log_ref["D"])}, **full))
    j = vals.argmin(axis=1)
    tpp_full = np.exp(log_cc - 2 * log_n[np.arange(len(j)), j])
    law = dec.draws("tokens_per_param")[:, 0]
    q = lambda v: [float(np.median(v)), float(np.percentile(v, 5)), float(np.percentile(v, 95))]  # noqa: E731
    return {"law": q(law), "full": q(tpp_full), "full_at_edge": float(np.mean((j == 0) | (j == len(grid) - 1)))}


def main(quick: bool = False) -> dict:
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    frame = runs.frame.assign(lc=np.log10(runs.frame["C"]))
    rng = np.random.default_rng(0)
    below = runs.subset(frame.index[frame["lc"] < HELD_OUT_BELOW])
    fits = {}
    for form, curvature in (("orthogonal", "orthogonal"), ("plain", False)):
        kw = dict(law="chinchilla", curvature=curvature, progress_bar=False, seed=0)
        if quick:
            kw.update(num_chains=2, num_warmup=300, num_samples=300)
        fits[f"{form}, all runs"] = bayeslaw.fit(runs, **kw)
        fits[f"{form}, runs below 10^{HELD_OUT_BELOW} FLOPs"] = bayeslaw.fit(below, **kw)
    rows = []
    for centre in SLICES:
        s = frame[(frame["lc"] > centre - HALF) & (frame["lc"] < centre + HALF)]
        emp = slice_optimum(s, rng)
        for name, f in fits.items():
            held = centre - HALF > HELD_OUT_BELOW and "below" in name
            rows.append({"slice": f"1e{centre:g}" if centre == int(centre) else f"10^{centre:g}", "fit": name,
                         "held_out": held, **emp, **{f"model_{k}": v for k, v in model_optima(f, emp["C"]).items()}})
    out = {"date": "2026-12-04", "bayeslaw": bayeslaw.__version__, "quick": quick, "rows": rows,
           "fits": {k: {"law": f.law.name, "converged": bool(f.converged)} for k, f in fits.items()}}
    if not quick:
        (HERE / "results" / "isoflop.json").write_text(json.dumps(out, indent=1, allow_nan=False))
        (HERE / "results" / "isoflop.md").write_text(table(out))
    print(table(out))
    return out


def table(out: dict) -> str:
    fmt = lambda v: f"{v[0]:.1f} [{v[1]:.1f}, {v[2]:.1f}]"  # noqa: E731
    lines = ["# Iso-FLOP slices against the two optima (tokens per parameter, 90% intervals)", "",
             f"{out['date']}, bayeslaw {out['bayeslaw']}; written by isoflop.py (`chinchilla`, the orthogonal "
             "form with 4 x (1000 + 2000) draws and the plain form with 4 x (1000 + 1000)). The slice's parabola: "
             "Chinchilla's Approach 2 on the slice's runs, 90% interval from resampling them (the digitised losses "
             "are quantised, so these intervals are rough).", "",
             "| slice (C) | runs | fit | slice's parabola | law's own optimum | full mean's optimum | full at grid edge |",
             "|---|---|---|---|---|---|---|"]
    for r in out["rows"]:
        held = " (held out)" if r["held_out"] else ""
        lines.append(f"| {r['slice']} | {r['runs']} | {r['fit']}{held} | {r['tpp']:.1f} [{r['tpp_lower']:.1f}, "
                     f"{r['tpp_upper']:.1f}] | {fmt(r['model_law'])} | {fmt(r['model_full'])} | "
                     f"{r['model_full_at_edge']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short chains, nothing written (a smoke test)")
    main(ap.parse_args().quick)
