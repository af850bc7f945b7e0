"""The chains' starts: NumPyro's uniform starts and the Laplace start, in one compiled program.

:class:`Starter` runs ``initialize_model`` for every chain inside ``jit`` (NumPyro's eager
initialisation compiled about 190 small programs in a new process) and moves each chain to a draw
from the Laplace approximation at the posterior's mode (:func:`laplace_start`), whose covariance the
sampler (:mod:`bayeslaw.inference.sampler`) uses to whiten the parameters.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from numpyro.infer.util import initialize_model

#: XLA options of small programs that run once per fit: compile fast (about 3x), run a little slower.
CHEAP = {"xla_backend_optimization_level": 0}


def laplace_start(potential_fn, z0, rng_key, *, iters: int = 100):
    """Mode and Laplace covariance of the posterior in unconstrained space, from start ``z0``.

    Returns (start, inverse mass matrix, ok): the chain's start is a draw from the Laplace
    approximation N(mode, H^-1) (so chains started from different points stay dispersed), and
    H^-1 is the initial inverse mass matrix that warmup then adapts. Without it, warmup begins
    with an identity metric on parameters whose scales differ by 10^3 and spends most of its
    leapfrog steps there (about 70 per iteration against 26 after adaptation on the Chinchilla
    data). The mode is found by damped Newton steps (Levenberg-Marquardt on the Hessian with its
    eigenvalues taken by absolute value, "saddle-free", so a search never stops at a saddle point:
    the dimension is small; JAX's BFGS gave up after a few line searches on these posteriors).
    ``ok`` is False, and the inputs are returned unchanged, when the result is not finite or
    the Hessian there is not positive definite (e.g. at a boundary of a weakly identified law).
    """
    flat0, unravel = ravel_pytree(z0)
    f = lambda q: potential_fn(unravel(q))  # noqa: E731
    grad, hess_fn = jax.grad(f), jax.hessian(f)
    eye = jnp.eye(flat0.shape[0], dtype=flat0.dtype)

    def newton(carry):
        # the Hessian at q is computed once per pass; the pass after the last step only computes it at the
        # mode (one copy of the Hessian's code in the program: it dominates the compile time of the start).
        # The search stops after ``iters`` steps or once a step is negligible (Newton converges in ~10 steps;
        # at 300,000 rows each pass costs ~16 gradients' worth of work, so the other ~90 mattered)
        i, q, fq, lam, _, stop, _ = carry
        g, h = grad(q), hess_fn(q)
        # saddle-free: the Hessian's eigenvalues by their absolute values, so a step never climbs along a direction
        # of negative curvature (plain damped Newton converged to a saddle point of chinchilla_orthogonal's posterior,
        # |g| ~ 1e-9 with one negative eigenvalue, for about one chain in four); where the Hessian is positive
        # definite (near a mode) the step is Newton's
        w, v = jnp.linalg.eigh(0.5 * (h + h.T))
        step = v @ ((v.T @ g) / (jnp.abs(w) + lam))
        q_new = q - step
        f_new = f(q_new)
        better = ~stop & jnp.isfinite(f_new) & (f_new < fq) & jnp.all(jnp.isfinite(q_new))
        lam_new = jnp.where(better, jnp.maximum(lam / 3.0, 1e-8), jnp.minimum(lam * 10.0, 1e8))
        tiny = jnp.max(jnp.abs(step)) <= 1e-9 * (1.0 + jnp.max(jnp.abs(q)))
        converged = better & (tiny | (fq - f_new <= 1e-13 * jnp.maximum(1.0, jnp.abs(fq))))
        return (i + 1, jnp.where(better, q_new, q), jnp.where(better, f_new, fq), lam_new, h,
                stop | converged | (i + 1 >= iters), stop)

    _, q, fq, _, hess, _, _ = jax.lax.while_loop(
        lambda c: ~c[6], newton,
        (0, flat0, f(flat0), jnp.asarray(1.0, flat0.dtype), eye, jnp.asarray(iters <= 0), jnp.asarray(False)))
    chol = jnp.linalg.cholesky(0.5 * (hess + hess.T))
    ok = jnp.isfinite(fq) & jnp.all(jnp.isfinite(q)) & jnp.all(jnp.isfinite(chol))
    safe_chol = jnp.where(ok, chol, eye)
    cov = jax.scipy.linalg.cho_solve((safe_chol, True), eye)
    # a draw from N(mode, H^-1): solve L^T u = eps with H = L L^T
    eps = jax.random.normal(rng_key, flat0.shape, dtype=flat0.dtype)
    start = jnp.where(ok, q + jax.scipy.linalg.solve_triangular(safe_chol.T, eps, lower=False), flat0)
    return unravel(start), jnp.where(ok, cov, eye), ok


class Starter:
    """The chains' starts for one model and argument shapes, in one compiled program.

    ``fn(seed, model_args)`` splits ``PRNGKey(seed)`` into an init key and a run key, runs NumPyro's
    ``initialize_model`` for each chain's init key (vmapped, inside ``jit``) and, with ``laplace``,
    moves each chain to a draw from its Laplace approximation (:func:`laplace_start`, one chain after
    another with ``lax.map``, the key split off the chain's run key as the sampler did); it returns
    the starts (stacked over chains; with ``laplace`` the triple (z0, inverse mass matrix, ok)), the
    run key and the chains' run keys.

    Called eagerly with one key at a time (as this module did before), ``initialize_model`` evaluated
    the model op by op: about 190 small programs compiled in a new process (4 to 6 s, and a
    persistent-cache lookup each with a warm cache). With ``init_to_uniform`` a start is a uniform
    draw from the chain's key whatever the data, and the search stops at the first valid one, so the
    starts are those of the eager calls. The Laplace start's Hessian took over half of the sampler
    program's compile time (16 s against 7 s without it, Chinchilla); here it is compiled at XLA's
    lowest backend optimisation (3x faster to compile; it runs 100 Newton steps, ~0.1 s per chain).
    ``info`` is the ModelInfo of the traced call: its ``potential_fn``/``postprocess_fn`` generators
    take the model's arguments and close over no traced value (``dynamic_args=True``).
    """

    def __init__(self, model, num_chains: int, init_strategy, laplace: bool, cheap: bool = True):
        self.info = None

        def start(key, args):
            info = initialize_model(key, model, model_args=args, dynamic_args=True, init_strategy=init_strategy)
            if self.info is None:
                self.info = info
            return info.param_info.z

        def starts(seed, args):
            k_init, k_run = jax.random.split(jax.random.PRNGKey(seed))
            z0 = jax.vmap(start, in_axes=(0, None))(jax.random.split(k_init, num_chains), args)
            keys = jax.random.split(k_run, num_chains)
            if not laplace:
                return z0, k_run, keys

            def one(key_z):
                key, z = key_z
                key, k_start = jax.random.split(key)
                return key, laplace_start(self.info.potential_fn(*args), z, k_start)

            keys, start3 = jax.lax.map(one, (keys, z0))
            return start3, k_run, keys

        # the lowest optimisation only while compiling is the larger cost (the model's rows: see sampler._initialize)
        self.fn = jax.jit(starts, compiler_options=CHEAP) if laplace and cheap else jax.jit(starts)

    def model_info(self, seed, args):
        """The ModelInfo of the traced call; where this process read the starts' program from disk (nothing traced
        it), the starts are traced abstractly first (``jax.eval_shape``: nothing is compiled or run)."""
        if self.info is None:
            jax.eval_shape(self.fn, seed, args)
        return self.info
