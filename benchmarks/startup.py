"""Compilations and start-up of a Chinchilla fit (245 runs, 4 chains x (1000 + 1000)), A/B between source trees.

Per tree and round, each in a new Python process:

1. cold: ``bayeslaw.fit`` twice with ``BAYESLAW_NO_CACHE=1``: the first fit's wall time and its number of
   XLA backend compilations (and their seconds), then the second fit's wall time (compiled programs reused);
2. warm: the same first fit with a persistent cache that an earlier process filled;
3. CLI: ``bayeslaw fit chinchilla.csv --law chinchilla --out DIR`` as a new process, with a warm cache.

Trees alternate within each round (``--src A --src B``: the ``src`` folders put first on ``PYTHONPATH``), so
the machine's load falls on both alike; medians over rounds are printed, with the load average.

Usage::

    python benchmarks/startup.py --src /path/to/old/src --src src [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIT = r"""
import json, sys, time
import numpyro
numpyro.set_host_device_count(4)
import jax
n = [0, 0.0]
def listen(event, dur, **kw):
    if event == "/jax/core/compile/backend_compile_duration":
        n[0] += 1; n[1] += dur
jax.monitoring.register_event_duration_secs_listener(listen)
import bayeslaw
plain = {"curvature": False} if "--plain" in sys.argv else {}  # a tree older than curvature= fits the plain law
t0 = time.perf_counter()
bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", progress_bar=False, check=False, **plain)
first = time.perf_counter() - t0
out = {"first_s": first, "compiles": n[0], "compile_s": n[1]}
if "--twice" in sys.argv:
    t0 = time.perf_counter()
    bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", progress_bar=False, check=False, seed=1, **plain)
    out["second_s"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def _env(src: str, cache: str | None) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(src), JAX_PLATFORMS="cpu")
    env.pop("BAYESLAW_CACHE_DIR", None)
    env.pop("BAYESLAW_NO_CACHE", None)
    if cache is None:
        env["BAYESLAW_NO_CACHE"] = "1"
    else:
        env["BAYESLAW_CACHE_DIR"] = cache
    return env


def _knows_curvature(src: str) -> bool:
    """Whether the tree's fit takes ``curvature=`` / ``--curvature`` (older trees fit the plain law without it)."""
    return any("curvature" in p.read_text() for p in Path(src, "bayeslaw").rglob("fit.py"))


# The plain law (curvature=False, --curvature off) in every tree that knows curvature=, as in the committed results
# (made before curvature="auto" became the default, 2026-12-03).
def _fit(src: str, cache: str | None, twice: bool = False) -> dict:
    flags = [*(["--twice"] if twice else []), *(["--plain"] if _knows_curvature(src) else [])]
    out = subprocess.run([sys.executable, "-c", FIT, *flags], env=_env(src, cache),
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(src: str, cache: str, out_dir: str) -> float:
    data = Path(src).resolve().parent / "src" / "bayeslaw" / "data" / "chinchilla.csv"
    if not data.exists():
        data = Path(__file__).resolve().parent.parent / "src" / "bayeslaw" / "data" / "chinchilla.csv"
    t0 = time.perf_counter()
    plain = ["--curvature", "off"] if _knows_curvature(src) else []
    subprocess.run([sys.executable, "-m", "bayeslaw", "--quiet", "fit", str(data), "--law", "chinchilla", *plain,
                    "--out", out_dir, "--overwrite"], env=_env(src, cache), check=True, capture_output=True)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--src", action="append", required=True, help="a src folder (repeat for an A/B)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    rows: dict[str, list[dict]] = {s: [] for s in args.src}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for src in args.src:
                load = os.getloadavg()[0]
                cold = _fit(src, None, twice=True)
                cache = os.path.join(tmp, f"cache{r}{abs(hash(src))}")
                _fit(src, cache)                       # fills the cache
                warm = _fit(src, cache)
                _cli(src, cache, os.path.join(tmp, "out"))   # the CLI's own programs (progress, device count)
                cli = _cli(src, cache, os.path.join(tmp, "out"))
                row = {"load": load, "cold_first_s": cold["first_s"], "compiles": cold["compiles"],
                       "compile_s": cold["compile_s"], "second_s": cold["second_s"], "warm_first_s": warm["first_s"],
                       "warm_compiles": warm["compiles"], "cli_warm_s": cli}
                rows[src].append(row)
                print(json.dumps({"src": src, "round": r, **row}), flush=True)
    print()
    keys = ["compiles", "compile_s", "cold_first_s", "warm_first_s", "cli_warm_s", "second_s", "load"]
    print("| measure | " + " | ".join(args.src) + " |")
    print("|---|" + "---|" * len(args.src))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{statistics.median(r[k] for r in rows[s]):.2f}" for s in args.src) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
