"""Cost of a fit against the number of rows: time, leapfrog steps per draw, step size and peak memory.

A synthetic table per size: ``power_law`` (L = E + A x^-alpha; E 1.7, A 400, alpha 0.3) at log-uniform
x in [1e7, 1e11], Student-t noise (3 degrees of freedom, scale 0.02) on log loss, the way
``case_studies/calibration`` makes its ladders. Each size runs in its own process (a fresh peak RSS):
a first fit (compiling), then a second fit of new data of the same size (compiled), both with the
default likelihood and priors. Reported per size: the second fit's wall time and its time per row,
leapfrog steps per draw (warmup excluded), the mean adapted step size, the largest ratio of the
posterior sd to the sampler's step size, ``fit.nc``'s size, and the process's peak RSS.

Usage::

    python benchmarks/scaling_rows.py [--sizes 3000,30000,300000] [--chains 2] [--warmup 300]
                                      [--samples 300] [--no-write]

The table goes to stdout and (without ``--no-write``) to benchmarks/RESULTS.md, section
"scaling_rows" (replaced if present).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRUTH = {"E": 1.7, "A": 400.0, "alpha": 0.3}


def table(n: int, seed: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = np.exp(rng.uniform(np.log(1e7), np.log(1e11), n))
    log_mean = np.log(TRUTH["E"] + TRUTH["A"] * x ** -TRUTH["alpha"])
    return pd.DataFrame({"D": x, "loss": np.exp(log_mean + 0.02 * rng.standard_t(3, n))})


def worker(n: int, chains: int, warmup: int, samples: int) -> dict:
    import numpyro

    numpyro.set_host_device_count(chains)
    import numpy as np

    import bayeslaw

    # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
    kw = dict(law="power_law", x="D", curvature=False, num_chains=chains, num_warmup=warmup, num_samples=samples,
              check=False, progress_bar=False)
    t0 = time.perf_counter()
    bayeslaw.fit(table(n, 0), seed=0, **kw)
    first = time.perf_counter() - t0
    rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    t0 = time.perf_counter()
    f = bayeslaw.fit(table(n, 1), seed=1, **kw)
    second = time.perf_counter() - t0
    stats = f.idata["sample_stats"]
    with tempfile.TemporaryDirectory() as d:
        f.save(Path(d) / "fit")
        nc_mb = (Path(d) / "fit" / "fit.nc").stat().st_size / 2**20
    post = {k: f.draws(k) for k in ("E", "alpha", "sigma")}
    return {"n": n, "first_s": first, "second_s": second, "sampling_s": f.spec.sampler.wall_seconds,
            "steps_per_draw": float(np.mean(stats["n_steps"].values)),
            "warmup_steps_per_iter": float(np.mean(f.spec.sampler.warmup_leapfrog_steps)) / warmup,
            "step_size": float(np.mean(stats["step_size"].values)),
            "sd": {k: float(np.std(v)) for k, v in post.items()},
            "alpha_mean": float(np.mean(post["alpha"])),
            "has_log_likelihood": "log_likelihood" in f.idata.children,
            "fit_nc_mb": nc_mb, "peak_rss_gb_after_first": rss_first,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def _versions() -> str:
    from importlib.metadata import version

    return f"numpyro {version('numpyro')}, jax {version('jax')}"


def render(rows: list[dict], args, load: str) -> str:
    base = rows[0]
    lines = [
        "## scaling_rows: cost of a fit against rows (`python benchmarks/scaling_rows.py`)",
        "",
        f"Run of {time.strftime('%Y-%m-%d')} ({platform.machine()}, {os.cpu_count()} cores shared with other jobs, "
        f"load average at the start {load}; {_versions()}): `power_law`, Student-t(3) noise of scale 0.02 on log "
        f"loss, {args.chains} chains x ({args.warmup} warmup + {args.samples} draws); one process per size, "
        "the second (compiled) fit timed.",
        "",
        "| rows | fit s (compiled) | s per 1000 rows | ratio to the smallest, per row | steps/draw | warmup steps/iter "
        "| step size | fit.nc MB | log_likelihood in memory | peak RSS GB | first fit s (compiling) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_row = r["second_s"] / r["n"]
        lines.append(
            f"| {r['n']:,} | {r['second_s']:.1f} | {1000 * per_row:.3f} | "
            f"{per_row / (base['second_s'] / base['n']):.2f} | {r['steps_per_draw']:.1f} | "
            f"{r['warmup_steps_per_iter']:.1f} | {r['step_size']:.3f} | {r['fit_nc_mb']:.1f} | "
            f"{'yes' if r['has_log_likelihood'] else 'no (on demand)'} | {r['peak_rss_gb']:.2f} | {r['first_s']:.1f} |")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = HERE / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    pattern = re.compile(r"## scaling_rows:.*?(?=\n## |\Z)", re.S)
    new = pattern.sub(lambda _: text.rstrip("\n") + "\n", old) if pattern.search(old) else \
        old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="3000,30000,300000")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.chains, args.warmup, args.samples)))
        return 0
    load = f"{os.getloadavg()[0]:.1f}"
    rows = []
    for n in (int(float(s)) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--worker", str(n), "--chains", str(args.chains), "--warmup",
               str(args.warmup), "--samples", str(args.samples)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return 1
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    text = render(rows, args, load)
    print(text)
    if not args.no_write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
