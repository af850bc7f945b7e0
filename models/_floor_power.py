"""A power law with an irreducible floor, L = E + A * v^-alpha, for any one size variable v.

Shared by ``power_law`` (generic x) and ``compute`` (training FLOPs C): the same maths with a
different input.
"""

import jax.numpy as jnp

from bayeslaw.law import Law, logsumexp

from ._priors import EXPONENT, FLOOR, LOG_TERM


def floor_power_law(name: str, var: str, *, formula: str, reference: str, description: str) -> Law:
    def _log_mean(x, E, a, alpha):
        # L = E + exp(a) * (v / v0)^-alpha, in log space
        return logsumexp(jnp.log(E), a - alpha * x[var])

    def _conventional(p, log_ref):
        return {"A": jnp.exp(p["a"] + p["alpha"] * log_ref[var])}

    return Law(name=name, inputs=(var,), log_mean=_log_mean, params={"E": FLOOR, "a": LOG_TERM, "alpha": EXPONENT},
               formula=formula, reference=reference, to_conventional=_conventional, report=("E", "A", "alpha"),
               description=description)
