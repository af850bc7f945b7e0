"""Ours against the peer on the same ladders, with the current sampler's rows.

The peer (scipy ``curve_fit`` + 500 case bootstraps) ran on power_law ladders 0-199 in
``results/power_law_<noise>.csv``, next to bayeslaw's (E, a, alpha) sampler of sessions 1-4.
The ladders depend only on their seed, so bayeslaw's current rows for the same seeds
(``results/coordinates/``) can be set beside the peer's without running it again.

Usage::

    python case_studies/calibration/peer_widths.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def targets(frame: pd.DataFrame, key: str) -> np.ndarray:
    return np.concatenate([frame[f"t{i}_{key}"].to_numpy() for i in range(3)])


def main() -> None:
    print("| noise | ladders | ours, ends coordinates: coverage / median width | ours, (E, a, alpha) sampler | "
          "peer: curve_fit + bootstrap |")
    print("|---|---|---|---|---|")
    for noise in ("normal", "student_t3"):
        old = pd.read_csv(RESULTS / f"power_law_{noise}.csv").sort_values("seed")
        new = pd.read_csv(RESULTS / "coordinates" / f"power_law_{noise}.csv").sort_values("seed")
        new = new[new["seed"].isin(old["seed"])]
        assert (new["seed"].to_numpy() == old["seed"].to_numpy()).all()
        cells = [f"{targets(f, k + '_cov').mean():.3f} / {np.median(targets(f, k + '_width')):.3f}"
                 for f, k in ((new, "mean"), (old, "mean"), (old, "peer_mean"))]
        print(f"| {noise} | {len(new)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
