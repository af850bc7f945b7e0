"""Parameter recovery: every catalogue law, fitted with its default priors and the default
Student-t likelihood to synthetic runs simulated from known *conventional* constants (the
paper's A, B, N_c, ...), puts the truth inside the 90% equal-tailed posterior interval of
every reported parameter, with no divergences and R-hat <= 1.05.

How the noise is drawn, and why
-------------------------------
Each data set is a realistic design (a Chinchilla-style ladder of 8 model sizes x 6
tokens-per-parameter ratios, a compute sweep, ...) with log-normal noise of sd 0.01-0.015 on
the log loss, drawn once with a fixed seed (``DATA_SEED = 0``, chosen before any fit was run;
``SAMPLER_SEED = 0`` likewise). The noise is then made orthogonal to the law's tangent space at
the truth (the columns of d log L / d log theta, computed by finite differences of the numpy
formula below, not of the library's code): the best fit to the noisy data is then the truth
to first order, and the posterior is centred on it, with a width set by realistic noise.

With plain independent noise, a 90% interval misses the truth 10% of the time per parameter
*by construction*, even for a perfect sampler; with 4-6 correlated parameters per law the
whole law fails for about 1 seed in 3. Measured before writing this file (13 data seeds, same
designs, independent noise): chinchilla failed for 6 seeds, kaplan for 4, with misses on both
sides of the truth and driven by the same noise draws in both laws (seeds 0, 1, 6, 7), i.e.
chance, not bias. A fixed-seed test with independent noise is a lottery ticket, and
choosing the seed that passes would hide exactly the bias it is meant to catch. With the
projected noise, the truth sat at posterior quantiles between 0.24 and 0.77 for every reported
parameter of chinchilla and kaplan over the data seeds that had failed (1, 6, 7, 8, 12). A miss
here therefore means a real bias: a prior that dominates, a parameterisation that cannot
reach the truth, or wrong conventional constants.

Coverage of intervals under independent noise (calibration) is a separate, slow question.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import arviz_stats as azs
import numpy as np
import pandas as pd
import pytest

import bayeslaw
from bayeslaw.models import LAWS

DATA_SEED = 0
SAMPLER_SEED = 0
SAMPLER = dict(num_chains=2, num_warmup=300, num_samples=300)  # the settings of the other tests: one compiled program per law and size
RHAT_MAX = 1.05
PROB = 0.90


@dataclass(frozen=True)
class Case:
    truth: dict[str, float]               # conventional constants, as in the paper
    sizes: Callable[[], dict[str, np.ndarray]]  # run-table size columns
    formula: Callable[..., np.ndarray]    # loss from the size columns and the truth
    sigma: float                          # sd of the noise on log loss
    fit_kwargs: dict = field(default_factory=dict)


def _ladder() -> dict[str, np.ndarray]:
    """8 model sizes (70M-16B) x 6 tokens-per-parameter ratios (5-160): 48 runs."""
    N = np.repeat(np.geomspace(7e7, 1.6e10, 8), 6)
    return {"N": N, "D": N * np.tile([5.0, 10.0, 20.0, 40.0, 80.0, 160.0], 8)}


CASES: dict[str, Case] = {
    # Hoffmann et al. 2022 / Besiroglu et al. 2024 values.
    "chinchilla": Case(
        truth=dict(E=1.8, A=480.0, B=2000.0, alpha=0.35, beta=0.37),
        sizes=_ladder,
        formula=lambda N, D, E, A, B, alpha, beta: E + A / N**alpha + B / D**beta,
        sigma=0.015,
    ),
    # Kaplan et al. 2020 eq. 1.5 fitted values.
    "kaplan": Case(
        truth=dict(N_c=6.4e13, D_c=1.8e13, alpha_N=0.076, alpha_D=0.103),
        sizes=_ladder,
        formula=lambda N, D, N_c, D_c, alpha_N, alpha_D: ((N_c / N) ** (alpha_N / alpha_D) + D_c / D) ** alpha_D,
        sigma=0.01,
    ),
    # A compute sweep 1e18-1e23 FLOPs: loss 3.7 -> 2.05.
    "compute": Case(
        truth=dict(E=1.7, A=1000.0, alpha=0.15),
        sizes=lambda: {"C": np.geomspace(1e18, 1e23, 20)},
        formula=lambda C, E, A, alpha: E + A * C**-alpha,
        sigma=0.015,
    ),
    # Loss against model size 10M-100B: loss 4.9 -> 1.9.
    "power_law": Case(
        truth=dict(E=1.7, A=400.0, alpha=0.3),
        sizes=lambda: {"N": np.geomspace(1e7, 1e11, 20)},
        formula=lambda N, E, A, alpha: E + A * N**-alpha,
        sigma=0.015,
        fit_kwargs={"x": "N"},
    ),
    # Data sizes 1e6-1e12 with the break at 1e9, mid-range in log: exponent 0.1 -> 0.5.
    "broken_power_law": Case(
        truth=dict(E=1.5, b=1e9**0.1, c0=0.1, c1=0.4, d1=1e9, f1=0.3),
        sizes=lambda: {"D": np.geomspace(1e6, 1e12, 30)},
        formula=lambda D, E, b, c0, c1, d1, f1: E + b * D**-c0 * (1 + (D / d1) ** (1 / f1)) ** (-c1 * f1),
        sigma=0.01,
        fit_kwargs={"x": "D"},
    ),
}


def simulate(case: Case, seed: int = DATA_SEED) -> pd.DataFrame:
    """Runs with log-normal noise made orthogonal to the law's tangent space at the truth."""
    sizes = case.sizes()
    cols = list(sizes)

    def log_loss(theta: dict[str, float]) -> np.ndarray:
        return np.log(case.formula(*(sizes[c] for c in cols), **theta))

    mu = log_loss(case.truth)
    h = 1e-6  # relative step: every true constant is positive, so differentiate in log theta
    jac = np.stack([(log_loss({**case.truth, k: v * math.exp(h)}) - log_loss({**case.truth, k: v * math.exp(-h)}))
                    / (2 * h) for k, v in case.truth.items()], axis=1)
    q, _ = np.linalg.qr(jac)
    eps = np.random.default_rng(seed).normal(0.0, case.sigma, mu.size)
    eps -= q @ (q.T @ eps)
    return pd.DataFrame({**sizes, "loss": np.exp(mu + eps)})


