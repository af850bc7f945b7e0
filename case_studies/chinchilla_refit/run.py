"""Chinchilla refit: the Chinchilla law on Epoch AI's digitisation of Hoffmann et al.'s runs.

Fits ``L = E + A/N^alpha + B/D^beta`` with the default Student-t likelihood on log loss to
(a) all 245 digitised runs and (b) the 240 runs Epoch kept, and checks the posterior against
Epoch's refit (``expected.json``). Intervals are 90% (``ci_prob=0.9``). Writes only under --out:

- ``summary_245.csv``, ``summary_240.csv``: parameter tables (mean, sd, 90% HDI ``lower``/``upper``,
  R-hat, bulk/tail ESS)
- ``results.json``: the numbers, the 99% interval of beta, the checks against expected.json,
  the decisions at Chinchilla's scale, package versions
- ``curve.png``, ``optimum.png``: the fitted curve along the compute-optimal frontier with
  Chinchilla (70B, 1.4T) marked, and the compute-optimal N*, D* (from the 245-run fit)
- ``fit_245/``: the saved 245-run fit (``bayeslaw.load`` it; ``bayeslaw plot`` draws from it)

Usage::

    python case_studies/chinchilla_refit/run.py --out case_studies/chinchilla_refit/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CI_PROB = 0.9
CHINCHILLA_COMPUTE = 5.76e23  # FLOPs of Chinchilla (70B parameters, 1.4T tokens), Hoffmann et al. Table 3
CHINCHILLA = {"N": 70e9, "D": 1.4e12}
FITS = ("245", "240")  # all digitised runs; the runs Epoch kept (epoch_excluded == 0)


def tokens_per_param(p: dict, C: float, k: float = 6.0) -> float:
    """Closed-form D*/N* of the Chinchilla law at compute C for point estimates p."""
    a, b = p["alpha"]["value"], p["beta"]["value"]
    A, B = p["A"]["value"], p["B"]["value"]
    G = (a * A / (b * B)) ** (1 / (a + b))
    N = G * (C / k) ** (b / (a + b))
    return (C / k) / N / N


def checks_of(summary, beta_99: tuple[float, float], divergences: int, expected: dict) -> dict:
    """The case study's verdicts for one fit (tolerances from expected.json)."""
    acc = expected["acceptance"]
    checks = {}
    for name, tol in acc["tolerance_2se"].items():
        ref = expected["epoch_refit"][name]["value"]
        mean = float(summary.loc[name, "mean"])
        checks[f"{name}_mean_within_epoch_2se"] = {"mean": mean, "epoch": ref, "tol": tol,
                                                   "pass": abs(mean - ref) <= tol}
    hb = expected["hoffmann_published"]["beta"]
    lo, hi = beta_99
    checks["hoffmann_beta_outside_99"] = {"interval": [lo, hi], "hoffmann": hb, "pass": not (lo <= hb <= hi)}
    r_hat = float(summary["r_hat"].max())
    checks["r_hat_max"] = {"value": r_hat, "pass": r_hat <= acc["r_hat_max"]}
    checks["divergences"] = {"value": divergences, "pass": divergences <= acc["divergences"]}
    return checks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-samples", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--num-warmup", type=int, default=1000, help="warmup iterations per chain (default 1000)")
    p.add_argument("--num-chains", type=int, default=4, help="NUTS chains (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fits", default=",".join(FITS),
                   help="which fits to make: 245 (all runs), 240 (Epoch's), or both (default 245,240)")
    p.add_argument("--subset", type=int, default=1, metavar="K",
                   help="fit every K-th run only (a quick check of the pipeline, not the study; default 1: all)")
    p.add_argument("--out", type=Path, required=True, help="folder for the results (created; nothing else is written)")
    args = p.parse_args(argv)
    which = [f.strip() for f in args.fits.split(",") if f.strip()]
    if not which or set(which) - set(FITS):
        p.error(f"--fits takes 245 and/or 240; got {args.fits!r}")

    import numpyro

    numpyro.set_host_device_count(max(4, args.num_chains))  # chains in parallel (before JAX starts)
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    import bayeslaw
    from bayeslaw.inference.store import versions
    from bayeslaw.plots import plot_curve, plot_optimum, save_figure

    expected = json.loads((HERE / "expected.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(bayeslaw.example_data_path())
    frames = {"245": table, "240": table[table.epoch_excluded == 0]}
    frames = {label: frame.iloc[::max(1, args.subset)] for label, frame in frames.items()}
    results: dict = {"settings": vars(args) | {"out": str(args.out), "ci_prob": CI_PROB}, "versions": versions(),
                     "fits": {}}
    for label in which:
        runs = bayeslaw.load_runs(frames[label].drop(columns="epoch_excluded"))
        # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
        fit = bayeslaw.fit(runs, "chinchilla", curvature=False, num_warmup=args.num_warmup,
                           num_samples=args.num_samples, num_chains=args.num_chains, seed=args.seed)
        summary = fit.summary(ci_prob=CI_PROB)
        summary.to_csv(args.out / f"summary_{label}.csv", float_format="%.6g")
        lo99, hi99 = (float(v) for v in np.quantile(fit.draws("beta"), [0.005, 0.995]))
        div = int(fit.idata["sample_stats"]["diverging"].sum())
        checks = checks_of(summary, (lo99, hi99), div, expected)
        results["fits"][label] = {
            "n_runs": len(runs),
            "summary": {k: {c: float(v) for c, v in row.items()} for k, row in summary.iterrows()},
            "beta_99_interval": [lo99, hi99],
            "divergences": div,
            "wall_seconds": fit.spec.sampler.wall_seconds,
            "diagnostics": fit.diagnostics,
            "checks": checks,
            "all_pass": all(c["pass"] for c in checks.values()),
        }
        if label == "245":
            fit.save(args.out / "fit_245", overwrite=True)
            opt = fit.optimal_allocation(C=CHINCHILLA_COMPUTE, ci_prob=CI_PROB).to_records()[0]
            pred = fit.predict(**CHINCHILLA, ci_prob=CI_PROB).to_records()[0]
            hoffmann = {k: {"value": v} for k, v in expected["hoffmann_published"].items()}
            results["decisions"] = {
                "optimal_allocation_5.76e23": opt, "chinchilla_70B_1.4T": pred,
                "epoch_point_estimate_tokens_per_param": tokens_per_param(expected["epoch_refit"], CHINCHILLA_COMPUTE),
                "hoffmann_point_estimate_tokens_per_param": tokens_per_param(hoffmann, CHINCHILLA_COMPUTE)}
            tpp, ml = opt["tokens_per_param"], pred["mean_law"]
            print(f"tokens per parameter at C = 5.76e23: {tpp['median']:.1f} [{tpp['lower']:.1f}, {tpp['upper']:.1f}] "
                  f"(Epoch's point estimate: {results['decisions']['epoch_point_estimate_tokens_per_param']:.1f})")
            print(f"loss of Chinchilla (70B, 1.4T): {ml['median']:.3f} [{ml['lower']:.3f}, {ml['upper']:.3f}]")
            # the figures `bayeslaw plot OUT/fit_245 --kind curve|optimum --ci-prob 0.9` draws
            save_figure(plot_curve(fit, {k: [v] for k, v in CHINCHILLA.items()}, ci_prob=CI_PROB),
                        args.out / "curve.png", overwrite=True)
            save_figure(plot_optimum(fit, budget=CHINCHILLA_COMPUTE, ci_prob=CI_PROB), args.out / "optimum.png",
                        overwrite=True)
        print(f"== {len(runs)} runs ==")
        print(summary.to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"beta 99% interval [{lo99:.4f}, {hi99:.4f}]  (Hoffmann: {expected['hoffmann_published']['beta']})  "
              f"divergences {div}")
        for k, c in checks.items():
            print(f"  {'PASS' if c['pass'] else 'FAIL'} {k}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    return 0 if all(f["all_pass"] for f in results["fits"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
