"""What every command shares: the option vocabulary, parsing of option syntax, JAX set-up, and rendering.

The vocabulary, the same in every command and in the Python API:

- ``--at NAME=VALUE,...`` (repeatable) for a target scale; ``--ci-prob P`` for interval mass
  (default: ArviZ's ``stats.ci_prob``);
- ``--out DIR`` for a folder the command creates, ``-o/--output FILE`` for its one output file
  (the suffix picks the format), other ``--NAME FILE`` options for extra files; ``--overwrite`` to
  replace existing ones (the rule is :mod:`bayeslaw.core.paths`'s, checked before any work);
- ``FIT_DIR`` for a saved fit, verified against its checksum unless ``--no-verify``;
- NumPyro's names for the sampler: ``--num-warmup``, ``--num-samples``, ``--num-chains``,
  ``--target-accept-prob``, ``--seed``;
- ``--x``, ``--y``, ``--flops-per-token`` for columns and conventions; ``--likelihood`` and
  ``--law`` take names from the catalogues (``bayeslaw laws`` lists them).

Nothing here checks what a value means (that is the library's job, done once): this module
only turns option text into Python values and results into text.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any


class Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line ("error: ..."), exit status 2, like every other bad input."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`.\n")


class UsageError(Exception):
    """Option text that cannot be read (exit status 2, one line)."""


def add_subcommand(sub, common, name: str, *, help: str, description: str, epilog: str):
    """A command's parser, with the shared --quiet, its description and its examples."""
    return sub.add_parser(name, parents=[common], help=help, description=description, epilog=epilog,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


# -- option groups ---------------------------------------------------------------------------------


def add_data_args(p) -> None:
    """Columns and conventions of a run table."""
    p.add_argument("--x", action="append", metavar="SPEC",
                   help="size columns: NAME=COLUMN (N, D, C, U or a law's input; repeatable) or, for one-input "
                        "laws, the column to use as x (N, D, C or any column)")
    p.add_argument("--y", metavar="COLUMN", help="loss column (default: loss, val_loss, ... by name)")
    p.add_argument("--flops-per-token", type=float, default=6.0, metavar="K",
                   help="k in C = k N D, to derive a missing one of N, D, C (default 6)")


def seed_arg(text: str) -> int:
    """--seed's type: every command's seeds follow one rule, checked at parse time (an integer from 0 to
    2**32 - 1, :func:`bayeslaw.core.spec.check_seed`, the rule of the API too)."""
    from ..core.spec import check_seed

    try:
        return check_seed(int(text.strip()))
    except ValueError:  # not a whole number, or out of range (check_seed's BayeslawError is a ValueError)
        raise argparse.ArgumentTypeError(f"seed must be an integer from 0 to {2**32 - 1}, e.g. --seed 0; "
                                         f"got {text.strip()!r}") from None


def add_seed(p, help: str = "random seed; the same seed gives the same draws (default 0)") -> None:
    p.add_argument("--seed", type=seed_arg, default=0, metavar="SEED", help=help)


def add_sampler_args(p, *, seed_help: str = "random seed; the same seed gives the same draws (default 0)") -> None:
    """NUTS settings, with NumPyro's names; the defaults named in the help are the plan's (core.budgets, no JAX)."""
    from ..core import budgets
    from ..core.spec import SamplerSettings as S

    add_seed(p, seed_help)
    p.add_argument("--num-chains", type=int, default=S.num_chains,
                   help=f"NUTS chains per fit, run in parallel (default {S.num_chains})")
    seq = "" if budgets.SEQUENTIAL_WARMUP == S.num_warmup else f"; {budgets.SEQUENTIAL_WARMUP} for a learning-curve model"
    p.add_argument("--num-warmup", type=int, default=None,
                   help=f"warmup iterations per chain (default {S.num_warmup}{seq}; {budgets.CURVED_WARMUP} for a law "
                        "with its curvature term)")
    p.add_argument("--num-samples", type=int, default=None,
                   help=f"draws per chain (default {S.num_samples}; {budgets.SEQUENTIAL_SAMPLES} for a learning-curve "
                        f"model; {budgets.ORTHOGONAL_SAMPLES} for a law with an orthogonal curvature term)")
    p.add_argument("--target-accept-prob", type=float, default=None,
                   help=f"NUTS target acceptance (default {S.target_accept_prob:g}, or "
                        f"{budgets.SEQUENTIAL_TARGET_ACCEPT:g} for a learning-curve model; 0.95 removes most "
                        "divergences on small ladders)")


def add_likelihood(p, *, repeatable: bool = False) -> None:
    p.add_argument("--likelihood", action="append" if repeatable else "store", metavar="NAME",
                   help="observation model on log loss, by name (`bayeslaw laws` lists them; default: learning_curve "
                        "when --run names a column with several rows per run, else student_t)"
                        + ("; repeat to compare several" if repeatable else ""))


def add_curvature(p) -> None:
    p.add_argument("--curvature", choices=["auto", "off", "on", "orthogonal"], default="auto",
                   help="auto (default): a ladder with at least 5 runs per parameter gets an orthogonal curvature "
                        "term (LAW_orthogonal: the plain law is fitted first, then a quadratic misfit orthogonal to "
                        "it over the runs widens the bands beyond them; decisions are the law's), learning curves "
                        "and smaller ladders the plain law; off: the plain law; orthogonal: the term whatever the "
                        "table; on: the quadratic without the projection (LAW_curved)")


def curvature_kw(args: argparse.Namespace) -> dict[str, bool | str]:
    """--curvature as the API's ``curvature=``."""
    value = getattr(args, "curvature", "auto")
    return {"curvature": {"off": False, "on": True}.get(value, value)}


def add_run(p) -> None:
    p.add_argument("--run", metavar="COLUMN",
                   help="run-id column: rows with the same id are checkpoints of one training run (learning curves)")


def add_ci_prob(p, what: str = "intervals") -> None:
    p.add_argument("--ci-prob", type=float, default=None, metavar="P",
                   help=f"probability mass of the {what} (default: ArviZ's stats.ci_prob, 0.89 unless set)")


def add_at(p, what: str = "predict at this target") -> None:
    """--at NAME=VALUE,... (repeatable) and --at-file FILE, the same targets from a table (read by :func:`targets`)."""
    p.add_argument("--at", action="append", metavar="NAME=VALUE,...",
                   help=f"{what}, e.g. N=70e9,D=1.4e12 (repeatable; names are the law's inputs)")
    p.add_argument("--at-file", metavar="FILE", help="targets from a CSV/TSV or Parquet file: one target per row, "
                                                     "columns named like the law's inputs (e.g. N,D); instead of --at")


def add_fit_dir(p) -> None:
    """The saved fit a command reads, and the escape from its checksum for fits edited on purpose."""
    p.add_argument("fit_dir", help="folder written by `bayeslaw fit --out`")
    p.add_argument("--no-verify", action="store_true",
                   help="load the fit even if its files no longer match the checksum saved with it (a deliberate edit)")


def add_overwrite(p, what: str) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help=f"replace an existing {what} (without it, an existing one is refused)")


