"""Model weights from pointwise log predictive densities, and their Bayesian-bootstrap uncertainty.

Given an (observations x models) matrix of pointwise log predictive densities (PSIS-LOO values,
or held-out ones from a backtest), :func:`model_weights` computes one of the weightings of
``arviz_stats.compare`` (same names; Yao et al. 2018, arXiv:1704.02030):

* ``"stacking"``: the weights maximising the log score of the mixture,
  ``sum_i log sum_k w_k exp(elpd_i[i, k])`` (:func:`stacking_weights`);
* ``"bb-pseudo-bma"`` (pseudo-BMA+): ``w_k ∝ exp(elpd_k)`` averaged over Bayesian-bootstrap
  replicates of the pointwise values, which keeps weight on models whose elpd is within a few
  standard errors of the best;
* ``"pseudo-bma"``: ``w_k ∝ exp(elpd_k)`` of the totals (no bootstrap; not recommended).

and the weights' uncertainty: the Bayesian bootstrap (Rubin 1981) draws observation weights
``a ~ Dirichlet(1, ..., 1)``, and each replicate re-solves the weighting on the reweighted
pointwise values (stacking: the a-weighted log score; pseudo-BMA: ``z_k = n sum_i a_i elpd_i[i, k]``).
The replicates' equal-tailed ``ci_prob`` interval is reported per model (:func:`weight_interval`),
widened to hold the point weight where that falls outside it: pseudo-BMA+'s point weight is the
replicates' mean, which a skewed distribution can put beyond a quantile (0.9939 against a 5%
quantile of 0.99999 when a model is far ahead). Everything here is NumPy/SciPy on the matrix;
where the matrix comes from is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, minimize

from ..core.records import resolve_ci_prob
from ..core.spec import check_seed
from ..errors import BayeslawError, shown

#: Weightings, named as in ``arviz_stats.compare(method=...)``.
METHODS = ("stacking", "bb-pseudo-bma", "pseudo-bma")
#: Bayesian-bootstrap replicates by default (as ``arviz_stats.compare`` for ``"bb-pseudo-bma"``).
N_BOOTSTRAP = 1000
#: Weights below this are an optimiser's round-off (SLSQP leaves e.g. 5.55e-17): they are reported as 0.
WEIGHT_FLOOR = 1e-9


def check_method(method: str) -> str:
    """The weighting's name, lower case, or a :class:`~bayeslaw.BayeslawError` naming the choices."""
    m = method.lower() if isinstance(method, str) else method
    if m not in METHODS:
        raise BayeslawError(f"method must be 'stacking', 'bb-pseudo-bma' (pseudo-BMA+) or 'pseudo-bma'; "
                            f"got {method!r}.")
    return m


def _matrix(elpd_i) -> np.ndarray:
    e = np.asarray(elpd_i, float)
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 1:
        raise BayeslawError(f"Model weights take an (observations, models) array; got shape {e.shape}.")
    if np.isnan(e).any():
        raise BayeslawError("The pointwise log predictive densities contain NaN; cannot compute weights.")
    top = e.max(axis=1)
    if not np.all(np.isfinite(top)):
        bad = int(np.flatnonzero(~np.isfinite(top))[0])
        raise BayeslawError(f"Observation {bad} has zero predictive density under every model; "
                            "the weights are undefined.")
    return e


