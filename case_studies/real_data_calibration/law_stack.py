"""Law uncertainty on learning curves: each law alone, and their stack weighted by a backtest of the training part.

Every curve's training part is fitted with each law of ``--laws`` (default ``power_law`` and ``m3``, the
Revisiting paper's saturating law) under the learning-curve observation model; ``bayeslaw.stack(fits,
weights="backtest", holdout_top=...)`` then refits each law on the earlier checkpoints of the training part and
weighs the laws by how well they predicted its later ones (conditioning on the run, as a learning-curve backtest
does). The held-out tail, which no weight has seen, is scored for each law alone and for the stack, with the
scoring of ``run.py`` (coverage of the 50% and 90% new-run bands, PIT, CRPS, error of the median). The weights
use only the training part, so the stack is what a user who names both laws would get: nothing is chosen by
looking at the tails.

Writes ``OUT/<study>/<label>/points.csv.gz`` and ``curves.csv`` (labels ``learning_curve (LAW)`` and
``learning_curve (stack)``), the curves' weights in ``OUT/<study>/weights.csv``, ``OUT/summary.json`` /
``summary.md`` as ``run.py`` does, and ``OUT/analysis.json`` (which law was better on each tail, which the
weights picked, each predictive's bias). Usage::

    python case_studies/real_data_calibration/law_stack.py --study revisiting --out case_studies/real_data_calibration/results/law_stack
    python case_studies/real_data_calibration/law_stack.py --study synthetic --curves 20 --out /tmp/law_stack
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as R  # noqa: E402  (the study's data, fit settings and scoring)


def run_curve(task: dict) -> list[tuple[dict, list[dict]]]:
    """One curve: each law's fit, the backtest-weighted stack, and their held-out points, scored."""
    import bayeslaw

    out, fits, t0 = [], {}, time.perf_counter()
    for law in task["laws"]:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[law] = bayeslaw.fit(task["train"].assign(run="curve"), law, **R.fit_kwargs(task))
        row, pts = R.score_curve(dict(task, likelihood=f"{task['likelihood']} ({law})"), fits[law],
                                 time.perf_counter() - t)
        out.append((row, pts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stacked = bayeslaw.stack(fits, weights="backtest", holdout_top=task["holdout_top"], method=task["method"])
    label = f"{task['likelihood']} ({stack_name(task['method'])})"
    weights = {f"weight_{k}": float(v) for k, v in stacked.weights.items()}
    row = {"curve_id": task["curve_id"], "domain": task["domain"], "likelihood": label,
           "n_train": len(task["train"]), "n_held": len(task["held"]), "wall_s": time.perf_counter() - t0,
           "warnings": sum(len(f.diagnostics) for f in fits.values()),
           "divergences": sum(int(f.idata["sample_stats"]["diverging"].sum()) for f in fits.values()), **weights}
    pts = []
    if len(task["held"]):
        pred = stacked.predict({"x": task["held"]["D"].to_numpy(float)}, ci_prob=0.9, seed=task["seed"])
        pts = R.score_draws(dict(task, likelihood=label), pred.draws("new_run"))
    out.append((row, pts))
    return out


def stack_name(method: str) -> str:
    """The stack's label: "stack" for stacking weights (bayeslaw.stack's default), else "stack METHOD"."""
    return "stack" if method == "stacking" else f"stack {method}"


def folder_name(label: str) -> str:
    return label.replace(" ", "_").replace("(", "").replace(")", "")


def analyse(out: Path, laws: list[str], likelihood: str = "learning_curve") -> dict:
    """Per study: on how many curves each law's tail is better (mean CRPS of the held-out points), how often the
    stack's weights (from the training part alone) picked the law that was better on the tail, and each
    predictive's bias (mean PIT; the held-out loss over the median, less 1)."""
    res = {}
    for study in R.STUDIES:
        if not (out / study / "weights.csv").exists():
            continue
        weights = pd.read_csv(out / study / "weights.csv").set_index("curve_id")
        stacks = sorted(f.name[len(likelihood) + 1:] for f in (out / study).glob(f"{likelihood}_stack*"))
        labels = {m: f"{likelihood}_{m}" for m in [*laws, *stacks]}
        pts = {m: pd.read_csv(out / study / folder / "points.csv.gz") for m, folder in labels.items()}
        crps = pd.DataFrame({m: pts[m].groupby("curve_id")["crps_log"].mean() for m in laws})
        best_on_tail = crps.idxmin(axis=1)
        picked = weights.loc[crps.index, [f"weight_{m}" for m in laws]].idxmax(axis=1).str[len("weight_"):]
        rec = {"curves": int(len(crps)),
               "best_on_tail": {m: float((best_on_tail == m).mean()) for m in laws},
               "picked": {m: float((picked == m).mean()) for m in laws},
               "picked_the_better_law": float((picked == best_on_tail).mean()),
               "weights_all_or_nothing": float((weights[[f"weight_{m}" for m in laws]].max(axis=1) > 0.99).mean())}
        for name in stacks[1:]:   # the other weightings' own weights: how often all or nothing
            other = pd.read_csv(out / study / f"weights_{name}.csv")
            rec[f"weights_all_or_nothing_{name}"] = float(
                (other[[f"weight_{m}" for m in laws]].max(axis=1) > 0.99).mean())
        for m, p in pts.items():
            rec[m] = {"mean_pit": float(p["pit"].mean()), "above_50": float((p["loss"] > p["upper_50"]).mean()),
                      "below_50": float((p["loss"] < p["lower_50"]).mean()),
                      "heldout_over_median": float(np.mean(p["loss"] / p["median"] - 1))}
        res[study] = rec
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=R.STUDIES, default="revisiting")
    p.add_argument("--laws", default="power_law,m3", help="comma-separated laws, each fitted to every curve")
    p.add_argument("--likelihood", default="learning_curve")
    p.add_argument("--holdout-top", type=float, default=0.2,
                   help="share of each training part's later checkpoints the weights' backtest holds out "
                        "(bayeslaw.stack's default)")
    p.add_argument("--method", default="stacking", choices=["stacking", "bb-pseudo-bma"],
                   help="how the backtest's pointwise densities become weights (bayeslaw.stack's method)")
    R.add_fit_arguments(p)
    p.add_argument("--out", type=Path, default=HERE / "results" / "law_stack")
    p.add_argument("--analyse-only", action="store_true", help="only rewrite OUT/analysis.json from OUT's points")
    args = p.parse_args(argv)
    if args.analyse_only:
        (args.out / "analysis.json").write_text(json.dumps(analyse(args.out, args.laws.split(",")), indent=1) + "\n")
        return 0
    if R.missing(args.study):
        print(f"skipping {args.study}: {R.missing(args.study)} is missing (../shared/data beside the repository)",
              file=sys.stderr)
        return 0
    curves = R.every_kth(R.curves_of(args.study), args.curves)
    tasks = [dict(c, likelihood=args.likelihood, laws=args.laws.split(","), holdout_top=args.holdout_top,
                  method=args.method,
                  seed=args.seed, num_samples=args.num_samples, num_warmup=args.num_warmup,
                  num_chains=args.num_chains) for c in curves]
    rows, pts, t0 = {}, {}, time.perf_counter()
    for i, results in enumerate(R.execute(tasks, args.workers, run_curve)):
        for row, points in results:
            rows.setdefault(row["likelihood"], []).append(row)
            pts.setdefault(row["likelihood"], []).extend(points)
        last = results[-1][0]
        print(f"{args.study} {i + 1}/{len(tasks)} {last['curve_id']}: {last['wall_s']:.1f} s, weights "
              + ", ".join(f"{k[7:]} {v:.2f}" for k, v in last.items() if k.startswith("weight_")),
              file=sys.stderr, flush=True)
    for label, r in rows.items():
        folder = args.out / args.study / folder_name(label)
        folder.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(r).sort_values("curve_id").to_csv(folder / "curves.csv", index=False)
        pd.DataFrame(pts[label]).sort_values(["curve_id", "x"]).to_csv(folder / "points.csv.gz", index=False,
                                                                      float_format="%.6g")
    name = stack_name(args.method)
    stack_rows = pd.DataFrame(rows[f"{args.likelihood} ({name})"])
    weights = stack_rows[["curve_id", "domain", *[c for c in stack_rows if c.startswith("weight_")]]]
    file = "weights.csv" if name == "stack" else f"weights_{folder_name(name)}.csv"
    weights.sort_values("curve_id").to_csv(args.out / args.study / file, index=False)
    print(f"{args.study}: {len(tasks)} curves in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    points, curves_ = R.collect(args.out)
    summary = R.summarise(points, curves_)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (args.out / "summary.md").write_text(R.summary_markdown(summary))
    (args.out / "analysis.json").write_text(json.dumps(analyse(args.out, args.laws.split(",")), indent=1) + "\n")
    print(R.summary_markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
