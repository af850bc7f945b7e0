"""Fitting: a plan (or a run table) and a law -> the generic model -> NUTS -> :class:`Fit`.

:func:`fit` checks its input through :func:`~bayeslaw.inference.plan.plan_fit` (or takes a
plan), centres the inputs at their geometric means, pads the runs to a shared size, runs NUTS
(:mod:`bayeslaw.inference.sampler`), computes the pointwise log-likelihood and independent
prior draws, builds the DataTree, records the :class:`~bayeslaw.core.spec.FitSpec` and checks
the diagnostics. :func:`refit` fits the same model to other runs (the refits of LOO, LFO, LOGO
and backtests); :func:`refit_batch` fits many data sets at one fit's inputs in one program.
"""

from __future__ import annotations

import gc
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from ..core.law import Law
from ..core.runs import Runs
from ..core.spec import DataRecord, FitSpec, SamplerRecord
from .datatree import build_datatree
from .defaults import FIRST_STAGE_ITERATIONS
from .diagnostics import check_diagnostics
from .model import (COORDINATES_SITE, default_chain_method, fit_draws, make_model, pad, padded_size,
                    prior_arguments, prior_families, prior_refs, reference_scales)
from .persist import Kept, keepable
from .plan import FitPlan, plan_fit
from .pointwise import keeps_pointwise
from .result import Fit
from .sampler import remember, run_nuts


def fit(
    runs: Runs | FitPlan | Any,
    law: str | Law = "chinchilla",
    *,
    x: str | Mapping[str, str] | None = None,
    y: str | None = None,
    priors: Mapping[str, Any] | None = None,
    likelihood: str | None = None,
    run: str | None = None,
    curvature: bool | str = "auto",
    num_warmup: int | None = None,
    num_samples: int | None = None,
    num_chains: int = 4,
    chain_method: str | None = None,
    target_accept_prob: float | None = None,
    dense_mass: bool = True,
    seed: int = 0,
    progress_bar: bool | None = None,
    check: bool = True,
) -> Fit:
    """Fit a scaling law to a run table with NUTS.

    Parameters
    ----------
    runs : Runs, DataFrame, path or FitPlan
        The run table (see :func:`bayeslaw.load_runs`), or a plan made by :func:`bayeslaw.plan_fit`
        (then every other argument but ``progress_bar`` and ``check`` is the plan's).
    law : str or Law, default "chinchilla"
        A catalogue name (``bayeslaw laws``) or a :class:`~bayeslaw.Law`.
    x : str or dict, optional
        For one-input laws, which size column is ``x`` (``"N"``, ``"D"``, ``"C"`` or any
        column); a dict maps size names to columns when ``runs`` is a file/DataFrame.
    y : str, optional
        Loss column when ``runs`` is a file/DataFrame.
    priors : dict, optional
        Overrides of default priors: NumPyro distributions, :class:`~bayeslaw.Prior` objects or
        strings such as ``"Uniform(0, 1)"``, keyed by parameter name (``sigma``/``nu`` too).
    likelihood : str, optional
        The observation model for log(loss), by name (``bayeslaw laws`` lists them). By default
        it follows the data: ``"learning_curve"`` when ``run`` names a column with several rows
        per run (checkpoints), else ``"student_t"`` (a ladder of separate runs). The fit records
        which and why (``Fit.spec.likelihood_reason``).
    run : str, optional
        The run-id column: rows with the same id are checkpoints of one training run.
    curvature : "auto", False, True or "orthogonal", default "auto"
        ``"auto"``: a ladder of separate runs with independent noise and at least 5 runs per parameter gets
        an orthogonal curvature term (``<law>_orthogonal``: the plain law is fitted first, then a quadratic
        misfit in the centred log sizes, orthogonal to the law over the runs, widens the bands beyond the runs
        where they bend away from it; decisions are the law's), other tables the plain law. On the 49 largest
        Chinchilla runs held out its 90% new-run bands cover 0.92, the plain law's 0.69. ``False``: the plain
        law; ``"orthogonal"``: the term whatever the table; ``True``: ``<law>_curved``, the quadratic without
        the projection. The fit records which and why (``Fit.spec.law_reason``).
    num_warmup, num_samples, num_chains, chain_method
        NumPyro MCMC settings (``num_warmup=None``: 1000, or 2000 for a law with its curvature term;
        ``num_samples=None``: 1000, or 2000 for a learning-curve model or a law with an orthogonal curvature term;
        :mod:`bayeslaw.core.budgets` holds them and why).
        ``chain_method=None`` picks ``"parallel"`` when JAX has a device per chain (set
        ``numpyro.set_host_device_count(4)`` before JAX starts; the CLI does), else ``"sequential"``
        (``"vectorized"`` on a GPU).
    target_accept_prob, dense_mass
        NUTS settings (``target_accept_prob=None``: 0.8, or 0.99 for a learning-curve model; dense mass
        matrix by default: the law's parameters are correlated).
    seed : int
        Random seed (0 to 2**32 - 1); the same seed gives bit-identical draws.
    progress_bar : bool, optional
        Show a progress bar (default: only when stderr is a terminal).
    check : bool, default True
        Check diagnostics and warn (:class:`~bayeslaw.DiagnosticWarning`).

    Returns
    -------
    Fit
        ``Fit.idata`` is a DataTree with groups posterior, prior, sample_stats,
        log_likelihood, observed_data and constant_data.

    Examples
    --------
    >>> import bayeslaw
    >>> f = bayeslaw.fit(bayeslaw.example_data_path(), "chinchilla", num_samples=200,
    ...                  num_warmup=200, num_chains=2)  # doctest: +SKIP
    >>> f.summary()  # doctest: +SKIP
    """
    plan = runs if isinstance(runs, FitPlan) else plan_fit(
        runs, law, x=x, y=y, priors=priors, likelihood=likelihood, run=run, curvature=curvature,
        num_warmup=num_warmup,
        num_samples=num_samples, num_chains=num_chains, chain_method=chain_method,
        target_accept_prob=target_accept_prob, dense_mass=dense_mass, seed=seed)
    return run_plan(plan, progress_bar=progress_bar, check=check)


