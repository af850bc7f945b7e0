"""The one generic NumPyro model: any law, any observation model, priors as data.

Sample the law's parameters from their priors (or its :class:`~bayeslaw.Coordinates`, with the
priors carried over by the log-Jacobian), evaluate ``log_mean`` at the centred log inputs, sample
the observation model's parameters, and score ``log(loss)`` under its distribution. Prior
arguments are passed to the compiled sampler as *data*, not baked in as constants, so one
compiled program serves every data set of the same shape (fast repeated fits, warm persistent
cache hits across processes). Runs are padded to a few sizes (:func:`padded_size`) with a mask,
for the same reason.
"""

from __future__ import annotations

import sys
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from ..core import misfit
from ..core.law import Law
from ..core.observation import ObservationModel
from ..core.priors import DISTRIBUTIONS, Prior
from .persist import Kept, keepable
from .sampler import remember

COORDINATES_SITE = "z_coordinates"  # the sample site of a law's Coordinates (not kept in the posterior)


def _restore_submodule_attributes(package: str = "numpyro.distributions") -> None:
    """Set the submodule attributes that a lazily loaded numpyro leaves out.

    arviz-base (1.3) loads numpyro with ``lazy_loader`` when it is imported first (``import arviz_base``,
    or ``arviz_stats``, before ``numpyro``); numpyro's package then lacks the attributes of its
    submodules (``numpyro.distributions.distribution``, ...), although they are imported, and
    ``numpyro.factor`` fails with an AttributeError inside every model that uses it. Python's import
    system sets these attributes on a normal import; this sets the missing ones to the modules in
    ``sys.modules`` (nothing else changes, and a normal import has nothing missing).
    """
    parent = sys.modules.get(package)
    for name, module in list(sys.modules.items()):
        if parent is not None and name.startswith(package + ".") and "." not in name[len(package) + 1:]:
            child = name[len(package) + 1:]
            if module is not None and child not in vars(parent):
                setattr(parent, child, module)


_restore_submodule_attributes()


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
    if coordinates.log_det is not None:  # the law's closed form (tests check it against the one below)
        log_det = coordinates.log_det(z, x)
    else:
        _, log_det = jnp.linalg.slogdet(jax.jacfwd(theta)(z))
    params = dict(zip(param_names, values))
    log_prior = sum(jnp.where(dists[n].support(v), dists[n].log_prob(v), -jnp.inf) for n, v in params.items())
    numpyro.factor("prior_in_coordinates", log_prior + log_det)
    return {name: numpyro.deterministic(name, v) for name, v in params.items()}


def _model(log_mean, param_names, observation, families, prior_args, x, log_y=None, mask=None, coordinates=None,
           ctx=None, derived=None):
    # Priors arrive as plain dicts of numbers (jit arguments with a deterministic order) and are
    # built here; numpyro Distribution pytrees flatten in a hash-seed-dependent order, which made
    # the compiled program differ between processes and defeated JAX's persistent cache.
    dists = {name: DISTRIBUTIONS[fam][0](**prior_args[name]) for name, fam in families}
    params = _sample_params(param_names, dists, coordinates, x)
    if derived is not None:  # numbers the mean takes that are fixed for the fit (core.law.Derived), kept per draw
        params.update({k: numpyro.deterministic(k, ctx["derived"][k]) for k in derived.names})
    mu = log_mean(x, **params)
    noise = {name: numpyro.sample(name, dists[name]) for name in observation.params}
    if observation.process is not None:
        # the filter's one-step-ahead densities (per run, or one sequence along compute): exact, no latent
        # states (padded rows score 0)
        if log_y is not None:
            numpyro.factor("log_loss", jnp.sum(observation.process.log_density(
                log_y - mu, ctx, **observation.process_args(noise))))
        return
    obs = observation.distribution(mu, **noise)
    n = next(iter(x.values())).shape[0]
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


def make_model(law: Law, observation: ObservationModel, families: tuple[tuple[str, str], ...]):
    """The NumPyro model ``model(prior_args, x, log_y=None, mask=None)`` for a law, observation model and
    prior families.

    The same function object is returned for the same inputs, so JAX and NumPyro reuse
    what they compiled for it.
    """
    names = tuple(law.params)

    def make():
        def model(prior_args, x, log_y=None, mask=None, ctx=None):
            _model(law.log_mean, names, observation, families, prior_args, x, log_y, mask, law.coordinates, ctx,
                   law.derived)

        return model

    return remember(_MODELS, (law.name, law.hash, observation.name, families), make)


