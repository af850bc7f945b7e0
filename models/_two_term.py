"""Coordinates of the runs' centre and ends for laws of a floor and two power-law terms, L = E + A/N^alpha + B/D^beta.

Shared by ``chinchilla``, ``shared_exponent`` and ``data_constrained`` (and the helpers by ``kaplan``): NUTS
moves in numbers the runs pin down: the loss at the centre of the runs (the reference point of the fit, where
every centred log input is 0: the geometric means of N and D), the floor's share of it, the split of the rest
between the two terms, and the rise of the loss from the centre down to the smallest N (at the centre's D) and
to the smallest D (at the centre's N). The map to the parameters (E, a, alpha, b, beta) is closed-form and a
bijection from R^5 (R^4 with one exponent) onto their support (E > 0, a and b real, exponents > 0): each
parameter is solved for in turn, and every step is strictly monotone. Its log-Jacobian is in closed form too
(``log_det``); the priors are carried over by it, so the model is the same. In (E, a, alpha, b, beta) the floor
trades off against the exponents and amplitudes along curved ridges: 80-89% of chinchilla's 25-48-run ladders
ended with a sampler warning (case_studies/sampler_health). Anchored at the corner of the largest N and D
instead (the one-term laws' choice, ``_floor_power``), 4-6% of them still did, and 11% of kaplan's.
"""

import jax
import jax.numpy as jnp

from bayeslaw.core.law import Coordinates

WHY = ("the loss at the centre of the runs (the geometric means of N and D), E's share of it, the split of the rest "
       "between the two terms, and the rise of the loss from there down to the smallest N and to the smallest D, "
       "which the runs pin down; in the parameters the floor trades off against exponents and amplitudes along "
       "curved ridges (a sampler warning on 80-89% of chinchilla's 25-48-run ladders, case_studies/sampler_health)")


def log_expm1(d):
    """log(exp(d) - 1) for d > 0, without overflow for large d or loss of digits for small d."""
    return d + jnp.log(-jnp.expm1(-d))


def width(x):
    """How far a centred log input reaches below the centre (0) over the runs: -min(x), kept above 0."""
    return jnp.maximum(-jnp.min(x), 1e-6)


def centre(z):
    """log E, log A, log B at the centre from z[0:3] = (log L there, logit of E's share, logit of A's share of the
    rest), and log(1 - E's share). The map (log E, log A, log B) -> z[0:3] has Jacobian determinant 1."""
    log_1mu, log_v, log_1mv = jax.nn.log_sigmoid(-z[1]), jax.nn.log_sigmoid(z[2]), jax.nn.log_sigmoid(-z[2])
    return z[0] + jax.nn.log_sigmoid(z[1]), z[0] + log_1mu + log_v, z[0] + log_1mu + log_1mv, log_1mu


def exponent(log_d, log_share, w):
    """The exponent of a part whose share of the loss at the centre is exp(log_share), when the loss rises
    e^d-fold (d = exp(log_d)) over ``w`` log units down its input: the part grows (1 + (e^d - 1) / share)-fold."""
    return (jnp.logaddexp(log_expm1(jnp.exp(log_d)), log_share) - log_share) / w


def log_dexponent(log_d, log_share, w):
    """log of d exponent / d log_d (> 0: the exponent rises with the rise)."""
    d = jnp.exp(log_d)
    return log_d + jax.nn.log_sigmoid(log_expm1(d) - log_share) - jnp.log(-jnp.expm1(-d)) - jnp.log(w)


def two_exponents(n: str = "N", d: str = "D", positive: tuple[str, ...] = ()) -> Coordinates:
    """z = (log L at the centre, logit E share, logit A share of the rest, log rise down n, log rise down d) ->
    E, a, alpha, b, beta of ``LSE(log E, a - alpha x[n], b - beta x[d])`` (a and b are the terms' logs at the
    centre); then the log of each parameter named in ``positive`` (a law's further parameters, > 0).

    The two terms are computed side by side as 2-vectors (the functions above, applied elementwise): XLA then
    fuses them into fewer kernels, and a gradient of the Chinchilla model costs ~15% less than with one scalar
    chain per term (benchmarks/gradient_cost.py); the numbers are the same."""

    def terms(z, x):
        log_e, log_a, log_b, _ = centre(z)
        log_ab = jnp.stack([log_a, log_b])
        w = jnp.stack([width(x[n]), width(x[d])])
        return log_e, log_ab, log_ab - z[0], w

    def to_params(z, x):
        log_e, log_ab, log_share, w = terms(z, x)
        expo = exponent(z[3:5], log_share, w)
        return {"E": jnp.exp(log_e), "a": log_ab[0], "alpha": expo[0], "b": log_ab[1], "beta": expo[1],
                **{name: jnp.exp(z[5 + i]) for i, name in enumerate(positive)}}

    def log_det(z, x):
        # block triangular: (log E, a, b) from z[0:3] (det 1), each exponent from its own rise, E = exp(log E),
        # the positive ones exp(z)
        log_e, _, log_share, w = terms(z, x)
        return log_e + jnp.sum(log_dexponent(z[3:5], log_share, w)) + jnp.sum(z[5:])

    return Coordinates(5 + len(positive), to_params, WHY, log_det)


def one_exponent(n: str = "N", d: str = "D") -> Coordinates:
    """z = (log L at the centre, logit E share, logit A share of the rest, log rise from the centre down both
    inputs by the narrower width) -> E, a, b, alpha of ``LSE(log E, a - alpha x[n], b - alpha x[d])``: moving both
    inputs down by w multiplies the whole reducible part by e^(alpha w)."""

    def to_params(z, x):
        log_e, log_a, log_b, log_1mu = centre(z)
        alpha = exponent(z[3], log_1mu, jnp.minimum(width(x[n]), width(x[d])))
        return {"E": jnp.exp(log_e), "a": log_a, "b": log_b, "alpha": alpha}

    def log_det(z, x):
        log_e, _, _, log_1mu = centre(z)
        return log_e + log_dexponent(z[3], log_1mu, jnp.minimum(width(x[n]), width(x[d])))

    return Coordinates(4, to_params, WHY.replace("to the smallest N and to the smallest D", "both inputs at once"),
                       log_det)
