"""Residuals that remember along a run: an exact Kalman filter for drift plus jitter.

Checkpoints of one training run do not scatter independently around a law: the run drifts
away from it and stays away for a while. Along a run's axis ``t`` (the log of its size, e.g.
log tokens seen), its residuals ``r = log(loss) - law`` are modelled as

    r(t) = u(t) + w(t) + e(t)

- ``u``: an Ornstein-Uhlenbeck process (Matern 1/2), stationary sd ``drift``, correlation
  ``exp(-|dt| / drift_length)``: the run's own excursions from the law;
- ``w``: a Wiener process started at zero at the run's first checkpoint, variance ``diffusion**2``
  per unit of ``t``: a departure that keeps growing (its variance grows without bound with the
  distance beyond the data, so extrapolated bands keep widening);
- ``e``: independent Gaussian jitter, sd ``sigma`` (evaluation noise of one checkpoint).

The process is a two-state linear-Gaussian state-space model, so the likelihood is computed
exactly and in O(n) by a Kalman filter in :func:`jax.lax.scan` with no latent states for NUTS
to sample (latent residuals made a funnel that diverged in most fits). The filter's terms are
the one-step-ahead conditional densities ``p(r_i | r_<i)`` of each run, which sum to the joint
log likelihood: they are the pointwise log likelihoods of a sequential fit. The filtered state
after each checkpoint gives forecasts of later checkpoints of the same run (:func:`forecast`).

Rows arrive in a fit's own order; :func:`context` sorts them by run and ``t`` once (in NumPy),
and the model gathers them into that order.
"""

from __future__ import annotations

from typing import Mapping

import jax
import jax.numpy as jnp
import numpy as np

STATE = ("mo", "mw", "Poo", "Pow", "Pww", "t")
"""The filtered state after a checkpoint: means of u and w, their covariance, and its t."""


