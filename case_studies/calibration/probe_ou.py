"""Probe (session 6): do correlated residuals explain power_law's under-coverage on real learning curves?

``real_heldout.py`` finds that power_law's 90% new-run intervals cover about 64% of the held-out
points of the 72 image-classification curves of the "Revisiting" benchmark. A learning curve is one
training run read at many checkpoints, so its deviations from the law persist from one point to the
next; bayeslaw's likelihood treats them as independent. This probe keeps power_law, its default
priors and its ends coordinates, and replaces the independent Student-t residuals on log loss by an
Ornstein-Uhlenbeck process in t = log x:

    r_1 ~ StudentT(nu, 0, sigma),   r_i | r_(i-1) ~ StudentT(nu, rho_i r_(i-1), sigma sqrt(1 - rho_i^2 + 1e-3)),
    rho_i = exp(-(t_i - t_(i-1)) / ell),   ell ~ LogNormal(0, 1.5)   (e-folds of x; median 1)

A held-out point beyond the last run x_n then inherits the last residual, decayed by
exp(-(t - t_n) / ell), and its spread grows towards sigma. With ell -> 0 this is the default
likelihood again (up to the 1e-3 nugget). The model is written here, not in the library: it is a probe.

Usage (from ``case_studies/calibration``)::

    python probe_ou.py --out probes/ou/revisiting.csv.gz
    python probe_ou.py --synthetic 200 --out probes/ou/synthetic_t3.csv.gz
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_heldout import DATA, missing, revisiting_curves  # noqa: E402
NUGGET = 1e-3


def make_model(diffusion: bool = False):
    """The probe's model. ``diffusion``: NUTS moves in (log sigma^2 / ell, log ell) instead of (sigma, ell);
    on a short stretch of x an OU process pins down sigma^2 / ell, not sigma and ell apart, so that ridge is
    straight in these coordinates. The priors on sigma and ell are carried over by the log-Jacobian."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    from bayeslaw.engine import _sample_params, prior_families
    from bayeslaw.models import power_law
    from bayeslaw.priors import DISTRIBUTIONS

    names = tuple(power_law.params)
    families = prior_families({k: p.prior for k, p in power_law.params.items()})

    def model(prior_args, x, log_y, dt, mask):
        dists = {n: DISTRIBUTIONS[fam][0](**prior_args[n]) for n, fam in families}
        params = _sample_params(names, dists, power_law.coordinates, x)
        mu = power_law.log_mean(x, **params)
        if diffusion:
            log_kappa = numpyro.sample("log_kappa", dist.ImproperUniform(dist.constraints.real, (), ()))
            log_ell = numpyro.sample("log_ell", dist.ImproperUniform(dist.constraints.real, (), ()))
            sigma = numpyro.deterministic("sigma", jnp.exp(0.5 * (log_kappa + log_ell)))
            ell = numpyro.deterministic("ell", jnp.exp(log_ell))
            # priors of sigma and ell, times |d(sigma, ell) / d(log_kappa, log_ell)| = sigma ell / 2
            numpyro.factor("prior_sigma_ell", dist.HalfNormal(0.2).log_prob(sigma) + dist.LogNormal(0.0, 1.5)
                           .log_prob(ell) + jnp.log(sigma) + log_ell - jnp.log(2.0))
            nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
        else:  # the sites in the order of the committed runs (the order sets the draws)
            sigma = numpyro.sample("sigma", dist.HalfNormal(0.2))
            nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
            ell = numpyro.sample("ell", dist.LogNormal(0.0, 1.5))
        r = log_y - mu
        rho = jnp.exp(-dt / ell)
        lp0 = dist.StudentT(nu, 0.0, sigma).log_prob(r[0])
        lp = dist.StudentT(nu, rho[1:] * r[:-1], sigma * jnp.sqrt(1.0 - rho[1:] ** 2 + NUGGET)).log_prob(r[1:])
        numpyro.factor("ou", lp0 + jnp.sum(jnp.where(mask[1:], lp, 0.0)))

    return model


MODELS = {}


