"""Kaplan et al. joint law: L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D.

Reference: Kaplan et al. 2020, "Scaling Laws for Neural Language Models"
(arXiv 2001.08361), eq. 1.5. No irreducible floor.

Sampled in log space as
``log L = alpha_D * LSE((p - alpha_N * x_N) / alpha_D, q / alpha_D - x_D)``, where
``p = alpha_N * log(N_c / N0)`` is the log-loss of a data-unlimited model at the
reference size and ``q = alpha_D * log(D_c / D0)`` that of a size-unlimited model at
the reference tokens: both are of the order of log(loss), which keeps the
posterior well-conditioned (N_c, D_c themselves span 10+ decades).
"""

import math

import jax.numpy as jnp

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import ladder, log_ref
from ._priors import EXPONENT


def _log_mean(x, p, alpha_N, q, alpha_D):
    return alpha_D * logsumexp((p - alpha_N * x["N"]) / alpha_D, q / alpha_D - x["D"])


def _conventional(p, log_ref):
    return {
        "N_c": jnp.exp(log_ref["N"] + p["p"] / p["alpha_N"]),
        "D_c": jnp.exp(log_ref["D"] + p["q"] / p["alpha_D"]),
    }


_LOG_LIMIT = Prior("Normal", loc="log_y0", scale=1.5)
_LADDER = ladder()
# Kaplan et al.'s fitted values (eq. 1.5): N_c 6.4e13, D_c 1.8e13, alpha_N 0.076, alpha_D 0.103
_EXAMPLE = Example(inputs=_LADDER, sigma=0.01, params={
    "p": 0.076 * (math.log(6.4e13) - log_ref(_LADDER["N"])), "alpha_N": 0.076,
    "q": 0.103 * (math.log(1.8e13) - log_ref(_LADDER["D"])), "alpha_D": 0.103})

kaplan = Law(
    name="kaplan",
    inputs=("N", "D"),
    log_mean=_log_mean,
    params={
        "p": Param(_LOG_LIMIT, "log-loss with unlimited data at the reference size: of the order of log y0",
                   "alpha_N * log(N_c / N0)"),
        "alpha_N": Param(EXPONENT.prior, EXPONENT.why, "parameter-count exponent"),
        "q": Param(_LOG_LIMIT, "log-loss with unlimited parameters at the reference tokens: of the order of log y0",
                   "alpha_D * log(D_c / D0)"),
        "alpha_D": Param(EXPONENT.prior, EXPONENT.why, "token exponent"),
    },
    formula="L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D",
    reference="Kaplan et al. 2020, arXiv:2001.08361 eq. 1.5",
    to_conventional=_conventional,
    report=("N_c", "D_c", "alpha_N", "alpha_D"),
    description="Loss against parameters N and tokens D, no irreducible floor.",
    example=_EXAMPLE,
)
