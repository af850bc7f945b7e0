"""The calibration study (case_studies/calibration): a fast pipeline check and the slow full study."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent.parent / "case_studies" / "calibration"


def _load(name):
    sys.path.insert(0, str(HERE))
    spec = importlib.util.spec_from_file_location(f"calibration_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up here
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def run_mod():
    return _load("run")


@pytest.fixture(scope="module")
def ladders_mod():
    return _load("ladders")


def test_ladders_follow_the_true_law(ladders_mod):
    import bayeslaw

    for name, design in ladders_mod.DESIGNS.items():
        ladder, targets = ladders_mod.make_ladder(design, "normal", seed=3)
        assert bayeslaw.get_law(design.law).name == design.law and name.startswith(design.law)
        assert len(targets) == 3 and np.all(np.isfinite(targets["true_mean"]))
        # targets lie 10-100x beyond the ladder in the law's scale variable
        col = design.columns[-1] if design.law not in ("chinchilla", "kaplan") else "C"
        ratio = targets[col].to_numpy() / ladder[col].max()
        assert np.allclose(ratio, [10.0, 31.6, 100.0])
        # noise is 2% on log loss around the truth
        resid = np.log(ladder["loss"]) - ladders_mod.true_log_mean(design, ladder)
        assert 0.005 < np.std(resid) < 0.05


def test_noise_kinds_have_their_scale(ladders_mod):
    """Gaussian sd 0.02, t3 of scale 0.02 (sd 0.02 * sqrt(3)), and the probes' Gaussian of a named sd."""
    rng = np.random.default_rng(0)
    assert ladders_mod.noise(rng, "normal", 200_000).std() == pytest.approx(0.02, rel=0.01)
    t3 = ladders_mod.noise(rng, "student_t3", 200_000)
    assert np.median(np.abs(t3)) == pytest.approx(0.02 * 0.7649, rel=0.02)   # t3's median |x| is 0.7649
    assert ladders_mod.noise(rng, "normal_sd0.05", 200_000).std() == pytest.approx(0.05, rel=0.01)
    with pytest.raises(ValueError):
        ladders_mod.noise(rng, "cauchy", 3)


def test_wilson_interval(run_mod):
    lo, hi = run_mod.wilson(90, 100)
    assert lo < 0.9 < hi and abs(lo - 0.826) < 0.002 and abs(hi - 0.945) < 0.002


def test_clustered_wilson_counts_ladders_not_targets(run_mod):
    """Targets missed together (whole ladders) carry one ladder's information, not three."""
    together = np.repeat(np.r_[np.ones(90), np.zeros(10)][:, None], 3, axis=1)   # 100 ladders x 3 targets
    lo, hi, n_eff = run_mod.clustered_wilson(together)
    assert abs(n_eff - 100) < 1.5 and abs(lo - 0.826) < 0.003 and abs(hi - 0.945) < 0.003
    # independent misses: about the naive interval over the 300 targets
    rng = np.random.default_rng(0)
    indep = (rng.random((2000, 3)) < 0.9).astype(float)
    assert 0.8 * 6000 < run_mod.clustered_wilson(indep)[2] < 1.2 * 6000


def test_acceptance_power_of_a_calibrated_method():
    """The band 0.88-0.92 is hit by a calibrated method's Binomial(L, 0.9)/L only so often."""
    mod = _load("acceptance_power")
    assert mod.p_in_band(10, 0.88, 0.92) == pytest.approx(0.3874, abs=1e-4)   # only k = 9 of 10 lands inside
    assert 0.5 < mod.p_in_band(100) < mod.p_in_band(200) < mod.p_in_band(1000) < 0.99
    assert mod.p_in_band(1000) > 0.95


@pytest.mark.parametrize("law,noise", [("chinchilla", "normal"), ("power_law", "student_t3")])
def test_one_ladder_end_to_end(run_mod, tmp_path, law, noise):
    """One ladder through fit, predict and the peer recipe, then the summary table."""
    row = run_mod.run_task({"law": law, "noise": noise, "seed": 0, "num_warmup": 300, "num_samples": 300,
                            "num_chains": 2, "peer": True})
    for i in range(3):
        assert row[f"t{i}_mean_cov"] in (0, 1) and row[f"t{i}_new_cov"] in (0, 1)
        assert 0 < row[f"t{i}_mean_width"] < row[f"t{i}_new_width"] < 1
        assert row[f"t{i}_peer_mean_cov"] in (0, 1) and row[f"t{i}_peer_mean_width"] > 0
    assert row["peer_boot_ok"] >= 450
    import pandas as pd

    pd.DataFrame([row]).to_csv(tmp_path / f"{law}_{noise}.csv", index=False)
    summary = run_mod.summarise(tmp_path)
    entry = summary[f"{law}/{noise}"]
    assert entry["ladders"] == 1 and entry["mean"]["n"] == 3
    assert (tmp_path / "summary.md").read_text().count("|") > 10


@pytest.mark.slow
def test_full_calibration_study(run_mod, tmp_path):
    """The acceptance run: >= 200 ladders per noise model for chinchilla and power_law, 100 (the issue asks
    >= 50) for the other laws, default priors/likelihood/sampler; 90% intervals must cover 88-92%.
    This is the issue's literal acceptance run. With 100-200 ladders per cell even a calibrated method
    passes all 20 coverage figures with probability ~1e-4 (acceptance_power.py); the README's
    1000-ladder power_law run and 500-ladder compute/kaplan runs are the precise measurement."""
    assert run_mod.main(["--laws", "chinchilla,power_law", "--ladders", "200", "--out", str(tmp_path)]) == 0
    assert run_mod.main(["--laws", "compute,kaplan,broken_power_law", "--ladders", "100", "--no-peer",
                         "--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key, entry in summary.items():
        for kind in ("mean", "new"):
            cov = entry[kind]["coverage"]
            assert 0.88 <= cov <= 0.92, f"{key} {kind}: coverage {cov:.3f} (Wilson 95% {entry[kind]['wilson95']})"
