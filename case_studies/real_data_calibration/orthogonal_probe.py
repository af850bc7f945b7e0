"""The orthogonal curvature term (``chinchilla_orthogonal``, ``curvature="orthogonal"``) against the plain law.

The ``<law>_curved`` discrepancy (a quadratic in the centred log inputs) trades off against the law's floor and
exponents: with a heavy-tailed Cauchy(0, 0.0003) prior it lifts held-out coverage on Chinchilla but moves E to
0.90 and alpha to 0.09 on all 245 runs (``curvature_scale.py``, ``curvature_checks.py``). After Plumlee (2017,
"Bayesian calibration with the orthogonal Gaussian process"), ``bayeslaw.core.curvature.orthogonal`` removes from
each quadratic term what the law's own parameters could fit over the training runs:

    log L = law(theta)(x) + sum_k c_k (phi_k(x) - J(x) B_k)

with ``J(x)`` the gradient of the law's log mean in its parameters at ``theta0`` (the plain law's posterior
medians on the same training runs) and ``B`` the least-squares coefficients of ``phi`` on ``J`` over those runs.
``theta0`` and ``B`` are fixed before sampling (a two-stage fit), so the discrepancy is a fixed linear basis;
its coefficients get Cauchy(0, 0.0003) priors (the shrinkage prior of ``curvature_scale.py --family Cauchy``).
(Linearising at each draw's own ``theta`` instead made the posterior multimodal on the 245 runs: chains stuck
in modes with E near 0 and curvature coefficients of 0.05-0.065; not kept.)

Measured, each against the plain ``chinchilla`` law with ``student_t`` noise and the same sampler:

- backtests with the top 20% by compute held out: Chinchilla 245 and 240 runs, the three Marin IsoFLOP ladders;
- all 245 Chinchilla runs: E, alpha, beta and the sampler's diagnostics;
- ``--ladders`` synthetic exact-law ladders of ``sharpness.py`` (48 runs, Student-t(3) noise of 2%, targets
  10-100x beyond): coverage of a fresh run by the 90% and 50% bands, the true mean by the 90% mean band, the median
  90% width and its ratio to the plain law's.

The orthogonal fit's time includes its first stage (the plain law's fit to the same runs). Writes
``OUT/orthogonal_probe/summary.json`` and ``summary.md``. Usage::

    python case_studies/real_data_calibration/orthogonal_probe.py --ladders 40
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
import curvature_checks  # noqa: E402
import ladders  # noqa: E402
import sharpness  # noqa: E402

def backtest_pair(data: str, runs: pd.DataFrame, sampler: dict) -> list[dict]:
    """The plain law's and the orthogonal law's backtests (top 20% by compute held out)."""
    return [ladders.run_split(data, runs, 0.2, f"{law}/student_t", sampler)[0]
            for law in ("chinchilla", "chinchilla_orthogonal")]


def full_fit(sampler: dict) -> list[dict]:
    """E, alpha, beta (median, 90% interval) and diagnostics on all 245 runs, plain and orthogonal."""
    import bayeslaw
    from bayeslaw.posterior.predict import posterior_params

    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        # the plain arm: the plain law, as in the committed results (made before curvature="auto" became the
        # default, 2026-12-03); ladders.run_split and sharpness.run pin it too
        plain = bayeslaw.fit(ladders.ladder("chinchilla"), law="chinchilla", likelihood="student_t", curvature=False,
                             **sampler)
        orth = bayeslaw.fit(ladders.ladder("chinchilla"), law="chinchilla_orthogonal", likelihood="student_t", **sampler)
    for label, fit in (("chinchilla", plain), ("chinchilla_orthogonal", orth)):
        draws = posterior_params(fit)
        row = {"law": label, "diagnostics": [d["check"] for d in fit.spec.diagnostics]}
        try:
            t = bayeslaw.optimal_allocation(fit, 1e24, ci_prob=0.9).table.iloc[0]
            row["allocation_1e24"] = {q: [float(t[f"{q}_median"]), float(t[f"{q}_lower"]), float(t[f"{q}_upper"])]
                                      for q in ("N_opt", "tokens_per_param")}
        except bayeslaw.BayeslawError as exc:
            row["allocation_1e24"] = str(exc)
        for name in ("E", "alpha", "beta", "curv_N", "curv_D", "curv_N_D"):
            if name in draws:
                row[name] = [float(v) for v in np.quantile(draws[name], [0.5, 0.05, 0.95])]
        out.append(row)
    return out


def synthetic(n: int, sampler: dict) -> pd.DataFrame:
    """sharpness.py's exact-law ladders: per ladder, model and target, hits, width and warnings (the orthogonal
    fit's time includes its first stage, the plain law's fit)."""
    return sharpness.run(["chinchilla/student_t", "chinchilla_orthogonal/student_t"], n, sampler)


def markdown(backtests: list[dict], fits: list[dict], sharp: list[dict]) -> str:
    out = ["| held out (top 20% by compute) | law | 90% / 50% coverage | elpd per held-out run | RMSLE | median 90% width | warnings |",
           "|---|---|---|---|---|---|---|"]
    out += [f"| {r['data']} | {r['model']} | {r['coverage_90']:.3f} / {r['coverage_50']:.3f} | {r['elpd_test_per_run']:.2f} | "
            f"{r['rmsle']:.4f} | {r['median_width_90']:.3f} | {', '.join(r['diagnostics']) or 'none'} |" for r in backtests]
    out += ["", "| all 245 Chinchilla runs | E | alpha | beta | curv_N | curv_D | N* at 1e24 | tokens per parameter | "
            "warnings |", "|---|---|---|---|---|---|---|---|---|"]
    q = curvature_checks._q
    for f in fits:
        cells = [q(f[k], ".4f") if k in f else "" for k in ("E", "alpha", "beta", "curv_N", "curv_D")]
        a = f["allocation_1e24"]
        cells += [q(a["N_opt"], ".3g"), q(a["tokens_per_param"], ".1f")] if isinstance(a, dict) else [a, ""]
        out.append(f"| {f['law']} | " + " | ".join(cells) + f" | {', '.join(f['diagnostics']) or 'none'} |")
    out += ["", sharpness.markdown(sharp)]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--ladders", type=int, default=40)
    ap.add_argument("--isoflop", type=Path, default=curvature_checks.ISOFLOP)
    ap.add_argument("--num-chains", type=int, default=4)
    ap.add_argument("--num-warmup", type=int, default=1000)
    ap.add_argument("--num-samples", type=int, default=1000)
    args = ap.parse_args(argv)
    sampler = {"num_samples": args.num_samples, "num_warmup": args.num_warmup, "num_chains": args.num_chains}
    backtests = []
    sets = curvature_checks.backtest_sets(args.isoflop)
    for data, runs in sets.items():
        for row in backtest_pair(data, runs, sampler):
            backtests.append(row)
            print(f"{data} {row['model']}: 90% {row['coverage_90']:.3f} 50% {row['coverage_50']:.3f} "
                  f"elpd {row['elpd_test_per_run']:.2f} {row['diagnostics']}", flush=True)
    fits = full_fit(sampler)
    print(fits, flush=True)
    df = synthetic(args.ladders, sampler)
    models = ["chinchilla/student_t", "chinchilla_orthogonal/student_t"]
    sharp = sharpness.summarise(df, models)
    out = args.out / "orthogonal_probe"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps({"sampler": sampler, "prior": "Cauchy(0, 0.0003)",
                                                  "backtests": backtests, "full_chinchilla": fits, "sharpness": sharp},
                                                 indent=1, allow_nan=False) + "\n")
    (out / "summary.md").write_text(markdown(backtests, fits, sharp))
    df.to_csv(out / "targets.csv", index=False, float_format="%.6g")
    print(markdown(backtests, fits, sharp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
