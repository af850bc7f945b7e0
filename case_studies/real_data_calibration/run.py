"""Real-data calibration: do the new-run bands cover held-out later checkpoints, per observation model?

Each study fits every curve (or run set) with each observation model named by ``--likelihoods``
(default: the independent ``student_t`` and the sequential ``learning_curve``), predicts the
held-out points, and records per point whether the 50% and 90% new-run intervals cover it, its
PIT, the CRPS of the predictive draws and the error of the posterior median; per curve the
sampler warnings, divergences and wall time. Curves are the independent units: coverage is
reported pooled over points and averaged over curves, with a bootstrap interval over curves.

``--study revisiting``: the 92 learning curves of the "Revisiting Neural Scaling Laws" benchmark
(``../shared/data/revisiting``), law ``power_law`` with x = seen examples, the benchmark's own
split (training part, held-out tail beyond it).

``--study synthetic``: learning curves with known drift: ``power_law`` (E 1.7, A 400, alpha 0.3)
read at 40 checkpoints over two decades, times an Ornstein-Uhlenbeck departure in log D (sd 0.03,
length 1 e-fold) and 0.5% jitter; the first 60% of checkpoints are fitted, the last 40% held out.

Each process fits with one JAX device (chains in sequence); ``BAYESLAW_CACHE_DIR`` names a persistent
compilation cache shared by the workers. Writes ``OUT/<study>/<likelihood>/points.csv.gz`` and ``curves.csv``, and ``OUT/summary.json`` and
``OUT/summary.md`` over whatever is there. Usage::

    python case_studies/real_data_calibration/run.py --out case_studies/real_data_calibration/results
    python case_studies/real_data_calibration/run.py --study revisiting --curves 8 --out /tmp/rdc
    python case_studies/real_data_calibration/run.py --study revisiting --likelihoods learning_curve --batch

``--batch`` fits every curve of a likelihood with ``bayeslaw.fit_many`` (one compiled, vectorised program per
padded size) in this process and labels its rows ``LIKELIHOOD (fit_many)``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REVISITING = HERE.parents[2] / "shared" / "data" / "revisiting" / "revisiting_benchmark.csv"
COLPRET = HERE.parents[2] / "shared" / "data" / "colpret" / "colpret_curves.csv"
LIKELIHOODS = ("student_t", "learning_curve")
STUDIES = ("revisiting", "synthetic", "colpret")
#: What ``--study all`` runs (the committed main tables); ``colpret`` is run by name.
MAIN_STUDIES = ("revisiting", "synthetic")
SYNTHETIC_CURVES = 60


# -- data ----------------------------------------------------------------------------------------
def revisiting_curves(path: Path = REVISITING) -> list[dict]:
    """Per curve: id, domain, training part and held-out tail (sizes in column D)."""
    df = pd.read_csv(path).rename(columns={"seen_examples": "D"})
    out = []
    for cid, g in df.groupby("curve_id", sort=True):
        train = g[g["training"] == 1]
        held = g[(g["training"] == 0) & (g["D"] > train["D"].max())]
        out.append({"curve_id": cid, "domain": g["domain"].iloc[0], "train": train[["D", "loss"]],
                    "held": held[["D", "loss"]]})
    return out


def colpret_curves(path: Path = COLPRET, first: float = 0.3, max_points: int = 100) -> list[dict]:
    """The ColPret learning curves (one per model and metric, at least 15 checkpoints): the checkpoints up to
    ``first`` of the run's last token count fitted, the later ones held out; sizes in column D (tokens seen).

    Digitised curves have several values at one token count (averaged); OPT's perplexities become log
    perplexity; LLM360-Mamba's "train_loss" (values 0.1-21.8, not a cross-entropy) is left out. A curve is thinned
    to about ``max_points`` checkpoints (every k-th) so a fit stays a few seconds; the held-out part is thinned
    alike.
    """
    df = pd.read_csv(path)
    df = df[df["family"] != "LLM360-Mamba"]
    out = []
    for (family, model, metric), g in df.groupby(["family", "model", "metric"], sort=True):
        g = g.groupby("tokens_seen", as_index=False)["value"].mean().sort_values("tokens_seen")
        loss = np.log(g["value"].to_numpy(float)) if metric == "valid_perplexity" else g["value"].to_numpy(float)
        frame = pd.DataFrame({"D": g["tokens_seen"].to_numpy(float), "loss": loss})
        frame = frame[(frame["D"] > 0) & (frame["loss"] > 0)]
        if len(frame) < 15:
            continue
        frame = frame.iloc[::max(1, len(frame) // max_points)]
        cut = first * frame["D"].max()
        train, held = frame[frame["D"] <= cut], frame[frame["D"] > cut]
        if len(train) < 8 or not len(held):
            continue
        out.append({"curve_id": f"{family}|{model}|{metric}", "domain": family, "train": train, "held": held})
    return out


def curves_of(study: str) -> list[dict]:
    """The curves of a study by name."""
    return {"revisiting": revisiting_curves, "synthetic": synthetic_curves, "colpret": colpret_curves}[study]()


def missing(study: str) -> Path | None:
    """The shared data file a study needs when it is not there (../shared/data beside the repository)."""
    path = {"revisiting": REVISITING, "colpret": COLPRET}.get(study)
    return path if path is not None and not path.exists() else None


def synthetic_curves(n: int = SYNTHETIC_CURVES, n_points: int = 40, drift: float = 0.03, length: float = 1.0,
                     jitter: float = 0.005) -> list[dict]:
    """Learning curves of a known power law with an OU departure in log D; each depends only on its seed."""
    from bayeslaw.core.statespace import simulate

    out = []
    for seed in range(n):
        D = np.geomspace(1e8, 1e10, n_points)
        r = simulate(np.random.default_rng(seed), np.log(D), sigma=jitter, drift=drift, drift_length=length)
        loss = (1.7 + 400 * D ** -0.3) * np.exp(r)
        frame = pd.DataFrame({"D": D, "loss": loss})
        cut = int(0.6 * n_points)
        out.append({"curve_id": f"ou_{seed}", "domain": "synthetic", "train": frame.iloc[:cut],
                    "held": frame.iloc[cut:]})
    return out


# -- one curve -----------------------------------------------------------------------------------
def init_process() -> None:
    """One JAX device per process (chains in sequence), float64, CPU."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpyro

    numpyro.set_host_device_count(1)
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("BAYESLAW_CACHE_DIR")
    if cache:  # compiled samplers shared by the workers and by later runs
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


