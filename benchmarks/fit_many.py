"""Many curves: ``bayeslaw.fit`` one at a time against ``bayeslaw.fit_many`` (one compiled, vectorised program).

The training parts of the first ``--curves`` learning curves of the "Revisiting" benchmark
(``../shared/data/revisiting``; synthetic power-law curves with drift when it is absent) are fitted with
``power_law`` and the ``learning_curve`` observation model (x = seen examples, one run per curve), NUTS
``--num-chains`` x (1000 + 1000), as in ``case_studies/real_data_calibration``. Each way runs twice in one
process: the first pass includes compiling, the second reuses the compiled programs. Prints a Markdown table
(seconds per curve, ratio to one at a time), the share of curves with sampler warnings, and how far the two
ways' posterior medians of alpha are apart in posterior standard deviations. Usage::

    python benchmarks/fit_many.py --curves 32 --chunk 16
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
    args = ap.parse_args(argv)
    import bayeslaw

    what, tables = curves(args.curves)
    kw = dict(x="D", run="run", likelihood="learning_curve", num_chains=args.num_chains, progress_bar=False)
    times, fits = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label in ("first pass", "second pass"):
            t0 = time.perf_counter()
            one = {k: bayeslaw.fit(t, "power_law", **kw) for k, t in tables.items()}
            times[("one at a time", label)] = time.perf_counter() - t0
            t0 = time.perf_counter()
            many = bayeslaw.fit_many(tables, "power_law", chunk=args.chunk, **kw)
            times[("fit_many", label)] = time.perf_counter() - t0
            fits = {"one at a time": one, "fit_many": many}
    n = len(tables)
    print(f"{n} {what}; power_law + learning_curve, {args.num_chains} chains x (1000 + 1000), chunk {args.chunk}\n")
    print("| way | pass | s per curve | ratio to one at a time | curves with warnings |")
    print("|---|---|---|---|---|")
    for label in ("first pass", "second pass"):
        base = times[("one at a time", label)]
        for way in ("one at a time", "fit_many"):
            warned = np.mean([bool(f.diagnostics) for f in fits[way].values()])
            print(f"| {way} | {label} | {times[(way, label)] / n:.2f} | {times[(way, label)] / base:.2f} | "
                  f"{warned:.2f} |")
    alpha = {way: {k: f.draws("alpha") for k, f in fs.items()} for way, fs in fits.items()}
    gap = [abs(float(np.median(alpha["one at a time"][k])) - float(np.median(alpha["fit_many"][k])))
           / float(np.std(alpha["one at a time"][k])) for k in tables]
    print(f"\nalpha's posterior medians, the two ways apart: median {np.median(gap):.3f}, max {np.max(gap):.3f} "
          "posterior sd (Monte Carlo error of two independent runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
