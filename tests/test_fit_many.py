"""fit_many: many data sets through one compiled, vectorised NUTS program, each a full Fit."""

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaw

SMALL = dict(num_chains=2, num_warmup=200, num_samples=200)


def ladder(seed: int, n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e10, n)
    return pd.DataFrame({"D": d, "loss": (1.7 + 400 * d ** -0.3) * np.exp(rng.normal(0, 0.02, n))})


def test_fit_many_matches_fit_and_keeps_keys(tmp_path):
    tables = {"a": ladder(0), "b": ladder(1), "c": ladder(2, n=20)}  # two shapes: two groups
    many = bayeslaw.fit_many(tables, "power_law", x="D", seed=0, check=False, **SMALL)
    assert list(many) == ["a", "b", "c"] and all(isinstance(f, bayeslaw.Fit) for f in many.values())
    for key, table in tables.items():
        one = bayeslaw.fit(table, "power_law", x="D", seed=0, check=False, **SMALL)
        f = many[key]
        assert f.spec.data.n_runs == len(table) and f.spec.sampler.chain_method == "vectorized"
        assert f.idata["posterior"].sizes["chain"] == 2 and f.idata["posterior"].sizes["draw"] == 200
        for name in ("E", "alpha"):  # the same posterior, other draws: medians within half a posterior sd
            a, b = one.draws(name), f.draws(name)
            assert abs(np.median(a) - np.median(b)) < 0.5 * np.std(a), (key, name)
    again = bayeslaw.fit_many(list(tables.values()), "power_law", x="D", seed=0, check=False, **SMALL)
    assert isinstance(again, list) and np.array_equal(again[1].draws("alpha"), many["b"].draws("alpha"))
    many["c"].save(tmp_path / "c")
    loaded = bayeslaw.load(tmp_path / "c")
    assert np.array_equal(loaded.draws("alpha"), many["c"].draws("alpha"))
    assert bayeslaw.predict(loaded, D=1e11).table["new_run_median"].iloc[0] > 1.7


def test_each_data_set_starts_where_fit_alone_starts():
    """Per data set, the keys and initial points of fit(seed=...) alone: after one warmup iteration the draws
    agree to rounding (later the vectorised program's other floating-point reassociation lets NUTS's
    trajectories drift apart, so longer runs agree in distribution, as the test above checks)."""
    tables = [ladder(3), ladder(4)]
    kw = dict(x="D", num_chains=2, num_warmup=1, num_samples=2, check=False)
    many = bayeslaw.fit_many(tables, "power_law", seed=11, **kw)
    for table, f in zip(tables, many):
        one = bayeslaw.fit(table, "power_law", seed=11, **kw)
        np.testing.assert_allclose(f.draws("alpha"), one.draws("alpha"), rtol=1e-9)


def test_fit_many_names_the_bad_data_set_before_sampling():
    bad = ladder(0).assign(loss=-1.0)
    with pytest.raises(bayeslaw.DataError, match=r"^data set 'broken': "):
        bayeslaw.fit_many({"fine": ladder(1), "broken": bad}, "power_law", x="D", **SMALL)
    with pytest.raises(ValueError, match="chunk must be a positive"):
        bayeslaw.fit_many([ladder(1)], "power_law", x="D", chunk=0, **SMALL)


def test_fit_many_learning_curves_and_warnings_name_the_curve():
    curves = {f"run{i}": ladder(i, n=14).assign(run="r") for i in range(3)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = bayeslaw.fit_many(curves, "power_law", x="D", run="run", num_chains=1, num_warmup=150,
                                 num_samples=150)
    assert all(f.spec.likelihood == "learning_curve" and f.spec.data.axis == "x" for f in fits.values())
    named = [str(w.message) for w in caught if issubclass(w.category, bayeslaw.DiagnosticWarning)]
    assert named and all(m.split(":")[0] in curves for m in named)  # 1 chain: R-hat not computed, per curve
