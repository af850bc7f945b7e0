"""Loss against training compute with a floor: L = E + A * C^-alpha.

Reference: Kaplan et al. 2020 (arXiv 2001.08361) eq. 1.3 (without the floor);
Henighan et al. 2020 (arXiv 2010.14701) eq. 1.1 (with it).
"""

import jax.numpy as jnp

from bayeslaw.law import Law, logsumexp

from ._priors import EXPONENT, FLOOR, LOG_TERM


def _log_mean(x, E, a, alpha):
    return logsumexp(jnp.log(E), a - alpha * x["C"])


def _conventional(p, log_ref):
    return {"A": jnp.exp(p["a"] + p["alpha"] * log_ref["C"])}


compute = Law(
    name="compute",
    inputs=("C",),
    log_mean=_log_mean,
    params={"E": FLOOR, "a": LOG_TERM, "alpha": EXPONENT},
    formula="L = E + A * C^-alpha",
    reference="Kaplan et al. 2020, arXiv:2001.08361 eq. 1.3; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    to_conventional=_conventional,
    report=("E", "A", "alpha"),
    description="Loss against training FLOPs C (C = 6 N D if only N and D are given).",
)
