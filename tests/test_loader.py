"""Good paths of the run loader (:func:`bayeslaw.load_runs`) and of the CLI commands.

Only ``test_cli_fit_json`` runs NUTS (2 chains x 300 + 300 on 40 runs).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayeslaw
import bayeslaw.inference.fit
from bayeslaw import cli, load_runs
from bayeslaw.cli import common
from bayeslaw.core.tables import ROW_NOTE

LAW_NAMES = set(bayeslaw.available_laws())


def runs_frame(n: int = 8) -> pd.DataFrame:
    N = np.geomspace(1e7, 1e10, n)
    D = np.geomspace(2e8, 2e11, n)[::-1].copy()
    return pd.DataFrame({"N": N, "D": D, "C": 6 * N * D, "loss": 1.7 + 400 * N ** -0.34 + 410 * D ** -0.28})


def write(tmp_path, name: str, df: pd.DataFrame) -> str:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return str(path)


# -- column finding -------------------------------------------------------------------------


def test_default_names(tmp_path):
    df = runs_frame()
    runs = load_runs(write(tmp_path, "runs.csv", df))
    assert dict(runs.columns) == {"N": "N", "D": "D", "C": "C", "loss": "loss"}
    assert runs.derived == {}
    assert runs.variables == ("N", "D", "C")
    assert list(runs.frame.columns) == ["N", "D", "C", "loss"]
    assert list(runs.frame.index) == list(range(1, 9))
    assert len(runs) == 8
    assert runs.source.endswith("runs.csv")
    assert all(runs.frame[c].dtype == np.float64 for c in runs.frame.columns)
    np.testing.assert_allclose(runs.frame["N"].to_numpy(), df["N"].to_numpy())
    np.testing.assert_allclose(runs.loss, df["loss"].to_numpy())


def test_case_insensitive_aliases(tmp_path):
    df = runs_frame().rename(columns={"N": "Params", "D": "TOKENS", "C": "flops", "loss": "Val_Loss"})
    runs = load_runs(write(tmp_path, "aliases.csv", df))
    assert dict(runs.columns) == {"N": "Params", "D": "TOKENS", "C": "flops", "loss": "Val_Loss"}
    assert runs.derived == {}
    np.testing.assert_allclose(runs.frame["D"].to_numpy(), df["TOKENS"].to_numpy())
    np.testing.assert_allclose(runs.loss, df["Val_Loss"].to_numpy())


def test_epoch_upstream_column_names(tmp_path):
    # Epoch AI's digitisation of Hoffmann et al. names its columns like this
    df = runs_frame()[["N", "C", "loss"]].rename(columns={"N": "Model Size", "C": "Training FLOP"})
    runs = load_runs(write(tmp_path, "epoch.csv", df))
    assert dict(runs.columns) == {"N": "Model Size", "C": "Training FLOP", "loss": "loss"}
    assert runs.derived == {"D": "D = C / (6 N)"}
    np.testing.assert_allclose(runs.frame["D"].to_numpy(), runs_frame()["D"].to_numpy(), rtol=1e-12)

    df3 = runs_frame().rename(columns={"N": "Model Size", "D": "Training Tokens", "C": "Training FLOP"})
    runs3 = load_runs(write(tmp_path, "epoch3.csv", df3))
    assert dict(runs3.columns) == {"N": "Model Size", "D": "Training Tokens", "C": "Training FLOP",
                                   "loss": "loss"}
    assert runs3.derived == {}


def test_explicit_mapping(tmp_path):
    base = runs_frame()
    # decoy columns that the aliases would otherwise pick up
    df = pd.DataFrame({"width_params": base["N"], "seen": base["D"], "eval": base["loss"],
                       "loss": base["loss"] * 2, "tokens": base["D"] * 3})
    runs = load_runs(write(tmp_path, "explicit.csv", df), x={"N": "width_params", "D": "seen"}, y="eval")
    assert dict(runs.columns) == {"N": "width_params", "D": "seen", "loss": "eval"}
    assert runs.derived == {"C": "C = 6 N D"}
    np.testing.assert_allclose(runs.frame["D"].to_numpy(), base["D"].to_numpy())
    np.testing.assert_allclose(runs.loss, base["loss"].to_numpy())
    # unused columns are carried, except one named like a variable ('loss'), which would pass for it
    assert "tokens" in runs.frame.columns
    assert list(runs.frame.columns).count("loss") == 1


def test_single_non_canonical_column_is_x(tmp_path):
    df = pd.DataFrame({"steps": [100.0, 200, 400, 800, 1600], "loss": [4.0, 3.5, 3.1, 2.9, 2.8]})
    runs = load_runs(write(tmp_path, "steps.csv", df), x="steps")
    assert dict(runs.columns) == {"x": "steps", "loss": "loss"}
    assert runs.variables == ("x",)
    assert runs.derived == {}
    np.testing.assert_allclose(runs.frame["x"].to_numpy(), df["steps"].to_numpy())

    both = runs_frame(5).assign(steps=df["steps"])
    runs2 = load_runs(write(tmp_path, "steps_and_sizes.csv", both), x="steps")
    assert runs2.variables == ("x", "N", "D", "C")
    assert runs2.columns["x"] == "steps"


def test_unmapped_column_named_x_is_not_a_size(tmp_path):
    df = runs_frame()[["N", "loss"]].assign(x=list("abcdefgh"))
    runs = load_runs(write(tmp_path, "labels.csv", df))
    assert runs.variables == ("N",)
    assert "x" not in runs.frame.columns


@pytest.mark.parametrize(
    "have, derived, formula",
    [(("N", "C"), "D", "D = C / (6 N)"), (("N", "D"), "C", "C = 6 N D"), (("D", "C"), "N", "N = C / (6 D)")],
    ids=["D-from-N-C", "C-from-N-D", "N-from-D-C"],
)
def test_derived_size(tmp_path, have, derived, formula):
    full = runs_frame()
    runs = load_runs(write(tmp_path, "two.csv", full[[*have, "loss"]]))
    assert runs.derived == {derived: formula}
    assert runs.variables == ("N", "D", "C")
    assert runs.flops_per_param_token == 6.0
    np.testing.assert_allclose(runs.frame[derived].to_numpy(), full[derived].to_numpy(), rtol=1e-12)
    assert runs.to_dict()["derived"] == {derived: formula}


def test_custom_flops_per_param_token(tmp_path):
    full = runs_frame()
    runs = load_runs(write(tmp_path, "nc.csv", full[["N", "C", "loss"]]), flops_per_param_token=2.5)
    assert runs.derived == {"D": "D = C / (2.5 N)"}
    assert runs.flops_per_param_token == 2.5
    np.testing.assert_allclose(runs.frame["D"].to_numpy(), (full["C"] / (2.5 * full["N"])).to_numpy())
    # with 6 in the data and 2.5 assumed, D comes out 6/2.5 times larger
    np.testing.assert_allclose(runs.frame["D"].to_numpy(), full["D"].to_numpy() * 6 / 2.5)


def test_group_columns_carried(tmp_path):
    df = runs_frame(6)
    df = pd.concat([df, df], ignore_index=True)  # every run twice, with different seeds
    df["family"] = ["gpt"] * 6 + ["llama"] * 6
    df["seed"] = [0] * 6 + [1] * 6
    df["note"] = "x"
    runs = load_runs(write(tmp_path, "groups.csv", df))
    assert runs.groups == ("family", "seed")
    assert list(runs.frame["family"]) == list(df["family"])
    assert list(runs.frame["seed"]) == list(df["seed"])
    assert "note" in runs.frame.columns
    assert runs.to_dict()["groups"] == ["family", "seed"]

    explicit = load_runs(write(tmp_path, "groups2.csv", df.rename(columns={"family": "arch"})),
                         groups=["arch", "seed"])
    assert explicit.groups == ("arch", "seed")


def test_parquet_tsv_and_bom_csv_read_like_csv(tmp_path):
    df = runs_frame().assign(family="a")
    ref = load_runs(write(tmp_path, "runs.csv", df)).frame

    df.to_parquet(tmp_path / "runs.parquet", index=False)
    df.to_csv(tmp_path / "runs.tsv", sep="\t", index=False)
    df.to_csv(tmp_path / "runs_semicolon.txt", sep=";", index=False)
    # Excel's "CSV UTF-8" starts with a byte-order mark, which once hid the first column's name
    (tmp_path / "runs_bom.csv").write_text(df.to_csv(index=False), encoding="utf-8-sig")
    for name in ("runs.parquet", "runs.tsv", "runs_semicolon.txt", "runs_bom.csv"):
        runs = load_runs(tmp_path / name)
        assert runs.columns["N"] == "N", name
        assert runs.derived == {}, name
        pd.testing.assert_frame_equal(runs.frame, ref, check_exact=False, rtol=1e-14)


def test_dataframe_input():
    df = runs_frame()
    df.index = [10 * i for i in range(8)]
    original = df.copy()
    runs = load_runs(df)
    assert runs.source == "<DataFrame>"
    assert list(runs.frame.index) == list(range(1, 9))
    pd.testing.assert_frame_equal(df, original)  # the caller's frame is untouched
    np.testing.assert_allclose(runs.loss, df["loss"].to_numpy())
    assert load_runs(runs) is runs


def test_data_hash():
    df = runs_frame()
    h1 = load_runs(df).data_hash()
    assert h1 == load_runs(df.copy()).data_hash()
    assert len(h1) == 16 and int(h1, 16) >= 0
    changed = df.copy()
    changed.loc[3, "loss"] *= 1.0001
    assert load_runs(changed).data_hash() != h1
    assert load_runs(df).data_hash(("N", "loss")) != h1


def test_bundled_example():
    runs = load_runs(bayeslaw.example_data_path())
    assert len(runs) == 245
    assert runs.derived == {}
    assert runs.variables == ("N", "D", "C")
    assert "epoch_excluded" in runs.frame.columns
    assert (runs.loss > 0).all()


def test_row_note_is_stated():
    assert ROW_NOTE == "rows are counted from 1 after the header"


# -- CLI good paths ------------------------------------------------------------------------


def test_cli_laws_table(capsys):
    assert cli.main(["laws"]) == 0
    out = capsys.readouterr().out
    for name in LAW_NAMES:
        assert f"\n{name}: " in f"\n{out}"
    assert out.count("  priors:") == len(LAW_NAMES)
    assert out.count("  reference: ") == len(LAW_NAMES)
    assert "observation models" in out and "student_t:" in out and "assumes:" in out


def test_cli_laws_json(capsys):
    assert cli.main(["laws", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {law["name"] for law in doc} == LAW_NAMES
    for law in doc:
        assert law["reference"].strip()
        assert law["params"] and set(law["params"]) == set(law["priors"])
        for p in law["params"].values():
            assert p["prior"] and p["why"]


def test_cli_laws_one(capsys):
    assert cli.main(["laws", "chinchilla"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("chinchilla: L = E + A / N^alpha + B / D^beta")
    assert "Hoffmann" in out and "alpha ~ " in out and "power_law:" not in out
    assert cli.main(["laws", "chinchilla", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["name"] == "chinchilla"
    assert set(doc["params"]) == {"E", "a", "b", "alpha", "beta"}


@pytest.mark.parametrize("command", [None, *(c.__name__.rsplit(".", 1)[1] for c in cli.COMMANDS)])
def test_cli_help_shows_one_runnable_example(command, capsys):
    assert cli.main([command, "--help"] if command else ["--help"]) == 0
    cap = capsys.readouterr()
    assert cap.err == ""
    example = cap.out.split("example:\n", 1)[1].splitlines()[0].strip()
    assert example.startswith(f"bayeslaw {command or ''}".rstrip()), example


def test_a_column_named_x_is_a_one_input_laws_size(tmp_path):
    """A column named x serves a one-input law with no mapping (it is not dropped as an unmapped 'x')."""
    from bayeslaw.inference.plan import plan_fit

    df = pd.DataFrame({"x": np.geomspace(1e3, 1e6, 8), "loss": np.linspace(4, 2.5, 8)})
    plan = plan_fit(df, "power_law")
    assert plan.design == {"x": "x"} and plan.runs.columns["x"] == "x"
    with pytest.raises(bayeslaw.DataError, match="no size column"):
        plan_fit(df, "chinchilla")


def test_cli_one_variable_law_with_any_column(tmp_path, capsys, monkeypatch):
    """--x steps (not N/D/C) makes 'steps' the law's x; checked up to the call of fit()."""
    df = pd.DataFrame({"steps": np.geomspace(100, 1e5, 10), "loss": np.linspace(4, 2.5, 10)})
    path = write(tmp_path, "steps.csv", df)
    calls = []

    class Stop(Exception):
        pass

    def fake_fit(plan, **kwargs):
        calls.append(plan)
        raise Stop

    monkeypatch.setattr(bayeslaw.inference.fit, "fit", fake_fit)
    monkeypatch.setattr(common, "setup_jax", lambda n: None)
    with pytest.raises(Stop):
        cli.main(["fit", path, "--law", "power_law", "--x", "steps"])
    (plan,) = calls
    assert plan.law.name == "power_law"
    assert plan.design == {"x": "x"}
    assert plan.runs.columns["x"] == "steps"
    np.testing.assert_allclose(plan.runs.frame["x"].to_numpy(), df["steps"].to_numpy())


