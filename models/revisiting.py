"""M3 and M4 of Alabdulmohsin, Neyshabur & Zhai 2022, "Revisiting Neural Scaling Laws in Language
and Vision" (NeurIPS 2022, arXiv 2209.06640): learning curves in one size variable x.

Sign conventions follow the authors' benchmark code (google-research, revisiting_neural_scaling_laws/
methods/m3.py and m4.py, read for this file):

- M3: ``L = beta * (1/x + gamma)^c`` with ``c >= 0`` and ``gamma >= 0`` (m3.py clips c at 0 and keeps
  gamma >= 0): a power law ``beta x^-c`` for small x that saturates at ``beta gamma^c`` for x >> 1/gamma.
- M4: ``(L - eps_inf) / (eps_0 - L)^alpha = beta * x^c`` with ``c <= 0`` and ``alpha >= 0`` (m4.py fits
  ``-c`` and ``alpha`` by non-negative least squares): L falls from eps_0 (random guessing) to eps_inf.
  The benchmark solves it for L by a grid search over 10,000 points; here it is solved to machine
  precision (below).

One input, ``x``: choose the column with ``fit(..., x="N")`` (or ``"D"``, ``"C"``, any size column),
centred at the data's geometric mean x0, ``t = log(x / x0)``.

M3 is sampled as ``log L = l0 + c * (LSE(-t, g) - softplus(g))``: ``l0`` is log L at x0 and
``g = log(gamma x0)`` says where the curve flattens (x = 1/gamma) relative to x0.

M4 is implicit. With ``u = (L - eps_inf) / (eps_0 - eps_inf)`` in (0, 1) and ``z = logit(u)`` it reads
``G(z) = log u - alpha log(1 - u) = -softplus(-z) + alpha softplus(z) = r``, with
``r = log(beta x^c) + (alpha - 1) log(eps_0 - eps_inf) = r0 - k t`` (k = -c > 0, r0 = r at x0).
G is strictly increasing for alpha > 0 (G' = sigmoid(-z) + alpha sigmoid(z), between min(1, alpha)
and max(1, alpha)), so the root is unique, and any z keeps L strictly inside (eps_inf, eps_0).
``solve_logit`` finds it by safeguarded Newton steps (a fixed number, inside a bracket that the
bounds on G' give from the first residual; a step that leaves the bracket bisects instead), and
is differentiable by the implicit function theorem (``jax.custom_jvp``: dz = (dr - softplus(z)
d alpha) / G'(z)), to any order, so the sampler's Hessian at the mode is exact too.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from bayeslaw.core.law import Example, Law, Param, logsumexp
from bayeslaw.core.priors import Prior

from ._examples import log_ref
from ._priors import EXPONENT, FLOOR

# Examples: M3 with beta 1000, gamma 1e-9, c 0.4 (from 4.0 at 1e6 towards 0.25); M4 with eps_inf 1.5,
# eps_0 8, alpha 1.5, beta 126, c -0.35 (from 8, random guessing, towards 1.5)
_X3, _X4 = np.geomspace(1e6, 1e11, 25), np.geomspace(1e5, 1e11, 25)
_G3 = math.log(1e-9) + log_ref(_X3)
_M3_EXAMPLE = Example(inputs={"x": _X3}, sigma=0.01, params={
    "l0": math.log(1000.0) - 0.4 * log_ref(_X3) + 0.4 * float(np.logaddexp(0.0, _G3)), "c": 0.4, "g": _G3})
_M4_EXAMPLE = Example(inputs={"x": _X4}, sigma=0.01, params={
    "eps_inf": 1.5, "log_gap": math.log(6.5), "r0": math.log(126.0) - 0.35 * log_ref(_X4) + 0.5 * math.log(6.5),
    "k": 0.35, "alpha": 1.5})

# -- M3 ------------------------------------------------------------------------------------------


def _m3_log_mean(x, l0, c, g):
    return l0 + c * (jnp.logaddexp(-x["x"], g) - jax.nn.softplus(g))


def _m3_conventional(p, log_ref):
    return {
        "beta": jnp.exp(p["l0"] - p["c"] * jax.nn.softplus(p["g"]) + p["c"] * log_ref["x"]),
        "gamma": jnp.exp(p["g"] - log_ref["x"]),
    }


m3 = Law(
    name="m3",
    inputs=("x",),
    log_mean=_m3_log_mean,
    params={
        "l0": Param(Prior("Normal", loc="log_y0", scale=1.0),
                    "the loss at the data's centre x0 is of the order of the loss scale y0, within a factor e",
                    "log L at the reference size x0"),
        "c": Param(EXPONENT.prior, EXPONENT.why + "; M3's c >= 0 as in the benchmark code", "exponent c"),
        "g": Param(Prior("Normal", loc=0.0, scale=3.0),
                   "the curve flattens at x = 1/gamma within ~3 e-folds (x20) of the data's centre; very "
                   "negative g is a pure power law",
                   "log(gamma x0): where the curve saturates, relative to x0"),
    },
    formula="L = beta * (1/x + gamma)^c",
    reference="Alabdulmohsin et al. 2022, arXiv:2209.06640 (M3; signs as in the authors' benchmark code)",
    to_conventional=_m3_conventional,
    report=("beta", "gamma", "c"),
    description="One size variable x (pick it with x=...): a power law that saturates at beta gamma^c, no floor.",
    example=_M3_EXAMPLE,
)

# -- M4 ------------------------------------------------------------------------------------------

NEWTON_STEPS = 24  # 12 reach machine precision for alpha in [1e-4, 1e4] and |r| up to 1e5 (measured)


def _g(z, alpha):
    return -jax.nn.softplus(-z) + alpha * jax.nn.softplus(z)


def _g_prime(z, alpha):
    return jax.nn.sigmoid(-z) + alpha * jax.nn.sigmoid(z)


@jax.custom_jvp
def solve_logit(r, alpha):
    """The z with -softplus(-z) + alpha softplus(z) = r (alpha > 0), elementwise, to machine precision."""
    r, alpha = jnp.broadcast_arrays(jnp.asarray(r, dtype=float), jnp.asarray(alpha, dtype=float))
    return _newton(r, alpha)


@jax.jit  # compiled once per shape, also when called outside a traced model (predictions, decisions)
def _newton(r, alpha):
    slow, fast = jnp.minimum(1.0, alpha), jnp.maximum(1.0, alpha)
    z = jnp.where(r < 0, r, r / alpha)  # the asymptotes: G ~ z for z << 0, G ~ alpha z for z >> 0
    f = _g(z, alpha) - r
    # G' lies in [slow, fast], so the root lies between z - f / fast and z - f / slow
    lo = jnp.minimum(z - f / slow, z - f / fast)
    hi = jnp.maximum(z - f / slow, z - f / fast)
    pad = 1e-12 * (1.0 + jnp.abs(lo) + jnp.abs(hi))
    lo, hi = lo - pad, hi + pad

    def step(_, state):
        z, lo, hi = state
        f = _g(z, alpha) - r
        lo = jnp.where(f < 0, z, lo)
        hi = jnp.where(f > 0, z, hi)
        newton = z - f / _g_prime(z, alpha)
        inside = (newton >= lo) & (newton <= hi)
        return jnp.where(inside, newton, 0.5 * (lo + hi)), lo, hi

    z, _, _ = jax.lax.fori_loop(0, NEWTON_STEPS, step, (z, lo, hi))
    return z


@solve_logit.defjvp
def _solve_logit_jvp(primals, tangents):
    r, alpha = primals
    dr, dalpha = tangents
    z = solve_logit(r, alpha)
    dz = (dr - jax.nn.softplus(z) * dalpha) / _g_prime(z, alpha)
    return z, jnp.broadcast_to(dz, jnp.shape(z))


def _m4_log_mean(x, eps_inf, log_gap, r0, k, alpha):
    z = solve_logit(r0 - k * x["x"], alpha)
    return logsumexp(jnp.log(eps_inf), log_gap + jax.nn.log_sigmoid(z))


def _m4_conventional(p, log_ref):
    return {
        "eps_0": p["eps_inf"] + jnp.exp(p["log_gap"]),
        "beta": jnp.exp(p["r0"] - (p["alpha"] - 1.0) * p["log_gap"] + p["k"] * log_ref["x"]),
        "c": -p["k"],
    }


m4 = Law(
    name="m4",
    inputs=("x",),
    log_mean=_m4_log_mean,
    params={
        "eps_inf": Param(FLOOR.prior, FLOOR.why, "eps_inf: the loss as x goes to infinity"),
        "log_gap": Param(Prior("Normal", loc="log_y0", scale=1.5),
                         "eps_0 - eps_inf (random-guess loss above the floor) is of the order of the loss scale, "
                         "within a factor ~20",
                         "log(eps_0 - eps_inf)"),
        "r0": Param(Prior("Normal", loc=0.0, scale=2.0),
                    "at x0 the loss is a fraction u0 of the way from eps_inf to eps_0: r0 = log u0 - alpha "
                    "log(1 - u0) is 0 at u0 = 1/2 (alpha = 1) and about -3 / +3 at 5% / 95%",
                    "log(beta x0^c) + (alpha - 1) log(eps_0 - eps_inf)"),
        "k": Param(EXPONENT.prior, EXPONENT.why + "; k = -c > 0", "minus the exponent c"),
        "alpha": Param(Prior("LogNormal", loc=0.0, scale=0.75),
                       "alpha > 0 (the benchmark fits it non-negative; the paper's ablation fixes alpha = 1): "
                       "median 1, 95% 0.23-4.3",
                       "alpha: how sharply the curve leaves eps_0"),
    },
    formula="(L - eps_inf) / (eps_0 - L)^alpha = beta * x^c, c < 0 (L solved for)",
    reference="Alabdulmohsin et al. 2022, arXiv:2209.06640 (M4; signs as in the authors' benchmark code)",
    to_conventional=_m4_conventional,
    report=("eps_inf", "eps_0", "alpha", "beta", "c"),
    description="One size variable x (pick it with x=...): a sigmoid-like curve in log x from eps_0 down to "
                "eps_inf, defined implicitly and solved by safeguarded Newton steps.",
    example=_M4_EXAMPLE,
)
