"""Which law, and which likelihood, do the Chinchilla runs support? LOO, backtest, leave-future-out, stacking.

On the bundled Chinchilla runs (245, Epoch AI's digitisation of Hoffmann et al. 2022):

1. likelihood: the Chinchilla law with a Student-t vs a Normal likelihood on log loss, by PSIS-LOO
   (exact refits for runs with Pareto k > 0.7), and both posteriors side by side;
2. laws: ``chinchilla``, ``kaplan``, ``compute`` and ``shared_exponent`` (Student-t) ranked by
   - PSIS-LOO (interpolation),
   - a backtest that fits the 80% smallest-compute runs and scores the 20% largest,
   - leave-future-out over increasing compute (PSIS-LFO, exact refits where PSIS fails);
3. the stacked predictive (LOO stacking weights) next to each law, at Chinchilla's own scale
   (70B parameters, 1.4T tokens) and, for the laws of N and D, the compute-optimal tokens per
   parameter at 5.76e23 FLOPs.

Writes CSV tables and ``results.json`` under --out. The figures are made by the CLI (README).

Usage::

    python case_studies/law_comparison/run.py --out case_studies/law_comparison/results
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAWS = ("chinchilla", "kaplan", "compute", "shared_exponent")
CHINCHILLA = {"N": 70e9, "D": 1.4e12}
BUDGET = 5.76e23


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--holdout-top", type=float, default=0.2)
    p.add_argument("--lfo-min-train", type=float, default=0.8)
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)

    import numpyro

    numpyro.set_host_device_count(max(4, args.num_chains))
    import numpy as np
    import pandas as pd

    import bayeslaw
    from bayeslaw.result import versions

    args.out.mkdir(parents=True, exist_ok=True)
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    sampler = dict(num_warmup=args.num_warmup, num_samples=args.num_samples, num_chains=args.num_chains,
                   seed=args.seed)
    results: dict = {"settings": vars(args) | {"out": str(args.out)}, "versions": versions(), "n_runs": len(runs)}
    timings = {}

    def timed(label, f):
        t0 = time.perf_counter()
        out = f()
        timings[label] = round(time.perf_counter() - t0, 1)
        print(f"{label}: {timings[label]} s", flush=True)
        return out

    # 1. likelihoods ------------------------------------------------------------------------
    lik_fits = {lik: timed(f"fit chinchilla/{lik}", lambda lik=lik: bayeslaw.fit(runs, "chinchilla", likelihood=lik,
                                                                                    **sampler))
                for lik in ("student_t", "normal")}
    lik_cmp = timed("LOO likelihoods", lambda: bayeslaw.compare(lik_fits))
    lik_cmp.table.to_csv(args.out / "likelihoods_loo.csv")
    rows = []
    for lik, f in lik_fits.items():
        s = f.summary(var_names=["E", "A", "B", "alpha", "beta", "sigma"])
        for name in ("E", "A", "B", "alpha", "beta", "sigma"):
            d = f.draws(name)
            rows.append({"likelihood": lik, "param": name, "mean": float(d.mean()), "sd": float(d.std()),
                         "q05": float(np.quantile(d, 0.05)), "q95": float(np.quantile(d, 0.95)),
                         "r_hat": float(s.loc[name, "r_hat"])})
    pd.DataFrame(rows).to_csv(args.out / "likelihoods_posteriors.csv", index=False)
    results["likelihoods"] = {"loo": lik_cmp.to_records(), "posteriors": rows,
                              "diagnostics": {k: [c["check"] for c in f.diagnostics] for k, f in lik_fits.items()}}

    # 2. laws -------------------------------------------------------------------------------
    fits = {"chinchilla": lik_fits["student_t"]}
    for law in LAWS[1:]:
        fits[law] = timed(f"fit {law}", lambda law=law: bayeslaw.fit(runs, law, **sampler))
    results["laws_diagnostics"] = {k: [c["check"] for c in f.diagnostics] for k, f in fits.items()}
    cmp = timed("LOO laws", lambda: bayeslaw.compare(fits))
    cmp.table.to_csv(args.out / "laws_loo.csv")
    results["laws_loo"] = cmp.to_records()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bt = timed("backtest", lambda: bayeslaw.backtest(runs, list(LAWS), by="C", holdout_top=args.holdout_top,
                                                         **sampler))
    bt.table.to_csv(args.out / "laws_backtest.csv", index=False)
    bt.pointwise.to_csv(args.out / "laws_backtest_pointwise.csv", index=False)
    results["laws_backtest"] = bt.to_records()
    results["backtest_warnings"] = [str(w.message) for w in caught]

    lfo_rows = []
    for law, f in fits.items():
        cv = timed(f"LFO {law}", lambda f=f: bayeslaw.leave_future_out(f, by="C", min_train=args.lfo_min_train))
        lfo_rows.append({"law": law, **cv.to_record()})
    lfo = pd.DataFrame(lfo_rows).sort_values("elpd", ascending=False)
    lfo["elpd_diff"] = lfo["elpd"] - lfo["elpd"].max()
    lfo.to_csv(args.out / "laws_lfo.csv", index=False)
    results["laws_lfo"] = lfo.to_dict(orient="records")

    # 3. stacked predictive ----------------------------------------------------------------------
    stack = bayeslaw.stack(fits, weights="loo")
    pred_rows = []
    for name, obj in {**fits, "stack (LOO weights)": stack}.items():
        r = obj.predict(**CHINCHILLA).to_records()[0]
        pred_rows.append({"model": name, "mean_law_median": r["mean_law"]["median"],
                          "mean_law_lower": r["mean_law"]["lower"], "mean_law_upper": r["mean_law"]["upper"],
                          "new_run_lower": r["new_run"]["lower"], "new_run_upper": r["new_run"]["upper"]})
    pd.DataFrame(pred_rows).to_csv(args.out / "prediction_chinchilla_70B_1.4T.csv", index=False)
    results["prediction_chinchilla"] = pred_rows
    nd = {k: v for k, v in fits.items() if tuple(v.law.inputs) == ("N", "D")}
    nd_stack = bayeslaw.stack(nd, weights="loo")
    opt_rows = []
    for name, obj in {**nd, "stack of the N, D laws (LOO weights)": nd_stack}.items():
        q = obj.optimal_allocation(C=BUDGET).to_records()[0]["tokens_per_param"]
        opt_rows.append({"model": name, "tokens_per_param_median": q["median"], "lower": q["lower"],
                         "upper": q["upper"]})
    pd.DataFrame(opt_rows).to_csv(args.out / "tokens_per_param_5.76e23.csv", index=False)
    results["tokens_per_param"] = opt_rows
    results["stack_weights"] = {k: float(v) for k, v in stack.weights.items()}
    results["nd_stack_weights"] = {k: float(v) for k, v in nd_stack.weights.items()}
    results["timings_s"] = timings
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps({k: results[k] for k in ("laws_lfo", "stack_weights")}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
