"""A check shared by the coordinate tests: with no data, NUTS in a law's coordinates must draw the
parameters' own priors (the model is unchanged, only the sampler's geometry)."""

from __future__ import annotations

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS

from bayeslaw.inference.model import COORDINATES_SITE, _sample_params


def assert_priors_carried_over(law, dists: dict, x: dict, init) -> None:
    """NUTS on the prior alone in ``law``'s coordinates (started at ``init``) against direct draws: the
    10/50/90% quantiles of each parameter within 8% of its prior's 10-90% spread."""
    def prior_only():
        _sample_params(tuple(law.params), dists, law.coordinates, x)

    with jax.enable_x64(True):
        mcmc = MCMC(NUTS(prior_only, dense_mass=True), num_warmup=1000, num_samples=8000, progress_bar=False)
        mcmc.run(jax.random.PRNGKey(0), init_params={COORDINATES_SITE: np.asarray(init, dtype=float)})
        got = {k: np.asarray(v) for k, v in mcmc.get_samples().items()}
        ref = {k: np.asarray(d.sample(jax.random.PRNGKey(1), (200_000,))) for k, d in dists.items()}
    for k in law.params:
        q_got, q_ref = np.quantile(got[k], [0.1, 0.5, 0.9]), np.quantile(ref[k], [0.1, 0.5, 0.9])
        spread = q_ref[2] - q_ref[0]
        assert np.all(np.abs(q_got - q_ref) < 0.08 * spread), (k, q_got, q_ref)
