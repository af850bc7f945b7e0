"""Probe: is the power_law posterior of the curve miscalibrated inside the ladder too, not only beyond it?

PIT of the true mean law at the smallest, middle and largest ladder sizes and at 10x / 100x beyond,
over 40 Gaussian-noise ladders (seeds 0-39), and the posterior medians of E and alpha.

Usage::

    python case_studies/calibration/probe_insample.py student_t    # or: normal
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as runner
runner._init_worker(4)
import warnings, bayeslaw
from ladders import DESIGNS, make_ladder, true_log_mean
design = DESIGNS["power_law"]
rows = []
for seed in range(40):
    ladder, targets = make_ladder(design, "normal", seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(ladder, "power_law", x="D", seed=seed, progress_bar=False, likelihood=sys.argv[1])
    pts = pd.DataFrame({"D": [ladder.D.min(), ladder.D.iloc[10], ladder.D.max(), targets.D.iloc[0], targets.D.iloc[2]]})
    truth = np.exp(true_log_mean(design, pts))
    draws = fit.predict(targets=pts).draws("mean")
    pit = (draws < truth[None, :]).mean(axis=0)
    E = fit.draws("E"); alpha = fit.draws("alpha")
    rows.append(list(pit) + [np.median(E), np.median(alpha)])
df = pd.DataFrame(rows, columns=["min", "mid", "max", "t10x", "t100x", "E_med", "alpha_med"])
print("mean PIT:", df[["min","mid","max","t10x","t100x"]].mean().round(3).to_dict())
print("share PIT>0.95:", (df[["min","mid","max","t10x","t100x"]] > 0.95).mean().round(3).to_dict())
print("share PIT<0.05:", (df[["min","mid","max","t10x","t100x"]] < 0.05).mean().round(3).to_dict())
print("posterior medians: E", df.E_med.median().round(3), "(truth 1.7)  alpha", df.alpha_med.median().round(3), "(truth 0.3)")
print("mean of medians: E", df.E_med.mean().round(3), " alpha", df.alpha_med.mean().round(3))
