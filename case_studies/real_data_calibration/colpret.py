"""Real-data calibration, ColPret: predict each family's largest model's final loss from its smaller models.

Data: ``../shared/data/colpret/colpret_curves.csv`` (IBM/ColPret, the curves of Choshen, Zhang and Andreas,
"A Hitchhiker's Guide to Scaling Law Estimation", arXiv:2410.11840). A family is used when it has at least
4 model sizes and a cross-entropy metric: GPT-3 (digitised validation loss; the digitised training loss as a
second row) and OPT (validation perplexity, used as its natural log, the cross-entropy in nats; perplexity
does not depend on the log base). The others are listed with the reason in ``SKIPPED``.

For each family the largest model is the target and its final loss (the loss at its last checkpoint) is
predicted three ways, all as a new run's loss at the target's N and final D:

``final_ladder``
    the smaller models' final losses only, one row per model, ``student_t``. Their final token counts
    differ by less than 10% (GPT-3 300B; OPT 260-280B), so the law is ``power_law`` in N; ``chinchilla``
    where they differ more.
``checkpoints_student_t``
    the smaller models' intermediate checkpoints too, law ``chinchilla`` (N and D both vary), fitted as
    independent rows (``student_t``): what a least-squares fit to checkpoints assumes.
``checkpoints_learning_curve``
    the same rows with ``run="model"``, so bayeslaw chooses the learning-curve model (a departure that
    persists along each run, plus jitter).

Checkpoints before 10% of a run's final tokens (learning-rate warm-up and the first transient) are dropped
(``--min-fraction``), and each run is thinned to at most 40 checkpoints (``--checkpoints``): the nearest to
40 log-spaced token counts, the last always kept. Reported per family and way: the absolute relative error
(ARE) of the new-run median, whether the 50% and 90% new-run bands cover the final loss, their widths
relative to it, CRPS of log loss, sampler warnings and time per fit. Usage::

    python case_studies/real_data_calibration/colpret.py                 # about 30 minutes on 2 cores
    python case_studies/real_data_calibration/colpret.py --families opt --num-chains 2 --num-warmup 300 \\
        --num-samples 300 --out /tmp/colpret
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import heldout  # noqa: E402

DATA = heldout.SHARED / "colpret" / "colpret_curves.csv"
FAMILIES = {
    "gpt3": {"family": "GPT-3", "metric": "val_loss_digitized", "log": False,
             "label": "GPT-3, validation loss (digitised)"},
    "opt": {"family": "OPT", "metric": "valid_perplexity", "log": True,
            "label": "OPT, log validation perplexity"},
    "gpt3_train": {"family": "GPT-3", "metric": "train_loss_digitized", "log": False,
                   "label": "GPT-3, training loss (digitised)"},
}
SKIPPED = {
    "OLMo": "2 sizes (1B, 7B; the 7B-Twin-2T is a second 7B run)",
    "LLM360-K2": "1 size", "LLM360-Mamba": "1 size", "RedPajama-INCITE": "2 sizes",
    "Pythia (nslpfn_colpret_curves.csv)": "its values are not plain cross-entropy (they start near 21; README)",
    "Pile-T5 (nslpfn)": "values 0.05-0.11, not a cross-entropy per token (README)",
    "Revisiting-LM (nslpfn)": "a rescaled metric, and the same curves as ../revisiting",
    "GPT-3, OPT, OLMo, RedPajama (nslpfn)": "copies of the curves in colpret_curves.csv (its GPT-3 lacks 175B)",
    "BiMix/DoReMi, Chinchilla, LLM360-Amber (nslpfn)": "one model size",
}
WAYS = ("final_ladder", "checkpoints_student_t", "checkpoints_learning_curve")
PAPER = {
    "source": "Choshen, Zhang, Andreas, arXiv:2410.11840 (abstract, read from its stored arXiv page) and the brief "
              "of issue 14; the paper's tables could not be read here",
    "claims": ["fitting scaling laws to intermediate checkpoints of training runs, not just their final losses, "
               "substantially improves accuracy (abstract)",
               "there is a significant degree of variability across model seeds (abstract)",
               "predicting the largest model from smaller ones reaches about 4% absolute relative error (ARE) at "
               "best (as stated in the issue; not checked against the paper's text here)"],
    "are_best": 0.04,
}


def family_curves(df: pd.DataFrame, key: str) -> pd.DataFrame:
    """One family's curves: model, N, D, loss (cross-entropy; mean of rows at the same model and D)."""
    spec = FAMILIES[key]
    d = df[(df["family"] == spec["family"]) & (df["metric"] == spec["metric"])]
    d = d.groupby(["model", "num_params", "tokens_seen"], as_index=False)["value"].mean()
    d = d.rename(columns={"num_params": "N", "tokens_seen": "D", "value": "loss"})
    if spec["log"]:
        d["loss"] = np.log(d["loss"])
    return d.sort_values(["N", "D"]).reset_index(drop=True)


