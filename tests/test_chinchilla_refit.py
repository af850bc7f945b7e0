"""Acceptance: the Chinchilla refit (case_studies/chinchilla_refit) with the default settings.

Runs the committed case-study script as is (4 chains x 1000 warmup + 1000 draws, the defaults)
and checks its verdicts: posterior means of E, alpha, beta within Epoch's refit +/- 2 SE,
R-hat <= 1.01, no divergences, Hoffmann's beta = 0.28 outside the central 99% interval.
"""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "case_studies" / "chinchilla_refit" / "run.py"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("chinchilla_refit_run", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = tmp_path_factory.mktemp("chinchilla_refit")
    code = mod.main(["--out", str(out)])
    res = json.loads((out / "results.json").read_text())
    res["exit_code"] = code
    return res


@pytest.mark.parametrize("n_runs", ["245", "240"])
def test_posterior_means_match_epoch_refit(results, n_runs):
    fit = results["fits"][n_runs]
    expected = json.loads((SCRIPT.parent / "expected.json").read_text())
    for name, tol in expected["acceptance"]["tolerance_2se"].items():
        mean = fit["summary"][name]["mean"]
        ref = expected["epoch_refit"][name]["value"]
        assert abs(mean - ref) <= tol, f"{name}: posterior mean {mean:.4f}, Epoch {ref} +/- {tol}"


@pytest.mark.parametrize("n_runs", ["245", "240"])
def test_sampler_healthy_and_hoffmann_beta_excluded(results, n_runs):
    fit = results["fits"][n_runs]
    assert max(row["r_hat"] for row in fit["summary"].values()) <= 1.01
    assert fit["divergences"] == 0
    lo, hi = fit["beta_99_interval"]
    assert not (lo <= 0.28 <= hi), f"Hoffmann's beta 0.28 inside the 99% interval [{lo:.3f}, {hi:.3f}]"
    assert fit["all_pass"]
    assert results["exit_code"] == 0
