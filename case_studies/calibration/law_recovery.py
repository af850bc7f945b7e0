"""Synthetic law recovery: data from law X -> do PSIS-LOO and a backtest pick X?

For each generating law, simulate ladders with known parameters and 2% Gaussian noise on log
loss (as in ladders.py), fit every candidate law with the defaults, and record which law
PSIS-LOO ranks first (``bayeslaw.compare``, exact refits for Pareto k > 0.7) and which law a
backtest ranks first (fit the 80% smallest runs, score the 20% largest by held-out elpd).

Candidate sets (non-nested laws, so that "pick X" is well posed):

- laws of N and D, on 8 model sizes (2e7-1e9) x 6 tokens-per-parameter ratios (5-160):
  ``chinchilla`` (Hoffmann et al. 2022: E 1.69, A 406.4, B 410.7, alpha 0.34, beta 0.28),
  ``kaplan`` (Kaplan et al. 2020 eq. 1.5: N_c 6.4e13, D_c 1.8e13, alpha_N 0.076, alpha_D 0.103);
- laws of one size D, 20 sizes 1e8-1e10 (``--x-decades 3``: 30 sizes 1e7-1e10): ``power_law`` (E 1.7, A 400, alpha 0.3) and ``m3``
  (beta 750, gamma 1/3e9, c 0.3: no floor, flattens beyond x = 3e9).

Usage::

    python case_studies/calibration/law_recovery.py --seeds 10 --out case_studies/calibration/results/law_recovery.csv
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SIGMA = 0.02


def _ladder_nd():
    N = np.repeat(np.geomspace(2e7, 1e9, 8), 6)
    return pd.DataFrame({"N": N, "D": N * np.tile(np.geomspace(5, 160, 6), 8)})


X_DECADES = 2  # one-variable ladders: 10 sizes per decade, ending at D = 1e10 (--x-decades)


def _ladder_x():
    return pd.DataFrame({"D": np.geomspace(10.0 ** (10 - X_DECADES), 1e10, 10 * X_DECADES)})


GENERATORS = {
    "chinchilla": (_ladder_nd, lambda f: 1.69 + 406.4 / f.N ** 0.34 + 410.7 / f.D ** 0.28,
                   ("chinchilla", "kaplan")),
    "kaplan": (_ladder_nd, lambda f: ((6.4e13 / f.N) ** (0.076 / 0.103) + 1.8e13 / f.D) ** 0.103,
               ("chinchilla", "kaplan")),
    "power_law": (_ladder_x, lambda f: 1.7 + 400 * f.D ** -0.3, ("power_law", "m3")),
    "m3": (_ladder_x, lambda f: 750 * (1 / f.D + 1 / 3e9) ** 0.3, ("power_law", "m3")),
}


def one(truth: str, seed: int, sampler: dict) -> dict:
    import bayeslaw

    make, formula, candidates = GENERATORS[truth]
    frame = make()
    rng = np.random.default_rng(seed)
    frame["loss"] = formula(frame) * np.exp(SIGMA * rng.standard_normal(len(frame)))
    runs = bayeslaw.load_runs(frame)
    x = "D" if "N" not in frame else None
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sampler warnings are counted below, not printed
        fits = {law: bayeslaw.fit(runs, law, x=x, seed=seed, **sampler) for law in candidates}
        cmp = bayeslaw.compare(fits)
        bt = bayeslaw.backtest(runs, list(candidates), by="C" if x is None else "D", holdout_top=0.2, x=x,
                               seed=seed, **sampler)
    row = {"truth": truth, "seed": seed, "loo_pick": cmp.best, "backtest_pick": bt.best,
           "wall_s": round(time.perf_counter() - t0, 1),
           "fits_with_warnings": sum(bool(f.diagnostics) for f in fits.values())}
    # generic column names (candidate_a, candidate_b): one CSV holds every candidate set
    for tag, law in zip("ab", candidates):
        row[f"candidate_{tag}"] = law
        row[f"elpd_loo_{tag}"] = float(cmp.table.loc[law, "elpd_loo"])
        row[f"elpd_test_{tag}"] = float(bt.table.set_index("law").loc[law, "elpd_test"])
    row["loo_diff_se"] = float(cmp.table["dse"].iloc[1])
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--truths", default=",".join(GENERATORS))
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--x-decades", type=int, default=2,
                   help="span of the one-variable ladders in decades, 10 sizes per decade (default 2: 1e8-1e10)")
    p.add_argument("--out", type=Path, default=HERE / "results" / "law_recovery.csv")
    args = p.parse_args(argv)
    global X_DECADES
    X_DECADES = args.x_decades
    import numpyro

    numpyro.set_host_device_count(args.num_chains)
    import jax

    jax.config.update("jax_enable_x64", True)
    sampler = dict(num_warmup=args.num_warmup, num_samples=args.num_samples, num_chains=args.num_chains)
    done = pd.read_csv(args.out) if args.out.exists() else pd.DataFrame(columns=["truth", "seed"])
    for truth in args.truths.split(","):
        for seed in range(args.seeds):
            if ((done["truth"] == truth) & (done["seed"] == seed)).any():
                continue
            row = one(truth, seed, sampler)
            print(row["truth"], row["seed"], "LOO ->", row["loo_pick"], "| backtest ->", row["backtest_pick"],
                  f"({row['wall_s']} s)", flush=True)
            pd.DataFrame([row]).to_csv(args.out, mode="a", header=not args.out.exists(), index=False)
    df = pd.read_csv(args.out)
    summary = pd.DataFrame([{"truth": t, "seeds": len(g), "loo_picks_truth": int((g["loo_pick"] == t).sum()),
                             "backtest_picks_truth": int((g["backtest_pick"] == t).sum())}
                            for t, g in df.groupby("truth")])
    print(summary.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
