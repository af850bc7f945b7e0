"""Why the default ladder fit's 50% band covers too little of the largest Chinchilla runs: which side they miss on.

For the Chinchilla runs (all 245, and the 240 Epoch kept), the top 20% by compute held out, backtest the default
law for a ladder of this size (``chinchilla_orthogonal``: the plain law plus the orthogonal curvature term) and the
plain ``chinchilla`` with the default Student-t likelihood, NUTS 4 x the plan's default budget, seed 0. For each:
the share of held-out runs inside, above and below the 50% and 90% new-run bands, the mean and median absolute
error of the posterior median in log loss (negative: the runs are lower than predicted), the median half-width of
the 50% band in log loss, and the posterior medians of the noise scale ``sigma`` and degrees of freedom ``nu`` of
the backtest's fit. Writes ``results/ladder_sides.json`` and ``results/ladder_sides.md``. About two minutes::

    python case_studies/real_data_calibration/ladder_sides.py
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ladders import ladder  # noqa: E402

LAWS = ("chinchilla", "chinchilla_orthogonal")


def sides(data: str, law: str, seed: int = 0) -> dict:
    """One backtest's misses by side, its errors and its noise parameters."""
    import bayeslaw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        # curvature=False: each law as named (chinchilla_orthogonal carries its term in its name)
        bt = bayeslaw.backtest(ladder(data), law, by="C", holdout_top=0.2, curvature=False, seed=seed,
                               ci_prob=0.9)
    pw = bt.pointwise
    y = pw["loss"].to_numpy(float)
    rec = {"data": data, "law": law, "held_out": int(len(y))}
    for level, lo, hi in ((50, "new_run_lower_50", "new_run_upper_50"), (90, "new_run_lower", "new_run_upper")):
        lower, upper = pw[lo].to_numpy(float), pw[hi].to_numpy(float)
        rec[f"inside_{level}"] = float(np.mean((lower <= y) & (y <= upper)))
        rec[f"above_{level}"] = float(np.mean(y > upper))
        rec[f"below_{level}"] = float(np.mean(y < lower))
    err = np.log(y / pw["new_run_median"].to_numpy(float))
    rec["mean_log_error"] = float(np.mean(err))
    rec["median_abs_log_error"] = float(np.median(np.abs(err)))
    rec["median_half_width_50"] = float(np.median(np.log(pw["new_run_upper_50"] / pw["new_run_lower_50"]) / 2))
    post = next(iter(bt.fits.values())).idata["posterior"]
    rec["sigma"] = float(np.median(post["sigma"].values))
    rec["nu"] = float(np.median(post["nu"].values))
    return rec


def markdown(rows: list[dict]) -> str:
    head = ("| runs | law | 50% band: inside / above / below | 90% band: inside / above / below | mean log error "
            "| median abs log error | median 50% half-width | sigma | nu |\n|---|---|---|---|---|---|---|---|---|\n")
    return head + "".join(
        f"| {r['data']} ({r['held_out']} held out) | {r['law']} | {r['inside_50']:.3f} / {r['above_50']:.3f} / "
        f"{r['below_50']:.3f} | {r['inside_90']:.3f} / {r['above_90']:.3f} / {r['below_90']:.3f} | "
        f"{r['mean_log_error']:+.4f} | {r['median_abs_log_error']:.4f} | {r['median_half_width_50']:.4f} | "
        f"{r['sigma']:.4f} | {r['nu']:.2f} |\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="chinchilla,chinchilla240", help="comma-separated: chinchilla, chinchilla240")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    rows = [sides(d, law, args.seed) for d in args.data.split(",") for law in LAWS]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ladder_sides.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "ladder_sides.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
