"""Probe (session 5): sampler warnings of power_law on the 92 real learning curves of the "Revisiting" benchmark.

Fits ``power_law`` (x = seen examples) to the training part (``training == 1``) of every curve in
``../shared/data/revisiting/revisiting_benchmark.csv`` with the defaults, and records divergences,
the largest R-hat and the wall time. Run it with the code of two commits to compare samplers
(session 5 ran it at 18aaa0c, (E, a, alpha) coordinates, and at the commit that added
``Law.coordinates``). Curves bayeslaw refuses (e.g. a non-positive metric) are recorded with the
reason.

Usage::

    python case_studies/calibration/probe_real_curves.py --out OUT.csv
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_heldout import DATA, missing, revisiting_curves  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    if missing(args.data):
        return 2
    from run import _init_worker

    _init_worker(1)
    import bayeslaw

    rows = []
    for cid, domain, train, _ in revisiting_curves(args.data):
        runs = train[["D", "loss"]]
        row = {"curve_id": cid, "domain": domain, "n": len(train)}
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                f = bayeslaw.fit(runs, "power_law", x="D", seed=0, progress_bar=False)
            row.update(divergences=int(f.idata["sample_stats"]["diverging"].sum()),
                       r_hat_max=float(f.summary()["r_hat"].max()), warnings=len(f.diagnostics))
        except bayeslaw.BayeslawError as e:
            row["error"] = str(e)
        row["wall_s"] = time.perf_counter() - t0
        rows.append(row)
        print(f"{len(rows)}: {cid} {row.get('divergences', '-')} {row.get('r_hat_max', '-')}", flush=True)
    out = pd.DataFrame(rows)
    out.to_csv(args.out, index=False)
    ok = out.dropna(subset=["r_hat_max"])
    print(f"{len(ok)} curves fitted: divergent {(ok['divergences'] > 0).sum()}, R-hat > 1.01 "
          f"{(ok['r_hat_max'] > 1.01).sum()}, any warning {(ok['warnings'] > 0).sum()}, "
          f"median wall {ok['wall_s'].median():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
