"""Test configuration: CPU only, float64, 4 host devices, persistent JAX compile cache.

This is an entry point, so it (not the library) sets JAX's global state.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
import numpyro  # noqa: E402

numpyro.set_host_device_count(4)
import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
_CACHE = Path(os.environ.get("BAYESLAW_TEST_CACHE") or Path(__file__).resolve().parent.parent / ".jax_cache")
jax.config.update("jax_compilation_cache_dir", str(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="run tests marked slow (full case studies, calibration, benchmarks)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data sets not found at {SHARED_DATA} (they sit beside the repository)")
    return SHARED_DATA


@pytest.fixture
def fake_nuts(monkeypatch, power_law_fit):
    """NUTS replaced by (a copy of) the session's small power-law fit; the CLI's JAX set-up skipped. Returns the
    plans it was given."""
    import copy

    import bayeslaw.inference.fit
    from bayeslaw.cli import common

    calls = []

    def fake(plan, **kwargs):
        calls.append(plan)
        return copy.copy(power_law_fit)

    monkeypatch.setattr(bayeslaw.inference.fit, "fit", fake)
    monkeypatch.setattr(common, "setup_jax", lambda n: None)
    return calls


@pytest.fixture(scope="session")
def power_law_fit():
    """A one-variable fit (loss against N) of every 8th bundled run (31), shared by the figure and report tests.

    2 chains x (300 + 300): the settings of the other small fits, so it shares their compiled program (31
    runs are padded to 32); check=False: a short fit may not pass the library's checks.
    """
    import bayeslaw

    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    return bayeslaw.fit(runs.subset(runs.frame.index[::8]), "power_law", x="N", num_chains=2, num_warmup=300,
                        num_samples=300, seed=3, check=False)


@pytest.fixture(scope="session")
def chinchilla_fit():
    """One real NUTS fit of the bundled Chinchilla runs, shared by tests (2 chains x 500 + 500)."""
    import bayeslaw

    return bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", num_chains=2, num_warmup=500,
                        num_samples=500, seed=1)


def check_result_contract(result, *, draws: str | None = None) -> None:
    """What every bayeslaw result shares: ``.table`` with a named index, ``.to_records()`` in strict JSON
    (no NaN or Infinity), ``ci_prob`` recorded where there are intervals, ``.idata``/``.draws`` where there
    are draws."""
    import json

    import pandas as pd

    table = result.table
    assert isinstance(table, pd.DataFrame) and table.index.name, type(result).__name__
    records = result.to_records()
    assert isinstance(records, list) and records and all(isinstance(r, dict) for r in records)
    json.loads(json.dumps(records, allow_nan=False))
    if any(str(c).endswith(("_lower", "_upper")) or c in ("lower", "upper") for c in table.columns):
        ci = getattr(result, "ci_prob", None) or table.attrs.get("ci_prob")
        assert 0 < ci < 1 and all(r.get("ci_prob") == ci for r in records), type(result).__name__
    if draws is not None:
        import xarray as xr

        assert isinstance(result.idata, xr.DataTree)
        assert result.draws(draws).ndim >= 1
