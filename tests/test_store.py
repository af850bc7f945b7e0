"""Fits saved by bayeslaw 0.1.0 (before the layered package and the typed spec) load and predict as they did.

``tests/data/fits_v0.1.0/`` holds two fits written by the code at commit 57b0a33 and what their
``predict`` printed then (README.md there says how they were made).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import bayeslaw

HERE = Path(__file__).resolve().parent / "data" / "fits_v0.1.0"
EXPECTED = json.loads((HERE / "expected.json").read_text())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_fit_saved_by_0_1_0_loads_and_predicts_the_same(name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the law's hash is unchanged: no "law has changed" warning
        fit = bayeslaw.load(HERE / name)
    exp = EXPECTED[name]
    assert isinstance(fit.spec, bayeslaw.FitSpec) and fit.spec.versions["bayeslaw"] == "0.1.0"
    assert fit.spec.sampler.seed == 3 and fit.spec.sampler.num_samples == 50
    assert fit.spec.design == ({"N": "N", "D": "D"} if name == "chinchilla" else {"x": "D"})
    row = fit.predict(ci_prob=0.9, seed=0, **exp["at"]).table.iloc[0]
    for kind in ("mean", "new_run"):
        got = [row[f"{kind}_median"], row[f"{kind}_lower"], row[f"{kind}_upper"]]
        assert got == pytest.approx(exp[kind], rel=1e-12), kind
    for col, decades in exp["beyond"].items():
        assert row[f"beyond_{col}"] == pytest.approx(decades, rel=1e-12)
    # saved again by this version, the same spec comes back (format 1 is still the layout)
    again = bayeslaw.load(fit.save(tmp_path / "again"))
    assert again.spec.replace(versions={}) == fit.spec.replace(versions={})
    old = json.loads((HERE / name / "spec.json").read_text())
    new = json.loads((tmp_path / "again" / "spec.json").read_text())
    assert new["format_version"] == old["format_version"] == 1
    # the same spec, plus the checksum that load() verifies (0.1.0 fits have none, and load without one)
    assert "checksum" not in old and set(new["checksum"]) == {"algorithm", "fit.nc", "spec.json"}
    assert {k: v for k, v in new.items() if k not in ("versions", "checksum")} == \
        {k: v for k, v in old.items() if k != "versions"}
