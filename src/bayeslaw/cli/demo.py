"""``bayeslaw demo``: the Chinchilla law fitted to the bundled runs, with every output the toolkit makes."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from . import common as c
from .fit import render

EPILOG = """example:
  bayeslaw demo --out bayeslaw-demo

Writes the fit (fit/), five figures and report.html to --out, all at once when the demo ends (an
interrupted demo writes nothing). An existing --out folder is replaced only with --overwrite, and
only if it holds nothing but a demo's outputs. Intervals are 90%. The 245 runs are a ladder of at
least 5 runs per parameter, so the law gets its orthogonal curvature term (`bayeslaw fit ...
--curvature off` fits the plain law, which reproduces Epoch AI's refit).
"""

CHINCHILLA = {"N": 70e9, "D": 1.4e12}   # Chinchilla itself (Hoffmann et al. 2022, Table 3)
BUDGET = 5.76e23                       # its compute in FLOPs
CI_PROB = 0.9
FIGURES = ("curve.png", "curve_by_size.png", "params.png", "diagnostics.png", "optimum.png")
OUTPUTS = frozenset({"fit", "report.html", *FIGURES})   # what a demo's folder holds


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "demo", help="fit the bundled Chinchilla example and write every output",
                         description="Fit the Chinchilla law to the bundled Chinchilla runs (Epoch AI's "
                                     "digitisation of Hoffmann et al. 2022) and write the fit, figures and an "
                                     "HTML report to a folder.", epilog=EPILOG)
    p.add_argument("--out", default="bayeslaw-demo", metavar="DIR",
                   help="folder for the demo's outputs (default bayeslaw-demo)")
    c.add_overwrite(p, "--out folder of an earlier demo")
    c.add_sampler_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")

    from .. import example_data_path
    from ..core import interrupts
    from ..core.paths import check_output, staging
    from ..inference.fit import fit
    from ..inference.plan import plan_fit
    from ..posterior.decide import optimal_allocation
    from ..posterior.predict import predict

    out = Path(args.out)
    dest = check_output(out, flag="--out", overwrite=args.overwrite, directory=True, what="the output of a bayeslaw demo",
                 replaceable=lambda d: {p.name for p in d.iterdir()} <= OUTPUTS)
    plan = plan_fit(example_data_path(), "chinchilla", **c.sampler_kwargs(args))
    c.setup_jax(args.num_chains)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    print(f"bayeslaw demo: the Chinchilla law fitted to the bundled runs ({example_data_path().name}: "
          "245 runs of Hoffmann et al. 2022, digitised by Epoch AI)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(plan, progress_bar=c.progress(args))
    interrupts.check()   # a Ctrl-C during sampling stops here, even if its exception was swallowed on the way
    c.emit_warnings(caught, args.quiet)
    with staging() as st:   # every output in a temporary folder, renamed to --out at the end
        tmp = st.directory(dest)
        _write(result, tmp)
    print(render(result, "table", out / "fit", CI_PROB))
    r = predict(result, ci_prob=CI_PROB, **CHINCHILLA).to_records()[0]
    print("\nprediction for Chinchilla itself (N = 70B parameters, D = 1.4T tokens), 90% intervals:")
    print(f"  the law:   {r['mean_law']['median']:.3f} [{r['mean_law']['lower']:.3f}, {r['mean_law']['upper']:.3f}]")
    print(f"  a new run: {r['new_run']['median']:.3f} [{r['new_run']['lower']:.3f}, {r['new_run']['upper']:.3f}]"
          f"   ({r['extrapolation_decades']['N']:.2f} decades beyond the largest fitted N)")
    opt = optimal_allocation(result, C=BUDGET, ci_prob=CI_PROB).to_records()[0]
    print("\ncompute-optimal allocation at C = 5.76e23 FLOPs (Chinchilla's budget), 90% intervals:")
    for key, label in (("N_opt", "parameters N*"), ("D_opt", "tokens D*"), ("tokens_per_param", "tokens per parameter"),
                       ("loss_opt", "loss")):
        q = opt[key]
        print(f"  {label:<21} {q['median']:.4g} [{q['lower']:.4g}, {q['upper']:.4g}]")

    say(f"\nwrote {out / 'fit'}/ (the fit), {', '.join(FIGURES)} and report.html to {out}/")
    say("next: open the report in a browser, or try `bayeslaw predict`, `bayeslaw optimum`, `bayeslaw plot`.")
    return 0


def _write(result, folder: Path) -> None:
    """The demo's outputs (the fit, five figures, the report), written to ``folder``."""
    import matplotlib.pyplot as plt

    from ..plots import plot_curve, plot_diagnostics, plot_optimum, plot_params, save_figure
    from ..report import write_report

    result.save(folder / "fit")
    target = {k: [v] for k, v in CHINCHILLA.items()}
    figures = {
        "curve.png": lambda: plot_curve(result, target, ci_prob=CI_PROB),
        "curve_by_size.png": lambda: plot_curve(result, slice="N", ci_prob=CI_PROB),
        "params.png": lambda: plot_params(result),
        "diagnostics.png": lambda: plot_diagnostics(result),
        "optimum.png": lambda: plot_optimum(result, budget=BUDGET, ci_prob=CI_PROB),
    }
    for name in FIGURES:
        save_figure(figures[name](), folder / name)
        plt.close("all")
    write_report(result, folder / "report.html", targets=target, compute=[BUDGET], ci_prob=CI_PROB)
