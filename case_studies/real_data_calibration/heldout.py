"""Shared by the extra real-data studies (``bnsl.py``, ``colpret.py``): JAX set-up, one timed fit with its
sampler record, the scores of held-out values from new-run draws, the run's stamp, strict JSON.

It owns no data set and no study design: each script reads its data, chooses laws and splits, and calls
``timed_fit`` and ``score_points``. The scores are ``run.py``'s: central 50% and 90% new-run intervals,
whether they cover the held-out value, their width relative to it, PIT, CRPS of log loss and the error
of the new-run median (RMSLE in natural-log units, ``log(median) - log(loss)``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def init_jax() -> None:
    """One JAX device (chains in sequence, as run.py's workers), float64, CPU, and the compile cache named by
    ``BAYESLAW_CACHE_DIR``. In a process whose JAX has started (a test) it changes nothing that matters."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpyro

    numpyro.set_host_device_count(1)
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("BAYESLAW_CACHE_DIR")
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def sampler_args(args) -> dict[str, int]:
    """The sampler settings of an argparse namespace with ``--num-samples/--num-warmup/--num-chains/--seed``."""
    return {"num_samples": args.num_samples, "num_warmup": args.num_warmup, "num_chains": args.num_chains,
            "seed": args.seed}


def add_sampler_options(parser) -> None:
    """run.py's sampler flags and defaults (4 chains x (1000 + 1000), seed 0)."""
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--num-warmup", type=int, default=1000)
    parser.add_argument("--num-chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)


def timed_fit(data, law: str, **kwargs):
    """``bayeslaw.fit`` with its warnings silenced (they are recorded in the fit) and its wall time.

    Returns ``(fit, record)``: record holds the wall time, the failed checks (``fit.diagnostics``),
    divergences and the observation model the fit used with its reason.
    """
    import bayeslaw

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(data, law, progress_bar=False, **kwargs)
    wall = time.perf_counter() - t0
    record = {"law": law, "likelihood": fit.spec.likelihood, "likelihood_reason": fit.spec.likelihood_reason,
              "rows": int(len(fit.runs().frame)), "wall_s": round(wall, 2),
              "warnings": [d["check"] for d in fit.diagnostics],
              "divergences": int(fit.idata["sample_stats"]["diverging"].sum()),
              "converged": bool(fit.converged)}
    return fit, record


def score_points(new: np.ndarray, y: np.ndarray) -> list[dict[str, float | bool]]:
    """Scores of held-out values ``y`` (n,) from new-run draws ``new`` (draws, n)."""
    from bayeslaw.validation.scores import crps_samples

    new = np.asarray(new, float)
    y = np.asarray(y, float)
    lo90, lo50, med, hi50, hi90 = np.quantile(new, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
    # a heavy-tailed (small nu) Student-t draw can leave exp's range: clip it there, as run.py does
    crps = crps_samples(np.log(np.clip(new, 1e-300, 1e300)), np.log(y))
    out = []
    for j in range(len(y)):
        out.append({"loss": float(y[j]), "median": float(med[j]),
                     "lower_90": float(lo90[j]), "upper_90": float(hi90[j]),
                     "lower_50": float(lo50[j]), "upper_50": float(hi50[j]),
                     "covered_90": bool(lo90[j] <= y[j] <= hi90[j]), "covered_50": bool(lo50[j] <= y[j] <= hi50[j]),
                     "above_90": bool(y[j] > hi90[j]), "below_90": bool(y[j] < lo90[j]),
                     "width_90": float((hi90[j] - lo90[j]) / y[j]), "width_50": float((hi50[j] - lo50[j]) / y[j]),
                     "log_error": float(np.log(med[j]) - np.log(y[j])),
                     "are": float(abs(med[j] - y[j]) / y[j]),
                     "pit": float(np.mean(new[:, j] < y[j])), "crps_log": float(crps[j])})
    return out


def rmsle(points: list[dict]) -> float:
    """Root mean squared natural-log error of the medians: sqrt(mean((log median - log loss)^2))."""
    return float(np.sqrt(np.mean([p["log_error"] ** 2 for p in points])))


def jeffreys(k: int, n: int) -> list[float]:
    """Jeffreys 95% interval of a share k / n (the units are few: 3 points, 2-3 families)."""
    from scipy.stats import beta

    lo = 0.0 if k == 0 else float(beta.ppf(0.025, k + 0.5, n - k + 0.5))
    hi = 1.0 if k == n else float(beta.ppf(0.975, k + 0.5, n - k + 0.5))
    return [round(lo, 3), round(hi, 3)]


def stamp() -> dict[str, Any]:
    """Date, the repository's commit and the library files that differed from it when the study ran."""
    def git(*cmd):
        try:
            return subprocess.run(["git", *cmd], cwd=REPO, capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            return ""

    import bayeslaw

    dirty = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines() if line]
    return {"date": date.today().isoformat(), "commit": git("rev-parse", "--short", "HEAD").strip(),
            "src_differs_from_commit": dirty, "bayeslaw_version": bayeslaw.__version__}


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return float(f"{value:.6g}") if math.isfinite(value) else None
    return value


def write_json(path: Path, payload: dict) -> None:
    """Strict JSON (non-finite numbers become null), floats to 6 significant digits, written whole or not at all."""
    text = json.dumps(_clean(payload), indent=1, allow_nan=False) + "\n"
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
