"""Where do the misses fall? Summarise the probability integral transform (PIT) of the truth.

``run.py`` records, per target, the fraction of mean-law posterior draws below the true law
(``t<i>_mean_pit``). A calibrated method gives uniform PITs; misses on one side (PIT > 0.95:
the truth above the 90% interval) mean the predictions are biased, a U shape means the
intervals are too narrow.

It also reads the PITs as a reliability curve: the coverage an equal-tailed interval of each
nominal level (``cov_80``, ``cov_90``, ``cov_95``, ``cov_98``) would have had on the same fits, which
says what level to ask for to get 90% in practice. ``probit_mean`` and ``probit_sd`` summarise the
PITs on the normal scale: 0 and 1 when calibrated; an sd below 1 means intervals wider than the
errors they have to cover (conservative), above 1 narrower.

Usage::

    python case_studies/calibration/pit_summary.py [--ladders N] case_studies/calibration/probes/*/*.csv

``--ladders N`` keeps seeds below N, to compare runs on the same ladders.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtri

LEVELS = (0.8, 0.9, 0.95, 0.98)


def summary(path: Path, ladders: int | None = None) -> dict:
    df = pd.read_csv(path)
    if ladders is not None:
        df = df[df["seed"] < ladders]
    pit = df[[c for c in df.columns if c.endswith("_mean_pit")]].to_numpy()
    cov = df[[c for c in df.columns if c.endswith("_mean_cov") and "peer" not in c]].to_numpy()
    new = df[[c for c in df.columns if c.endswith("_new_cov")]].to_numpy()
    widths = df[[c for c in df.columns if c.endswith("_mean_width") and "peer" not in c]].to_numpy()
    z = ndtri(pit.clip(1e-4, 1 - 1e-4))
    return {"run": f"{path.parent.name}/{path.stem}", "ladders": len(df), "mean_law_coverage": cov.mean(),
            "new_run_coverage": new.mean(), "truth_above_upper": (pit > 0.95).mean(),
            "truth_below_lower": (pit < 0.05).mean(), "mean_pit": pit.mean(),
            "probit_mean": z.mean(), "probit_sd": z.std(), "median_width": float(np.median(widths)),
            "ladders_with_divergences": (df["divergences"] > 0).mean(),
            **{f"cov_{round(100 * p)}": ((pit >= (1 - p) / 2) & (pit <= (1 + p) / 2)).mean() for p in LEVELS}}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="+", type=Path)
    ap.add_argument("--ladders", type=int, help="keep seeds below this")
    args = ap.parse_args()
    rows = [summary(p, args.ladders) for p in args.csv]
    table = pd.DataFrame(rows)
    cols = list(table.columns)
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for _, r in table.iterrows():
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |")
