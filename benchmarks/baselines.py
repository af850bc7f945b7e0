"""bayeslaw side by side with what users would otherwise run: time, peak memory and the quality of the answer.

Scenarios (each data set split into a training part and a held-out part at larger sizes):

- ``chinchilla``: the 245 Chinchilla runs shipped with the package, ``L = E + A/N^alpha + B/D^beta``; the top 20%
  by compute (49 runs) held out;
- ``revisiting``: the 92 learning curves of "Revisiting neural scaling laws" (``../shared/data/revisiting``),
  ``L = E + A x^-alpha`` fitted to ``training == 1`` and scored on the official tails;
- ``synthetic``: ``--curves`` power-law curves of ``--points`` points each (E 1.7, A 400, alpha 0.3, Student-t(3)
  noise of scale 0.01 on log loss), the last 20% of each curve's sizes held out.

Methods: ``curve_fit`` (point), ``curve_fit_bootstrap``, ``huber_bootstrap`` (Epoch's recipe), ``numpyro``
(straightforward NUTS): see ``peers.py``; and ``bayeslaw`` (``bayeslaw.fit`` for one data set, ``fit_many`` for
many; default likelihood, 4 chains x (1000 + 1000)). Each (scenario, method) runs in its own process, so its
peak resident memory is its own; all run one after another in one invocation, so their ratios are comparable
(absolute times on these shared 2-core machines are not). Quality: RMSLE of the median (natural log units) on the
held-out points, and how often the 90% and 50% new-run intervals cover them (pooled over points, and averaged
over curves). A point fit has no interval. Usage::

    python benchmarks/baselines.py                       # every scenario and method, updates RESULTS.md
    python benchmarks/baselines.py --scenarios chinchilla --methods curve_fit,bayeslaw --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REVISITING = HERE.parents[1] / "shared" / "data" / "revisiting" / "revisiting_benchmark.csv"
MARK = ("<!-- baselines: start (written by benchmarks/baselines.py) -->", "<!-- baselines: end -->")
METHODS = ("curve_fit", "curve_fit_bootstrap", "huber_bootstrap", "numpyro", "bayeslaw")
SLOW = ("huber_bootstrap", "numpyro")  # run on the first --slow-curves curves of a scenario


# -- data sets: name -> (inputs (k, n), losses (n,), held-out inputs (k, m), held-out losses (m,)) ------------
def chinchilla():
    from importlib.resources import files

    df = pd.read_csv(files("bayeslaw") / "data" / "chinchilla.csv")
    cut = df["C"].quantile(0.8)
    tr, te = df[df["C"] <= cut], df[df["C"] > cut]
    return {"chinchilla": (tr[["N", "D"]].to_numpy().T, tr["loss"].to_numpy(),
                           te[["N", "D"]].to_numpy().T, te["loss"].to_numpy())}


def revisiting(limit=None):
    df = pd.read_csv(REVISITING)
    out = {}
    for cid, g in df.groupby("curve_id", sort=True):
        tr, te = g[g["training"] == 1], g[g["training"] == 0]
        out[str(cid)] = (tr[["seen_examples"]].to_numpy().T, tr["loss"].to_numpy(),
                         te[["seen_examples"]].to_numpy().T, te["loss"].to_numpy())
    return dict(list(out.items())[:limit]) if limit else out


def synthetic(curves: int, points: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(curves):
        x = np.geomspace(1e7, 1e10, points)
        y = (1.7 + 400.0 * x ** -0.3) * np.exp(0.01 * rng.standard_t(3, points))
        cut = int(0.8 * points)
        out[f"c{i}"] = (x[None, :cut], y[:cut], x[None, cut:], y[cut:])
    return out


def data_sets(scenario: str, args) -> dict:
    if scenario == "chinchilla":
        return chinchilla()
    if scenario == "revisiting":
        return revisiting()
    return synthetic(args.curves, args.points)


# -- one method on one scenario, in this process ----------------------------------------------------------------
def bayeslaw_draws(sets: dict, seed: int) -> dict:
    import warnings

    import bayeslaw

    k = next(iter(sets.values()))[0].shape[0]
    names = ["N", "D"] if k == 2 else ["x"]
    tables = {key: pd.DataFrame({**dict(zip(names, X)), "loss": y}) for key, (X, y, _, _) in sets.items()}
    law = "chinchilla" if k == 2 else "power_law"
    # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
    kw = dict(progress_bar=False, seed=seed, curvature=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = ({key: bayeslaw.fit(t, law, **kw) for key, t in tables.items()} if len(tables) == 1
                else dict(bayeslaw.fit_many(tables, law, **kw)))
    out = {}
    for key, f in fits.items():
        Xt = sets[key][2]
        out[key] = bayeslaw.predict(f, **dict(zip(names, Xt)), seed=seed).draws("new_run")
    warned = float(np.mean([not f.converged for f in fits.values()]))
    return out, {"curves_with_warnings": warned}


def run_one(scenario: str, method: str, args) -> dict:
    sets = data_sets(scenario, args)
    if method in SLOW and args.slow_curves and len(sets) > args.slow_curves:
        sets = dict(list(sets.items())[:args.slow_curves])
    extra: dict = {}
    t0 = time.perf_counter()
    if method == "bayeslaw":
        draws, extra = bayeslaw_draws(sets, args.seed)
    else:
        sys.path.insert(0, str(HERE))
        from peers import METHODS as PEERS

        draws = {}
        for key, (X, y, Xt, _) in sets.items():
            d = PEERS[method](X, y, Xt, boot=args.boot, seed=args.seed)
            if isinstance(d, tuple):
                d, info = d
                for name, v in info.items():
                    extra.setdefault(name, []).append(v)
            draws[key] = d
        extra = {k: float(np.median(v)) for k, v in extra.items()}
    wall = time.perf_counter() - t0
    if method == "bayeslaw" and args.slow_curves and len(sets) > args.slow_curves:
        first = list(sets)[:args.slow_curves]  # the slow peers' curves, for a like-for-like quality row
        extra["subset"] = {"curves": len(first), **score({k: sets[k] for k in first}, {k: draws[k] for k in first})}
    return {"scenario": scenario, "method": method, "curves": len(sets), "wall_s": wall,
            "s_per_curve": wall / len(sets), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **score(sets, draws), **extra}


def score(sets: dict, draws: dict) -> dict:
    err, c90, c50, per90 = [], [], [], []
    point = all(d.shape[0] == 1 for d in draws.values())
    for key, (_, _, _, yt) in sets.items():
        d = np.asarray(draws[key], float)
        err.append(np.log(np.median(d, axis=0)) - np.log(yt))
        if not point:
            lo90, lo50, hi50, hi90 = np.quantile(d, [0.05, 0.25, 0.75, 0.95], axis=0)
            c90.append((lo90 <= yt) & (yt <= hi90))
            c50.append((lo50 <= yt) & (yt <= hi50))
            per90.append(c90[-1].mean())
    per_curve = [float(np.sqrt(np.mean(e ** 2))) for e in err]
    out = {"rmsle_median_curve": float(np.median(per_curve)), "rmsle_pooled": float(np.sqrt(np.mean(np.concatenate(err) ** 2)))}
    if not point:
        out |= {"cov90": float(np.concatenate(c90).mean()), "cov90_per_curve": float(np.mean(per90)),
                "cov50": float(np.concatenate(c50).mean())}
    return out


# -- driver ---------------------------------------------------------------------------------------------------
def table(rows: list[dict]) -> str:
    lines = []
    for scenario in dict.fromkeys(r["scenario"] for r in rows):
        rs = [r for r in rows if r["scenario"] == scenario]
        ref = next((r["s_per_curve"] for r in rs if r["method"] == "bayeslaw" and "error" not in r), float("nan"))
        lines += [f"\n**{scenario}** ({rs[0].get('what', '')})\n",
                  "| method | curves | s per curve | ratio to bayeslaw | peak RSS MB | RMSLE (median over curves) | "
                  "90% covers (pooled / per curve) | 50% covers | notes |", "|---|---|---|---|---|---|---|---|---|"]
        for r in rs:
            if "error" in r:
                lines.append(f"| {r['method']} | — | — | — | — | — | — | — | failed: {r['error']} |")
                continue
            cov = f"{r['cov90']:.3f} / {r['cov90_per_curve']:.3f}" if "cov90" in r else "— (point fit)"
            c50 = f"{r['cov50']:.3f}" if "cov50" in r else "—"
            notes = ", ".join(f"{k} {v:.2f}" for k, v in r.items() if k in ("steps_per_draw", "curves_with_warnings"))
            lines.append(f"| {r['method']} | {r['curves']} | {r['s_per_curve']:.3g} | {r['s_per_curve'] / ref:.3g} | "
                         f"{r['peak_rss_mb']:.0f} | {r['rmsle_median_curve']:.4f} | {cov} | {c50} | {notes} |")
            if "subset" in r:
                q = r["subset"]
                lines.append(f"| bayeslaw on the first {q['curves']} curves (the same fits) | {q['curves']} | | | | "
                             f"{q['rmsle_median_curve']:.4f} | {q['cov90']:.3f} / {q['cov90_per_curve']:.3f} | "
                             f"{q['cov50']:.3f} | |")
    return "\n".join(lines)


def write_results(text: str) -> None:
    path = HERE / "RESULTS.md"
    old = path.read_text()
    block = f"{MARK[0]}\n{text}\n{MARK[1]}"
    if MARK[0] in old:
        head, rest = old.split(MARK[0], 1)
        new = head + block + rest.split(MARK[1], 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default="chinchilla,revisiting,synthetic")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    ap.add_argument("--slow-curves", type=int, default=16,
                    help="Huber + bootstrap and straightforward NumPyro on at most this many curves per scenario "
                         "(0: all); bayeslaw's quality on the same curves gets a row of its own")
    ap.add_argument("--curves", type=int, default=10, help="synthetic: number of curves")
    ap.add_argument("--points", type=int, default=30, help="synthetic: points per curve")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="print the table; leave RESULTS.md and baselines.json alone")
    ap.add_argument("--render", type=Path, metavar="JSON",
                    help="write the table of an earlier run's baselines.json (its header says what was run)")
    ap.add_argument("--worker", nargs=2, metavar=("SCENARIO", "METHOD"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
        import numpyro

        numpyro.set_host_device_count(4)
        import jax

        jax.config.update("jax_enable_x64", True)
        print(json.dumps(run_one(*args.worker, args)))
        return 0
    if args.render:
        saved = json.loads(args.render.read_text())
        text = saved["header"] + "\n" + table(saved["rows"])
        print(text)
        if not args.no_write:
            write_results(text)
        return 0
    rows = []
    passthrough = [f"--boot={args.boot}", f"--slow-curves={args.slow_curves}", f"--curves={args.curves}",
                   f"--points={args.points}", f"--seed={args.seed}"]
    for scenario in args.scenarios.split(","):
        if scenario == "revisiting" and not REVISITING.exists():
            print(f"skipping revisiting: {REVISITING} is not beside the repository", file=sys.stderr)
            continue
        for method in args.methods.split(","):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--worker", scenario, method, *passthrough],
                                  capture_output=True, text=True)
            try:
                row = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                row = {"scenario": scenario, "method": method, "error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
            row["what"] = (f"{args.curves} curves x {args.points} points" if scenario == "synthetic" else "")
            rows.append(row)
            print(f"{scenario} {method}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    import jax
    import numpyro

    head = (f"## baselines: bayeslaw beside curve_fit, Huber + bootstrap and plain NumPyro (`python benchmarks/baselines.py`)\n\n"
            f"Run of {date.today()} ({os.cpu_count()} cores; numpyro {numpyro.__version__}, jax {jax.__version__}; "
            f"bootstrap {args.boot} resamples; Huber + bootstrap and straightforward NumPyro on at most "
            f"{args.slow_curves or 'all'} curves per scenario). Each row is one process, rows run one after another.")
    text = head + "\n" + table(rows)
    print(text)
    if not args.no_write:
        with open(HERE / "baselines.json", "w") as fh:
            json.dump({"header": head, "rows": rows}, fh, indent=1)
        write_results(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
