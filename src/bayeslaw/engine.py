"""The fit engine: run table + law + likelihood -> NumPyro model -> NUTS -> :class:`Fit`.

One generic model serves every law: sample the law's parameters from their
priors, evaluate ``log_mean`` at the centred log inputs, and score ``log(loss)``
under the likelihood (Student-t by default, the Bayesian counterpart of the Huber
loss on log loss used by Hoffmann et al. and Epoch). Prior arguments are passed
to the compiled sampler as *data*, not baked in as constants, so one compiled
program serves every data set of the same shape (fast repeated fits, warm
persistent-cache hits across processes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from .data import SIZE_COLUMNS, Runs, load_runs
from .errors import BayeslawError, DataError, LawError
from .law import Law, Param, get_law
from .priors import DISTRIBUTIONS, Prior, as_prior
from .sampler import remember

# -- likelihoods ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Likelihood:
    """Observation model for log(loss) given the law's log-mean."""

    name: str
    params: Mapping[str, Param]
    description: str


LIKELIHOODS: dict[str, Likelihood] = {
    "student_t": Likelihood(
        "student_t",
        {
            "sigma": Param(Prior("HalfNormal", scale=0.2),
                           "residual scale of log loss: a few % is typical, 20% allowed; scale-free in log space",
                           "scale of the log-loss residuals"),
            "nu": Param(Prior("Gamma", concentration=2.0, rate=0.1),
                        "degrees of freedom: Juarez & Steel (2010) default, mean 20, allows heavy tails (nu < 3)",
                        "degrees of freedom (small = heavy tails, robust to outlying runs)"),
        },
        "Student-t on log(loss) with unknown scale and degrees of freedom (robust; Huber-like)",
    ),
    "normal": Likelihood(
        "normal",
        {"sigma": Param(Prior("HalfNormal", scale=0.2),
                        "residual scale of log loss: a few % is typical, 20% allowed; scale-free in log space",
                        "scale of the log-loss residuals")},
        "Normal on log(loss) with unknown scale (least squares on log loss)",
    ),
}


def get_likelihood(name: str) -> Likelihood:
    if name not in LIKELIHOODS:
        raise LawError(f"Unknown likelihood {name!r}; choose one of: {', '.join(LIKELIHOODS)}.")
    return LIKELIHOODS[name]


def resolve_priors(law: Law, likelihood: Likelihood, overrides: Mapping[str, Any] | None) -> dict[str, Prior]:
    """Default priors of the law and likelihood with user overrides applied."""
    priors = {k: p.prior for k, p in law.params.items()}
    priors.update({k: p.prior for k, p in likelihood.params.items()})
    for key, value in (overrides or {}).items():
        if key not in priors:
            raise LawError(f"Unknown prior name {key!r} for law {law.name!r} with the {likelihood.name} "
                           f"likelihood; valid names: {', '.join(priors)}.")
        priors[key] = as_prior(value, name=key)
    return priors


# -- design: which columns feed which inputs -----------------------------------------------


def design(runs: Runs, law: Law, x: str | None = None) -> dict[str, str]:
    """Map each law input to a run-table column; one-variable laws take ``x=``."""
    if law.inputs == ("x",):
        available = runs.variables
        if x is not None and x in available:
            return {"x": x}
        if x is not None:
            raise DataError(f"x={x!r} is not a size column of the runs; available: {', '.join(available)}.")
        if "x" in available:
            return {"x": "x"}
        # unique tokens U are a size column, but never picked as x unless asked for
        auto = [v for v in available if v != "U"]
        if len(auto) == 1:
            return {"x": auto[0]}
        raise DataError(f"Law {law.name!r} has one size variable and the runs have {', '.join(available)}; "
                        f"choose one with x='D' in Python or --x D on the command line.")
    missing = [v for v in law.inputs if v not in runs.frame.columns]
    if missing:
        have = ", ".join(runs.variables)
        hint = ("map them with x={'N': 'params', ...} (--x N=params) or give two of N, D, C" if missing != ["U"]
                else "add a column of unique training tokens named U or unique_tokens, or map yours with "
                     "x={'U': 'COLUMN'} (--x U=COLUMN)")
        raise DataError(f"Law {law.name!r} needs column(s) {', '.join(missing)} but the runs have {have}; "
                        f"{hint}.")
    return {v: v for v in law.inputs}


