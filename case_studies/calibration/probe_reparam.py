"""Probe (session 5): power_law's default posterior, sampled in coordinates the ladder pins down.

On 20-run ladders most default fits end with a sampler warning (divergences in 64-81% of ladders,
R-hat > 1.01 in about half): NUTS moves in (E, a, alpha), where the floor and the exponent trade
off along a curved ridge. Session 2's anchored *law* (``probe_anchored.py``) removed the warnings
but changed the prior, and with it the coverage. Here the model is exactly the default one
(E ~ HalfNormal(y0), a ~ Normal(log y0, 2), alpha ~ Gamma(2, 5), sigma ~ HalfNormal(0.2),
nu ~ Gamma(2, 0.1), Student-t on log loss) and only the coordinates NUTS moves in change:

    z = (l_hi, log d, logit u)

with l_hi the log mean loss at the largest ladder size, d = log L(smallest) - log L(largest) the
log drop across the ladder and u = E / L(largest) the floor as a share of the last loss. The map
(E, a, alpha) <-> (l_hi, d, u) is a bijection of (0, inf) x R x (0, inf) onto R x (0, inf) x (0, 1);
the default prior density is carried over with the log-Jacobian of z -> (E, a, alpha) (jax.jacfwd),
so the posterior is the same and only the geometry differs.

Result (500 ladders per noise, `probes/reparam/`): divergences in 0% / 0.4% of ladders (Gaussian / t3)
against 81% / 66%, R-hat > 1.01 in 0% / 0.2% against 47% / 68%, and wider lower tails. The library now
samples power_law and compute this way (``Law.coordinates``, ``models/_floor_power.py``); this standalone
model, written without the engine, is kept as an independent check of that code.

Writes run.py-like rows (coverage, width, PIT, divergences, R-hat) to OUT/power_law_<noise>.csv.
``--compare K`` instead fits the first K ladders both ways and prints the two posteriors' quantiles
of E, alpha and the law at the targets (they should agree within Monte Carlo error).

Usage::

    python case_studies/calibration/probe_reparam.py --noise student_t3 --ladders 300 --out OUT [--first-seed S]
    python case_studies/calibration/probe_reparam.py --compare 4
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


def _setup(devices: int = 1):
    import numpyro

    numpyro.set_host_device_count(devices)
    import jax

    jax.config.update("jax_enable_x64", True)


def to_default(z, x_lo, x_hi):
    """(E, a, alpha) from z = (l_hi, log d, logit u); x in the fit's centred log units."""
    import jax
    import jax.numpy as jnp

    l_hi, d, log_u = z[0], jnp.exp(z[1]), jax.nn.log_sigmoid(z[2])
    log_1mu = jax.nn.log_sigmoid(-z[2])
    log_E = l_hi + log_u
    # log(e^d - u) = log(expm1(d) + (1 - u))
    alpha = (jnp.logaddexp(jnp.log(jnp.expm1(d)), log_1mu) - log_1mu) / (x_hi - x_lo)
    a = l_hi + log_1mu + alpha * x_hi
    return jnp.stack([jnp.exp(log_E), a, alpha])


def model(xc, log_y, x_lo, x_hi, y0, log_y0):
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.distributions import constraints

    z = numpyro.sample("z", dist.ImproperUniform(constraints.real_vector, (), event_shape=(3,)))
    E, a, alpha = to_default(z, x_lo, x_hi)
    _, log_jac = jnp.linalg.slogdet(jax.jacfwd(to_default)(z, x_lo, x_hi))
    numpyro.factor("default_prior", dist.HalfNormal(y0).log_prob(E) + dist.Normal(log_y0, 2.0).log_prob(a)
                   + dist.Gamma(2.0, 5.0).log_prob(alpha) + log_jac)
    numpyro.deterministic("E", E)
    numpyro.deterministic("a", a)
    numpyro.deterministic("alpha", alpha)
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.2))
    nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
    mu = jnp.logaddexp(jnp.log(E), a - alpha * xc)
    with numpyro.plate("run", xc.shape[0]):
        numpyro.sample("log_loss", dist.StudentT(nu, mu, sigma), obs=log_y)


def fit_reparam(D: np.ndarray, loss: np.ndarray, seed: int, num_chains: int = 4):
    """Posterior draws (chains, draws) of E, a, alpha, sigma, nu and the log reference of D."""
    import jax.numpy as jnp

    from bayeslaw.sampler import run_nuts

    log_ref = float(np.mean(np.log(D)))
    xc = np.log(D) - log_ref
    log_y = np.log(loss)
    x_lo, x_hi = float(xc.min()), float(xc.max())
    args = tuple(jnp.asarray(v, dtype=float) for v in (xc, log_y, x_lo, x_hi, np.exp(log_y.mean()), log_y.mean()))
    draws, extra = run_nuts(model, args, cache_key=("probe_reparam",), num_warmup=1000, num_samples=1000,
                            num_chains=num_chains, chain_method="sequential", dense_mass=True,
                            target_accept_prob=0.8, seed=seed)
    draws["diverging"] = extra["diverging"]
    return draws, log_ref


