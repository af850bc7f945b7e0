"""Sampler health: do the two-term laws sample cleanly on small ladders at the default settings?

``--study ladders``: for each law (``LAWS``), design, ladder size (``SIZES``) and coordinates, simulate ladders
from the law's declared example truth (:func:`make_ladder`), fit each with ``bayeslaw.fit``'s defaults (priors,
Student-t likelihood, NUTS 4 x (1000 + 1000), seed = the ladder's seed) and record the sampler's warnings
(divergences, R-hat, ESS, E-BFMI: ``bayeslaw.inference.diagnostics``). ``--coordinates law`` samples each law in
the coordinates it declares (``Law.coordinates``, the package's default); ``--coordinates params`` in its own
parameters (the same law with ``coordinates=None``: how every two-term law was sampled before). Rows are appended
to ``OUT/ladders_<coordinates>.csv`` as ladders finish (a run resumes where it stopped); ``OUT/summary.json`` and
``OUT/summary.md`` aggregate every such file in ``OUT``.

``--study equivalence``: one ladder per law (``EQUIVALENCE_SEEDS``), fitted in both coordinates with a long run
(4 x (2000 + 10000), target acceptance 0.99 so that the parameters too sample without divergences): the posterior
quantiles of the reported parameters must agree within Monte Carlo error (same model, same priors), written to
``OUT/equivalence.json``.

Each fitting process has one JAX device (chains in sequence), so a row depends on its ladder and seed, not on
``--workers``. Usage::

    python case_studies/sampler_health/run.py --out case_studies/sampler_health/results   # both coordinates, both studies
    python case_studies/sampler_health/run.py --laws chinchilla --sizes 25 --ladders 20 --coordinates law --out DIR
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

LAWS = ("chinchilla", "shared_exponent", "kaplan", "data_constrained")
SIZES = (25, 48)
LADDERS = 100  # per (law, design, size, coordinates) cell
COORDINATES = ("params", "law")
MAX_SHARE = 0.05  # issue 14, item 6: at most 5% of ladders with any sampler warning
CHECKS = ("divergences", "r_hat", "ess", "bfmi")
CI_PROB = 0.9


# -- ladders ---------------------------------------------------------------------------------------
def truth(law) -> tuple[dict[str, float], dict[str, float]]:
    """The law's example parameters and the log reference scales they are stated at (the example's geometric means,
    with the law's centring rules)."""
    ex = law.example
    log_ref = {v: float(np.mean(np.log(np.asarray(a, float)))) for v, a in ex.inputs.items()}
    return dict(ex.params), law.centred(log_ref)


ISOFLOP = Path(__file__).resolve().parents[3] / "shared" / "data" / "isoflop" / "isoflops_transform_all.csv"
#: Real runs: the isoFLOP experiments of ../shared/data/isoflop with 79-116 runs not flagged as outliers upstream
ISOFLOP_EXPERIMENTS = ("epochai_chinchilla__massivetext__chinchilla", "llama_3__exp_loss",
                       "marin_202603__comma__llama_2", "marin_202603__dclm__llama_2",
                       "marin_202603__nemotron__llama_2", "misfitting__fineweb_c4__transformer")


def designs(law) -> tuple[str, ...]:
    """``example`` for every law; ``grid``, and ``isoflop`` where its data are beside the repository, for laws of N
    and D alone."""
    if set(law.inputs) != {"N", "D"}:
        return ("example",)
    return ("example", "grid", "isoflop") if ISOFLOP.exists() else ("example", "grid")


def isoflop_ladder(runs: int, seed: int) -> tuple[pd.DataFrame, str]:
    """Real runs: ``runs`` of one isoFLOP experiment (``ISOFLOP_EXPERIMENTS[seed % 6]``), drawn at random."""
    df = pd.read_csv(ISOFLOP)
    name = ISOFLOP_EXPERIMENTS[seed % len(ISOFLOP_EXPERIMENTS)]
    df = df[(df["experiment"] == name) & ~df["outlier"]].reset_index(drop=True)
    pick = np.sort(np.random.default_rng([seed, runs]).choice(len(df), runs, replace=False))
    return pd.DataFrame({"N": df["params"].to_numpy(float)[pick], "D": df["tokens"].to_numpy(float)[pick],
                         "loss": df["loss"].to_numpy(float)[pick]}), name