def add_format(p, choices=("table", "json", "csv")) -> None:
    p.add_argument("--format", choices=list(choices), default="table", help="output format (default table)")


def sampler_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {"num_warmup": args.num_warmup, "num_samples": args.num_samples, "num_chains": args.num_chains,
            "target_accept_prob": args.target_accept_prob, "seed": args.seed}


def likelihood_kw(value: str | None) -> dict[str, str]:
    return {} if value is None else {"likelihood": value}


# -- option syntax ---------------------------------------------------------------------------------


def parse_x(values: list[str] | None) -> str | dict[str, str] | None:
    """--x D (one column) or --x N=params,D=tokens (repeatable pairs) as the API's ``x=``."""
    if not values:
        return None
    mapping: dict[str, str] = {}
    single: list[str] = []
    for item in values:
        for part in item.split(","):
            part = part.strip()
            if not part:
                continue
            if "=" in part:
                k, v = part.split("=", 1)
                mapping[k.strip()] = v.strip()
            else:
                single.append(part)
    if single and mapping:
        raise UsageError("--x takes either one column name (for one-input laws) or NAME=COLUMN pairs, not both.")
    if len(single) > 1:
        raise UsageError(f"--x got several column names ({', '.join(single)}); use N=COL,D=COL to map several.")
    return single[0] if single else mapping


