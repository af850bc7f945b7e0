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
   parameter at 5.76e23 FLOPs;
4. the weightings judged where they matter, on runs no weight has seen: the laws' fits on the
   backtest's training runs are weighed by LOO stacking, LOO pseudo-BMA+, backtest stacking and
   backtest pseudo-BMA+ (an inner backtest inside the training runs), each with the 90% interval of
   its Bayesian-bootstrap distribution, and each stack scores the held-out runs (log score,
   coverage of the 90% and 50% new-run intervals, CRPS), equal weights as the reference.

Intervals are 90% (``ci_prob=0.9``). Writes only under --out: CSV tables, ``results.json`` (with
the verdicts against ``expected.json``) and the figures ``compare.png`` (ELPD comparison) and
``overlay.png`` (every law's band and the stack's along the compute-optimal frontier); ``compare.png``'s labels
carry the LOO stacking weights with their 90% bootstrap intervals.

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
CI_PROB = 0.9
LAWS = ("chinchilla", "kaplan", "compute", "shared_exponent")
CHINCHILLA = {"N": 70e9, "D": 1.4e12}
BUDGET = 5.76e23
PARAMS = ("E", "A", "B", "alpha", "beta", "sigma")


def verdicts(results: dict, expected: dict) -> dict:
    """The README's statements, checked on this run's numbers (rules and tolerances from expected.json)."""
    tol = expected["tolerances"]
    out = {}
    lik = {r["model"]: r for r in results["likelihoods"]["loo"]}
    if {"student_t", "normal"} <= set(lik):
        d, se = -lik["normal"]["elpd_diff"], lik["normal"]["dse"]
        out["student_t_beats_normal_by_2se"] = {"elpd_diff": d, "dse": se, "pass": d > tol["decisive_se"] * se}
    loo = {r["model"]: r for r in results["laws_loo"]}
    bt = {r["model"]: r for r in results["laws_backtest"]}
    lfo = {r["law"]: r for r in results.get("laws_lfo", [])}
    if {"chinchilla", "shared_exponent"} <= set(loo):
        a, b = loo["chinchilla"], loo["shared_exponent"]
        diff = a["elpd_loo"] - b["elpd_loo"]
        se = b["dse"] if b["rank"] > a["rank"] else a["dse"]
        out["chinchilla_shared_exponent_tied_on_loo"] = {"elpd_diff": diff, "dse": se,
                                                         "pass": abs(diff) < tol["tie_se"] * se}
    if {"chinchilla", "shared_exponent"} <= set(loo) and lfo:
        out["shared_exponent_ahead_in_backtest_and_lfo"] = {
            "backtest": bt["shared_exponent"]["elpd_test"] - bt["chinchilla"]["elpd_test"],
            "lfo": lfo["shared_exponent"]["elpd"] - lfo["chinchilla"]["elpd"],
            "pass": bt["shared_exponent"]["rank"] < bt["chinchilla"]["rank"]
            and lfo["shared_exponent"]["elpd"] > lfo["chinchilla"]["elpd"]}
    if "kaplan" in loo and lfo:
        last = len(loo) - 1
        out["kaplan_last_by_every_criterion"] = {
            "pass": loo["kaplan"]["rank"] == last and bt["kaplan"]["rank"] == last
            and lfo["kaplan"]["elpd"] == min(r["elpd"] for r in lfo.values())}
    if {"compute", "chinchilla"} <= set(loo):
        behind = loo["chinchilla"]["elpd_loo"] - loo["compute"]["elpd_loo"]
        out["compute_behind_on_loo_ahead_of_chinchilla_in_backtest"] = {
            "pass": behind > tol["decisive_se"] * loo["compute"]["dse"]
            and bt["compute"]["elpd_test"] > bt["chinchilla"]["elpd_test"]}
    return out


#: The weighting the package uses by default (``bayeslaw.stack(fits)``), the reference of the paired differences.
REFERENCE_WEIGHTING = "LOO stacking"


