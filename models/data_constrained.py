"""Data-constrained scaling law: L = E + A / N'^alpha + B / D'^beta with repeated data and excess parameters.

Reference: Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv 2305.16264,
NeurIPS 2023), as implemented in the authors' code (github.com/huggingface/datablations,
README "Parametric Fit"), which was read and is followed here:

    D' = U_D + U_D R_D* (1 - exp(-R_D / R_D*)),   R_D = max(D / U_D - 1, 0)   (repeated epochs)
    N' = U_N + U_N R_N* (1 - exp(-R_N / R_N*)),   R_N = max(N / U_N - 1, 0)   (excess parameters)
    U_N = min(N, N_opt(U_D)),   N_opt(D) = G (G D)^(beta/alpha),   G = (alpha A / (beta B))^(1/(alpha+beta))

U_D = U is the number of unique tokens and N_opt(U) the compute-optimal parameter count for U
tokens under the law's own Chinchilla allocation. The authors' fit (C4; their code's
constants): E = 1.87, A = 521, B = 1489, alpha = beta = 0.353, R_D* = 15.4, R_N* = 5.31.
Their code asserts U <= D; here a run with D <= U (no repetition) gets D' = D exactly (the same
law extended continuously: R_D = 0 and the base is min(D, U)), so that with no repetition and
N <= N_opt(U) the law is exactly Chinchilla's.

Inputs are centred as in ``chinchilla``, with U centred at D's reference scale
(``centre={"U": "D"}``) so that ``x["D"] - x["U"] = log(D / U)``. In those units the
reference scales cancel from U_N: ``log(N_opt(U) / N0) = (log(alpha / beta) + a - b + beta x_U) / alpha``.
The compute-optimal allocation of ``bayeslaw.decide`` (a search over N at C = k N D) is not
defined for a law that also needs U, and raises a LawError.

NUTS moves in chinchilla's coordinates of the runs' centre and ends in N and D (:mod:`models._two_term`,
on the runs' nominal N and D), with log R_N* and log R_D*, and the same priors.
"""

import math

import jax.numpy as jnp
import numpy as np

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import log_ref
from ._priors import EXPONENT, FLOOR, LOG_TERM
from ._two_term import two_exponents

# 5 model sizes x 3 unique-token budgets x 4 epoch counts (1-60): repetition and excess parameters,
# with Muennighoff et al.'s constants (their code's: E, A, B = exp(e, a, b))
_N, _U, _EPOCHS = (v.ravel() for v in np.meshgrid(np.geomspace(1e8, 3e9, 5), [1e9, 4e9, 1.6e10],
                                                   [1.0, 4.0, 16.0, 60.0], indexing="ij"))
_D = _U * _EPOCHS
_EXAMPLE = Example(inputs={"N": _N, "D": _D, "U": _U}, sigma=0.01, params={
    "E": math.exp(0.6254804), "a": 6.255414 - 0.3526596 * log_ref(_N), "alpha": 0.3526596,
    "b": 7.3049974 - 0.3526596 * log_ref(_D), "beta": 0.3526596, "rn_star": 5.309743, "rd_star": 15.387756})


def log_effective(log_size, log_base, r_star):
    """log of base + base R* (1 - exp(-R / R*)) with R = max(size / base - 1, 0), base = min(size, base).

    Equals ``log_size`` exactly when size <= base (nothing repeated or in excess).
    """
    excess = jnp.expm1(jnp.clip(log_size - log_base, 0.0, 700.0))  # R: repetitions beyond the first
    return jnp.minimum(log_size, log_base) + jnp.log1p(-r_star * jnp.expm1(-excess / r_star))


def _log_mean(x, E, a, alpha, b, beta, rn_star, rd_star):
    log_d = log_effective(x["D"], x["U"], rd_star)  # log(D' / D0)
    log_un = (jnp.log(alpha / beta) + a - b + beta * x["U"]) / alpha  # log(N_opt(U) / N0)
    log_n = log_effective(x["N"], log_un, rn_star)  # log(N' / N0)
    return logsumexp(jnp.log(E), a - alpha * log_n, b - beta * log_d)


def _conventional(p, log_ref):
    return {
        "A": jnp.exp(p["a"] + p["alpha"] * log_ref["N"]),
        "B": jnp.exp(p["b"] + p["beta"] * log_ref["D"]),
    }


data_constrained = Law(
    name="data_constrained",
    inputs=("N", "D", "U"),
    log_mean=_log_mean,
    params={
        "E": FLOOR,
        "a": Param(LOG_TERM.prior, LOG_TERM.why, "log of A/N0^alpha (parameter term at the reference size)"),
        "alpha": Param(EXPONENT.prior, EXPONENT.why, "parameter-count exponent"),
        "b": Param(LOG_TERM.prior, LOG_TERM.why, "log of B/D0^beta (data term at the reference tokens)"),
        "beta": Param(EXPONENT.prior, EXPONENT.why, "token exponent"),
        "rn_star": Param(Prior("LogNormal", loc=1.6, scale=1.0),
                         "excess-parameter decay constant: Muennighoff et al. fit 5.3; median 5, 95% 0.7-35",
                         "R_N*: excess parameters (in multiples of U_N) at which their value decays e-fold"),
        "rd_star": Param(Prior("LogNormal", loc=2.7, scale=1.0),
                         "repetition decay constant: Muennighoff et al. fit 15.4 epochs; median 15, 95% 2-100",
                         "R_D*: repeated epochs at which their value decays e-fold"),
    },
    formula="L = E + A / N'^alpha + B / D'^beta, D' = U + U R_D* (1 - exp(-R_D / R_D*)), R_D = D/U - 1, "
            "N' likewise with U_N = min(N, N_opt(U)), R_N = N/U_N - 1",
    reference="Muennighoff et al. 2023, arXiv:2305.16264 and the authors' code (huggingface/datablations)",
    to_conventional=_conventional,
    report=("E", "A", "B", "alpha", "beta", "rn_star", "rd_star"),
    description="Loss against parameters N, tokens D and unique tokens U (U <= D): repeated tokens and "
                "parameters beyond the compute-optimal size for U are worth less.",
    centre={"U": "D"},
    coordinates=two_exponents(positive=("rn_star", "rd_star")),
    example=_EXAMPLE,
)
