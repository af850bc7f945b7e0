"""Per-row draws of large fits: kept up to a size, else left out of the DataTree and fit.nc and the log
likelihood computed on demand (bayeslaw.inference.pointwise, bayeslaw.inference.refit.ensure_log_likelihood)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayeslaw
from bayeslaw.inference import pointwise
from bayeslaw.inference.refit import log_likelihood

_D = np.geomspace(1e8, 1e10, 20)
# the settings of tests/test_fit.py's small ladder: one compiled sampler program for both
_LADDER = dict(runs=pd.DataFrame({"D": _D, "loss": (1.7 + 400 * _D ** -0.3)
                                  * np.exp(0.02 * np.random.default_rng(1).standard_normal(20))}),
               law="power_law", x="D", num_chains=2, num_warmup=300, num_samples=300, check=False)


@pytest.fixture(scope="module")
def kept():
    return bayeslaw.fit(seed=2, **_LADDER)


def test_the_log_likelihood_on_demand_is_the_stored_one(kept):
    stored = kept.idata["log_likelihood"]["log_loss"].values
    np.testing.assert_allclose(log_likelihood(kept), stored, rtol=1e-9, atol=1e-9)


def test_a_large_fit_keeps_no_per_row_draws_and_scores_on_demand(kept, monkeypatch, tmp_path):
    monkeypatch.setattr(pointwise, "POINTWISE_MAX", 600 * 20 - 1)
    f = bayeslaw.fit(seed=2, **_LADDER)
    assert "log_likelihood" not in f.idata.children and "posterior_predictive" not in f.idata.children
    np.testing.assert_array_equal(f.draws("alpha"), kept.draws("alpha"))
    f.save(tmp_path / "fit")
    loaded = bayeslaw.load(tmp_path / "fit")
    assert "log_likelihood" not in loaded.idata.children
    res = bayeslaw.loo(loaded, refit=False)
    assert res.elpd_loo == pytest.approx(bayeslaw.loo(kept, refit=False).elpd_loo, rel=1e-9)
    assert "log_likelihood" in loaded.idata.children


def test_the_memory_check_counts_per_row_draws_only_where_they_are_kept():
    from bayeslaw.core.spec import SamplerSettings
    from bayeslaw.inference.plan import check_memory

    runs = bayeslaw.load_runs(pd.DataFrame({"D": np.geomspace(1e8, 1e10, 300_000), "loss": 2.0}), inputs=["D"])
    sampler = SamplerSettings(num_warmup=1000, num_samples=1000, num_chains=4, chain_method="parallel",
                              target_accept_prob=0.8, dense_mass=True, seed=0)
    check_memory(runs, sampler, available=2**30)   # 300,000 rows x 4,000 draws: no per-row draws kept
