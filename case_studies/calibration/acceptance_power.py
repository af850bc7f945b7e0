"""How often would a perfectly calibrated method pass issue 4's acceptance test as written?

Each cell (law x noise) must land in 0.88-0.92. The 3 targets of a ladder are missed together
(run.py's ``effective_n`` is close to the number of ladders), so a calibrated method's coverage
in a cell with L ladders is about Binomial(L, 0.9) / L. This prints, for the study's cell sizes,
the probability of landing inside the band, per cell and for all cells at once.

Usage::

    python case_studies/calibration/acceptance_power.py [--band 0.88 0.92] [--cells 200,200,200,200,100,...]
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.stats import binom


def p_in_band(ladders: int, lo: float = 0.88, hi: float = 0.92, p: float = 0.9) -> float:
    """P(lo <= Binomial(ladders, p) / ladders <= hi)."""
    k_lo, k_hi = int(np.ceil(lo * ladders - 1e-9)), int(np.floor(hi * ladders + 1e-9))
    return float(binom.cdf(k_hi, ladders, p) - binom.cdf(k_lo - 1, ladders, p))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--band", nargs=2, type=float, default=(0.88, 0.92))
    # the study: chinchilla and power_law at 200 ladders per noise, the other three laws at 100
    # (x2 noise models each) and both coverages (mean law, new run) in every cell
    ap.add_argument("--cells", default=",".join(["200"] * 4 + ["100"] * 6))
    args = ap.parse_args(argv)
    sizes = [int(c) for c in args.cells.split(",")]
    print("| ladders per cell | P(one coverage in band) |\n|---|---|")
    for n in sorted(set(sizes)) + [500, 1000]:
        print(f"| {n} | {p_in_band(n, *args.band):.3f} |")
    per = [p_in_band(n, *args.band) for n in sizes]
    # two coverages per cell (mean law, new run), treated as independent
    print(f"\nall {len(sizes)} cells x 2 coverages in band: {np.prod(per) ** 2:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
