"""Simulation-based calibration (Talts et al. 2018) of the power_law fit on the calibration ladder.

Truths are drawn from the prior itself (fixed numeric priors, so the prior does not depend on the
data), ladders are simulated from them, and each is fitted. If the model and the sampler are
right, the rank of each true parameter among its posterior draws is uniform, and the 90% mean-law
interval at any target covers the true law in 90% of simulations on average over the prior.
A failure here is a bug (model, sampler, or prediction code); a pass with miscoverage at one fixed
truth (README) is frequentist miscoverage at that truth, which Bayesian intervals do not promise.

Usage::

    python case_studies/calibration/sbc.py --sims 200 --out case_studies/calibration/results/sbc_power_law.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

PRIORS = {"E": "HalfNormal(2.5)", "a": "Normal(0.92, 2)", "alpha": "Gamma(2, 5)", "sigma": "HalfNormal(0.2)"}
D = np.geomspace(1e8, 1e10, 20)
TARGETS = D.max() * np.array([10.0, 100.0])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sims", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    import numpyro

    numpyro.set_host_device_count(4)
    import jax

    jax.config.update("jax_enable_x64", True)
    import bayeslaw

    x = np.log(D) - np.log(D).mean()
    xt = np.log(TARGETS) - np.log(D).mean()
    rows = []
    for sim in range(args.sims):
        rng = np.random.default_rng(10_000 + sim)
        E, a, alpha, sigma = rng.normal(0, 2.5), rng.normal(0.92, 2), rng.gamma(2, 1 / 5), rng.normal(0, 0.2)
        E, sigma = abs(E), abs(sigma)
        loss = np.exp(np.logaddexp(np.log(E), a - alpha * x) + sigma * rng.standard_normal(len(D)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bayeslaw.fit(pd.DataFrame({"D": D, "loss": loss}), "power_law", likelihood="normal", priors=PRIORS,
                               seed=sim, progress_bar=False)
        row = {"sim": sim, "divergences": int(fit.idata["sample_stats"]["diverging"].sum()),
               "r_hat_max": float(fit.summary()["r_hat"].max())}
        for name, truth in (("E", E), ("a", a), ("alpha", alpha), ("sigma", sigma)):
            draws = fit.draws(name)[::4]  # thinned to 1000 (4000 draws), ranks in 0..1000
            row[f"rank_{name}"] = int((draws < truth).sum())
        mean = fit.predict(D=TARGETS).draws("mean")
        true_t = np.exp(np.logaddexp(np.log(E), a - alpha * xt))
        lo, hi = np.quantile(mean, [0.05, 0.95], axis=0)
        for i, t in enumerate(true_t):
            row[f"t{i}_mean_cov"] = int(lo[i] <= t <= hi[i])
        rows.append(row)
        if (sim + 1) % 20 == 0:
            print(f"{sim + 1}/{args.sims}", flush=True)
    df = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(args.out, index=False)
    from scipy import stats

    for name in ("E", "a", "alpha", "sigma"):
        counts = np.histogram(df[f"rank_{name}"], bins=10, range=(0, 1001))[0]
        chi2 = stats.chisquare(counts)
        print(f"{name}: rank histogram (10 bins) {counts.tolist()}  chi-square p = {chi2.pvalue:.3f}")
    for i, t in enumerate(TARGETS):
        c = df[f"t{i}_mean_cov"]
        print(f"90% mean-law interval at D = {t:.0e}: coverage {c.mean():.3f} over {len(c)} prior draws")
    print(f"simulations with divergences: {(df.divergences > 0).mean():.2f}; R-hat > 1.01: {(df.r_hat_max > 1.01).mean():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