# -- the generic model ---------------------------------------------------------------------


COORDINATES_SITE = "z_coordinates"  # the sample site of a law's Coordinates (not kept in the posterior)


def _sample_params(param_names, dists, coordinates, x):
    """The law's parameters: sampled directly, or as deterministic functions of its Coordinates
    with the priors' density carried over by the log-Jacobian (the same model)."""
    if coordinates is None:
        return {name: numpyro.sample(name, dists[name]) for name in param_names}
    z = numpyro.sample(COORDINATES_SITE,
                       dist.ImproperUniform(constraints.real_vector, (), event_shape=(coordinates.size,)))

    def theta(z):
        p = coordinates.to_params(z, x)
        return jnp.stack([p[name] for name in param_names])

    values = theta(z)
    _, log_det = jnp.linalg.slogdet(jax.jacfwd(theta)(z))
    params = dict(zip(param_names, values))
    log_prior = sum(jnp.where(dists[n].support(v), dists[n].log_prob(v), -jnp.inf) for n, v in params.items())
    numpyro.factor("prior_in_coordinates", log_prior + log_det)
    return {name: numpyro.deterministic(name, v) for name, v in params.items()}


def _model(log_mean, param_names, likelihood_name, families, prior_args, x, log_y=None, mask=None,
           coordinates=None):
    # Priors arrive as plain dicts of numbers (jit arguments with a deterministic order) and are
    # built here; numpyro Distribution pytrees flatten in a hash-seed-dependent order, which made
    # the compiled program differ between processes and defeated JAX's persistent cache.
    dists = {name: DISTRIBUTIONS[fam][0](**prior_args[name]) for name, fam in families}
    params = _sample_params(param_names, dists, coordinates, x)
    mu = log_mean(x, **params)
    sigma = numpyro.sample("sigma", dists["sigma"])
    n = next(iter(x.values())).shape[0]
    if likelihood_name == "student_t":
        nu = numpyro.sample("nu", dists["nu"])
        obs = dist.StudentT(nu, mu, sigma)
    else:
        obs = dist.Normal(mu, sigma)
    with numpyro.plate("run", n), numpyro.handlers.mask(mask=True if mask is None else mask):
        numpyro.sample("log_loss", obs, obs=log_y)


_MODELS: dict[tuple, Any] = {}
_LOGLIK: dict[tuple, Any] = {}


def prior_families(priors: Mapping[str, Prior]) -> tuple[tuple[str, str], ...]:
    """(parameter, distribution name) pairs: the static part of the priors."""
    return tuple((k, p.dist) for k, p in priors.items())


def prior_arguments(priors: Mapping[str, Prior], refs: Mapping[str, float]) -> dict[str, dict[str, Any]]:
    """The numeric part of the priors, passed to the compiled model as arguments."""
    return {k: {a: jnp.asarray(v, dtype=float) for a, v in p.resolved_params(refs).items()}
            for k, p in priors.items()}


def make_model(law: Law, likelihood: str, families: tuple[tuple[str, str], ...]):
    """The NumPyro model ``model(prior_args, x, log_y=None)`` for a law, likelihood and prior families.

    The same function object is returned for the same inputs, so JAX and NumPyro reuse
    what they compiled for it.
    """
    names = tuple(law.params)
    lik = get_likelihood(likelihood).name

    def make():
        def model(prior_args, x, log_y=None, mask=None):
            _model(law.log_mean, names, lik, families, prior_args, x, log_y, mask, law.coordinates)

        return model

    return remember(_MODELS, (law.name, law.hash, lik, families), make)


