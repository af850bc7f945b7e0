"""Decision quantities as posteriors: compute-optimal allocation and compute to reach a loss.

For a law of N and D, the compute-optimal model size at budget C is
``N*(C) = argmin_N L(N, C / (k N))`` with C = k N D (k = 6 by default, configurable);
``D* = C / (k N*)``. We solve it for every posterior draw by golden-section search
in log N (the loss along an iso-FLOP line is unimodal for the catalogue's laws),
so the answer is a posterior, not a point. For the Chinchilla law the closed form
``N* = G (C/k)^(beta/(alpha+beta))``, ``G = (alpha A / (beta B))^(1/(alpha+beta))``
is used as a check in the tests.

The compute needed to reach a loss is found by bisection in log C on the loss along
the optimum (for (N, D) laws) or on the law itself (for laws of C alone). Draws whose
floor E lies at or above the target never reach it: their compute is ``inf`` and the
fraction of such draws is reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from .errors import LawError
from .predict import posterior_params

_GOLDEN = (np.sqrt(5.0) - 1) / 2
_HALF_WIDTH = 25.0  # bracket: sqrt(C/k) * e^(+-25), i.e. +-11 decades around the balanced allocation
_ITERS = 64


@dataclass
class Decision:
    """Posterior summaries (``table``) and draws (``draws``: name -> (draws, targets) array)."""

    table: pd.DataFrame
    draws: dict[str, np.ndarray]
    interval: float

    def to_records(self) -> list[dict[str, Any]]:
        recs = []
        names = sorted({c.rsplit("_", 1)[0] for c in self.table.columns if c.endswith("_median")})
        keys = [c for c in self.table.columns if not any(c.startswith(n + "_") for n in names)]
        for _, row in self.table.iterrows():
            rec: dict[str, Any] = {k: _num(row[k]) for k in keys}
            for n in names:
                rec[n] = {"median": _num(row[f"{n}_median"]), "lower": _num(row[f"{n}_lower"]),
                          "upper": _num(row[f"{n}_upper"])}
            rec["interval"] = self.interval
            recs.append(rec)
        return recs


def _num(v: Any) -> Any:
    v = float(v)
    return v if np.isfinite(v) else (None if np.isnan(v) else ("inf" if v > 0 else "-inf"))


def _require_nd(fit, what: str) -> None:
    design = fit.spec["data"]["design"]
    if set(design) != {"N", "D"}:
        raise LawError(f"{what} needs a law of parameters N and tokens D (such as chinchilla or kaplan); "
                       f"{fit.law.name!r} is a law of {', '.join(design.values())}.")


def _k(fit, flops_per_param_token: float | None) -> float:
    k = flops_per_param_token if flops_per_param_token is not None else fit.spec["data"].get(
        "flops_per_param_token", 6.0)
    if not (np.isfinite(k) and k > 0):
        raise LawError(f"flops_per_param_token must be a positive number; got {k!r}.")
    return float(k)


_PROGRAMS: dict[tuple, Any] = {}


def _programs(law, inp: str | None = None):
    """Compiled solvers for one law (cached): the golden-section search for N* and the bisection for
    the compute that reaches a loss. Posterior draws, reference scales, k and targets are arguments,
    so repeated decisions on fits of the same law reuse one compiled program per shape."""
    from .sampler import remember

    def make():
        def log_nd(params, ref, logN, logD):
            return law.log_mean({"N": logN - ref[0], "D": logD - ref[1]}, **params)

        def argmin(params, ref, logc):
            n_draws = next(iter(params.values())).shape[0]
            center = jnp.broadcast_to(0.5 * logc, (n_draws,) + jnp.shape(logc)[1:])

            def body(_, state):
                lo, hi = state
                a = hi - _GOLDEN * (hi - lo)
                b = lo + _GOLDEN * (hi - lo)
                left = log_nd(params, ref, a, logc - a) < log_nd(params, ref, b, logc - b)
                return jnp.where(left, lo, a), jnp.where(left, b, hi)

            lo, hi = jax.lax.fori_loop(0, _ITERS, body, (center - _HALF_WIDTH, center + _HALF_WIDTH))
            return 0.5 * (lo + hi)

        def allocation(params, ref, logc):
            logN = argmin(params, ref, logc)
            return logN, log_nd(params, ref, logN, logc - logN)

        def log_loss_at(params, ref, logk, logC):
            if inp is None:  # a law of N and D, along its optimum
                logc = logC - logk
                logN = argmin(params, ref, logc)
                return log_nd(params, ref, logN, logc - logN)
            return law.log_mean({inp: logC - ref[0]}, **params)

        def for_loss(params, ref, logk, target):
            n_draws = next(iter(params.values())).shape[0]
            lo = jnp.full(jnp.broadcast_shapes(target.shape, (n_draws, 1)), jnp.log(1.0))
            hi = jnp.full(lo.shape, jnp.log(1e45))
            reach_hi = log_loss_at(params, ref, logk, hi) <= target

            def body(_, state):
                lo, hi = state
                mid = 0.5 * (lo + hi)
                below = log_loss_at(params, ref, logk, mid) <= target
                return jnp.where(below, lo, mid), jnp.where(below, mid, hi)

            lo, hi = jax.lax.fori_loop(0, 64, body, (lo, hi))
            return 0.5 * (lo + hi), reach_hi

        return {"allocation": jax.jit(allocation), "for_loss": jax.jit(for_loss)}

    return remember(_PROGRAMS, (law.name, law.hash, inp), make)


def _ref_nd(fit):
    return jnp.asarray([fit.log_ref["N"], fit.log_ref["D"]])


def optimal_allocation(fit, C, *, flops_per_param_token: float | None = None, interval: float = 0.9) -> Decision:
    """Posterior of the compute-optimal N*, D*, tokens per parameter and loss at budgets C.

    Parameters
    ----------
    fit : Fit
        A fit of a law of N and D.
    C : float or array
        Training compute budgets in FLOPs.
    flops_per_param_token : float, optional
        k in C = k N D (default: the fit's, 6).
    interval : float, default 0.9
        Mass of the equal-tailed intervals.
    """
    _require_nd(fit, "optimal_allocation")
    k = _k(fit, flops_per_param_token)
    C = np.atleast_1d(np.asarray(C, dtype=float))
    if not np.all(np.isfinite(C) & (C > 0)):
        raise LawError(f"Compute budgets must be positive FLOP counts; got {C.tolist()}.")
    params = {n: v[:, None] for n, v in posterior_params(fit).items() if n in fit.law.params}
    with jax.enable_x64(True):
        logc = jnp.log(C / k)[None, :]
        logN, log_loss = _programs(fit.law)["allocation"](params, _ref_nd(fit), logc)
        logD = logc - logN
        draws = {"N_opt": np.exp(np.asarray(logN)), "D_opt": np.exp(np.asarray(logD)),
                 "tokens_per_param": np.exp(np.asarray(logD - logN)), "loss_opt": np.exp(np.asarray(log_loss))}
    at_edge = np.abs(np.asarray(logN) - 0.5 * np.asarray(logc)) > _HALF_WIDTH - 1e-3
    if at_edge.any():
        raise LawError("The compute-optimal model size lies outside N = sqrt(C/k) x e^(+-25) for "
                       f"{at_edge.mean():.0%} of draws: the law has no interior optimum at these budgets.")
    table = pd.DataFrame({"C": C})
    _summarise(table, draws, interval)
    return Decision(table=table, draws=draws, interval=interval)


def compute_for_loss(fit, loss, *, flops_per_param_token: float | None = None, interval: float = 0.9) -> Decision:
    """Posterior of the training compute needed to reach a loss (at the compute-optimal allocation).

    Defined for laws of N and D (along the optimum) and laws of C alone. Draws that can never reach
    the target (floor at or above it) give ``inf``; ``reachable`` is the fraction that can.
    """
    design = fit.spec["data"]["design"]
    loss = np.atleast_1d(np.asarray(loss, dtype=float))
    if not np.all(np.isfinite(loss) & (loss > 0)):
        raise LawError(f"Target losses must be positive; got {loss.tolist()}.")
    params = {n: v[:, None] for n, v in posterior_params(fit).items() if n in fit.law.params}
    target = np.log(loss)[None, :]
    if set(design) == {"N", "D"}:
        program, ref = _programs(fit.law)["for_loss"], _ref_nd(fit)
        logk = np.log(_k(fit, flops_per_param_token))
    elif list(design.values()) == ["C"]:
        inp = next(iter(design))
        program, ref, logk = _programs(fit.law, inp)["for_loss"], jnp.asarray([fit.log_ref["C"]]), 0.0
    else:
        raise LawError(f"compute_for_loss needs a law of N and D, or of compute C; {fit.law.name!r} is a law of "
                       f"{', '.join(design.values())}.")
    with jax.enable_x64(True):
        logC, reach_hi = program(params, ref, jnp.asarray(logk, dtype=float), jnp.asarray(target))
        logC, reach_hi = np.asarray(logC), np.asarray(reach_hi)
    C_draws = np.where(reach_hi, np.exp(logC), np.inf)  # not reached by 1e45 FLOPs: never
    table = pd.DataFrame({"loss": loss, "reachable": np.isfinite(C_draws).mean(axis=0)})
    _summarise(table, {"C": C_draws}, interval)
    return Decision(table=table, draws={"C": C_draws}, interval=interval)


def _summarise(table: pd.DataFrame, draws: dict[str, np.ndarray], interval: float) -> None:
    q = [(1 - interval) / 2, 0.5, (1 + interval) / 2]
    for name, arr in draws.items():
        # no interpolation across infinite draws (targets some draws never reach)
        method = "inverted_cdf" if np.isinf(arr).any() else "linear"
        lo, med, hi = np.quantile(arr, q, axis=0, method=method)
        table[f"{name}_median"], table[f"{name}_lower"], table[f"{name}_upper"] = med, lo, hi
