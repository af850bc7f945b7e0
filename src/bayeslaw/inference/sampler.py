"""NUTS runs with a compiled program that is reused across fits.

``numpyro.infer.MCMC`` builds a new ``pmap`` on every ``run`` (so parallel chains
recompile the whole sampler for every fit: ~3 s of an ~9 s fit here). This module
drives NumPyro's own NUTS kernel (``numpyro.infer.hmc.hmc``, the functional API that
MCMC uses internally) from one compiled program per (model, settings, data shape),
cached in memory: data and priors are arguments, so a second fit of the same law to
data of the same shape starts sampling at once, and the program is also stable
across processes for JAX's persistent compilation cache.
"""

from __future__ import annotations

import threading
import warnings
from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from numpyro.infer.hmc import hmc
from numpyro.infer.initialization import init_to_uniform

from .persist import exported, shapes, use_persistent_cache
from .start import CHEAP, Starter, laplace_start

EXTRA_FIELDS = ("diverging", "num_steps", "energy", "potential_energy", "accept_prob", "step_size")

_PROGRAMS: dict[tuple, Callable] = {}
#: NumPyro's effect handlers keep one global stack, so tracing a model (the first call of the start's and the
#: sampler's programs, see _Once) is one thread at a time; running a compiled program is not, nor is tracing pure
#: JAX (a fit's pointwise log likelihood, constants and prior draws: model.fit_draws).
TRACE_LOCK = threading.RLock()
_CACHE_SIZE = 16
_PROGRESS_EVERY = 50


def remember(cache: dict, key: tuple, make: Callable[[], Callable]) -> Callable:
    """A tiny bounded cache (oldest entry evicted): compiled programs are reused across fits.

    Safe in threads: a hit is one dictionary lookup; a miss is filled under :data:`TRACE_LOCK` (``make`` only
    wraps functions, it traces nothing), so two threads make one entry and an eviction never meets an insertion.
    """
    found = cache.get(key)
    if found is not None:
        return found
    with TRACE_LOCK:
        if key not in cache:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = make()
        return cache[key]


class _Once:
    """A compiled program whose first call (the one that traces the model) holds :data:`TRACE_LOCK`; later
    calls run without it, so fits in several threads sample at the same time (a thread that waited for the
    first call runs its own without the lock). ``quiet``: a warning message (regex) silenced while tracing.
    ``export``: ``(key, in_shardings, out_shardings, compiler_options)`` of a program kept on disk
    (:func:`~bayeslaw.inference.persist.exported`): the first call reads it, or exports and saves it."""

    def __init__(self, fn: Callable, quiet: str | None = None, export: tuple | None = None):
        self.fn, self.ready, self.quiet, self.export = fn, False, quiet, export

    def __call__(self, *args):
        if not self.ready:
            with TRACE_LOCK:
                if not self.ready:
                    with warnings.catch_warnings():   # the filters are global: changed under the lock only
                        if self.quiet:
                            warnings.filterwarnings("ignore", message=self.quiet, category=UserWarning)
                        if self.export is not None:
                            key, ins, outs, options = self.export
                            self.fn = exported(key, self.fn, args, in_shardings=ins, out_shardings=outs,
                                               compiler_options=options) or self.fn
                        out = self.fn(*args)
                    self.ready = True
                    return out
        return self.fn(*args)