def parse_priors(values: list[str] | None) -> dict[str, str]:
    """--prior NAME=DIST items as {name: text}; the library reads the distributions and checks the names."""
    out: dict[str, str] = {}
    for item in values or []:
        name, sep, text = item.partition("=")
        if not sep:
            raise UsageError(f"--prior {item!r} must look like NAME=DIST, e.g. --prior alpha='Uniform(0, 1)'.")
        if not name.strip():
            raise UsageError(f"--prior {item!r} has no parameter name before '='; write NAME=DIST, e.g. "
                             "--prior alpha='Uniform(0, 1)'.")
        if name.strip() in out:
            raise UsageError(f"--prior gives {name.strip()!r} twice; give one prior per parameter.")
        out[name.strip()] = text
    return out


def parse_at(values: list[str] | None):
    """--at N=70e9,D=1.4e12 (repeatable) -> a DataFrame, one target per --at."""
    import pandas as pd

    rows = []
    for item in values or []:
        row = {}
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise UsageError(f"--at {item!r}: write each target as NAME=VALUE pairs, e.g. --at N=70e9,D=1.4e12.")
            k, v = (t.strip() for t in part.split("=", 1))
            try:
                row[k] = float(v)
            except ValueError:
                raise UsageError(f"--at {item!r}: {k}={v!r} is not a number; write e.g. {k}=1.4e12.") from None
        rows.append(row)
    if not rows:
        raise UsageError("Give at least one target with --at, e.g. --at N=70e9,D=1.4e12.")
    keys = set().union(*rows)
    if any(set(r) != keys for r in rows):
        raise UsageError("Every --at must name the same variables (e.g. all N=...,D=...).")
    return pd.DataFrame(rows)


def targets(args: argparse.Namespace, *, required: bool = False):
    """The targets of --at or --at-file as a DataFrame (None when neither is given and none is required); the
    table is read by :func:`bayeslaw.posterior.targets.read_targets`, and the fit's rules apply later."""
    at, at_file = getattr(args, "at", None), getattr(args, "at_file", None)
    if at and at_file:
        raise UsageError("Give targets with --at or with --at-file, not both.")
    if at_file:
        from ..posterior.targets import read_targets

        return read_targets(at_file)
    return parse_at(at) if at or required else None


# -- JAX, fits, warnings --------------------------------------------------------------------------


def setup_jax(num_chains: int) -> None:
    """Entry-point-only JAX setup: one CPU device per chain, float64, persistent compile cache."""
    import numpyro

    numpyro.set_host_device_count(max(num_chains, os.cpu_count() or 1))
    import jax

    if os.environ.get("BAYESLAW_NO_CACHE") != "1":
        cache = os.environ.get("BAYESLAW_CACHE_DIR") or str(Path.home() / ".cache" / "bayeslaw" / "jax")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def progress(args: argparse.Namespace) -> bool:
    return not args.quiet and sys.stderr.isatty()


def emit_warnings(caught: list[warnings.WarningMessage], quiet: bool) -> None:
    from ..errors import DiagnosticWarning

    for w in caught:
        if issubclass(w.category, DiagnosticWarning) or not quiet:
            print(f"warning: {w.message}", file=sys.stderr)


