"""Smoothly broken power law with one break (BNSL, n = 1).

y = E + b * x^-c0 * (1 + (x / d1)^(1 / f1))^(-c1 * f1)

Reference: Caballero et al. 2023, "Broken Neural Scaling Laws" (arXiv 2210.14891), eq. 1
(their ``a`` is our ``E``). In log space with x centred at x0:
``log y = LSE(log E, log_b - c0*x - c1*f1*softplus((x - log_d1) / f1))``, where
``log_b`` is the log of the reducible term at x0 *without* the break factor and
``log_d1 = log(d1 / x0)`` is the break location relative to the reference scale.
The exponent is c0 well before the break and c0 + c1 well after it.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import log_ref, log_term
from ._priors import FLOOR, LOG_TERM

_X = np.geomspace(1e6, 1e12, 30)  # the break at 1e9, mid-range in log: exponent 0.1 -> 0.5
_EXAMPLE = Example(inputs={"x": _X}, sigma=0.01, params={
    "E": 1.5, "log_b": log_term(1e9**0.1, 0.1, _X), "c0": 0.1, "c1": 0.4, "log_d1": math.log(1e9) - log_ref(_X),
    "f1": 0.3})


def _log_mean(x, E, log_b, c0, c1, log_d1, f1):
    t = x["x"]
    return logsumexp(jnp.log(E), log_b - c0 * t - c1 * f1 * jax.nn.softplus((t - log_d1) / f1))


def _conventional(p, log_ref):
    return {
        "b": jnp.exp(p["log_b"] + p["c0"] * log_ref["x"]),
        "d1": jnp.exp(p["log_d1"] + log_ref["x"]),
    }


broken_power_law = Law(
    name="broken_power_law",
    inputs=("x",),
    log_mean=_log_mean,
    params={
        "E": FLOOR,
        "log_b": Param(LOG_TERM.prior, LOG_TERM.why, "log of the reducible term at x0, before the break factor"),
        "c0": Param(Prior("HalfNormal", scale=1.0),
                    "exponent before the break: non-negative, usually below 1 (BNSL fits, Caballero et al.)",
                    "exponent before the break"),
        "c1": Param(Prior("Normal", loc=0.0, scale=1.0),
                    "change of exponent at the break, either sign; |c1| > 2 is rare",
                    "change of the exponent at the break"),
        "log_d1": Param(Prior("Normal", loc=0.0, scale=3.0),
                        "break location within ~3 e-folds (x20) either side of the data's centre, sd 3 in log",
                        "log(d1 / x0): where the break is"),
        "f1": Param(Prior("LogNormal", loc=-1.0, scale=1.0),
                    "sharpness of the break: positive, median 0.37 (a break over about one e-fold)",
                    "smoothness of the break (small = sharp)"),
    },
    formula="L = E + b * x^-c0 * (1 + (x / d1)^(1 / f1))^(-c1 * f1)",
    reference="Caballero et al. 2023, arXiv:2210.14891 eq. 1 (one break)",
    to_conventional=_conventional,
    report=("E", "b", "c0", "c1", "d1", "f1"),
    description="One size variable x with one smooth change of exponent.",
    example=_EXAMPLE,
)
