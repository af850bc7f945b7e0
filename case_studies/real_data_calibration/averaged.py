"""The law and its curved twin, averaged: sharp where the law holds, honest where it bends?

For a ladder, fit ``chinchilla`` and ``chinchilla_curved`` (the law plus a quadratic misfit in log N
and log D, :mod:`bayeslaw.core.curvature`) to the same runs, weight them by LOO stacking
(:func:`bayeslaw.stack`, the default weights) and predict with the mixture. Two checks, side by side
with the plain law alone:

- ``chinchilla``: the Chinchilla runs (245, and the 240 Epoch kept) with the top 20% by compute
  held out; held-out coverage of the 90%/50% new-run bands, RMSLE, log score per run
  (:meth:`bayeslaw.Stack.score`);
- ``synthetic``: the calibration study's Chinchilla ladders (the law exact; targets 10x-100x the
  largest compute), where the average must not widen the bands much: coverage of a fresh run and the
  median 90% width, and the stacking weight of the curved law.

Writes ``OUT/averaged/summary.json`` and ``summary.md``. Usage::

    python case_studies/real_data_calibration/averaged.py --ladders 10 --out case_studies/real_data_calibration/results
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ladders import jeffreys, ladder  # noqa: E402
from sharpness import calibration_study  # noqa: E402

LAWS = ("chinchilla", "chinchilla_curved")


def _fits(runs, sampler, seed=0):
    import bayeslaw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        # each law as named (chinchilla: the plain law, as in the committed results, made before curvature="auto"
        # became the default, 2026-12-03; chinchilla_curved keeps its term)
        return {law: bayeslaw.fit(runs, law=law, curvature=False, seed=seed, **sampler) for law in LAWS}


def _stacks(fits, methods: tuple[str, ...], source: str = "loo") -> dict:
    """The stack of the fits by each weighting, with weights from PSIS-LOO (one comparison, reweighed) or from
    a backtest of the fits (each refitted on its runs' smallest 80% by compute once): nothing refitted twice."""
    import bayeslaw

    if source == "backtest":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
            bt = bayeslaw.backtest_fits(fits, by="C", holdout_top=0.2)
        return {("backtest stack" if m == "stacking" else f"backtest stack ({m})"):
                bayeslaw.stack(fits, weights=bt, method=m) for m in methods}
    comparison = bayeslaw.compare(fits)
    return {("loo stack" if m == "stacking" else f"loo stack ({m})"): bayeslaw.stack(comparison, method=m)
            for m in methods}


def real(data: str, sampler: dict, methods: tuple[str, ...] = ("stacking",), source: str = "loo") -> list[dict]:
    """Top 20% by compute held out: the plain law, the curved law and their LOO stack(s)."""
    import bayeslaw

    table = ladder(data)
    table = table.assign(C=6 * table["N"] * table["D"])
    cut = table["C"].quantile(0.8)
    train = bayeslaw.load_runs(table[table["C"] <= cut][["N", "D", "loss"]])
    test = bayeslaw.load_runs(table[table["C"] > cut][["N", "D", "loss"]])
    fits = _fits(train, sampler)
    stacks = _stacks(fits, methods, source)
    rows = []
    for name, model in [*((n, bayeslaw.stack(fits, weights={m: float(m == n) for m in fits})) for n in fits),
                        *stacks.items()]:
        s = model.score(test, ci_prob=0.9)
        rows.append({"data": data, "model": name, "n_test": len(test),
                     "weights": {n: round(float(w), 3) for n, w in model.weights.items()} if name in stacks else None,
                     "coverage_90": s["coverage"], "coverage_50": s["coverage_50"], "rmsle": s["rmsle"],
                     "elpd_test_per_run": s["elpd_test_per_run"], "crps": s["crps"]})
    return rows


def synthetic(ladders: int, sampler: dict, methods: tuple[str, ...] = ("stacking",), source: str = "loo") -> list[dict]:
    """Calibration-study ladders (the law exact): the plain law against the LOO stack(s) of both."""
    cal = calibration_study()
    names = ["chinchilla", *(f"{source} stack" if m == "stacking" else f"{source} stack ({m})" for m in methods)]
    hits = {n: [] for n in names}
    widths = {n: [] for n in names}
    weights = {n: [] for n in names[1:]}
    for seed in range(ladders):
        runs, targets = cal.make_ladder(cal.DESIGNS["chinchilla"], "student_t3", seed)
        fits = _fits(runs[["N", "D", "loss"]], sampler, seed)
        stacks = _stacks(fits, methods, source)
        for n, st in stacks.items():
            weights[n].append(float(st.weights["chinchilla_curved"]))
        for name, model in (("chinchilla", fits["chinchilla"]), *stacks.items()):
            t = model.predict(targets[["N", "D"]], ci_prob=0.9).table
            y = targets["fresh_run"].to_numpy()
            hits[name] += list((t["new_run_lower"].to_numpy() <= y) & (y <= t["new_run_upper"].to_numpy()))
            widths[name] += list(np.log(t["new_run_upper"] / t["new_run_lower"]))
        print(f"ladder {seed}: curved weight " + ", ".join(f"{n} {w[-1]:.2f}" for n, w in weights.items()), flush=True)
    base = float(np.median(widths["chinchilla"]))
    return [{"data": "synthetic", "model": n, "ladders": ladders, "coverage_90": float(np.mean(hits[n])),
             "coverage_90_ci": jeffreys(int(np.sum(hits[n])), len(hits[n])),
             "median_width_90": float(np.median(widths[n])), "width_ratio": float(np.median(widths[n])) / base,
             "median_curved_weight": float(np.median(weights[n])) if n in weights else None} for n in hits]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--ladders", type=int, default=10)
    ap.add_argument("--data", nargs="*", default=["chinchilla", "chinchilla240"])
    ap.add_argument("--num-samples", type=int, default=1000)
    ap.add_argument("--num-warmup", type=int, default=1000)
    ap.add_argument("--num-chains", type=int, default=4)
    ap.add_argument("--methods", default="stacking",
                    help="comma-separated weightings of the LOO stack (stacking, bb-pseudo-bma); other than the "
                         "default, results go to OUT/averaged_<methods>")
    ap.add_argument("--weights", choices=["loo", "backtest"], default="loo",
                    help="where the stacks' weights come from: PSIS-LOO (default) or a backtest of each fit on the "
                         "smallest 80%% of its runs by compute; backtest results go to OUT/averaged_backtest_<methods>")
    args = ap.parse_args(argv)
    methods = tuple(args.methods.split(","))
    sampler = {"num_samples": args.num_samples, "num_warmup": args.num_warmup, "num_chains": args.num_chains}
    rows = [r for d in args.data for r in real(d, sampler, methods, args.weights)]
    for r in rows:
        print(r, flush=True)
    rows += synthetic(args.ladders, sampler, methods, args.weights) if args.ladders else []
    out = args.out / ("averaged" if methods == ("stacking",) and args.weights == "loo" else
                      f"averaged_{'backtest_' if args.weights == 'backtest' else ''}{'_'.join(methods)}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"sampler": sampler, "rows": rows}, indent=1, allow_nan=False) + "\n")
    md = "| data | model | 90% coverage | 50% coverage | RMSLE | held-out elpd per run | median 90% width | width ratio | curved weight |\n|---|---|---|---|---|---|---|---|---|\n"
    fmt = lambda v, f: format(v, f) if isinstance(v, (int, float)) else "—"  # noqa: E731
    for r in rows:
        w = r.get("weights") or {}
        cw = w.get("chinchilla_curved", r.get("median_curved_weight"))
        md += (f"| {r['data']} | {r['model']} | {fmt(r['coverage_90'], '.3f')} | {fmt(r.get('coverage_50'), '.3f')} | "
               f"{fmt(r.get('rmsle'), '.4f')} | {fmt(r.get('elpd_test_per_run'), '.2f')} | "
               f"{fmt(r.get('median_width_90'), '.3f')} | {fmt(r.get('width_ratio'), '.2f')} | {fmt(cw, '.2f')} |\n")
    (out / "summary.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
