"""``bayeslaw fit``: plan a fit (every check before JAX starts), run NUTS, save it, print its summary."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import common as c

EPILOG = """example:
  bayeslaw fit runs.csv --law chinchilla --out my_fit

more:
  bayeslaw fit runs.csv --law power_law --x D            # one-input law: pick its size column
  bayeslaw fit runs.csv --law chinchilla --x N=params --x D=tokens --y val_loss
  bayeslaw fit runs.csv --law chinchilla --prior alpha="Uniform(0, 1)" --prior nu="Gamma(2, 0.1)"
  bayeslaw fit runs.csv --law compute --format json > fit.json
  bayeslaw fit curves.csv --law power_law --x step --by curve_id --out curve_fits   # one fit per curve

Columns are found by name (case-insensitive: N/params/n_params, D/tokens, C/flops/compute,
loss/val_loss; a law's other inputs by their own names). If only N and C are given, D = C/(k N)
is derived (and the reverse), with k from --flops-per-token; the convention is recorded in the
fit. Priors use NumPyro's distribution names (Normal, HalfNormal, LogNormal, Gamma, Beta, Uniform,
Exponential, StudentT, TruncatedNormal, Delta); `bayeslaw laws NAME` lists a law's parameters
and default priors.
"""


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "fit", help="fit a law to a run table with NUTS",
                         description="Fit a scaling law to a table of runs (CSV or Parquet) and print the "
                                     "posterior summary of its parameters.", epilog=EPILOG)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run; a pipe, or - for "
                                "standard input")
    p.add_argument("--law", default="chinchilla", help="law name (see `bayeslaw laws`); default chinchilla")
    p.add_argument("--prior", action="append", metavar="NAME=DIST",
                   help="override a prior, e.g. alpha='Uniform(0, 1)' (repeatable)")
    c.add_likelihood(p)
    c.add_curvature(p)
    c.add_run(p)
    c.add_data_args(p)
    c.add_sampler_args(p)
    c.add_ci_prob(p, "parameter intervals (HDI)")
    p.add_argument("--by", action="append", metavar="COLUMN",
                   help="fit every group of rows with the same COLUMN value on its own, in one compiled program "
                        "(bayeslaw.fit_many; repeatable); with --out, one folder per group plus summary.csv")
    p.add_argument("--out", metavar="DIR", help="save the fit to this folder (fit.nc + spec.json)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    c.add_format(p, ("table", "json"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core import interrupts
    from ..core.records import resolve_ci_prob
    from ..inference.fit import fit
    from ..inference.plan import plan_fit
    from ..inference.store import check_output_dir

    if args.by:
        from .fit_by import run as run_by

        return run_by(args)
    # Every check on the input runs here, before JAX is set up and before any sampling.
    if args.out:   # refused before sampling if it cannot be written (a symbolic link: its target is replaced)
        check_output_dir(args.out, overwrite=args.overwrite, flag="--out")
    out = Path(args.out) if args.out else None
    ci_prob = resolve_ci_prob(args.ci_prob)
    plan = plan_fit(args.data, args.law, x=c.parse_x(args.x), y=args.y, priors=c.parse_priors(args.prior),
                    flops_per_param_token=args.flops_per_token, run=args.run, **c.likelihood_kw(args.likelihood),
                    **c.curvature_kw(args),
                    **c.sampler_kwargs(args))
    note = c.ignored_note(plan.runs.source, plan.ignored_columns)
    if note and not args.quiet:
        print(note, file=sys.stderr)
    c.setup_jax(args.num_chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(plan, progress_bar=c.progress(args))
    interrupts.check()   # a Ctrl-C during sampling stops here, even if its exception was swallowed on the way
    c.emit_warnings(caught, args.quiet)
    if out is not None:
        result.save(args.out, overwrite=args.overwrite)
    print(render(result, args.format, out, ci_prob))
    return 0


def render(fit, fmt: str, out: Path | None, ci_prob: float) -> str:
    """The fit as the command prints it: a table with the facts around it, or JSON (keys in docs/cli.md)."""
    from ..inference.diagnostics import failed, not_computed

    spec = fit.spec
    unchecked = [d["check"] for d in not_computed(fit.diagnostics)]
    if fmt == "json":
        doc = {"law": fit.law.name, "likelihood": spec.likelihood, "likelihood_reason": spec.likelihood_reason,
               "law_reason": spec.law_reason,
               "run": spec.data.run, "n_runs": spec.data.n_runs, "ignored_columns": list(spec.data.ignored),
               "loss_unit": spec.loss_unit,
               "ci_prob": ci_prob,
               "interval": "hdi", "params": fit.to_records(ci_prob), "diagnostics": fit.diagnostics,
               "converged": fit.converged, "checks_not_computed": unchecked, "conventions": spec.data.derived, "columns": spec.data.columns,
               "sampler": spec.to_dict()["sampler"], "out": str(out) if out else None}
        return c.dump_json(doc)
    table = fit.summary(ci_prob)
    s = spec.sampler
    chains = f"{s.num_chains} chain" + ("s" if s.num_chains != 1 else "")
    method = f"{s.chain_method}, " if s.num_chains != 1 else ""
    if "r_hat" in unchecked:
        table = table.assign(r_hat="n/a")
    problems = failed(fit.diagnostics)
    if fit.converged:
        verdict = "all checks passed (R-hat <= 1.01, ESS >= 100/chain, no divergences, E-BFMI >= 0.3)"
    else:
        parts = [f"{', '.join(unchecked)} not computed with {chains} (refit with --num-chains 2 or more)"] \
            if unchecked else []
        parts += [f"{len(problems)} problem(s)"] if problems else []
        verdict = "; ".join(parts) + ", see warnings above"
    lines = [
        f"law: {fit.law.name}   {fit.law.formula}",
        *([f"why this law: {spec.law_reason}"] if spec.law_reason else []),
        f"likelihood: {spec.likelihood_reason or spec.likelihood}",
        f"runs: {spec.data.n_runs} rows from {spec.data.source}"
        + (f", checkpoints of each run in column {spec.data.run!r}" if spec.data.run else ""),
    ]
    if spec.data.derived:
        lines.append("derived: " + "; ".join(spec.data.derived.values()))
    lines.append(f"loss in {spec.loss_unit}")
    lines += [
        f"NUTS: {chains} x ({s.num_warmup} warmup + {s.num_samples} draws), "
        f"{method}seed {s.seed}, {s.wall_seconds:.1f} s",
        f"{c.pct(ci_prob)} HDI in lower/upper",
        "",
        c.format_table(table, formats={"r_hat": "{:.3f}", "ess_bulk": "{:.0f}", "ess_tail": "{:.0f}"}),
        "",
        "diagnostics: " + verdict,
    ]
    if out:
        lines.append(f"saved: {out}")
    return "\n".join(lines)