def fit_kwargs(task: dict) -> dict:
    """bayeslaw.fit's arguments for a curve's training part (one run, x = seen examples)."""
    # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03):
    # with student_t the curve's rows are independent and "auto" would add the orthogonal term
    return dict(x="D", run="run", likelihood=task.get("observation", task["likelihood"]), curvature=False, num_warmup=task["num_warmup"],
                num_samples=task["num_samples"], num_chains=task["num_chains"], seed=task["seed"], progress_bar=False)


def run_curve(task: dict) -> tuple[dict, list[dict]]:
    """Fit one curve's training part with one likelihood; score its held-out points."""
    import bayeslaw

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(task["train"].assign(run="curve"), task.get("law", "power_law"), **fit_kwargs(task))
    return score_curve(task, fit, time.perf_counter() - t0)


def run_batched(tasks: list[dict], chunk: int = 16):
    """Every curve's fit through ``bayeslaw.fit_many`` in this process (one compiled program per padded size),
    then each scored; a curve's wall time is its share of the whole call, compiling included."""
    import bayeslaw

    init_process()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = bayeslaw.fit_many([t["train"].assign(run="curve") for t in tasks], tasks[0].get("law", "power_law"),
                                 chunk=chunk,
                                 **fit_kwargs(tasks[0]))
    share = (time.perf_counter() - t0) / len(tasks)
    for task, fit in zip(tasks, fits.values()):
        yield score_curve(dict(task, likelihood=task["likelihood"] + " (fit_many)"), fit, share)


def score_curve(task: dict, fit, wall: float) -> tuple[dict, list[dict]]:
    """A fitted curve's row (warnings, divergences, time) and its held-out points, scored."""
    import bayeslaw

    row = {"curve_id": task["curve_id"], "domain": task["domain"], "likelihood": task["likelihood"],
           "n_train": len(task["train"]), "n_held": len(task["held"]), "wall_s": wall,
           "warnings": len(fit.diagnostics), "divergences": int(fit.idata["sample_stats"]["diverging"].sum())}
    if not len(task["held"]):
        return row, []
    pred = bayeslaw.predict(fit, x=task["held"]["D"].to_numpy(float), ci_prob=0.9, seed=task["seed"])
    return row, score_draws(task, pred.draws("new_run"))


def score_draws(task: dict, new: np.ndarray) -> list[dict]:
    """The held-out points of a curve scored against new-run draws (draws x points) of any predictive."""
    from bayeslaw.validation.scores import crps_samples

    train, held = task["train"], task["held"]
    x, y = held["D"].to_numpy(float), held["loss"].to_numpy(float)
    lo90, hi90 = np.quantile(new, [0.05, 0.95], axis=0)
    lo50, hi50 = np.quantile(new, [0.25, 0.75], axis=0)
    med = np.median(new, axis=0)
    last = float(train["D"].max())
    points = [{"curve_id": task["curve_id"], "domain": task["domain"], "likelihood": task["likelihood"],
               "x": x[j], "loss": y[j], "decades": float(np.log10(x[j] / last)),
               "lower_90": lo90[j], "upper_90": hi90[j], "lower_50": lo50[j], "upper_50": hi50[j], "median": med[j],
               "covered_90": bool(lo90[j] <= y[j] <= hi90[j]), "covered_50": bool(lo50[j] <= y[j] <= hi50[j]),
               "above_90": bool(y[j] > hi90[j]), "pit": float(np.mean(new[:, j] < y[j]))}
              for j in range(len(y))]
    # CRPS of log loss; a heavy-tailed (small nu) Student-t draw can leave exp's range: clip it there
    crps = crps_samples(np.log(np.clip(new, 1e-300, 1e300)), np.log(y))
    for p, c in zip(points, crps):
        p["crps_log"] = float(c)
    return points


