"""One log-density gradient: bayeslaw's Chinchilla model against NumPyro written the straightforward way (issue 16).

Both models score the 245 bundled Chinchilla runs with a Student-t on log loss: bayeslaw's as ``bayeslaw.fit``
builds it (``inference.fit.prepare``: centred inputs, the law's coordinates, padding to 256 rows with a mask,
priors as arguments); the straightforward one is ``benchmarks/peers.py``'s (raw log inputs, five parameters plus
sigma and nu, no padding). For each, NumPyro's ``initialize_model`` gives the potential; its gradient runs
``--steps`` times inside one compiled ``fori_loop`` (the point moves a little each step, so nothing is hoisted), and
the time per gradient is the minimum over ``--rounds`` interleaved rounds, less an empty loop's. Run it on one core
(``taskset -c 1``) on a quiet machine. Usage::

    taskset -c 1 python benchmarks/gradient_cost.py --rounds 7
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def potentials():
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpyro.infer.util import initialize_model

    import bayeslaw
    from bayeslaw.inference.fit import prepare

    sys.path.insert(0, str(HERE))
    from peers import straightforward_model

    from dataclasses import replace

    runs = bayeslaw.load_runs(Path(bayeslaw.__file__).parent / "data" / "chinchilla.csv")
    # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
    prep = prepare(bayeslaw.plan_fit(runs, "chinchilla", curvature=False))
    ours = initialize_model(jax.random.PRNGKey(0), prep.model, model_args=prep.args)
    # the same model sampled in the law's own parameters (no coordinates map, no Jacobian): what the map costs
    bare = bayeslaw.register(replace(bayeslaw.get_law("chinchilla"), name="chinchilla_bare", coordinates=None))
    prep_bare = prepare(bayeslaw.plan_fit(runs, bare, curvature=False))
    ours_bare = initialize_model(jax.random.PRNGKey(0), prep_bare.model, model_args=prep_bare.args)

    frame = runs.frame
    lx = jnp.asarray(np.log(frame[["N", "D"]].to_numpy().T))
    ly = jnp.asarray(np.log(frame["loss"].to_numpy()))

    theirs = initialize_model(jax.random.PRNGKey(0), straightforward_model, model_args=(lx, ly))
    return {"bayeslaw": ours, "bayeslaw without the law's coordinates": ours_bare, "straightforward NumPyro": theirs}


def timer(info, steps: int):
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    flat, unravel = ravel_pytree(info.param_info.z)
    grad = jax.grad(lambda f: info.potential_fn(unravel(f)))

    @jax.jit
    def loop(f0, n):
        def body(i, acc):
            g = grad(f0 + 1e-9 * i)
            return acc + g[0]
        return jax.lax.fori_loop(0, n, body, jnp.zeros((), f0.dtype))

    loop(flat, steps).block_until_ready()

    def run(n):
        t0 = time.perf_counter()
        loop(flat, n).block_until_ready()
        return time.perf_counter() - t0
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    runs = {name: timer(info, args.steps) for name, info in potentials().items()}
    best = {name: float("inf") for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            best[name] = min(best[name], (run(args.steps) - run(1)) / (args.steps - 1))
    base = best["straightforward NumPyro"]
    print(f"one gradient of the potential, Chinchilla 245 runs, Student-t; minimum of {args.rounds} interleaved rounds "
          f"of {args.steps} gradients in a compiled loop\n")
    print("| model | µs per gradient | ratio to straightforward |")
    print("|---|---|---|")
    for name, t in best.items():
        print(f"| {name} | {t * 1e6:.2f} | {t / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
