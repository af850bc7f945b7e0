"""Many curves: ``bayeslaw.fit`` one at a time against ``bayeslaw.fit_many`` (one compiled, vectorised program).

The training parts of the first ``--curves`` learning curves of the "Revisiting" benchmark
(``../shared/data/revisiting``; synthetic power-law curves with drift when it is absent) are fitted with
``power_law`` and ``--likelihood`` (``learning_curve``: one run per curve; ``student_t``: the default for
rows without a run column), x = seen examples, NUTS ``--num-chains`` chains at the plan's default budget (1000 +
1000; 1000 + 2000 for learning curves since 2026-12-06, printed with the table). Each way runs ``--passes`` times in one process: the first pass includes
compiling (run with ``BAYESLAW_NO_CACHE=1`` so no earlier process's programs are reused), the second reuses the
compiled programs. Prints a Markdown table (total and per-curve seconds, ratio to one at a time, the share of
curves with sampler warnings and with R-hat <= 1.01) and how far the two ways' posterior medians of alpha are
apart in posterior standard deviations. Usage::

    BAYESLAW_NO_CACHE=1 python benchmarks/fit_many.py --curves 92 --likelihood student_t
    BAYESLAW_NO_CACHE=1 python benchmarks/fit_many.py --curves 92 --likelihood learning_curve --passes 1
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REVISITING = Path(__file__).resolve().parents[2] / "shared" / "data" / "revisiting" / "revisiting_benchmark.csv"


def curves(n: int) -> tuple[str, dict[str, pd.DataFrame]]:
    if REVISITING.exists():
        df = pd.read_csv(REVISITING).rename(columns={"seen_examples": "D"})
        out = {str(cid): g.loc[g["training"] == 1, ["D", "loss"]].assign(run="curve")
               for cid, g in df.groupby("curve_id", sort=True)}
        return "Revisiting training parts", dict(list(out.items())[:n])
    rng = np.random.default_rng(0)
    out = {}
    for i in range(n):
        d = np.geomspace(1e8, 1e10, 24)
        drift = np.cumsum(rng.normal(0, 0.01, d.size))
        out[f"syn{i}"] = pd.DataFrame({"D": d, "loss": (1.7 + 400 * d ** -0.3) * np.exp(drift), "run": "curve"})
    return "synthetic curves (the Revisiting data are not beside the repository)", out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curves", type=int, default=32)
    ap.add_argument("--chunk", type=int, default=16)
    ap.add_argument("--num-chains", type=int, default=4)
    ap.add_argument("--likelihood", default="learning_curve", help="learning_curve (one run per curve) or student_t")
    ap.add_argument("--passes", type=int, default=2, help="1: compiling included only; 2: and again, compiled")
    ap.add_argument("--ways", default="fit,threads,vectorized",
                    help="fit (one at a time), threads / vectorized (fit_many's methods), comma-separated")
    args = ap.parse_args(argv)
    import bayeslaw

    what, tables = curves(args.curves)
    # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
    kw = dict(x="D", likelihood=args.likelihood, curvature=False, num_chains=args.num_chains, progress_bar=False)
    if args.likelihood == "learning_curve":
        kw["run"] = "run"
    ways = {"fit": lambda: {k: bayeslaw.fit(t, "power_law", **kw) for k, t in tables.items()},
            "threads": lambda: bayeslaw.fit_many(tables, "power_law", method="threads", **kw),
            "vectorized": lambda: bayeslaw.fit_many(tables, "power_law", method="vectorized", chunk=args.chunk, **kw)}
    chosen = args.ways.split(",")
    labels = ["first pass (compiling included)", "second pass (compiled)"][:args.passes]
    times, fits = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label in labels:
            for way in chosen:
                t0 = time.perf_counter()
                fits[way] = ways[way]()
                times[(way, label)] = time.perf_counter() - t0
    n = len(tables)
    sampler = next(iter(fits.values()))[next(iter(tables))].spec.sampler
    print(f"{n} {what}; power_law + {args.likelihood}, {sampler.num_chains} chains x ({sampler.num_warmup} + "
          f"{sampler.num_samples}), chunk {args.chunk}\n")
    print("| way | pass | total s | s per curve | ratio to fit one at a time | curves with warnings | "
          "curves with R-hat <= 1.01 |")
    print("|---|---|---|---|---|---|---|")
    for label in labels:
        for way in chosen:
            f = fits[way].values()
            warned = np.mean([bool(x.diagnostics) for x in f])
            rhat = np.mean([float(x.summary()["r_hat"].max()) <= 1.01 for x in f])
            base = times.get(("fit", label))
            ratio = f"{times[(way, label)] / base:.2f}" if base else "-"
            print(f"| {way} | {label} | {times[(way, label)]:.0f} | {times[(way, label)] / n:.2f} | {ratio} | "
                  f"{warned:.2f} | {rhat:.2f} |")
    if "fit" not in chosen or len(chosen) < 2:
        return 0
    other = next(w for w in chosen if w != "fit")
    alpha = {way: {k: f.draws("alpha") for k, f in fs.items()} for way, fs in fits.items()}
    gap = [abs(float(np.median(alpha["fit"][k])) - float(np.median(alpha[other][k])))
           / float(np.std(alpha["fit"][k])) for k in tables]
    print(f"\nalpha's posterior medians, fit and {other} apart: median {np.median(gap):.3f}, max {np.max(gap):.3f} "
          "posterior sd (Monte Carlo error of two independent runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
