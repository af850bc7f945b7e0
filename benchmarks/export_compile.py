"""Cold and warm fits with and without exported programs: what compiling an exported module costs.

For each mode (``exported``: the default; ``traced``: ``BAYESLAW_NO_EXPORT=1``) a new cache folder, then one new
Python process per line: the first fills the cache (cold), the next ones read it (warm). Each process fits the
bundled Chinchilla runs ``[::3]`` (82 runs) with ``chinchilla`` (``--curvature``: False by default, or
``orthogonal``), 2 chains x (300 + 300), and prints the ``fit`` call's seconds and the XLA compilations over 0.3 s
that JAX logged. ``benchmarks/RESULTS.md`` ("Exported programs compiled 3-4x slower") records a run.

Usage::

    python benchmarks/export_compile.py [--curvature orthogonal] [--warm 2]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

FIT = r"""
import logging, sys, time
import numpyro; numpyro.set_host_device_count(4)
import jax; jax.config.update("jax_enable_x64", True)
logging.basicConfig(level=logging.WARNING, format="%(message)s")
logging.getLogger("jax._src.dispatch").setLevel(logging.DEBUG)
import bayeslaw
runs = bayeslaw.load_runs(bayeslaw.example_data_path())
curvature = {"False": False}.get(sys.argv[1], sys.argv[1])
t = time.perf_counter()
bayeslaw.fit(runs.subset(runs.frame.index[::3]), "chinchilla", curvature=curvature, num_chains=2, num_warmup=300,
             num_samples=300, seed=2, check=False, progress_bar=False)
print(f"FIT {time.perf_counter() - t:.2f}", file=sys.stderr)
"""


def one(curvature: str, env: dict) -> tuple[float, float, list[str]]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", FIT, curvature], env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    fit = float(re.search(r"FIT ([0-9.]+)", out.stderr).group(1))
    compiles = [f"{m.group(1)} {float(m.group(2)):.2f} s" for m in
                re.finditer(r"Finished XLA compilation of (\S+) in ([0-9.]+) sec", out.stderr) if float(m.group(2)) > 0.3]
    return fit, wall, compiles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curvature", default="False", help="False (default) or orthogonal")
    ap.add_argument("--warm", type=int, default=2, help="warm processes per mode (default 2)")
    args = ap.parse_args()
    for mode in ("exported", "traced"):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "BAYESLAW_CACHE_DIR": cache, "BAYESLAW_NO_EXPORT": "1" if mode == "traced" else "0"}
            for i in range(1 + args.warm):
                fit, wall, compiles = one(args.curvature, env)
                label = "cold" if i == 0 else "warm"
                print(f"{mode:9s} {label}: fit {fit:.2f} s, process {wall:.2f} s"
                      + (f"; compiles over 0.3 s: {', '.join(compiles)}" if compiles else ""), flush=True)


if __name__ == "__main__":
    main()
