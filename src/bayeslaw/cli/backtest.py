"""``bayeslaw backtest``: laws fitted on the smaller runs and scored on the larger ones (and LOO, LFO, LOGO)."""

from __future__ import annotations

import argparse
import warnings

from . import common as c

EPILOG = """example:
  bayeslaw backtest runs.csv --law chinchilla --law compute --by C

more:
  bayeslaw backtest runs.csv --law chinchilla --law kaplan --by C --cutoff 1e21 --format json
  bayeslaw backtest runs.csv --law power_law --x D --by D --holdout-top 0.3 --format csv
  bayeslaw backtest runs.csv --law chinchilla --law compute --lfo --group family

Each law is fitted with NUTS on the runs with the smaller scale (--by: N, D, C, x or a law's
input; the smallest 80% by default, or those at or below --cutoff) and scored on the larger,
held-out runs: elpd_test (held-out log predictive density, higher is better), rmsle (of the
new-run median), coverage and coverage_50 (held-out runs inside the --ci-prob and 50% new-run
intervals: about --ci-prob and 0.5 when calibrated) and crps (on log loss, lower is better).
Laws are ranked by elpd_test (rank 0 is the best).
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "backtest", help="fit laws on the smaller runs, score the larger held-out ones",
                         description="Extrapolation check: fit each law on the runs below a scale cutoff and score "
                                     "its predictions of the larger runs (held-out elpd, RMSLE, interval coverage, "
                                     "CRPS).", epilog=EPILOG)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run")
    p.add_argument("--law", action="append", metavar="NAME", help="a law to backtest (repeatable; see `bayeslaw laws`)")
    p.add_argument("--by", default=None, metavar="COLUMN",
                   help="size column to split on (default: the laws' own axis, e.g. D with --x D, when every law "
                        "has one input; else C)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--holdout-top", type=float, default=0.2, metavar="FRACTION",
                       help="test on this fraction of runs with the largest --by (default 0.2)")
    split.add_argument("--cutoff", type=float, default=None, metavar="VALUE",
                       help="train on runs with --by <= VALUE, test on the rest")
    c.add_likelihood(p)
    c.add_curvature(p)
    c.add_run(p)
    p.add_argument("--lfo", action="store_true",
                   help="also fit each law to all runs and score it by PSIS-LOO and by leave-future-out over "
                        "increasing --by (each run predicted from the smaller ones only)")
    p.add_argument("--lfo-min-train", type=float, default=0.5, metavar="FRACTION",
                   help="--lfo: the first forecast origin, as a fraction of the runs (default 0.5) or a count")
    p.add_argument("--group", metavar="COLUMN",
                   help="also score each law by leave-one-group-out over this column (e.g. family, task)")
    c.add_data_args(p)
    c.add_sampler_args(p, seed_help="random seed of every fit and of the new-run draws (default 0)")
    c.add_ci_prob(p, "new-run interval whose coverage is reported")
    c.add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.records import resolve_ci_prob
    from ..validation.backtest import BOOKKEEPING, backtest
    from ..validation.crossval import cross_validate

    if not args.law:
        raise c.UsageError("Give the laws to backtest, e.g. --law chinchilla --law compute (see `bayeslaw laws`).")
    ci_prob = resolve_ci_prob(args.ci_prob)
    data = dict(x=c.parse_x(args.x), y=args.y, flops_per_param_token=args.flops_per_token,
                **c.likelihood_kw(args.likelihood), **c.curvature_kw(args), **c.sampler_kwargs(args))
    c.setup_jax(args.num_chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = backtest(args.data, args.law, by=args.by, holdout_top=args.holdout_top, cutoff=args.cutoff,
                          groups=[args.group] if args.group else None, ci_prob=ci_prob, run=args.run,
                          progress_bar=c.progress(args), **data)
        cv = None
        if args.lfo or args.group:
            cv = cross_validate(args.data, args.law, by=result.by, lfo=args.lfo, min_train=args.lfo_min_train,
                                group=args.group, **data)
    c.emit_warnings(caught, args.quiet)
    n_train, n_test = len(result.train_runs), len(result.test_runs)
    if args.format == "json":
        out = {"data": str(args.data), "by": result.by, "cutoff": result.cutoff,
               "holdout_top": None if args.cutoff is not None else args.holdout_top,
               "likelihood": next(iter(result.fits.values())).spec.likelihood, "n_runs": n_train + n_test,
               "n_train": n_train, "n_test": n_test, "ci_prob": ci_prob, "criterion": "held-out elpd",
               "verdict": result.verdict, "models": result.to_records()}
        if cv is not None:
            out["cross_validation"] = cv.to_records()
        print(c.dump_json(out))
    elif args.format == "csv":
        print(result.table.to_csv(), end="")
        if cv is not None:
            print("")
            print(cv.table.to_csv(), end="")
    else:
        print(f"Backtest on {args.data}: trained on {n_train} runs with {result.by} <= {result.cutoff:.4g}, "
              f"tested on the {n_test} larger runs; best first")
        print("")
        print(c.format_table(result.table.drop(columns=list(BOOKKEEPING), errors="ignore")))
        print("")
        print(f"elpd_test: held-out log predictive density (higher is better); rmsle: of the new-run median; "
              f"coverage / coverage_50: share of held-out runs inside the {c.pct(ci_prob)} / 50% new-run intervals "
              f"(about {ci_prob:g} / 0.5 when calibrated); crps: on log loss (lower is better).")
        if result.verdict:
            print(f"warning: {result.verdict}")
        if cv is not None:
            print("")
            print("Each law fitted to all runs: PSIS-LOO (interpolation)"
                  + (f", leave-future-out over increasing {result.by}" if args.lfo else "")
                  + (f", leave-one-{args.group}-out" if args.group else "") + "; best first")
            print("")
            print(c.format_table(cv.table))
    return 0
