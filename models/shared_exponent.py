"""Chinchilla law with one exponent for parameters and tokens: L = E + A / N^alpha + B / D^alpha.

Reference: Gadre et al. 2024, "Language models scale reliably with over-training and on
downstream tasks" (arXiv 2403.08540), who take the Chinchilla form with equal exponents and
rewrite it in compute C = 6 N D and the token multiplier M = D / N as
``L(C, M) = E + (a M^eta + b M^-eta) C^-eta`` with ``eta = alpha / 2``, ``a = A 6^eta``,
``b = B 6^eta`` (the algebra is exact; the constants are not reported here).

Sampled as ``log L = LSE(log E, a - alpha*log(N/N0), b - alpha*log(D/D0))`` (the Chinchilla
parameterisation with beta = alpha); NUTS moves in the coordinates of the runs' centre and ends
(:mod:`models._two_term`), with the same priors. With one exponent the compute-optimal allocation at
C = k N D is ``N* = sqrt(C/k) * (A/B)^(1/(2 alpha))``, ``D* = sqrt(C/k) * (B/A)^(1/(2 alpha))``:
the ratio ``D*/N* = (B/A)^(1/alpha)`` does not depend on C, and the loss along the optimum is
``E + 2 sqrt(A B) (C/k)^(-alpha/2)`` (tests/test_new_laws.py checks ``bayeslaw.decide`` against it).
"""

import jax.numpy as jnp

from bayeslaw.core.law import Example, Law, Param, logsumexp

from ._examples import ladder, log_term
from ._priors import EXPONENT, FLOOR, LOG_TERM
from ._two_term import one_exponent


def _log_mean(x, E, a, b, alpha):
    return logsumexp(jnp.log(E), a - alpha * x["N"], b - alpha * x["D"])


_LADDER = ladder()
_EXAMPLE = Example(inputs=_LADDER, sigma=0.015, params={
    "E": 1.8, "a": log_term(480.0, 0.36, _LADDER["N"]), "b": log_term(2000.0, 0.36, _LADDER["D"]), "alpha": 0.36})


def _conventional(p, log_ref):
    return {
        "A": jnp.exp(p["a"] + p["alpha"] * log_ref["N"]),
        "B": jnp.exp(p["b"] + p["alpha"] * log_ref["D"]),
    }


shared_exponent = Law(
    name="shared_exponent",
    inputs=("N", "D"),
    log_mean=_log_mean,
    params={
        "E": FLOOR,
        "a": Param(LOG_TERM.prior, LOG_TERM.why, "log of A/N0^alpha (parameter term at the reference size)"),
        "b": Param(LOG_TERM.prior, LOG_TERM.why, "log of B/D0^alpha (data term at the reference tokens)"),
        "alpha": Param(EXPONENT.prior, EXPONENT.why, "the one exponent of both N and D"),
    },
    formula="L = E + A / N^alpha + B / D^alpha",
    reference="Gadre et al. 2024, arXiv:2403.08540 (Chinchilla form with one exponent)",
    to_conventional=_conventional,
    report=("E", "A", "B", "alpha"),
    description="Loss against parameters N and tokens D with one exponent; tokens per parameter at the "
                "compute optimum are constant, (B/A)^(1/alpha).",
    coordinates=one_exponent(),
    example=_EXAMPLE,
)
