"""Sharp where the law holds: the curvature term (``curvature=True``) against the plain law on the same ladders.

Reads the plain law's rows (``results/<law>_<noise>.csv``, made with ``run.py --curvature off``) and the curved
law's (``results/curved/<law>_<noise>.csv``, ``run.py --curvature on --num-warmup 2000``), keeps the ladders (seeds)
both fitted, and writes ``results/curved/comparison.md`` and ``comparison.json``: per cell, coverage of the true
mean law and of a fresh run by the 90% bands (ladders as the units: ``run.clustered_wilson``), the ratio of the
median 90% widths (curved / plain, per target then the median over targets), and the share of ladders with sampler
warnings. The bar (issue 14): coverage within 0.87-0.96 and width ratio <= 1.25. Usage::

    python case_studies/calibration/curved_vs_plain.py
    python case_studies/calibration/curved_vs_plain.py --curved case_studies/calibration/results/orthogonal --label orthogonal
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import clustered_wilson  # noqa: E402

CELLS = [("chinchilla", "normal"), ("chinchilla", "student_t3"), ("power_law", "normal"),
         ("power_law", "student_t3")]
BAR = (0.87, 0.96)
WIDTH_BAR = 1.25


def targets(df: pd.DataFrame) -> list[str]:
    return sorted({c.split("_")[0] for c in df.columns if c.startswith("t") and c[1].isdigit()})


def cell(plain: pd.DataFrame, curved: pd.DataFrame) -> dict:
    seeds = sorted(set(plain["seed"]) & set(curved["seed"]))
    p, c = (d.drop_duplicates("seed").set_index("seed").loc[seeds] for d in (plain, curved))
    ts = targets(c)
    out = {"ladders": len(seeds)}
    for name, d in (("plain", p), ("curved", c)):
        row = {"warnings": float((d["n_diagnostics"] > 0).mean()), "median_wall_s": float(d["wall_s"].median())}
        for kind in ("mean", "new"):
            hits = d[[f"{t}_{kind}_cov" for t in ts]].to_numpy(float)
            lo, hi, _ = clustered_wilson(hits)
            row[f"{kind}_coverage"] = float(hits.mean())
            row[f"{kind}_ci95"] = [lo, hi]
            row[f"{kind}_median_width"] = float(np.median(d[[f"{t}_{kind}_width" for t in ts]].to_numpy(float)))
        out[name] = row
    for kind in ("mean", "new"):
        ratios = [float(np.median(c[f"{t}_{kind}_width"]) / np.median(p[f"{t}_{kind}_width"])) for t in ts]
        out[f"{kind}_width_ratio"] = float(np.median(ratios))
        out[f"{kind}_width_ratio_by_target"] = ratios
    cur = out["curved"]
    out["meets_bar"] = bool(all(BAR[0] <= cur[f"{k}_coverage"] <= BAR[1] for k in ("mean", "new"))
                            and out["new_width_ratio"] <= WIDTH_BAR)
    return out


def table(summary: dict, label: str = "curved") -> str:
    lines = ["| law | noise | ladders | model | mean-law coverage [95% CI] | new-run coverage [95% CI] | "
             "median 90% width (new run) | width ratio (new run / mean) | ladders with warnings | median s per fit |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, s in summary["cells"].items():
        law, noise = key.split("/")
        for name in ("plain", "curved"):
            r = s[name]
            ratio = f"{s['new_width_ratio']:.2f} / {s['mean_width_ratio']:.2f}" if name == "curved" else "1"
            lines.append(f"| {law} | {noise} | {s['ladders']} | {label if name == 'curved' else name} | {r['mean_coverage']:.3f} "
                         f"[{r['mean_ci95'][0]:.3f}, {r['mean_ci95'][1]:.3f}] | {r['new_coverage']:.3f} "
                         f"[{r['new_ci95'][0]:.3f}, {r['new_ci95'][1]:.3f}] | {r['new_median_width']:.3f} | {ratio} | "
                         f"{r['warnings']:.3f} | {r['median_wall_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plain", type=Path, default=HERE / "results")
    ap.add_argument("--curved", type=Path, default=HERE / "results" / "curved",
                    help="the other model's rows (results/orthogonal: run.py --curvature orthogonal)")
    ap.add_argument("--label", default="curved", help="the other model's name in the table")
    args = ap.parse_args(argv)
    cells = {}
    for law, noise in CELLS:
        pp, cp = args.plain / f"{law}_{noise}.csv", args.curved / f"{law}_{noise}.csv"
        if pp.exists() and cp.exists():
            cells[f"{law}/{noise}"] = cell(pd.read_csv(pp), pd.read_csv(cp))
    summary = {"bar": {"coverage": list(BAR), "width_ratio": WIDTH_BAR}, "cells": cells}
    (args.curved / "comparison.json").write_text(json.dumps(summary, indent=1) + "\n")
    text = table(summary, args.label)
    (args.curved / "comparison.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
