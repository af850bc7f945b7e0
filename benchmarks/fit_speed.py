"""Speed of the Chinchilla fit (245 runs, 4 chains x 1000 warmup + 1000 draws).

Measures, and writes to benchmarks/RESULTS.md (section "fit_speed"):

1. cold: wall time of a new ``bayeslaw fit`` process with an empty JAX compilation cache;
2. warm cache: the same command again, persistent compilation cache filled by (1);
3. in-process: a second ``bayeslaw.fit`` in one Python process (compiled code reused);
4. leapfrog steps per draw (NUTS ``n_steps``, warmup excluded);
5. min bulk-ESS per second of in-process sampling, over E, A, B, alpha, beta, sigma, nu;
6. a profile of where the in-process time goes: one log-density gradient inside a compiled
   loop, times the number of gradient evaluations of the whole fit, against the sampler's wall time.

Usage::

    python benchmarks/fit_speed.py [--repeats 3] [--no-write]

Medians over ``--repeats`` runs are reported (these machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"in_process_s": 5.0, "warm_cache_process_s": 10.0, "leapfrog_per_draw": 40.0}


def _cli_time(cache_dir: str, out_dir: Path) -> float:
    env = dict(os.environ, BAYESLAW_CACHE_DIR=cache_dir)
    env.pop("BAYESLAW_NO_CACHE", None)
    data = subprocess.run([sys.executable, "-c", "import bayeslaw; print(bayeslaw.example_data_path())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    t0 = time.perf_counter()
    # the plain law (--curvature off), as in the committed results (made before curvature="auto" became the
    # default, 2026-12-03); so are the in-process fits below (curvature=False)
    subprocess.run([sys.executable, "-c", "import sys; from bayeslaw.cli import main; sys.exit(main(sys.argv[1:]))", "--quiet", "fit", data, "--law", "chinchilla",
                    "--curvature", "off", "--out", str(out_dir), "--overwrite", "--format", "json"],
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def _grad_cost_us(fit_args) -> float:
    """Microseconds per log-density gradient evaluated inside a compiled loop."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import initialize_model

    model, args = fit_args
    info = initialize_model(jax.random.PRNGKey(0), model, model_args=args)
    z0, unravel = ravel_pytree(info.param_info.z)
    grad = jax.grad(lambda z: info.potential_fn(unravel(z)))

    @jax.jit
    def loop(z, n):
        return jax.lax.fori_loop(0, n, lambda i, z: z - 1e-12 * grad(z), z)

    loop(z0, 10).block_until_ready()
    n = 50_000
    t0 = time.perf_counter()
    loop(z0, n).block_until_ready()
    return (time.perf_counter() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    args = p.parse_args(argv)

    import numpyro

    numpyro.set_host_device_count(4)
    import jax
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    import arviz_stats as azs

    import bayeslaw
    from bayeslaw.core.observation import get_observation_model
    from bayeslaw.inference.model import make_model, prior_arguments, prior_families, prior_refs, reference_scales
    from bayeslaw.inference.plan import resolve_priors
    from bayeslaw.inference.store import versions

    res: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                 "versions": versions()}

    # 1-2: new processes, cold then warm persistent compilation cache
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            cache = Path(tmp) / f"cache{r}"
            cold.append(_cli_time(str(cache), Path(tmp) / "fit"))
            warm.append(_cli_time(str(cache), Path(tmp) / "fit"))
    res["cold_process_s"] = cold
    res["warm_cache_process_s"] = warm

    # 3-5: in-process
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    bayeslaw.fit(runs, "chinchilla", curvature=False, seed=0)  # compile (the plain law, as _cli_time's)
    walls, fits = [], []
    for r in range(args.repeats):
        t0 = time.perf_counter()
        f = bayeslaw.fit(runs, "chinchilla", curvature=False, seed=r)
        walls.append(time.perf_counter() - t0)
        fits.append(f)
    res["in_process_s"] = walls
    res["sampler_only_s"] = [f.spec.sampler.wall_seconds for f in fits]
    steps = [float(f.idata["sample_stats"]["n_steps"].mean()) for f in fits]
    res["leapfrog_per_draw"] = steps
    ess = [min(float(azs.ess(f.idata, var_names=f.param_names)[v].min()) for v in f.param_names) for f in fits]
    res["min_ess_bulk"] = ess
    res["min_ess_bulk_per_s"] = [e / w for e, w in zip(ess, walls)]

    # 6: profile: gradient cost x gradient count vs wall
    law = bayeslaw.get_law("chinchilla")
    lik = get_observation_model("student_t")
    raw = {"N": runs.frame["N"].to_numpy(), "D": runs.frame["D"].to_numpy()}
    log_ref = reference_scales(raw, runs.loss)
    priors = resolve_priors(law, lik, None)
    prior_args = prior_arguments(priors, prior_refs(log_ref))
    xs = {v: np.log(a) - log_ref[v] for v, a in raw.items()}
    grad_us = _grad_cost_us((make_model(law, lik, prior_families(priors)), (prior_args, xs, np.log(runs.loss))))
    # warmup steps are not in sample_stats; count them from the draws' mean (same order of magnitude)
    n_grad = 4 * 2000 * statistics.median(steps)
    res["grad_us"] = grad_us
    res["grad_total_s_est"] = grad_us * 1e-6 * n_grad
    res["per_leapfrog_us_core"] = statistics.median(res["sampler_only_s"]) * min(4, os.cpu_count() or 1) / n_grad * 1e6

    med = {k: statistics.median(v) for k, v in res.items() if isinstance(v, list)}
    print(json.dumps({"median": med, **{k: v for k, v in res.items() if not isinstance(v, list)}}, indent=2))
    if not args.no_write:
        _write(res, med)
    return 0