def finals(curves: pd.DataFrame) -> pd.DataFrame:
    """Each model's last checkpoint (its final loss at its final D)."""
    return curves.sort_values("D").groupby("model").tail(1).sort_values("N").reset_index(drop=True)


def thin(curve: pd.DataFrame, k: int, min_fraction: float) -> pd.DataFrame:
    """A run's checkpoints from ``min_fraction`` of its final D on, the nearest to k log-spaced D (last kept)."""
    c = curve.sort_values("D")
    c = c[c["D"] >= min_fraction * c["D"].max()]
    logd = np.log(c["D"].to_numpy(float))
    grid = np.linspace(logd[0], logd[-1], k)
    idx = sorted(set(np.abs(logd[None, :] - grid[:, None]).argmin(axis=1)) | {len(c) - 1})
    return c.iloc[idx]


def predict_target(fit, target: pd.Series, law: str, seed: int) -> np.ndarray:
    import bayeslaw

    at = {"x": [target["N"]]} if law == "power_law" else {"N": [target["N"]], "D": [target["D"]]}
    return bayeslaw.predict(fit, ci_prob=0.9, seed=seed, **at).draws("new_run")


def run_family(df: pd.DataFrame, key: str, ways: list[str], sampler: dict, k: int, min_fraction: float) -> list[dict]:
    """The three ways of predicting one family's largest model; one record per way."""
    curves = family_curves(df, key)
    fin = finals(curves)
    target = fin.iloc[-1]
    small = fin.iloc[:-1]
    spread = float(small["D"].max() / small["D"].min())
    ladder_law = "power_law" if spread <= 1.1 else "chinchilla"
    checkpoints = pd.concat([thin(g, k, min_fraction) for _, g in curves[curves["N"] < target["N"]].groupby("model")])
    base = {"family": key, "label": FAMILIES[key]["label"], "target_model": target["model"], "target_N": target["N"],
            "target_D": target["D"], "target_loss": target["loss"], "models": int(len(small)),
            "final_D_spread": spread}
    out = []
    # every way: the plain law, as in the committed results (made before curvature="auto" became the default,
    # 2026-12-03); the checkpoints fitted as independent rows are a ladder to the default
    for way in ways:
        if way == "final_ladder":
            data = small[["N", "D", "loss"]] if ladder_law == "chinchilla" else small[["N", "loss"]]
            kw = {"x": "N"} if ladder_law == "power_law" else {}
            fit, rec = heldout.timed_fit(data, ladder_law, likelihood="student_t", curvature=False, **kw, **sampler)
            law = ladder_law
        elif way == "checkpoints_student_t":
            fit, rec = heldout.timed_fit(checkpoints[["N", "D", "loss"]], "chinchilla", likelihood="student_t",
                                         curvature=False, **sampler)
            law = "chinchilla"
        else:
            fit, rec = heldout.timed_fit(checkpoints[["model", "N", "D", "loss"]], "chinchilla", run="model",
                                         curvature=False, **sampler)
            law = "chinchilla"
        new = predict_target(fit, target, law, sampler["seed"])
        score = heldout.score_points(new, np.array([target["loss"]]))[0]
        rec.update(base, way=way, checkpoints_per_run=int(checkpoints.groupby("model").size().max())
                   if way != "final_ladder" else 1, **score)
        out.append(rec)
        print(f"{key} {way}: median {score['median']:.4f} vs {target['loss']:.4f} (ARE {score['are']:.4f}), "
              f"90% [{score['lower_90']:.3f}, {score['upper_90']:.3f}], {rec['wall_s']:.1f} s, "
              f"warnings {rec['warnings']}", file=sys.stderr, flush=True)
    return out