def load_fit(path: str, *, verify: bool = True):
    from ..inference.result import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = load(path, verify=verify)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return fit


# -- rendering -------------------------------------------------------------------------------------


def format_table(df, floatfmt: str = "{:.4g}", formats: dict[str, str] | None = None) -> str:
    """A DataFrame as aligned text: floats with ``floatfmt`` or their column's format in ``formats`` (e.g.
    ``{"r_hat": "{:.3f}"}``), NaN as "nan"."""
    import math

    cols = [df.index.name or ""] + list(df.columns)
    fmts = [(formats or {}).get(str(col), floatfmt) for col in df.columns]
    rows = [[str(i)] + [("nan" if math.isnan(v) else f.format(v)) if isinstance(v, float) else str(v)
                        for f, v in zip(fmts, r)]
            for i, r in zip(df.index, df.itertuples(index=False))]
    widths = [max(len(c), *(len(r[j]) for r in rows)) for j, c in enumerate(cols)]
    line = "  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cols))
    body = ["  ".join(v.ljust(widths[0]) if j == 0 else v.rjust(widths[j]) for j, v in enumerate(r)) for r in rows]
    return "\n".join([line, *body])


def compact(table):
    """Merge NAME_median/_lower/_upper columns into one 'median [lower, upper]' column for people."""
    import pandas as pd

    out = pd.DataFrame(index=table.index)
    done = set()
    for col in table.columns:
        base = col.rsplit("_", 1)[0]
        if col.endswith(("_median", "_lower", "_upper")) and {f"{base}_median", f"{base}_lower",
                                                              f"{base}_upper"} <= set(table.columns):
            if base in done:
                continue
            done.add(base)
            out[base] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in
                         zip(table[f"{base}_median"], table[f"{base}_lower"], table[f"{base}_upper"])]
        else:
            out[col] = table[col]
    return out


def dump_json(doc: Any) -> str:
    """Strict JSON: no NaN or Infinity; a non-finite number is null, named in its object's ``non_finite``
    member (:mod:`bayeslaw.core.records`)."""
    from ..core.records import strict_json

    return strict_json(doc, indent=2)


def emit(table, fmt: str, records: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    if fmt == "json":
        print(dump_json({**extra, "results": records}))
    elif fmt == "csv":
        print(table.to_csv(), end="")
    else:
        print(format_table(table))


def extrapolation_note(table, what: str = "target", assumes: str = "the law holds that far out") -> str | None:
    """One note for every row of ``table`` whose ``beyond_<input>`` columns are not 0: which rows, how many
    decades beyond the fitted range at most and along which inputs, and what the intervals assume there (the law's
    ``beyond``); None when every row is inside."""
    import numpy as np

    far = table.filter(like="beyond_").abs()
    if far.empty:
        return None
    worst = far.max(axis=1, skipna=True).fillna(0.0)
    rows = [str(i) for i, d in worst.items() if d > 0]
    if not rows:
        return None
    cols = far.max(axis=0, skipna=True)
    along = ", ".join(f"{c[len('beyond_'):]} {d:.2f}" for c, d in cols.items() if np.isfinite(d) and d > 0)
    which = f"{what} {rows[0]} lies" if len(rows) == 1 else f"{what}s {', '.join(rows)} lie"
    return f"note: {which} up to {worst.max():.2f} decades beyond the fitted range ({along}); the intervals assume {assumes}."


def ignored_note(source: str, columns) -> str | None:
    """One note naming the columns of a run table that a fit does not read (``FitPlan.ignored_columns``);
    None when it reads them all."""
    if not columns:
        return None
    names = ", ".join(repr(str(col)) for col in columns)
    what = f"column {names} is" if len(columns) == 1 else f"columns {names} are"
    return (f"note: {what} not used by the fit ({source}: not read as a size, the loss, a group or the run "
            "column); if one is a size, map it with --x NAME=COLUMN.")


def pct(p: float) -> str:
    return f"{100 * p:g}%"
