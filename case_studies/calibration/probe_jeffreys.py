"""Probe: does a Jeffreys (design) factor on the law's parameters remove the one-sided misses?

The default priors are kept (for propriety) and multiplied by the Jeffreys factor of the law's
parameters at the ladder's design, ``sqrt(det(J^T J))`` with ``J = d log_mean / d theta`` over the
runs (the Fisher information of a Gaussian-noise model on log loss, up to a constant). It is a
probability-matching construction: it down-weights parameter regions the design cannot identify
(a low floor traded against a small exponent), which is where the extrapolated law was biased.
Patches ``bayeslaw.engine._model`` for this process only. Rows as run.py's (coverage, width, PIT).
With a law's ``Coordinates`` the factor is a density on the parameters like the priors, so it is the
same model whichever coordinates NUTS moves in (session 6 reran it on the ends coordinates).

Usage::

    python case_studies/calibration/probe_jeffreys.py --law power_law --ladders 80 --out OUT
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def patch_engine() -> None:
    import jax
    import jax.numpy as jnp
    import numpyro

    import bayeslaw.engine as eng

    original = eng._model

    def _model(log_mean, param_names, likelihood_name, families, prior_args, x, log_y=None, mask=None,
               coordinates=None):
        with numpyro.handlers.trace() as tr:
            original(log_mean, param_names, likelihood_name, families, prior_args, x, log_y, mask, coordinates)
        theta = jnp.stack([jnp.asarray(tr[n]["value"], dtype=jnp.float64) for n in param_names])

        def mu(vec):
            return log_mean(x, **dict(zip(param_names, vec)))

        J = jax.jacfwd(mu)(theta)  # (runs, params)
        w = jnp.ones(J.shape[0]) if mask is None else mask.astype(J.dtype)
        info = (J * w[:, None]).T @ J
        numpyro.factor("jeffreys", 0.5 * jnp.linalg.slogdet(info)[1])

    eng._model = _model


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--law", default="power_law")
    p.add_argument("--ladders", type=int, default=80)
    p.add_argument("--noise", default="normal,student_t3")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    import run as runner

    runner._init_worker(4)
    patch_engine()
    args.out.mkdir(parents=True, exist_ok=True)
    for noise in args.noise.split(","):
        rows = [runner.run_task({"law": args.law, "noise": noise, "seed": s, "num_warmup": 1000, "num_samples": 1000,
                                 "num_chains": 4, "peer": False}) for s in range(args.ladders)]
        path = args.out / f"{args.law}_{noise}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        print(path, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
