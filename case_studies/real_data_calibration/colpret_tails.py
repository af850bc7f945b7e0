"""ColPret learning curves, first 30% of each run fitted: do the bands cover the later checkpoints and the final loss?

Reads what three commands wrote (no fitting here)::

    python case_studies/real_data_calibration/law_stack.py --study colpret --method bb-pseudo-bma \
        --num-warmup 500 --num-samples 1500 --out case_studies/real_data_calibration/results/colpret_tails/law_stack
    python case_studies/real_data_calibration/run.py --study colpret --likelihoods student_t \
        --num-warmup 500 --num-samples 1500 --out case_studies/real_data_calibration/results/colpret_tails/independent
    python case_studies/real_data_calibration/run.py --study colpret --likelihoods learning_curve_wiener \
        --num-warmup 500 --num-samples 1500 --out case_studies/real_data_calibration/results/colpret_tails/wiener
    python case_studies/real_data_calibration/colpret_tails.py

(about 10 minutes on 2 cores in all). The curves are ``run.colpret_curves``: one per model and metric of
``../shared/data/colpret/colpret_curves.csv`` (64 curves of 18 runs: OLMo's runs are read on many validation sets, so
their curves are not independent), the checkpoints up to 30% of the run's last token count fitted, the rest held
out. For each predictive (power_law under the independent Student-t, power_law, m3 and their pseudo-BMA+ average
under the learning-curve model): coverage of the 90% and 50% new-run bands over held-out checkpoints (pooled, and
with a 95% interval from resampling *runs*), over the final checkpoint of each curve, and per family; the median
RMSLE of the posterior median per curve; the share of curves with sampler warnings. Writes
``results/colpret_tails/summary.json`` and ``summary.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "colpret_tails"
MODELS = {"power_law, independent Student-t": "independent/colpret/student_t",
          "power_law, learning curve": "law_stack/colpret/learning_curve_power_law",
          "power_law, learning curve with a Wiener departure": "wiener/colpret/learning_curve_wiener",
          "m3, learning curve": "law_stack/colpret/learning_curve_m3",
          "pseudo-BMA+ average of the two": "law_stack/colpret/learning_curve_stack_bb-pseudo-bma"}


def run_of(curve_id: pd.Series) -> pd.Series:
    """The training run a curve belongs to (family and model: one run read on several metrics)."""
    return curve_id.str.rsplit("|", n=1).str[0]


def run_bootstrap(hit: pd.Series, runs: pd.Series, reps: int = 2000, seed: int = 0) -> list[float]:
    """95% interval of the pooled share of ``hit`` when runs are resampled with replacement."""
    rng = np.random.default_rng(seed)
    by = pd.DataFrame({"hit": hit.astype(float), "run": runs.to_numpy()}).groupby("run")["hit"].agg(["sum", "size"])
    k, n = by["sum"].to_numpy(), by["size"].to_numpy()
    draws = rng.integers(0, len(by), size=(reps, len(by)))
    share = k[draws].sum(axis=1) / n[draws].sum(axis=1)
    return [float(np.quantile(share, 0.025)), float(np.quantile(share, 0.975))]


def summarise(points: pd.DataFrame, curves: pd.DataFrame) -> dict:
    runs = run_of(points["curve_id"])
    final = points.loc[points.groupby("curve_id")["x"].idxmax()]
    rmsle = points.groupby("curve_id").apply(lambda g: float(np.sqrt(np.mean(np.log(g["loss"] / g["median"]) ** 2))),
                                            include_groups=False)
    return {"curves": int(points["curve_id"].nunique()), "runs": int(runs.nunique()), "points": int(len(points)),
            "coverage_90": float(points["covered_90"].mean()),
            "coverage_90_ci95_runs": run_bootstrap(points["covered_90"], runs),
            "coverage_50": float(points["covered_50"].mean()),
            "coverage_50_ci95_runs": run_bootstrap(points["covered_50"], runs),
            "above_90": float(points["above_90"].mean()),
            "final_covered_90": int(final["covered_90"].sum()), "final_curves": int(len(final)),
            "mean_pit": float(points["pit"].mean()), "median_rmsle": float(rmsle.median()),
            "by_family_90": {f: float(g["covered_90"].mean()) for f, g in points.groupby("domain")},
            "share_curves_with_warnings": float((curves["warnings"] > 0).mean()),
            "median_wall_s": float(curves["wall_s"].median())}


def markdown(summary: dict) -> str:
    lines = ["| predictive | 90% band: checkpoints [95% CI, runs resampled] | 50% band | final loss inside the 90% "
             "band | truth above the 90% band | mean PIT | median RMSLE | curves with warnings | median s per curve |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in summary.items():
        lo, hi = r["coverage_90_ci95_runs"]
        lines.append(f"| {name} | {r['coverage_90']:.3f} [{lo:.3f}, {hi:.3f}] | {r['coverage_50']:.3f} | "
                     f"{r['final_covered_90']} of {r['final_curves']} | {r['above_90']:.3f} | {r['mean_pit']:.3f} | "
                     f"{r['median_rmsle']:.4f} | {r['share_curves_with_warnings']:.3f} | {r['median_wall_s']:.1f} |")
    lines += ["", "| predictive | " + " | ".join(next(iter(summary.values()))["by_family_90"]) + " |",
              "|---|" + "---|" * len(next(iter(summary.values()))["by_family_90"])]
    for name, r in summary.items():
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in r["by_family_90"].values()) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    summary = {}
    for name, folder in MODELS.items():
        path = OUT / folder
        if not (path / "points.csv.gz").exists():
            print(f"skipping {name}: {path} has no points.csv.gz (run the commands in this script's docstring)")
            continue
        summary[name] = summarise(pd.read_csv(path / "points.csv.gz"), pd.read_csv(path / "curves.csv"))
    (OUT / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (OUT / "summary.md").write_text(markdown(summary))
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
