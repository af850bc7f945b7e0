"""Chinchilla law: L = E + A / N^alpha + B / D^beta.

Reference: Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models"
(arXiv 2203.15556), eq. 2 / Approach 3; refit by Besiroglu et al. 2024 (arXiv 2404.10102).
Sampled as log L = LSE(log E, a - alpha*log(N/N0), b - beta*log(D/D0)), exactly
Epoch's log-space form with the amplitudes taken at the reference scale; NUTS moves in the
coordinates of the runs' centre and ends (:mod:`models._two_term`), with the same priors.
"""

import jax.numpy as jnp

from bayeslaw.core.law import Example, Law, Param, logsumexp

from ._examples import ladder, log_term
from ._priors import EXPONENT, FLOOR, LOG_TERM
from ._two_term import two_exponents


def _log_mean(x, E, a, alpha, b, beta):
    return logsumexp(jnp.log(E), a - alpha * x["N"], b - beta * x["D"])


_LADDER = ladder()
# Epoch AI's refit of Hoffmann et al.'s runs, rounded: E 1.8, A 480, B 2000, alpha 0.35, beta 0.37
_EXAMPLE = Example(inputs=_LADDER, sigma=0.015, params={
    "E": 1.8, "a": log_term(480.0, 0.35, _LADDER["N"]), "alpha": 0.35,
    "b": log_term(2000.0, 0.37, _LADDER["D"]), "beta": 0.37})


def _conventional(p, log_ref):
    return {
        "A": jnp.exp(p["a"] + p["alpha"] * log_ref["N"]),
        "B": jnp.exp(p["b"] + p["beta"] * log_ref["D"]),
    }


chinchilla = Law(
    name="chinchilla",
    inputs=("N", "D"),
    log_mean=_log_mean,
    params={
        "E": FLOOR,
        "a": Param(LOG_TERM.prior, LOG_TERM.why, "log of A/N0^alpha (parameter term at the reference size)"),
        "alpha": Param(EXPONENT.prior, EXPONENT.why, "parameter-count exponent"),
        "b": Param(LOG_TERM.prior, LOG_TERM.why, "log of B/D0^beta (data term at the reference tokens)"),
        "beta": Param(EXPONENT.prior, EXPONENT.why, "token exponent"),
    },
    formula="L = E + A / N^alpha + B / D^beta",
    reference="Hoffmann et al. 2022, arXiv:2203.15556 eq. 2; Besiroglu et al. 2024, arXiv:2404.10102",
    to_conventional=_conventional,
    report=("E", "A", "B", "alpha", "beta"),
    description="Loss against parameters N and training tokens D.",
    coordinates=two_exponents(),
    example=_EXAMPLE,
)