def _log_likelihood_fn(law: Law, likelihood: str, families: tuple[tuple[str, str], ...]):
    """Jitted pointwise log-likelihood of posterior draws (cached per law, likelihood, priors)."""
    model = make_model(law, likelihood, families)

    def make():
        return jax.jit(lambda samples, prior_args, xs, log_y: numpyro.infer.log_likelihood(
            model, samples, prior_args, xs, log_y)["log_loss"])

    return remember(_LOGLIK, (law.name, law.hash, likelihood, families), make)


def padded_size(n: int) -> int:
    """Rows the sampler's program is built for: the next power of two (at least 16).

    The runs are padded to this size with masked-out copies of the first run, so fits to
    tables of 129-256 runs (a backtest's or leave-future-out's refits on growing subsets,
    a calibration study's ladders) share one compiled program instead of compiling one per
    size (seconds each). At most half of the likelihood evaluations are wasted, and the
    likelihood is a small part of a step's cost at these sizes.
    """
    return max(16, 1 << (int(n) - 1).bit_length())


def _pad(a: np.ndarray, size: int) -> np.ndarray:
    return np.concatenate([a, np.full(size - a.shape[0], a[0], dtype=a.dtype)])


def reference_scales(inputs: Mapping[str, np.ndarray], loss: np.ndarray) -> dict[str, float]:
    """Log reference scale of each input (mean log) and of the loss (y0 = geometric mean)."""
    refs = {v: float(np.mean(np.log(a))) for v, a in inputs.items()}
    refs["loss"] = float(np.mean(np.log(loss)))
    return refs


def prior_refs(log_ref: Mapping[str, float]) -> dict[str, float]:
    return {"y0": float(np.exp(log_ref["loss"])), "log_y0": float(log_ref["loss"])}


def default_chain_method(num_chains: int) -> str:
    """'parallel' when there is a device per chain, 'vectorized' on one GPU, else 'sequential'."""
    if jax.local_device_count() >= num_chains:
        return "parallel"
    if jax.default_backend() != "cpu":
        return "vectorized"
    return "sequential"


def _prior_draws(law: Law, dists, log_ref, seed: int, num_draws: int) -> dict[str, np.ndarray]:
    """Independent prior draws (1 chain) of every parameter and conventional constant."""
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), 1), len(dists))
    draws = {k: d.sample(key, (1, num_draws)) for (k, d), key in zip(dists.items(), keys)}
    return {k: np.asarray(v) for k, v in law.conventional(draws, log_ref).items()}


# -- fit -----------------------------------------------------------------------------------


