"""Chinchilla refit: the Chinchilla law on Epoch AI's digitisation of Hoffmann et al.'s runs.

Fits ``L = E + A/N^alpha + B/D^beta`` with the default Student-t likelihood on log loss
to (a) all 245 digitised runs and (b) the 240 runs Epoch kept, and checks the posterior
against Epoch's refit (expected.json). Writes only under --out:

- ``summary_245.csv``, ``summary_240.csv``: parameter tables (mean, sd, 90% HDI, R-hat, ESS)
- ``results.json``: the numbers, 99% intervals of beta, checks against expected.json, versions
- ``fit_245/``: the saved fit (``bayeslaw.load`` it)

Usage::

    python case_studies/chinchilla_refit/run.py --out case_studies/chinchilla_refit/results
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHINCHILLA_COMPUTE = 5.76e23  # FLOPs of Chinchilla (70B parameters, 1.4T tokens), Hoffmann et al. Table 3


def _tokens_per_param(p: dict, C: float, k: float = 6.0) -> float:
    """Closed-form D*/N* of the Chinchilla law at compute C for point estimates p."""
    a, b = p["alpha"]["value"], p["beta"]["value"]
    A, B = p["A"]["value"], p["B"]["value"]
    G = (a * A / (b * B)) ** (1 / (a + b))
    N = G * (C / k) ** (b / (a + b))
    return (C / k) / N / N


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)

    import numpyro

    numpyro.set_host_device_count(max(4, args.num_chains))
    import numpy as np
    import pandas as pd

    import bayeslaw
    from bayeslaw.result import versions

    expected = json.loads((HERE / "expected.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(bayeslaw.example_data_path())
    results: dict = {"settings": vars(args) | {"out": str(args.out)}, "versions": versions(), "fits": {}}
    for label, frame in (("245", table), ("240", table[table.epoch_excluded == 0])):
        runs = bayeslaw.load_runs(frame.drop(columns="epoch_excluded"))
        fit = bayeslaw.fit(runs, "chinchilla", num_warmup=args.num_warmup, num_samples=args.num_samples,
                           num_chains=args.num_chains, seed=args.seed)
        summary = fit.summary()
        summary.to_csv(args.out / f"summary_{label}.csv", float_format="%.6g")
        beta = fit.draws("beta")
        lo99, hi99 = np.quantile(beta, [0.005, 0.995])
        div = int(fit.idata["sample_stats"]["diverging"].sum())
        checks = {}
        for name, tol in expected["acceptance"]["tolerance_2se"].items():
            ref = expected["epoch_refit"][name]["value"]
            mean = float(summary.loc[name, "mean"])
            checks[f"{name}_mean_within_epoch_2se"] = {"mean": mean, "epoch": ref, "tol": tol,
                                                       "pass": abs(mean - ref) <= tol}
        hb = expected["hoffmann_published"]["beta"]
        checks["hoffmann_beta_outside_99"] = {"interval": [float(lo99), float(hi99)], "hoffmann": hb,
                                              "pass": not (lo99 <= hb <= hi99)}
        checks["r_hat_max"] = {"value": float(summary["r_hat"].max()), "pass": float(summary["r_hat"].max()) <= 1.01}
        checks["divergences"] = {"value": div, "pass": div == 0}
        results["fits"][label] = {
            "n_runs": len(runs),
            "summary": {k: {c: float(v) for c, v in row.items()} for k, row in summary.iterrows()},
            "beta_99_interval": [float(lo99), float(hi99)],
            "divergences": div,
            "wall_seconds": fit.spec["sampler"]["wall_seconds"],
            "diagnostics": fit.diagnostics,
            "checks": checks,
            "all_pass": all(c["pass"] for c in checks.values()),
        }
        if label == "245":
            fit.save(args.out / "fit_245", overwrite=True)
            opt = fit.optimal_allocation(C=CHINCHILLA_COMPUTE).to_records()[0]
            pred = fit.predict(N=70e9, D=1.4e12).to_records()[0]
            results["decisions"] = {"optimal_allocation_5.76e23": opt, "chinchilla_70B_1.4T": pred,
                                    "epoch_point_estimate_tokens_per_param": _tokens_per_param(
                                        expected["epoch_refit"], CHINCHILLA_COMPUTE),
                                    "hoffmann_point_estimate_tokens_per_param": _tokens_per_param(
                                        {k: {"value": v} for k, v in expected["hoffmann_published"].items()},
                                        CHINCHILLA_COMPUTE)}
            tpp = opt["tokens_per_param"]
            print(f"tokens per parameter at C = 5.76e23: {tpp['median']:.1f} [{tpp['lower']:.1f}, {tpp['upper']:.1f}] "
                  f"(Epoch's point estimate: {results['decisions']['epoch_point_estimate_tokens_per_param']:.1f})")
            ml = pred["mean_law"]
            print(f"loss of Chinchilla (70B, 1.4T): {ml['median']:.3f} [{ml['lower']:.3f}, {ml['upper']:.3f}]")
        print(f"== {len(runs)} runs ==")
        print(summary.to_string(float_format=lambda v: f"{v:.4g}"))
        print(f"beta 99% interval [{lo99:.4f}, {hi99:.4f}]  (Hoffmann: {hb})  divergences {div}")
        for k, c in checks.items():
            print(f"  {'PASS' if c['pass'] else 'FAIL'} {k}")
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    return 0 if all(f["all_pass"] for f in results["fits"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
