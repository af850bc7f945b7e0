"""Calibration: do bayeslaw's 90% intervals cover 90% beyond the data?

Two studies, each writing only under ``--out``:

``--study ladders`` (synthetic ladders with a known truth). For each law and noise model (Gaussian,
or Student-t with 3 degrees of freedom, scale 0.02 on log loss) simulate ladders (``DESIGNS``),
fit them with bayeslaw's defaults (priors, Student-t likelihood, NUTS 4 x (1000 + 1000)), predict
at targets 10x, 31.6x and 100x beyond the ladder, and record whether the 90% interval of the mean
law covers the true law and whether the 90% new-run interval covers a fresh run. For chinchilla and
power_law the first ``PEER_LADDERS`` ladders are also fitted by the recipe users run today: scipy
``curve_fit`` (least squares on log loss, started at the truth) + 500 case bootstraps. Rows are
appended to ``OUT/<law>_<noise>.csv`` as ladders finish (a run resumes where it stopped);
``OUT/summary.json`` and ``OUT/summary.md`` aggregate them, with 95% intervals that count ladders,
not targets, as the independent units (``clustered_wilson``).

``--study revisiting`` (real learning curves). Fits a one-variable law (x = seen examples) to the
training part of each of the 92 curves of the "Revisiting Neural Scaling Laws" benchmark
(``../shared/data/revisiting``) and asks the 90% new-run interval to cover the held-out points
beyond it. Writes ``OUT/revisiting/<law>/points.csv.gz`` (one row per held-out point),
``curves.csv`` (one row per curve) and ``summary.md``.

``--study all`` (the default) runs both with their plans (``PLAN``, ``REVISITING_LAWS``).

Every process that fits has one JAX device, so each fit's chains run one after another; the
committed rows were made that way, and they depend only on the ladder (or curve) and the seed,
not on ``--workers``. Usage::

    python case_studies/calibration/run.py --out case_studies/calibration/results      # everything, ~2.5 h on 2 cores
    python case_studies/calibration/run.py --study ladders --laws power_law --noise normal --ladders 20 --out DIR
    python case_studies/calibration/run.py --study revisiting --laws power_law --curves 10 --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REVISITING = HERE.parents[2] / "shared" / "data" / "revisiting" / "revisiting_benchmark.csv"
CI_PROB = 0.9
BAND = (0.88, 0.92)  # issue 4's acceptance band for a 90% interval
SIGMA = 0.02  # noise scale on log loss (2%): Gaussian sd or Student-t scale
NOISES = ("normal", "student_t3")
PEER_LAWS = ("chinchilla", "power_law", "power_law_3decades")
PEER_LADDERS = 200  # the peer runs on ladders (seeds) 0-199
#: The study behind the README's table: ladders per (law, noise) cell.
PLAN = {("power_law", "normal"): 1000, ("power_law", "student_t3"): 1000,
        ("compute", "normal"): 1000, ("compute", "student_t3"): 1000,
        ("chinchilla", "normal"): 500, ("chinchilla", "student_t3"): 500,
        ("kaplan", "normal"): 1000, ("kaplan", "student_t3"): 500,
        ("broken_power_law", "normal"): 100, ("broken_power_law", "student_t3"): 100}
REVISITING_LAWS = ("power_law", "m4")


# -- ladders with a known truth ------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """A ladder design: the law and its true parameters (in the law's sampled parameterisation, with
    all log reference scales at 0, so amplitudes are plain logs), inputs, targets beyond the ladder."""

    law: str
    truth: dict[str, float]
    columns: tuple[str, ...]
    make_inputs: object = field(repr=False)      # () -> DataFrame of the ladder's inputs
    make_targets: object = field(repr=False)     # ladder inputs -> DataFrame of targets
    x: str | None = None                         # fit(..., x=...) for one-variable laws


def _chinchilla_inputs():
    N = np.geomspace(2e7, 1e9, 8)
    ratio = np.geomspace(5, 160, 6)
    NN, RR = np.meshgrid(N, ratio, indexing="ij")
    N, D = NN.ravel(), (NN * RR).ravel()
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D})


def _chinchilla_targets(ladder):
    C = ladder["C"].max() * np.array([10.0, 31.6, 100.0])
    N = np.sqrt(C / 6 / 20)  # 20 tokens per parameter
    return pd.DataFrame({"N": N, "D": 20 * N, "C": C})


def _one_var_inputs(col, lo, hi, n):
    return lambda: pd.DataFrame({col: np.geomspace(lo, hi, n)})


def _one_var_targets(col):
    return lambda ladder: pd.DataFrame({col: ladder[col].max() * np.array([10.0, 31.6, 100.0])})


DESIGNS: dict[str, Design] = {
    "chinchilla": Design(
        "chinchilla", {"E": 1.8, "a": np.log(480.0), "alpha": 0.35, "b": np.log(2000.0), "beta": 0.37},
        ("N", "D"), _chinchilla_inputs, _chinchilla_targets),
    "power_law": Design(
        "power_law", {"E": 1.7, "a": np.log(400.0), "alpha": 0.3}, ("D",),
        _one_var_inputs("D", 1e8, 1e10, 20), _one_var_targets("D"), x="D"),
    # the same law and truth on a ladder one decade longer (30 sizes, 10 per decade)
    "power_law_3decades": Design(
        "power_law", {"E": 1.7, "a": np.log(400.0), "alpha": 0.3}, ("D",),
        _one_var_inputs("D", 1e7, 1e10, 30), _one_var_targets("D"), x="D"),
    "compute": Design(
        "compute", {"E": 1.7, "a": np.log(3.0e3), "alpha": 0.17}, ("C",),
        _one_var_inputs("C", 1e18, 1e21, 20), _one_var_targets("C")),
    "kaplan": Design(
        "kaplan", {"p": 0.076 * np.log(6.4e13), "alpha_N": 0.076, "q": 0.103 * np.log(1.8e13), "alpha_D": 0.103},
        ("N", "D"), _chinchilla_inputs, _chinchilla_targets),
    "broken_power_law": Design(
        "broken_power_law", {"E": 0.5, "log_b": np.log(30.0), "c0": 0.1, "c1": 0.3, "log_d1": np.log(1e9),
                             "f1": 0.5},
        ("D",), _one_var_inputs("D", 1e7, 1e11, 24), _one_var_targets("D"), x="D"),
}


def true_log_mean(design: Design, inputs: pd.DataFrame) -> np.ndarray:
    """The true law's log loss at the inputs."""
    import bayeslaw

    law = bayeslaw.get_law(design.law)
    var_cols = {v: (design.x or design.columns[0]) if v == "x" else v for v in law.inputs}
    raw = {v: inputs[c].to_numpy(float) for v, c in var_cols.items()}
    return np.asarray(law.evaluate_log(raw, design.truth, {v: 0.0 for v in law.inputs}), float)


