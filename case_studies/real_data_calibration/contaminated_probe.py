"""Probe: would a noise model with a separate bulk and outliers widen the 50% band of the largest Chinchilla runs?

``ladder_sides.py`` found the default ladder fit's 50% band too narrow on the held-out top 20% by compute, with a
Student-t whose heavy tails (nu 1.7 on the 245 runs) carry the 90% band. This probe declares, for itself only (not
in the catalogue), a contaminated Normal: a Normal bulk (``sigma``, the catalogue's prior) plus a share of runs
(Beta(1, 19): mean 5%) from a Normal ``outlier_scale`` times wider (LogNormal(log 5, 0.5)), and backtests the plain
and the orthogonal Chinchilla law under it and under the Student-t, on the 245 and the 240 runs, top 20% by
compute held out, NUTS at the plan's defaults, seed 0. Writes ``results/contaminated_probe.md``. About two
minutes::

    python case_studies/real_data_calibration/contaminated_probe.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from ladders import ladder  # noqa: E402


def register() -> str:
    """Declare the contaminated Normal and make it findable by name in this process."""
    import jax.numpy as jnp
    import numpyro.distributions as dist

    from bayeslaw.core import observation as obs
    from bayeslaw.core.law import Param
    from bayeslaw.core.priors import Prior

    def distribution(mu, sigma, outlier_share, outlier_scale):
        mix = dist.Categorical(probs=jnp.stack([1 - outlier_share, outlier_share], -1))
        return dist.MixtureGeneral(mix, [dist.Normal(mu, sigma), dist.Normal(mu, sigma * outlier_scale)])

    def noise(rng, shape, sigma, outlier_share, outlier_scale):
        wide = rng.uniform(size=shape) < np.broadcast_to(outlier_share, shape)
        return sigma * rng.standard_normal(shape) * np.where(wide, np.broadcast_to(outlier_scale, shape), 1.0)

    model = obs.ObservationModel(
        name="contaminated_normal",
        params={"sigma": obs.NORMAL.params["sigma"],
                "outlier_share": Param(Prior("Beta", concentration1=1.0, concentration0=19.0),
                                       "share of outlying runs: mean 5%", "share of runs from the wide component"),
                "outlier_scale": Param(Prior("LogNormal", loc=float(np.log(5.0)), scale=0.5),
                                       "outliers about 5x the bulk's sd (2-13x)", "sd of the wide component / bulk's")},
        description="a Normal bulk plus a few outlying runs from a wider Normal (probe)",
        assumptions="runs are independent; a few of them outlying", distribution=distribution, noise=noise)
    obs.OBSERVATION_MODELS[model.name] = model
    return model.name


def main() -> int:
    import bayeslaw

    name = register()
    lines = ["| runs | law | likelihood | 90% coverage | 50% coverage | held-out elpd per run | RMSLE | failed checks "
             "| noise (posterior medians) |", "|---|---|---|---|---|---|---|---|---|"]
    for data in ("chinchilla", "chinchilla240"):
        for law in ("chinchilla", "chinchilla_orthogonal"):
            for lik in ("student_t", name):
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    bt = bayeslaw.backtest(ladder(data), law, by="C", holdout_top=0.2, curvature=False,
                                           likelihood=lik, seed=0, ci_prob=0.9)
                pw = bt.pointwise
                y = pw["loss"].to_numpy(float)
                fit = next(iter(bt.fits.values()))
                post = fit.idata["posterior"]
                noise = ", ".join(f"{k} {float(np.median(post[k].values)):.4g}"
                                  for k in ("sigma", "nu", "outlier_share", "outlier_scale") if k in post)
                lines.append(
                    f"| {data} | {law} | {lik} | {np.mean((pw.new_run_lower <= y) & (y <= pw.new_run_upper)):.3f} | "
                    f"{np.mean((pw.new_run_lower_50 <= y) & (y <= pw.new_run_upper_50)):.3f} | {pw.elpd.mean():.2f} | "
                    f"{np.sqrt(np.mean(np.log(y / pw.new_run_median) ** 2)):.4f} | "
                    f"{', '.join(d['check'] for d in fit.spec.diagnostics) or 'none'} | {noise} |")
                print(lines[-1], f"({time.perf_counter() - t0:.0f} s)", flush=True)
    (HERE / "results" / "contaminated_probe.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