_FITS: dict[str, bayeslaw.Fit] = {}


def recovered(name: str) -> bayeslaw.Fit:
    """The recovery fit of one law (cached: the determinism test reuses one)."""
    if name not in _FITS:
        case = CASES[name]
        # check=False: the library warns at R-hat > 1.01, a threshold meant for full-length runs;
        # these short runs are held to the explicit criteria asserted below instead.
        _FITS[name] = bayeslaw.fit(simulate(case), name, seed=SAMPLER_SEED, check=False,
                                   **SAMPLER, **case.fit_kwargs)
    return _FITS[name]


# Laws whose recovery fits live in tests/test_new_laws.py (all but one marked slow: each law compiles
# its own sampler, and the default suite has no time for five more).
RECOVERED_ELSEWHERE = {"shared_exponent", "farseer", "data_constrained", "m3", "m4"}


def test_every_catalogue_law_has_a_recovery_case():
    assert set(CASES) | RECOVERED_ELSEWHERE == set(LAWS) and not set(CASES) & RECOVERED_ELSEWHERE
    for name, case in CASES.items():
        # every reported parameter has a true value: none is skipped silently
        assert set(LAWS[name].report) == set(case.truth), name


def test_simulated_noise_is_realistic():
    for name, case in CASES.items():
        df = simulate(case)
        resid = np.log(df["loss"]) - np.log(case.formula(*(df[c] for c in case.sizes()), **case.truth))
        k = len(case.truth)
        # projection removes k of n dimensions: residual sd ~ sigma * sqrt((n - k) / n)
        assert 0.6 * case.sigma < resid.std() < 1.3 * case.sigma, name
        assert np.all(np.isfinite(df["loss"])) and (df["loss"] > 0).all()
        assert len(df) > k + 2


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
def test_recovers_true_parameters(name):
    case = CASES[name]
    f = recovered(name)
    law = LAWS[name]
    post = f.idata["posterior"]
    lines = []
    for k in law.report:
        draws = f.draws(k)
        assert np.isfinite(draws).all(), k
        lo, hi = np.quantile(draws, [(1 - PROB) / 2, (1 + PROB) / 2])
        truth = case.truth[k]
        lines.append(f"{k}: truth {truth:.4g}, {PROB:.0%} interval [{lo:.4g}, {hi:.4g}]")
        assert lo <= truth <= hi, f"{name}: " + "; ".join(lines)
    div = int(np.asarray(f.idata["sample_stats"]["diverging"]).sum())
    assert div == 0, f"{name}: {div} divergent transitions"
    names = list(post.data_vars)
    rhat = azs.rhat(f.idata, var_names=names)
    worst = {n: float(rhat[n]) for n in names if float(rhat[n]) > RHAT_MAX}
    assert not worst, f"{name}: R-hat above {RHAT_MAX}: {worst}"
    assert post.sizes["chain"] == SAMPLER["num_chains"] and post.sizes["draw"] == SAMPLER["num_samples"]


def test_same_seed_gives_bit_identical_draws():
    name = "power_law"
    case = CASES[name]
    first = recovered(name)
    again = bayeslaw.fit(simulate(case), name, seed=SAMPLER_SEED, check=False, **SAMPLER, **case.fit_kwargs)
    for group in ("posterior", "sample_stats", "log_likelihood"):
        a, b = first.idata[group].to_dataset(), again.idata[group].to_dataset()
        assert list(a.data_vars) == list(b.data_vars)
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{group}/{v}")
    other = bayeslaw.fit(simulate(case), name, seed=SAMPLER_SEED + 1, check=False, **SAMPLER, **case.fit_kwargs)
    assert not np.array_equal(other.draws("alpha"), first.draws("alpha"))
    assert other.spec["sampler"]["seed"] == SAMPLER_SEED + 1 and first.spec["sampler"]["seed"] == SAMPLER_SEED