def noise(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    """Noise on log loss: ``normal`` (sd 0.02), ``student_t3`` (scale 0.02), or ``normal_sd<S>`` (sd S)."""
    if kind == "normal":
        return SIGMA * rng.standard_normal(size)
    if kind == "student_t3":
        return SIGMA * rng.standard_t(3, size)
    if kind.startswith("normal_sd"):
        return float(kind.removeprefix("normal_sd")) * rng.standard_normal(size)
    raise ValueError(f"unknown noise kind {kind!r}: normal, student_t3 or normal_sd<S> (e.g. normal_sd0.05)")


def make_ladder(design: Design, noise_kind: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the ladder's runs, the targets with the true mean loss and one fresh new-run loss)."""
    rng = np.random.default_rng(seed)
    ladder = design.make_inputs()
    ladder["loss"] = np.exp(true_log_mean(design, ladder) + noise(rng, noise_kind, len(ladder)))
    targets = design.make_targets(ladder)
    mu = true_log_mean(design, targets)
    targets["true_mean"] = np.exp(mu)
    targets["fresh_run"] = np.exp(mu + noise(rng, noise_kind, len(targets)))
    return ladder, targets


# -- one ladder ----------------------------------------------------------------------------------
def init_process(devices: int = 1) -> None:
    """Set up JAX in a process that fits (CPU, float64, ``devices`` host devices, optional persistent
    compilation cache in ``BAYESLAW_CACHE_DIR``). Has no effect on a JAX that has already started."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import numpyro

    numpyro.set_host_device_count(devices)
    import jax

    jax.config.update("jax_enable_x64", True)
    cache = os.environ.get("BAYESLAW_CACHE_DIR")
    if cache:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def run_ladder(task: dict) -> dict:
    """One ladder: bayeslaw fit + predict, and the peer recipe where asked for. Returns its CSV row."""
    import bayeslaw

    design = DESIGNS[task["design"]]
    ladder, targets = make_ladder(design, task["noise"], task["seed"])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bayeslaw.fit(ladder, design.law, x=design.x, curvature={"on": True, "orthogonal": "orthogonal"}.get(task.get("curvature"), False),
                           num_warmup=task["num_warmup"],
                           num_samples=task["num_samples"], num_chains=task["num_chains"], seed=task["seed"],
                           priors=task.get("priors") or None, likelihood=task.get("likelihood", "student_t"),
                           target_accept_prob=task.get("target_accept_prob", 0.8), progress_bar=False)
    wall = time.perf_counter() - t0
    pred = bayeslaw.predict(fit, targets[list(design.columns)], ci_prob=CI_PROB, seed=task["seed"])
    row = {"law": task["design"], "noise": task["noise"], "seed": task["seed"], "wall_s": wall,
           "r_hat_max": float(fit.summary(ci_prob=CI_PROB)["r_hat"].max()),
           "divergences": int(fit.idata["sample_stats"]["diverging"].sum()),
           "n_diagnostics": len(fit.diagnostics)}
    row.update(target_columns(targets, pred.table, pred.draws("mean"), pred.draws("new_run")))
    if task.get("peer"):
        row.update(peer(design, ladder, targets, task["seed"]))
    return row


def target_columns(targets: pd.DataFrame, bounds: pd.DataFrame, mean_draws, new_draws) -> dict:
    """A ladder's per-target columns: coverage, width / truth and PIT of the mean law and of a new run.

    ``bounds`` holds each target's interval (``mean_lower``/``mean_upper``, ``new_run_lower``/
    ``new_run_upper``); the draws are shaped (draws, targets), in loss units. The PIT (the share of
    draws below the truth) is 0.5 at the centre; skew means bias, a U shape overconfidence.
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


def peer(design: Design, ladder: pd.DataFrame, targets: pd.DataFrame, seed: int, n_boot: int = 500) -> dict:
    """scipy curve_fit (least squares on log loss, started at the truth) + case bootstrap: 90% percentile
    intervals of the law at the targets."""
    from scipy.optimize import curve_fit

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
    out = {"peer_wall_s": time.perf_counter() - t0, "peer_boot_ok": len(preds)}
    lo, hi = np.quantile(np.array(preds), [0.05, 0.95], axis=0)  # the 90% percentile interval
    truth = np.exp(true_log_mean(design, targets))
    for i in range(len(targets)):
        out[f"t{i}_peer_mean_cov"] = int(lo[i] <= truth[i] <= hi[i])
        out[f"t{i}_peer_mean_width"] = float((hi[i] - lo[i]) / truth[i])
    return out


# -- summaries -----------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (float(c - h), float(c + h))


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


def p_in_band(ladders: int, lo: float = BAND[0], hi: float = BAND[1], p: float = CI_PROB) -> float:
    """P(lo <= Binomial(ladders, p) / ladders <= hi): how often a calibrated method's coverage over
    ``ladders`` ladders lands in the band (a ladder's targets are missed together, so its effective
    sample size is about the number of ladders)."""
    from scipy.stats import binom

    k_lo, k_hi = int(np.ceil(lo * ladders - 1e-9)), int(np.floor(hi * ladders + 1e-9))
    return float(binom.cdf(k_hi, ladders, p) - binom.cdf(k_lo - 1, ladders, p))


def verdict(lo: float, hi: float, nominal: float = CI_PROB) -> str:
    """What a coverage's 95% interval (ladders as units) says against the nominal level."""
    if hi < nominal:
        return "under-covers"
    if lo > nominal:
        return "conservative"
    return "consistent with 0.90"


def _coverage(hits: np.ndarray, widths: np.ndarray) -> dict:
    lo, hi, n_eff = clustered_wilson(hits)
    k, n = int(hits.sum()), hits.size
    return {"coverage": k / n, "k": k, "n": n, "ci95_by_ladder": [lo, hi], "effective_n": n_eff,
            "ci95_naive": list(wilson(k, n)), "median_rel_width": float(np.median(widths)),
            "in_band": bool(BAND[0] <= k / n <= BAND[1]), "verdict": verdict(lo, hi)}


def cell_summary(df: pd.DataFrame) -> dict:
    """One (law, noise) cell: coverage of the mean law and of a new run, where the misses fall, the
    sampler's warnings, and the peer beside ours on the ladders it ran on."""
    from scipy.special import ndtri

    ts = sorted({c.split("_")[0] for c in df.columns if c.startswith("t") and c[1].isdigit()})

    def cols(key: str) -> list[str]:
        return [f"{t}_{key}" for t in ts]

    entry = {"ladders": len(df), "targets": len(df) * len(ts), "median_wall_s": float(df["wall_s"].median()),
             "ladders_with_diagnostic_warnings": int((df["n_diagnostics"] > 0).sum()),
             "ladders_with_divergences": int((df["divergences"] > 0).sum()),
             "share_with_divergences": float((df["divergences"] > 0).mean()),
             "max_r_hat": float(df["r_hat_max"].max()),
             "p_calibrated_in_band": p_in_band(len(df))}
    for kind in ("mean", "new"):
        entry[kind] = _coverage(df[cols(f"{kind}_cov")].to_numpy(), df[cols(f"{kind}_width")].to_numpy())
    pit = df[cols("mean_pit")].to_numpy()
    z = ndtri(pit.clip(1e-4, 1 - 1e-4))
    entry["mean"].update(truth_above=float((pit > (1 + CI_PROB) / 2).mean()),
                         truth_below=float((pit < (1 - CI_PROB) / 2).mean()),
                         probit_pit_mean=float(z.mean()), probit_pit_sd=float(z.std()))
    if all(c in df.columns for c in cols("peer_mean_cov")):
        same = df.dropna(subset=cols("peer_mean_cov"))
        if len(same):
            entry["peer_mean"] = _coverage(same[cols("peer_mean_cov")].to_numpy().astype(int),
                                           same[cols("peer_mean_width")].to_numpy())
            entry["peer_mean"]["ladders"] = len(same)
            entry["ours_on_peer_ladders"] = _coverage(same[cols("mean_cov")].to_numpy(),
                                                      same[cols("mean_width")].to_numpy())
    return entry


def collect(folder: Path) -> dict:
    """The summary of the study's CSVs in ``folder`` (one per law and noise), without writing anything."""
    summary = {}
    for path in sorted(folder.glob("*.csv")):
        df = pd.read_csv(path)
        if not {"law", "noise", "seed", "t0_mean_cov"} <= set(df.columns) or df.empty:
            continue  # not one of this study's cells
        summary[f"{df['law'].iloc[0]}/{df['noise'].iloc[0]}"] = cell_summary(df)
    issue_sizes = [200] * 4 + [100] * 6  # issue 4: chinchilla, power_law x 2 noises at 200; 3 laws x 2 at 100
    summary["acceptance_power"] = {
        "band": list(BAND), "p_in_band": {str(n): p_in_band(n) for n in (100, 200, 500, 1000)},
        "issue_sizes": issue_sizes,
        "p_all_cells_both_coverages_in_band": float(np.prod([p_in_band(n) for n in issue_sizes]) ** 2)}
    return summary


def summarise(out: Path) -> dict:
    """``OUT/summary.json`` and ``OUT/summary.md`` from the study's CSVs in ``OUT``."""
    summary = collect(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(summary_table(summary))
    return summary


def summary_table(summary: dict) -> str:
    def cov(c):
        lo, hi = c["ci95_by_ladder"]
        return f"{c['coverage']:.3f} [{lo:.3f}, {hi:.3f}]"

    header = ("| law | noise | ladders | mean-law coverage [95% CI] | new-run coverage [95% CI] | truth above / below "
              "| median width | divergent ladders | peer: ladders, coverage / width | ours on those ladders |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for key, e in summary.items():
        if "/" not in key:
            continue
        law, noise = key.split("/")
        m = e["mean"]
        peer_cells = ["—", "—"]
        if "peer_mean" in e:
            pm, ours = e["peer_mean"], e["ours_on_peer_ladders"]
            peer_cells = [f"{pm['ladders']}, {pm['coverage']:.3f} / {pm['median_rel_width']:.3f}",
                          f"{ours['coverage']:.3f} / {ours['median_rel_width']:.3f}"]
        lines.append(f"| {law} | {noise} | {e['ladders']} | {cov(m)} | {cov(e['new'])} | "
                     f"{m['truth_above']:.3f} / {m['truth_below']:.3f} | {m['median_rel_width']:.3f} | "
                     f"{e['share_with_divergences']:.3f} | " + " | ".join(peer_cells) + " |")
    ap = summary.get("acceptance_power")
    if ap:
        sizes = ", ".join(f"{v:.2f} at {k} ladders" for k, v in ap["p_in_band"].items())
        p_all = ap["p_all_cells_both_coverages_in_band"]
        lines += ["", (f"A calibrated method lands in {ap['band'][0]}-{ap['band'][1]} with probability {sizes}; "
                       f"every cell at the issue's sizes, both coverages: {p_all:.1e}.")]
    return "\n".join(lines) + "\n"


# -- real learning curves ------------------------------------------------------------------------
def revisiting_curves(data: Path = REVISITING) -> list[tuple[str, str, pd.DataFrame, pd.DataFrame]]:
    """Per curve of the benchmark: (id, domain, training part, held-out part beyond it); sizes in column D."""
    df = pd.read_csv(data).rename(columns={"seen_examples": "D"})
    out = []
    for cid, g in df.groupby("curve_id", sort=True):
        train = g[g["training"] == 1]
        out.append((cid, g["domain"].iloc[0], train, g[(g["training"] == 0) & (g["D"] > train["D"].max())]))
    return out


def run_curve(task: dict) -> tuple[dict, list[dict]]:
    """One learning curve: fit its training part, cover its held-out points. Returns (curve row, point rows)."""
    import bayeslaw

    train, held = task["train"], task["held"]
    row = {"curve_id": task["curve_id"], "domain": task["domain"], "n_train": len(train), "n_held": len(held)}
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the plain law, as in the committed results (made before curvature="auto" became the default,
            # 2026-12-03): one curve without a run column is a ladder of independent rows to the default
            fit = bayeslaw.fit(train[["D", "loss"]], task["law"], x="D", priors=task.get("priors") or None,
                               curvature=False, num_warmup=task["num_warmup"], num_samples=task["num_samples"],
                               num_chains=task["num_chains"], seed=task["seed"], progress_bar=False)
    except bayeslaw.BayeslawError as e:
        return row | {"error": str(e)}, []
    x_last = float(train["D"].max())
    row.update(warnings=len(fit.diagnostics), wall_s=time.perf_counter() - t0)
    if "E" in fit.law.params:  # the floor's share of the fitted loss at the largest training run
        share = fit.draws("E") / bayeslaw.predict(fit, x=[x_last], ci_prob=CI_PROB).draws("mean")[:, 0]
        row.update(share_q05=float(np.quantile(share, 0.05)), share_median=float(np.median(share)),
                   share_q95=float(np.quantile(share, 0.95)))
    points = []
    if len(held):
        pred = bayeslaw.predict(fit, x=held["D"].to_numpy(float), ci_prob=CI_PROB)
        new = pred.draws("new_run")
        for j, (xj, yj) in enumerate(zip(held["D"].to_numpy(float), held["loss"].to_numpy(float))):
            lo, hi = float(pred.table["new_run_lower"].iloc[j]), float(pred.table["new_run_upper"].iloc[j])
            points.append({"x": xj, "loss": yj, "decades": float(np.log10(xj / x_last)), "new_run_lower": lo,
                           "new_run_upper": hi, "covered": bool(lo <= yj <= hi), "above": bool(yj > hi),
                           "below": bool(yj < lo), "pit": float(np.mean(new[:, j] < yj)),
                           "curve_id": task["curve_id"], "domain": task["domain"]})
        row["coverage"] = float(np.mean([p["covered"] for p in points]))
    return row, points


def summarise_revisiting(pts: pd.DataFrame, per_curve: pd.DataFrame | None = None) -> str:
    """Coverage per domain, pooled over points and averaged over curves (curves are the units), the
    median relative width of the 90% new-run interval and, given ``per_curve``, E's share."""
    share = per_curve is not None and "share_median" in per_curve
    lines = ["| domain | curves | held-out points | coverage (points) | coverage (mean over curves) | "
             "above / below | median width" + (" | median E share [5%, 95% of curves]" if share else "") + " |",
             "|---|---|---|---|---|---|---|" + ("---|" if share else "")]
    width = (pts["new_run_upper"] - pts["new_run_lower"]) / pts["loss"]
    for dom, g in [*pts.groupby("domain"), ("all", pts)]:
        line = (f"| {dom} | {g['curve_id'].nunique()} | {len(g)} | {g['covered'].mean():.3f} | "
                f"{g.groupby('curve_id')['covered'].mean().mean():.3f} | {g['above'].mean():.3f} / "
                f"{g['below'].mean():.3f} | {width[g.index].median():.3f}")
        if share:
            c = per_curve if dom == "all" else per_curve[per_curve["domain"] == dom]
            line += (f" | {c['share_median'].median():.2f} [{c['share_median'].quantile(0.05):.2f}, "
                     f"{c['share_median'].quantile(0.95):.2f}]")
        lines.append(line + " |")
    return "\n".join(lines) + "\n"


# -- driver --------------------------------------------------------------------------------------
def _execute(func, tasks: list[dict], workers: int, dask: str | None):
    """Results of ``func`` over ``tasks`` as they finish: in this process, a pool, or a Dask cluster."""
    if not tasks:
        return
    if dask:
        from dask.distributed import Client, as_completed

        client = Client(dask)
        client.run(init_process, 1)
        for fut in as_completed(client.map(func, tasks, pure=False)):
            yield fut.result()
        return
    if workers <= 1:
        init_process(1)
        for t in tasks:
            yield func(t)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=init_process,
                             initargs=(1,)) as pool:
        for fut in as_completed([pool.submit(func, t) for t in tasks]):
            yield fut.result()


def ladder_cells(args) -> list[tuple[str, str, int]]:
    """(design, noise, ladders) for every cell to run: the plan's, or the ones --laws / --noise name."""
    laws = args.laws.split(",") if args.laws else sorted({law for law, _ in PLAN})
    noises = args.noise.split(",") if args.noise else list(NOISES)
    cells = []
    for law in laws:
        if law not in DESIGNS:
            if args.study == "all":
                continue  # a law of the other study
            raise SystemExit(f"unknown design {law!r}; known: {', '.join(DESIGNS)}")
        for nz in noises:
            n = args.ladders or PLAN.get((law, nz))
            if n is None:
                if args.study == "all":
                    continue
                raise SystemExit(f"{law}/{nz} is not in the plan; give --ladders")
            cells.append((law, nz, n))
    return cells


def run_ladders(args, sampler: dict) -> dict:
    tasks, columns = [], {}
    for law, nz, n in ladder_cells(args):
        path = args.out / f"{law}_{nz}.csv"
        done = set(pd.read_csv(path)["seed"]) if path.exists() and path.stat().st_size else set()
        for seed in range(args.seed, args.seed + n):
            if seed not in done:
                tasks.append({"design": law, "noise": nz, "seed": seed, **sampler,
                              "peer": not args.no_peer and law in PEER_LAWS and seed < PEER_LADDERS,
                              "priors": dict(p.split("=", 1) for p in args.prior), "likelihood": args.likelihood,
                              "target_accept_prob": args.target_accept_prob, "curvature": args.curvature})
    print(f"{len(tasks)} ladders to fit", flush=True)
    t0 = time.perf_counter()
    for i, row in enumerate(_execute(run_ladder, tasks, args.workers, args.dask)):
        path = args.out / f"{row['law']}_{row['noise']}.csv"
        if path.exists() and path.stat().st_size:
            cols = columns.setdefault(path, list(pd.read_csv(path, nrows=0).columns))
        else:  # the cell's columns: the peer's on every row of a peer law (empty where it did not run)
            peer_cols = ["peer_wall_s", "peer_boot_ok", *(f"t{j}_peer_mean_{k}" for j in range(3)
                                                          for k in ("cov", "width"))]
            cols = columns[path] = [*row] + [c for c in peer_cols if row["law"] in PEER_LAWS and not args.no_peer
                                             and c not in row]
        pd.DataFrame([row]).reindex(columns=cols).to_csv(path, mode="a", header=not path.exists() or not
                                                         path.stat().st_size, index=False)
        if (i + 1) % 10 == 0 or i + 1 == len(tasks):
            print(f"{i + 1}/{len(tasks)} ladders done, {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarise(args.out)
    print((args.out / "summary.md").read_text())
    return summary


def run_revisiting(args, sampler: dict) -> dict:
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: the real-curve study needs ../shared/data beside the repository.")
    laws = [law for law in (args.laws.split(",") if args.laws else REVISITING_LAWS)
            if args.study == "revisiting" or law in REVISITING_LAWS]
    curves = revisiting_curves(args.data)[:args.curves or None]
    out = {}
    for law in laws:
        tasks = [{"law": law, "curve_id": cid, "domain": dom, "train": train, "held": held, "seed": args.seed,
                  "priors": dict(p.split("=", 1) for p in args.prior), **sampler}
                 for cid, dom, train, held in curves]
        print(f"revisiting/{law}: {len(tasks)} curves to fit", flush=True)
        rows, points = [], []
        for i, (row, pts) in enumerate(_execute(run_curve, tasks, args.workers, args.dask)):
            rows.append(row)
            points += pts
            print(f"{i + 1}: {row['curve_id']} coverage {row.get('coverage', np.nan):.2f}", flush=True)
        order = {cid: i for i, (cid, *_) in enumerate(curves)}
        per_curve = pd.DataFrame(rows).sort_values("curve_id", key=lambda s: s.map(order)).reset_index(drop=True)
        pts = pd.DataFrame(points)
        pts = pts.sort_values("curve_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
        pts = pts[["x", "loss", "decades", "new_run_lower", "new_run_upper", "covered", "above", "below", "pit",
                   "curve_id", "domain"]]
        folder = args.out / "revisiting" / law
        folder.mkdir(parents=True, exist_ok=True)
        pts.to_csv(folder / "points.csv.gz", index=False, float_format="%.6g")
        per_curve.to_csv(folder / "curves.csv", index=False)
        table = summarise_revisiting(pts, per_curve)
        (folder / "summary.md").write_text(table)
        print(table)
        out[law] = {"points": len(pts), "coverage_points": float(pts["covered"].mean()),
                    "coverage_curves": float(pts.groupby("curve_id")["covered"].mean().mean())}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the results (created; nothing else is written)")
    p.add_argument("--study", choices=["all", "ladders", "revisiting"], default="all")
    p.add_argument("--num-samples", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--num-warmup", type=int, default=1000, help="warmup iterations per chain (default 1000)")
    p.add_argument("--num-chains", type=int, default=4, help="NUTS chains per fit (default 4)")
    p.add_argument("--seed", type=int, default=0,
                   help="ladders: seed of the first ladder (ladder i has seed SEED + i, for its data and its fit); "
                        "revisiting: the seed of every curve's fit (default 0)")
    p.add_argument("--target-accept-prob", type=float, default=0.8, help="NUTS target acceptance (default 0.8)")
    p.add_argument("--laws", help="ladders: designs (" + ", ".join(DESIGNS) + "); revisiting: one-variable laws "
                                  "(default: each study's plan)")
    p.add_argument("--noise", help="ladders: normal, student_t3, normal_sd<S> (default: normal,student_t3)")
    p.add_argument("--ladders", type=int, help="ladders per cell (default: the plan's, PLAN)")
    p.add_argument("--no-peer", action="store_true", help="ladders: skip the curve_fit + bootstrap peer")
    p.add_argument("--curves", type=int, help="revisiting: only the first N curves (by id; default all 92)")
    p.add_argument("--data", type=Path, default=REVISITING, help="revisiting: the benchmark CSV")
    p.add_argument("--prior", action="append", default=[], metavar="NAME=DIST",
                   help="override a default prior, e.g. nu='Gamma(2, 0.1)' (sensitivity runs)")
    p.add_argument("--likelihood", default="student_t", choices=["student_t", "normal"], help="ladders: likelihood")
    p.add_argument("--curvature", choices=["off", "on", "orthogonal"], default="off",
                   help="ladders: fit the plain law (off: the rows in results/) or the law with its curvature term "
                        "(on: results/curved/, with --num-warmup 2000 as bayeslaw's default for it; orthogonal: "
                        "the term orthogonal to the law over the runs, results/orthogonal/)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes fitting at once")
    p.add_argument("--dask", metavar="ADDRESS", help="run the fits on this Dask scheduler instead")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sampler = {"num_warmup": args.num_warmup, "num_samples": args.num_samples, "num_chains": args.num_chains}
    if args.study in ("all", "ladders"):
        run_ladders(args, sampler)
    if args.study in ("all", "revisiting"):
        run_revisiting(args, sampler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
