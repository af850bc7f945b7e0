"""A ladder's smooth misfit of the law along compute, as a Gaussian process: dense conditionals.

The ``compute_misfit`` observation model says a ladder's residuals ``r = log(loss) - law`` are

    r(t) = u(t) + e

with ``t`` the centred log of compute (the sum of the centred log inputs N and D, or the
law's single size), ``u`` an Ornstein-Uhlenbeck process (stationary sd ``drift``, correlation
``exp(-|dt| / drift_length)``: where the law bends away from the runs, nearby runs share the
misfit) and ``e`` independent Gaussian noise (sd ``sigma``: seeds, data order). The sampler
scores it in O(n) with the Kalman filter of :mod:`bayeslaw.core.statespace` (one sequence,
ordered by ``t``). This module does what needs the whole covariance, once per posterior draw:

- :func:`loo_log_density`: exact leave-one-out conditionals ``log p(r_i | r_-i)``, the
  pointwise log likelihoods PSIS-LOO needs for a non-factorised normal model (Bürkner, Gabry and
  Vehtari 2021, "Efficient leave-one-out cross-validation for Bayesian non-factorized normal and
  Student-t models"): with ``g = K^-1 r`` and ``c = diag(K^-1)``, the conditional is normal with
  mean ``r_i - g_i / c_i`` and variance ``1 / c_i``;
- :func:`conditional`: the misfit ``u`` at new compute values given every fitted residual (mean
  and variance); beyond the largest run it relaxes from the misfit there to the stationary
  spread, so extrapolated bands carry the law's own misfit.

The ``grouped`` observation model uses the same algebra with group codes: a constant ``t`` makes
the process one offset per group (a random intercept of sd ``drift``), independent across groups.

Functions take one draw's parameters; :func:`over_draws` maps them over posterior draws in
batches so that memory stays at a few hundred n-by-n matrices.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

_JITTER = 1e-10  # added to the covariance's diagonal for a Cholesky factor that never fails


def covariance(t1, t2, drift, drift_length, g1=None, g2=None):
    """The misfit's covariance between compute values ``t1`` (n,) and ``t2`` (m,): (n, m). With group codes
    ``g1``, ``g2`` rows of different groups are independent (the ``grouped`` model: constant ``t``, so each
    group shares one offset of sd ``drift``)."""
    k = drift * drift * jnp.exp(-jnp.abs(t1[:, None] - t2[None, :]) / drift_length)
    return k if g1 is None else k * (g1[:, None] == g2[None, :])


def _factor(t, sigma, drift, drift_length, g=None):
    k = covariance(t, t, drift, drift_length, g, g) + (sigma * sigma + _JITTER) * jnp.eye(t.shape[0], dtype=t.dtype)
    return jax.scipy.linalg.cho_factor(k, lower=True)


def loo_log_density(r, t, sigma, drift, drift_length, g=None):
    """Exact leave-one-out conditional log densities of residuals ``r`` at compute ``t`` (groups ``g``): (n,)."""
    cf = _factor(t, sigma, drift, drift_length, g)
    k_inv = jax.scipy.linalg.cho_solve(cf, jnp.eye(t.shape[0], dtype=t.dtype))
    g = k_inv @ r
    c = jnp.diag(k_inv)
    return -0.5 * (jnp.log(2.0 * jnp.pi) - jnp.log(c) + g * g / c)


def conditional(r, t, t_new, sigma, drift, drift_length, g=None, g_new=None):
    """Mean and variance of the misfit ``u`` at ``t_new`` (m,) given residuals ``r`` at ``t`` (n,); with group
    codes ``g`` and ``g_new`` (a code no fitted row has: a new group)."""
    cf = _factor(t, sigma, drift, drift_length, g)
    k_star = covariance(t, t_new, drift, drift_length, g, g_new)
    mean = k_star.T @ jax.scipy.linalg.cho_solve(cf, r)
    v = jax.scipy.linalg.solve_triangular(cf[0], k_star, lower=True)
    var = jnp.maximum(drift * drift - jnp.sum(v * v, axis=0), 0.0)
    return mean, var


def over_draws(f: Callable, per_draw: tuple, shared: tuple, *, batch: int = 200):
    """``f(*draw_args, *shared)`` for every posterior draw (the leading axis of each ``per_draw`` array),
    in batches of ``batch`` draws; returns what ``f`` returns, stacked over draws (NumPy)."""
    with jax.enable_x64(True):
        per_draw = tuple(jnp.asarray(a, dtype=float) for a in per_draw)
        shared = tuple(jnp.asarray(a, dtype=float) for a in shared)
        out = jax.lax.map(lambda args: f(*args, *shared), per_draw, batch_size=batch)
        return jax.tree_util.tree_map(lambda a: np.asarray(a, float), out)