class _Progress:
    """A tqdm bar fed from inside the compiled loop by ``jax.debug.callback``."""

    def __init__(self) -> None:
        self.bar, self.desc = None, ""
        self.lock = threading.Lock()

    def start(self, total: int, desc: str) -> None:
        """A bar that says it is preparing (starts, tracing, compiling or loading the program: seconds on a law's
        first fit) until the first iterations arrive, then ``desc``."""
        from tqdm.auto import tqdm

        self.desc = desc
        self.bar = tqdm(total=total, desc=f"{desc}: preparing (compiles on a law's first fit)", unit="it",
                        leave=False, dynamic_ncols=True)

    def tick(self, n) -> None:
        with self.lock:
            if self.bar is not None:
                if self.bar.n == 0:
                    self.bar.set_description(self.desc, refresh=False)
                self.bar.update(int(n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


_PROGRESS = _Progress()


def _make_program(potential_fn_gen, postprocess_fn_gen, *, num_warmup: int, num_samples: int, num_chains: int,
                  chain_method: str, dense_mass: bool, target_accept_prob: float, progress: bool,
                  laplace_init: bool = True, batched: bool = False) -> Callable:
    """The NUTS program ``program(keys, start, args)``, chains on the leading axis of ``keys`` and ``start``, and
    its ``(in_shardings, out_shardings)`` (None: not sharded).

    ``start`` is ``(z0, Laplace covariance, ok)`` from :class:`~bayeslaw.inference.start.Starter` (the
    Laplace start made in a program of its own); with ``batched`` it is the chains' initial points and the
    Laplace start runs inside (per data set, on the vectorised axis).

    NUTS moves in whitened coordinates u, z = z0 + L u with L L^T the Laplace covariance (the identity
    where the Laplace start failed), starting at u = 0 with an identity metric that warmup adapts. The
    target is the same (an affine map: the log-Jacobian is a constant). NumPyro's (Stan's) metric
    estimate adds 1e-3 * 5 / (n + 5) to the variances; in the law's own coordinates, where the posterior
    narrows as rows are added, that term outgrew the posterior's variances (steps per draw rose from 6 at
    30 rows to 123 at 30,000); in u the posterior's variances are about 1 at any size.
    """

    def one_chain(rng_key, start, args):
        if batched:
            z0, cov, ok = start, None, jnp.asarray(False)
            if laplace_init:
                rng_key, k_start = jax.random.split(rng_key)
                z0, cov, ok = laplace_start(potential_fn_gen(*args), z0, k_start)
        else:
            z0, cov, ok = start
        flat0, unravel = ravel_pytree(z0)
        chol = jnp.eye(flat0.shape[0], dtype=flat0.dtype) if cov is None else jnp.linalg.cholesky(cov)
        init_kernel, sample_kernel = hmc(
            potential_fn_gen=lambda a, m, L: (lambda u: potential_fn_gen(*a)(unravel(m + L @ u))), algo="NUTS")
        margs = (args, flat0, chol)

        def iteration(s, _):
            s = sample_kernel(s, model_args=margs)
            if progress:
                jax.lax.cond(s.i % _PROGRESS_EVERY == 0,
                             lambda: jax.debug.callback(_PROGRESS.tick, _PROGRESS_EVERY), lambda: None)
            return s, (s.z, s.diverging, s.num_steps, s.energy, s.potential_energy, s.accept_prob,
                       s.adapt_state.step_size)

        state = init_kernel(jnp.zeros_like(flat0), num_warmup, dense_mass=dense_mass,
                            target_accept_prob=target_accept_prob, model_args=margs, rng_key=rng_key)
        # warmup and draws in one scan: one copy of the NUTS kernel in the program (two loops compiled it twice)
        _, (u, *extra) = jax.lax.scan(iteration, state, None, length=num_warmup + num_samples)
        warm_steps = jnp.sum(extra[1][:num_warmup], dtype=jnp.int64)
        u, extra = jax.tree.map(lambda v: v[num_warmup:], (u, extra))
        post = postprocess_fn_gen(*args)
        params = jax.vmap(lambda q: post(unravel(flat0 + chol @ q)))(u)
        return params, dict(zip(EXTRA_FIELDS, extra)) | {"warmup_steps": warm_steps, "laplace_ok": ok}

    if batched:
        # data sets on the outer axis (keys, starts and data batched), chains on the inner
        return jax.jit(jax.vmap(jax.vmap(one_chain, in_axes=(0, 0, None)), in_axes=(0, 0, 0))), None
    if chain_method == "parallel":
        # one chain per device (as pmap ran them), as a jit of shard_map: a program jax.export can keep
        mesh = jax.make_mesh((num_chains,), ("chain",), devices=jax.local_devices()[:num_chains],
                             axis_types=(jax.sharding.AxisType.Auto,))
        chains, shared = NamedSharding(mesh, P("chain")), NamedSharding(mesh, P())

        def local(keys, start, args):
            out = one_chain(keys[0], jax.tree.map(lambda v: v[0], start), args)
            return jax.tree.map(lambda v: v[None], out)

        body = jax.shard_map(local, mesh=mesh, in_specs=(P("chain"), P("chain"), P()), out_specs=P("chain"),
                             check_vma=False)   # NumPyro's kernel does not mark per-chain values as varying
        shardings = ((chains, chains, shared), chains)
        return jax.jit(body, in_shardings=shardings[0], out_shardings=shardings[1]), shardings
    if chain_method == "vectorized":
        return jax.jit(jax.vmap(one_chain, in_axes=(0, 0, None))), None
    if chain_method == "sequential":   # one chain after another, in one program
        return jax.jit(lambda keys, z0, args: jax.lax.map(lambda kz: one_chain(*kz, args), (keys, z0))), None
    raise ValueError(f"chain_method must be 'parallel', 'vectorized' or 'sequential'; got {chain_method!r}")


_STARTERS: dict[tuple, tuple] = {}


def _initialize(model, model_args: tuple, seed: int, num_chains: int, init_strategy, cache_key: tuple,
                laplace: bool = False, persist: bool = False):
    """The model's ModelInfo getter (its potential and postprocess generators; see :meth:`Starter.model_info`), the
    chains' starts, the run key and the chains' run keys: one compiled program per model and argument shapes
    (:class:`~bayeslaw.inference.start.Starter`), kept on disk with ``persist`` (:mod:`~bayeslaw.inference.persist`)."""
    # compiled at the lowest optimisation up to 8192 rows (the Laplace start's ~10 Newton passes then cost little);
    # beyond, running it at half speed would cost more than compiling it fully
    cheap = max((int(np.size(leaf)) for leaf in jax.tree.leaves(model_args)), default=0) <= 8192
    key = (cache_key, shapes(model_args), num_chains, init_strategy, laplace)
    # a start strategy is a function: only NumPyro's default has a name that is the same in every process
    keep = ("starts", key[:2], num_chains, laplace, cheap) if persist and init_strategy is init_to_uniform else None
    starter, starts = remember(_STARTERS, key, lambda: _starter(model, num_chains, init_strategy, laplace, cheap,
                                                               keep))
    seed = np.asarray(seed, dtype=np.int64)
    z0, k_run, keys = starts(seed, model_args)
    return (lambda: starter.model_info(seed, model_args)), z0, k_run, keys


def _starter(model, num_chains: int, init_strategy, laplace: bool, cheap: bool,
             keep: tuple | None) -> tuple[Starter, _Once]:
    """A :class:`Starter` and its program, whose first call traces the model under :data:`TRACE_LOCK` (or, with
    ``keep``, reads the program exported under that key, or exports it).

    NumPyro validates the model's evaluation while tracing the start; a law sampled in other coordinates
    evaluates each prior's log density at the mapped point and masks it where it is out of the support (a
    narrower prior, e.g. Uniform(0.2, 0.4)), so the warning about it says nothing and is silenced.
    """
    starter = Starter(model, num_chains, init_strategy, laplace, cheap)
    export = None if keep is None else (keep, None, None, CHEAP if laplace and cheap else None)
    return starter, _Once(starter.fn, quiet="Out-of-support values provided to log prob", export=export)


def _program(info: Callable, cache_key: tuple, model_args: tuple, settings: dict, persist: bool = False) -> Callable:
    """The compiled sampler for these settings and argument shapes, built once and remembered (and, with
    ``persist`` and no progress bar, whose callback cannot be kept, exported to disk). ``info()`` gives the
    model's ModelInfo: called only while tracing the program."""
    key = (cache_key, shapes(model_args), tuple(sorted(settings.items())))

    def make() -> _Once:
        fn, shardings = _make_program(lambda *a: _traced(info).potential_fn(*a),
                                      lambda *a: _traced(info).postprocess_fn(*a), **settings)
        keep = persist and not settings.get("progress") and not settings.get("batched")
        return _Once(fn, export=(("nuts", key), *(shardings or (None, None)), None) if keep else None)

    return remember(_PROGRAMS, key, make)


def _traced(info: Callable):
    """``info()`` under :data:`TRACE_LOCK` (it may trace the starts' program)."""
    with TRACE_LOCK:
        return info()


def _as_numpy(params, extra) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return {k: np.asarray(v) for k, v in params.items()}, {k: np.asarray(v) for k, v in extra.items()}


def run_nuts(model, model_args: tuple, *, cache_key: tuple, num_warmup: int, num_samples: int, num_chains: int,
             chain_method: str, dense_mass: bool, target_accept_prob: float, seed: int,
             progress_bar: bool = False, init_strategy=init_to_uniform, persist: bool = False
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run NUTS; returns (samples, extra fields), each shaped (chains, draws, ...).

    ``cache_key`` must identify the model and anything that changes its parameter
    supports; data shapes are added to it here. ``persist``: the model is one of bayeslaw's own (a shipped law and
    observation model), so its starts and sampler programs may be kept on disk for new processes
    (:mod:`~bayeslaw.inference.persist`; not with a progress bar, whose callback cannot be kept).
    """
    use_persistent_cache()
    if progress_bar:
        _PROGRESS.start(num_chains * (num_warmup + num_samples), f"NUTS {num_chains} chains")
    try:   # the start and the sampler each trace the model under TRACE_LOCK on their first call only (_Once)
        info, start, _, keys = _initialize(model, model_args, seed, num_chains, init_strategy, cache_key,
                                           laplace=True, persist=persist)
        # as NumPy arrays: sharding a JAX array over devices compiles a slicing program per shape
        start, keys = jax.device_get((start, keys))
        program = _program(info, cache_key, model_args,
                           dict(num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                                chain_method=chain_method, dense_mass=dense_mass,
                                target_accept_prob=target_accept_prob, progress=progress_bar), persist=persist)
        params, extra = program(keys, start, model_args)
        params, extra = jax.device_get((params, extra))
    finally:
        _PROGRESS.close()
    return _as_numpy(params, extra)


def run_nuts_batch(model, model_args: tuple, *, cache_key: tuple, num_warmup: int, num_samples: int,
                   num_chains: int, dense_mass: bool, target_accept_prob: float, seed: int | Sequence[int],
                   chunk: int = 16, init_strategy=init_to_uniform, on_chunk: Callable | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """NUTS on B data sets with one compiled, vectorised program (e.g. many curves, or the
    replicate data sets of a recalibration).

    ``model_args`` is shaped like :func:`run_nuts`'s with a leading axis of length B on every
    leaf. ``seed`` is one seed per data set (then each data set gets the keys and initial points
    :func:`run_nuts` would give it alone, so its draws are those of a fit of it alone, up to
    floating-point reassociation) or one seed for all (keys split from it, every data set starting
    where the first one's chains start). The program runs ``chunk`` data sets (x chains) at a time (a short
    last chunk is padded with copies of the first data set, so every chunk runs one program):
    a vectorised NUTS step lasts as long as its longest trajectory, so on a CPU very wide batches
    waste work (64 data sets x 2 chains took 0.84 s per data set here, chunks of 16 0.45 s, one at a
    time 2.1 s). ``on_chunk(done, total)`` is called after each chunk. Returns (samples, extra
    fields), each shaped (B, chains, draws, ...).
    """
    use_persistent_cache()
    batch = jax.tree.leaves(model_args)[0].shape[0]
    chunk = max(1, chunk)
    if isinstance(seed, (int, np.integer)):
        first = jax.tree.map(lambda v: v[0], model_args)
        init, z0, k_run, _ = _initialize(model, first, int(seed), num_chains, init_strategy, cache_key)
        z0s = jax.tree.map(lambda v: jnp.broadcast_to(v, (batch, *v.shape)), z0)
        keys = jax.random.split(k_run, batch * num_chains).reshape(batch, num_chains, -1)
    else:
        seeds = [int(s) for s in seed]
        if len(seeds) != batch:
            raise ValueError(f"run_nuts_batch got {len(seeds)} seeds for {batch} data sets.")
        starts, keys = [], []
        for b, s in enumerate(seeds):  # as run_nuts does for one data set
            init, z0, _, chain_keys = _initialize(model, jax.tree.map(lambda v: v[b], model_args), s, num_chains,
                                                  init_strategy, cache_key)
            starts.append(z0)
            keys.append(chain_keys)
        z0s = jax.tree.map(lambda *v: jnp.stack(v), *starts)
        keys = jnp.stack(keys)
    n_chunks = -(-batch // chunk)
    # pad the batch to whole chunks with copies of the first data set (dropped below)
    idx = np.concatenate([np.arange(batch), np.zeros(n_chunks * chunk - batch, dtype=int)])
    padded, z0s, keys = (jax.tree.map(lambda v: jnp.asarray(v)[idx], t) for t in (model_args, z0s, keys))
    program = _program(init, cache_key, jax.tree.map(lambda v: v[:chunk], padded),
                       dict(num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                            chain_method="vectorized", dense_mass=dense_mass,
                            target_accept_prob=target_accept_prob, progress=False, batched=True))
    outs = []
    for c in range(n_chunks):
        part = slice(c * chunk, (c + 1) * chunk)
        args, z, k = (jax.tree.map(lambda v: v[part], t) for t in (padded, z0s, keys))
        outs.append(jax.device_get(program(k, z, args)))
        if on_chunk is not None:
            on_chunk(min(batch, (c + 1) * chunk), batch)
    return _as_numpy(*jax.tree.map(lambda *xs: np.concatenate(xs)[:batch], *outs))


def clear_cache() -> None:
    """Forget compiled samplers and starts (e.g. to free memory after many different laws)."""
    _PROGRAMS.clear()
    _STARTERS.clear()


__all__ = ["run_nuts", "run_nuts_batch", "clear_cache", "use_persistent_cache", "EXTRA_FIELDS"]
