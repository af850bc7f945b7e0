"""How wide a curvature prior: held-out coverage on Chinchilla against widening where the law is exact.

For each prior scale s of ``--scales`` the curvature coefficients of ``chinchilla_curved`` get
Normal(0, s) (the module's default is one of them; ``--family Cauchy`` or ``--family StudentT --df 3``: a
heavy-tailed prior of scale s) and the law is (a) backtested on the bundled
Chinchilla runs (all 245, and the 240 Epoch kept) with the top 20% of compute held out, and (b)
fitted to the sharpness study's synthetic ladders where the plain law is exact (``sharpness.py``:
48 runs, Student-t(3) noise, targets 10-100x beyond), next to the plain law. Writes
``OUT/curvature_scale/summary.json`` and ``summary.md`` (``curvature_scale_cauchy``, ``curvature_scale_studentt3``
for the other families). Every model runs with the same sampler settings (``--num-warmup``, ``--num-chains``,
``--target-accept``). Usage::

    python case_studies/real_data_calibration/curvature_scale.py --scales 0.01 0.005 0.0025 0.0012 --ladders 20
    python case_studies/real_data_calibration/curvature_scale.py --family Cauchy --scales 0.0003 --ladders 40 \
        --num-warmup 2000 --target-accept 0.95
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import ladders  # noqa: E402
import sharpness  # noqa: E402


FAMILIES = ("Normal", "Cauchy", "StudentT")


def with_scale(scale: float, family: str = "Normal", df: float = 3.0):
    """chinchilla_curved with ``family``(0, scale) curvature priors (Normal or Cauchy: a heavy-tailed prior peaked
    at 0 shrinks a small curvature and lets a large one through), registered as chinchilla_curved_s<scale> (a
    ``c`` after the ``s`` for Cauchy, ``t<df>_`` for StudentT with ``df`` degrees of freedom)."""
    from bayeslaw.core import curvature
    from bayeslaw.core.catalogue import get_law, register
    from bayeslaw.core.priors import Prior

    prior = Prior(family, df=df, loc=0.0, scale=scale) if family == "StudentT" else Prior(family, loc=0.0, scale=scale)
    law = curvature.curved(get_law("chinchilla"), replace(curvature.CURVATURE, prior=prior))
    tag = {"Normal": "", "Cauchy": "c", "StudentT": f"t{df:g}_"}[family]
    return register(replace(law, name=f"chinchilla_curved_s{tag}{scale:g}".replace(".", "p")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--scales", nargs="+", type=float, default=[0.01, 0.005, 0.0025, 0.0012])
    ap.add_argument("--ladders", type=int, default=20)
    ap.add_argument("--num-chains", type=int, default=4)
    ap.add_argument("--family", choices=FAMILIES, default="Normal", help="the curvature prior's family")
    ap.add_argument("--df", type=float, default=3.0, help="degrees of freedom of a StudentT family")
    ap.add_argument("--target-accept", type=float, default=0.8, help="NUTS target acceptance probability")
    ap.add_argument("--num-warmup", type=int, default=1000, help="for every model (curved laws' default: 2000)")
    ap.add_argument("--no-240", action="store_true", help="backtest the 245 runs only (not also Epoch's 240)")
    args = ap.parse_args(argv)
    sampler = {"num_samples": 1000, "num_warmup": args.num_warmup, "num_chains": args.num_chains,
               "target_accept_prob": args.target_accept}
    names = {s: with_scale(s, args.family, args.df).name for s in args.scales}
    models = ["chinchilla/student_t"] + [f"{names[s]}/student_t" for s in args.scales]
    rows = []
    datas = ("chinchilla",) if args.no_240 else ("chinchilla", "chinchilla240")
    for data in datas:
        runs = ladders.ladder(data)
        for model in models:
            row, _ = ladders.run_split(data, runs, 0.2, model, sampler)
            rows.append(row)
            print(f"{data} {model}: 90% {row['coverage_90']:.3f}, 50% {row['coverage_50']:.3f}", flush=True)
    sharp = sharpness.summarise(sharpness.run(models, args.ladders, sampler), models)
    table = ["| curvature prior | Chinchilla 245, top 20%: 90% / 50% coverage | elpd per held-out run | "
             "Chinchilla 240, top 20%: 90% / 50% | synthetic exact-law ladders: 90% coverage | width ratio | "
             "fits with warnings |", "|---|---|---|---|---|---|---|"]
    for model, sh in zip(models, sharp):
        r245, r240 = (next((r for r in rows if r["model"] == model and r["data"] == d),
                           {"coverage_90": float("nan"), "coverage_50": float("nan"), "elpd_test_per_run": float("nan")})
                      for d in ("chinchilla", "chinchilla240"))
        label = "none (plain law)" if model.startswith("chinchilla/") else \
            (f"StudentT({args.df:g}, 0, " if args.family == "StudentT" else f"{args.family}(0, ") + \
            f"{args.scales[models.index(model) - 1]:g})"
        table.append(f"| {label} | {r245['coverage_90']:.3f} / {r245['coverage_50']:.3f} | {r245['elpd_test_per_run']:.2f} | "
                     f"{r240['coverage_90']:.3f} / {r240['coverage_50']:.3f} | {sh['coverage_90']:.3f} "
                     f"[{sh['coverage_90_ci'][0]:.2f}, {sh['coverage_90_ci'][1]:.2f}] | {sh['width_ratio']:.2f} | "
                     f"{sh['share_fits_with_warnings']:.2f} |")
    variant = args.family.lower() + (f"{args.df:g}" if args.family == "StudentT" else "")
    out = args.out / ("curvature_scale" if variant == "normal" else f"curvature_scale_{variant}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"sampler": sampler, "family": args.family, "df": args.df if args.family == "StudentT" else None, "scales": args.scales, "backtests": rows,
                                                  "sharpness": sharp}, indent=1, allow_nan=False) + "\n")
    (out / "summary.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
