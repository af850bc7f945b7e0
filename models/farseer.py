"""Farseer: L(N, D) = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) * D^(-exp(a1 N^alpha + b1)).

Reference: Li et al. 2025, "Predictable Scale: Part II, Farseer: A Refined Scaling Law in Large
Language Models" (arXiv 2506.10972). What was verified (search of stored copies of the paper's
pages and of reviews of it): the paper decomposes the loss surface as
``L = E + U(N) + V(D) + H(N, D)`` and models the data-dependent part as a power law in D whose
coefficient and exponent both depend on N, ``V + H ~ B(N) D^-A(N)``, fitted in stages
("differential piecewise fitting"), with stretched-exponential forms. The exact closed form
above (the one in the project's LAWS.md, marked uncertain there) and the unit in which the
paper measures D could NOT be checked against the paper's equation; treat both as assumptions.

The form is invariant to the unit of N (a rescaling of N is absorbed by a1, a2, a3) but not to
the unit of D. So D enters in tokens, at a fixed scale (``centre={"D": log(1e10)}``:
``x["D"] = log(D / 1e10 tokens)``, the same for every data set), and only N is centred at the
data's geometric mean N0 (``s = log(N / N0)``). Each of the three N-dependent exponents
``c + a N^e`` is sampled as its value at N0, its slope in log N at N0, and its curvature e:

    c + a N^e = value + slope * (exp(e s) - 1) / e        (slope = a e N0^e; e -> 0: a power law)

    log(E + U(N))  = log_floor + slope_floor * h(gamma, s)
    log A(N)       = log_exponent + slope_exponent * h(alpha, s)       A(N): the data exponent
    log B(N)       = log_term + A(N0) log(1e10) + slope_term * h(beta, s)   B(N): its coefficient
    log L = LSE(log(E + U(N)), log B(N) - A(N) log D),    h(e, s) = expm1(e s) / e

so ``log_term`` is the log of the data term at (N0, 1e10 tokens). ``to_conventional`` returns
the paper's a1, b1, a2, b2, a3, b3 (N in parameters, D in tokens); they blow up as a curvature
goes to 0, which is why they are not what NUTS samples. A numerical guard caps A(N) at e^20.

Extrapolation in N rests on the curvatures, which a ladder spanning two decades of N constrains
weakly: a curvature of either sign makes its term run away (or vanish) super-exponentially far
outside the data. ``bayeslaw.decide`` applies (a law of N and D), but for such posterior draws the
compute-optimal N lies at the edge of its search and it raises a LawError (measured: ~30% of the
draws of a 48-run synthetic ladder, at 1e21 FLOPs).
"""

import math

import jax.numpy as jnp

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import ladder
from ._priors import LOG_TERM

#: D enters the law in tokens; x["D"] = log(D / D_UNIT), a fixed scale typical of LLM ladders.
LOG_D_REF = math.log(1e10)
_LOG_A_MAX = 20.0  # guard: a data exponent above e^20 is meaningless, and overflows


def box_cox(s, e):
    """(exp(e s) - 1) / e, and its limit s as e -> 0 (smooth in e through 0)."""
    small = jnp.abs(e) < 1e-7
    e_safe = jnp.where(small, 1.0, e)
    series = s * (1.0 + 0.5 * e * s * (1.0 + e * s / 3.0))
    return jnp.where(small, series, jnp.expm1(e_safe * s) / e_safe)


def _log_mean(x, log_floor, slope_floor, gamma, log_term, slope_term, beta, log_exponent, slope_exponent, alpha):
    s = x["N"]
    log_d = x["D"] + LOG_D_REF  # log D in tokens
    log_a = jnp.minimum(log_exponent + slope_exponent * box_cox(s, alpha), _LOG_A_MAX)
    log_b = log_term + jnp.exp(log_exponent) * LOG_D_REF + slope_term * box_cox(s, beta)
    return logsumexp(log_floor + slope_floor * box_cox(s, gamma), log_b - jnp.exp(log_a) * log_d)


