"""Synthetic ladders with known truth for calibration studies.

Each design draws a ladder of runs from a catalogue law with known parameters, adds noise
on log loss (Gaussian, or Student-t with 3 degrees of freedom, same scale), and names
targets 10-100x beyond the ladder where the true mean law and fresh new-run draws are known.

Truth is given in the law's *sampled* parameterisation with all log reference scales at 0
(so amplitudes are plain logs: for chinchilla a = log A, b = log B).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

SIGMA = 0.02  # noise scale on log loss (2%), Gaussian sd or Student-t scale


@dataclass(frozen=True)
class Design:
    law: str
    truth: dict[str, float]
    columns: tuple[str, ...]
    make_inputs: object = field(repr=False)      # rng -> DataFrame of inputs
    make_targets: object = field(repr=False)     # ladder inputs -> DataFrame of targets
    x: str | None = None                         # fit(..., x=...) for one-variable laws


def _chinchilla_inputs(_rng):
    N = np.geomspace(2e7, 1e9, 8)
    ratio = np.geomspace(5, 160, 6)
    NN, RR = np.meshgrid(N, ratio, indexing="ij")
    N, D = NN.ravel(), (NN * RR).ravel()
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D})


def _chinchilla_targets(ladder):
    cmax = ladder["C"].max()
    C = cmax * np.array([10.0, 31.6, 100.0])
    N = np.sqrt(C / 6 / 20)  # 20 tokens per parameter
    return pd.DataFrame({"N": N, "D": 20 * N, "C": C})


def _one_var_inputs(col, lo, hi, n):
    def make(_rng):
        return pd.DataFrame({col: np.geomspace(lo, hi, n)})
    return make


def _one_var_targets(col):
    def make(ladder):
        return pd.DataFrame({col: ladder[col].max() * np.array([10.0, 31.6, 100.0])})
    return make


DESIGNS: dict[str, Design] = {
    "chinchilla": Design(
        "chinchilla", {"E": 1.8, "a": np.log(480.0), "alpha": 0.35, "b": np.log(2000.0), "beta": 0.37},
        ("N", "D"), _chinchilla_inputs, _chinchilla_targets),
    "power_law": Design(
        "power_law", {"E": 1.7, "a": np.log(400.0), "alpha": 0.3}, ("D",),
        _one_var_inputs("D", 1e8, 1e10, 20), _one_var_targets("D"), x="D"),
    # the same law and truth on a ladder one decade longer (30 sizes, 10 per decade): does a third
    # decade of data bring the floored power law's extrapolation to its nominal coverage?
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
    import bayeslaw

    law = bayeslaw.get_law(design.law)
    var_cols = {v: (design.x or design.columns[0]) if v == "x" else v for v in law.inputs}
    raw = {v: inputs[c].to_numpy(float) for v, c in var_cols.items()}
    return np.asarray(law.evaluate_log(raw, design.truth, {v: 0.0 for v in law.inputs}), float)


def noise(rng: np.random.Generator, kind: str, size) -> np.ndarray:
    if kind == "normal":
        return SIGMA * rng.standard_normal(size)
    if kind == "student_t3":
        return SIGMA * rng.standard_t(3, size)
    if kind.startswith("normal_sd"):  # probes: Gaussian noise of another sd, e.g. "normal_sd0.0346"
        return float(kind.removeprefix("normal_sd")) * rng.standard_normal(size)
    raise ValueError(kind)


def make_ladder(design: Design, noise_kind: str, seed: int):
    """(ladder runs DataFrame, targets DataFrame with true mean loss and one fresh new-run loss)."""
    rng = np.random.default_rng(seed)
    ladder = design.make_inputs(rng)
    ladder["loss"] = np.exp(true_log_mean(design, ladder) + noise(rng, noise_kind, len(ladder)))
    targets = design.make_targets(ladder)
    mu = true_log_mean(design, targets)
    targets["true_mean"] = np.exp(mu)
    targets["fresh_run"] = np.exp(mu + noise(rng, noise_kind, len(targets)))
    return ladder, targets
