"""One log-density gradient: bayeslaw's Chinchilla model against NumPyro written the straightforward way (issue 16).

Both models score the 245 bundled Chinchilla runs with a Student-t on log loss: bayeslaw's as ``bayeslaw.fit``
builds it (``inference.fit.prepare``: centred inputs, the law's coordinates, padding to 256 rows with a mask,
priors as arguments); the straightforward one is ``benchmarks/peers.py``'s (raw log inputs, five parameters plus
sigma and nu, no padding). For each, NumPyro's ``initialize_model`` gives the potential; its gradient runs
``--steps`` times inside one compiled ``fori_loop`` (the point moves a little each step, so nothing is hoisted), and
the time per gradient is the minimum over ``--rounds`` interleaved rounds, less an empty loop's. The loop adds up
every component of the gradient: until 2026-12-06 it kept only the first, which let XLA drop the rest of the
gradient (a different part in each model, as their parameters sort differently), and it reported bayeslaw at 2.88x
the straightforward model where the whole gradient costs ~1.2x. A second table times whole NUTS iterations of
each potential (NumPyro's ``hmc(..., algo="NUTS")`` kernel at a fixed small step size and a maximum tree depth of
3, so every iteration takes 7 leapfrog steps; the steps are counted, not assumed): gradient plus NUTS's own
bookkeeping per leapfrog step. Run it on one core (``taskset -c 1``) on a quiet machine. Usage::

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
            return acc + jnp.sum(g)   # every component: a single one lets XLA drop the rest of the gradient
        return jax.lax.fori_loop(0, n, body, jnp.zeros((), f0.dtype))

    loop(flat, steps).block_until_ready()

    def run(n):
        t0 = time.perf_counter()
        loop(flat, n).block_until_ready()
        return time.perf_counter() - t0
    return run


def step_timer(info, iterations: int):
    """Seconds per leapfrog step of NUTS on this potential: ``iterations`` iterations in one compiled loop."""
    import jax
    import jax.numpy as jnp
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn=info.potential_fn, algo="NUTS")
    state0 = init_kernel(info.param_info, num_warmup=0, step_size=1e-4, adapt_step_size=False,
                         adapt_mass_matrix=False, max_tree_depth=3, rng_key=jax.random.PRNGKey(1))

    @jax.jit
    def loop(state, n):
        def body(i, carry):
            s, steps = carry
            s = sample_kernel(s)
            return s, steps + s.num_steps
        return jax.lax.fori_loop(0, n, body, (state, jnp.zeros((), jnp.int64)))

    jax.block_until_ready(loop(state0, iterations))

    def run(n):
        t0 = time.perf_counter()
        _, steps = jax.block_until_ready(loop(state0, n))
        return time.perf_counter() - t0, int(steps)
    return run


def table(title: str, unit: str, seconds: dict[str, float]) -> None:
    """A Markdown table of each model's time in µs and its ratio to the straightforward model's."""
    base = seconds["straightforward NumPyro"]
    print(f"{title}\n")
    print(f"| model | {unit} | ratio to straightforward |")
    print("|---|---|---|")
    for name, t in seconds.items():
        print(f"| {name} | {t * 1e6:.2f} | {t / base:.2f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    models = potentials()
    runs = {name: timer(info, args.steps) for name, info in models.items()}
    best = {name: float("inf") for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            best[name] = min(best[name], (run(args.steps) - run(1)) / (args.steps - 1))
    table(f"one gradient of the potential, Chinchilla 245 runs, Student-t; minimum of {args.rounds} interleaved "
          f"rounds of {args.steps} gradients in a compiled loop", "µs per gradient", best)

    iterations = max(args.steps // 7, 2)
    steppers = {name: step_timer(info, iterations) for name, info in models.items()}
    per_step = {name: float("inf") for name in steppers}
    for _ in range(args.rounds):
        for name, run in steppers.items():
            (t_n, s_n), (t_1, s_1) = run(iterations), run(1)
            per_step[name] = min(per_step[name], (t_n - t_1) / (s_n - s_1))
    table(f"\none NUTS leapfrog step (gradient and tree bookkeeping), the same models: minimum of {args.rounds} "
          f"interleaved rounds of {iterations} iterations of 7 steps in a compiled loop", "µs per leapfrog step",
          per_step)
    return 0


if __name__ == "__main__":
    sys.exit(main())