def execute(tasks: list[dict], workers: int, fn=None):
    """``fn(task)`` (default :func:`run_curve`) of every task, in ``workers`` processes, as each finishes."""
    fn = run_curve if fn is None else fn
    if workers <= 1:
        init_process()
        for t in tasks:
            yield fn(t)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_process) as pool:
        for fut in as_completed([pool.submit(fn, t) for t in tasks]):
            yield fut.result()


# -- summaries -----------------------------------------------------------------------------------
def curve_bootstrap(values: pd.Series, groups: pd.Series, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% interval of a pooled mean, resampling curves (the independent units) with replacement."""
    rng = np.random.default_rng(seed)
    by = values.groupby(groups.to_numpy())
    sums, counts = by.sum().to_numpy(float), by.size().to_numpy(float)
    idx = rng.integers(0, len(sums), size=(reps, len(sums)))
    stats = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    return float(np.quantile(stats, 0.025)), float(np.quantile(stats, 0.975))


def summarise(points: pd.DataFrame, curves: pd.DataFrame) -> dict:
    """One record per (study, likelihood): coverages (pooled, per curve, bootstrap over curves), errors, costs."""
    out = {}
    for (study, lik), pts in points.groupby(["study", "likelihood"]):
        cur = curves[(curves["study"] == study) & (curves["likelihood"] == lik)]
        per_curve = pts.groupby("curve_id")
        rec = {"curves": int(cur["curve_id"].nunique()), "points": int(len(pts))}
        for level in (50, 90):
            cov = pts[f"covered_{level}"].astype(float)
            rec[f"coverage_{level}"] = float(cov.mean())
            rec[f"coverage_{level}_ci95"] = curve_bootstrap(cov, pts["curve_id"])
            rec[f"coverage_{level}_per_curve"] = float(per_curve[f"covered_{level}"].mean().mean())
        rec["above_90"] = float(pts["above_90"].mean())
        rmsle = per_curve.apply(lambda g: float(np.sqrt(np.mean((np.log(g["median"]) - np.log(g["loss"])) ** 2))),
                                include_groups=False)
        rec["median_rmsle"] = float(rmsle.median())
        rec["mean_crps_log"] = float(pts["crps_log"].mean())
        rec["median_width_90"] = float(((pts["upper_90"] - pts["lower_90"]) / pts["loss"]).median())
        rec["share_curves_with_warnings"] = float((cur["warnings"] > 0).mean())
        rec["median_wall_s"] = float(cur["wall_s"].median())
        out[f"{study}/{lik}"] = rec
    return out


def summary_markdown(summary: dict) -> str:
    lines = ["| study | likelihood | curves | points | 90% coverage: points [95% CI] / per curve | "
             "50% coverage: points / per curve | above 90% | median RMSLE | CRPS (log) | median 90% width | "
             "curves with warnings | median s per fit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in summary.items():
        study, lik = key.split("/")
        lo, hi = r["coverage_90_ci95"]
        lines.append(f"| {study} | {lik} | {r['curves']} | {r['points']} | {r['coverage_90']:.3f} [{lo:.3f}, {hi:.3f}]"
                     f" / {r['coverage_90_per_curve']:.3f} | {r['coverage_50']:.3f} / {r['coverage_50_per_curve']:.3f}"
                     f" | {r['above_90']:.3f} | {r['median_rmsle']:.4f} | {r['mean_crps_log']:.4f} | "
                     f"{r['median_width_90']:.3f} | {r['share_curves_with_warnings']:.3f} | {r['median_wall_s']:.1f} |")
    return "\n".join(lines) + "\n"


def figure(points: pd.DataFrame, path: Path) -> None:
    """Coverage of the 90% and 50% new-run bands against the distance beyond the last fitted checkpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies = list(points["study"].unique())
    fig, axes = plt.subplots(1, len(studies), figsize=(5.2 * len(studies), 3.8), squeeze=False, sharey=True)
    for ax, study in zip(axes[0], studies):
        pts = points[points["study"] == study]
        edges = np.quantile(pts["decades"], np.linspace(0, 1, 7))
        for lik in sorted(pts["likelihood"].unique()):
            style = "--" if lik.startswith("student_t") else "-"
            g = pts[pts["likelihood"] == lik]
            if not len(g):
                continue
            bins = pd.cut(g["decades"], np.unique(edges), include_lowest=True)
            for level, color in ((90, "C0"), (50, "C1")):
                cov = g.groupby(bins, observed=True)[f"covered_{level}"].mean()
                mid = [iv.mid for iv in cov.index]
                ax.plot(mid, cov.to_numpy(), style, marker="o", ms=3, color=color, label=f"{lik}, {level}% band")
        for level in (0.9, 0.5):
            ax.axhline(level, color="0.6", lw=0.8, zorder=0)
        ax.set_title({"revisiting": "Revisiting benchmark, 92 curves", "synthetic": "synthetic OU drift, 60 curves"}
                     .get(study, study))
        ax.set_xlabel("decades beyond the last fitted checkpoint")
        ax.set_ylim(0, 1.02)
    axes[0][0].set_ylabel("share of held-out points covered")
    axes[0][-1].legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def collect(out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    pts, cur = [], []
    for study in STUDIES:
        for folder in sorted((out / study).glob("*")) if (out / study).exists() else []:
            if (folder / "points.csv.gz").exists():
                pts.append(pd.read_csv(folder / "points.csv.gz").assign(study=study))
                cur.append(pd.read_csv(folder / "curves.csv").assign(study=study))
    if not pts:
        return pd.DataFrame(), pd.DataFrame()
    return pd.concat(pts, ignore_index=True), pd.concat(cur, ignore_index=True)


# -- driver --------------------------------------------------------------------------------------
def add_fit_arguments(p: argparse.ArgumentParser) -> None:
    """The options this study's scripts share: which curves, the sampler's budget and seed, worker processes."""
    p.add_argument("--curves", type=int, default=None, help="every k-th curve so that about this many are fitted")
    p.add_argument("--num-samples", type=int, default=1000)
    p.add_argument("--num-warmup", type=int, default=1000)
    p.add_argument("--num-chains", type=int, default=4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)


def every_kth(curves: list[dict], n: int | None) -> list[dict]:
    """About ``n`` curves, every k-th (all of them when ``n`` is None)."""
    return curves[::max(1, len(curves) // n)][:n] if n else curves


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study", choices=[*STUDIES, "all"], default="all")
    p.add_argument("--likelihoods", default=",".join(LIKELIHOODS), help="comma-separated observation models")
    add_fit_arguments(p)
    p.add_argument("--batch", action="store_true",
                   help="fit the curves with bayeslaw.fit_many in this process (results under LIKELIHOOD_fit_many)")
    p.add_argument("--law", default="power_law",
                   help="the law fitted to every curve (default power_law; another law's rows are labelled "
                        "'LIKELIHOOD (LAW)' and kept under LIKELIHOOD_LAW)")
    p.add_argument("--out", type=Path, default=HERE / "results")
    args = p.parse_args(argv)
    studies = MAIN_STUDIES if args.study == "all" else (args.study,)
    for study in studies:
        if missing(study):
            print(f"skipping {study}: {missing(study)} is missing (../shared/data beside the repository)",
                  file=sys.stderr)
            continue
        curves = curves_of(study)
        curves = every_kth(curves, args.curves)
        for lik in args.likelihoods.split(","):
            label = lik if args.law == "power_law" else f"{lik} ({args.law})"
            tasks = [dict(c, likelihood=label, observation=lik, law=args.law, seed=args.seed, num_samples=args.num_samples,
                          num_warmup=args.num_warmup, num_chains=args.num_chains) for c in curves]
            rows, pts = [], []
            t0 = time.perf_counter()
            runner = run_batched(tasks) if args.batch else execute(tasks, args.workers)
            for i, (row, points) in enumerate(runner):
                rows.append(row)
                pts += points
                print(f"{study} {lik} {i + 1}/{len(tasks)} {row['curve_id']}: {row['wall_s']:.1f} s, "
                      f"{row['warnings']} warnings", file=sys.stderr, flush=True)
            name = lik if args.law == "power_law" else f"{lik}_{args.law}"
            folder = args.out / study / (f"{name}_fit_many" if args.batch else name)
            folder.mkdir(parents=True, exist_ok=True)
            pd.DataFrame(rows).sort_values("curve_id").to_csv(folder / "curves.csv", index=False)
            pd.DataFrame(pts).sort_values(["curve_id", "x"]).to_csv(folder / "points.csv.gz", index=False,
                                                                   float_format="%.6g")
            print(f"{study} {lik}: {len(rows)} curves in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    points, curves = collect(args.out)
    if len(points):
        summary = summarise(points, curves)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        (args.out / "summary.md").write_text(summary_markdown(summary))
        figure(points, args.out / "coverage.png")
        print(summary_markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
