"""Probe (session 6): would a residual-autocorrelation check flag the real curves whose intervals under-cover?

Fits power_law with the defaults and records the lag-1 autocorrelation of the log-loss residuals
(observed minus the posterior-median law, runs in order of x), on the 92 training parts of the
"Revisiting" benchmark (``real``) or on the calibration study's independent-run ladders (``synthetic``:
100 ladders per noise model). Compare with ``probes/real_heldout/power_law/curves.csv``'s coverage.

Usage (from ``case_studies/calibration``)::

    python probe_residual_lag1.py real --out probes/residual_lag1/revisiting.csv
    python probe_residual_lag1.py synthetic --out probes/residual_lag1/synthetic_power_law.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def lag1(fit) -> float:
    """Lag-1 autocorrelation of the residuals of a one-variable fit, runs in order of x."""
    from bayeslaw.predict import log_mean_draws

    col = fit.spec["data"]["design"][fit.law.inputs[0]]
    x = fit.idata["constant_data"][col].values
    y = fit.idata["observed_data"]["log_loss"].values
    mu = np.median(log_mean_draws(fit, {col: x}), axis=0)
    r = (y - mu)[np.argsort(x, kind="stable")]
    r = r - r.mean()
    return float(np.sum(r[1:] * r[:-1]) / np.sum(r * r))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("which", choices=("real", "synthetic"))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from run import _init_worker

    _init_worker(1)
    import bayeslaw
    from ladders import DESIGNS, make_ladder
    from real_heldout import DATA, missing, revisiting_curves

    def fit(runs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bayeslaw.fit(runs, "power_law", x="D", progress_bar=False)

    rows = []
    if args.which == "real":
        if missing(DATA):
            return 2
        for cid, _, train, _ in revisiting_curves(DATA):
            rows.append({"id": cid, "n": len(train), "r1": lag1(fit(train[["D", "loss"]]))})
    else:
        for noise in ("normal", "student_t3"):
            for seed in range(100):
                ladder, _ = make_ladder(DESIGNS["power_law"], noise, seed)
                rows.append({"id": f"{noise} {seed}", "n": len(ladder), "r1": lag1(fit(ladder))})
    out = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(args.out, index=False)
    print(out["r1"].describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
