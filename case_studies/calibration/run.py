"""Calibration of bayeslaw's intervals on synthetic ladders with known truth.

For each law and noise model (Gaussian, Student-t with 3 df, same 2% scale on log loss),
simulate ladders (ladders.py), fit with bayeslaw's defaults (priors, Student-t likelihood),
predict at targets 10-100x beyond the ladder, and record whether the 90% mean-law interval
covers the true law and whether the 90% new-run interval covers a fresh draw. For chinchilla
and power_law the same ladders are also fitted by the peer recipe, scipy curve_fit (least
squares on log loss, started at the truth: generous to the peer) + 500 case bootstraps.

Rows are appended to ``OUT/<law>_<noise>.csv`` as they finish (a run can be resumed:
finished seeds are skipped); ``OUT/summary.json`` and ``OUT/summary.md`` aggregate them with
Wilson 95% intervals for coverage. The 3 targets of a ladder are missed together, so the table's
intervals treat ladders as the independent units (``wilson95_by_ladder``, ``effective_n``); the
JSON also keeps the naive interval over targets (``wilson95``).

Local runs use a process pool (``--workers``); for big studies pass ``--dask ADDRESS`` to
run the same tasks on a Dask distributed cluster (``pip install 'bayeslaw[dask]'``).

Usage::

    python case_studies/calibration/run.py --laws chinchilla,power_law --ladders 200 --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
NOISES = ("normal", "student_t3")
PROBE_NOISES = ("normal_sd*",)  # ladders.noise kinds for probes only (Gaussian of another sd)
PEER_LAWS = ("chinchilla", "power_law", "power_law_3decades")


def _init_worker(devices: int) -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpyro

    numpyro.set_host_device_count(devices)
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("BAYESLAW_CACHE_DIR")
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def run_task(task: dict) -> dict:
    """One ladder: bayeslaw fit + predict, and the peer recipe where defined."""
    import warnings

    import bayeslaw
    from ladders import DESIGNS, make_ladder

    design = DESIGNS[task["law"]]
    ladder, targets = make_ladder(design, task["noise"], task["seed"])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(ladder, design.law, x=design.x, num_warmup=task["num_warmup"],
                           num_samples=task["num_samples"], num_chains=task["num_chains"], seed=task["seed"],
                           priors=task.get("priors") or None, likelihood=task.get("likelihood", "student_t"),
                           target_accept_prob=task.get("target_accept", 0.8), progress_bar=False)
    wall = time.perf_counter() - t0
    pred = fit.predict(targets=targets[list(design.columns)], interval=0.9, seed=task["seed"])
    t = pred.table
    mean_draws, new_draws = pred.draws("mean"), pred.draws("new_run")
    row = {"law": task["law"], "noise": task["noise"], "seed": task["seed"], "wall_s": wall,
           "r_hat_max": float(fit.summary()["r_hat"].max()),
           "divergences": int(fit.idata["sample_stats"]["diverging"].sum()),
           "n_diagnostics": len(fit.diagnostics)}
    if task.get("recalibrate"):
        # recalibrated intervals replace the plain ones (the PITs stay the posterior's own)
        from probe_recalibrate import recalibrated_table

        t0 = time.perf_counter()
        t = recalibrated_table(fit, targets[list(design.columns)].reset_index(drop=True), interval=0.9,
                               replicates=task["recalibrate"], seed=task["seed"],
                               source=task.get("recalibrate_from", "posterior"))
        row["recalibrate_wall_s"] = time.perf_counter() - t0
        for i in range(len(targets)):
            for c in ("mean_level_lower", "mean_level_upper", "mean_pit_shift", "mean_pit_scale",
                      "new_run_level_lower", "new_run_level_upper"):
                row[f"t{i}_{c}"] = float(t[c].iloc[i])
    row.update(target_columns(targets, t, mean_draws, new_draws))
    if task["peer"] and task["law"] in PEER_LAWS:
        row.update(_peer(design, ladder, targets, task["seed"]))
    return row


def target_columns(targets: pd.DataFrame, bounds: pd.DataFrame, mean_draws, new_draws) -> dict:
    """One ladder's per-target columns: coverage, width / truth and PIT of the mean law and a new run.

    ``bounds`` holds each target's interval (``mean_lower``/``mean_upper``,
    ``new_run_lower``/``new_run_upper``); the draws are shaped (..., targets), in loss units.
    """
    row = {}
    for i in range(len(targets)):
        truth, fresh = targets["true_mean"].iloc[i], targets["fresh_run"].iloc[i]
        lo, hi = bounds["mean_lower"].iloc[i], bounds["mean_upper"].iloc[i]
        nlo, nhi = bounds["new_run_lower"].iloc[i], bounds["new_run_upper"].iloc[i]
        row[f"t{i}_mean_cov"] = int(lo <= truth <= hi)
        row[f"t{i}_new_cov"] = int(nlo <= fresh <= nhi)
        row[f"t{i}_mean_width"] = float((hi - lo) / truth)
        row[f"t{i}_new_width"] = float((nhi - nlo) / truth)
        # probability integral transform: where the truth falls in the posterior (0.5 = centre;
        # a skew means bias, a U shape means overconfidence)
        row[f"t{i}_mean_pit"] = float((mean_draws[..., i] < truth).mean())
        row[f"t{i}_new_pit"] = float((new_draws[..., i] < fresh).mean())
    return row


def _np_log_mean(law: str, X: np.ndarray, theta) -> np.ndarray:
    """The peer's model in plain numpy (a = log A, b = log B), log loss."""
    if law == "chinchilla":
        E, a, alpha, b, beta = theta
        return np.logaddexp(np.logaddexp(np.log(E), a - alpha * np.log(X[0])), b - beta * np.log(X[1]))
    if law == "power_law":
        E, a, alpha = theta
        return np.logaddexp(np.log(E), a - alpha * np.log(X[0]))
    raise ValueError(law)


