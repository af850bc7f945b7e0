"""``bayeslaw predict``: the mean law and a new run at target scales, from a saved fit."""

from __future__ import annotations

import argparse
import sys

from . import common as c

EPILOG = """example:
  bayeslaw predict my_fit --at N=70e9,D=1.4e12

more:
  bayeslaw predict my_fit --at N=70e9,C=5.76e23 --at N=1e12,C=1.2e26 --ci-prob 0.9 --format json

Names are the law's inputs (or the run table's own columns they came from, e.g. seen_examples=1e6 for a
fit made with --x seen_examples); for laws of N and D two of N, D, C suffice (C = k N D with the fit's k),
and all three must agree. --at-file targets.csv reads one target per row, columns named the same way.
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "predict", help="predict the loss at target scales from a saved fit",
                         description="Posterior of the mean law and of a new run at target scales, with the "
                                     "distance beyond the fitted range in decades.", epilog=EPILOG)
    c.add_fit_dir(p)
    c.add_at(p)
    c.add_ci_prob(p)
    c.add_seed(p, "seed of the new-run noise draws (default 0)")
    p.add_argument("--run", metavar="RUN_ID", help="learning-curve fits: predict this run's later checkpoints "
                                                   "(default: the fit's only run, else a fresh run)")
    c.add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.records import resolve_ci_prob
    from ..posterior.predict import predict

    ci_prob = resolve_ci_prob(args.ci_prob)
    targets = c.targets(args, required=True)
    fit = c.load_fit(args.fit_dir, verify=not args.no_verify)
    pred = predict(fit, targets, ci_prob=ci_prob, seed=args.seed, run=args.run)
    table = pred.table
    if args.format != "table":
        c.emit(table, args.format, pred.to_records(), {"law": fit.law.name, "ci_prob": ci_prob,
                                                       "loss_unit": fit.spec.loss_unit})
        return 0
    new = ("the run's next checkpoint, given its checkpoints so far" if fit.spec.data.run is not None
           or fit.spec.data.axis is not None else "the law plus run-to-run noise")
    print(f"law: {fit.law.name}   predictions with {c.pct(ci_prob)} equal-tailed intervals "
          f"(mean law = the fitted law; new run = {new}; observation model {fit.spec.likelihood})")
    print(f"loss in {fit.spec.loss_unit}")
    print(c.format_table(c.compact(table).rename(columns={"mean": "mean law", "new_run": "new run"})))
    note = c.extrapolation_note(table, assumes=fit.law.beyond)
    if note:
        print(note, file=sys.stderr)
    return 0
