"""RSS across repeated fits in one process: K fits of new 3,000-row power_law tables (default sampler settings).

Prints the RSS (psutil) and peak RSS after each fit; each fit is dropped (``del``) before the next, as a loop over
data sets would. ``--collect`` runs ``gc.collect()`` after each fit, ``--trim`` also ``malloc_trim(0)`` (to tell
reference cycles from the allocator keeping freed memory).

Usage::

    python benchmarks/repeated_fits.py [--fits 7] [--rows 3000] [--collect] [--trim]
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fits", type=int, default=7)
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--collect", action="store_true")
    p.add_argument("--trim", action="store_true")
    args = p.parse_args(argv)
    import numpyro

    numpyro.set_host_device_count(4)
    import psutil

    import bayeslaw
    from scaling_rows import table

    proc = psutil.Process()
    for i in range(args.fits):
        t0 = time.perf_counter()
        # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
        f = bayeslaw.fit(table(args.rows, i), law="power_law", x="D", curvature=False, seed=i, progress_bar=False,
                         check=False)
        del f
        if args.collect or args.trim:
            gc.collect()
        if args.trim:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        print(f"fit {i + 1}: {time.perf_counter() - t0:5.1f} s  RSS {proc.memory_info().rss / 2**30:.2f} GB  "
              f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
