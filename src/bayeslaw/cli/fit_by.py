"""``bayeslaw fit --by COLUMN``: every group of rows fitted on its own, in one compiled program
(:func:`bayeslaw.fit_many`); with ``--out``, one saved fit per group plus ``summary.csv``."""

from __future__ import annotations

import argparse
import re
import sys
import warnings

from . import common as c

SUMMARY = "summary.csv"


def folder_names(keys) -> dict:
    """A file-system-safe, unique folder name for each data set's key (tuples joined by ``_``)."""
    out, used = {}, set()
    for key in keys:
        text = "_".join(map(str, key)) if isinstance(key, tuple) else str(key)
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "group"
        base, i = name, 2
        while name in used:
            name, i = f"{base}-{i}", i + 1
        used.add(name)
        out[key] = name
    return out


def run(args: argparse.Namespace) -> int:
    from ..core import interrupts
    from ..core.paths import check_output, staging
    from ..core.records import resolve_ci_prob
    from ..inference.many import fit_many

    dest = None
    if args.out:  # refused before sampling if it cannot be written; only a folder of fits is replaced
        dest = check_output(args.out, flag="--out", overwrite=args.overwrite, directory=True,
                            what="a folder of fits made by bayeslaw fit --by",
                            replaceable=lambda d: (d / SUMMARY).exists())
    ci_prob = resolve_ci_prob(args.ci_prob)
    by = args.by[0] if len(args.by) == 1 else list(args.by)
    c.setup_jax(args.num_chains)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = fit_many(args.data, args.law, by=by, x=c.parse_x(args.x), y=args.y, priors=c.parse_priors(args.prior),
                        flops_per_param_token=args.flops_per_token, run=args.run, progress_bar=c.progress(args),
                        **c.likelihood_kw(args.likelihood), **c.curvature_kw(args), **c.sampler_kwargs(args))
    interrupts.check()
    c.emit_warnings(caught, args.quiet)
    ignored = list(dict.fromkeys(col for f in fits.values() for col in f.spec.data.ignored))
    note = c.ignored_note(str(args.data), ignored)
    if note and not args.quiet:
        print(note, file=sys.stderr)
    names = folder_names(list(fits))
    table = fits.summary(ci_prob)
    table.insert(0, "folder", [names[k] for k in fits for _ in range(len(fits[k].param_names))])
    if dest is not None:
        with staging() as st:   # every fit in one temporary folder, renamed to --out at the end
            tmp = st.directory(dest)
            for key, f in fits.items():
                f.save(tmp / names[key])
            table.to_csv(tmp / SUMMARY)
    bad = [str(k) for k, f in fits.items() if not f.converged]
    if args.format == "json":
        folder = {str(k): name for k, name in names.items()}
        print(c.dump_json({"by": by, "n_fits": len(fits), "ci_prob": ci_prob, "interval": "hdi",
                           "fits": [dict(r, folder=folder[r["curve"]]) for r in fits.to_records(ci_prob)],
                           "not_converged": bad, "out": str(args.out) if args.out else None}))
        return 0
    print(f"law: {next(iter(fits.values())).law.name}; {len(fits)} fits, one per value of {', '.join(args.by)}; "
          f"{len(bad)} with diagnostic warnings" + (f" ({', '.join(bad[:10])}{', ...' if len(bad) > 10 else ''})"
                                                    if bad else ""))
    print(c.format_table(table.drop(columns=["failed_checks"]),
                         formats={"r_hat": "{:.3f}", "ess_bulk": "{:.0f}", "ess_tail": "{:.0f}"}))
    if args.out:
        print(f"saved: {args.out} (one folder per fit, and {SUMMARY})")
    return 0