def fit(
    runs: Runs | Any,
    law: str | Law = "chinchilla",
    *,
    x: str | Mapping[str, str] | None = None,
    y: str | None = None,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "student_t",
    num_warmup: int = 1000,
    num_samples: int = 1000,
    num_chains: int = 4,
    chain_method: str | None = None,
    target_accept_prob: float = 0.8,
    dense_mass: bool = True,
    seed: int = 0,
    progress_bar: bool | None = None,
    check: bool = True,
):
    """Fit a scaling law to a run table with NUTS.

    Parameters
    ----------
    runs : Runs, DataFrame or path
        The run table (see :func:`bayeslaw.load_runs`).
    law : str or Law, default "chinchilla"
        A catalogue name (``bayeslaw laws``) or a :class:`Law`.
    x : str or dict, optional
        For one-variable laws, which size column is ``x`` (``"N"``, ``"D"``, ``"C"`` or any
        column); a dict maps canonical names to columns when ``runs`` is a file/DataFrame.
    y : str, optional
        Loss column when ``runs`` is a file/DataFrame.
    priors : dict, optional
        Overrides of default priors: NumPyro distributions, :class:`Prior` objects or
        strings such as ``"Uniform(0, 1)"``, keyed by parameter name (``sigma``/``nu`` too).
    likelihood : {"student_t", "normal"}
        Observation model for log(loss).
    num_warmup, num_samples, num_chains, chain_method
        NumPyro MCMC settings. ``chain_method=None`` picks ``"parallel"`` when JAX has a
        device per chain (set ``numpyro.set_host_device_count(4)`` before JAX starts;
        the CLI does), else ``"sequential"`` (``"vectorized"`` on a GPU).
    target_accept_prob, dense_mass
        NUTS settings (dense mass matrix by default: the law's parameters are correlated).
    seed : int
        Random seed; the same seed gives bit-identical draws.
    progress_bar : bool, optional
        Show NumPyro's progress bar (default: only when stderr is a terminal).
    check : bool, default True
        Check diagnostics and warn (:class:`~bayeslaw.errors.DiagnosticWarning`).

    Returns
    -------
    Fit
        ``Fit.idata`` is a DataTree with groups posterior, sample_stats,
        log_likelihood, observed_data and constant_data.

    Examples
    --------
    >>> import bayeslaw
    >>> f = bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", num_samples=200,
    ...                  num_warmup=200, num_chains=2)  # doctest: +SKIP
    >>> f.summary()  # doctest: +SKIP
    """
    from .result import Fit, build_datatree, check_diagnostics
    from .sampler import run_nuts

    for name, val in (("num_warmup", num_warmup), ("num_samples", num_samples), ("num_chains", num_chains)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise BayeslawError(f"{name} must be a positive integer; got {val!r}.")
    if not 0 < target_accept_prob < 1:
        raise BayeslawError(f"target_accept_prob must be between 0 and 1 (e.g. 0.8 or 0.95); got {target_accept_prob!r}.")
    law = get_law(law)
    lik = get_likelihood(likelihood)
    resolved = resolve_priors(law, lik, priors)
    var = x if isinstance(x, str) else None
    if not isinstance(runs, Runs):
        # a single column that is not N/D/C becomes the generic size variable "x"
        single = var is not None and var not in SIZE_COLUMNS
        runs = load_runs(runs, x=var if single else (x if isinstance(x, Mapping) else None), y=y)
        var = "x" if single else var
    cols = design(runs, law, var)
    n_min = law.n_params + 2
    if len(runs) < n_min:
        raise DataError(f"{runs.source} has {len(runs)} runs, but law {law.name!r} has {law.n_params} parameters "
                        f"and needs at least {n_min} (parameters + 2); add runs or choose a simpler law.")

    raw = {v: runs.frame[c].to_numpy(np.float64) for v, c in cols.items()}
    loss = runs.loss
    log_ref = law.centred(reference_scales(raw, loss))  # e.g. U at D's scale, so a law can compare them
    refs = prior_refs(log_ref)
    chain_method = chain_method or default_chain_method(num_chains)
    if progress_bar is None:
        import sys

        progress_bar = sys.stderr.isatty()

    with jax.enable_x64(True):
        dists = {k: p.resolve(refs) for k, p in resolved.items()}
        xs = {v: jnp.asarray(np.log(a) - log_ref[v]) for v, a in raw.items()}
        log_y = jnp.asarray(np.log(loss))
        # supports of Uniform/TruncatedNormal priors depend on their arguments: part of the program's key
        support_key = tuple((k, repr(p), repr(dists[k].support)) for k, p in resolved.items())
        t0 = time.perf_counter()
        families = prior_families(resolved)
        prior_args = prior_arguments(resolved, refs)
        size = padded_size(len(runs))
        padded = ({v: jnp.asarray(_pad(np.asarray(a), size)) for v, a in xs.items()},
                  jnp.asarray(_pad(np.asarray(log_y), size)), jnp.asarray(np.arange(size) < len(runs)))
        samples, extra = run_nuts(make_model(law, lik.name, families), (prior_args, *padded),
                                  cache_key=(law.name, law.hash, lik.name, support_key),
                                  num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                                  chain_method=chain_method, dense_mass=dense_mass,
                                  target_accept_prob=target_accept_prob, seed=seed,
                                  progress_bar=bool(progress_bar))
        wall = time.perf_counter() - t0
        flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in samples.items()}
        loglik = _log_likelihood_fn(law, lik.name, families)(flat, prior_args, xs, log_y)
        loglik = np.asarray(loglik).reshape(num_chains, num_samples, -1)
        samples.pop(COORDINATES_SITE, None)
        conventional = {k: np.asarray(v) for k, v in law.conventional(samples, log_ref).items()}
        prior = _prior_draws(law, dists, log_ref, seed, num_draws=num_samples)

    spec = {
        "law": law.to_dict(),
        "likelihood": lik.name,
        "priors": {k: p.to_dict() for k, p in resolved.items()},
        "reference_scales": {"log": log_ref, "prior_symbols": refs},
        "data": {**runs.to_dict(), "design": cols, "hash": runs.data_hash()},
        "sampler": {"algorithm": "NUTS", "num_warmup": num_warmup, "num_samples": num_samples,
                    "num_chains": num_chains, "chain_method": chain_method, "dense_mass": dense_mass,
                    "target_accept_prob": target_accept_prob, "seed": seed, "wall_seconds": round(wall, 3),
                    "init": "Laplace approximation at the mode (damped Newton), per chain",
                    "coordinates": law.coordinates.why if law.coordinates else "the law's parameters",
                    "laplace_ok": [bool(v) for v in np.ravel(extra.pop("laplace_ok"))],
                    "warmup_leapfrog_steps": [int(v) for v in np.ravel(extra.pop("warmup_steps"))]},
    }
    idata = build_datatree(law, lik, conventional, extra, loglik, runs, cols, spec, prior=prior)
    result = Fit(idata=idata, law=law, spec=spec)
    result.spec["diagnostics"] = check_diagnostics(result, warn=check)
    return result


