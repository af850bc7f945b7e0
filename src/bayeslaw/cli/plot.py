"""``bayeslaw plot``: a figure of a saved fit, to PNG, SVG or PDF."""

from __future__ import annotations

import argparse
import sys

from . import common as c

EPILOG = """example:
  bayeslaw plot my_fit --kind curve --at N=70e9,D=1.4e12 -o curve.png

more:
  bayeslaw plot my_fit --kind curve --slice N -o slices.pdf
  bayeslaw plot my_fit --kind params -o params.svg
  bayeslaw plot my_fit --kind optimum --at C=5.76e23 -o optimum.png   # marks the budget
  bayeslaw plot my_fit --kind curve --at-file targets.csv -o curve.png  # one target per row (columns N,D)
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "plot", help="draw a figure of a saved fit (PNG, SVG or PDF)",
                         description="Figures of a saved fit: the scaling curve with bands and targets, parameter "
                                     "posteriors over their priors, sampler diagnostics, or the compute optimum.",
                         epilog=EPILOG)
    c.add_fit_dir(p)
    p.add_argument("--kind", choices=["curve", "params", "diagnostics", "optimum"], default="curve",
                   help="the scaling curve with bands and targets (default), parameters over their priors, "
                        "sampler diagnostics, or the compute-optimal N* and D*")
    c.add_at(p, "mark this target on the curve")
    p.add_argument("--slice", default=None,
                   help="laws of N and D: 'optimal' (along the compute-optimal frontier, default), "
                        "'N' (one curve per model size) or 'ratio=20' (D = 20 N)")
    p.add_argument("--held-out", metavar="FILE", help="runs not used in the fit (CSV or Parquet), drawn distinctly")
    c.add_ci_prob(p, "outer band")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file: .png, .svg or .pdf")
    c.add_overwrite(p, "-o file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..core.paths import check_output_file, staging
    from ..core.tables import read_table
    from ..plots import plot_curve, plot_diagnostics, plot_optimum, plot_params, save_figure

    out = check_output_file(args.output, (".png", ".svg", ".pdf"), flag="-o", overwrite=args.overwrite)
    targets = c.targets(args)
    held = read_table(args.held_out) if args.held_out else None
    fit = c.load_fit(args.fit_dir, verify=not args.no_verify)
    if args.kind == "curve":
        fig = plot_curve(fit, targets, held_out=held, slice=args.slice, ci_prob=args.ci_prob)
    elif args.kind == "params":
        fig = plot_params(fit)
    elif args.kind == "diagnostics":
        fig = plot_diagnostics(fit)
    else:
        if targets is not None and list(targets.columns) != ["C"]:
            raise c.UsageError("--kind optimum marks compute budgets: give them as --at C=FLOPS, e.g. --at C=5.76e23 "
                               "(or an --at-file with one column, C).")
        fig = plot_optimum(fit, budget=None if targets is None else targets["C"].to_numpy(), ci_prob=args.ci_prob)
    with staging() as st:
        save_figure(fig, st.file(out))
    if not args.quiet:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
