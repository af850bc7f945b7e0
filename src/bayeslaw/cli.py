"""The ``bayeslaw`` command: a thin layer over the Python API.

Exit status: 0 on success, 2 on bad input (one plain message, no traceback,
nothing written), 1 on an unexpected failure.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

EPILOG_FIT = """examples:
  bayeslaw fit runs.csv --law chinchilla --out my_fit
  bayeslaw fit runs.csv --law power_law --x D            # one-variable law: pick its size column
  bayeslaw fit runs.csv --law chinchilla --x N=params --x D=tokens --y val_loss
  bayeslaw fit runs.csv --law chinchilla --prior alpha="Uniform(0, 1)" --prior nu="Gamma(2, 0.1)"
  bayeslaw fit runs.csv --law compute --format json > fit.json

Columns are found by name (case-insensitive: N/params/n_params, D/tokens, C/flops/compute,
loss/val_loss). If only N and C are given, D = C/(6N) is derived (and the reverse); the
convention is recorded in the fit. Priors use the distribution names of NumPyro (Normal,
HalfNormal, LogNormal, Gamma, Beta, Uniform, Exponential, StudentT, TruncatedNormal, Delta);
`bayeslaw laws NAME` lists a law's parameters and default priors.
"""


def _parse_x(values: list[str] | None) -> str | dict[str, str] | None:
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
        from .errors import DataError

        raise DataError("--x takes either one column name (for one-variable laws) or NAME=COLUMN pairs, not both.")
    if len(single) > 1:
        from .errors import DataError

        raise DataError(f"--x got several column names ({', '.join(single)}); use N=COL,D=COL to map several.")
    return single[0] if single else mapping


def _parse_priors(values: list[str] | None, law: Any, likelihood: Any) -> dict[str, Any]:
    """--prior NAME=DIST items as Prior objects, checked against the law's and likelihood's parameters."""
    from .errors import PriorError
    from .priors import Prior

    defaults = {k: p.prior for k, p in law.params.items()} | {k: p.prior for k, p in likelihood.params.items()}
    out: dict[str, Any] = {}
    for item in values or []:
        if "=" not in item:
            raise PriorError(f"--prior {item!r} must look like NAME=DIST, e.g. --prior alpha='Uniform(0, 1)'.")
        name, text = item.split("=", 1)
        name = name.strip()
        if not name:
            raise PriorError(f"--prior {item!r} has no parameter name before '='; write NAME=DIST, "
                             "e.g. --prior alpha='Uniform(0, 1)'.")
        if name not in defaults:
            close = difflib.get_close_matches(name, list(defaults), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PriorError(f"--prior {item!r}: law {law.name!r} with the {likelihood.name} likelihood has no "
                             f"parameter {name!r}{hint}; its parameters are {', '.join(defaults)} "
                             f"(see `bayeslaw laws {law.name}`).")
        if name in out:
            raise PriorError(f"--prior gives {name!r} twice; give one prior per parameter.")
        try:
            out[name] = Prior.parse(text)
        except PriorError as exc:
            raise PriorError(f"--prior {item!r}: {str(exc).rstrip('.')}. Give a valid distribution, e.g. "
                             f"--prior {name}='{defaults[name]}' (the default; see `bayeslaw laws {law.name}`)."
                             ) from None
    return out


def _setup_jax(num_chains: int) -> None:
    """Entry-point-only JAX setup: one CPU device per chain, float64, persistent compile cache."""
    import numpyro

    numpyro.set_host_device_count(max(num_chains, os.cpu_count() or 1))
    import jax

    if os.environ.get("BAYESLAW_NO_CACHE") != "1":
        cache = os.environ.get("BAYESLAW_CACHE_DIR") or str(Path.home() / ".cache" / "bayeslaw" / "jax")
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def _format_table(df, floatfmt: str = "{:.4g}") -> str:
    cols = [df.index.name or ""] + list(df.columns)
    rows = [[str(i)] + [floatfmt.format(v) if isinstance(v, float) else str(v) for v in r]
            for i, r in zip(df.index, df.itertuples(index=False))]
    widths = [max(len(c), *(len(r[j]) for r in rows)) for j, c in enumerate(cols)]
    line = "  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cols))
    body = ["  ".join(v.ljust(widths[0]) if j == 0 else v.rjust(widths[j]) for j, v in enumerate(r)) for r in rows]
    return "\n".join([line, *body])


def summary_rows(fit, ci_prob: float = 0.9) -> list[dict[str, Any]]:
    """The parameter table as JSON rows (stable keys, see docs/cli.md)."""
    table = fit.summary(ci_prob=ci_prob)
    lo, hi = table.columns[2], table.columns[3]
    return [{"param": p, "mean": float(r["mean"]), "sd": float(r["sd"]), "lower": float(r[lo]),
             "upper": float(r[hi]), "r_hat": float(r["r_hat"]), "ess_bulk": float(r["ess_bulk"]),
             "ess_tail": float(r["ess_tail"])} for p, r in table.iterrows()]


def _fit_report(fit, fmt: str, out: Path | None, ci_prob: float = 0.9) -> str:
    spec = fit.spec
    if fmt == "json":
        doc = {
            "law": fit.law.name, "likelihood": spec["likelihood"], "n_runs": spec["data"]["n_runs"],
            "ci_prob": ci_prob, "interval": "hdi", "params": summary_rows(fit, ci_prob),
            "diagnostics": fit.diagnostics, "converged": fit.converged,
            "conventions": spec["data"]["derived"], "columns": spec["data"]["columns"],
            "sampler": spec["sampler"], "out": str(out) if out else None,
        }
        return json.dumps(doc, indent=2)
    table = fit.summary(ci_prob=ci_prob)
    s = spec["sampler"]
    lines = [
        f"law: {fit.law.name}   {fit.law.formula}",
        f"likelihood: {spec['likelihood']}   runs: {spec['data']['n_runs']} from {spec['data']['source']}",
    ]
    if spec["data"]["derived"]:
        lines.append("derived: " + "; ".join(spec["data"]["derived"].values()))
    lines += [
        f"NUTS: {s['num_chains']} chains x ({s['num_warmup']} warmup + {s['num_samples']} draws), "
        f"{s['chain_method']}, seed {s['seed']}, {s['wall_seconds']:.1f} s",
        "",
        _format_table(table),
        "",
        "diagnostics: " + ("all checks passed (R-hat <= 1.01, ESS >= 100/chain, no divergences, E-BFMI >= 0.3)"
                           if fit.converged else f"{len(fit.diagnostics)} problem(s), see warnings above"),
    ]
    if out:
        lines.append(f"saved: {out}")
    return "\n".join(lines)


def _emit_warnings(caught: list[warnings.WarningMessage], quiet: bool) -> None:
    from .errors import DiagnosticWarning

    for w in caught:
        if issubclass(w.category, DiagnosticWarning) or not quiet:
            print(f"warning: {w.message}", file=sys.stderr)


def _check_out(out: str | os.PathLike | None, overwrite: bool, flag: str = "--out") -> Path | None:
    """Refuse an output path that cannot be written, before any fitting (nothing is written here)."""
    from .errors import FitFileError
    from .result import SPEC_FILE

    if out is None:
        return None
    path = Path(out)
    if path.exists() and not overwrite:
        raise FitFileError(f"Output directory '{path}' already exists; choose another {flag} or add --overwrite.")
    if path.exists() and not path.is_dir():
        raise FitFileError(f"{flag} '{path}' is a file, not a directory; choose another {flag}.")
    if path.is_dir() and not (path / SPEC_FILE).exists() and any(path.iterdir()):
        raise FitFileError(f"{flag} '{path}' is a non-empty directory that is not a saved fit, so --overwrite "
                           f"will not replace it; choose another {flag} or remove it yourself.")
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise FitFileError(f"{flag} '{path}' cannot be created because '{parent}' is a file; choose another {flag}.")
    return path


def _check_sampler(args: argparse.Namespace) -> None:
    from .errors import BayeslawError

    for flag, value in (("--chains", args.chains), ("--warmup", args.warmup), ("--draws", args.draws)):
        if value < 1:
            raise BayeslawError(f"{flag} must be at least 1; got {value}.")
    if not 0 < args.target_accept < 1:
        raise BayeslawError(f"--target-accept must be between 0 and 1 (e.g. 0.8, or 0.95 after divergences); "
                            f"got {args.target_accept:g}.")


def _plan_x(x: str | dict[str, str] | None, law: Any) -> tuple[Any, str | None]:
    """(x for load_runs, x for fit) from the --x option, checked against the law's inputs."""
    from .data import SIZE_COLUMNS
    from .errors import DataError

    one_var = tuple(law.inputs) == ("x",)
    if isinstance(x, dict):
        if one_var and len(x) == 1:
            return x, next(iter(x))
        return x, None
    if isinstance(x, str):
        if not one_var and x not in law.inputs:
            import bayeslaw

            singles = sorted(n for n, l in bayeslaw.available_laws().items() if tuple(l.inputs) == ("x",))
            pairs = " ".join(f"--x {v}=COLUMN" for v in law.inputs)
            raise DataError(f"--x {x} names one column, which is for one-variable laws ({', '.join(singles)}); "
                            f"law {law.name!r} takes {', '.join(law.inputs)}: map its columns with {pairs}.")
        if x in SIZE_COLUMNS:
            return None, x
        return x, "x"  # any other column becomes the generic size x
    return None, None


