"""The tracing lock (sampler.TRACE_LOCK) is held while NumPyro models are traced, not over a fit's pure-JAX, NumPy,
xarray and ArviZ work, and fit_many's threads that trace at the same time still give fit()'s draws exactly."""

import threading

import numpy as np
import pandas as pd
import pytest

import bayeslaw
import bayeslaw.inference.datatree as datatree
import bayeslaw.inference.fit as fit_module
import bayeslaw.inference.model as model
from bayeslaw.inference import sampler

SMALL = dict(num_chains=2, num_warmup=300, num_samples=300, check=False)


def ladder(seed: int, n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e10, n)
    return pd.DataFrame({"D": d, "loss": (1.7 + 400 * d ** -0.3) * np.exp(rng.normal(0, 0.02, n))})


def lock_is_free() -> bool:
    """Whether another thread could take TRACE_LOCK now."""
    got = []

    def probe():
        ok = sampler.TRACE_LOCK.acquire(blocking=False)
        got.append(ok)
        if ok:
            sampler.TRACE_LOCK.release()

    t = threading.Thread(target=probe)
    t.start()
    t.join()
    return got[0]


def test_only_model_tracing_holds_the_lock(monkeypatch):
    seen: dict[str, list[bool]] = {}
    for name in ("prepare", "fit_draws", "build_datatree", "check_diagnostics"):
        original = getattr(fit_module, name)

        def wrapped(*args, _name=name, _original=original, **kwargs):
            seen.setdefault(_name, []).append(lock_is_free())
            return _original(*args, **kwargs)

        monkeypatch.setattr(fit_module, name, wrapped)
    started = []
    original_run = sampler._Once.__call__

    def run(self, *args):   # the sampler's compiled program, after its first (tracing) call
        started.append((self.ready, lock_is_free()))
        return original_run(self, *args)

    monkeypatch.setattr(sampler._Once, "__call__", run)
    for seed in (0, 1):
        bayeslaw.fit(ladder(0), "power_law", x="D", seed=seed, **SMALL)
    assert seen == {name: [True, True] for name in ("prepare", "fit_draws", "build_datatree", "check_diagnostics")}
    assert started and all(free for _, free in started)   # nothing above holds it while the programs are called
    assert any(ready for ready, _ in started)   # the second fit's programs were ready: they ran without the lock


def test_threads_that_trace_together_give_fits_draws():
    """With every cached program forgotten, fit_many's threads trace the start, the sampler, the draws and the
    predictive of two data-set shapes at the same time; each fit still equals fit() alone, bit for bit."""
    tables = {"a": ladder(0), "b": ladder(1, n=20), "c": ladder(2), "d": ladder(3, n=20)}
    caches = (model._MODELS, model._LOGLIK, model._DRAWS, datatree._EVALUATE)
    saved = [dict(c) for c in caches]
    try:
        for c in caches:
            c.clear()
        sampler.clear_cache()
        many = bayeslaw.fit_many(tables, "m3", x="D", seed=5, method="threads", workers=4, **SMALL)
    finally:   # the other tests' compiled programs back (sampler's are made again on demand)
        for c, s in zip(caches, saved):
            c.clear()
            c.update(s)
    for key, table in tables.items():
        one = bayeslaw.fit(table, "m3", x="D", seed=5, **SMALL)
        for group in ("posterior", "prior", "log_likelihood", "posterior_predictive", "sample_stats"):
            for var in one.idata[group].data_vars:
                np.testing.assert_array_equal(many[key].idata[group][var].values, one.idata[group][var].values,
                                              err_msg=f"{key} {group} {var}")


def test_remember_makes_one_entry_per_key_across_threads():
    cache: dict = {}
    made = []
    barrier = threading.Barrier(8)

    def ask():
        barrier.wait()
        return sampler.remember(cache, ("k",), lambda: made.append(1) or object())

    out = []
    threads = [threading.Thread(target=lambda: out.append(ask())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len({id(o) for o in out}) == 1
    for i in range(sampler._CACHE_SIZE + 3):   # bounded: the oldest are evicted
        sampler.remember(cache, (i,), object)
    assert len(cache) == sampler._CACHE_SIZE and (0,) not in cache


@pytest.mark.parametrize("first_ready", [False, True])
def test_once_runs_a_ready_program_without_the_lock(first_ready):
    calls = []
    once = sampler._Once(lambda x: calls.append(lock_is_free()) or x + 1)
    once.ready = first_ready
    assert once(1) == 2 and once(2) == 3
    assert calls == [first_ready, True] and once.ready
