"""Laws sampled in other coordinates (``Law.coordinates``): same model, better geometry."""

from __future__ import annotations

import numpy as np
import pandas as pd

import pytest

import bayeslaw
from bayeslaw.core.observation import get_observation_model
from bayeslaw.inference.model import COORDINATES_SITE, prior_refs
from bayeslaw.inference.plan import resolve_priors
from priorcheck import assert_priors_carried_over


@pytest.mark.parametrize("name", ["power_law", "compute"])
def test_coordinates_carry_the_default_prior_over(name):
    """With no data, NUTS in the coordinates must reproduce the parameters' own priors."""
    law = bayeslaw.get_law(name)
    assert law.coordinates is not None
    var = law.inputs[0]
    y0 = 2.3
    dists = {k: p.resolve(prior_refs({"loss": np.log(y0)}))
             for k, p in resolve_priors(law, get_observation_model("student_t"), None).items() if k in law.params}
    x = {var: np.linspace(-2.3, 2.3, 20)}

    assert_priors_carried_over(law, dists, x, [0.8, -0.5, 0.0])


@pytest.mark.slow  # its own sampler program (the Uniform prior's support is part of the key): ~20 s cold
def test_coordinates_respect_a_narrower_prior_support():
    """A prior whose support is narrower than the law's domain (alpha ~ Uniform(0.2, 0.4)) stays inside it."""
    D = np.geomspace(1e8, 1e10, 20)
    rng = np.random.default_rng(1)
    loss = (1.7 + 400 * D ** -0.3) * np.exp(0.02 * rng.standard_normal(20))
    # no warning either (pytest turns warnings into errors): the masked out-of-support prior density is by design
    f = bayeslaw.fit(pd.DataFrame({"D": D, "loss": loss}), "power_law", x="D", priors={"alpha": "Uniform(0.2, 0.4)"},
                     num_warmup=300, num_samples=300, num_chains=2, progress_bar=False, check=False)
    alpha = f.draws("alpha")
    assert alpha.min() >= 0.2 and alpha.max() <= 0.4
    assert COORDINATES_SITE not in f.idata["posterior"].data_vars
    assert "largest run" in f.spec.sampler.coordinates   # the saved fit says how it was sampled


@pytest.mark.slow  # the defaults' 4 chains x (1000 + 1000): its own sampler program
def test_floor_power_law_posterior_keeps_its_lower_tail_without_divergences():
    """Calibration ladder 0 under t3 noise (case_studies/calibration, seed 0).

    In (E, a, alpha) NUTS hit divergences there and cut the lower tail of E: its 5% quantile
    came out at 1.22, where a long run (target_accept 0.99, 4 x 5000 draws) gives 0.92. In the
    coordinates of the law's ends there are no divergences and the tail is there.
    """
    D = np.geomspace(1e8, 1e10, 20)
    rng = np.random.default_rng(0)
    loss = np.exp(np.log(1.7 + 400.0 * D ** -0.3) + 0.02 * rng.standard_t(3, 20))
    f = bayeslaw.fit(pd.DataFrame({"D": D, "loss": loss}), "power_law", x="D", seed=0, progress_bar=False)
    assert int(f.idata["sample_stats"]["diverging"].sum()) == 0
    assert float(f.summary()["r_hat"].max()) <= 1.01
    assert abs(np.quantile(f.draws("E"), 0.05) - 0.92) < 0.2  # cut tail: 1.22; MC spread about 0.05
