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


@pytest.fixture(scope="session")
def chinchilla_fit():
    """One real NUTS fit of the bundled Chinchilla runs, shared by tests (2 chains x 500 + 500)."""
    import bayeslaw

    return bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", num_chains=2, num_warmup=500,
                        num_samples=500, seed=1)