def fit_ou(D: np.ndarray, loss: np.ndarray, seed: int = 0, target_accept: float = 0.8,
           diffusion: bool = False) -> dict[str, np.ndarray]:
    """Posterior draws (4 chains x 1000) of power_law with OU residuals; D sorted ascending."""
    import jax.numpy as jnp

    from bayeslaw.engine import padded_size, prior_arguments, prior_refs
    from bayeslaw.models import power_law
    from bayeslaw.sampler import run_nuts

    model = MODELS.setdefault(diffusion, make_model(diffusion))
    t = np.log(D)
    ref = float(np.mean(t))
    log_y = np.log(loss)
    refs = prior_refs({"x": ref, "loss": float(np.mean(log_y))})
    prior_args = prior_arguments({k: p.prior for k, p in power_law.params.items()}, refs)
    n, size = len(D), padded_size(len(D))
    pad = lambda a, fill: np.concatenate([a, np.full(size - n, fill)])  # noqa: E731
    dt = np.concatenate([[0.0], np.diff(t)])
    args = (prior_args, {"x": jnp.asarray(pad(t - ref, t[0] - ref))}, jnp.asarray(pad(log_y, log_y[0])),
            jnp.asarray(pad(dt, 1.0)), jnp.asarray(np.arange(size) < n))
    samples, extra = run_nuts(model, args, cache_key=("probe_ou", diffusion, size), num_warmup=1000, num_samples=1000,
                              num_chains=4, chain_method="sequential", dense_mass=True, target_accept_prob=target_accept,
                              seed=seed)
    flat = {k: np.asarray(v).reshape(-1) for k, v in samples.items() if k in ("E", "a", "alpha", "sigma", "nu",
                                                                               "ell")}
    flat.update(ref=ref, t_last=t[-1], r_last=log_y[-1] - _log_mean(flat, t[-1] - ref),
                divergences=int(np.sum(extra["diverging"])))
    return flat


def _log_mean(p, tc):
    from bayeslaw.models import power_law

    return np.asarray(power_law.log_mean({"x": tc}, E=p["E"], a=p["a"], alpha=p["alpha"]))


def predict_ou(p: dict, D: np.ndarray, seed: int = 0) -> np.ndarray:
    """New-run loss draws (draws, targets) beyond the last run: the last residual decays towards 0."""
    rng = np.random.default_rng(seed)
    t = np.log(D)
    mu = _log_mean(p, (t - p["ref"])[None, :].T).T  # (draws, targets)
    rho = np.exp(-(t[None, :] - p["t_last"]) / p["ell"][:, None])
    eps = rng.standard_t(p["nu"][:, None], size=mu.shape)
    r = rho * p["r_last"][:, None] + np.sqrt(1 - rho ** 2 + NUGGET) * p["sigma"][:, None] * eps
    return np.exp(mu + r)


def real_curves(data: Path) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """``real_heldout.revisiting_curves``, each part in order of x (the OU process runs along it)."""
    return [(cid, dom, train.sort_values("D"), held.sort_values("D"))
            for cid, dom, train, held in revisiting_curves(data)]


def synthetic_curves(n: int) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """The calibration study's power_law ladders (t3 noise), with fresh runs at its targets as held-out points."""
    from ladders import DESIGNS, make_ladder  # noqa: E402

    out = []
    for seed in range(n):
        ladder, targets = make_ladder(DESIGNS["power_law"], "student_t3", seed)
        held = targets.rename(columns={"fresh_run": "loss"})[["D", "loss"]]
        out.append((f"ladder {seed}", "synthetic t3", ladder[["D", "loss"]], held))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--synthetic", type=int, default=0, help="run on this many t3 power_law ladders instead")
    p.add_argument("--target-accept", type=float, default=0.8)
    p.add_argument("--diffusion", action="store_true", help="sample the noise in (log sigma^2/ell, log ell)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    from run import _init_worker

    _init_worker(1)
    if args.synthetic:
        curves = synthetic_curves(args.synthetic)
    elif missing(args.data):
        return 2
    else:
        curves = real_curves(args.data)
    rows = []
    for k, (cid, dom, train, held) in enumerate(curves):
        if len(held) == 0:
            continue
        t0 = time.perf_counter()
        post = fit_ou(train["D"].to_numpy(float), train["loss"].to_numpy(float), target_accept=args.target_accept,
                      diffusion=args.diffusion)
        new = predict_ou(post, held["D"].to_numpy(float))
        lo, hi = np.quantile(new, [0.05, 0.95], axis=0)
        y = held["loss"].to_numpy(float)
        for j in range(len(y)):
            rows.append({"curve_id": cid, "domain": dom, "x": float(held["D"].iloc[j]), "loss": y[j],
                         "decades": float(np.log10(held["D"].iloc[j] / train["D"].max())),
                         "new_run_lower": lo[j], "new_run_upper": hi[j], "covered": bool(lo[j] <= y[j] <= hi[j]),
                         "above": bool(y[j] > hi[j]), "below": bool(y[j] < lo[j]),
                         "ell_median": float(np.median(post["ell"])), "divergences": post["divergences"],
                         "wall_s": time.perf_counter() - t0})
        cov = np.mean([r["covered"] for r in rows if r["curve_id"] == cid])
        print(f"{k + 1}: {cid} ell {np.median(post['ell']):.2f} coverage {cov:.2f} "
              f"div {post['divergences']}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pts = pd.DataFrame(rows)
    pts.to_csv(args.out, index=False, float_format="%.6g")
    from real_heldout import summarise

    print(summarise(pts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