def _write(res: dict, med: dict) -> None:
    path = HERE / "RESULTS.md"
    def ok(name: str, value: float) -> str:
        return "meets" if value <= TARGETS[name] else "MISSES"
    section = f"""## fit_speed: Chinchilla fit, 245 runs, 4 chains x (1000 warmup + 1000 draws)

Measured by `python benchmarks/fit_speed.py` on {time.strftime('%Y-%m-%d')} ({res['machine']};
numpyro {res['versions'].get('numpyro')}, jax {res['versions'].get('jax')}). Medians of {len(res['in_process_s'])} runs
(all runs: see the lists below the table).

| measure | median | target | verdict |
|---|---|---|---|
| new `bayeslaw fit` process, empty compilation cache | {med['cold_process_s']:.1f} s | — | — |
| new `bayeslaw fit` process, warm persistent cache | {med['warm_cache_process_s']:.1f} s | ≤ 10 s | {ok('warm_cache_process_s', med['warm_cache_process_s'])} |
| second fit in the same process (`bayeslaw.fit`) | {med['in_process_s']:.2f} s | ≤ 5 s | {ok('in_process_s', med['in_process_s'])} |
| of which NUTS sampling (`mcmc.run`) | {med['sampler_only_s']:.2f} s | — | — |
| leapfrog steps per draw | {med['leapfrog_per_draw']:.1f} | ≤ 40 | {ok('leapfrog_per_draw', med['leapfrog_per_draw'])} |
| min bulk-ESS | {med['min_ess_bulk']:.0f} | — | — |
| min bulk-ESS per second (in-process wall) | {med['min_ess_bulk_per_s']:.0f} /s | — | — |
| one log-density gradient in a compiled loop | {res['grad_us']:.1f} µs | — | — |
| gradient work of the whole fit (grad × steps × 8000 iterations) | {res['grad_total_s_est']:.2f} s | — | — |
| sampler time per leapfrog step per core | {res['per_leapfrog_us_core']:.1f} µs | — | — |

Raw: cold {', '.join(f'{v:.1f}' for v in res['cold_process_s'])} s; warm cache {', '.join(f'{v:.1f}' for v in res['warm_cache_process_s'])} s;
in-process {', '.join(f'{v:.2f}' for v in res['in_process_s'])} s; steps/draw {', '.join(f'{v:.1f}' for v in res['leapfrog_per_draw'])}.
"""
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    start = text.find("## fit_speed")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
