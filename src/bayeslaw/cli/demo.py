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

Writes the fit (fit/), five figures and report.html to --out. Intervals are 90%, to compare with
the published numbers printed beside them.
"""

CHINCHILLA = {"N": 70e9, "D": 1.4e12}   # Chinchilla itself (Hoffmann et al. 2022, Table 3)
BUDGET = 5.76e23                       # its compute in FLOPs
CI_PROB = 0.9


def add(sub, common) -> None:
    p = c.add_subcommand(sub, common, "demo", help="fit the bundled Chinchilla example and write every output",
                         description="Fit the Chinchilla law to the bundled Chinchilla runs (Epoch AI's "
                                     "digitisation of Hoffmann et al. 2022) and write the fit, figures and an "
                                     "HTML report to a folder.", epilog=EPILOG)
    p.add_argument("--out", default="bayeslaw-demo", metavar="DIR",
                   help="folder for the demo's outputs (default bayeslaw-demo)")
    c.add_sampler_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import example_data_path
    from ..inference.fit import fit
    from ..inference.plan import plan_fit
    from ..inference.store import check_output_dir
    from ..plots import plot_curve, plot_diagnostics, plot_optimum, plot_params, save_figure
    from ..posterior.decide import optimal_allocation
    from ..posterior.predict import predict
    from ..report import write_report

    out = Path(args.out)
    fit_dir = check_output_dir(out / "fit", overwrite=True, flag="--out")
    plan = plan_fit(example_data_path(), "chinchilla", **c.sampler_kwargs(args))
    c.setup_jax(args.num_chains)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    print(f"bayeslaw demo: the Chinchilla law fitted to the bundled runs ({example_data_path().name}: "
          "245 runs of Hoffmann et al. 2022, digitised by Epoch AI)\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(plan, progress_bar=c.progress(args))
    c.emit_warnings(caught, args.quiet)
    result.save(fit_dir, overwrite=True)
    print(render(result, "table", fit_dir, CI_PROB))
    print("\nEpoch AI's refit of the same data (Besiroglu et al. 2024): E 1.82, A 482, B 2085, alpha 0.348, "
          "beta 0.366;\nHoffmann et al. 2022 published E 1.69, A 406, B 411, alpha 0.34, beta 0.28.")

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

    target = {k: [v] for k, v in CHINCHILLA.items()}
    figures = {
        "curve.png": lambda: plot_curve(result, target, ci_prob=CI_PROB),
        "curve_by_size.png": lambda: plot_curve(result, slice="N", ci_prob=CI_PROB),
        "params.png": lambda: plot_params(result),
        "diagnostics.png": lambda: plot_diagnostics(result),
        "optimum.png": lambda: plot_optimum(result, budget=BUDGET, ci_prob=CI_PROB),
    }
    for name, make in figures.items():
        save_figure(make(), out / name)
        plt.close("all")
    report = write_report(result, out / "report.html", targets=target, compute=[BUDGET], ci_prob=CI_PROB)
    say(f"wrote {fit_dir}/ (the fit), {', '.join(figures)} and {report.name} to {out}/")
    say("next: open the report in a browser, or try `bayeslaw predict`, `bayeslaw optimum`, `bayeslaw plot`.")
    return 0