def context(run_ids: np.ndarray, t: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Arrays that let the model filter padded rows run by run in order of ``t``.

    ``order`` lists row indices sorted by run, then ``t`` (padded rows, from ``len(t)`` to
    ``size``, last); ``start`` marks each run's first row in that order; ``t`` and ``mask`` are in
    that order; ``position`` is each row's place in the sorted order (to scatter results back).
    """
    n = len(t)
    codes = np.unique(np.asarray(run_ids), return_inverse=True)[1].reshape(-1)
    order = np.lexsort((np.asarray(t, float), codes))
    full = np.concatenate([order, np.arange(n, size)]).astype(np.int32)
    sorted_codes = codes[order]
    start = np.zeros(size, bool)
    start[:n] = np.concatenate([[True], sorted_codes[1:] != sorted_codes[:-1]]) if n else []
    start[n:] = True  # padded rows: each a run of its own (masked out)
    t_sorted = np.concatenate([np.asarray(t, float)[order], np.zeros(size - n)])
    position = np.empty(size, np.int32)
    position[full] = np.arange(size, dtype=np.int32)
    return {"order": full, "position": position, "start": start, "t": t_sorted,
            "mask": np.arange(size) < n}


def _step(params, carry, row):
    drift, drift_length, diffusion, sigma = params
    mo, mw, Poo, Pow, Pww, tp = carry
    r, t, start, mask = row
    dt = jnp.where(start, 0.0, t - tp)
    phi = jnp.exp(-dt / drift_length)
    s2 = drift * drift
    mo_p = jnp.where(start, 0.0, phi * mo)
    mw_p = jnp.where(start, 0.0, mw)
    Poo_p = jnp.where(start, s2, phi * phi * Poo + s2 * (1.0 - phi * phi))
    Pow_p = jnp.where(start, 0.0, phi * Pow)
    Pww_p = jnp.where(start, 0.0, Pww + diffusion * diffusion * dt)
    a, b = Poo_p + Pow_p, Pow_p + Pww_p  # cov(u + w, u), cov(u + w, w)
    S = a + b + sigma * sigma
    v = r - mo_p - mw_p
    ka, kb = a / S, b / S
    ll = -0.5 * (jnp.log(2.0 * jnp.pi * S) + v * v / S)
    new = (mo_p + ka * v, mw_p + kb * v, Poo_p - ka * a, Pow_p - ka * b, Pww_p - kb * b, t)
    out = tuple(jnp.where(mask, n_, o_) for n_, o_ in zip(new, carry))
    return out, (jnp.where(mask, ll, 0.0), out)


def _step_ou(params, carry, row):
    """:func:`_step` without the Wiener component (one state, not two): what a model with no ``diffusion``
    parameter runs, at about two thirds of the cost per row."""
    drift, drift_length, sigma = params
    mo, Poo, tp = carry
    r, t, start, mask = row
    dt = jnp.where(start, 0.0, t - tp)
    phi = jnp.exp(-dt / drift_length)
    s2 = drift * drift
    mo_p = jnp.where(start, 0.0, phi * mo)
    Poo_p = jnp.where(start, s2, phi * phi * Poo + s2 * (1.0 - phi * phi))
    S = Poo_p + sigma * sigma
    v = r - mo_p
    k = Poo_p / S
    ll = -0.5 * (jnp.log(2.0 * jnp.pi * S) + v * v / S)
    new = (mo_p + k * v, Poo_p - k * Poo_p, t)
    out = tuple(jnp.where(mask, n_, o_) for n_, o_ in zip(new, carry))
    return out, (jnp.where(mask, ll, 0.0), out)


def filter_residuals(r_sorted, ctx: Mapping[str, jnp.ndarray], sigma, drift, drift_length, diffusion=0.0,
                     *, states: bool = False):
    """One-step-ahead log densities of residuals already in ``ctx``'s sorted order.

    Returns the pointwise log densities (0 on masked rows), and with ``states=True`` also the
    filtered state after each row (a tuple of arrays named by :data:`STATE`). A ``diffusion`` given as
    the number 0 (not an array) runs the one-state filter of the Ornstein-Uhlenbeck part alone.
    """
    zero = jnp.zeros((), r_sorted.dtype)
    rows = (r_sorted, ctx["t"], ctx["start"], ctx["mask"])
    if isinstance(diffusion, (int, float)) and diffusion == 0:
        _, (ll, (mo, Poo, t)) = jax.lax.scan(lambda c, row: _step_ou((drift, drift_length, sigma), c, row),
                                             (zero,) * 3, rows)
        z = jnp.zeros_like(mo)
        return (ll, (mo, z, Poo, z, z, t)) if states else ll
    diffusion = jnp.asarray(diffusion, r_sorted.dtype)
    params = (drift, drift_length, diffusion, sigma)
    _, (ll, st) = jax.lax.scan(lambda c, row: _step(params, c, row), (zero,) * 6, rows)
    return (ll, st) if states else ll


def log_density(r, ctx: Mapping[str, jnp.ndarray], sigma, drift, drift_length, diffusion=0.0):
    """Pointwise one-step-ahead log densities of residuals ``r`` in the fit's row order."""
    ll = filter_residuals(r[ctx["order"]], ctx, sigma, drift, drift_length, diffusion)
    return ll[ctx["position"]]


def forecast(state, t_new, drift, drift_length, diffusion=0.0):
    """Mean and variance of ``u + w`` at ``t_new`` given a filtered ``state`` at an earlier t.

    ``state`` is a tuple (mo, mw, Poo, Pow, Pww, t) of arrays that broadcast with ``t_new``;
    a target before the state's t is treated as at it (the filter does not smooth backwards).
    """
    mo, mw, Poo, Pow, Pww, t = state
    dt = jnp.maximum(t_new - t, 0.0)
    phi = jnp.exp(-dt / drift_length)
    mean = phi * mo + mw
    var = phi * phi * Poo + drift * drift * (1.0 - phi * phi) + 2.0 * phi * Pow + Pww + diffusion * diffusion * dt
    return mean, var


def simulate(rng: np.random.Generator, t: np.ndarray, *, sigma: float, drift: float, drift_length: float,
             diffusion: float = 0.0) -> np.ndarray:
    """One run's residuals at checkpoints ``t`` (increasing) drawn from the process (NumPy): OU departure,
    Wiener departure from the first checkpoint (when ``diffusion`` > 0) and jitter. For synthetic learning
    curves with a known drift (tests, calibration studies)."""
    t = np.asarray(t, float)
    n = len(t)
    u = np.empty(n)
    u[0] = drift * rng.standard_normal()
    for i in range(1, n):
        phi = np.exp(-(t[i] - t[i - 1]) / drift_length)
        u[i] = phi * u[i - 1] + drift * np.sqrt(1 - phi ** 2) * rng.standard_normal()
    if diffusion > 0:
        u = u + np.concatenate([[0.0], np.cumsum(diffusion * np.sqrt(np.diff(t)) * rng.standard_normal(n - 1))])
    return u + sigma * rng.standard_normal(n)


def prior_state(t0, drift):
    """The state of a run before its first checkpoint at ``t0``: u stationary, w zero."""
    z = jnp.zeros_like(jnp.asarray(t0, dtype=float))
    return (z, z, z + drift * drift, z, z, z + t0)