def log_likelihood_fn(law: Law, observation: ObservationModel, families: tuple[tuple[str, str], ...]):
    """Jitted pointwise log-likelihood of posterior draws (cached per law, observation model, priors).

    ``f(samples, prior_args, xs, log_y, ctx=None)`` with samples flattened over chains; for a
    sequential observation model the values are each row's one-step-ahead conditional density
    (``ctx`` from :func:`bayeslaw.core.statespace.context` at the data's own size), for a correlated
    one each row's exact leave-one-out conditional (:func:`bayeslaw.core.misfit.loo_log_density`;
    ``ctx["t_rows"]``, ``ctx["g_rows"]``: each row's axis and group code, in row order).
    """
    if observation.correlated:
        def make_correlated():
            def one(draw, xs, log_y, ctx):
                mu = law.log_mean(xs, **{k: draw[k] for k in law.mean_params})
                p = observation.process_args({k: draw[k] for k in observation.params})
                return misfit.loo_log_density(log_y - mu, ctx["t_rows"], p["sigma"], p["drift"], p["drift_length"],
                                              ctx["g_rows"])

            def f(samples, prior_args, xs, log_y, ctx):
                return jax.lax.map(lambda d: one(d, xs, log_y, ctx), samples, batch_size=200)

            return jax.jit(f)

        return remember(_LOGLIK, (law.name, law.hash, observation.name, families), make_correlated)
    if observation.sequential:
        def make_sequential():
            def one(draw, xs, log_y, ctx):
                mu = law.log_mean(xs, **{k: draw[k] for k in law.mean_params})
                return observation.process.log_density(log_y - mu, ctx, **{k: draw[k] for k in observation.params})

            return jax.jit(lambda samples, prior_args, xs, log_y, ctx: jax.vmap(
                one, in_axes=(0, None, None, None))(samples, xs, log_y, ctx))

        return remember(_LOGLIK, (law.name, law.hash, observation.name, families), make_sequential)

    rows = independent_log_density_fn(law, observation)   # the same function as the on-demand log likelihood
    return lambda samples, prior_args, xs, log_y: rows(samples, xs, log_y)


_DRAWS: dict[tuple, Any] = {}
#: XLA options of programs that run once per fit on few numbers: compile fast (about 3x), run a little slower.
CHEAP = {"xla_backend_optimization_level": 0}


def draws_fn(law: Law, observation: ObservationModel, families: tuple[tuple[str, str], ...]):
    """One jitted program for the parameters a fit derives from its draws (cached per law, observation model, priors).

    ``f(samples, prior_args, seed, log_ref)`` with ``samples`` shaped (chains, draws, ...) returns (the
    posterior's parameters with the law's conventional constants, independent prior draws (1 chain x
    draws) with theirs): :func:`prior_draws`. Evaluated op by op, this took about 25 small compiled
    programs (3 to 4 s) in a new process; ``log_ref`` is an argument, so refits share the program. A law
    whose ``to_conventional`` needs concrete numbers makes :func:`fit_draws` fall back to eager code.
    """
    def make():
        def f(samples, prior_args, seed, log_ref):
            draws = next(iter(samples.values())).shape[1]
            post = law.conventional({k: v for k, v in samples.items() if k != COORDINATES_SITE}, log_ref)
            return post, prior_draws(law, families, prior_args, seed, log_ref, draws)

        return Kept(("draws", *key), jax.jit(f, compiler_options=CHEAP), keep=keepable(law, observation),
                    compiler_options=CHEAP)

    key = (law.name, law.hash, observation.name, families)
    return remember(_DRAWS, key, make)


def prior_draws(law: Law, families, prior_args, seed, log_ref, num_draws: int) -> dict[str, Any]:
    """Independent prior draws (1 chain x ``num_draws``) of every parameter and conventional constant.

    Prior ``i`` (in ``families``' order) is drawn with key ``i`` of ``fold_in(PRNGKey(seed), 1)`` split
    over the priors. Priors of one family are drawn together (vmapped over their keys and arguments: the
    same numbers), so a compiled program holds one sampler per family (a Gamma sampler takes ~1.5 s to
    compile, and chinchilla has three Gamma priors).
    """
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), 1), len(families))
    by_family: dict[str, list[int]] = {}
    for i, (_, fam) in enumerate(families):
        by_family.setdefault(fam, []).append(i)
    draws = {}
    for fam, idx in by_family.items():
        cls = DISTRIBUTIONS[fam][0]
        args = jax.tree.map(lambda *v: jnp.stack([jnp.asarray(a, dtype=float) for a in v]),
                            *(prior_args[families[i][0]] for i in idx))
        values = jax.vmap(lambda k, a: cls(**a).sample(k, (1, num_draws)))(keys[np.asarray(idx)], args)
        draws.update({families[i][0]: values[j] for j, i in enumerate(idx)})
    return law.conventional({name: draws[name] for name, _ in families}, log_ref)


