"""``bayeslaw compare``: laws (and likelihoods) fitted to the same runs, ranked by PSIS-LOO, and their stack."""

from __future__ import annotations

import argparse
import sys
import warnings

from . import common as c

EPILOG = """example:
  bayeslaw compare runs.csv --law chinchilla --law kaplan --law compute

more:
  bayeslaw compare runs.csv --law chinchilla --likelihood student_t --likelihood normal --format json
  bayeslaw compare runs.csv --law chinchilla --law compute --num-chains 2 --num-samples 500 --format csv
  bayeslaw compare runs.csv --law chinchilla --law compute --at N=70e9,D=1.4e12 --overlay overlay.png
  bayeslaw compare runs.csv --law chinchilla --law compute --plot elpd.svg --weights backtest --by C
  bayeslaw compare runs.csv --law chinchilla --law shared_exponent --method bb-pseudo-bma --ci-prob 0.9
  bayeslaw compare curves.csv --run run --x D --law power_law --law m3 --at D=1e10

Every law (and likelihood) is fitted to the same runs with NUTS and scored by PSIS-LOO
(arviz-stats). Runs with Pareto k above --pareto-k-max (0.7) are refitted exactly without
that run, so the reported elpd holds; the table says how many were. Weights by PSIS-LOO are
stacking weights and weights by a backtest pseudo-BMA+ weights (--method chooses another);
each comes with the --ci-prob
interval of its Bayesian-bootstrap distribution (1000 Dirichlet reweightings of the runs'
pointwise elpd). Models are named by law, or LAW/LIKELIHOOD when several likelihoods are
compared. With --at, each model's prediction is printed beside the stacked one (the mixture
of the models with those weights: by LOO, or with --weights backtest by the held-out density
of the runs with the largest --by when each model is refitted on the others). Learning curves
(--run) are ranked and weighed by that backtest: PSIS-LOO cannot score checkpoints of a run
that remembers its neighbours.
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "compare", help="compare laws (and likelihoods) on the same runs by PSIS-LOO",
                         description="Fit several laws (and likelihoods) to the same runs and rank them by "
                                     "PSIS-LOO: elpd_loo, its SE, the difference to the best and its SE, p_loo, "
                                     "weights with their Bayesian-bootstrap intervals, and Pareto-k diagnostics "
                                     "with exact refits.", epilog=EPILOG)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run")
    p.add_argument("--law", action="append", metavar="NAME", help="a law to compare (repeatable; see `bayeslaw laws`)")
    c.add_likelihood(p, repeatable=True)
    c.add_curvature(p)
    c.add_run(p)
    c.add_data_args(p)
    c.add_sampler_args(p, seed_help="random seed of every fit (default 0)")
    p.add_argument("--pareto-k-max", type=float, default=0.7,
                   help="runs with PSIS Pareto k above this are refitted exactly (default 0.7)")
    p.add_argument("--no-refit", action="store_true", help="keep PSIS values for high-k runs (faster, unreliable)")
    p.add_argument("--include-failed", action="store_true",
                   help="weigh fits that failed their diagnostic checks too (by default they get no weight)")
    c.add_at(p, "predict at this target with each model and with their stack")
    p.add_argument("--weights", choices=["auto", "loo", "backtest"], default="auto",
                   help="weights of the stack: by PSIS-LOO or by a backtest (each model refitted on the smaller "
                        "runs and scored on the larger ones); default auto: PSIS-LOO, or the backtest for learning "
                        "curves (--run), whose checkpoints PSIS-LOO cannot score")
    p.add_argument("--method", choices=["stacking", "bb-pseudo-bma", "pseudo-bma"], default=None,
                   help="how the weights are computed from the pointwise densities (names of arviz-stats "
                        "compare): stacking, bb-pseudo-bma (pseudo-BMA+: exp(elpd) averaged over "
                        "Bayesian-bootstrap replicates) or pseudo-bma; default stacking for PSIS-LOO weights, "
                        "bb-pseudo-bma for backtest weights")
    p.add_argument("--by", default=None, metavar="COLUMN",
                   help="--weights backtest: size column to split on (default: the laws' own axis for one-input "
                        "laws, else C)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--holdout-top", type=float, default=None, metavar="FRACTION",
                       help="--weights backtest: hold out this fraction of runs with the largest --by (default 0.2)")
    split.add_argument("--cutoff", type=float, default=None, metavar="VALUE",
                       help="--weights backtest: train on runs with --by <= VALUE")
    c.add_ci_prob(p, "intervals of the weights, --at and --overlay")
    p.add_argument("--plot", metavar="FILE", help="write the ELPD comparison plot (.png, .svg or .pdf)")
    p.add_argument("--overlay", metavar="FILE",
                   help="write one scaling-curve figure with every model's band and the stack's (.png, .svg or .pdf)")
    p.add_argument("--slice", default=None,
                   help="--overlay for laws of N and D: 'optimal' (default), 'N' or 'ratio=20', as for `bayeslaw plot`")
    c.add_overwrite(p, "--plot or --overlay file")
    c.add_format(p)
    p.set_defaults(func=run)


_SPLIT_NEEDS_BACKTEST = ("--by, --holdout-top and --cutoff choose the split of --weights backtest; add --weights "
                         "backtest or leave them out.")


def run(args: argparse.Namespace) -> int:
    from ..averaging.stack import stack
    from ..core.paths import check_output_file
    from ..core.records import resolve_ci_prob
    from ..validation.compare import compare, fit_models
    from ..validation.loo import exchangeable

    if args.slice is not None and args.overlay is None:
        raise c.UsageError("--slice applies to the --overlay figure; give --overlay FILE too.")
    split_args = args.by is not None or args.holdout_top is not None or args.cutoff is not None
    # without --run the rows are separate runs, which --weights auto weighs by PSIS-LOO: refuse before fitting
    if split_args and (args.weights == "loo" or (args.weights == "auto" and args.run is None)):
        raise c.UsageError(_SPLIT_NEEDS_BACKTEST)
    targets = c.targets(args)
    figs = (".png", ".svg", ".pdf")
    plot_out = check_output_file(args.plot, figs, flag="--plot", overwrite=args.overwrite) if args.plot else None
    overlay_out = (check_output_file(args.overlay, figs, flag="--overlay", overwrite=args.overwrite)
                   if args.overlay else None)
    if plot_out is not None and overlay_out is not None and plot_out.resolve() == overlay_out.resolve():
        raise c.UsageError(f"--plot and --overlay both name '{args.plot}'; give each figure its own file.")
    ci_prob = resolve_ci_prob(args.ci_prob, low=0.5 if overlay_out is not None else 0.0)
    c.setup_jax(args.num_chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        liks = {"likelihoods": args.likelihood} if args.likelihood else {}
        fits = fit_models(args.data, args.law or [], **liks, x=c.parse_x(args.x), y=args.y, run=args.run,
                          flops_per_param_token=args.flops_per_token, progress_bar=c.progress(args),
                          **c.curvature_kw(args), **c.sampler_kwargs(args))
        # learning curves: no PSIS-LOO (their checkpoints are not exchangeable); the backtest ranks and weighs them
        loo_valid = all(exchangeable(f) for f in fits.values())
        weights = ("loo" if loo_valid else "backtest") if args.weights == "auto" else args.weights
        if not loo_valid and (weights == "loo" or plot_out is not None):
            raise c.UsageError(f"{'--plot draws' if plot_out is not None else '--weights loo takes'} the PSIS-LOO "
                               "comparison, which learning-curve fits (--run) do not have: their checkpoints are "
                               "weighed by a backtest; leave it out (--overlay draws the bands).")
        if loo_valid and weights == "loo" and split_args:
            raise c.UsageError(_SPLIT_NEEDS_BACKTEST)
        how = {"method": args.method} if args.method else {}   # else the library's default for each source
        result = (compare(fits, **how, ci_prob=ci_prob, pareto_k_max=args.pareto_k_max,
                          refit=not args.no_refit, failed="include" if args.include_failed else "exclude")
                  if loo_valid else None)
    c.emit_warnings(caught, args.quiet)
    for name, r in (result.loo.items() if result is not None else ()):
        for d in r.refit_diagnostics:
            checks = ", ".join(x["check"] for x in d["diagnostics"])
            print(f"warning: {name}: the exact refit without run {d['run']} failed diagnostic checks ({checks}); "
                  "its elpd is less certain: raise --num-warmup/--num-samples.", file=sys.stderr)
    stk = pred = None
    if targets is not None or overlay_out is not None or weights == "backtest":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if weights == "backtest":
                stk = stack(fits, weights="backtest", **how, by=args.by,
                            holdout_top=0.2 if args.holdout_top is None else args.holdout_top, cutoff=args.cutoff,
                            ci_prob=ci_prob)
            else:
                stk = stack(result)
        c.emit_warnings(caught, args.quiet)
    if targets is not None:
        pred = stk.predict(targets, ci_prob=ci_prob, seed=args.seed)
    _figures(args, result, stk, targets, plot_out, overlay_out, ci_prob)
    if result is None:
        _render_backtest(args, fits, stk, pred, ci_prob)
    else:
        _render(args, result, stk, pred, ci_prob, weights)
    return 0


def _figures(args, result, stk, targets, plot_out, overlay_out, ci_prob) -> None:
    if plot_out is None and overlay_out is None:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.paths import staging
    from ..plots import plot_compare, plot_overlay, save_figure

    wrote = []
    with staging() as st:   # both figures or neither
        for out, name, make in ((plot_out, args.plot, lambda: plot_compare(result)),
                                (overlay_out, args.overlay,
                                 lambda: plot_overlay(stk, targets, slice=args.slice, ci_prob=ci_prob))):
            if out is not None:
                save_figure(make(), st.file(out))
                plt.close("all")
                wrote.append(name)
    if not args.quiet:
        for name in wrote:
            print(f"wrote {name}", file=sys.stderr)


def _render(args, result, stk, pred, ci_prob, weights) -> None:
    n_runs = int(next(iter(result.fits.values())).spec.data.n_runs)
    doc = {"data": str(args.data), "n_runs": n_runs, "criterion": "psis-loo", "method": result.method,
           "pareto_k_max": result.pareto_k_max, "refit": not args.no_refit, "models": result.to_records(),
           **({"stack": stk.describe()} if stk is not None else {})}
    if _machine_readable(args, doc, result.table, pred, ci_prob):
        return
    table = _with_weight_intervals(result.table.drop(columns=["rank"]), result.ci_prob)
    total, high = int(table["n_refitted"].sum()), int(table["n_pareto_k_high"].sum())
    print(f"PSIS-LOO on {n_runs} runs from {args.data}; best first; weights: {result.method}")
    print("")
    print(c.format_table(table))
    print("")
    print(f"weight [{c.pct(result.ci_prob)}]: the weight and the {c.pct(result.ci_prob)} equal-tailed interval of "
          f"its distribution over {len(result.weight_draws)} Bayesian-bootstrap replicates of the pointwise elpd.")
    if high:
        how = (f"{total} of them refitted exactly without that run, so their elpd holds"
               if not args.no_refit else "not refitted (--no-refit): their elpd is unreliable")
        print(f"Pareto k > {result.pareto_k_max:g}: {high} run(s) in all; {how}.")
    else:
        print(f"Pareto k <= {result.pareto_k_max:g} for every run: PSIS-LOO is reliable, nothing refitted.")
    print("elpd_diff: elpd_loo minus the best's; dse: its standard error (|elpd_diff| > 2 dse: a clear difference).")
    if stk is not None and weights == "backtest":
        print("")
        _print_backtest_weights(stk)
    if pred is not None:
        _print_stack_predictions(pred, stk, ci_prob)


def _print_backtest_weights(stk, rows: str = "runs") -> None:
    ci = stk.weight_intervals
    print(f"{stk.weighting} weights by backtest (each model refitted on the {rows} with {stk.backtest.by} <= "
          f"{stk.backtest.cutoff:.4g}, scored on the {len(stk.backtest.test_runs)} larger {rows}; "
          f"{c.pct(stk.ci_prob)} bootstrap intervals): "
          + ", ".join(f"{n} {w:.3g} [{ci.loc[n, 'weight_lower']:.2f}, {ci.loc[n, 'weight_upper']:.2f}]"
                      for n, w in stk.weights.items()))


def _render_backtest(args, fits, stk, pred, ci_prob) -> None:
    """Learning curves: the backtest behind the weights is the ranking (PSIS-LOO cannot score checkpoints)."""
    from ..validation.backtest import BOOKKEEPING

    bt = stk.backtest
    n_rows = int(next(iter(fits.values())).spec.data.n_runs)
    doc = {"data": str(args.data), "n_rows": n_rows, "criterion": "backtest", "method": stk.weighting,
           "by": bt.by, "cutoff": float(bt.cutoff), "n_train": len(bt.train_runs), "n_test": len(bt.test_runs),
           "models": bt.to_records(), "stack": stk.describe()}
    if _machine_readable(args, doc, bt.table, pred, ci_prob):
        return
    print(f"Backtest on {n_rows} checkpoints from {args.data}: each model refitted on those with {bt.by} <= "
          f"{bt.cutoff:.4g} and scored on the {len(bt.test_runs)} later ones given their run; best first "
          "(learning curves: PSIS-LOO cannot score checkpoints)")
    print("")
    print(c.format_table(bt.table.drop(columns=list(BOOKKEEPING), errors="ignore")))
    print("")
    print("elpd_test: held-out log predictive density (higher is better); rmsle: of the new-run median; coverage / "
          "coverage_50: share of held-out checkpoints inside the new-run intervals; crps: on log loss.")
    _print_backtest_weights(stk, "checkpoints")
    if pred is not None:
        _print_stack_predictions(pred, stk, ci_prob)


def _machine_readable(args, doc, table, pred, ci_prob) -> bool:
    """``--format json`` (``doc`` plus the predictions) or ``csv`` (``table``, then the predictions); False for the
    table format, which the caller prints."""
    if args.format == "json":
        if pred is not None:
            doc["predictions"] = {"ci_prob": ci_prob, "seed": args.seed, "results": _stack_records(pred)}
        print(c.dump_json(doc))
        return True
    if args.format == "csv":
        print(table.to_csv(), end="")
        if pred is not None:
            print("")
            print(_stack_table(pred).to_csv(index=False), end="")
        return True
    return False


def _with_weight_intervals(table, ci_prob: float):
    """The weight and its interval in one column, 'weight [P%]': '0.65 [0.31, 0.88]'."""
    out = table.drop(columns=["weight_lower", "weight_upper"])
    out["weight"] = [f"{w:.3g} [{lo:.2f}, {hi:.2f}]" for w, lo, hi in
                     zip(table["weight"], table["weight_lower"], table["weight_upper"])]
    return out.rename(columns={"weight": f"weight [{c.pct(ci_prob)}]"})


def _stack_records(pred) -> list[dict]:
    """The stacked prediction's records, each with every model's own prediction under ``models``."""
    recs = pred.to_records()
    members = {n: p.to_records() for n, p in pred.members.items()}
    for i, rec in enumerate(recs):
        rec["models"] = {n: {k: r[i][k] for k in ("mean_law", "new_run", "extrapolation_decades")}
                         for n, r in members.items()}
    return recs


def _stack_table(pred):
    """One row per target and model (the stack last): model, weight, the inputs, the prediction columns."""
    import pandas as pd

    rows = []
    for name, p in [*pred.members.items(), ("stack", pred)]:
        t = p.table.reset_index()
        t.insert(1, "weight", 1.0 if name == "stack" else float(pred.weights[name]))
        t.insert(1, "model", name)
        rows.append(t)
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["target"], kind="stable").reset_index(drop=True)


def _print_stack_predictions(pred, stk, ci_prob: float) -> None:
    import numpy as np

    how = {"loo": f"{stk.weighting} by PSIS-LOO", "backtest": f"{stk.weighting} by backtest"}.get(stk.method,
                                                                                                  stk.method)
    print("")
    print(f"predictions with {c.pct(ci_prob)} equal-tailed intervals: each model, and their stack (the mixture "
          f"with the weights of {how}; {stk.num_draws} draws)")
    table = _stack_table(pred)
    inputs = [col for col in pred.inputs if col in table.columns]
    for i, part in table.groupby("target", sort=True):
        where = ", ".join(f"{col}={part[col].iloc[-1]:.4g}" for col in inputs if np.isfinite(part[col].iloc[-1]))
        print(f"\ntarget {i}: {where}")
        shown = c.compact(part.drop(columns=["target", *inputs]).set_index("model"))
        print(c.format_table(shown.rename(columns={"mean": "mean law", "new_run": "new run"})))
        far = part.iloc[-1].filter(like="beyond_").abs()
        if (far > 0).any():
            print(f"note: {far.max():.2f} decades beyond the fitted range; the intervals assume the laws hold "
                  "that far.", file=sys.stderr)
