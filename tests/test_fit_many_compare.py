"""Comparisons, backtests and stacks of fit_many's collections: curve by curve, keyed like the curves."""

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaw
from bayeslaw.core.collection import Each, for_each, per_key

SMALL = dict(num_chains=2, num_warmup=300, num_samples=300, seed=0, check=False)


def ladder(seed: int, n: int = 14) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e10, n)
    return pd.DataFrame({"D": d, "loss": (1.7 + 400 * d ** -0.3) * np.exp(rng.normal(0, 0.02, n))})


@pytest.fixture(scope="module")
def two_laws():
    """power_law and m3 fitted to the same two curves (one table split by its curve column)."""
    table = pd.concat([ladder(i).assign(curve=f"c{i}") for i in range(2)], ignore_index=True)
    return {law: bayeslaw.fit_many(table, law, by="curve", x="D", method="loop", **SMALL)
            for law in ("power_law", "m3")}


def test_compare_of_collections_is_each_curves_comparison(two_laws):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        per_curve = bayeslaw.compare(two_laws, failed="include")
        alone = bayeslaw.compare({law: fits["c1"] for law, fits in two_laws.items()}, failed="include")
    assert isinstance(per_curve, Each) and list(per_curve) == ["c0", "c1"]
    assert all(isinstance(c, bayeslaw.Comparison) for c in per_curve.values())
    assert set(per_curve["c1"].table.index) == {"power_law", "m3"}
    pd.testing.assert_frame_equal(per_curve["c1"].table, alone.table)   # the same fits, the same numbers
    table = per_curve.table
    assert table.index.names == ["curve", "model"] and len(table) == 4
    assert table.loc[("c1", "m3"), "elpd_loo"] == pytest.approx(alone.table.loc["m3", "elpd_loo"])
    records = per_curve.to_records()
    assert [r["curve"] for r in records] == ["c0", "c0", "c1", "c1"] and {r["model"] for r in records} == \
        {"power_law", "m3"}
    with pytest.raises(bayeslaw.BayeslawError, match="hold no DataTree"):
        per_curve.idata
    stacks = bayeslaw.stack(per_curve)   # stacked with each curve's own comparison
    assert list(stacks) == ["c0", "c1"] and all(isinstance(s, bayeslaw.Stack) for s in stacks.values())
    assert dict(stacks["c1"].weights) == pytest.approx(dict(alone.weights))
    half = bayeslaw.stack(two_laws, weights={"power_law": 0.5, "m3": 0.5})
    assert half.table.index.names == ["curve", "model"] and (half.table["weight"] == 0.5).all()


def test_backtest_of_collections_is_each_curves_backtest(two_laws):
    fits = two_laws["power_law"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bayeslaw.DiagnosticWarning)
        one_law = bayeslaw.backtest_fits(fits, holdout_top=0.25)
        both = bayeslaw.backtest_fits(two_laws, holdout_top=0.25)
        alone = bayeslaw.backtest_fits({"power_law": fits["c0"]}, holdout_top=0.25)
    assert isinstance(one_law, Each) and list(one_law) == ["c0", "c1"]
    assert all(isinstance(b, bayeslaw.Backtest) for b in one_law.values())
    assert list(one_law["c0"].table.index) == ["power_law"]   # one collection: its law names the model
    pd.testing.assert_frame_equal(one_law["c0"].table, alone.table)
    assert one_law["c0"].by == "D" and len(one_law["c0"].test_runs) == 4 and len(one_law["c0"].train_runs) == 10
    assert both.table.index.names == ["curve", "model"] and len(both.table) == 4
    assert set(both["c1"].table.index) == {"power_law", "m3"}
    assert both.table.loc[("c0", "power_law"), "elpd_test"] == pytest.approx(alone.table.loc["power_law",
                                                                                             "elpd_test"])
    assert {r["curve"] for r in both.to_records()} == {"c0", "c1"}


def test_collections_that_do_not_pair_are_refused_in_one_sentence(two_laws):
    a, b = two_laws["power_law"], two_laws["m3"]
    renamed = bayeslaw.Fits({"c0": b["c0"], "c9": b["c1"]}, by="curve")
    for ask in (bayeslaw.compare, bayeslaw.backtest_fits, bayeslaw.stack):
        with pytest.raises(bayeslaw.DataError, match=r"different curves \('m3' lacks 'c1'; 'm3' has 'c9', which "
                                                     r"'power_law' lacks\); fit every model") as exc:
            ask({"power_law": a, "m3": renamed})
        assert str(exc.value).count(". ") == 0 and str(exc.value).endswith(".")
        with pytest.raises(bayeslaw.DataError, match="not both; pass a collection for m3 too"):
            ask({"power_law": a, "m3": b["c0"]})
    with pytest.raises(bayeslaw.BayeslawError, match=r"fits of different data sets; pass one collection per model"):
        bayeslaw.compare(a)
    with pytest.raises(bayeslaw.BayeslawError, match=r"fits of different data sets; pass one collection per model"):
        bayeslaw.stack(a)
    with pytest.raises(bayeslaw.BayeslawError, match="keyed by other curves"):
        bayeslaw.stack(two_laws, weights=Each({"c0": None}))


def test_for_each_names_the_key_in_warnings_and_refusals():
    def ask(item):
        warnings.warn(f"checked {item}", bayeslaw.DiagnosticWarning)
        if item == "bad":
            raise bayeslaw.LawError("too few runs; give more.")
        return item.upper()

    with pytest.warns(bayeslaw.DiagnosticWarning) as caught:
        out = for_each({"a": "x", "b": "y"}, ask)
    assert dict(out) == {"a": "X", "b": "Y"} and out.name == "curve"
    assert [str(w.message) for w in caught] == ["a: checked x", "b: checked y"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(bayeslaw.LawError, match=r"^curve 'b': too few runs; give more\.$"):
            for_each({"a": "x", "b": "bad"}, ask)
    assert per_key({"a": 1, "b": 2}, "f()") is None
    assert per_key({"m": Each({"k": 1, "j": 2}), "n": Each({"j": 3, "k": 4})}, "f()") == \
        {"k": {"m": 1, "n": 4}, "j": {"m": 2, "n": 3}}
