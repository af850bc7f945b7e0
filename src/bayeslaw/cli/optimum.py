"""``bayeslaw optimum``: compute-optimal N*, D* at budgets, and compute to reach a loss, from a saved fit."""

from __future__ import annotations

import argparse
import sys

from . import common as c

EPILOG = """example:
  bayeslaw optimum my_fit --compute 5.76e23

more:
  bayeslaw optimum my_fit --compute 1e22 --compute 1e24 --loss 1.9 --format json
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "optimum", help="compute-optimal N*, D* and compute to reach a loss",
                         description="Posteriors of the compute-optimal model size N*, tokens D*, tokens per "
                                     "parameter and loss at given budgets (C = k N D), and of the compute needed "
                                     "to reach a loss.", epilog=EPILOG)
    c.add_fit_dir(p)
    p.add_argument("--compute", action="append", type=float, metavar="FLOPS", help="training budget (repeatable)")
    p.add_argument("--loss", action="append", type=float, help="target loss: compute needed to reach it (repeatable)")
    p.add_argument("--flops-per-token", type=float, default=None, metavar="K",
                   help="k in C = k N D (default: the fit's, 6)")
    c.add_ci_prob(p)
    c.add_format(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.records import resolve_ci_prob
    from ..posterior.decide import compute_for_loss, optimal_allocation

    if not args.compute and not args.loss:
        raise c.UsageError("Give a compute budget with --compute (e.g. --compute 5.76e23) or a target loss with "
                           "--loss.")
    ci_prob = resolve_ci_prob(args.ci_prob)
    fit = c.load_fit(args.fit_dir, verify=not args.no_verify)
    out: dict = {"law": fit.law.name, "ci_prob": ci_prob, "loss_unit": fit.spec.loss_unit}
    tables = []
    if args.compute:
        dec = optimal_allocation(fit, args.compute, flops_per_param_token=args.flops_per_token, ci_prob=ci_prob)
        out["optimal_allocation"] = dec.to_records()
        tables.append(("compute-optimal allocation (C = k N D)", dec.table))
    if args.loss:
        dec = compute_for_loss(fit, args.loss, flops_per_param_token=args.flops_per_token, ci_prob=ci_prob)
        out["compute_for_loss"] = dec.to_records()
        tables.append(("compute to reach a loss (at the optimal allocation)", dec.table))
    if args.format == "json":
        print(c.dump_json(out))
    elif args.format == "csv":
        for _, t in tables:
            print(t.to_csv(), end="")
    else:
        print(f"law: {fit.law.name}   posterior medians with {c.pct(ci_prob)} equal-tailed intervals")
        print(f"loss in {fit.spec.loss_unit}")
        for title, t in tables:
            print(f"\n{title}:")
            print(c.format_table(c.compact(t.drop(columns=[col for col in t.columns if col.startswith("beyond_")]))))
            note = c.extrapolation_note(t, "budget" if "N_opt_median" in t.columns else "loss target")
            if note:
                print(note.replace("the intervals assume", "the optimum assumes" if "N_opt_median" in t.columns
                                   else "the compute assumes"), file=sys.stderr)
            note = _turn_back_note(t)
            if note:
                print(note, file=sys.stderr)
    return 0


def _turn_back_note(table) -> str | None:
    """One note for the loss targets whose share of draws that reach them differs by 5 points or more between the
    law with its discrepancy term (``reachable``) and the law alone (``reachable_law_alone``); None otherwise."""
    if "reachable_law_alone" not in table.columns:
        return None
    gap = table["reachable_law_alone"] - table["reachable"]
    rows = [str(i) for i, g in gap.items() if abs(g) >= 0.05]
    if not rows:
        return None
    worst = gap.abs().idxmax()
    which = f"loss target {rows[0]}" if len(rows) == 1 else f"loss targets {', '.join(rows)}"
    why = ("turns the loss along the optimum back up" if gap[worst] > 0
           else "carries the loss below where the law alone levels off, so the compute for it is the quadratic's")
    return (f"note: {which}: {table.loc[worst, 'reachable']:.0%} of draws reach it with the discrepancy term, "
            f"{table.loc[worst, 'reachable_law_alone']:.0%} with the law alone; the term is a quadratic fitted near "
            f"the runs and, extrapolated this far, {why}.")
