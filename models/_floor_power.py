"""A power law with an irreducible floor, L = E + A * v^-alpha, for any one size variable v.

Shared by ``power_law`` (generic x) and ``compute`` (training FLOPs C): the same maths with a
different input.
"""

import jax
import jax.numpy as jnp

from bayeslaw.core.law import Coordinates, Example, Law, logsumexp

from ._priors import EXPONENT, FLOOR, LOG_TERM


def floor_power_law(name: str, var: str, *, formula: str, reference: str, description: str,
                    example: Example | None = None) -> Law:
    def _log_mean(x, E, a, alpha):
        # L = E + exp(a) * (v / v0)^-alpha, in log space
        return logsumexp(jnp.log(E), a - alpha * x[var])

    def _conventional(p, log_ref):
        return {"A": jnp.exp(p["a"] + p["alpha"] * log_ref[var])}

    def _from_ends(z, x):
        # z = (log L at the largest run, log of the log-drop d across the runs, logit of E / L there)
        lo, hi = jnp.min(x[var]), jnp.max(x[var])
        log_u, log_1mu = jax.nn.log_sigmoid(z[2]), jax.nn.log_sigmoid(-z[2])
        # L(lo) / L(hi) = e^d, so A-term(lo) / A-term(hi) = (e^d - u) / (1 - u) = e^(alpha (hi - lo))
        alpha = (jnp.logaddexp(jnp.log(jnp.expm1(jnp.exp(z[1]))), log_1mu) - log_1mu) / jnp.maximum(hi - lo, 1e-6)
        return {"E": jnp.exp(z[0] + log_u), "a": z[0] + log_1mu + alpha * hi, "alpha": alpha}

    ends = Coordinates(3, _from_ends, "the loss at the largest run, the drop across the runs and E as a share of "
                                      "that last loss, which the runs pin down; in (E, a, alpha) the floor and the "
                                      "exponent trade off along a curved ridge (divergences and a cut lower tail of "
                                      "E in most 20-run fits)")
    return Law(name=name, inputs=(var,), log_mean=_log_mean, params={"E": FLOOR, "a": LOG_TERM, "alpha": EXPONENT},
               formula=formula, reference=reference, to_conventional=_conventional, report=("E", "A", "alpha"),
               description=description, coordinates=ends, example=example)