def _conventional(p, log_ref):
    log_n0 = log_ref["N"]
    out = {}
    # value + slope * (n^e - 1) / e = b + a N^e with a = slope / e * N0^-e, b = value - slope / e
    for a, b, value, slope, e in (("a1", "b1", p["log_exponent"], p["slope_exponent"], p["alpha"]),
                                  ("a2", "b2", p["log_term"] + jnp.exp(p["log_exponent"]) * LOG_D_REF,
                                   p["slope_term"], p["beta"]),
                                  ("a3", "b3", p["log_floor"], p["slope_floor"], p["gamma"])):
        out[a] = slope / e * jnp.exp(-e * log_n0)
        out[b] = value - slope / e
    return out


_CURVATURE = ("curvature of an exponent against log N: 0 is a power law in N; |value| > 1 would bend it by a "
              "factor e per unit of log N, so sd 0.5")

farseer = Law(
    name="farseer",
    inputs=("N", "D"),
    log_mean=_log_mean,
    params={
        "log_floor": Param(Prior("Normal", loc="log_y0", scale=1.0),
                           "the data-unlimited loss at N0 lies below the observed losses but of their order: "
                           "within a factor e of y0",
                           "log(E + U(N0)) = a3 N0^gamma + b3"),
        "slope_floor": Param(Prior("Normal", loc=0.0, scale=0.5),
                             "log-log slope of the data-unlimited loss in N at N0: -0.06 for Chinchilla's fit at 1e9 parameters; "
                             "|slope| > 1 is implausible",
                             "d log(E + U) / d log N at N0 = a3 gamma N0^gamma"),
        "gamma": Param(Prior("Normal", loc=0.0, scale=0.5), _CURVATURE, "exponent gamma of N in E + U(N)"),
        "log_term": Param(LOG_TERM.prior,
                          "the data term at (N0, 1e10 tokens) is of the order of the loss y0, within a factor ~50",
                          "log of B(N0) * (1e10)^-A(N0)"),
        "slope_term": Param(Prior("Normal", loc=0.0, scale=1.0),
                            "how the coefficient B(N) changes with N at N0 (either sign); |slope| > 2 is rare",
                            "d log B / d log N at N0 = a2 beta N0^beta"),
        "beta": Param(Prior("Normal", loc=0.0, scale=0.5), _CURVATURE, "exponent beta of N in B(N)"),
        "log_exponent": Param(Prior("Normal", loc=-1.2, scale=0.7),
                              "the data exponent at N0 is Chinchilla-like: median 0.3, 95% within 0.08-1.2",
                              "log A(N0) = a1 N0^alpha + b1"),
        "slope_exponent": Param(Prior("Normal", loc=0.0, scale=0.5),
                                "the data exponent drifts slowly with N (0: Chinchilla's constant exponent); "
                                "sd 0.5 in log A per unit of log N",
                                "d log A / d log N at N0 = a1 alpha N0^alpha"),
        "alpha": Param(Prior("Normal", loc=0.0, scale=0.5), _CURVATURE, "exponent alpha of N in A(N)"),
    },
    formula="L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) * D^(-exp(a1 N^alpha + b1))",
    reference="Li et al. 2025, arXiv:2506.10972 (Farseer; exact form as in LAWS.md, not checked against the paper)",
    to_conventional=_conventional,
    report=("a1", "b1", "a2", "b2", "a3", "b3", "alpha", "beta", "gamma"),
    description="Loss against N and tokens D whose data exponent and coefficient depend on N; D in tokens "
                "(the form depends on D's unit).",
    centre={"D": LOG_D_REF},
    # Near N0 Hoffmann et al.'s surface (E + A N^-alpha = 2.04 with slope -0.06 at 1e9 parameters, data term
    # 0.65 at 1e10 tokens, exponent 0.28), with a floor that saturates as N grows (gamma < 0) and a data
    # exponent and coefficient that drift mildly with N; stated in the sampled parameters at the ladder's N0
    # (the paper's constants blow up as a curvature goes to 0)
    example=Example(inputs=ladder(), sigma=0.01, params={
        "log_floor": 0.71, "slope_floor": -0.06, "gamma": -0.3, "log_term": -0.43, "slope_term": 0.1, "beta": -0.2,
        "log_exponent": math.log(0.28), "slope_exponent": 0.05, "alpha": -0.2}),
)
