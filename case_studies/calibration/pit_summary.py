"""Where do the misses fall? Summarise the probability integral transform (PIT) of the truth.

``run.py`` records, per target, the fraction of mean-law posterior draws below the true law
(``t<i>_mean_pit``). A calibrated method gives uniform PITs; misses on one side (PIT > 0.95:
the truth above the 90% interval) mean the predictions are biased, a U shape means the
intervals are too narrow.

Usage::

    python case_studies/calibration/pit_summary.py case_studies/calibration/probes/*/*.csv
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def summary(path: Path) -> dict:
    df = pd.read_csv(path)
    pit = df[[c for c in df.columns if c.endswith("_mean_pit")]].to_numpy()
    cov = df[[c for c in df.columns if c.endswith("_mean_cov") and "peer" not in c]].to_numpy()
    new = df[[c for c in df.columns if c.endswith("_new_cov")]].to_numpy()
    return {"run": f"{path.parent.name}/{path.stem}", "ladders": len(df), "mean_law_coverage": cov.mean(),
            "new_run_coverage": new.mean(), "truth_above_upper": (pit > 0.95).mean(),
            "truth_below_lower": (pit < 0.05).mean(), "mean_pit": pit.mean(),
            "ladders_with_divergences": (df["divergences"] > 0).mean()}


if __name__ == "__main__":
    rows = [summary(Path(p)) for p in sys.argv[1:]]
    table = pd.DataFrame(rows)
    cols = list(table.columns)
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for _, r in table.iterrows():
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |")
