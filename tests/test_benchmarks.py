"""The baselines benchmark's peers (benchmarks/peers.py) and scores (benchmarks/baselines.py), without timing.

The Huber objective's analytic gradient is its numerical one; the converged Huber fit and curve_fit find a
noiseless power law's parameters; a bootstrap returns one draw per resample at every target; the scores count
coverage and RMSLE as their definitions say.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import baselines  # noqa: E402
import peers  # noqa: E402

TRUTH = np.array([np.log(1.7), np.log(400.0), 0.3])  # e = log E, a = log A, alpha


def _curve(n=20):
    x = np.geomspace(1e7, 1e10, n)[None, :]
    return x, np.exp(peers.log_mean(TRUTH, np.log(x)))


def test_huber_gradient_is_the_numerical_one():
    x, y = _curve()
    rng = np.random.default_rng(0)
    y = y * np.exp(0.002 * rng.standard_normal(y.size))  # both Huber branches: residuals around delta = 1e-3
    p = TRUTH + np.array([0.01, -0.02, 0.005])
    f, g = peers._huber(p, np.log(x), np.log(y))
    h = 1e-7
    num = [(peers._huber(p + h * e, np.log(x), np.log(y))[0] - peers._huber(p - h * e, np.log(x), np.log(y))[0]) / (2 * h)
           for e in np.eye(3)]
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-10)


def test_peers_find_a_noiseless_power_law():
    x, y = _curve()
    p = peers.huber_fit(np.log(x), np.log(y), starts=8)
    np.testing.assert_allclose(np.exp(p[0]), 1.7, rtol=1e-3)
    assert p[2] == pytest.approx(0.3, abs=1e-3)
    xt = np.array([[1e11, 1e12]])
    truth = np.exp(peers.log_mean(TRUTH, np.log(xt)))
    np.testing.assert_allclose(peers.curve_fit_point(x, y, xt)[0], truth, rtol=1e-4)
    draws = peers.curve_fit_bootstrap(x, y, xt, boot=20, seed=1)
    assert draws.shape[1] == 2 and 15 <= draws.shape[0] <= 20
    np.testing.assert_allclose(np.median(draws, axis=0), truth, rtol=1e-3)


def test_scores_count_coverage_and_rmsle():
    yt = np.array([1.0, 2.0, 4.0])
    sets = {"c": (None, None, None, yt)}
    draws = np.exp(np.log(yt)[None, :] + np.linspace(-0.1, 0.1, 1001)[:, None])
    draws[:, 2] *= 2.0  # the third target's draws sit far above it
    out = baselines.score(sets, {"c": draws})
    assert out["cov90"] == pytest.approx(2 / 3) and out["cov50"] == pytest.approx(2 / 3)
    assert out["rmsle_pooled"] == pytest.approx(np.sqrt(np.log(2.0) ** 2 / 3), rel=1e-6)
    point = baselines.score(sets, {"c": yt[None, :]})
    assert "cov90" not in point and point["rmsle_pooled"] == pytest.approx(0.0)