def test_cli_fit_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAYESLAW_NO_CACHE", "1")  # keep the test session's JAX cache setting
    rng = np.random.default_rng(3)
    D = np.geomspace(1e6, 1e10, 30)  # 30 runs: the sampler program (size 32) of the other power_law tests
    loss = (1.5 + 20 * D ** -0.3) * rng.lognormal(0.0, 0.01, size=D.size)
    N = np.full_like(D, 1e8)
    data = write(tmp_path, "synthetic.csv", pd.DataFrame({"N": N, "D": D, "loss": loss}))
    out_dir = tmp_path / "f"
    code = cli.main(["fit", data, "--law", "power_law", "--x", "D", "--curvature", "off", "--num-chains", "2", "--num-warmup", "300",
                     "--num-samples", "300", "--ci-prob", "0.9", "--format", "json", "--out", str(out_dir), "--quiet"])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert "Traceback" not in cap.err
    doc = json.loads(cap.out)
    assert {"law", "likelihood", "n_runs", "params", "diagnostics", "ci_prob"} <= set(doc) and doc["ci_prob"] == 0.9
    assert doc["law"] == "power_law"
    assert doc["likelihood"] == "student_t"
    assert doc["n_runs"] == 30
    assert doc["columns"]["D"] == "D"
    params = {row["param"]: row for row in doc["params"]}
    assert {"E", "A", "alpha", "sigma", "nu"} <= set(params)
    for row in doc["params"]:
        assert {"param", "mean", "sd", "lower", "upper", "r_hat", "ess_bulk"} <= set(row)
        assert row["lower"] <= row["mean"] <= row["upper"]
        assert np.isfinite(row["r_hat"]) and row["ess_bulk"] > 0
    # the data were made with E = 1.5, alpha = 0.3: each posterior mean lies within 3 posterior sds of the truth
    for name, truth in (("E", 1.5), ("alpha", 0.3)):
        assert abs(params[name]["mean"] - truth) < 3 * params[name]["sd"], (name, params[name])
    assert isinstance(doc["diagnostics"], list)
    assert sorted(p.name for p in out_dir.iterdir()) == ["fit.nc", "spec.json"]
    spec = json.loads((out_dir / "spec.json").read_text())
    assert spec["data"]["design"] == {"x": "D"}
    assert spec["sampler"]["num_chains"] == 2 and spec["sampler"]["num_samples"] == 300
