"""Sharp where the law holds: do the ladder models widen bands on ladders where the law is exact?

The calibration study's Chinchilla design (``case_studies/calibration``: 48 runs, 8 model sizes x 6
token ratios, Student-t(3) noise of scale 2% on log loss, targets at 10x, 31.6x and 100x the largest
run's compute at 20 tokens per parameter) is fitted with each ``LAW/LIKELIHOOD`` of ``--models``. Per
model: coverage of one fresh run per target by the 90% and 50% new-run bands (ladders as the unit,
Jeffreys interval over ladder-targets), of the true mean by the 90% mean band, the median 90% width in
log loss and its ratio to the first model's, and the share of fits with sampler warnings. Writes
``OUT/sharpness/summary.json`` and ``summary.md``. Usage::

    python case_studies/real_data_calibration/sharpness.py --ladders 30 --out case_studies/real_data_calibration/results
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ladders import jeffreys  # noqa: E402

MODELS = ("chinchilla/student_t", "chinchilla/compute_misfit", "chinchilla_curved/student_t")


def calibration_study():
    """The calibration study's run.py as a module (its ladder designs)."""
    spec = importlib.util.spec_from_file_location("calibration_run", HERE.parent / "calibration" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run(models: list[str], ladders: int, sampler: dict) -> pd.DataFrame:
    """One row per ladder, model and target: hits, widths, warnings, time."""
    import bayeslaw

    cal = calibration_study()
    rows = []
    for seed in range(ladders):
        ladder, targets = cal.make_ladder(cal.DESIGNS["chinchilla"], "student_t3", seed)
        for model in models:
            law, likelihood = model.split("/")
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
                # the law as named (a plain name: the plain law, as in the committed results, made before
                # curvature="auto" became the default, 2026-12-03; LAW_curved / LAW_orthogonal keep their term)
                f = bayeslaw.fit(ladder[["N", "D", "loss"]], law=law, likelihood=likelihood, curvature=False,
                                 seed=seed, **sampler)
            wall = time.perf_counter() - t0
            t = bayeslaw.predict(f, targets[["N", "D"]], ci_prob=0.9).table   # ArviZ's default is 0.89
            p50 = bayeslaw.predict(f, targets[["N", "D"]], ci_prob=0.5).table
            for i in range(len(targets)):
                y, mu = targets["fresh_run"].iloc[i], targets["true_mean"].iloc[i]
                rows.append({"seed": seed, "model": model, "target": i,
                             "hit_90": bool(t["new_run_lower"].iloc[i] <= y <= t["new_run_upper"].iloc[i]),
                             "hit_50": bool(p50["new_run_lower"].iloc[i] <= y <= p50["new_run_upper"].iloc[i]),
                             "hit_mean_90": bool(t["mean_lower"].iloc[i] <= mu <= t["mean_upper"].iloc[i]),
                             "width_90": float(np.log(t["new_run_upper"].iloc[i] / t["new_run_lower"].iloc[i])),
                             "warned": bool(f.spec.diagnostics), "wall_s": wall})
        print(f"ladder {seed}: " + ", ".join(f"{m} {g['width_90'].median():.3f}" for m, g in
                                             pd.DataFrame(rows).groupby("model")), flush=True)
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame, models: list[str]) -> list[dict]:
    """Per model: coverage with intervals, median width and its ratio to the first model's, warnings."""
    base = df[df["model"] == models[0]]["width_90"].median()
    out = []
    for m in models:
        g = df[df["model"] == m]
        n = len(g)
        out.append({"model": m, "ladders": int(g["seed"].nunique()), "targets": n,
                    "coverage_90": float(g["hit_90"].mean()), "coverage_90_ci": jeffreys(int(g["hit_90"].sum()), n),
                    "coverage_50": float(g["hit_50"].mean()), "coverage_50_ci": jeffreys(int(g["hit_50"].sum()), n),
                    "coverage_mean_90": float(g["hit_mean_90"].mean()),
                    "median_width_90": float(g["width_90"].median()),
                    "width_ratio": float(g["width_90"].median() / base),
                    "share_fits_with_warnings": float(g.groupby("seed")["warned"].first().mean()),
                    "median_wall_s": float(g.groupby("seed")["wall_s"].first().median())})
    return out


def markdown(rows: list[dict]) -> str:
    head = ("| law / likelihood | ladders | 90% coverage [95% CI] | 50% coverage [95% CI] | mean-band 90% coverage | "
            "median 90% width (log) | width ratio | fits with warnings | median s per fit |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['model']} | {r['ladders']} | {r['coverage_90']:.3f} [{r['coverage_90_ci'][0]:.2f}, "
        f"{r['coverage_90_ci'][1]:.2f}] | {r['coverage_50']:.3f} [{r['coverage_50_ci'][0]:.2f}, "
        f"{r['coverage_50_ci'][1]:.2f}] | {r['coverage_mean_90']:.3f} | {r['median_width_90']:.3f} | "
        f"{r['width_ratio']:.2f} | {r['share_fits_with_warnings']:.2f} | {r['median_wall_s']:.1f} |\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="LAW/LIKELIHOOD pairs; the first is the base")
    ap.add_argument("--ladders", type=int, default=30)
    ap.add_argument("--num-samples", type=int, default=1000)
    ap.add_argument("--num-warmup", type=int, default=1000)
    ap.add_argument("--num-chains", type=int, default=4)
    args = ap.parse_args(argv)
    sampler = {"num_samples": args.num_samples, "num_warmup": args.num_warmup, "num_chains": args.num_chains}
    df = run(args.models, args.ladders, sampler)
    rows = summarise(df, args.models)
    out = args.out / "sharpness"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"sampler": sampler, "rows": rows}, indent=1, allow_nan=False) + "\n")
    (out / "summary.md").write_text(markdown(rows))
    df.to_csv(out / "targets.csv", index=False, float_format="%.6g")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
