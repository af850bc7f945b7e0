"""``bayeslaw report``: one self-contained HTML report of a saved fit."""

from __future__ import annotations

import argparse
import sys

from . import common as c

EPILOG = """example:
  bayeslaw report my_fit --at N=70e9,D=1.4e12 --compute 5.76e23 -o report.html
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "report", help="write a self-contained HTML report of a saved fit",
                         description="One HTML file (figures embedded, opens offline) with the data, the law and "
                                     "its priors, the parameter table, diagnostics with verdicts, predictions at "
                                     "targets and the compute-optimal allocation.", epilog=EPILOG)
    c.add_fit_dir(p)
    c.add_at(p)
    p.add_argument("--compute", action="append", type=float, metavar="FLOPS",
                   help="budget for the compute-optimal allocation (repeatable)")
    p.add_argument("--held-out", metavar="FILE", help="runs not used in the fit, checked against the bands")
    c.add_ci_prob(p)
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output .html file")
    c.add_overwrite(p, "-o file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..core.paths import check_output_file, staging
    from ..core.tables import read_table
    from ..report import write_report

    out = check_output_file(args.output, (".html", ".htm"), flag="-o", overwrite=args.overwrite)
    targets = c.targets(args)
    held = read_table(args.held_out) if args.held_out else None
    fit = c.load_fit(args.fit_dir, verify=not args.no_verify)
    with staging() as st:
        write_report(fit, st.file(out), targets=targets, compute=args.compute, held_out=held, ci_prob=args.ci_prob)
    if not args.quiet:
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
