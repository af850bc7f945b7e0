"""How should the orthogonal curvature term go on beyond the runs? Its quadratic, its tangent, or its edge value.

The ladder default (``<law>_orthogonal``, ``bayeslaw.core.curvature.orthogonal``) adds to the law a quadratic in the
centred log inputs, orthogonal to the law over the runs. Beyond the runs the quadratic keeps bending: on the
bundled Chinchilla runs it predicts 1.42 [1.23, 1.76] nats at 1e28 FLOPs, where the law alone gives 1.83 and its
floor E is 1.83. ``orthogonal(law, extrapolate=...)`` offers two bounded continuations beyond the box of the runs'
centred log inputs: ``"linear"`` (the discrepancy's tangent at the box's edge) and ``"hold"`` (its value there).
Inside the box the three are the same model; they differ only in what they claim beyond it.

This script measures the three on held-out data, with today's default sampler for each (no sampler flags):

- backtests with the top 20% by compute held out: the Chinchilla 245 and 240 runs and the three Marin IsoFLOP
  ladders (``../shared/data/isoflop``, when present): coverage of the 90% and 50% new-run bands, held-out elpd per
  run, RMSLE of the median, median width;
- ``--ladders`` synthetic exact-law ladders of ``sharpness.py`` (48 runs, Student-t(3) noise of 2%, targets
  10-100x beyond the largest compute): coverage and width against the plain law's;
- predictions on all 245 Chinchilla runs at 5.76e23 (Chinchilla's budget), 1e25, 1e26 and 1e28 FLOPs (N from
  the law's usual 20 tokens per parameter), beside the plain law's.

Writes ``OUT/orthogonal_extrapolation/summary.json``, ``summary.md`` and ``targets.csv``. Usage::

    python case_studies/real_data_calibration/orthogonal_extrapolation.py --ladders 40
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import curvature_checks  # noqa: E402
import ladders  # noqa: E402
import sharpness  # noqa: E402

VARIANTS = ("quadratic", "linear", "hold")
BUDGETS = (5.76e23, 1e25, 1e26, 1e28)


def register_variants(variants=VARIANTS) -> dict[str, str]:
    """The law name of each continuation (the quadratic is the catalogue's ``chinchilla_orthogonal``)."""
    from bayeslaw.core.catalogue import get_law, register
    from bayeslaw.core.curvature import orthogonal

    names = {}
    for ext in variants:
        names[ext] = "chinchilla_orthogonal" if ext == "quadratic" else f"chinchilla_{ext}_orthogonal"
        if ext != "quadratic":
            register(replace(orthogonal(get_law("chinchilla"), extrapolate=ext), name=names[ext]))
    return names


def far_predictions(names: dict[str, str], sampler: dict) -> list[dict]:
    """Median and 90% new-run interval on all 245 runs at BUDGETS, per continuation and for the plain law."""
    import bayeslaw

    runs = ladders.ladder("chinchilla")
    n = np.sqrt(np.asarray(BUDGETS) / (6 * 20))
    out = []
    for label, law in (("plain", "chinchilla"), *names.items()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
            fit = bayeslaw.fit(runs, law=law, likelihood="student_t", curvature=False, **sampler)
        t = bayeslaw.predict(fit, {"N": n, "C": np.asarray(BUDGETS)}, ci_prob=0.9).table
        out.append({"variant": label, "law": law, "diagnostics": [d["check"] for d in fit.spec.diagnostics],
                    "at": [{"C": c, "median": float(t["new_run_median"].iloc[i]),
                            "lower": float(t["new_run_lower"].iloc[i]), "upper": float(t["new_run_upper"].iloc[i])}
                           for i, c in enumerate(BUDGETS)]})
        print(label, [round(a["median"], 3) for a in out[-1]["at"]], flush=True)
    return out


def markdown(backtests: list[dict], far: list[dict], sharp: list[dict]) -> str:
    out = ["| held out (top share by compute) | law | 90% / 50% coverage | elpd per held-out run | RMSLE | median 90% "
           "width | warnings |", "|---|---|---|---|---|---|---|"]
    out += [f"| {r['data']}, top {r['holdout']:.0%} | {r['model']} | {r['coverage_90']:.3f} / {r['coverage_50']:.3f} | "
            f"{r['elpd_test_per_run']:.2f} | {r['rmsle']:.4f} | {r['median_width_90']:.3f} | "
            f"{', '.join(r['diagnostics']) or 'none'} |" for r in backtests]
    out += ["", "| all 245 Chinchilla runs, new run (90%) at | " + " | ".join(f"{c:.3g} FLOPs" for c in BUDGETS)
            + " | warnings |", "|---|" + "---|" * (len(BUDGETS) + 1)]
    out += [f"| {f['variant']} ({f['law']}) | " + " | ".join(f"{a['median']:.3f} [{a['lower']:.3f}, {a['upper']:.3f}]"
                                                         for a in f["at"])
            + f" | {', '.join(f['diagnostics']) or 'none'} |" for f in far]
    out += ["", sharpness.markdown(sharp)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--ladders", type=int, default=40)
    ap.add_argument("--isoflop", type=Path, default=curvature_checks.ISOFLOP)
    ap.add_argument("--holdouts", nargs="+", type=float, default=[0.2],
                    help="shares of the runs held out by compute (default 0.2; 0.4 reaches about twice as far)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["backtests", "far", "synthetic"])
    ap.add_argument("--tag", default="", help="suffix of the output folder")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help="continuations to fit, comma-separated (quadratic, linear, hold, blend; default the first three)")
    args = ap.parse_args(argv)
    sampler: dict = {}   # today's defaults: 4 x (1000 + 2000) for the orthogonal laws, 4 x (1000 + 1000) plain
    names = register_variants(args.variants.split(","))
    backtests = []
    if "backtests" not in args.skip:
        sets = curvature_checks.backtest_sets(args.isoflop)
        for holdout, data, runs in ((h, d, r) for h in args.holdouts for d, r in sets.items()):
            for law in ("chinchilla", *names.values()):
                row = ladders.run_split(data, runs, holdout, f"{law}/student_t", sampler)[0]
                backtests.append(row)
                print(f"{data} top {holdout:.0%} {row['model']}: 90% {row['coverage_90']:.3f} 50% {row['coverage_50']:.3f} "
                      f"elpd {row['elpd_test_per_run']:.2f} rmsle {row['rmsle']:.4f} {row['diagnostics']}", flush=True)
    far = far_predictions(names, sampler) if "far" not in args.skip else []
    models = ["chinchilla/student_t", *(f"{n}/student_t" for n in names.values())]
    df = sharpness.run(models, args.ladders, sampler) if "synthetic" not in args.skip else pd.DataFrame()
    sharp = sharpness.summarise(df, models) if len(df) else []
    out = args.out / ("orthogonal_extrapolation" + args.tag)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"sampler": "defaults", "variants": names, "backtests": backtests,
                                                  "far": far, "sharpness": sharp}, indent=1, allow_nan=False) + "\n")
    (out / "summary.md").write_text(markdown(backtests, far, sharp))
    if len(df):
        df.to_csv(out / "targets.csv", index=False, float_format="%.6g")
    print(markdown(backtests, far, sharp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
