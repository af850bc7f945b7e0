"""Coordinates of the runs' ends for laws of a floor and two power-law terms, L = E + A/N^alpha + B/D^beta.

Shared by ``chinchilla``, ``shared_exponent`` and ``data_constrained`` (and the helpers by ``kaplan``): NUTS
moves in numbers the runs pin down, the loss at the ladder's corner (its largest N and largest D), the floor's
share of it, the split of the rest between the two terms, and the rise of the loss along each input across the
runs. The map to the parameters (E, a, alpha, b, beta) is closed-form and a bijection from R^5 (R^4 with one
exponent) onto their support (E > 0, a and b real, exponents > 0): each coordinate is solved for in turn, and
every step is strictly monotone. Its log-Jacobian is in closed form too (``log_det``); the priors are carried
over by it, so the model is the same. In (E, a, alpha, b, beta) the floor trades off against the exponents
and amplitudes along curved ridges: 80-89% of chinchilla's 25-48-run ladders ended with a sampler warning
(case_studies/sampler_health).
"""

import jax
import jax.numpy as jnp

from bayeslaw.core.law import Coordinates

WHY = ("the loss at the ladder's corner (largest N and D), E's share of it, the split of the rest between the two "
       "terms, and the rise of the loss across the runs along each input, which the runs pin down; in the "
       "parameters the floor trades off against exponents and amplitudes along curved ridges (a sampler warning "
       "on 80-89% of chinchilla's 25-48-run ladders, case_studies/sampler_health)")


def log_expm1(d):
    """log(exp(d) - 1) for d > 0, without overflow for large d or loss of digits for small d."""
    return d + jnp.log(-jnp.expm1(-d))


def span(x):
    """(highest, highest - lowest) of a centred log input over the runs."""
    hi = jnp.max(x)
    return hi, jnp.maximum(hi - jnp.min(x), 1e-6)


def corner(z):
    """log E, log A, log B at the corner from z[0:3] = (log L there, logit of E's share, logit of A's share of the
    rest), and log(1 - E's share). The map (log E, log A, log B) -> z[0:3] has Jacobian determinant 1."""
    log_1mu, log_v, log_1mv = jax.nn.log_sigmoid(-z[1]), jax.nn.log_sigmoid(z[2]), jax.nn.log_sigmoid(-z[2])
    return z[0] + jax.nn.log_sigmoid(z[1]), z[0] + log_1mu + log_v, z[0] + log_1mu + log_1mv, log_1mu


def exponent(log_d, log_share, width):
    """The exponent of a part whose share of the corner's loss is exp(log_share), when the loss rises e^d-fold
    (d = exp(log_d)) over ``width`` log units of its input: the part grows (1 + (e^d - 1) / share)-fold."""
    return (jnp.logaddexp(log_expm1(jnp.exp(log_d)), log_share) - log_share) / width


def log_dexponent(log_d, log_share, width):
    """log of d exponent / d log_d (> 0: the exponent rises with the drop)."""
    d = jnp.exp(log_d)
    return log_d + jax.nn.log_sigmoid(log_expm1(d) - log_share) - jnp.log(-jnp.expm1(-d)) - jnp.log(width)


def two_exponents(n: str = "N", d: str = "D", positive: tuple[str, ...] = ()) -> Coordinates:
    """z = (log L at the corner, logit E share, logit A share of the rest, log rise along n, log rise along d) ->
    E, a, alpha, b, beta of ``LSE(log E, a - alpha x[n], b - beta x[d])``; then the log of each parameter named
    in ``positive`` (a law's further parameters, > 0)."""

    def to_params(z, x):
        (hi_n, w_n), (hi_d, w_d) = span(x[n]), span(x[d])
        log_e, log_a, log_b, _ = corner(z)
        alpha = exponent(z[3], log_a - z[0], w_n)
        beta = exponent(z[4], log_b - z[0], w_d)
        return {"E": jnp.exp(log_e), "a": log_a + alpha * hi_n, "alpha": alpha, "b": log_b + beta * hi_d,
                "beta": beta, **{name: jnp.exp(z[5 + i]) for i, name in enumerate(positive)}}

    def log_det(z, x):
        # block triangular: (log E, log A, log B) from z[0:3] (det 1), each exponent from its own rise, the
        # amplitudes a, b sheared by the exponents (det 1), E = exp(log E), the positive ones exp(z)
        (_, w_n), (_, w_d) = span(x[n]), span(x[d])
        log_e, log_a, log_b, _ = corner(z)
        return (log_e + log_dexponent(z[3], log_a - z[0], w_n) + log_dexponent(z[4], log_b - z[0], w_d)
                + jnp.sum(z[5:]))

    return Coordinates(5 + len(positive), to_params, WHY, log_det)


def one_exponent(n: str = "N", d: str = "D") -> Coordinates:
    """z = (log L at the corner, logit E share, logit A share of the rest, log rise from the corner down both inputs
    by the narrower span) -> E, a, b, alpha of ``LSE(log E, a - alpha x[n], b - alpha x[d])``: moving both inputs
    down by w multiplies the whole reducible part by e^(alpha w)."""

    def to_params(z, x):
        (hi_n, w_n), (hi_d, w_d) = span(x[n]), span(x[d])
        log_e, log_a, log_b, log_1mu = corner(z)
        alpha = exponent(z[3], log_1mu, jnp.minimum(w_n, w_d))
        return {"E": jnp.exp(log_e), "a": log_a + alpha * hi_n, "b": log_b + alpha * hi_d, "alpha": alpha}

    def log_det(z, x):
        (_, w_n), (_, w_d) = span(x[n]), span(x[d])
        log_e, _, _, log_1mu = corner(z)
        return log_e + log_dexponent(z[3], log_1mu, jnp.minimum(w_n, w_d))

    return Coordinates(4, to_params, WHY.replace("along each input", "down both inputs"), log_det)