def aggregate(records: list[dict]) -> dict:
    """Per way, over families: mean and largest ARE, coverage counts with a Jeffreys interval, widths."""
    out = {}
    for way in WAYS:
        rs = [r for r in records if r["way"] == way]
        if not rs:
            continue
        n = len(rs)
        k90, k50 = sum(r["covered_90"] for r in rs), sum(r["covered_50"] for r in rs)
        out[way] = {"families": n, "mean_are": float(np.mean([r["are"] for r in rs])),
                    "max_are": float(np.max([r["are"] for r in rs])),
                    "covered_90": k90, "coverage_90": k90 / n, "coverage_90_ci95": heldout.jeffreys(k90, n),
                    "covered_50": k50, "coverage_50": k50 / n, "coverage_50_ci95": heldout.jeffreys(k50, n),
                    "median_width_90": float(np.median([r["width_90"] for r in rs])),
                    "mean_crps_log": float(np.mean([r["crps_log"] for r in rs])),
                    "fits_with_warnings": sum(bool(r["warnings"]) for r in rs),
                    "median_wall_s": float(np.median([r["wall_s"] for r in rs]))}
    return out


def summary_markdown(summary: dict) -> str:
    s = summary["settings"]
    lines = [f"ColPret: each family's largest model predicted from its smaller ones (run of "
             f"{summary['stamp']['date']}, commit {summary['stamp']['commit']}; {s['num_chains']} chains x "
             f"({s['num_warmup']} + {s['num_samples']}); checkpoints from {s['min_fraction']:.0%} of each run's "
             f"tokens, at most {s['checkpoints']} per run).", "",
             "| family | target: final loss | way | law / likelihood | rows | median [90% band] | ARE | "
             "50% covers | 90% covers | 90% width | 50% width | CRPS (log) | warnings | s per fit |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary["predictions"]:
        lines.append(f"| {r['label']} | {r['target_model']}: {r['target_loss']:.4f} | {r['way']} | {r['law']} / "
                     f"{r['likelihood']} | {r['rows']} | {r['median']:.4f} [{r['lower_90']:.3f}, {r['upper_90']:.3f}] | "
                     f"{r['are']:.4f} | {'yes' if r['covered_50'] else 'no'} | {'yes' if r['covered_90'] else 'no'} | "
                     f"{r['width_90']:.3f} | {r['width_50']:.3f} | {r['crps_log']:.4f} | "
                     f"{', '.join(r['warnings']) or 'none'} | {r['wall_s']:.1f} |")
    lines += ["", "| way | families | mean ARE (largest) | 90% covers [95% CI] | 50% covers [95% CI] | median 90% width | "
              "fits with warnings |", "|---|---|---|---|---|---|---|"]
    for way, a in summary["by_way"].items():
        lines.append(f"| {way} | {a['families']} | {a['mean_are']:.4f} ({a['max_are']:.4f}) | {a['covered_90']}/"
                     f"{a['families']} {a['coverage_90_ci95']} | {a['covered_50']}/{a['families']} "
                     f"{a['coverage_50_ci95']} | {a['median_width_90']:.3f} | {a['fits_with_warnings']} |")
    lines += ["", f"Paper (reference): best ARE about {PAPER['are_best']:.0%}; intermediate checkpoints help.", "",
              "Findings (computed from the numbers above):", ""]
    return "\n".join(lines + findings(summary)) + "\n"


def findings(summary: dict) -> list[str]:
    """The verdicts the tables support, as sentences computed from them (so a rerun keeps them true)."""
    by, out = summary["by_way"], []
    for way, a in by.items():
        out.append(f"- {way}: ARE {a['mean_are']:.1%} on average, at most {a['max_are']:.1%} "
                   f"({'within' if a['max_are'] <= PAPER['are_best'] else 'beyond'} the paper's ~4% in every family); "
                   f"90% bands cover {a['covered_90']}/{a['families']}, 50% bands {a['covered_50']}/{a['families']}, "
                   f"median 90% width {a['median_width_90']:.3f}.")
    if {"final_ladder", "checkpoints_student_t"} <= set(by):
        f, c = by["final_ladder"], by["checkpoints_student_t"]
        out.append(f"- Adding checkpoints as independent rows {'lowers' if c['mean_are'] < f['mean_are'] else 'raises'} "
                   f"the mean ARE ({f['mean_are']:.1%} -> {c['mean_are']:.1%}) and narrows the 90% band "
                   f"{f['median_width_90'] / c['median_width_90']:.1f} times; it covers {c['covered_90']} of "
                   f"{c['families']} targets.")
    if {"checkpoints_student_t", "checkpoints_learning_curve"} <= set(by):
        c, lc = by["checkpoints_student_t"], by["checkpoints_learning_curve"]
        out.append(f"- The learning-curve model on the same checkpoints: mean ARE {lc['mean_are']:.1%} (independent "
                   f"rows {c['mean_are']:.1%}), 90% band {lc['median_width_90'] / c['median_width_90']:.1f} times as "
                   f"wide, covering {lc['covered_90']} of {lc['families']} (independent rows {c['covered_90']}).")
    return out


def figure(records: list[dict], df: pd.DataFrame, path: Path) -> None:
    """Per family: the smaller models' final losses against N, the target, and each way's bands there."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(dict.fromkeys(r["family"] for r in records))
    fig, axes = plt.subplots(1, len(keys), figsize=(4.4 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        fin = finals(family_curves(df, key))
        ax.plot(fin["N"].iloc[:-1], fin["loss"].iloc[:-1], "o", color="k", ms=4, label="smaller models (final)")
        rs = [r for r in records if r["family"] == key]
        for i, r in enumerate(rs):
            xv = r["target_N"] * 1.35 ** (i - 1)
            ax.errorbar([xv], [r["median"]], yerr=[[r["median"] - r["lower_90"]], [r["upper_90"] - r["median"]]],
                        fmt="s", color=f"C{i}", ms=4, capsize=2, lw=1, label=r["way"])
            ax.plot([xv, xv], [r["lower_50"], r["upper_50"]], color=f"C{i}", lw=3.5, alpha=0.6)
        ax.hlines(rs[0]["target_loss"], rs[0]["target_N"] / 2, rs[0]["target_N"] * 2, color="C3", lw=1.2,
                  label="largest model, final loss")
        ax.set_xscale("log")
        ax.set(xlabel="parameters N", ylabel="final loss (nats)", title=rs[0]["label"])
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES), help=f"comma-separated, of {', '.join(FAMILIES)}")
    p.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated, of {', '.join(WAYS)}")
    p.add_argument("--checkpoints", type=int, default=40, help="at most this many checkpoints per run")
    p.add_argument("--min-fraction", type=float, default=0.1,
                   help="drop checkpoints before this fraction of a run's final tokens")
    p.add_argument("--figure", action=argparse.BooleanOptionalAction, default=True)
    heldout.add_sampler_options(p)
    p.add_argument("--out", type=Path, default=HERE / "results" / "colpret")
    args = p.parse_args(argv)
    if not DATA.exists():
        print(f"skipping ColPret: {DATA} is missing (../shared/data beside the repository)", file=sys.stderr)
        return 0
    families, ways = args.families.split(","), args.ways.split(",")
    unknown = [f for f in families if f not in FAMILIES] + [w for w in ways if w not in WAYS]
    if unknown:
        p.error(f"unknown families or ways: {', '.join(unknown)}")
    heldout.init_jax()
    sampler = heldout.sampler_args(args)
    df = pd.read_csv(DATA)
    records = []
    for key in families:
        records += run_family(df, key, ways, sampler, args.checkpoints, args.min_fraction)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"dataset": "colpret", "data": str(DATA.relative_to(heldout.SHARED.parent)), "stamp": heldout.stamp(),
               "settings": dict(sampler, families=families, ways=ways, checkpoints=args.checkpoints,
                                min_fraction=args.min_fraction),
               "are_definition": "|median - final loss| / final loss, the median of the new-run draws at the target's "
                                 "N and final D",
               "skipped_families": SKIPPED, "paper": PAPER, "by_way": aggregate(records), "predictions": records}
    heldout.write_json(args.out / "summary.json", summary)
    pd.DataFrame(records).drop(columns=["likelihood_reason", "warnings"]).to_csv(
        args.out / "predictions.csv", index=False, float_format="%.6g")
    (args.out / "summary.md").write_text(summary_markdown(summary))
    if args.figure:
        figure(records, df, args.out / "colpret.png")
    print(summary_markdown(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
