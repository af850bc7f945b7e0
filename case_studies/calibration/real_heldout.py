"""Held-out coverage on real curves: a one-variable law on the 92 curves of the "Revisiting" benchmark.

Fits ``power_law`` (or ``--law``; x = seen examples) to each curve's official training part (``training == 1``)
and asks the 90% new-run interval to cover the curve's held-out points (``training == 0``, larger
x). This is the real-data counterpart of the synthetic study in ``run.py``: there is no true law
here, only the runs that were measured, and the law may be wrong for a curve. Per curve it also
records the posterior of E as a share of the fitted loss at the largest training run (what a floor
prior has to describe) and the held-out points' PITs.

Usage (from ``case_studies/calibration``)::

    python real_heldout.py --law power_law --out probes/real_heldout/power_law
    python real_heldout.py --law m4 --out probes/real_heldout/m4

writes ``OUT/points.csv.gz`` (one row per held-out point) and ``OUT/curves.csv`` (one row per curve).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "revisiting" / "revisiting_benchmark.csv"


def curve_rows(fit, held: pd.DataFrame, x_last: float, interval: float = 0.9) -> list[dict]:
    """One row per held-out point: covered or not, its PIT, its decades beyond the training part."""
    from bayeslaw.predict import predict

    pred = predict(fit, x=held["D"].to_numpy(float), interval=interval)
    new = pred.draws("new_run")
    y = held["loss"].to_numpy(float)
    rows = []
    for j, (xj, yj) in enumerate(zip(held["D"], y)):
        t = pred.table.iloc[j]
        rows.append({"x": float(xj), "loss": float(yj), "decades": float(np.log10(xj / x_last)),
                     "new_run_lower": float(t["new_run_lower"]), "new_run_upper": float(t["new_run_upper"]),
                     "covered": bool(t["new_run_lower"] <= yj <= t["new_run_upper"]),
                     "above": bool(yj > t["new_run_upper"]), "below": bool(yj < t["new_run_lower"]),
                     "pit": float(np.mean(new[:, j] < yj))})
    return rows


def missing(data: Path) -> bool:
    """True, with a message on stderr, when the data set is not there (``../shared/data`` beside the repository)."""
    if data.exists():
        return False
    print(f"{data} not found: this probe needs ../shared/data beside the repository.", file=sys.stderr)
    return True


def revisiting_curves(data: Path = DATA) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """Per curve of the benchmark: (id, domain, training part, held-out part beyond it); sizes in column D."""
    df = pd.read_csv(data).rename(columns={"seen_examples": "D"})
    out = []
    for cid, g in df.groupby("curve_id", sort=True):
        train = g[g["training"] == 1]
        out.append((cid, g["domain"].iloc[0], train, g[(g["training"] == 0) & (g["D"] > train["D"].max())]))
    return out


def thin(train: pd.DataFrame, k: int) -> pd.DataFrame:
    """The training runs nearest to k log-spaced sizes between the smallest and the largest (ends kept)."""
    t = np.log(train["D"].to_numpy(float))
    grid = np.linspace(t.min(), t.max(), k)
    keep = np.unique([int(np.argmin(np.abs(t - g))) for g in grid])
    return train.iloc[keep]


def floor_share(fit, x_last: float) -> np.ndarray:
    """Posterior draws of E / L(x_last): the floor's share of the fitted loss at the largest run."""
    from bayeslaw.predict import log_mean_draws, posterior_params

    col = fit.spec["data"]["design"][fit.law.inputs[0]]
    return posterior_params(fit)["E"] / np.exp(log_mean_draws(fit, {col: np.array([x_last])})[:, 0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, required=True, help="folder for points.csv.gz and curves.csv")
    p.add_argument("--law", default="power_law", help="a one-variable catalogue law (power_law, m3, m4, ...)")
    p.add_argument("--prior", action="append", default=[], metavar="NAME=DIST", help="override a default prior")
    p.add_argument("--thin", type=int, default=0, metavar="K",
                   help="fit only K training runs, the nearest to K log-spaced sizes (a workaround to test)")
    p.add_argument("--jeffreys", action="store_true", help="multiply the priors by probe_jeffreys.py's design factor")
    args = p.parse_args(argv)
    if missing(args.data):
        return 2
    from run import _init_worker

    _init_worker(1)
    import bayeslaw

    if args.jeffreys:
        from probe_jeffreys import patch_engine

        patch_engine()
    priors = dict(p.split("=", 1) for p in args.prior) or None
    points, curves = [], []
    for cid, domain, train, held in revisiting_curves(args.data):
        if args.thin:
            train = thin(train, args.thin)
        row = {"curve_id": cid, "domain": domain, "n_train": len(train), "n_held": len(held)}
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = bayeslaw.fit(train[["D", "loss"]], args.law, x="D", priors=priors, seed=0,
                                 progress_bar=False)
        except bayeslaw.BayeslawError as e:
            row["error"] = str(e)
            curves.append(row)
            continue
        x_last = float(train["D"].max())
        row.update(warnings=len(f.diagnostics), wall_s=time.perf_counter() - t0)
        if "E" in f.law.params:
            u = floor_share(f, x_last)
            row.update(share_q05=float(np.quantile(u, 0.05)), share_median=float(np.median(u)),
                       share_q95=float(np.quantile(u, 0.95)))
        if len(held):
            rows = curve_rows(f, held, x_last)
            for r in rows:
                r.update(curve_id=cid, domain=domain)
            points += rows
            row["coverage"] = float(np.mean([r["covered"] for r in rows]))
        curves.append(row)
        print(f"{len(curves)}: {cid} share {row.get('share_median', np.nan):.2f} coverage {row.get('coverage', np.nan):.2f}",
              flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    pts = pd.DataFrame(points)
    pts.to_csv(args.out / "points.csv.gz", index=False, float_format="%.6g")
    per_curve = pd.DataFrame(curves)
    per_curve.to_csv(args.out / "curves.csv", index=False)
    print(summarise(pts, per_curve))
    return 0


def summarise(pts: pd.DataFrame, per_curve: pd.DataFrame | None = None) -> str:
    """Coverage per domain, pooled over points and averaged over curves (curves are the units), the
    median relative width of the 90% new-run interval and, given ``per_curve``, E's share."""
    share = per_curve is not None and "share_median" in per_curve
    lines = ["| domain | curves | held-out points | coverage (points) | coverage (mean over curves) | "
             "above / below | median width" + (" | median E share [5%, 95% of curves]" if share else "") + " |",
             "|---|---|---|---|---|---|---|" + ("---|" if share else "")]
    width = (pts["new_run_upper"] - pts["new_run_lower"]) / pts["loss"]
    for dom, g in [*pts.groupby("domain"), ("all", pts)]:
        line = (f"| {dom} | {g['curve_id'].nunique()} | {len(g)} | {g['covered'].mean():.3f} | "
                f"{g.groupby('curve_id')['covered'].mean().mean():.3f} | {g['above'].mean():.3f} / "
                f"{g['below'].mean():.3f} | {width[g.index].median():.3f}")
        if share:
            c = per_curve if dom == "all" else per_curve[per_curve["domain"] == dom]
            line += (f" | {c['share_median'].median():.2f} [{c['share_median'].quantile(0.05):.2f}, "
                     f"{c['share_median'].quantile(0.95):.2f}]")
        lines.append(line + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