def _peer(design, ladder, targets, seed, n_boot: int = 500) -> dict:
    """scipy curve_fit (least squares on log loss) + case bootstrap: 90% percentile intervals."""
    from scipy.optimize import curve_fit

    from ladders import true_log_mean

    names = list(design.truth)
    X = np.stack([ladder[c].to_numpy(float) for c in design.columns])
    Xt = np.stack([targets[c].to_numpy(float) for c in design.columns])
    y = np.log(ladder["loss"].to_numpy())

    def model(X, *theta):
        return _np_log_mean(design.law, X, theta)

    p0 = [design.truth[n] for n in names]
    lower = [1e-9 if n == "E" else -np.inf for n in names]
    rng = np.random.default_rng(seed + 10_000)
    t0 = time.perf_counter()
    preds = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        try:
            theta, _ = curve_fit(model, X[:, idx], y[idx], p0=p0, bounds=(lower, np.inf), maxfev=5000)
        except (RuntimeError, ValueError):
            continue
        preds.append(np.exp(model(Xt, *theta)))
    wall = time.perf_counter() - t0
    preds = np.array(preds)
    out = {"peer_wall_s": wall, "peer_boot_ok": len(preds)}
    lo, hi = np.quantile(preds, [0.05, 0.95], axis=0)
    truth = np.exp(true_log_mean(design, targets))
    for i in range(len(targets)):
        out[f"t{i}_peer_mean_cov"] = int(lo[i] <= truth[i] <= hi[i])
        out[f"t{i}_peer_mean_width"] = float((hi[i] - lo[i]) / truth[i])
    return out


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (c - h, c + h)