def weighting_heldout(bayeslaw, runs, bt, holdout_top: float, args) -> list[dict]:
    """Each weighting computed on the backtest's training runs alone, its stack scored on the held-out runs.

    The laws' fits on the training runs (the backtest's) are weighed by LOO stacking, LOO pseudo-BMA+ and,
    from an inner backtest (each refitted on the smaller 1 - holdout_top of the training runs and scored on
    the rest), backtest stacking and backtest pseudo-BMA+; equal weights are the reference. Each stack's
    predictive then scores the held-out runs: log score (and its paired difference to LOO stacking with the
    SE of that difference over the held-out runs), coverage of the 90% and 50% new-run intervals, CRPS.
    """
    import numpy as np

    fits = bt.fits
    test = runs.subset(~runs.frame.index.isin(bt.train_runs))
    cmp = bayeslaw.compare(fits, refit=not args.no_refit, ci_prob=CI_PROB)
    inner = bayeslaw.backtest_fits(fits, by="C", holdout_top=holdout_top, ci_prob=CI_PROB, seed=args.seed)
    stacks = {"LOO stacking": bayeslaw.stack(cmp, method="stacking"),
              "LOO pseudo-BMA+": bayeslaw.stack(cmp, method="bb-pseudo-bma"),
              "backtest stacking": bayeslaw.stack(fits, inner, method="stacking", ci_prob=CI_PROB),
              "backtest pseudo-BMA+": bayeslaw.stack(fits, inner, method="bb-pseudo-bma", ci_prob=CI_PROB),
              "equal weights": bayeslaw.stack(fits, [1.0] * len(fits))}
    scores = {name: s.score(test, ci_prob=CI_PROB, seed=args.seed) for name, s in stacks.items()}
    ref = scores[REFERENCE_WEIGHTING]["pointwise"]["elpd"].to_numpy()
    rows = []
    for name, s in stacks.items():
        sc = scores[name]
        d = sc["pointwise"]["elpd"].to_numpy() - ref
        ci = s.weight_intervals
        weights = {n: {"weight": float(w)} | ({} if ci is None else {"lower": float(ci.loc[n, "weight_lower"]),
                                                                    "upper": float(ci.loc[n, "weight_upper"])})
                   for n, w in s.weights.items()}
        rows.append({"holdout_top": holdout_top, "weighting": name, "n_train": len(bt.train_runs),
                     "n_test": len(test), "n_inner_test": len(inner.test_runs), "elpd_test": sc["elpd_test"],
                     "elpd_diff": float(d.sum()), "dse": float(np.sqrt(d.size * np.var(d, ddof=1))),
                     "coverage_90": sc["coverage"], "coverage_50": sc["coverage_50"], "crps": sc["crps"],
                     "rmsle": sc["rmsle"],
                     **{f"w_{n}": (f"{v['weight']:.3f}" + (f" [{v['lower']:.2f}, {v['upper']:.2f}]" if "lower" in v
                                                           else "")) for n, v in weights.items()},
                     "weights": weights})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--num-samples", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--num-warmup", type=int, default=1000, help="warmup iterations per chain (default 1000)")
    p.add_argument("--num-chains", type=int, default=4, help="NUTS chains per fit (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--laws", default=",".join(LAWS),
                   help="laws to rank (at least two; default: " + ",".join(LAWS) + ")")
    p.add_argument("--holdout-top", type=float, default=0.2, help="backtest: test on this top fraction by C")
    p.add_argument("--lfo-min-train", type=float, default=0.8, help="LFO: first forecast origin, a fraction of runs")
    p.add_argument("--subset", type=int, default=1, metavar="K",
                   help="fit every K-th run only (a quick check of the pipeline, not the study; default 1: all 245)")
    p.add_argument("--no-refit", action="store_true",
                   help="LOO: keep the PSIS values of runs with Pareto k > 0.7 instead of refitting (a quick check)")
    p.add_argument("--no-lfo", action="store_true", help="skip leave-future-out (a quick check)")
    p.add_argument("--no-weighting", action="store_true",
                   help="skip judging the weightings on the held-out runs (a quick check)")
    p.add_argument("--weighting-holdouts", default="0.1,0.2,0.3", metavar="F,F,...",
                   help="weightings: the top fractions by C held out, one backtest each (default 0.1,0.2,0.3; "
                        "--holdout-top's is the backtest above)")
    p.add_argument("--out", type=Path, required=True, help="folder for the results (created; nothing else is written)")
    args = p.parse_args(argv)
    laws = [law.strip() for law in args.laws.split(",") if law.strip()]
    if len(set(laws)) < 2:
        p.error(f"--laws needs at least two laws; got {args.laws!r}")

    import numpyro

    numpyro.set_host_device_count(max(4, args.num_chains))  # chains in parallel (before JAX starts)
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd

    import bayeslaw
    from bayeslaw.inference.store import versions
    from bayeslaw.plots import plot_compare, plot_overlay, save_figure

    expected = json.loads((HERE / "expected.json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    path = bayeslaw.example_data_path()
    runs = bayeslaw.load_runs(path) if args.subset <= 1 else bayeslaw.load_runs(pd.read_csv(path).iloc[::args.subset])
    # every fit and backtest below: the plain law, as in the committed results (made before curvature="auto"
    # became the default, 2026-12-03)
    sampler = {"num_warmup": args.num_warmup, "num_samples": args.num_samples, "num_chains": args.num_chains,
               "seed": args.seed, "curvature": False}
    results: dict = {"settings": vars(args) | {"out": str(args.out), "ci_prob": CI_PROB}, "versions": versions(),
                     "n_runs": len(runs)}
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
    refit = not args.no_refit
    lik_cmp = timed("LOO likelihoods", lambda: bayeslaw.compare(lik_fits, refit=refit, ci_prob=CI_PROB))
    lik_cmp.table.to_csv(args.out / "likelihoods_loo.csv")
    rows = []
    for lik, f in lik_fits.items():
        s = f.summary(ci_prob=CI_PROB, var_names=list(PARAMS))
        for name in PARAMS:
            d = f.draws(name)
            rows.append({"likelihood": lik, "param": name, "mean": float(d.mean()), "sd": float(d.std()),
                         "q05": float(np.quantile(d, 0.05)), "q95": float(np.quantile(d, 0.95)),
                         "r_hat": float(s.loc[name, "r_hat"])})
    pd.DataFrame(rows).to_csv(args.out / "likelihoods_posteriors.csv", index=False)
    results["likelihoods"] = {"loo": lik_cmp.to_records(), "posteriors": rows,
                              "diagnostics": {k: [c["check"] for c in f.diagnostics] for k, f in lik_fits.items()}}

    # 2. laws -------------------------------------------------------------------------------
    fits = {law: lik_fits["student_t"] if law == "chinchilla" else
            timed(f"fit {law}", lambda law=law: bayeslaw.fit(runs, law, **sampler)) for law in laws}
    results["laws_diagnostics"] = {k: [c["check"] for c in f.diagnostics] for k, f in fits.items()}
    cmp = timed("LOO laws", lambda: bayeslaw.compare(fits, refit=refit, ci_prob=CI_PROB))
    cmp.table.to_csv(args.out / "laws_loo.csv")
    results["laws_loo"] = cmp.to_records()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bt = timed("backtest", lambda: bayeslaw.backtest(runs, laws, by="C", holdout_top=args.holdout_top,
                                                         ci_prob=CI_PROB, **sampler))
    bt.table.to_csv(args.out / "laws_backtest.csv")
    bt.pointwise.to_csv(args.out / "laws_backtest_pointwise.csv", index=False)
    results["laws_backtest"] = bt.to_records()
    results["backtest_warnings"] = [str(w.message) for w in caught]

    if not args.no_lfo:
        lfo_rows = []
        for law, f in fits.items():
            cv = timed(f"LFO {law}", lambda f=f: bayeslaw.leave_future_out(f, by="C", min_train=args.lfo_min_train))
            lfo_rows.append({"law": law, **cv.summary()})
        lfo = pd.DataFrame(lfo_rows).sort_values("elpd", ascending=False)
        lfo["elpd_diff"] = lfo["elpd"] - lfo["elpd"].max()
        lfo.to_csv(args.out / "laws_lfo.csv", index=False)
        results["laws_lfo"] = lfo.to_dict(orient="records")

    # 3. stacked predictive ----------------------------------------------------------------------
    stack = bayeslaw.stack(cmp)  # the laws' fits with the comparison's LOO stacking weights
    pred_rows = []
    for name, obj in {**fits, "stack (LOO weights)": stack}.items():
        r = obj.predict(**CHINCHILLA, ci_prob=CI_PROB).to_records()[0]
        pred_rows.append({"model": name, "mean_law_median": r["mean_law"]["median"],
                          "mean_law_lower": r["mean_law"]["lower"], "mean_law_upper": r["mean_law"]["upper"],
                          "new_run_lower": r["new_run"]["lower"], "new_run_upper": r["new_run"]["upper"]})
    pd.DataFrame(pred_rows).to_csv(args.out / "prediction_chinchilla_70B_1.4T.csv", index=False)
    results["prediction_chinchilla"] = pred_rows
    nd = {k: v for k, v in fits.items() if tuple(v.law.inputs) == ("N", "D")}
    opt_models = dict(nd)
    if len(nd) > 1:
        opt_models["stack of the N, D laws (LOO weights)"] = nd_stack = bayeslaw.stack(nd, weights="loo", refit=refit)
        results["nd_stack_weights"] = {k: float(v) for k, v in nd_stack.weights.items()}
    opt_rows = []
    for name, obj in opt_models.items():
        q = obj.optimal_allocation(C=BUDGET, ci_prob=CI_PROB).to_records()[0]["tokens_per_param"]
        opt_rows.append({"model": name, "tokens_per_param_median": q["median"], "lower": q["lower"],
                         "upper": q["upper"]})
    pd.DataFrame(opt_rows).to_csv(args.out / "tokens_per_param_5.76e23.csv", index=False)
    results["tokens_per_param"] = opt_rows
    results["stack_weights"] = {k: float(v) for k, v in stack.weights.items()}

    # 4. weights judged on held-out runs ------------------------------------------------------
    if not args.no_weighting:
        rows, warned = [], []
        for h in [float(v) for v in args.weighting_holdouts.split(",") if v.strip()]:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                split = bt if h == args.holdout_top else timed(
                    f"backtest top {h:g}", lambda h=h: bayeslaw.backtest(runs, laws, by="C", holdout_top=h,
                                                                        ci_prob=CI_PROB, **sampler))
                rows += timed(f"weightings top {h:g}", lambda h=h, split=split: weighting_heldout(
                    bayeslaw, runs, split, h, args))
            warned += [f"top {h:g}: {w.message}" for w in caught]
        results["weighting_heldout"], results["weighting_warnings"] = rows, warned
        pd.DataFrame([{k: v for k, v in r.items() if k != "weights"} for r in rows]).to_csv(
            args.out / "weighting_heldout.csv", index=False)

    # figures: what `bayeslaw compare ... --at N=70e9,D=1.4e12 --ci-prob 0.9 --plot --overlay` draws
    save_figure(plot_compare(cmp), args.out / "compare.png", overwrite=True)
    save_figure(plot_overlay(stack, {k: [v] for k, v in CHINCHILLA.items()}, ci_prob=CI_PROB),
                args.out / "overlay.png", overwrite=True)

    results["verdicts"] = verdicts(results, expected)
    results["timings_s"] = timings
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=float))
    print(json.dumps({k: results[k] for k in ("laws_lfo", "stack_weights", "verdicts") if k in results}, indent=1,
                     default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
