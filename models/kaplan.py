"""Kaplan et al. joint law: L = [(N_c / N)^(alpha_N / alpha_D) + D_c / D]^alpha_D.

Reference: Kaplan et al. 2020, "Scaling Laws for Neural Language Models"
(arXiv 2001.08361), eq. 1.5. No irreducible floor.

Sampled in log space as
``log L = alpha_D * LSE((p - alpha_N * x_N) / alpha_D, q / alpha_D - x_D)``, where
``p = alpha_N * log(N_c / N0)`` is the log-loss of a data-unlimited model at the
reference size and ``q = alpha_D * log(D_c / D0)`` that of a size-unlimited model at
the reference tokens: both are of the order of log(loss), which keeps the
posterior well-conditioned (N_c, D_c themselves span 10+ decades). NUTS moves in the coordinates
of the runs' centre and ends (``_from_centre``), with the same priors.
"""

import math

import jax
import jax.numpy as jnp

from bayeslaw.core.law import Coordinates, Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import ladder, log_ref
from ._priors import EXPONENT
from ._two_term import exponent, log_dexponent, log_expm1, width


def _log_mean(x, p, alpha_N, q, alpha_D):
    return alpha_D * logsumexp((p - alpha_N * x["N"]) / alpha_D, q / alpha_D - x["D"])


def _conventional(p, log_ref):
    return {
        "N_c": jnp.exp(log_ref["N"] + p["p"] / p["alpha_N"]),
        "D_c": jnp.exp(log_ref["D"] + p["q"] / p["alpha_D"]),
    }


def _from_centre(z, x):
    # z = (log L at the centre of the runs (x = 0: the geometric means of N and D), logit v, log d_N, log d_D): the
    # N part's share v of the bracket there, and the rise of log L from there down to the smallest N (at the
    # centre's D) and down to the smallest D (at the centre's N)
    w_n, w_d = width(x["N"]), width(x["D"])
    log_v, log_1mv = jax.nn.log_sigmoid(z[1]), jax.nn.log_sigmoid(-z[1])
    # down D: (v + (1 - v) e^w_D)^alpha_D = e^d_D
    log_alpha_d = z[3] - jnp.log(jnp.logaddexp(0.0, log_1mv + log_expm1(w_d)))
    alpha_d = jnp.exp(log_alpha_d)
    # down N: (v e^(w_N alpha_N / alpha_D) + 1 - v)^alpha_D = e^d_N, so the bracket rises e^(d_N / alpha_D)-fold
    alpha_n = alpha_d * exponent(z[2] - log_alpha_d, log_v, w_n)
    return {"p": z[0] + alpha_d * log_v, "alpha_N": alpha_n, "q": z[0] + alpha_d * log_1mv, "alpha_D": alpha_d}


def _log_det(z, x):
    # block triangular: (l, logit v) -> (p, q) at fixed exponents, det alpha_D; alpha_D from log d_D: alpha_D;
    # alpha_N from log d_N at fixed alpha_D: alpha_D times the rise's exponent's derivative
    log_v, log_1mv = jax.nn.log_sigmoid(z[1]), jax.nn.log_sigmoid(-z[1])
    log_alpha_d = z[3] - jnp.log(jnp.logaddexp(0.0, log_1mv + log_expm1(width(x["D"]))))
    return 3.0 * log_alpha_d + log_dexponent(z[2] - log_alpha_d, log_v, width(x["N"]))


_CENTRE = Coordinates(4, _from_centre, "the loss at the centre of the runs (the geometric means of N and D), the N "
                                       "part's share of the bracket there, and the rise of the loss from there down "
                                       "to the smallest N and to the smallest D, which the runs pin down; in (p, "
                                       "alpha_N, q, alpha_D) the exponents trade off against the limits along curved "
                                       "ridges", _log_det)
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
    coordinates=_CENTRE,
    example=_EXAMPLE,
)
