"""Power law with an irreducible floor ("M2"): L = E + A * x^-alpha.

One input, ``x``: choose which column it is with ``fit(..., x="N")`` (or ``"D"``,
``"C"``, or any size column). References: Hestness et al. 2017 (arXiv 1712.00409);
Henighan et al. 2020 (arXiv 2010.14701), eq. 1.1.
"""

import jax.numpy as jnp

from bayeslaw.law import Law, logsumexp

from ._priors import EXPONENT, FLOOR, LOG_TERM


def _log_mean(x, E, a, alpha):
    # L = E + exp(a) * (x / x0)^-alpha, in log space
    return logsumexp(jnp.log(E), a - alpha * x["x"])


def _conventional(p, log_ref):
    return {"A": jnp.exp(p["a"] + p["alpha"] * log_ref["x"])}


power_law = Law(
    name="power_law",
    inputs=("x",),
    log_mean=_log_mean,
    params={"E": FLOOR, "a": LOG_TERM, "alpha": EXPONENT},
    formula="L = E + A * x^-alpha",
    reference="Hestness et al. 2017, arXiv:1712.00409; Henighan et al. 2020, arXiv:2010.14701 eq. 1.1",
    to_conventional=_conventional,
    report=("E", "A", "alpha"),
    description="One size variable x (N, D or C: pick it with x=...).",
)