def fit_draws(law: Law, observation: ObservationModel, families, samples, prior_args, xs, log_y, ctx, seed: int,
              log_ref: Mapping[str, float], pointwise: bool = True):
    """A fit's pointwise log likelihood (chains * draws, rows; None without ``pointwise``), posterior parameters with
    conventional constants and prior draws, as NumPy arrays (:func:`draws_fn`; eagerly when the law's constants
    cannot be traced)."""
    ll = None
    if pointwise:
        loglik = log_likelihood_fn(law, observation, families)
        flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in samples.items()}
        ll = loglik(flat, prior_args, xs, log_y, ctx) if observation.process is not None \
            else loglik(flat, prior_args, xs, log_y)
    args = (samples, prior_args, np.asarray(seed, dtype=np.int64), {k: np.float64(v) for k, v in log_ref.items()})
    try:
        post, prior = draws_fn(law, observation, families)(*args)
    except jax.errors.ConcretizationTypeError:
        post = law.conventional({k: v for k, v in samples.items() if k != COORDINATES_SITE}, log_ref)
        prior = prior_draws(law, families, prior_args, seed, dict(log_ref), next(iter(samples.values())).shape[1])
    ll = None if ll is None else np.asarray(jax.device_get(ll))
    return (ll, *jax.tree.map(np.asarray, jax.device_get((post, prior))))


def independent_log_density_fn(law: Law, observation: ObservationModel):
    """Jitted log density of each row under each draw for rows scored independently (Student-t, normal, ...)."""
    def make():
        def one(draw, xs, log_y):
            mu = law.log_mean(xs, **{k: draw[k] for k in law.mean_params})
            return observation.distribution(mu, **{k: draw[k] for k in observation.params}).log_prob(log_y)

        return Kept(("rows", *key), jax.jit(lambda samples, xs, log_y: jax.lax.map(lambda d: one(d, xs, log_y),
                                                                                   samples, batch_size=64)),
                    keep=keepable(law, observation))

    key = (law.name, law.hash, observation.name, "rows")
    return remember(_LOGLIK, key, make)


def padded_size(n: int, fine: bool = False) -> int:
    """Rows the sampler's program is built for: the next power of two (at least 16), or with ``fine`` the next
    quarter octave (16, 20, 24, 28, 32, 40, 48, ..., 96, 112, 128, 160, ...).

    The runs are padded to this size with masked-out copies of the first run, so fits to
    tables of 129-256 runs (a backtest's or leave-future-out's refits on growing subsets,
    a calibration study's ladders) share one compiled program instead of compiling one per
    size (seconds each). At most half of the likelihood evaluations are wasted, and the
    likelihood is a small part of a step's cost at these sizes. Not so for a model whose
    likelihood is a filter along the rows (``fine``: learning curves, a misfit along compute),
    where each padded row is one more sequential step of every gradient: a 71-checkpoint curve
    padded to 128 rows took 1.2x as long as padded to 80, so those pad to at most a quarter more.
    """
    size = max(16, 1 << (int(n) - 1).bit_length())
    if not fine or size == 16:
        return size
    step = size // 8  # four sizes in (size / 2, size]
    return -(-int(n) // step) * step


def pad(a: np.ndarray, size: int) -> np.ndarray:
    """``a`` padded to ``size`` rows with copies of its first row (masked out by the model)."""
    return np.concatenate([a, np.full(size - a.shape[0], a[0], dtype=a.dtype)])


def reference_scales(inputs: Mapping[str, np.ndarray], loss: np.ndarray) -> dict[str, float]:
    """Log reference scale of each input (mean log) and of the loss (y0 = geometric mean)."""
    refs = {v: float(np.mean(np.log(a))) for v, a in inputs.items()}
    refs["loss"] = float(np.mean(np.log(loss)))
    return refs


def prior_refs(log_ref: Mapping[str, float]) -> dict[str, float]:
    """Values of the prior symbols ``y0`` (geometric mean of the loss) and ``log_y0``."""
    return {"y0": float(np.exp(log_ref["loss"])), "log_y0": float(log_ref["loss"])}


def default_chain_method(num_chains: int) -> str:
    """'parallel' when there is a device per chain, 'vectorized' on one GPU, else 'sequential'."""
    if jax.local_device_count() >= num_chains:
        return "parallel"
    if jax.default_backend() != "cpu":
        return "vectorized"
    return "sequential"
