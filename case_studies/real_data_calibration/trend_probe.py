"""Does the residual trend at the end of a curve's training part say where its held-out tail goes? (point fits)

A probe for the next observation model of issue 14: each curve's training part (the same splits as run.py: the 92
Revisiting curves, official tails; the 60 synthetic OU curves) is fitted with ``power_law`` and independent
Student-t noise (``bayeslaw.fit``, run.py's student_t settings: 4 x (1000 + 1000), seed 0), and the held-out tail
is predicted four ways from the posterior median of the law's mean:

- ``law``: the fitted law;
- ``law+level``: plus the residual at the last training checkpoint (a departure that persists: a Wiener process);
- ``law+trend``: plus that level and the residuals' slope in log x over the last third of the training part,
  carried on linearly (a departure whose slope persists: an integrated process);
- ``law+damped trend``: the slope carried for about one e-fold, then flat (an integrated OU process).

Per study it writes the correlation of the end-of-training residual slope with the mean held-out error of the law
and each way's RMSLE (median over curves, and the share of curves it beats the law on). Writes
``results/trend_probe.md`` and ``results/trend_probe.json``.

    python case_studies/real_data_calibration/trend_probe.py
"""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WAYS = ("law", "law+level", "law+trend", "law+damped trend")


def _study_run():
    """This study's run.py, imported by path (other case studies have a run.py too)."""
    spec = importlib.util.spec_from_file_location("real_data_calibration_run", HERE / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def law_fit(train: pd.DataFrame):
    """bayeslaw's power_law fit of the training part (student_t); returns the posterior median of its mean in log x."""
    import bayeslaw

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(train.assign(run="curve"), "power_law", x="D", run="run", likelihood="student_t",
                           curvature=False, seed=0, progress_bar=False, check=False)
    return lambda lx: np.log(np.median(bayeslaw.predict(fit, x=np.exp(lx)).draws("mean"), axis=0))


def probe_curve(train: pd.DataFrame, held: pd.DataFrame) -> dict:
    lx, ly = np.log(train["D"].to_numpy(float)), np.log(train["loss"].to_numpy(float))
    hx, hy = np.log(held["D"].to_numpy(float)), np.log(held["loss"].to_numpy(float))
    f = law_fit(train)
    r = ly - f(lx)
    k = max(3, len(lx) // 3)
    slope, level = np.polyfit(lx[-k:] - lx[-1], r[-k:], 1)
    d = hx - lx[-1]
    preds = {"law": f(hx), "law+level": f(hx) + level, "law+trend": f(hx) + level + slope * d,
             "law+damped trend": f(hx) + level + slope * (1 - np.exp(-d))}
    return {"train_rmse": float(np.sqrt(np.mean(r ** 2))), "slope": float(slope), "level": float(level),
            "tail_error": float(np.mean(hy - f(hx))), "span_efolds": float(d.max()),
            **{w: float(np.sqrt(np.mean((hy - p) ** 2))) for w, p in preds.items()}}


def summarise(df: pd.DataFrame) -> dict:
    out = {"curves": int(len(df)), "median_train_rmse": float(df["train_rmse"].median()),
           "mean_tail_error": float(df["tail_error"].mean()), "share_tail_above": float((df["tail_error"] > 0).mean()),
           "corr_slope_tail": float(np.corrcoef(df["slope"], df["tail_error"])[0, 1]),
           "median_span_efolds": float(df["span_efolds"].median())}
    for w in WAYS:
        out[w] = {"median_rmsle": float(df[w].median()), "share_better_than_law": float((df[w] < df["law"]).mean())}
    return out


def main() -> int:
    run = _study_run()
    run.init_process()   # as run.py's workers: one JAX device (chains in sequence), float64
    curves = {"synthetic": run.synthetic_curves()}
    if run.REVISITING.exists():
        curves["revisiting"] = run.revisiting_curves()
    else:
        print(f"skipping Revisiting: {run.REVISITING} is not there (../shared/data beside the repository)")
    result, lines = {}, ["| study | domain | curves | train RMSE | mean tail error | corr(slope, tail) | "
                         + " | ".join(f"{w}: median RMSLE (better than law)" for w in WAYS) + " |",
                         "|---" * (5 + len(WAYS)) + "|---|"]
    for study, cs in curves.items():
        rows = [dict(curve_id=c["curve_id"], domain=c["domain"], **probe_curve(c["train"], c["held"]))
                for c in cs if len(c["held"]) and len(c["train"]) >= 6]
        df = pd.DataFrame(rows)
        groups = [("all", df)] + ([(d, g) for d, g in df.groupby("domain")] if study == "revisiting" else [])
        for dom, g in groups:
            s = summarise(g)
            result[f"{study}/{dom}"] = s
            lines.append(f"| {study} | {dom} | {s['curves']} | {s['median_train_rmse']:.4f} | "
                         f"{s['mean_tail_error']:+.4f} | {s['corr_slope_tail']:.2f} | "
                         + " | ".join(f"{s[w]['median_rmsle']:.4f} ({s[w]['share_better_than_law']:.2f})"
                                      for w in WAYS) + " |")
    (HERE / "results" / "trend_probe.json").write_text(json.dumps(result, indent=1) + "\n")
    (HERE / "results" / "trend_probe.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