def ladder_inputs(law, design: str, runs: int, rng: np.random.Generator) -> pd.DataFrame:
    """The ladder's inputs.

    ``example``: the law's declared example runs (chinchilla, shared_exponent, kaplan: 8 sizes 7e7-1.6e10 x 6
    tokens per parameter 5-160, 48 runs; data_constrained: 5 sizes 1e8-3e9 x 3 unique-token budgets x 4 epoch
    counts, 60 runs), or a random subset of ``runs`` of them. ``grid``: a Chinchilla-like grid, model sizes N from
    7e7 to 2e9 (5 for 25 runs, 8 for 48) x tokens per parameter 5-80 (5 or 6 ratios), each run moved by a random
    log-uniform factor within half a grid step in N and in D / N, so that ladders differ.
    """
    if design == "example":
        ex = pd.DataFrame({v: np.asarray(a, float) for v, a in law.example.inputs.items()})
        if runs > len(ex):
            raise ValueError(f"{law.name}'s example has {len(ex)} runs; asked for {runs}")
        return ex.iloc[np.sort(rng.choice(len(ex), runs, replace=False))].reset_index(drop=True)
    n_n = {25: 5, 48: 8}.get(runs) or int(np.ceil(np.sqrt(runs)))
    n_r = -(-runs // n_n)
    log_n, log_r = np.linspace(np.log(7e7), np.log(2e9), n_n), np.linspace(np.log(5.0), np.log(80.0), n_r)
    gn, gr = (g.ravel()[:runs] for g in np.meshgrid(log_n, log_r, indexing="ij"))
    half_n, half_r = (log_n[1] - log_n[0]) / 2, (log_r[1] - log_r[0]) / 2
    N = np.exp(gn + rng.uniform(-half_n, half_n, runs))
    return pd.DataFrame({"N": N, "D": N * np.exp(gr + rng.uniform(-half_r, half_r, runs))})


def make_ladder(law, design: str, runs: int, seed: int) -> tuple[pd.DataFrame, str]:
    """(the ladder's runs with their loss, the noise kind). Noise on log loss has the example's scale (sigma
    0.015 for chinchilla and shared_exponent, 0.01 for kaplan and data_constrained): Gaussian on even seeds,
    Student-t with 3 degrees of freedom on odd ones; ``isoflop``: real runs and their experiment. A ladder depends
    only on (law, design, runs, seed), and an ``isoflop`` ladder not on the law."""
    if design == "isoflop":
        return isoflop_ladder(runs, seed)
    rng = np.random.default_rng([seed, runs, LAWS.index(law.name) if law.name in LAWS else 99])
    df = ladder_inputs(law, design, runs, rng)
    params, log_ref = truth(law)
    mu = np.asarray(law.evaluate_log({v: df[v].to_numpy() for v in law.inputs}, params, log_ref), float)
    kind = "normal" if seed % 2 == 0 else "student_t3"
    eps = rng.standard_normal(runs) if kind == "normal" else rng.standard_t(3, runs)
    df["loss"] = np.exp(mu + law.example.sigma * eps)
    return df, kind


def in_coordinates(law, coordinates: str):
    """The law sampled in its declared coordinates (``law``) or in its parameters (``params``): the same model."""
    return law if coordinates == "law" else dataclasses.replace(law, coordinates=None)


# -- one ladder ------------------------------------------------------------------------------------
def _calibration_study():
    """The calibration study's run.py as a module (its JAX set-up for worker processes)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("calibration_run", Path(__file__).resolve().parent.parent
                                                  / "calibration" / "run.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def init_process(devices: int = 1) -> None:
    """JAX on CPU in float64 with ``devices`` host devices: the calibration study's set-up."""
    _calibration_study().init_process(devices)


def run_ladder(task: dict) -> dict:
    """Fit one ladder; its row: the warnings, the numbers behind them, the time, and whether each reported
    parameter's 90% interval holds the truth."""
    import bayeslaw
    from bayeslaw.inference.diagnostics import diagnostic_numbers

    base = bayeslaw.get_law(task["law"])
    law = in_coordinates(base, task["coordinates"])
    ladder, kind = make_ladder(base, task["design"], task["runs"], task["seed"])
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the plain law, as in the committed results (made before curvature="auto" became the default, 2026-12-03)
        fit = bayeslaw.fit(ladder, law, curvature=False, seed=task["seed"], num_warmup=task["num_warmup"],
                           num_samples=task["num_samples"], num_chains=task["num_chains"], progress_bar=False)
    wall = time.perf_counter() - t0
    names = list(law.report) + list(fit.spec.priors.keys() - law.params.keys())
    s = diagnostic_numbers(fit.idata, sorted(names))
    params, log_ref = truth(base)
    true = law.conventional(params, log_ref)
    covered = 0
    for name in law.report if task["design"] != "isoflop" else ():  # real runs: no truth
        lo, hi = np.quantile(fit.draws(name), [(1 - CI_PROB) / 2, (1 + CI_PROB) / 2])
        covered += int(lo <= float(true[name]) <= hi)
    return {"law": task["law"], "design": task["design"], "runs": task["runs"], "coordinates": task["coordinates"],
            "seed": task["seed"], "noise": kind, "wall_s": round(wall, 3),
            "warnings": ";".join(d["check"] for d in fit.diagnostics), "divergences": s["divergences"],
            "max_rhat": round(s["max_rhat"], 5), "min_ess_bulk": round(s["min_ess_bulk"], 1),
            "min_ess_tail": round(s["min_ess_tail"], 1), "min_bfmi": round(s["min_bfmi"], 4),
            "steps_per_draw": round(float(fit.idata["sample_stats"]["n_steps"].mean()), 2),
            "laplace_ok": sum(fit.spec.sampler.laplace_ok), "covered_90": covered,
            "reported": len(law.report) if task["design"] != "isoflop" else 0}


# -- summaries -------------------------------------------------------------------------------------
def wilson(k: int, n: int) -> list[float]:
    """Wilson score 95% interval for k of n."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(0.95, method="wilson")
    return [float(ci.low), float(ci.high)]


def cell_summary(df: pd.DataFrame) -> dict:
    """One (law, design, runs, coordinates) cell."""
    warned = df["warnings"].fillna("").astype(str)
    k = int((warned != "").sum())
    return {"ladders": len(df), "with_warning": k, "share_with_warning": k / len(df), "ci95": wilson(k, len(df)),
            "by_check": {c: int(warned.str.split(";").apply(lambda w: c in w).sum()) for c in CHECKS},
            "median_divergences": float(df["divergences"].median()), "mean_divergences": float(df["divergences"].mean()),
            "max_rhat": float(df["max_rhat"].max()), "median_min_ess": float(df[["min_ess_bulk", "min_ess_tail"]]
                                                                             .min(axis=1).median()),
            "median_wall_s": float(df["wall_s"].median()), "median_steps_per_draw": float(df["steps_per_draw"].median()),
            "coverage_90": float(df["covered_90"].sum() / df["reported"].sum()) if df["reported"].sum() else None,
            "meets_bar": k / len(df) <= MAX_SHARE}


def collect(folder: Path) -> dict:
    """The summary of the ``ladders_*.csv`` files in ``folder``, keyed ``law/design/runs/coordinates``."""
    frames = [pd.read_csv(p) for p in sorted(folder.glob("ladders_*.csv")) if p.stat().st_size]
    if not frames:
        return {}
    df = pd.concat(frames)
    order = {"law": list(LAWS), "coordinates": list(COORDINATES)}
    out = {}
    for (law, design, runs, coords), g in sorted(df.groupby(["law", "design", "runs", "coordinates"]),
                                                 key=lambda kv: (order["law"].index(kv[0][0]), kv[0][1], kv[0][2],
                                                                 order["coordinates"].index(kv[0][3]))):
        out[f"{law}/{design}/{runs}/{coords}"] = cell_summary(g)
    return out


def summary_table(summary: dict) -> str:
    lines = ["| law | design | runs | coordinates | ladders | share with any warning [95% CI] | divergences / R-hat / "
             "ESS / E-BFMI | median divergences | median s per fit | median leapfrog steps per draw | 90% coverage "
             "of the truth |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, e in summary.items():
        law, design, runs, coords = key.split("/")
        lo, hi = e["ci95"]
        checks = " / ".join(str(e["by_check"][c]) for c in CHECKS)
        share = f"{e['share_with_warning']:.3f} [{lo:.3f}, {hi:.3f}]"
        lines.append(f"| {law} | {design} | {runs} | {coords} | {e['ladders']} | {share} | {checks} | "
                     f"{e['median_divergences']:g} | {e['median_wall_s']:.2f} | {e['median_steps_per_draw']:.1f} | "
                     + (f"{e['coverage_90']:.3f} |" if e["coverage_90"] is not None else "— |"))
    return "\n".join(lines) + "\n"


def summarise(out: Path) -> dict:
    summary = collect(out)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "summary.md").write_text(summary_table(summary))
    return summary


# -- the same posterior in both coordinates ---------------------------------------------------------
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def equivalence(task: dict) -> dict:
    """One ladder fitted in both coordinates with a long run: each reported parameter's quantiles, their Monte Carlo
    standard errors (arviz-stats), and the difference in units of the combined error (z)."""
    import arviz_stats as azs

    import bayeslaw

    base = bayeslaw.get_law(task["law"])
    ladder, kind = make_ladder(base, task["design"], task["runs"], task["seed"])
    out = {"law": task["law"], "design": task["design"], "runs": task["runs"], "seed": task["seed"], "noise": kind,
           "num_warmup": task["num_warmup"], "num_samples": task["num_samples"],
           "target_accept_prob": task["target_accept_prob"], "fits": {}}
    q = {}
    for coords in COORDINATES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bayeslaw.fit(ladder, in_coordinates(base, coords), curvature=False,  # the plain law, as above
                               seed=task["seed"], num_warmup=task["num_warmup"],
                               num_samples=task["num_samples"], num_chains=task["num_chains"],
                               target_accept_prob=task["target_accept_prob"], progress_bar=False)
        names = list(base.report)
        q[coords] = {n: [float(np.quantile(fit.draws(n), p)) for p in QUANTILES] for n in names}
        se = {n: [float(azs.mcse(fit.idata, var_names=[n], method="quantile", prob=p)[n]) for p in QUANTILES]
              for n in names}
        out["fits"][coords] = {"warnings": [d["check"] for d in fit.diagnostics],
                               "divergences": int(fit.idata["sample_stats"]["diverging"].sum()),
                               "wall_s": fit.spec.sampler.wall_seconds, "quantiles": q[coords], "mcse": se}
    z = {n: [(a - b) / float(np.hypot(sa, sb)) for a, b, sa, sb in zip(
        q["law"][n], q["params"][n], out["fits"]["law"]["mcse"][n], out["fits"]["params"]["mcse"][n])]
        for n in base.report}
    out["z"] = z
    out["max_abs_z"] = float(max(abs(v) for zs in z.values() for v in zs))
    return out


# -- driver ----------------------------------------------------------------------------------------
def _execute(func, tasks: list[dict], workers: int):
    """Results of ``func`` over ``tasks`` as they finish: the calibration study's driver (this process or a pool)."""
    return _calibration_study()._execute(func, tasks, workers, None)


def run_ladders(args, sampler: dict) -> dict:
    import bayeslaw

    done = set()
    for coords in args.coordinates.split(","):
        path = args.out / f"ladders_{coords}.csv"
        if path.exists() and path.stat().st_size:
            old = pd.read_csv(path)
            done |= set(zip(old["law"], old["design"], old["runs"], old["seed"], old["coordinates"]))
    # each ladder in both coordinates one after the other, so that both fits meet the same machine load
    tasks = [{"law": law, "design": design, "runs": runs, "coordinates": coords, "seed": seed, **sampler}
             for law in args.laws.split(",") for design in designs(bayeslaw.get_law(law))
             for runs in map(int, args.sizes.split(",")) for seed in range(args.seed, args.seed + args.ladders)
             for coords in args.coordinates.split(",") if (law, design, runs, seed, coords) not in done]
    print(f"{len(tasks)} ladders to fit", flush=True)
    t0 = time.perf_counter()
    for i, row in enumerate(_execute(run_ladder, tasks, args.workers)):
        path = args.out / f"ladders_{row['coordinates']}.csv"
        new = not path.exists() or not path.stat().st_size
        pd.DataFrame([row]).to_csv(path, mode="a", header=new, index=False)
        if (i + 1) % 50 == 0 or i + 1 == len(tasks):
            print(f"{i + 1}/{len(tasks)} ladders, {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarise(args.out)
    print((args.out / "summary.md").read_text())
    return summary


def run_equivalence(args) -> list[dict]:
    tasks = [{"law": law, "design": "example", "runs": 48, "seed": EQUIVALENCE_SEEDS.get(law, 0),
              "num_warmup": args.equivalence_warmup, "num_samples": args.equivalence_samples,
              "num_chains": args.num_chains, "target_accept_prob": args.equivalence_target_accept}
             for law in args.laws.split(",")]
    res = list(_execute(equivalence, tasks, args.workers))
    res.sort(key=lambda r: LAWS.index(r["law"]))
    (args.out / "equivalence.json").write_text(json.dumps(res, indent=1) + "\n")
    for r in res:
        print(f"{r['law']}: max |z| {r['max_abs_z']:.2f}; warnings "
              + ", ".join(f"{c} {r['fits'][c]['warnings'] or 'none'}" for c in COORDINATES))
    return res


#: The ladder (example design, 48 runs) each law's equivalence check uses: one the parameters sample cleanly.
EQUIVALENCE_SEEDS = {"chinchilla": 0, "shared_exponent": 0, "kaplan": 0, "data_constrained": 0}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the results (created; nothing else is written)")
    p.add_argument("--study", choices=["all", "ladders", "equivalence"], default="all")
    p.add_argument("--laws", default=",".join(LAWS), help="laws, comma-separated (default: " + ",".join(LAWS) + ")")
    p.add_argument("--sizes", default=",".join(map(str, SIZES)), help="runs per ladder (default 25,48)")
    p.add_argument("--ladders", type=int, default=LADDERS, help=f"ladders per cell (default {LADDERS})")
    p.add_argument("--coordinates", default=",".join(COORDINATES),
                   help="law (the law's declared coordinates), params (its parameters), or both (default)")
    p.add_argument("--seed", type=int, default=0, help="the first ladder's seed (ladder i: SEED + i, data and fit)")
    p.add_argument("--num-samples", type=int, default=1000, help="draws per chain (default 1000, fit's default)")
    p.add_argument("--num-warmup", type=int, default=1000, help="warmup per chain (default 1000, fit's default)")
    p.add_argument("--num-chains", type=int, default=4, help="chains per fit (default 4, fit's default)")
    p.add_argument("--equivalence-samples", type=int, default=10000, help="equivalence: draws per chain")
    p.add_argument("--equivalence-warmup", type=int, default=2000, help="equivalence: warmup per chain")
    p.add_argument("--equivalence-target-accept", type=float, default=0.99, help="equivalence: NUTS target acceptance")
    p.add_argument("--workers", type=int, default=1, help="processes fitting at once (default 1)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sampler = {"num_warmup": args.num_warmup, "num_samples": args.num_samples, "num_chains": args.num_chains}
    if args.study in ("all", "ladders"):
        run_ladders(args, sampler)
    if args.study in ("all", "equivalence"):
        run_equivalence(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