def run_plan(plan: FitPlan, *, progress_bar: bool | None = None, check: bool = True,
             shared_sizes: bool = False) -> Fit:
    """Run a checked plan: NUTS on the centred, padded runs, then the DataTree, spec and diagnostics
    (``shared_sizes``: see :func:`prepare`)."""
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    _collect_dropped_fits()
    prep = prepare(plan, shared_sizes=shared_sizes)   # arrays and cached functions: nothing is traced (sampler.remember is thread-safe)
    s = plan.sampler
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        samples, extra = run_nuts(prep.model, prep.args, cache_key=prep.cache_key,
                                  num_warmup=s.num_warmup, num_samples=s.num_samples, num_chains=s.num_chains,
                                  chain_method=prep.chain_method, dense_mass=s.dense_mass,
                                  target_accept_prob=s.target_accept_prob, seed=s.seed,
                                  progress_bar=bool(progress_bar), persist=prep.persist)
        wall = time.perf_counter() - t0
    return assemble(prep, samples, extra, wall, check=check, stacklevel=4)


#: Bytes of per-draw arrays made by fits since the last garbage collection (see _collect_dropped_fits).
_MADE = [0]
_COLLECT_AFTER = 2 ** 28


def _collect_dropped_fits() -> None:
    """Free the fits a caller has dropped, once they add up to 256 MiB of draws.

    A fit's DataTree holds reference cycles (each node knows its parent), so a dropped fit waits for Python's
    full garbage collection, which comes rarely: RSS grew by 0.18 GB per 3,000-row fit for five fits in a loop
    (0.52 -> 1.61 GB; flat at 0.52 GB with a collection after each). Collecting here, only after that many
    bytes, costs nothing for small fits.
    """
    if _MADE[0] > _COLLECT_AFTER:
        gc.collect()
        _MADE[0] = 0


@dataclass(frozen=True)
class Prepared:
    """A plan made ready for NUTS: the centred inputs, the priors at the runs' scales, the model, and the
    arguments of its compiled program (padded to a shared size) with the key that names the program."""

    plan: FitPlan
    log_ref: dict[str, float]
    refs: dict[str, float]
    dists: dict[str, Any]
    families: Any
    prior_args: Any
    xs: dict[str, Any]
    log_y: Any
    ctx_exact: dict[str, Any] | None
    model: Any
    args: tuple
    cache_key: tuple
    chain_method: str
    persist: bool = False