def _stack(p: np.ndarray, a: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Maximise ``sum_i a_i log (p @ w)_i`` over the simplex (SLSQP, analytic gradient)."""
    k = p.shape[1]

    def score(w):
        return -np.sum(a * np.log(np.maximum(p @ w, 1e-300)))

    def grad(w):
        return -(a / np.maximum(p @ w, 1e-300)) @ p

    res = minimize(score, start, jac=grad, bounds=Bounds(np.zeros(k), np.ones(k)),
                   constraints=LinearConstraint(np.ones(k), 1.0, 1.0), method="SLSQP")
    w = np.clip(np.asarray(res.x, float), 0.0, None)
    return w / w.sum()


def stacking_weights(elpd_i: np.ndarray, obs_weights: np.ndarray | None = None) -> np.ndarray:
    """Stacking weights from pointwise log predictive densities (Yao et al. 2018, eq. 4).

    Maximises ``sum_i a_i log sum_k w_k exp(elpd_i[i, k])`` over the simplex (``a_i = 1``
    unless ``obs_weights`` are given), the objective of ``arviz_stats.compare(method="stacking")``;
    each row is shifted by its maximum first (which leaves the maximiser unchanged) so that very
    negative densities do not underflow.

    Parameters
    ----------
    elpd_i : array (n, K)
        Log predictive density of each of n held-out (or leave-one-out) observations under
        each of K models.
    obs_weights : array (n,), optional
        Non-negative weight of each observation (a Bayesian-bootstrap replicate).

    Returns
    -------
    array (K,)
        Non-negative weights summing to 1.
    """
    e = _matrix(elpd_i)
    k = e.shape[1]
    if k == 1:
        return np.ones(1)
    a = np.ones(e.shape[0]) if obs_weights is None else np.asarray(obs_weights, float)
    p = np.exp(e - e.max(axis=1, keepdims=True))
    return _stack(p, a, np.full(k, 1.0 / k))


def _softmax(z: np.ndarray) -> np.ndarray:
    u = np.exp(z - z.max(axis=-1, keepdims=True))
    return u / u.sum(axis=-1, keepdims=True)


def pseudo_bma_weights(elpd_i: np.ndarray) -> np.ndarray:
    """Pseudo-BMA weights ``w_k ∝ exp(sum_i elpd_i[i, k])`` (no bootstrap)."""
    return _softmax(_matrix(elpd_i).sum(axis=0))


def bootstrap_weights(elpd_i: np.ndarray, method: str = "stacking", *, n_bootstrap: int = N_BOOTSTRAP,
                      seed: int = 0) -> np.ndarray:
    """Bayesian-bootstrap replicates of the weights: (n_bootstrap, K).

    Each replicate draws observation weights ``a ~ Dirichlet(1, ..., 1)`` with
    ``numpy.random.default_rng(seed)`` and re-solves the weighting on the reweighted pointwise
    values: the a-weighted stacking objective (``"stacking"``), or ``softmax(n a @ elpd_i)`` (both
    pseudo-BMA variants).
    """
    method = check_method(method)
    e = _matrix(elpd_i)
    n, k = e.shape
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 1:
        raise BayeslawError(f"n_bootstrap must be a positive whole number (e.g. 1000); got {shown(n_bootstrap)}.")
    a = np.random.default_rng(check_seed(seed, "bootstrap_seed")).dirichlet(np.ones(n), size=int(n_bootstrap))
    if k == 1:
        return np.ones((int(n_bootstrap), 1))
    if method != "stacking":
        return _softmax(n * (a @ e))
    p = np.exp(e - e.max(axis=1, keepdims=True))
    start = _stack(p, np.ones(n), np.full(k, 1.0 / k))  # warm start: the full-data weights
    return np.vstack([_stack(p, n * a_b, start) for a_b in a])


def tidy_weights(w: np.ndarray) -> np.ndarray:
    """Weights below :data:`WEIGHT_FLOOR` (an optimiser's round-off, e.g. 5.55e-17) set to 0, the rest
    renormalised to sum to 1."""
    w = np.asarray(w, float)
    w = np.where(w < WEIGHT_FLOOR, 0.0, w)
    return w / w.sum() if w.sum() > 0 else w


def shown_weight(w):
    """A weight as tables and JSON show it: below :data:`WEIGHT_FLOOR` it is 0 (None and NaN pass through)."""
    if w is None or not np.isfinite(w):
        return w
    return 0.0 if abs(float(w)) < WEIGHT_FLOOR else float(w)


def weight_interval(draws: np.ndarray, point: np.ndarray, ci_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """The replicates' equal-tailed ``ci_prob`` interval per model (columns of ``draws``), widened to hold
    ``point`` (see the module docstring)."""
    lower, upper = np.quantile(np.asarray(draws, float), [(1 - ci_prob) / 2, (1 + ci_prob) / 2], axis=0)
    return np.minimum(lower, point), np.maximum(upper, point)


@dataclass
class ModelWeights:
    """Weights of K models with their Bayesian-bootstrap distribution.

    Attributes
    ----------
    weights : array (K,)
        The point weights (sum 1): stacking of all the data; the replicates' mean for
        ``"bb-pseudo-bma"`` (pseudo-BMA+); ``softmax(elpd)`` for ``"pseudo-bma"``.
    draws : array (n_bootstrap, K)
        The Bayesian-bootstrap replicates.
    lower, upper : array (K,)
        The replicates' equal-tailed ``ci_prob`` interval per model, widened to hold the point weight
        (:func:`weight_interval`).
    method : str
    ci_prob : float
    """

    weights: np.ndarray
    draws: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    method: str
    ci_prob: float


def model_weights(elpd_i: np.ndarray, method: str = "stacking", *, ci_prob: float | None = None,
                  n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> ModelWeights:
    """Weights of the models (columns of ``elpd_i``) by ``method``, with their bootstrap interval.

    Parameters
    ----------
    elpd_i : array (n, K)
        Pointwise log predictive densities, one column per model.
    method : {"stacking", "bb-pseudo-bma", "pseudo-bma"}
    ci_prob : float, optional
        Mass of the reported interval (default ArviZ's ``rcParams["stats.ci_prob"]``).
    n_bootstrap, seed
        Bayesian-bootstrap replicates and the seed of their Dirichlet draws.
    """
    method = check_method(method)
    ci_prob = resolve_ci_prob(ci_prob)
    e = _matrix(elpd_i)
    draws = bootstrap_weights(e, method, n_bootstrap=n_bootstrap, seed=seed)
    if method == "stacking":
        point = stacking_weights(e)
    elif method == "bb-pseudo-bma":
        point = draws.mean(axis=0)
        point = point / point.sum()
    else:
        point = pseudo_bma_weights(e)
    point = tidy_weights(point)
    lower, upper = weight_interval(draws, point, ci_prob)
    return ModelWeights(weights=point, draws=draws, lower=lower, upper=upper, method=method, ci_prob=ci_prob)
