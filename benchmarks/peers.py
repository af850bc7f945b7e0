"""The fits a user would run instead of bayeslaw, on one data set, for ``benchmarks/baselines.py``.

Each method takes a training table ``(X, y)`` (``X``: (inputs, rows) sizes, ``y``: losses) and held-out sizes
``Xt`` and returns new-run loss draws at ``Xt``, shaped (draws, targets), or one row of point predictions:

- ``curve_fit``: ``scipy.optimize.curve_fit``, least squares on log loss, one start (a point fit);
- ``curve_fit_bootstrap``: the same refitted on ``boot`` case resamples; a new run's draw adds a residual of the
  full-data fit (drawn at random) to each resample's prediction, the textbook bootstrap prediction interval;
- ``huber_bootstrap``: Epoch AI's recipe for the Chinchilla refit (Besiroglu et al. 2024): Huber loss
  (delta = 1e-3) on log loss in log-sum-exp form, L-BFGS-B from a grid of starts with the analytic gradient and
  tight tolerances (scipy's defaults stop where they start on this objective: ../shared/MEASURED.md), then the
  case bootstrap started at the full-data optimum, residuals added as above;
- ``numpyro``: NumPyro NUTS written the straightforward way (raw log inputs, diagonal mass, ``MCMC.run`` per
  data set), a Student-t on log loss with weak priors: what a NumPyro user writes in ten minutes.

The law is ``L = E + sum_j A_j * X_j^-alpha_j`` (one term: power law; two: Chinchilla), parametrised as Epoch's
``e = log E``, ``a_j = log A_j``.
"""

from __future__ import annotations

import itertools

import numpy as np

HUBER_DELTA = 1e-3


def _terms(p: np.ndarray, logX: np.ndarray) -> np.ndarray:
    """(1 + inputs, rows) log terms: e, a_j - alpha_j log X_j."""
    k = logX.shape[0]
    return np.vstack([np.full(logX.shape[1], p[0])] + [p[1 + 2 * j] - p[2 + 2 * j] * logX[j] for j in range(k)])


def log_mean(p: np.ndarray, logX: np.ndarray) -> np.ndarray:
    t = _terms(p, logX)
    m = t.max(axis=0)
    return m + np.log(np.exp(t - m).sum(axis=0))


def _huber(p: np.ndarray, logX: np.ndarray, logy: np.ndarray) -> tuple[float, np.ndarray]:
    """Huber loss of log residuals and its analytic gradient."""
    t = _terms(p, logX)
    m = t.max(axis=0)
    w = np.exp(t - m)
    s = w.sum(axis=0)
    r = m + np.log(s) - logy
    w = w / s  # softmax weights: d lse / d term
    small = np.abs(r) <= HUBER_DELTA
    loss = np.where(small, 0.5 * r * r, HUBER_DELTA * (np.abs(r) - 0.5 * HUBER_DELTA)).sum()
    h = np.where(small, r, HUBER_DELTA * np.sign(r))
    g = np.empty_like(p)
    g[0] = (h * w[0]).sum()
    for j in range(logX.shape[0]):
        g[1 + 2 * j] = (h * w[1 + j]).sum()
        g[2 + 2 * j] = -(h * w[1 + j] * logX[j]).sum()
    return float(loss), g


def _lbfgs(p0, logX, logy):
    from scipy.optimize import minimize

    # scaled so the objective is of order one: L-BFGS-B's ftol is absolute below 1, and the raw Huber sum
    # (~1e-3) stops it where it starts
    scale = 1.0 / (HUBER_DELTA * HUBER_DELTA * logy.size)

    def f(p):
        v, g = _huber(p, logX, logy)
        return v * scale, g * scale

    res = minimize(f, p0, jac=True, method="L-BFGS-B", options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 500})
    return res.x, res.fun


def huber_fit(logX, logy, starts: int = 64, seed: int = 0) -> np.ndarray:
    """The best of ``starts`` L-BFGS-B runs from Hoffmann et al.'s grid (e in {-1, -.5, ..., 1}, a in {0, 5, ...,
    25}, alpha in {0, .5, ..., 2}), a random subset of it when the grid is larger."""
    k = logX.shape[0]
    grid = [np.linspace(-1, 1, 5)] + [np.arange(0, 30, 5.0), np.arange(0, 2.5, 0.5)] * k
    full = list(itertools.product(*grid))
    rng = np.random.default_rng(seed)
    pick = [full[i] for i in rng.choice(len(full), min(starts, len(full)), replace=False)]
    best, best_f = None, np.inf
    for p0 in pick:
        p, f = _lbfgs(np.array(p0, float), logX, logy)
        if f < best_f:
            best, best_f = p, f
    return best


def _curve_fit(logX, logy, p0):
    from scipy.optimize import curve_fit

    def model(lx, *p):
        return log_mean(np.array(p), lx)

    p, _ = curve_fit(model, logX, logy, p0=p0, maxfev=20000)
    return p