def cmd_fit(args: argparse.Namespace) -> int:
    import bayeslaw
    from .engine import design, get_likelihood

    # Every check on the input runs here, before JAX is set up and before any sampling.
    out = _check_out(args.out, args.overwrite)
    law = bayeslaw.get_law(args.law)
    lik = get_likelihood(args.likelihood)
    priors = _parse_priors(args.prior, law, lik)
    _check_sampler(args)
    load_x, fit_x = _plan_x(_parse_x(args.x), law)
    runs = bayeslaw.load_runs(args.data, x=load_x, y=args.y)
    try:
        design(runs, law, fit_x)
    except bayeslaw.DataError as exc:
        raise bayeslaw.DataError(f"{args.data}: {exc}") from None
    n_min = law.n_params + 2
    if len(runs) < n_min:
        raise bayeslaw.DataError(
            f"{args.data} has {len(runs)} runs, but law {law.name!r} has {law.n_params} parameters and needs at "
            f"least {n_min} runs (parameters + 2); add runs or choose a law with fewer parameters "
            "(see `bayeslaw laws`).")

    _setup_jax(args.chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bayeslaw.fit(runs, law, x=fit_x, priors=priors,
                           likelihood=args.likelihood, num_warmup=args.warmup, num_samples=args.draws,
                           num_chains=args.chains, target_accept_prob=args.target_accept, seed=args.seed,
                           progress_bar=not args.quiet and sys.stderr.isatty())
    _emit_warnings(caught, args.quiet)
    if out is not None:
        fit.save(out, overwrite=args.overwrite)
    print(_fit_report(fit, args.format, out))
    return 0


def cmd_laws(args: argparse.Namespace) -> int:
    import bayeslaw
    from .engine import LIKELIHOODS

    laws = bayeslaw.available_laws()
    names = [args.name] if args.name else sorted(laws)
    selected = [bayeslaw.get_law(n) for n in names]
    if args.format == "json":
        doc = [law.to_dict() | {"description": law.description,
                                "params": {k: {"prior": str(p.prior), "why": p.why, "description": p.description}
                                           for k, p in law.params.items()}} for law in selected]
        print(json.dumps(doc if not args.name else doc[0], indent=2))
        return 0
    blocks = [law.describe() for law in selected]
    lik = ["likelihoods (on log loss; choose with --likelihood):"]
    for name, l in LIKELIHOODS.items():
        lik.append(f"  {name}: {l.description}")
        for k, p in l.params.items():
            lik.append(f"    {k} ~ {p.prior}  # {p.why}")
    print("\n\n".join(blocks + ["\n".join(lik),
                                "y0 = geometric mean of the observed loss; inputs are centred at their geometric "
                                "mean (N0, D0, ...), so a, b are log terms at that reference scale."]))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import bayeslaw
    from . import plots
    from .report import write_report

    out = Path(args.out)
    _check_out(out / "fit", overwrite=True, flag="--out")
    _setup_jax(4)
    say = (lambda *a: None) if args.quiet else print
    print(f"bayeslaw demo: the Chinchilla law fitted to the bundled runs ({bayeslaw.example_data_path().name}: "
          "245 runs of Hoffmann et al. 2022, digitised by Epoch AI)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", seed=args.seed,
                           progress_bar=not args.quiet and sys.stderr.isatty())
    _emit_warnings(caught, args.quiet)
    fit_dir = out / "fit"
    fit.save(fit_dir, overwrite=True)
    print(_fit_report(fit, "table", fit_dir))
    print("\nEpoch AI's refit of the same data (Besiroglu et al. 2024): E 1.82, A 482, B 2085, alpha 0.348, "
          "beta 0.366;\nHoffmann et al. 2022 published E 1.69, A 406, B 411, alpha 0.34, beta 0.28.")

    target = {"N": [70e9], "D": [1.4e12]}
    pred = fit.predict(**{k: v[0] for k, v in target.items()})
    r = pred.to_records()[0]
    print("\nprediction for Chinchilla itself (N = 70B parameters, D = 1.4T tokens), 90% intervals:")
    print(f"  the law:   {r['mean_law']['median']:.3f} [{r['mean_law']['lower']:.3f}, {r['mean_law']['upper']:.3f}]")
    print(f"  a new run: {r['new_run']['median']:.3f} [{r['new_run']['lower']:.3f}, {r['new_run']['upper']:.3f}]"
          f"   ({r['extrapolation_decades']['N']:.2f} decades beyond the largest fitted N)")
    opt = fit.optimal_allocation(C=5.76e23).to_records()[0]
    print("\ncompute-optimal allocation at C = 5.76e23 FLOPs (Chinchilla's budget), 90% intervals:")
    for key, label in (("N_opt", "parameters N*"), ("D_opt", "tokens D*"), ("tokens_per_param", "tokens per parameter"),
                       ("loss_opt", "loss")):
        q = opt[key]
        print(f"  {label:<21} {q['median']:.4g} [{q['lower']:.4g}, {q['upper']:.4g}]")

    figures = {
        "curve.png": lambda: plots.plot_curve(fit, target),
        "curve_by_size.png": lambda: plots.plot_curve(fit, slice="N"),
        "params.png": lambda: plots.plot_params(fit),
        "diagnostics.png": lambda: plots.plot_diagnostics(fit),
        "optimum.png": lambda: plots.plot_optimum(fit),
    }
    import matplotlib.pyplot as plt

    for name, make in figures.items():
        obj = make()
        plots.save_figure(obj, out / name)
        plt.close("all")
    report = write_report(fit, out / "report.html", targets=target, compute=[5.76e23])
    print(f"\nwrote {fit_dir}/ (the fit), {', '.join(figures)} and {report.name} to {out}/")
    say("next: open the report in a browser, or try `bayeslaw predict`, `bayeslaw optimum`, `bayeslaw plot`.")
    return 0

def _parse_at(values: list[str] | None) -> "pd.DataFrame":
    """--at N=70e9,D=1.4e12 (repeatable) -> one target per --at."""
    import pandas as pd

    from .errors import DataError

    rows = []
    for item in values or []:
        row = {}
        for part in item.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise DataError(f"--at {item!r}: write each target as NAME=VALUE pairs, e.g. --at N=70e9,D=1.4e12.")
            k, v = (t.strip() for t in part.split("=", 1))
            try:
                row[k] = float(v)
            except ValueError:
                raise DataError(f"--at {item!r}: {k}={v!r} is not a number; write e.g. {k}=1.4e12.") from None
        rows.append(row)
    if not rows:
        raise DataError("Give at least one target with --at, e.g. --at N=70e9,D=1.4e12.")
    keys = set().union(*rows)
    if any(set(r) != keys for r in rows):
        raise DataError("Every --at must name the same variables (e.g. all N=...,D=...).")
    return pd.DataFrame(rows)


def _load_fit(path: str):
    import bayeslaw

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = bayeslaw.load(path)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return fit


def _compact(table) -> "pd.DataFrame":
    """Merge NAME_median/_lower/_upper columns into one 'median [lower, upper]' column for people."""
    import pandas as pd

    out = pd.DataFrame(index=table.index)
    done = set()
    for col in table.columns:
        base = col.rsplit("_", 1)[0]
        if col.endswith(("_median", "_lower", "_upper")) and {f"{base}_median", f"{base}_lower", f"{base}_upper"} <= set(table.columns):
            if base in done:
                continue
            done.add(base)
            out[base] = [f"{m:.4g} [{lo:.4g}, {hi:.4g}]" for m, lo, hi in
                         zip(table[f"{base}_median"], table[f"{base}_lower"], table[f"{base}_upper"])]
        else:
            out[col] = table[col]
    return out


def _emit_table(table, fmt: str, records, extra: dict[str, Any]) -> None:
    if fmt == "json":
        print(json.dumps({**extra, "results": records}, indent=2))
    elif fmt == "csv":
        print(table.to_csv(index=False), end="")
    else:
        print(_format_table(table))


def cmd_predict(args: argparse.Namespace) -> int:
    if not 0 < args.interval < 1:
        from .errors import DataError

        raise DataError(f"--interval must be between 0 and 1 (e.g. 0.9); got {args.interval}.")
    targets = _parse_at(args.at)
    fit = _load_fit(args.fit_dir)
    pred = fit.predict(targets=targets, interval=args.interval, seed=args.seed)
    table = pred.table
    if args.format == "table":
        pct = f"{args.interval:.0%}"
        print(f"law: {fit.law.name}   predictions with {pct} equal-tailed intervals "
              "(mean law = the fitted law; new run = the law plus run-to-run noise)")
        shown = _compact(table).rename(columns={"mean": "mean law", "new_run": "new run"})
        shown.index.name = "target"
        print(_format_table(shown))
        far = table.filter(like="beyond_").abs().max(axis=1)
        for i, d in far.items():
            if d > 0:
                print(f"note: target {i} lies {d:.2f} decades beyond the fitted range; the interval assumes the "
                      "law holds that far out.")
        return 0
    _emit_table(table, args.format, pred.to_records(), {"law": fit.law.name, "interval": args.interval})
    return 0


def cmd_optimum(args: argparse.Namespace) -> int:
    from .errors import DataError

    if not args.compute and not args.loss:
        raise DataError("Give a compute budget with --compute (e.g. --compute 5.76e23) or a target loss with --loss.")
    if not 0 < args.interval < 1:
        raise DataError(f"--interval must be between 0 and 1 (e.g. 0.9); got {args.interval}.")
    fit = _load_fit(args.fit_dir)
    out: dict[str, Any] = {"law": fit.law.name, "interval": args.interval}
    tables = []
    if args.compute:
        dec = fit.optimal_allocation(C=args.compute, flops_per_param_token=args.flops_per_token,
                                     interval=args.interval)
        out["optimal_allocation"] = dec.to_records()
        tables.append(("compute-optimal allocation (C = k N D)", dec.table))
    if args.loss:
        dec = fit.compute_for_loss(args.loss, flops_per_param_token=args.flops_per_token, interval=args.interval)
        out["compute_for_loss"] = dec.to_records()
        tables.append(("compute to reach a loss (at the optimal allocation)", dec.table))
    if args.format == "json":
        print(json.dumps(out, indent=2))
    elif args.format == "csv":
        for _, t in tables:
            print(t.to_csv(index=False), end="")
    else:
        print(f"law: {fit.law.name}   posterior medians with {args.interval:.0%} equal-tailed intervals")
        for title, t in tables:
            print(f"\n{title}:")
            print(_format_table(_compact(t).rename_axis("#")))
    return 0


def _held_out(path: str | None):
    if path is None:
        return None
    import bayeslaw

    return bayeslaw.load_runs(path).frame


def _out_file(path: str, allowed: tuple[str, ...]) -> Path:
    from .errors import BayeslawError

    out = Path(path)
    if out.suffix.lower() not in allowed:
        raise BayeslawError(f"Output file '{out}' must end in {', '.join(allowed)}; the suffix picks the format.")
    if out.exists() and out.is_dir():
        raise BayeslawError(f"Output '{out}' is a directory; give a file name such as curve{allowed[0]}.")
    return out


def cmd_plot(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from . import plots

    out = _out_file(args.output, (".png", ".svg", ".pdf"))
    targets = _parse_at(args.target) if args.target else None
    held = _held_out(args.held_out)
    fit = _load_fit(args.fit_dir)
    if args.kind == "curve":
        obj = plots.plot_curve(fit, targets, held_out=held, slice=args.slice, interval=args.interval)
    elif args.kind == "params":
        obj = plots.plot_params(fit)
    elif args.kind == "diagnostics":
        obj = plots.plot_diagnostics(fit)
    else:
        obj = plots.plot_optimum(fit, interval=args.interval)
    path = plots.save_figure(obj, out)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from .report import write_report

    out = _out_file(args.output, (".html", ".htm"))
    targets = _parse_at(args.target) if args.target else None
    held = _held_out(args.held_out)
    fit = _load_fit(args.fit_dir)
    path = write_report(fit, out, targets=targets, compute=args.compute, held_out=held)
    if not args.quiet:
        print(f"wrote {path}")
    return 0


EPILOG_COMPARE = """examples:
  bayeslaw compare runs.csv --law chinchilla --law kaplan --law compute
  bayeslaw compare runs.csv --law chinchilla --likelihood student_t --likelihood normal --format json
  bayeslaw compare runs.csv --law chinchilla --law compute --chains 2 --draws 500 --format csv

  bayeslaw compare runs.csv --law chinchilla --law compute --at N=70e9,D=1.4e12 --overlay overlay.png
  bayeslaw compare runs.csv --law chinchilla --law compute --plot elpd.svg --weights backtest --by C

Every law (and likelihood) is fitted to the same runs with NUTS and scored by PSIS-LOO
(arviz-stats). Runs with Pareto k above --pareto-k-max (0.7) are refitted exactly without
that run, so the reported elpd holds; the table says how many were. Weights are stacking
weights. Models are named by law, or LAW/LIKELIHOOD when several likelihoods are compared.
With --at, each model's prediction is printed beside the stacked one (the mixture of the
models with the stacking weights: by LOO, or with --weights backtest by the held-out density
of the runs with the largest --by when each model is refitted on the others).
"""


def cmd_compare(args: argparse.Namespace) -> int:
    import bayeslaw
    from .comparison import compare
    from .engine import design, get_likelihood
    from .errors import BayeslawError

    laws = [bayeslaw.get_law(name) for name in dict.fromkeys(args.law or [])]
    likelihoods = list(dict.fromkeys(args.likelihood or ["student_t"]))
    for name in likelihoods:
        get_likelihood(name)
    if not laws:
        raise BayeslawError("Give the laws to compare, e.g. --law chinchilla --law compute (see `bayeslaw laws`).")
    if len(laws) * len(likelihoods) < 2:
        raise BayeslawError("compare needs at least two models: give two or more --law, or two --likelihood "
                            "(e.g. --likelihood student_t --likelihood normal).")
    if not 0 < args.pareto_k_max < 1.5:
        raise BayeslawError(f"--pareto-k-max must be between 0 and 1.5 (usually 0.7); got {args.pareto_k_max:g}.")
    _check_sampler(args)
    targets = _parse_at(args.at) if args.at else None
    plot_out = _out_file(args.plot, (".png", ".svg", ".pdf")) if args.plot else None
    overlay_out = _out_file(args.overlay, (".png", ".svg", ".pdf")) if args.overlay else None
    low = 0.5 if overlay_out is not None else 0.0  # the figures take 0.5 < interval < 1, as `bayeslaw plot` does
    if not low < args.interval < 1:
        raise BayeslawError(f"--interval must be between {low:g} and 1 (e.g. 0.9); got {args.interval:g}.")
    if args.slice is not None and overlay_out is None:
        raise BayeslawError("--slice applies to the --overlay figure; give --overlay FILE too.")
    if args.weights != "backtest" and (args.by is not None or args.holdout_top is not None or args.cutoff is not None):
        raise BayeslawError("--by, --holdout-top and --cutoff choose the split of --weights backtest; "
                            "add --weights backtest or leave them out.")
    x = _parse_x(args.x)
    plans = []
    for law in laws:
        load_x, fit_x = _plan_x(x, law)
        runs = bayeslaw.load_runs(args.data, x=load_x, y=args.y)
        try:
            design(runs, law, fit_x)
        except bayeslaw.DataError as exc:
            raise bayeslaw.DataError(f"{args.data}: {exc}") from None
        if len(runs) < law.n_params + 2:
            raise bayeslaw.DataError(
                f"{args.data} has {len(runs)} runs, but law {law.name!r} has {law.n_params} parameters and needs "
                f"at least {law.n_params + 2} runs (parameters + 2); add runs or drop that law.")
        plans.append((law, runs, fit_x))

    _setup_jax(args.chains)
    fits = {}
    for law, runs, fit_x in plans:
        for lik in likelihoods:
            name = law.name if len(likelihoods) == 1 else f"{law.name}/{lik}"
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits[name] = bayeslaw.fit(runs, law, x=fit_x, likelihood=lik, num_warmup=args.warmup,
                                          num_samples=args.draws, num_chains=args.chains,
                                          target_accept_prob=args.target_accept, seed=args.seed,
                                          progress_bar=not args.quiet and sys.stderr.isatty())
            for w in caught:  # say which model each warning is about
                w.message = f"{name}: {w.message}"
            _emit_warnings(caught, args.quiet)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare(fits, pareto_k_max=args.pareto_k_max, refit=not args.no_refit)
    _emit_warnings(caught, args.quiet)
    for name, r in result.loo.items():
        for d in r.refit_diagnostics:
            checks = ", ".join(c["check"] for c in d["diagnostics"])
            print(f"warning: {name}: the exact refit without run {d['run']} failed diagnostic checks ({checks}); "
                  "its elpd is less certain: raise --warmup/--draws.", file=sys.stderr)
    n_runs = int(next(iter(fits.values())).spec["data"]["n_runs"])
    stk = pred = None
    if targets is not None or overlay_out is not None or args.weights == "backtest":
        if args.weights == "backtest":
            from .averaging import stack

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stk = stack(fits, weights="backtest", by=args.by or "C",
                            holdout_top=0.2 if args.holdout_top is None else args.holdout_top, cutoff=args.cutoff)
            _emit_warnings(caught, args.quiet)
        else:
            stk = result.stack()
    if targets is not None:
        pred = stk.predict(targets=targets, interval=args.interval, seed=args.seed)
    if plot_out is not None or overlay_out is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from . import plots

        for out, make in ((plot_out, lambda: plots.plot_compare(result)),
                          (overlay_out, lambda: plots.plot_overlay(stk, targets, slice=args.slice,
                                                                   interval=args.interval))):
            if out is not None:
                path = plots.save_figure(make(), out)
                plt.close("all")
                if not args.quiet:
                    print(f"wrote {path}", file=sys.stderr)
    if args.format == "json":
        doc = {"data": str(args.data), "n_runs": n_runs, "criterion": "psis-loo", "method": result.method,
               "pareto_k_max": result.pareto_k_max, "refit": not args.no_refit, "models": result.to_records()}
        if stk is not None:
            doc["stack"] = stk.to_dict()
        if pred is not None:
            doc["predictions"] = {"interval": args.interval, "seed": args.seed, "results": _stack_records(pred)}
        print(json.dumps(doc, indent=2))
    elif args.format == "csv":
        print(result.table.to_csv(), end="")
        if pred is not None:
            print("")
            print(_stack_table(pred).to_csv(index=False), end="")
    else:
        table = result.table.drop(columns=["rank"])
        total = int(table["n_refitted"].sum())
        high = int(table["n_pareto_k_high"].sum())
        print(f"PSIS-LOO on {n_runs} runs from {args.data}; best first; weights: {result.method}")
        print("")
        print(_format_table(table))
        print("")
        if high:
            how = (f"{total} of them refitted exactly without that run, so their elpd holds"
                   if not args.no_refit else "not refitted (--no-refit): their elpd is unreliable")
            print(f"Pareto k > {result.pareto_k_max:g}: {high} run(s) in all; {how}.")
        else:
            print(f"Pareto k <= {result.pareto_k_max:g} for every run: PSIS-LOO is reliable, nothing refitted.")
        print("elpd_diff: elpd_loo minus the best's; dse: its standard error (|elpd_diff| > 2 dse: a clear difference).")
        if stk is not None and args.weights == "backtest":
            print("")
            print(f"stacking weights by backtest (each model refitted on the runs with {stk.backtest.by} <= "
                  f"{stk.backtest.cutoff:.4g}, scored on the {len(stk.backtest.test_runs)} larger runs): "
                  + ", ".join(f"{n} {w:.3g}" for n, w in stk.weights.items()))
        if pred is not None:
            _print_stack_predictions(pred, stk, args.interval)
    return 0


def _stack_records(pred) -> list[dict[str, Any]]:
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
        t = p.table.copy()
        t.insert(0, "weight", 1.0 if name == "stack" else float(pred.weights[name]))
        t.insert(0, "model", name)
        t.insert(0, "target", range(len(t)))
        rows.append(t)
    table = pd.concat(rows, ignore_index=True)
    return table.sort_values(["target"], kind="stable").reset_index(drop=True)


def _print_stack_predictions(pred, stk, interval: float) -> None:
    import numpy as np

    how = {"loo": "stacking by PSIS-LOO", "backtest": "stacking by backtest"}.get(stk.method, stk.method)
    print("")
    print(f"predictions with {interval:.0%} equal-tailed intervals: each model, and their stack (the mixture with "
          f"the weights of {how}; {stk.num_draws} draws)")
    table = _stack_table(pred)
    inputs = [c for c in ("x", "N", "D", "C", "U") if c in table.columns]
    for i, part in table.groupby("target", sort=True):
        where = ", ".join(f"{c}={part[c].iloc[-1]:.4g}" for c in inputs if np.isfinite(part[c].iloc[-1]))
        print(f"\ntarget {i}: {where}")
        shown = _compact(part.drop(columns=["target", *inputs]).set_index("model"))
        shown = shown.rename(columns={"mean": "mean law", "new_run": "new run"})
        print(_format_table(shown))
        far = part.iloc[-1].filter(like="beyond_").abs()
        if (far > 0).any():
            print(f"note: {far.max():.2f} decades beyond the fitted range; the intervals assume the laws hold "
                  "that far.")


def _add_data_and_sampler_args(p, *, seed_help: str, chains_help: str = "NUTS chains per fit (default 4)") -> None:
    """Options shared by every command that fits: column mapping and NUTS settings."""
    p.add_argument("--x", action="append", metavar="SPEC",
                   help="size columns: NAME=COLUMN (N, D or C; repeatable) or, for one-variable laws, "
                        "the column to use as x (N, D, C or any column)")
    p.add_argument("--y", metavar="COLUMN", help="loss column (default: loss, val_loss, ... by name)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--chains", type=int, default=4, help=chains_help)
    p.add_argument("--warmup", type=int, default=1000, help="warmup iterations per chain (default 1000)")
    p.add_argument("--draws", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--target-accept", type=float, default=0.8,
                   help="NUTS target acceptance (default 0.8; 0.95 removes most divergences on small ladders)")


def _add_compare_parser(sub, common) -> None:
    p = sub.add_parser("compare", parents=[common], help="compare laws (and likelihoods) on the same runs by PSIS-LOO",
                       description="Fit several laws (and likelihoods) to the same runs and rank them by "
                                   "PSIS-LOO: elpd_loo, its SE, the difference to the best and its SE, p_loo, "
                                   "stacking weights, and Pareto-k diagnostics with exact refits.",
                       epilog=EPILOG_COMPARE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run")
    p.add_argument("--law", action="append", metavar="NAME", help="a law to compare (repeatable; see `bayeslaw laws`)")
    p.add_argument("--likelihood", action="append", choices=["student_t", "normal"],
                   help="observation model on log loss (repeatable to compare likelihoods; default student_t)")
    _add_data_and_sampler_args(p, seed_help="random seed of every fit (default 0)")
    p.add_argument("--pareto-k-max", type=float, default=0.7,
                   help="runs with PSIS Pareto k above this are refitted exactly (default 0.7)")
    p.add_argument("--no-refit", action="store_true", help="keep PSIS values for high-k runs (faster, unreliable)")
    p.add_argument("--at", action="append", metavar="VAR=VALUE,...",
                   help="predict at this target with each model and with their stack, e.g. N=70e9,D=1.4e12 "
                        "(repeatable)")
    p.add_argument("--weights", choices=["loo", "backtest"], default="loo",
                   help="stacking weights of the stack: by PSIS-LOO (default) or by a backtest (each model "
                        "refitted on the smaller runs and scored on the larger ones)")
    p.add_argument("--by", choices=["N", "D", "C", "x"], default=None,
                   help="--weights backtest: scale column to split on (default C)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--holdout-top", type=float, default=None, metavar="FRACTION",
                       help="--weights backtest: hold out this fraction of runs with the largest --by (default 0.2)")
    split.add_argument("--cutoff", type=float, default=None, metavar="VALUE",
                       help="--weights backtest: train on runs with --by <= VALUE")
    p.add_argument("--interval", type=float, default=0.9, help="interval mass of --at and --overlay (default 0.9)")
    p.add_argument("--plot", metavar="FILE", help="write the ELPD comparison plot (.png, .svg or .pdf)")
    p.add_argument("--overlay", metavar="FILE",
                   help="write one scaling-curve figure with every model's band and the stack's (.png, .svg or .pdf)")
    p.add_argument("--slice", default=None,
                   help="--overlay for laws of N and D: 'optimal' (default), 'N' or 'ratio=20', as for `bayeslaw plot`")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format (default table)")
    p.set_defaults(func=cmd_compare)


EPILOG_BACKTEST = """examples:
  bayeslaw backtest runs.csv --law chinchilla --law compute --by C
  bayeslaw backtest runs.csv --law chinchilla --law kaplan --by C --cutoff 1e21 --format json
  bayeslaw backtest runs.csv --law power_law --x D --by D --holdout-top 0.3 --format csv

Each law is fitted with NUTS on the runs with the smaller scale (--by: N, D, C or x; the
smallest 80% by default, or those at or below --cutoff) and scored on the larger, held-out
runs: elpd_test (held-out log predictive density, higher is better), rmsle (of the new-run
median), coverage_50/coverage_90 (held-out runs inside the new-run intervals: 0.5 and 0.9
when calibrated) and crps (on log loss, lower is better). Laws are ranked by elpd_test.
"""


def cmd_backtest(args: argparse.Namespace) -> int:
    import bayeslaw
    from .backtest import backtest, cross_validate, load_runs_and_x
    from .engine import get_likelihood
    from .errors import BayeslawError

    laws = [bayeslaw.get_law(name) for name in dict.fromkeys(args.law or [])]
    if not laws:
        raise BayeslawError("Give the laws to backtest, e.g. --law chinchilla --law compute (see `bayeslaw laws`).")
    get_likelihood(args.likelihood)
    _check_sampler(args)
    x = _parse_x(args.x)
    for law in laws:
        _plan_x(x, law)  # checks --x against each law's inputs
    # read once (a missing --group column is refused before any fitting), shared by both checks
    runs, fit_x = load_runs_and_x(args.data, x, args.y, groups=[args.group] if args.group else None)
    _setup_jax(args.chains)
    holdout_top = 0.2 if args.holdout_top is None else args.holdout_top
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = backtest(runs, laws, by=args.by, holdout_top=holdout_top, cutoff=args.cutoff,
                          likelihood=args.likelihood, x=fit_x, y=args.y, seed=args.seed, num_warmup=args.warmup,
                          num_samples=args.draws, num_chains=args.chains, target_accept_prob=args.target_accept,
                          progress_bar=not args.quiet and sys.stderr.isatty())
        cv = None
        if args.lfo or args.group:
            cv = cross_validate(runs, laws, by=args.by, lfo=args.lfo, min_train=args.lfo_min_train,
                                group=args.group, likelihood=args.likelihood, x=fit_x, y=args.y, seed=args.seed,
                                num_warmup=args.warmup, num_samples=args.draws, num_chains=args.chains,
                                target_accept_prob=args.target_accept)
    _emit_warnings(caught, args.quiet)
    n_train, n_test = len(result.train_runs), len(result.test_runs)
    if args.format == "json":
        out = {"data": str(args.data), "by": result.by, "cutoff": result.cutoff,
               "holdout_top": None if args.cutoff is not None else holdout_top,
               "likelihood": args.likelihood, "n_runs": n_train + n_test, "n_train": n_train,
               "n_test": n_test, "criterion": "held-out elpd", "models": result.to_records()}
        if cv is not None:
            out["cross_validation"] = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                                       for r in cv.to_dict(orient="records")]
        print(json.dumps(out, indent=2))
    elif args.format == "csv":
        print(result.table.to_csv(index=False), end="")
        if cv is not None:
            print("")
            print(cv.to_csv(index=False), end="")
    else:
        print(f"Backtest on {args.data}: trained on {n_train} runs with {result.by} <= {result.cutoff:.4g}, "
              f"tested on the {n_test} larger runs; best first")
        print("")
        print(_format_table(result.table.drop(columns=["rank", "n_train", "n_test", "cutoff"]).set_index("law")))
        print("")
        print("elpd_test: held-out log predictive density (higher is better); rmsle: of the new-run median; "
              "coverage_50/90: share of held-out runs inside the new-run intervals (0.5/0.9 when calibrated); "
              "crps: on log loss (lower is better).")
        if cv is not None:
            print("")
            print("Each law fitted to all runs: PSIS-LOO (interpolation)"
                  + (f", leave-future-out over increasing {args.by}" if args.lfo else "")
                  + (f", leave-one-{args.group}-out" if args.group else "") + "; best first")
            print("")
            print(_format_table(cv.set_index("law")))
    return 0


def _add_backtest_parser(sub, common) -> None:
    p = sub.add_parser("backtest", parents=[common], help="fit laws on the smaller runs, score the larger held-out ones",
                       description="Extrapolation check: fit each law on the runs below a scale cutoff and score "
                                   "its predictions of the larger runs (held-out elpd, RMSLE, interval coverage, "
                                   "CRPS).",
                       epilog=EPILOG_BACKTEST, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run")
    p.add_argument("--law", action="append", metavar="NAME", help="a law to backtest (repeatable; see `bayeslaw laws`)")
    p.add_argument("--by", choices=["N", "D", "C", "x"], default="C", help="scale column to split on (default C)")
    split = p.add_mutually_exclusive_group()
    split.add_argument("--holdout-top", type=float, default=None, metavar="FRACTION",
                       help="test on this fraction of runs with the largest --by (default 0.2)")
    split.add_argument("--cutoff", type=float, default=None, metavar="VALUE",
                       help="train on runs with --by <= VALUE, test on the rest")
    p.add_argument("--likelihood", default="student_t", choices=["student_t", "normal"],
                   help="observation model on log loss (default student_t)")
    p.add_argument("--lfo", action="store_true",
                   help="also fit each law to all runs and score it by PSIS-LOO and by leave-future-out over "
                        "increasing --by (each run predicted from the smaller ones only)")
    p.add_argument("--lfo-min-train", type=float, default=0.5, metavar="FRACTION",
                   help="--lfo: the first forecast origin, as a fraction of the runs (default 0.5) or a count")
    p.add_argument("--group", metavar="COLUMN",
                   help="also score each law by leave-one-group-out over this column (e.g. family, task)")
    _add_data_and_sampler_args(p, seed_help="random seed of every fit and of the new-run draws (default 0)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table", help="output format (default table)")
    p.set_defaults(func=cmd_backtest)


EPILOG_MAIN = """examples:
  bayeslaw demo                                   # fit the bundled Chinchilla runs
  bayeslaw laws                                   # the law catalogue, with default priors
  bayeslaw laws chinchilla --format json
  bayeslaw fit runs.csv --law chinchilla --out my_fit
  bayeslaw fit runs.csv --law power_law --x D --format json

Start with `bayeslaw demo`, then `bayeslaw laws` and `bayeslaw fit --help`.
Exit status: 0 on success, 2 on bad input (one message, nothing written), 1 on an unexpected failure.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors as one line ("error: ..."), exit status 2, like every other bad input."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message}; see `{self.prog} --help`.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bayeslaw",
        description="Bayesian fitting of neural scaling laws: posteriors with NUTS (NumPyro), "
                    "diagnostics and comparison with ArviZ.",
        epilog=EPILOG_MAIN, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no non-essential warnings")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bar and no non-essential warnings")

    p = sub.add_parser("fit", parents=[common], help="fit a law to a run table with NUTS",
                       description="Fit a scaling law to a table of runs (CSV or Parquet) and print the "
                                   "posterior summary of its parameters.",
                       epilog=EPILOG_FIT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="run table: CSV (comma/tab) or Parquet, one row per training run")
    p.add_argument("--law", default="chinchilla", help="law name (see `bayeslaw laws`); default chinchilla")
    p.add_argument("--prior", action="append", metavar="NAME=DIST",
                   help="override a prior, e.g. alpha='Uniform(0, 1)' (repeatable)")
    p.add_argument("--likelihood", default="student_t", choices=["student_t", "normal"],
                   help="observation model on log loss (default student_t: robust to outlying runs)")
    _add_data_and_sampler_args(p, seed_help="random seed; same seed, same draws (default 0)",
                               chains_help="NUTS chains, run in parallel (default 4)")
    p.add_argument("--out", "-o", metavar="DIR", help="save the fit to this directory (fit.nc + spec.json)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out directory")
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format (default table)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("laws", parents=[common], help="list the law catalogue with formulas, priors, references",
                       description="List the laws bayeslaw can fit, with their formulas, default priors "
                                   "(and why), and literature references.")
    p.add_argument("name", nargs="?", help="show only this law")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=cmd_laws)

    p = sub.add_parser("demo", parents=[common], help="fit the bundled Chinchilla example and print the summary",
                       description="Fit the Chinchilla law to the bundled Chinchilla runs (Epoch AI's "
                                   "digitisation of Hoffmann et al. 2022) and write the results to a folder.")
    p.add_argument("--out", "-o", default="bayeslaw-demo", help="folder for the demo's outputs (default bayeslaw-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("predict", parents=[common], help="predict the loss at target scales from a saved fit",
                       description="Posterior of the mean law and of a new run at target scales, with the "
                                   "distance beyond the fitted range in decades.",
                       epilog="examples:\n  bayeslaw predict my_fit --at N=70e9,D=1.4e12\n"
                              "  bayeslaw predict my_fit --at N=70e9,C=5.76e23 --at N=1e12,D=2e13 --format json\n"
                              "Two of N, D, C suffice for laws of N and D (C = 6 N D).",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fit_dir", help="directory written by `bayeslaw fit --out`")
    p.add_argument("--at", action="append", metavar="VAR=VALUE,...", help="a target, e.g. N=70e9,D=1.4e12 (repeatable)")
    p.add_argument("--interval", type=float, default=0.9, help="interval mass (default 0.9)")
    p.add_argument("--seed", type=int, default=0, help="seed of the new-run noise draws")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("optimum", parents=[common], help="compute-optimal N*, D* and compute to reach a loss",
                       description="Posteriors of the compute-optimal model size N*, tokens D*, tokens per "
                                   "parameter and loss at given budgets (C = k N D), and of the compute needed "
                                   "to reach a loss.",
                       epilog="examples:\n  bayeslaw optimum my_fit --compute 5.76e23\n"
                              "  bayeslaw optimum my_fit --compute 1e22 --compute 1e24 --loss 1.9 --format json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fit_dir", help="directory written by `bayeslaw fit --out`")
    p.add_argument("--compute", action="append", type=float, metavar="FLOPS", help="training budget (repeatable)")
    p.add_argument("--loss", action="append", type=float, help="target loss: compute needed to reach it (repeatable)")
    p.add_argument("--flops-per-token", type=float, default=None, metavar="K",
                   help="k in C = k N D (default: the fit's, 6)")
    p.add_argument("--interval", type=float, default=0.9, help="interval mass (default 0.9)")
    p.add_argument("--format", choices=["table", "json", "csv"], default="table")
    p.set_defaults(func=cmd_optimum)

    p = sub.add_parser("plot", parents=[common], help="draw a figure of a saved fit (PNG, SVG or PDF)",
                       description="Figures of a saved fit: the scaling curve with bands and targets, parameter "
                                   "posteriors over their priors, sampler diagnostics, or the compute optimum.",
                       epilog="examples:\n  bayeslaw plot my_fit --kind curve --target N=70e9,D=1.4e12 -o curve.png\n"
                              "  bayeslaw plot my_fit --kind curve --slice N -o slices.pdf\n"
                              "  bayeslaw plot my_fit --kind params -o params.svg\n"
                              "  bayeslaw plot my_fit --kind optimum -o optimum.png",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fit_dir", help="directory written by `bayeslaw fit --out`")
    p.add_argument("--kind", choices=["curve", "params", "diagnostics", "optimum"], default="curve")
    p.add_argument("--target", action="append", metavar="VAR=VALUE,...",
                   help="mark a target on the curve, e.g. N=70e9,D=1.4e12 (repeatable)")
    p.add_argument("--slice", default=None,
                   help="two-variable laws: 'optimal' (along the compute-optimal frontier, default), "
                        "'N' (one curve per model size) or 'ratio=20' (D = 20 N)")
    p.add_argument("--held-out", metavar="CSV", help="runs not used in the fit, drawn distinctly")
    p.add_argument("--interval", type=float, default=0.9, help="outer band mass (default 0.9)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file: .png, .svg or .pdf")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("report", parents=[common], help="write a self-contained HTML report of a saved fit",
                       description="One HTML file (figures embedded, opens offline) with the data, the law and "
                                   "its priors, the parameter table, diagnostics with verdicts, predictions at "
                                   "targets and the compute-optimal allocation.",
                       epilog="example:\n  bayeslaw report my_fit --target N=70e9,D=1.4e12 --compute 5.76e23 "
                              "-o report.html",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("fit_dir", help="directory written by `bayeslaw fit --out`")
    p.add_argument("--target", action="append", metavar="VAR=VALUE,...", help="predict at this target (repeatable)")
    p.add_argument("--compute", action="append", type=float, metavar="FLOPS",
                   help="budget for the compute-optimal allocation (repeatable)")
    p.add_argument("--held-out", metavar="CSV", help="runs not used in the fit, checked against the bands")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output .html file")
    p.set_defaults(func=cmd_report)

    _add_compare_parser(sub, common)
    _add_backtest_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): return the status, as for every command
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    args.quiet = bool(getattr(args, "quiet", False))
    from .errors import BayeslawError

    try:
        return args.func(args)
    except BayeslawError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
