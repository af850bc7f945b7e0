"""Probe: does a parameterisation with priors on observables fix power_law's one-sided misses?

``power_law`` samples (E, a, alpha) with E ~ HalfNormal(y0), alpha ~ Gamma(2, 5). Here the same law
L = E + A x^-alpha is sampled by what the ladder observes: the log loss at the largest size
(``l_hi``), the log drop in loss across the ladder (``d``, from the smallest size to the largest)
and the floor as a fraction of the last loss (``u = E / L_hi`` ~ Uniform(0, 1)). alpha follows:
alpha = [log(e^d - u) - log(1 - u)] / (x_hi - x_lo). The anchors x_lo, x_hi are the ends of the
calibration ladder (D = 1e8 and 1e10, centred), so this is a probe for that design only, not a
catalogue law. Writes rows like run.py's (coverage, width, PIT) to OUT/power_law_<noise>.csv.

``--anchor far`` samples instead the loss drop *beyond* the ladder, over as many decades again: with
``l_hi`` and ``d`` as above and ``v`` ~ Uniform(0, 1) the share of the largest drop the law allows
between the largest size and 100x beyond it (v = 0: no further drop, the floor is the last loss;
v = 1: the floor is 0). In closed form E = L_hi (1 - v) / (1 - v e^-d) and alpha = (d - log v) / (2H),
so alpha is the pure power law's slope d / (2H) plus an Exponential(rate 2H) excess. A flat prior on
the extrapolated value is the choice that matches frequentist coverage when the estimate behaves
like a location parameter.

Usage::

    python case_studies/calibration/probe_anchored.py --ladders 80 --out OUT [--anchor far]
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
sys.path.insert(0, str(HERE))
H = np.log(100.0) / 2  # the ladder spans 2 decades, centred: x in [-H, H]


def _ladder_params():
    """Priors on what the ladder observes, shared by both anchored forms: l_hi and d."""
    from bayeslaw.law import Param
    from bayeslaw.priors import Prior

    return {"l_hi": Param(Prior("Normal", loc="log_y0", scale=1.0), "loss at the largest size ~ loss scale",
                          "log loss at the largest ladder size"),
            "d": Param(Prior("HalfNormal", scale=1.0), "the loss falls by a factor e^d < e^2 across the ladder",
                       "log of L(smallest) / L(largest)")}


def anchored_law():
    import jax.numpy as jnp

    from bayeslaw.law import Law, Param, logsumexp
    from bayeslaw.priors import Prior

    def log_mean(x, l_hi, d, u):
        alpha = (jnp.log(jnp.exp(d) - u) - jnp.log1p(-u)) / (2 * H)
        log_g_hi = l_hi + jnp.log1p(-u)
        return logsumexp(l_hi + jnp.log(u), log_g_hi - alpha * (x["x"] - H))

    return Law(
        name="power_law_anchored", inputs=("x",), log_mean=log_mean,
        params={**_ladder_params(),
                "u": Param(Prior("Uniform", low=0.0, high=1.0), "the floor is anywhere below the last loss",
                           "E / L(largest)")},
        formula="L = E + A * x^-alpha (anchored)", reference="probe", report=("l_hi", "d", "u"),
        description="probe")


def far_anchored_law():
    import jax.numpy as jnp

    from bayeslaw.law import Law, Param, logsumexp
    from bayeslaw.priors import Prior

    def log_mean(x, l_hi, d, v):
        q = v * jnp.exp(-d)
        log_E = l_hi + jnp.log1p(-v) - jnp.log1p(-q)
        log_g_hi = l_hi + jnp.log(v) + jnp.log(-jnp.expm1(-d)) - jnp.log1p(-q)
        alpha = (d - jnp.log(v)) / (2 * H)
        return logsumexp(log_E, log_g_hi - alpha * (x["x"] - H))

    return Law(
        name="power_law_far_anchored", inputs=("x",), log_mean=log_mean,
        params={**_ladder_params(),
                "v": Param(Prior("Uniform", low=0.0, high=1.0),
                           "any further drop over the next two decades, up to the floor-free power law",
                           "drop from the largest size to 100x beyond, as a share of its largest value")},
        formula="L = E + A * x^-alpha (far-anchored)", reference="probe", report=("l_hi", "d", "v"),
        description="probe")


def run(noise: str, seed: int, law) -> dict:
    import bayeslaw
    from ladders import DESIGNS, make_ladder

    design = DESIGNS["power_law"]
    ladder, targets = make_ladder(design, noise, seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(ladder, law, x="D", seed=seed, progress_bar=False)
    pred = fit.predict(targets=targets[["D"]], interval=0.9, seed=seed)
    t, mean_draws = pred.table, pred.draws("mean")
    row = {"law": "power_law", "noise": noise, "seed": seed, "wall_s": time.perf_counter() - t0,
           "r_hat_max": float(fit.summary()["r_hat"].max()),
           "divergences": int(fit.idata["sample_stats"]["diverging"].sum())}
    for i in range(len(targets)):
        truth, fresh = targets["true_mean"].iloc[i], targets["fresh_run"].iloc[i]
        row[f"t{i}_mean_cov"] = int(t["mean_lower"].iloc[i] <= truth <= t["mean_upper"].iloc[i])
        row[f"t{i}_new_cov"] = int(t["new_run_lower"].iloc[i] <= fresh <= t["new_run_upper"].iloc[i])
        row[f"t{i}_mean_width"] = float((t["mean_upper"].iloc[i] - t["mean_lower"].iloc[i]) / truth)
        row[f"t{i}_mean_pit"] = float((mean_draws[..., i] < truth).mean())
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ladders", type=int, default=80)
    p.add_argument("--noise", default="normal,student_t3")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--anchor", choices=["last", "far"], default="last",
                   help="last: floor as a fraction of the last loss; far: drop 100x beyond the ladder")
    args = p.parse_args(argv)
    import numpyro

    numpyro.set_host_device_count(4)
    import jax

    jax.config.update("jax_enable_x64", True)
    law = anchored_law() if args.anchor == "last" else far_anchored_law()
    args.out.mkdir(parents=True, exist_ok=True)
    for noise in args.noise.split(","):
        path = args.out / f"power_law_{noise}.csv"
        rows = [run(noise, seed, law) for seed in range(args.ladders)]
        pd.DataFrame(rows).to_csv(path, index=False)
        print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
