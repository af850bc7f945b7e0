"""Checks of one curvature prior on data that did not choose it: Marin IsoFLOP backtests and the full Chinchilla fit.

The curvature prior of ``curvature_scale.py`` (``--family``, ``--df``, ``--scale``; the scale is
chosen there on the Chinchilla split and the synthetic ladders) is checked against the plain ``chinchilla`` law
(both with ``student_t`` noise) on

- the three Marin 2026 IsoFLOP ladders of ``--isoflop`` (``marin_202603.csv``: comma, DCLM, Nemotron; every row,
  the upstream outlier flags not applied): the top 20% by compute held out, as ``ladders.run_split`` scores it;
- all 245 bundled Chinchilla runs: the posterior medians and 90% intervals of E, alpha and beta, the sampler's
  diagnostics, and whether ``optimal_allocation(fit, 1e24)`` answers (N*, D*, tokens per parameter).

Both laws run with the same sampler (default NUTS 4 x (2000 + 1000), target acceptance 0.95, as the
``curvature_scale.py`` run it is read beside). Writes ``OUT/curvature_scale_<variant>/checks.json`` and
``checks.md`` (``checks_draws<n>.*`` with ``--num-samples n`` other than 1000). Usage::

    python case_studies/real_data_calibration/curvature_checks.py --family Cauchy --scale 0.0003
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import curvature_scale  # noqa: E402
import ladders  # noqa: E402

ISOFLOP = HERE.parents[2] / "shared" / "data" / "isoflop"


def marin(path: Path) -> dict[str, pd.DataFrame]:
    """The Marin IsoFLOP runs per data set (columns N, D, loss)."""
    table = pd.read_csv(path / "marin_202603.csv")
    return {name: g.rename(columns={"params": "N", "tokens": "D"})[["N", "D", "loss"]].reset_index(drop=True)
            for name, g in table.groupby("dataset")}


def backtest_sets(isoflop: Path) -> dict[str, pd.DataFrame]:
    """The five ladders the orthogonal term is backtested on: the Chinchilla 245 and 240 runs and, where
    ../shared/data/isoflop is present, the three Marin IsoFLOP ladders (``marin_<data set>``)."""
    sets = {"chinchilla": ladders.ladder("chinchilla"), "chinchilla240": ladders.ladder("chinchilla240")}
    if isoflop.exists():
        sets.update({f"marin_{k}": v for k, v in marin(isoflop).items()})
    return sets


def full_fit(law: str, sampler: dict) -> dict:
    """E, alpha, beta (median, 90% interval), diagnostics and the allocation at 1e24 FLOPs on all 245 runs."""
    import bayeslaw
    from bayeslaw.posterior.predict import posterior_params

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        # the law as named (the plain law, as in the committed results, made before curvature="auto" became the
        # default, 2026-12-03; the registered curved law keeps its term)
        fit = bayeslaw.fit(ladders.ladder("chinchilla"), law=law, likelihood="student_t", curvature=False, **sampler)
    draws = posterior_params(fit)
    row = {"law": law, "diagnostics": [d["check"] for d in fit.spec.diagnostics]}
    for name in ("E", "alpha", "beta"):
        row[name] = [float(v) for v in np.quantile(draws[name], [0.5, 0.05, 0.95])]
    try:
        t = bayeslaw.optimal_allocation(fit, 1e24, ci_prob=0.9).table.iloc[0]
        row["allocation_1e24"] = {q: [float(t[f"{q}_median"]), float(t[f"{q}_lower"]), float(t[f"{q}_upper"])]
                                  for q in ("N_opt", "D_opt", "tokens_per_param", "loss_opt")}
    except bayeslaw.BayeslawError as exc:
        row["allocation_1e24"] = str(exc)
    return row


def _q(v: list[float], fmt: str = ".3f") -> str:
    return f"{v[0]:{fmt}} [{v[1]:{fmt}}, {v[2]:{fmt}}]"


def markdown(backtests: list[dict], fits: list[dict]) -> str:
    out = ["| Marin data set | law | 90% / 50% coverage | elpd per held-out run | RMSLE | warnings |", "|---|---|---|---|---|---|"]
    out += [f"| {r['data']} | {r['model']} | {r['coverage_90']:.3f} / {r['coverage_50']:.3f} | {r['elpd_test_per_run']:.2f} | "
            f"{r['rmsle']:.4f} | {', '.join(r['diagnostics']) or 'none'} |" for r in backtests]
    out += ["", "| all 245 Chinchilla runs | E | alpha | beta | N* at 1e24 | tokens per parameter at 1e24 | warnings |",
            "|---|---|---|---|---|---|---|"]
    for f in fits:
        a = f["allocation_1e24"]
        alloc = (_q(a["N_opt"], ".3g"), _q(a["tokens_per_param"], ".1f")) if isinstance(a, dict) else (a, "")
        out.append(f"| {f['law']} | {_q(f['E'])} | {_q(f['alpha'])} | {_q(f['beta'])} | {alloc[0]} | {alloc[1]} | "
                   f"{', '.join(f['diagnostics']) or 'none'} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--family", choices=curvature_scale.FAMILIES, default="Cauchy")
    ap.add_argument("--df", type=float, default=3.0)
    ap.add_argument("--scale", type=float, default=0.0003)
    ap.add_argument("--isoflop", type=Path, default=ISOFLOP)
    ap.add_argument("--num-chains", type=int, default=4)
    ap.add_argument("--num-warmup", type=int, default=2000)
    ap.add_argument("--num-samples", type=int, default=1000, help="per chain; other than 1000: checks_draws<n>.*")
    ap.add_argument("--target-accept", type=float, default=0.95)
    args = ap.parse_args(argv)
    sampler = {"num_samples": args.num_samples, "num_warmup": args.num_warmup, "num_chains": args.num_chains,
               "target_accept_prob": args.target_accept}
    name = curvature_scale.with_scale(args.scale, args.family, args.df).name
    laws = ["chinchilla", name]
    backtests = []
    for data, runs in marin(args.isoflop).items():
        for law in laws:
            row, _ = ladders.run_split(f"marin_{data}", runs, 0.2, f"{law}/student_t", sampler)
            backtests.append(row)
            print(f"{data} {law}: 90% {row['coverage_90']:.3f} 50% {row['coverage_50']:.3f}", flush=True)
    fits = [full_fit(law, sampler) for law in laws]
    variant = args.family.lower() + (f"{args.df:g}" if args.family == "StudentT" else "")
    out = args.out / f"curvature_scale_{variant}"
    out.mkdir(parents=True, exist_ok=True)
    stem = "checks" if args.num_samples == 1000 else f"checks_draws{args.num_samples}"
    (out / f"{stem}.json").write_text(json.dumps({"sampler": sampler, "law": name, "scale": args.scale,
                                                 "backtests": backtests, "full_chinchilla": fits}, indent=1) + "\n")
    (out / f"{stem}.md").write_text(markdown(backtests, fits))
    print(markdown(backtests, fits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
