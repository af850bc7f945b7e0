"""The Fit result: its DataTree works with ArviZ as is, its summary, save/load (atomic, no
pickle, clear errors), diagnostics warnings, and prior overrides recorded in the spec.

Most tests share the session fixture ``chinchilla_fit`` (bundled Chinchilla runs, 2 x 500).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import re
import warnings

import arviz_plots as azp
import arviz_stats as azs
import matplotlib
import numpy as np
import numpyro.distributions as dist
import pandas as pd
import pytest
import xarray as xr

import arviz_base
import bayeslaw
from bayeslaw import DiagnosticWarning, FitFileError, LawError, Param, Prior, PriorError
from bayeslaw.core import catalogue

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GROUPS = ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data")
REPORTED = ["E", "A", "B", "alpha", "beta", "sigma", "nu"]
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


# -- the DataTree ---------------------------------------------------------------------------------


def test_datatree_groups_and_variables(chinchilla_fit):
    tree = chinchilla_fit.idata
    assert isinstance(tree, xr.DataTree)
    assert set(GROUPS) <= set(tree.children)
    post = tree["posterior"]
    for name in REPORTED:
        assert post[name].dims == ("chain", "draw"), name
        assert np.isfinite(post[name].values).all(), name
    assert post.sizes["chain"] == 2 and post.sizes["draw"] == 500
    n = len(bayeslaw.load_runs(bayeslaw.example_data_path()))
    assert tree["log_likelihood"]["log_loss"].dims == ("chain", "draw", "run")
    assert tree["log_likelihood"]["log_loss"].shape == (2, 500, n)
    assert tree["observed_data"]["log_loss"].dims == ("run",)
    assert {"N", "D"} <= set(tree["constant_data"].data_vars)
    assert {"diverging", "energy", "lp", "acceptance_rate", "step_size", "tree_depth"} <= set(
        tree["sample_stats"].data_vars)
    # the conventional constants are consistent with the sampled log amplitudes
    log_ref = chinchilla_fit.log_ref
    np.testing.assert_allclose(post["A"].values, np.exp(post["a"].values + post["alpha"].values * log_ref["N"]),
                               rtol=1e-12)


def test_arviz_stats_accepts_the_datatree(chinchilla_fit):
    tree = chinchilla_fit.idata
    loo = azs.loo(tree)
    assert math.isfinite(loo.elpd) and loo.n_data_points == tree["observed_data"].sizes["run"]
    table = azs.summary(tree, var_names=REPORTED)
    assert list(table.index) == REPORTED
    ess = azs.ess(tree, var_names=REPORTED)
    rhat = azs.rhat(tree, var_names=REPORTED)
    for name in REPORTED:
        assert float(ess[name]) > 100 and float(rhat[name]) < 1.05, name


@pytest.mark.parametrize("plot", ["plot_trace_dist", "plot_rank"])
def test_arviz_plots_accepts_the_datatree(chinchilla_fit, plot):
    try:
        pc = getattr(azp, plot)(chinchilla_fit.idata, var_names=["E", "alpha", "beta"], backend="matplotlib")
        assert isinstance(pc, azp.PlotCollection)
        assert len(plt.get_fignums()) >= 1
    finally:
        plt.close("all")


def test_summary_table(chinchilla_fit):
    table = chinchilla_fit.summary(0.9)
    assert list(table.columns) == ["mean", "sd", "lower", "upper", "r_hat", "ess_bulk", "ess_tail"]
    assert list(table.index) == REPORTED and table.index.name == "param"
    assert table.attrs == {"ci_prob": 0.9, "ci_kind": "hdi", "observation_model":
                           "student_t (the default for a ladder of separate runs: no run column was given)",
                           "law": "chinchilla"}  # the plain law: no curvature term (curvature=False, the default)
    hdi = azs.hdi(chinchilla_fit.idata, var_names=["alpha"], prob=0.9)["alpha"].values
    assert [table.loc["alpha", "lower"], table.loc["alpha", "upper"]] == pytest.approx(list(hdi), rel=1e-12)
    for name in REPORTED:
        row = table.loc[name]
        assert row["mean"] == pytest.approx(float(chinchilla_fit.idata["posterior"][name].mean()), rel=1e-9)
        assert row["lower"] < row["mean"] < row["upper"]
        assert row["sd"] > 0
    # the default interval is ArviZ's rcParams["stats.ci_prob"], and .table is that summary
    with arviz_base.rc_context({"stats.ci_prob": 0.5}):
        assert chinchilla_fit.summary().attrs["ci_prob"] == 0.5
        assert chinchilla_fit.table.equals(chinchilla_fit.summary(0.5))
        recs = chinchilla_fit.to_records()
    assert [r["param"] for r in recs] == REPORTED and all(r["ci_prob"] == 0.5 for r in recs)
    with pytest.raises(bayeslaw.BayeslawError, match="ci_prob must be a probability"):
        chinchilla_fit.summary(90)
    assert "chinchilla" in repr(chinchilla_fit) and "converged" in repr(chinchilla_fit)


# -- save / load ----------------------------------------------------------------------------------


@pytest.fixture()
def saved(chinchilla_fit, tmp_path):
    path = tmp_path / "fit"
    chinchilla_fit.save(path)
    return path


def test_save_load_round_trip(chinchilla_fit, saved):
    loaded = bayeslaw.load(saved)
    assert set(loaded.idata.children) == set(chinchilla_fit.idata.children)
    for group in chinchilla_fit.idata.children:
        a = chinchilla_fit.idata[group].to_dataset()
        b = loaded.idata[group].to_dataset()
        assert set(a.data_vars) == set(b.data_vars), group
        for v in a.data_vars:
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=f"{group}/{v}")
            assert a[v].dims == b[v].dims
    assert loaded.law is bayeslaw.get_law("chinchilla")
    assert loaded.spec == chinchilla_fit.spec  # save() recorded the versions in the fit's spec too
    assert isinstance(loaded.spec, bayeslaw.FitSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.spec.likelihood = "normal"
    spec = json.loads((saved / "spec.json").read_text())
    assert set(spec.pop("checksum")) == {"algorithm", "fit.nc", "spec.json"}   # verified by load()
    assert spec == json.loads(json.dumps(loaded.spec.to_dict()))
    law = bayeslaw.get_law("chinchilla")
    assert spec["law"]["name"] == "chinchilla" and spec["law"]["version"] == law.version
    assert spec["law"]["hash"] == law.hash
    assert spec["priors"]["alpha"] == {"dist": "Gamma", "concentration": 2.0, "rate": 5.0}
    assert spec["priors"]["E"] == {"dist": "HalfNormal", "scale": "y0"}
    assert set(spec["priors"]) == {"E", "a", "alpha", "b", "beta", "sigma", "nu"}
    assert spec["likelihood"] == "student_t"
    runs = bayeslaw.load_runs(bayeslaw.example_data_path())
    assert spec["data"]["columns"] == dict(runs.columns)
    assert spec["data"]["derived"] == dict(runs.derived)
    assert spec["data"]["flops_per_param_token"] == 6.0
    assert spec["data"]["hash"] == runs.data_hash()
    assert spec["data"]["design"] == {"N": "N", "D": "D"}
    assert spec["reference_scales"]["prior_symbols"]["y0"] == pytest.approx(
        math.exp(spec["reference_scales"]["log"]["loss"]))
    assert spec["sampler"]["seed"] == 0 and spec["sampler"]["num_samples"] == 500
    assert spec["format"] == "bayeslaw-fit" and spec["format_version"] == 1
    for pkg in ("python", "bayeslaw", "numpyro", "jax", "arviz-base", "arviz-stats", "xarray"):
        assert spec["versions"][pkg], pkg
    assert spec["diagnostics"] == []
    # a loaded fit summarises like the original
    assert loaded.summary().equals(chinchilla_fit.summary())
    assert loaded.log_ref == chinchilla_fit.log_ref


def test_saved_files_are_netcdf_and_json_without_pickle(chinchilla_fit, tmp_path, monkeypatch):
    def no_pickle(*args, **kwargs):
        raise AssertionError("pickle was used")

    for fn in ("dump", "dumps", "load", "loads"):
        monkeypatch.setattr(pickle, fn, no_pickle)
    path = chinchilla_fit.save(tmp_path / "fit")
    assert sorted(p.name for p in path.iterdir()) == ["fit.nc", "spec.json"]
    assert (path / "fit.nc").read_bytes()[:8] == HDF5_MAGIC
    spec = json.loads((path / "spec.json").read_text(encoding="utf-8"))
    assert spec["format"] == "bayeslaw-fit"
    loaded = bayeslaw.load(path)
    assert loaded.idata["posterior"]["E"].dtype == np.float64
    # NetCDF holds numbers and strings only (an object array would need pickle to mean anything)
    for group in loaded.idata.children:
        for v in loaded.idata[group].data_vars.values():
            assert v.dtype.kind in "fiub", (group, v.name, v.dtype)
    # the spec travels inside the NetCDF too, as JSON text
    assert json.loads(loaded.idata.attrs["bayeslaw_spec"])["law"]["name"] == "chinchilla"


def test_saved_dir_has_normal_permissions(saved):
    umask = os.umask(0)
    os.umask(umask)
    assert saved.stat().st_mode & 0o777 == 0o777 & ~umask


def test_save_refuses_existing_and_overwrites_atomically(chinchilla_fit, saved):
    parent = saved.parent
    with pytest.raises(FitFileError, match="already exists; choose another output folder, or pass overwrite=True"):
        chinchilla_fit.save(saved)
    (saved / "marker.txt").write_text("from the old save")
    assert chinchilla_fit.save(saved, overwrite=True) == saved
    assert sorted(p.name for p in saved.iterdir()) == ["fit.nc", "spec.json"]
    assert sorted(p.name for p in parent.iterdir()) == ["fit"], "temporary directories left behind"
    np.testing.assert_array_equal(bayeslaw.load(saved).draws("alpha"), chinchilla_fit.draws("alpha"))


def test_save_refuses_to_replace_a_directory_that_is_not_a_fit(chinchilla_fit, tmp_path):
    other = tmp_path / "results"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(FitFileError, match="not a saved fit, so it will not be replaced"):
        chinchilla_fit.save(other, overwrite=True)
    assert (other / "notes.txt").read_text() == "keep me"
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    with pytest.raises(FitFileError, match="is a file, not a directory"):
        chinchilla_fit.save(afile, overwrite=True)


def test_failed_save_keeps_the_old_fit_and_leaves_no_temp_dir(chinchilla_fit, saved, monkeypatch):
    before = (saved / "fit.nc").read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", boom)
    with pytest.raises(OSError, match="disk full"):
        chinchilla_fit.save(saved, overwrite=True)
    assert sorted(p.name for p in saved.parent.iterdir()) == ["fit"]
    assert (saved / "fit.nc").read_bytes() == before


def test_load_missing_dir(tmp_path):
    with pytest.raises(FitFileError, match=r"'.*nowhere' does not exist; give the directory written by"):
        bayeslaw.load(tmp_path / "nowhere")


def test_load_dir_without_spec(saved):
    (saved / "spec.json").unlink()
    with pytest.raises(FitFileError, match=r"is not a saved bayeslaw fit \(expected a directory with spec.json and fit.nc\)"):
        bayeslaw.load(saved)
    with pytest.raises(FitFileError, match="is not a saved bayeslaw fit"):
        bayeslaw.load(saved / "fit.nc")  # a file, not the directory


@pytest.mark.parametrize("content", [b"\x00\xff\xfe\x89garbage\x01", b"{\"format\": \"bayeslaw-fit\", "],
                         ids=["binary", "truncated-json"])
def test_load_corrupted_spec(saved, content):
    (saved / "spec.json").write_bytes(content)
    with pytest.raises(FitFileError, match=r"spec.json' is corrupted \(not valid JSON.*refit and save again"):
        bayeslaw.load(saved)


@pytest.mark.parametrize("spec, pattern", [
    ({"format": "other-tool", "version": 3}, r"is not a bayeslaw fit spec \(format is 'other-tool'\)"),
    ([1, 2, 3], r"is not a bayeslaw fit spec \(format is None\)"),
    ({"format": "bayeslaw-fit", "format_version": 99, "law": {"name": "chinchilla"}}, r"newer bayeslaw \(format 99\)"),
    ({"format": "bayeslaw-fit", "format_version": "1", "law": {"name": "chinchilla"}}, r"no valid format_version"),
    ({"format": "bayeslaw-fit", "format_version": 1}, r"does not name the fitted law"),
], ids=["other-format", "a-list", "newer", "bad-version", "no-law"])
def test_load_foreign_spec(saved, spec, pattern):
    (saved / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(FitFileError, match=pattern):
        bayeslaw.load(saved)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_load_corrupted_netcdf(saved, damage):
    nc = saved / "fit.nc"
    data = nc.read_bytes()
    nc.write_bytes({"garbage": b"not a netcdf file at all" * 100, "truncated": data[: len(data) // 3],
                    "empty": b""}[damage])
    with pytest.raises(FitFileError, match=r"fit.nc' cannot be read as a NetCDF DataTree .*refit and save again"):
        bayeslaw.load(saved)


def test_load_netcdf_missing_groups(saved):
    tree = bayeslaw.load(saved).idata
    del tree["log_likelihood"]
    tree.to_netcdf(saved / "fit.nc", engine="netcdf4")
    with pytest.raises(FitFileError, match="lacks the group\\(s\\) log_likelihood"):
        bayeslaw.load(saved)


def test_load_with_changed_law_warns_with_hashes(saved, monkeypatch):
    law = bayeslaw.get_law("chinchilla")
    changed = dataclasses.replace(law, params={**law.params, "alpha": Param(Prior("Gamma", 3, 5), "changed")})
    assert changed.hash != law.hash
    monkeypatch.setattr(catalogue, "_USER_LAWS", {})
    bayeslaw.register(changed)
    with pytest.warns(UserWarning, match=rf"law 'chinchilla' has changed since this fit was saved "
                                         rf"\(hash {law.hash} then, {changed.hash} now\)") as record:
        loaded = bayeslaw.load(saved)
    assert loaded.law is changed
    assert record[0].filename == __file__, "the warning should point at the caller of load()"


def test_load_with_other_coordinates_of_the_same_model_does_not_warn(saved, monkeypatch):
    """The coordinates are where NUTS moved, not the model: a law whose coordinates' code changed (its hash) but
    whose maths did not (its maths hash) loads a saved fit without the "has changed" warning."""
    law = bayeslaw.get_law("chinchilla")
    moved = dataclasses.replace(law, coordinates=dataclasses.replace(
        law.coordinates, to_params=lambda z, x: law.coordinates.to_params(z, x)))
    assert moved.hash != law.hash and moved.maths_hash == law.maths_hash
    assert json.loads((saved / "spec.json").read_text())["law"]["maths_hash"] == law.maths_hash
    monkeypatch.setattr(catalogue, "_USER_LAWS", {})
    bayeslaw.register(moved)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bayeslaw.load(saved).law is moved


# -- diagnostics ----------------------------------------------------------------------------------


def test_tiny_run_records_and_warns_diagnostics():
    with pytest.warns(DiagnosticWarning) as record:
        f = bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", num_chains=2, num_warmup=10,
                         num_samples=20, seed=0)
    diags = f.diagnostics
    assert diags and not f.converged
    assert {"r_hat", "ess"} & {d["check"] for d in diags}
    warned = [w for w in record if issubclass(w.category, DiagnosticWarning)]
    assert [str(w.message) for w in warned] == [d["message"] for d in diags]
    assert all(w.filename == __file__ for w in warned), "the warning should point at the caller of fit()"
    for d in diags:
        msg = d["message"]
        assert set(d) == {"check", "message"}
        assert "\n" not in msg and msg.endswith(".") and (msg[0].isupper() or msg[0].isdigit())
        # one sentence: no full stop followed by a new capitalised sentence
        assert not re.search(r"[.!?]\s+[A-Z]", msg), msg
        # says what to try
        assert re.search(r"\b(run|draw|raise|use|tighten)\b", msg), msg
        assert re.search(r"num_warmup|num_samples|target_accept_prob|priors", msg), msg
    assert "diagnostic warning" in repr(f)


# -- prior overrides ------------------------------------------------------------------------------

_SMALL = dict(num_chains=2, num_warmup=100, num_samples=100, seed=0, check=False)
_D = np.geomspace(1e8, 1e10, 20)
# the settings and prior of tests/test_coordinates.py: one compiled sampler program for both
_LADDER = dict(runs=pd.DataFrame({"D": _D, "loss": (1.7 + 400 * _D ** -0.3)
                                  * np.exp(0.02 * np.random.default_rng(1).standard_normal(20))}),
               law="power_law", x="D", num_chains=2, num_warmup=300, num_samples=300, check=False)


@pytest.mark.parametrize("override", [dist.Uniform(0.2, 0.4), "Uniform(0.2, 0.4)", Prior("Uniform", 0.2, 0.4)],
                         ids=["numpyro", "string", "Prior"])
def test_prior_override_is_used_and_recorded(override):
    f = bayeslaw.fit(priors={"alpha": override}, **_LADDER)
    assert f.spec.priors["alpha"] == {"dist": "Uniform", "low": 0.2, "high": 0.4}
    assert f.spec.priors["E"] == {"dist": "HalfNormal", "scale": "y0"}
    alpha = f.draws("alpha")
    assert ((alpha >= 0.2) & (alpha <= 0.4)).all()


def test_unknown_prior_name_lists_valid_names():
    with pytest.raises(LawError) as exc:
        bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", priors={"gamma": "Uniform(0, 1)"}, **_SMALL)
    msg = str(exc.value)
    assert "Unknown prior name 'gamma'" in msg
    for name in ("E", "a", "alpha", "b", "beta", "sigma", "nu"):
        assert re.search(rf"\b{name}\b", msg.split("its parameters are")[1]), name
    with pytest.raises(PriorError, match="Unknown distribution 'Unifrom'"):
        bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", priors={"alpha": "Unifrom(0, 1)"}, **_SMALL)
    with pytest.raises(PriorError, match="Cannot record a Laplace prior"):
        bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", priors={"alpha": dist.Laplace(0.0, 1.0)}, **_SMALL)


def test_second_fit_of_the_same_shape_compiles_nothing():
    """A refit to new data of the same shape reuses every compiled program. (NumPyro's multi-chain
    initialize_model compiled a new program per fit, and JAX kept each: ~10 MB per fit.)"""
    import pandas as pd
    from jax import monitoring

    compiles, listening = [], [False]
    monitoring.register_event_duration_secs_listener(
        lambda name, _dur, **_kw: compiles.append(name) if listening[0] and "backend_compile" in name else None)
    D = np.geomspace(1e8, 1e10, 20)

    def data(seed):
        noise = np.exp(0.01 * np.random.default_rng(seed).standard_normal(20))
        return pd.DataFrame({"D": D, "loss": (1.7 + 400.0 * D ** -0.3) * noise})

    kw = dict(num_chains=2, num_warmup=300, num_samples=300, check=False)  # the settings of the other tests
    bayeslaw.fit(data(0), "power_law", seed=0, **kw)
    listening[0] = True
    second = bayeslaw.fit(data(1), "power_law", seed=1, **kw)
    listening[0] = False
    assert second.draws("E").shape == (600,)
    assert compiles == []


def test_arviz_imported_before_numpyro_does_not_break_the_model():
    """arviz-base loads numpyro lazily when it comes first; numpyro.factor (used by laws sampled in other
    coordinates, and by every transformed prior) then failed with "numpyro.distributions has no attribute
    'distribution'". The inference layer restores the attributes (bayeslaw.inference.model)."""
    import subprocess
    import sys

    code = ("import arviz_base, numpyro\n"
            "import bayeslaw.inference.model\n"
            "import numpyro.distributions as dist\n"
            "from numpyro import handlers\n"
            "def model():\n"
            "    numpyro.sample('E', dist.HalfNormal(1.0))\n"
            "    numpyro.factor('f', 0.0)\n"
            "import jax\n"
            "tr = handlers.trace(handlers.seed(model, 0)).get_trace()\n"
            "print(sorted(tr))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "['E', 'f']"