def run_one(noise: str, seed: int) -> dict:
    import arviz_stats  # noqa: F401  (rhat below)
    from arviz_base import from_dict
    from arviz_stats import rhat

    from ladders import DESIGNS, make_ladder
    from run import target_columns

    design = DESIGNS["power_law"]
    ladder, targets = make_ladder(design, noise, seed)
    t0 = time.perf_counter()
    d, log_ref = fit_reparam(ladder["D"].to_numpy(float), ladder["loss"].to_numpy(float), seed)
    wall = time.perf_counter() - t0
    post = {k: d[k] for k in ("E", "a", "alpha", "sigma", "nu")}
    r = rhat(from_dict({"posterior": post}))
    row = {"law": "power_law", "noise": noise, "seed": seed, "wall_s": wall,
           "r_hat_max": float(max(float(r[k]) for k in post)),
           "divergences": int(d["diverging"].sum())}
    E, a, alpha = (post[k].reshape(-1) for k in ("E", "a", "alpha"))
    rng = np.random.default_rng(seed)
    sigma, nu = post["sigma"].reshape(-1), post["nu"].reshape(-1)
    mu, new = [], []
    for Dt in targets["D"].to_numpy(float):   # one target at a time: the draws' order is the probe's record
        mu.append(np.logaddexp(np.log(E), a - alpha * (np.log(Dt) - log_ref)))
        new.append(mu[-1] + sigma * rng.standard_t(nu))
    mu, new = np.stack(mu, axis=-1), np.stack(new, axis=-1)
    (lo, hi), (nlo, nhi) = np.exp(np.quantile(mu, [0.05, 0.95], axis=0)), np.exp(np.quantile(new, [0.05, 0.95], axis=0))
    bounds = pd.DataFrame({"mean_lower": lo, "mean_upper": hi, "new_run_lower": nlo, "new_run_upper": nhi})
    row.update(target_columns(targets, bounds, np.exp(mu), np.exp(new)))
    return row


def compare(k: int) -> None:
    """Fit the first k ladders (t3 noise) both ways and print matching quantiles."""
    import bayeslaw
    from ladders import DESIGNS, make_ladder

    design = DESIGNS["power_law"]
    qs = [0.05, 0.5, 0.95]
    for seed in range(k):
        ladder, targets = make_ladder(design, "student_t3", seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f = bayeslaw.fit(ladder, "power_law", x="D", seed=seed, progress_bar=False)
        d, log_ref = fit_reparam(ladder["D"].to_numpy(float), ladder["loss"].to_numpy(float), seed)
        mu_def = np.log(f.predict(targets=targets[["D"]], seed=seed).draws("mean")[..., 2]).reshape(-1)
        x100 = np.log(targets["D"].iloc[2]) - log_ref
        mu_rep = np.logaddexp(np.log(d["E"]), d["a"] - d["alpha"] * x100).reshape(-1)
        div_def = int(f.idata["sample_stats"]["diverging"].sum())
        for name, x_def, x_rep in (("E", f.draws("E"), d["E"]), ("alpha", f.draws("alpha"), d["alpha"]),
                                   ("nu", f.draws("nu"), d["nu"]), ("log L at 100x", mu_def, mu_rep)):
            print(f"seed {seed} {name:14s} default {np.round(np.quantile(x_def, qs), 4)}  "
                  f"reparam {np.round(np.quantile(np.ravel(x_rep), qs), 4)}")
        print(f"seed {seed} divergences: default {div_def}, reparam {int(d['diverging'].sum())}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--noise", default="student_t3")
    p.add_argument("--ladders", type=int, default=100)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--compare", type=int, default=0, metavar="K", help="compare with the defaults on K ladders")
    args = p.parse_args(argv)
    _setup(1)
    if args.compare:
        compare(args.compare)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for noise in args.noise.split(","):
        path = args.out / f"power_law_{noise}.csv"
        done = set(pd.read_csv(path)["seed"]) if path.exists() else set()
        t0 = time.perf_counter()
        for i, seed in enumerate(range(args.first_seed, args.first_seed + args.ladders)):
            if seed in done:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                row = run_one(noise, seed)
            pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists(), index=False)
            if (i + 1) % 20 == 0:
                print(f"{noise}: {i + 1}/{args.ladders}, {time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