def _start(logX, logy) -> np.ndarray:
    """A start a user would pick: the floor a bit below the smallest loss, exponent 0.3, A matching the mean."""
    k = logX.shape[0]
    e = np.log(0.8 * np.exp(logy).min())
    p = [e]
    for j in range(k):
        p += [float(np.log(max(np.exp(logy).mean() - np.exp(e), 1e-6) / k) + 0.3 * logX[j].mean()), 0.3]
    return np.array(p)


def _bootstrap(fitter, p_hat, logX, logy, logXt, boot, seed):
    rng = np.random.default_rng(seed)
    resid = logy - log_mean(p_hat, logX)
    out, n = [], logy.size
    for _ in range(boot):
        idx = rng.integers(0, n, n)
        try:
            p = fitter(logX[:, idx], logy[idx], p_hat)
        except (RuntimeError, ValueError, FloatingPointError):
            continue
        out.append(log_mean(p, logXt) + rng.choice(resid, logXt.shape[1]))
    return np.exp(np.array(out))


def curve_fit_point(X, y, Xt, **_):
    lx, ly = np.log(X), np.log(y)
    return np.exp(log_mean(_curve_fit(lx, ly, _start(lx, ly)), np.log(Xt)))[None, :]


def curve_fit_bootstrap(X, y, Xt, boot=1000, seed=0, **_):
    lx, ly = np.log(X), np.log(y)
    p_hat = _curve_fit(lx, ly, _start(lx, ly))
    return _bootstrap(_curve_fit, p_hat, lx, ly, np.log(Xt), boot, seed)


def huber_bootstrap(X, y, Xt, boot=1000, seed=0, starts=64, **_):
    lx, ly = np.log(X), np.log(y)
    p_hat = huber_fit(lx, ly, starts, seed)
    return _bootstrap(lambda a, b, p0: _lbfgs(p0, a, b)[0], p_hat, lx, ly, np.log(Xt), boot, seed)


def straightforward_model(lx, ly=None):
    """The law on raw log inputs ``lx`` (inputs, rows) with weak priors and a Student-t on log loss ``ly``."""
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    e = numpyro.sample("e", dist.Normal(0.0, 2.0))
    terms = [jnp.full(lx.shape[1], e)]
    for j in range(lx.shape[0]):
        a = numpyro.sample(f"a{j}", dist.Normal(0.0, 10.0))
        alpha = numpyro.sample(f"alpha{j}", dist.HalfNormal(1.0))
        terms.append(a - alpha * lx[j])
    mu = jax.nn.logsumexp(jnp.stack(terms), axis=0)
    sigma = numpyro.sample("sigma", dist.HalfNormal(0.2))
    nu = numpyro.sample("nu", dist.Gamma(2.0, 0.1))
    numpyro.sample("obs", dist.StudentT(nu, mu, sigma), obs=ly)


def numpyro_nuts(X, y, Xt, seed=0, num_warmup=1000, num_samples=1000, num_chains=4, **_):
    """NUTS on raw log inputs: e ~ N(0, 2), a_j ~ N(0, 10), alpha_j ~ HalfNormal(1), sigma ~ HalfNormal(0.2),
    nu ~ Gamma(2, 0.1); MCMC.run per data set (it recompiles each time, as users' loops do)."""
    import jax
    import jax.numpy as jnp
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    lx, ly, lxt = jnp.asarray(np.log(X)), jnp.asarray(np.log(y)), jnp.asarray(np.log(Xt))
    k = lx.shape[0]
    mcmc = MCMC(NUTS(straightforward_model), num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                progress_bar=False, chain_method="parallel" if jax.local_device_count() >= num_chains else "sequential")
    mcmc.run(jax.random.PRNGKey(seed), lx, ly, extra_fields=("num_steps",))
    s = mcmc.get_samples()
    p = [s["e"]] + [v for j in range(k) for v in (s[f"a{j}"], s[f"alpha{j}"])]
    terms = jnp.stack([jnp.broadcast_to(p[0][:, None], (p[0].shape[0], lxt.shape[1]))]
                      + [p[1 + 2 * j][:, None] - p[2 + 2 * j][:, None] * lxt[j][None, :] for j in range(k)])
    mu = jax.nn.logsumexp(terms, axis=0)
    eps = dist.StudentT(s["nu"][:, None], jnp.zeros_like(mu), s["sigma"][:, None]).sample(jax.random.PRNGKey(seed + 1))
    steps = float(np.mean(mcmc.get_extra_fields()["num_steps"]))
    draws = np.exp(np.clip(np.asarray(mu + eps), -700, 700))
    return draws, {"steps_per_draw": steps}


METHODS = {"curve_fit": curve_fit_point, "curve_fit_bootstrap": curve_fit_bootstrap,
           "huber_bootstrap": huber_bootstrap, "numpyro": numpyro_nuts}