# -- many data sets at once ----------------------------------------------------------------


def refit_batch(fit, log_y: np.ndarray, *, num_warmup: int = 500, num_samples: int = 500, num_chains: int = 2,
                seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Refit ``fit``'s law, likelihood and priors to B new vectors of log loss at its runs' inputs.

    ``log_y`` is (B, runs). All B fits run in one compiled, vectorised NUTS program (the
    simulated data sets of a recalibration or a calibration study); each data set's priors are
    resolved from its own loss scale, as :func:`fit` would. Returns (samples, extra fields)
    shaped (B, chains, draws, ...), in the law's sampled parameterisation.
    """
    from .sampler import run_nuts_batch

    law = fit.law
    lik = get_likelihood(fit.spec["likelihood"])
    resolved = {k: Prior.from_dict(d) for k, d in fit.spec["priors"].items()}
    log_y = np.atleast_2d(np.asarray(log_y, dtype=float))
    batch, n = log_y.shape
    const = fit.idata["constant_data"]
    log_ref = fit.log_ref
    xs = {v: np.log(np.asarray(const[col].values, float)) - log_ref[v]
          for v, col in fit.spec["data"]["design"].items()}
    if next(iter(xs.values())).shape[0] != n:
        raise BayeslawError(f"log_y has {n} columns but the fit has {next(iter(xs.values())).shape[0]} runs.")
    families = prior_families(resolved)
    size = padded_size(n)
    with jax.enable_x64(True):
        per_set = [prior_arguments(resolved, prior_refs({"loss": float(np.mean(row))})) for row in log_y]
        prior_args = jax.tree.map(lambda *v: jnp.stack(v), *per_set)
        args = (prior_args,
                {v: jnp.asarray(np.broadcast_to(_pad(a, size), (batch, size))) for v, a in xs.items()},
                jnp.asarray(np.stack([_pad(row, size) for row in log_y])),
                jnp.asarray(np.broadcast_to(np.arange(size) < n, (batch, size))))
        support_key = tuple((k, repr(p)) for k, p in resolved.items())
        samples, extra = run_nuts_batch(make_model(law, lik.name, families), args,
                                        cache_key=(law.name, law.hash, lik.name, support_key),
                                        num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                                        dense_mass=fit.spec["sampler"]["dense_mass"],
                                        target_accept_prob=fit.spec["sampler"]["target_accept_prob"], seed=seed)
    samples.pop(COORDINATES_SITE, None)
    return samples, extra