def prepare(plan: FitPlan, *, first_stage: bool = True, shared_sizes: bool = False) -> Prepared:
    """Everything :func:`run_plan` (or :func:`bayeslaw.fit_many`) needs before sampling a plan (for a law with
    :class:`~bayeslaw.core.law.Derived` numbers, its base law's fit: :func:`derived_constants`; ``first_stage=False``
    leaves that out, for work on draws that carry the numbers already). A filtered model's runs pad to the next
    quarter octave (:func:`~bayeslaw.inference.model.padded_size`), or with ``shared_sizes`` to the next power of
    two, as other models' do: :func:`bayeslaw.fit_many` asks for it, so many data sets of different lengths share
    fewer compiled programs."""
    law, obs, runs, cols, s = plan.law, plan.observation, plan.runs, plan.design, plan.sampler
    raw = {v: runs.frame[c].to_numpy(np.float64) for v, c in cols.items()}
    log_ref = law.centred(reference_scales(raw, runs.loss))  # e.g. U at D's scale, so a law can compare them
    refs = prior_refs(log_ref)
    with jax.enable_x64(True):
        dists = {k: p.resolve(refs) for k, p in plan.priors.items()}
        xs = {v: jnp.asarray(np.log(a) - log_ref[v]) for v, a in raw.items()}
        log_y = jnp.asarray(np.log(runs.loss))
        # supports of Uniform/TruncatedNormal priors depend on their arguments: part of the program's key
        support_key = tuple((k, repr(p), repr(dists[k].support)) for k, p in plan.priors.items())
        families = prior_families(plan.priors)
        prior_args = prior_arguments(plan.priors, refs)
        size = padded_size(len(runs), fine=obs.process is not None and not shared_sizes)
        padded = ({v: jnp.asarray(pad(np.asarray(a), size)) for v, a in xs.items()},
                  jnp.asarray(pad(np.asarray(log_y), size)), jnp.asarray(np.arange(size) < len(runs)))
        ctx_exact = None
        if obs.process is not None:
            ids = plan.run_ids()
            t = np.sum([np.asarray(xs[v]) for v in plan.axis_inputs()], axis=0) + np.zeros(len(runs))
            ctx = {k: jnp.asarray(v) for k, v in obs.process.context(ids, t, size).items()}
            ctx_exact = {k: jnp.asarray(v) for k, v in obs.process.context(ids, t, len(runs)).items()}
            # in row order: the leave-one-out conditionals of a correlated ladder
            ctx_exact["t_rows"] = jnp.asarray(t)
            ctx_exact["g_rows"] = jnp.asarray(np.unique(np.asarray(ids).astype(str), return_inverse=True)[1].ravel())
            padded = (*padded, ctx)
        elif law.derived is not None and first_stage:
            padded = (*padded, {"derived": derived_constants(plan, xs)})
    return Prepared(plan=plan, log_ref=log_ref, refs=refs, dists=dists, families=families, prior_args=prior_args,
                    xs=xs, log_y=log_y, ctx_exact=ctx_exact, model=make_model(law, obs, families),
                    args=(prior_args, *padded), cache_key=(law.name, law.hash, obs.name, support_key),
                    chain_method=s.chain_method or default_chain_method(s.num_chains),
                    persist=keepable(law, obs))


