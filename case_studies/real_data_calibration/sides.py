"""Which side the held-out points miss the learning-curve bands on (reads run.py's committed points; no fitting).

For each study and observation model in ``results/<study>/<likelihood>/points.csv.gz``: the share of held-out points
above and below the 50% and 90% new-run bands, the mean PIT (0.5 when the median is unbiased), the median error of
the posterior median in log loss (positive: the held-out loss is higher than predicted) and 95% intervals from
resampling curves (the independent units); the same for the probe in ``results/wiener_probe`` beside the
learning-curve points of its curves. Writes ``results/sides.md`` and ``results/sides.json``.

    python case_studies/real_data_calibration/sides.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def _study_run():
    """This study's run.py, imported by path (other case studies have a run.py too)."""
    spec = importlib.util.spec_from_file_location("real_data_calibration_run", HERE / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


curve_bootstrap = _study_run().curve_bootstrap


def sides(points: pd.DataFrame) -> dict:
    """The one-sidedness of one study's misses, with curve-bootstrap 95% intervals."""
    curve = points["curve_id"]
    rec = {"curves": int(curve.nunique()), "points": int(len(points))}
    cols = {"above_50": points["loss"] > points["upper_50"], "below_50": points["loss"] < points["lower_50"],
            "above_90": points["loss"] > points["upper_90"], "below_90": points["loss"] < points["lower_90"],
            "pit": points["pit"], "log_error": np.log(points["loss"] / points["median"])}
    for name, col in cols.items():
        col = col.astype(float)
        rec[name] = float(col.mean())
        rec[f"{name}_ci95"] = list(curve_bootstrap(col, curve))
    return rec


def main() -> int:
    results = HERE / "results"
    out = {}
    for path in sorted(results.glob("*/*/points.csv.gz")):
        out[f"{path.parent.parent.name}/{path.parent.name}"] = sides(pd.read_csv(path))
    # the Wiener probe (run.py --likelihoods learning_curve_wiener --curves 23 --out results/wiener_probe), beside
    # the committed learning_curve points of the same curves
    for path in sorted((results / "wiener_probe").glob("*/*/points.csv.gz")):
        probe = pd.read_csv(path)
        study = path.parent.parent.name
        same = pd.read_csv(results / study / "learning_curve" / "points.csv.gz")
        same = same[same["curve_id"].isin(set(probe["curve_id"]))]
        out[f"{study}/learning_curve (the probe's curves)"] = sides(same)
        out[f"{study}/{path.parent.name} (probe)"] = sides(probe)
    (results / "sides.json").write_text(json.dumps(out, indent=2, allow_nan=False) + "\n")
    lines = ["| study / likelihood | curves | above 50% band [95% CI] | below 50% band | above 90% band | below 90% "
             "band | mean PIT [95% CI] | mean log(loss / median) [95% CI] |", "|---|---|---|---|---|---|---|---|"]
    ci = lambda r, k, f="{:.3f}": f"{f.format(r[k])} [{f.format(r[k + '_ci95'][0])}, {f.format(r[k + '_ci95'][1])}]"
    for key, r in out.items():
        lines.append(f"| {key} | {r['curves']} | {ci(r, 'above_50')} | {r['below_50']:.3f} | {r['above_90']:.3f} | "
                     f"{r['below_90']:.3f} | {ci(r, 'pit')} | {ci(r, 'log_error', '{:+.4f}')} |")
    (results / "sides.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
