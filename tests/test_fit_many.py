"""fit_many: many data sets through one compiled, vectorised NUTS program, each a full Fit."""

import warnings

import numpy as np
import pandas as pd
import pytest

import bayeslaw

SMALL = dict(num_chains=2, num_warmup=300, num_samples=300)


def ladder(seed: int, n: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = np.geomspace(1e8, 1e10, n)
    return pd.DataFrame({"D": d, "loss": (1.7 + 400 * d ** -0.3) * np.exp(rng.normal(0, 0.02, n))})


def test_fit_many_threads_equal_fit_and_keep_keys(tmp_path):
    tables = {"a": ladder(0), "b": ladder(1), "c": ladder(2, n=20)}  # two shapes
    many = bayeslaw.fit_many(tables, "power_law", x="D", seed=0, check=False, method="threads", workers=2, **SMALL)
    assert list(many) == ["a", "b", "c"] and all(isinstance(f, bayeslaw.Fit) for f in many.values())
    for key, table in tables.items():
        one = bayeslaw.fit(table, "power_law", x="D", seed=0, check=False, **SMALL)
        f = many[key]
        assert f.spec.data.n_runs == len(table) and f.idata["posterior"].sizes["draw"] == 300
        assert np.array_equal(f.draws("alpha"), one.draws("alpha"))   # each is fit() alone, exactly
    many["c"].save(tmp_path / "c")
    loaded = bayeslaw.load(tmp_path / "c")
    assert np.array_equal(loaded.draws("alpha"), many["c"].draws("alpha"))
    assert bayeslaw.predict(loaded, D=1e11).table["new_run_median"].iloc[0] > 1.7



@pytest.mark.slow
@pytest.mark.default_curvature
def test_fit_many_under_the_default_equals_fit_with_its_curvature_term():
    """Ladders of >= 20 runs get power_law_orthogonal by default, a two-stage fit: fit_many (threads) runs each data
    set's first stage as fit() does, so each fit equals fit() alone bit for bit, its derived numbers included; a
    smaller ladder in the same call stays plain, as fit() would fit it."""
    tables = {"big": ladder(5, n=24), "small": ladder(6)}
    many = bayeslaw.fit_many(tables, "power_law", x="D", seed=2, check=False, method="threads", workers=2, **SMALL)
    assert many["big"].law.name == "power_law_orthogonal" and many["small"].law.name == "power_law"
    for key, table in tables.items():
        one = bayeslaw.fit(table, "power_law", x="D", seed=2, check=False, **SMALL)
        assert one.law.name == many[key].law.name and one.spec.law_reason == many[key].spec.law_reason
        for var in one.idata["posterior"].data_vars:
            np.testing.assert_array_equal(many[key].idata["posterior"][var].values,
                                          one.idata["posterior"][var].values, err_msg=f"{key} {var}")

@pytest.mark.slow
def test_vectorized_agrees_with_fit_in_distribution_and_repeats_itself():
    tables = {"a": ladder(0), "b": ladder(1), "c": ladder(2, n=20)}  # two shapes: two programs
    vec = bayeslaw.fit_many(tables, "power_law", x="D", seed=0, check=False, method="vectorized", **SMALL)
    for key, table in tables.items():
        one = bayeslaw.fit(table, "power_law", x="D", seed=0, check=False, **SMALL)
        assert vec[key].spec.sampler.chain_method == "vectorized"
        for name in ("E", "alpha"):  # the same posterior, other draws: medians within half a posterior sd
            a, b = one.draws(name), vec[key].draws(name)
            assert abs(np.median(a) - np.median(b)) < 0.5 * np.std(a), (key, name)
    again = bayeslaw.fit_many(list(tables.values()), "power_law", x="D", seed=0, check=False, method="vectorized",
                              **SMALL)
    assert list(again) == [0, 1, 2] and np.array_equal(again[1].draws("alpha"), vec["b"].draws("alpha"))


@pytest.mark.slow
def test_each_data_set_starts_where_fit_alone_starts():
    """Per data set, the keys and initial points of fit(seed=...) alone: after one warmup iteration the draws
    agree to rounding (later the vectorised program's other floating-point reassociation lets NUTS's
    trajectories drift apart, so longer runs agree in distribution, as the test above checks)."""
    tables = [ladder(3), ladder(4)]
    kw = dict(x="D", num_chains=2, num_warmup=1, num_samples=2, check=False)
    many = bayeslaw.fit_many(tables, "power_law", seed=11, method="vectorized", **kw)
    for table, f in zip(tables, many.values()):
        one = bayeslaw.fit(table, "power_law", seed=11, **kw)
        np.testing.assert_allclose(f.draws("alpha"), one.draws("alpha"), rtol=1e-9)


def test_fit_many_names_the_bad_data_set_before_sampling():
    bad = ladder(0).assign(loss=-1.0)
    with pytest.raises(bayeslaw.DataError, match=r"^data set 'broken': "):
        bayeslaw.fit_many({"fine": ladder(1), "broken": bad}, "power_law", x="D", **SMALL)
    with pytest.raises(ValueError, match="chunk must be a positive"):
        bayeslaw.fit_many([ladder(1)], "power_law", x="D", chunk=0, **SMALL)
    with pytest.raises(ValueError, match="method must be one of auto, threads"):
        bayeslaw.fit_many([ladder(1)], "power_law", x="D", method="gpu", **SMALL)


@pytest.mark.slow
def test_fit_many_learning_curves_and_warnings_name_the_curve():
    curves = {f"run{i}": ladder(i, n=14).assign(run="r") for i in range(3)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = bayeslaw.fit_many(curves, "power_law", x="D", run="run", num_chains=1, num_warmup=150,
                                 num_samples=150)
    assert all(f.spec.likelihood == "learning_curve" and f.spec.data.axis == "x" for f in fits.values())
    named = [str(w.message) for w in caught if issubclass(w.category, bayeslaw.DiagnosticWarning)]
    assert named and all(m.split(":")[0] in curves for m in named)  # 1 chain: R-hat not computed, per curve


def test_by_splits_one_table_and_the_collection_keeps_the_contract(tmp_path):
    import arviz_stats as azs

    from strictjson import loads as loads_strict

    table = pd.concat([ladder(i).assign(curve=f"c{i}") for i in range(3)], ignore_index=True)
    table.to_csv(tmp_path / "curves.csv", index=False)
    fits = bayeslaw.fit_many(tmp_path / "curves.csv", "power_law", by="curve", x="D", check=False, **SMALL)
    assert isinstance(fits, bayeslaw.Fits) and list(fits) == ["c0", "c1", "c2"] and fits.by == "curve"
    t = fits.table
    assert t.index.names == ["curve", "param"] and set(t.index.get_level_values("curve")) == {"c0", "c1", "c2"}
    assert {"mean", "r_hat", "n_runs", "converged", "failed_checks"} <= set(t.columns)
    assert (t["n_runs"] == 12).all()
    assert t.loc[("c1", "alpha"), "mean"] == pytest.approx(fits["c1"].summary().loc["alpha", "mean"])
    records = loads_strict(__import__("json").dumps(fits.to_records()))
    assert records[0]["curve"] == "c0" and records[0]["param"] == "E"
    tree = fits.idata
    assert tree["posterior"]["alpha"].dims == ("curve", "chain", "draw") and list(tree["posterior"]["curve"].values) \
        == ["c0", "c1", "c2"]
    assert azs.summary(tree, var_names=["alpha"], round_to="none").shape[0] == 3  # ArviZ reads it, one row a curve
    with pytest.raises(bayeslaw.DataError, match="no column 'family' to split by"):
        bayeslaw.fit_many(tmp_path / "curves.csv", "power_law", by="family", x="D", **SMALL)


def test_cli_fit_by_writes_one_folder_per_group_and_a_summary(tmp_path, capsys):
    import json

    from bayeslaw.cli import main

    table = pd.concat([ladder(i).assign(curve=name) for i, name in enumerate(["a/1", "b 2"])], ignore_index=True)
    table.to_csv(tmp_path / "curves.csv", index=False)
    argv = ["fit", str(tmp_path / "curves.csv"), "--law", "power_law", "--x", "D", "--by", "curve", "--num-chains", "2",
            "--num-warmup", "300", "--num-samples", "300", "--quiet", "--format", "json", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_fits"] == 2 and {r["folder"] for r in doc["fits"]} == {"a_1", "b_2"}
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a_1", "b_2", "summary.csv"]
    assert bayeslaw.load(tmp_path / "o" / "a_1").spec.data.n_runs == 12
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert list(summary.columns[:3]) == ["curve", "param", "folder"] and len(summary) == 2 * 5
    assert main(argv) == 2 and "exists" in capsys.readouterr().err  # no --overwrite: refused, nothing touched
    assert main([*argv, "--overwrite"]) == 0


def test_questions_asked_of_every_fit_at_once():
    """predict / optimal_allocation / compute_for_loss of a Fits: one result per data set, stacked by curve."""
    from bayeslaw.core.collection import Each

    runs = bayeslaw.load_runs(bayeslaw.example_data_path()).frame
    halves = {"small": runs[runs["N"] < runs["N"].median()], "large": runs[runs["N"] >= runs["N"].median()]}
    fits = bayeslaw.fit_many(halves, "chinchilla", num_chains=2, num_warmup=300, num_samples=300, check=False)
    pred = bayeslaw.predict(fits, N=70e9, D=1.4e12, ci_prob=0.9)
    assert isinstance(pred, Each) and list(pred) == ["small", "large"]
    assert pred.table.index.names == ["curve", "target"] and len(pred.table) == 2
    assert pred.table.loc[("large", 0), "mean_median"] == pytest.approx(
        pred["large"].table.loc[0, "mean_median"])
    assert [r["curve"] for r in pred.to_records()] == ["small", "large"]
    assert pred.idata["predictions"]["loss"].dims[0] == "curve"
    opt = bayeslaw.optimal_allocation(fits, 5.76e23)
    assert opt.table.index.names[0] == "curve" and len(opt.table) == 2
    assert len(fits.compute_for_loss(2.0).table) == 2


def test_plans_and_fits_pickle_with_their_laws_by_name():
    """Catalogue laws (closures inside) and observation models are pickled by name, so plans and fits reach
    worker processes and Dask workers; unpickled, they are the very catalogue objects."""
    import pickle

    from bayeslaw.inference.plan import plan_fit

    for law, kw in [("chinchilla", {"curvature": True}), ("power_law", {"x": "N", "likelihood": "learning_curve"})]:
        plan = plan_fit(bayeslaw.example_data_path(), law, **kw)
        back = pickle.loads(pickle.dumps(plan))
        assert back.law is plan.law and back.observation is plan.observation
        assert back.runs.frame.equals(plan.runs.frame)
