"""Many small ladders: ``fit_many`` amortised per ladder against ``curve_fit`` + 500 bootstraps (issue 16).

The calibration study's synthetic Chinchilla ladders (``case_studies/calibration``: 48 runs, the law exact,
truth E 1.8, A 480, B 2000, alpha 0.35, beta 0.37, noise of scale 2% on log loss, three targets 10-100x the
largest compute), ``--ladders`` of them (seeds 0, 1, ...), fitted with ``bayeslaw.fit_many`` (threads, default
sampler: 4 chains x (1000 + 1000)) in one process, twice: the first pass includes compiling (run with
``BAYESLAW_NO_CACHE=1``), the second reuses the programs. Beside it the peer the issue names: scipy ``curve_fit``
(least squares on log loss, started at the truth) + 500 case bootstraps, the calibration study's ``peer``. Prints
seconds per ladder (amortised) and the 90% coverage of the true mean law at the targets, with ladders as the unit.
Usage::

    BAYESLAW_NO_CACHE=1 python benchmarks/ladders.py --ladders 200 --noise normal
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

CALIBRATION = Path(__file__).resolve().parents[1] / "case_studies" / "calibration"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ladders", type=int, default=200)
    ap.add_argument("--noise", default="normal", help="normal or student_t3 (the calibration study's kinds)")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--peer-ladders", type=int, default=None, help="curve_fit + bootstrap on this many (default: all)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(CALIBRATION))
    import run as calibration  # the study's designs, ladders and peer

    calibration.init_process(4)
    import bayeslaw

    design = calibration.DESIGNS["chinchilla"]
    made = {s: calibration.make_ladder(design, args.noise, s) for s in range(args.ladders)}
    tables = {s: ladder for s, (ladder, _) in made.items()}
    rows = []
    for p in range(args.passes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
            fits = bayeslaw.fit_many(tables, design.law, method="threads", curvature=False)
            wall = time.perf_counter() - t0
        hits, warned = [], 0
        for s, f in fits.items():
            targets = made[s][1]
            pred = bayeslaw.predict(f, targets[list(design.columns)], ci_prob=0.9, seed=s).table
            hits.append(((pred["mean_lower"] <= targets["true_mean"]) & (targets["true_mean"] <= pred["mean_upper"])).mean())
            warned += bool(f.diagnostics)
        rows.append((f"fit_many, threads, pass {p + 1}" + (" (compiling)" if p == 0 else " (compiled)"),
                     wall / args.ladders, float(np.mean(hits)), warned / args.ladders))
    n_peer = args.peer_ladders or args.ladders
    t0 = time.perf_counter()
    peer = [calibration.peer(design, *made[s], seed=s) for s in range(n_peer)]
    wall = time.perf_counter() - t0
    cov = float(np.mean([np.mean([r[f"t{i}_peer_mean_cov"] for i in range(3)]) for r in peer]))
    rows.append(("curve_fit + 500 bootstraps", wall / n_peer, cov, float("nan")))
    print(f"{args.ladders} synthetic 48-run Chinchilla ladders, {args.noise} noise (2%); 90% interval of the true "
          f"mean law at 3 targets 10-100x beyond; curve_fit + bootstrap on {n_peer}\n")
    print("| way | s per ladder (amortised) | 90% coverage of the true law | ladders with sampler warnings |")
    print("|---|---|---|---|")
    for name, s, c, w in rows:
        print(f"| {name} | {s:.2f} | {c:.3f} | {'—' if w != w else f'{w:.3f}'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
