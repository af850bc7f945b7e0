"""Cost against the number of curves: ``fit_many`` on 10, 100 and 1,000 synthetic curves, one process each (issue 16).

Each curve: ``--points`` sizes from 1e7 to 1e10, ``L = 1.7 + 400 x^-0.3`` times Student-t(3) noise of scale 1% on
log loss; ``power_law`` with the default likelihood, 4 chains x (1000 + 1000), ``fit_many`` (threads). Each size
runs in a new process (``BAYESLAW_NO_CACHE=1``: compiling included, the same for every size), which reports its
wall time, time per curve, the share of curves with sampler warnings and its peak resident memory. Prints a
Markdown table. Usage::

    python benchmarks/collections_scaling.py --curves 10 100 1000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings


def one(curves: int, points: int) -> dict:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpyro

    numpyro.set_host_device_count(4)
    import numpy as np
    import pandas as pd

    import bayeslaw

    rng = np.random.default_rng(0)
    x = np.geomspace(1e7, 1e10, points)
    tables = {f"c{i}": pd.DataFrame({"x": x, "loss": (1.7 + 400.0 * x ** -0.3) * np.exp(0.01 * rng.standard_t(3, points))})
              for i in range(curves)}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
        fits = bayeslaw.fit_many(tables, "power_law", method="threads", curvature=False)
    wall = time.perf_counter() - t0
    return {"curves": curves, "points": points, "wall_s": wall, "s_per_curve": wall / curves,
            "warned": float(np.mean([bool(f.diagnostics) for f in fits.values()])),
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curves", type=int, nargs="+", default=[10, 100, 1000])
    ap.add_argument("--points", type=int, default=30)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(one(args.worker, args.points)))
        return 0
    rows = []
    for n in args.curves:
        proc = subprocess.run([sys.executable, __file__, "--worker", str(n), "--points", str(args.points)],
                              capture_output=True, text=True, env={**os.environ, "BAYESLAW_NO_CACHE": "1"})
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"{n} curves: {rows[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    base = rows[0]["s_per_curve"]
    print(f"| curves | points per curve | wall s | s per curve | per curve / {rows[0]['curves']} curves' | "
          "curves with warnings | peak RSS GB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['curves']} | {r['points']} | {r['wall_s']:.1f} | {r['s_per_curve']:.3f} | "
              f"{r['s_per_curve'] / base:.2f} | {r['warned']:.3f} | {r['peak_rss_gb']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