def clustered_wilson(hits: np.ndarray, z: float = 1.96) -> tuple[float, float, float]:
    """Wilson 95% interval for coverage from a (ladders, targets) 0/1 array, with the ladders as the
    independent units: a ladder's targets are missed together, so the effective sample size is
    p(1-p)/se^2 with se the standard error of the per-ladder means (returned third)."""
    per = hits.mean(axis=1)
    p, n = float(hits.mean()), len(per)
    se = float(per.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    if not se > 0:
        return (*wilson(int(hits.sum()), hits.size, z), float(n))
    n_eff = p * (1 - p) / se ** 2
    lo, hi = wilson(round(p * n_eff), round(n_eff), z)
    return lo, hi, n_eff


def summarise(out: Path) -> dict:
    summary = {}
    # only this study's CSVs, not other studies' in the same folder
    for path in sorted(p for noise in NOISES + PROBE_NOISES for p in out.glob(f"*_{noise}.csv")):
        df = pd.read_csv(path)
        if df.empty:
            continue
        law, noise = df["law"].iloc[0], df["noise"].iloc[0]
        tcols = sorted({c.split("_")[0] for c in df.columns if c.startswith("t") and c[1].isdigit()})
        entry = {"ladders": len(df), "targets": len(df) * len(tcols),
                 "median_wall_s": float(df["wall_s"].median()),
                 "ladders_with_diagnostic_warnings": int((df["n_diagnostics"] > 0).sum()),
                 "ladders_with_divergences": int((df["divergences"] > 0).sum()),
                 "max_r_hat": float(df["r_hat_max"].max())}
        for kind in ("mean", "new", "peer_mean"):
            cols = [f"{t}_{kind}_cov" for t in tcols]
            if not all(c in df.columns for c in cols):
                continue
            hits = df[cols].to_numpy()
            k, n = int(hits.sum()), hits.size
            widths = df[[f"{t}_{kind}_width" for t in tcols]].to_numpy()
            lo, hi, n_eff = clustered_wilson(hits)
            entry[kind] = {"coverage": k / n, "wilson95": wilson(k, n), "k": k, "n": n,
                           "wilson95_by_ladder": [lo, hi], "effective_n": n_eff,
                           "ladders_all_covered": float((hits.sum(axis=1) == hits.shape[1]).mean()),
                           "median_rel_width": float(np.median(widths))}
        summary[f"{law}/{noise}"] = entry
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    lines = ["| law | noise | ladders | mean-law coverage (95% CI, ladders as units) | new-run coverage (95% CI) | "
             "peer (curve_fit + bootstrap) mean-law coverage | median width: ours / peer | R-hat>1.01 or div. |",
             "|---|---|---|---|---|---|---|---|"]
    for key, e in summary.items():
        law, noise = key.split("/")
        def cov(kind):
            if kind not in e:
                return "—"
            c = e[kind]
            lo, hi = c.get("wilson95_by_ladder", c["wilson95"])
            return f"{c['coverage']:.3f} [{lo:.3f}, {hi:.3f}]"
        width = f"{e['mean']['median_rel_width']:.3f}"
        if "peer_mean" in e:
            width += f" / {e['peer_mean']['median_rel_width']:.3f}"
        lines.append(f"| {law} | {noise} | {e['ladders']} | {cov('mean')} | {cov('new')} | {cov('peer_mean')} | "
                     f"{width} | {e['ladders_with_diagnostic_warnings']} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--laws", default="chinchilla,power_law")
    p.add_argument("--noise", default=",".join(NOISES))
    p.add_argument("--ladders", type=int, default=200, help="ladders per law and noise model")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--no-peer", action="store_true", help="skip the curve_fit + bootstrap peer")
    p.add_argument("--target-accept", type=float, default=0.8, help="NUTS target acceptance (default: the default)")
    p.add_argument("--prior", action="append", default=[], metavar="NAME=DIST",
                   help="override a default prior, e.g. nu='Gamma(2, 0.1)' (for sensitivity runs)")
    p.add_argument("--likelihood", default="student_t", choices=["student_t", "normal"])
    p.add_argument("--recalibrate", type=int, default=0, metavar="R",
                   help="report intervals recalibrated with R posterior-simulated refits "
                        "(probe_recalibrate.py); 0 = the plain posterior intervals")
    p.add_argument("--recalibrate-from", choices=["posterior", "plugin"], default="posterior",
                   help="replicates' truths: posterior draws, or the posterior medians (parametric bootstrap)")
    p.add_argument("--dask", metavar="ADDRESS", help="run tasks on this Dask distributed scheduler")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    tasks = []
    for law in args.laws.split(","):
        for noise in args.noise.split(","):
            path = args.out / f"{law}_{noise}.csv"
            done = set(pd.read_csv(path)["seed"]) if path.exists() and path.stat().st_size else set()
            for seed in range(args.first_seed, args.first_seed + args.ladders):
                if seed not in done:
                    tasks.append({"law": law, "noise": noise, "seed": seed, "num_warmup": args.num_warmup,
                                  "num_samples": args.num_samples, "num_chains": args.num_chains,
                                  "peer": not args.no_peer, "target_accept": args.target_accept,
                                  "priors": dict(p.split("=", 1) for p in args.prior),
                                  "likelihood": args.likelihood, "recalibrate": args.recalibrate,
                                  "recalibrate_from": args.recalibrate_from})
    print(f"{len(tasks)} ladders to fit", flush=True)
    t0 = time.perf_counter()
    for i, row in enumerate(_execute(tasks, args)):
        path = args.out / f"{row['law']}_{row['noise']}.csv"
        pd.DataFrame([row]).to_csv(path, mode="a", header=not path.exists() or not path.stat().st_size,
                                   index=False)
        if (i + 1) % 10 == 0 or i + 1 == len(tasks):
            print(f"{i + 1}/{len(tasks)} done, {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarise(args.out)
    print((args.out / "summary.md").read_text())
    return 0 if summary else 1


def _execute(tasks, args):
    if not tasks:
        return
    if args.dask:
        from dask.distributed import Client, as_completed

        client = Client(args.dask)
        client.run(_init_worker, 1)
        for fut in as_completed(client.map(run_task, tasks, pure=False)):
            yield fut.result()
        return
    if args.workers <= 1:
        _init_worker(args.num_chains)
        for t in tasks:
            yield run_task(t)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # (max_tasks_per_child would bound the ~20 MB per fit a worker grows by, see the README, but it
    # deadlocked the pool after the first replacement on Python 3.12.1)
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                             initargs=(1,)) as pool:
        for fut in as_completed([pool.submit(run_task, t) for t in tasks]):
            yield fut.result()


if __name__ == "__main__":
    sys.exit(main())