def derived_constants(plan: FitPlan, xs: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a law with :class:`~bayeslaw.core.law.Derived` takes, fixed for this fit: its base law is fitted to
    the same runs first (same observation model, priors and sampler, at most :data:`~bayeslaw.inference.defaults.FIRST_STAGE_ITERATIONS` warmup iterations and draws per chain, no diagnostics) and ``Derived.fn`` gets that
    fit's posterior medians, the runs' centred log inputs and each run's weight in the likelihood there: the
    score of its log density in the mean divided by its residual (1/sigma^2 for normal noise; Student-t noise
    weighs an outlying run down, as iteratively reweighted least squares would)."""
    derived, obs = plan.law.derived, plan.observation
    base = derived.base
    keep = set(base.params) | set(obs.params)
    cap = FIRST_STAGE_ITERATIONS
    sampler = replace(plan.sampler, num_warmup=min(plan.sampler.num_warmup, cap),
                      num_samples=min(plan.sampler.num_samples, cap))
    first = run_plan(replace(plan, law=base, priors={k: p for k, p in plan.priors.items() if k in keep}, law_reason="",
                             sampler=sampler), progress_bar=False, check=False)
    theta0 = {k: np.float64(np.median(first.draws(k))) for k in base.params}
    noise = {k: np.float64(np.median(first.draws(k))) for k in obs.params}
    with jax.enable_x64(True):
        key = ("constants", plan.law.name, plan.law.hash, obs.name)
        fn = remember(_CONSTANTS, key, lambda: Kept(key, jax.jit(_constants_fn(plan.law, obs)),
                                                    keep=keepable(plan.law, obs)))
        return dict(fn(theta0, noise, xs, jnp.asarray(np.log(plan.runs.loss))))


#: Compiled ``Derived`` arithmetic per (law, observation model): one program instead of ~90 small eager ones (each
#: lowered and read from the persistent cache in every new process: ~1 s of a default Chinchilla fit).
_CONSTANTS: dict[tuple, Any] = {}


def _constants_fn(law: Law, obs):
    """The weights and ``Derived.fn`` of :func:`derived_constants`, as one function of the base fit's medians."""
    derived, base = law.derived, law.derived.base

    def constants(theta0, noise, xs, log_y):
        resid = log_y - base.log_mean(xs, **theta0)
        safe = jnp.where(jnp.abs(resid) < 1e-12, 1e-12, resid)
        score = jax.grad(lambda m: jnp.sum(obs.distribution(m, **noise).log_prob(log_y)))(log_y - safe)
        return {k: jnp.asarray(v, dtype=float) for k, v in derived.fn(theta0, xs, score / safe).items()}

    return constants


def assemble(prep: Prepared, samples: dict, extra: dict, wall: float, *, check: bool = True, stacklevel: int = 3,
             chain_method: str | None = None) -> Fit:
    """The :class:`Fit` of a prepared plan from its NUTS draws (chains, draws, ...): pointwise log likelihood,
    prior draws, spec, DataTree and diagnostics (warnings point ``stacklevel`` frames up).

    Nothing here traces a NumPyro model (the pointwise log likelihood, the conventional constants and the prior
    draws are pure JAX, :func:`~bayeslaw.inference.model.fit_draws`), so it runs without
    :data:`~bayeslaw.inference.sampler.TRACE_LOCK`, while other threads trace (``fit_many(method="threads")``)."""
    plan = prep.plan
    law, obs, runs, s, log_ref = plan.law, plan.observation, plan.runs, plan.sampler, prep.log_ref
    samples, extra = dict(samples), dict(extra)
    with jax.enable_x64(True):
        keep = keeps_pointwise(s.num_chains * s.num_samples, len(runs))   # else on demand (inference.pointwise)
        loglik, conventional, prior = fit_draws(law, obs, prep.families, samples, prep.prior_args, prep.xs,
                                                prep.log_y, prep.ctx_exact, s.seed, log_ref, pointwise=keep)
        loglik = None if loglik is None else loglik.reshape(s.num_chains, s.num_samples, -1)
        samples.pop(COORDINATES_SITE, None)

    spec = FitSpec(
        law=law.to_dict(), likelihood=obs.name, priors={k: p.to_dict() for k, p in plan.priors.items()},
        log_ref=log_ref, prior_symbols=prep.refs, likelihood_reason=plan.likelihood_reason,
        law_reason=plan.law_reason,
        data=DataRecord(source=runs.source, columns=dict(runs.columns), derived=dict(runs.derived),
                        groups=tuple(runs.groups), flops_per_param_token=runs.flops_per_param_token,
                        n_runs=len(runs), design=dict(plan.design), hash=runs.data_hash(), run=plan.run,
                        axis=plan.axis, ignored=plan.ignored_columns),
        sampler=SamplerRecord(num_warmup=s.num_warmup, num_samples=s.num_samples, num_chains=s.num_chains,
                              chain_method=chain_method or prep.chain_method, dense_mass=s.dense_mass,
                              target_accept_prob=s.target_accept_prob, seed=s.seed, wall_seconds=round(wall, 3),
                              init="Laplace approximation at the mode (saddle-free damped Newton), per chain",
                              coordinates=law.coordinates.why if law.coordinates else "the law's parameters",
                              laplace_ok=tuple(bool(v) for v in np.ravel(extra.pop("laplace_ok"))),
                              warmup_leapfrog_steps=tuple(int(v) for v in np.ravel(extra.pop("warmup_steps")))),
    )
    idata = build_datatree(law, obs, conventional, extra, loglik, runs, spec, prior=prior)
    _MADE[0] += 2 * (loglik.nbytes if loglik is not None else 0)   # with the posterior predictive
    names = list(law.report) + list(obs.params)
    spec = spec.replace(diagnostics=tuple(check_diagnostics(idata, names, warn=check, stacklevel=stacklevel)))
    return Fit(idata=idata, law=law, spec=spec)
