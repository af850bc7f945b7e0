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
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from numpyro.infer.hmc import hmc
from numpyro.infer.util import initialize_model

EXTRA_FIELDS = ("diverging", "num_steps", "energy", "potential_energy", "accept_prob", "step_size")

_PROGRAMS: dict[tuple, Callable] = {}
_CACHE_SIZE = 16
_PROGRESS_EVERY = 50


def _remember(key: tuple, make: Callable[[], Callable]) -> Callable:
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= _CACHE_SIZE:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = make()
    return _PROGRAMS[key]


class _Progress:
    """A tqdm bar fed from inside the compiled loop by ``jax.debug.callback``."""

    def __init__(self) -> None:
        self.bar = None
        self.lock = threading.Lock()

    def start(self, total: int, desc: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="it", leave=False, dynamic_ncols=True)

    def tick(self, n) -> None:
        with self.lock:
            if self.bar is not None:
                self.bar.update(int(n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


_PROGRESS = _Progress()


def _make_program(potential_fn_gen, postprocess_fn_gen, *, num_warmup: int, num_samples: int, num_chains: int,
                  chain_method: str, dense_mass: bool, target_accept_prob: float, progress: bool) -> Callable:
    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_fn_gen, algo="NUTS")

    def step(state, args):
        state = sample_kernel(state, model_args=args)
        if progress:
            jax.lax.cond(state.i % _PROGRESS_EVERY == 0,
                         lambda: jax.debug.callback(_PROGRESS.tick, _PROGRESS_EVERY), lambda: None)
        return state

    def one_chain(rng_key, z0, args):
        state = init_kernel(z0, num_warmup, dense_mass=dense_mass, target_accept_prob=target_accept_prob,
                            model_args=args, rng_key=rng_key)
        state = jax.lax.fori_loop(0, num_warmup, lambda _, s: step(s, args), state)

        def draw(s, _):
            s = step(s, args)
            return s, (s.z, s.diverging, s.num_steps, s.energy, s.potential_energy, s.accept_prob,
                       s.adapt_state.step_size)

        _, (z, *extra) = jax.lax.scan(draw, state, None, length=num_samples)
        params = jax.vmap(postprocess_fn_gen(*args))(z)
        return params, dict(zip(EXTRA_FIELDS, extra))

    if chain_method == "parallel":
        return jax.pmap(one_chain, in_axes=(0, 0, None))
    if chain_method == "vectorized":
        return jax.jit(jax.vmap(one_chain, in_axes=(0, 0, None)))
    if chain_method == "sequential":
        single = jax.jit(one_chain)

        def run(keys, z0, args):
            outs = [single(keys[c], jax.tree.map(lambda v: v[c], z0), args) for c in range(num_chains)]
            return jax.tree.map(lambda *xs: jnp.stack(xs), *outs)

        return run
    raise ValueError(f"chain_method must be 'parallel', 'vectorized' or 'sequential'; got {chain_method!r}")


def run_nuts(model, model_args: tuple, *, cache_key: tuple, num_warmup: int, num_samples: int, num_chains: int,
             chain_method: str, dense_mass: bool, target_accept_prob: float, seed: int,
             progress_bar: bool = False) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run NUTS; returns (samples, extra fields), each shaped (chains, draws, ...).

    ``cache_key`` must identify the model and anything that changes its parameter
    supports; data shapes are added to it here.
    """
    rng = jax.random.PRNGKey(seed)
    k_init, k_run = jax.random.split(rng)
    init = initialize_model(jax.random.split(k_init, num_chains), model, model_args=model_args,
                            dynamic_args=True)
    z0 = init.param_info.z
    shapes = tuple((tuple(np.shape(leaf)), str(jnp.result_type(leaf))) for leaf in jax.tree.leaves(model_args))
    settings = dict(num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                    chain_method=chain_method, dense_mass=dense_mass, target_accept_prob=target_accept_prob,
                    progress=progress_bar)
    key = (cache_key, shapes, jax.tree.structure(model_args), tuple(sorted(settings.items())))
    program = _remember(key, lambda: _make_program(init.potential_fn, init.postprocess_fn, **settings))
    keys = jax.random.split(k_run, num_chains)
    if progress_bar:
        _PROGRESS.start(num_chains * (num_warmup + num_samples), f"NUTS {num_chains} chains")
    try:
        params, extra = program(keys, z0, model_args)
        params, extra = jax.device_get((params, extra))
    finally:
        _PROGRESS.close()
    return {k: np.asarray(v) for k, v in params.items()}, {k: np.asarray(v) for k, v in extra.items()}


def clear_cache() -> None:
    """Forget compiled samplers (e.g. to free memory after many different laws)."""
    _PROGRAMS.clear()


__all__ = ["run_nuts", "clear_cache", "EXTRA_FIELDS"]
