"""A new law is one file: dropped into the catalogue folder, it works everywhere with no other file edited.

In a temporary copy of the package (laid out as the wheel installs it: ``bayeslaw/models/`` inside the
package), one new file declares a law in training steps ``T``, an input no catalogue law has. The
real command line, run in a fresh process on that copy, then lists it, fits it, predicts with it by
its own input name, draws it, writes its report, and loads its saved fit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent

LAW_FILE = '''"""Loss against training steps T with a floor: L = E + A * T^-alpha (a test law, one file)."""

import jax.numpy as jnp
import numpy as np

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

_T = np.geomspace(1e2, 1e5, 20)


def _log_mean(x, E, a, alpha):
    return logsumexp(jnp.log(E), a - alpha * x["T"])


steps_law = Law(
    name="steps_law",
    inputs=("T",),
    log_mean=_log_mean,
    params={"E": Param(Prior("HalfNormal", scale="y0"), "the floor is positive, of the order of the loss"),
            "a": Param(Prior("Normal", loc="log_y0", scale=2.0), "the term at T0 is of the order of the loss"),
            "alpha": Param(Prior("Gamma", 2.0, 5.0), "a positive exponent, typically 0.05-0.7")},
    formula="L = E + A * T^-alpha",
    reference="a test of the open catalogue",
    example=Example(inputs={"T": _T}, params={"E": 2.0, "a": 0.0, "alpha": 0.4}),
)
'''


def _runs() -> pd.DataFrame:
    T = np.geomspace(1e2, 1e5, 20)
    rng = np.random.default_rng(0)
    loss = (2.0 + 30.0 * T ** -0.4) * np.exp(0.01 * rng.standard_normal(T.size))
    return pd.DataFrame({"T": T, "loss": loss})


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(REPO / "src" / "bayeslaw", site / "bayeslaw", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "models", site / "bayeslaw" / "models", ignore=shutil.ignore_patterns("__pycache__"))
    (site / "bayeslaw" / "models" / "steps_law.py").write_text(LAW_FILE)
    return site


DRIVER = """
import contextlib, io, json, sys
from bayeslaw.cli import main

out = []
for argv in json.loads(sys.argv[1]):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    out.append({"code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()})
print(json.dumps(out))
"""


def bayeslaw_commands(site: Path, commands: list[list[str]], cwd: Path) -> list[dict]:
    """Run `bayeslaw` commands one after the other in one fresh Python process that sees only the copy."""
    # BAYESLAW_CACHE_DIR (or BAYESLAW_NO_CACHE): the test session's JAX cache, set by conftest
    env = {**os.environ, "PYTHONPATH": str(site), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(commands)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


from strictjson import loads as strict  # noqa: E402


def test_a_law_file_dropped_into_models_works_end_to_end(site, tmp_path):
    _runs().to_csv(tmp_path / "runs.csv", index=False)
    listed, fitted, predicted, refused, plotted, reported = bayeslaw_commands(site, [
        ["laws"],
        ["fit", "runs.csv", "--law", "steps_law", "--curvature", "off", "--out", "f", "--num-chains", "2", "--num-warmup", "300",
         "--num-samples", "300", "--format", "json", "--quiet"],
        ["predict", "f", "--at", "T=1e6", "--ci-prob", "0.9", "--format", "json"],
        ["predict", "f", "--at", "N=1e9"],
        ["plot", "f", "--at", "T=1e6", "-o", "curve.png"],
        ["report", "f", "--at", "T=1e6", "-o", "report.html"],
    ], cwd=tmp_path)

    assert listed["code"] == 0, listed["stderr"]
    assert "steps_law: L = E + A * T^-alpha" in listed["stdout"]
    assert "from: bayeslaw.models.steps_law" in listed["stdout"]

    assert fitted["code"] == 0, fitted["stderr"]
    doc = strict(fitted["stdout"])
    assert doc["law"] == "steps_law" and doc["columns"]["T"] == "T"   # the plain law (--curvature off)
    assert {row["param"] for row in doc["params"]} >= {"E", "a", "alpha", "sigma", "nu"}

    assert predicted["code"] == 0, predicted["stderr"]  # the saved fit loads, and predicts by its input's name
    (rec,) = strict(predicted["stdout"])["results"]
    assert rec["T"] == 1e6 and rec["extrapolation_decades"] == {"T": pytest.approx(1.0)}
    truth = 2.0 + 30.0 * 1e6 ** -0.4   # the law that made the runs, one decade beyond them: 2.119
    band = rec["mean_law"]
    assert band["lower"] < band["median"] < band["upper"] and rec["ci_prob"] == 0.9
    assert band["lower"] <= truth <= band["upper"], band
    assert band["median"] == pytest.approx(truth, rel=0.03)

    assert refused["code"] == 2 and "no input 'N'" in refused["stderr"] and "T=..." in refused["stderr"]

    assert plotted["code"] == 0, plotted["stderr"]
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert reported["code"] == 0, reported["stderr"]
    assert "L = E + A * T^-alpha" in (tmp_path / "report.html").read_text()

    # nothing outside the new file was edited: the copy differs from the repository by that file alone
    copied = {p.name for p in (site / "bayeslaw" / "models").glob("*.py")}
    assert copied - {p.name for p in (REPO / "models").glob("*.py")} == {"steps_law.py"}
