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

A law with a discrepancy term (``<law>_orthogonal``, the ladder default) is optimised as the law alone:
N* and D* are the law's own, because the quadratic discrepancy holds near the runs and, solved with it, the
optimum runs off beyond them. The loss at that allocation, and the compute at which it reaches a target (the
smallest C on a scan three e-folds apart, then bisection), are the full mean's, as in a prediction at the same N and D.
Far beyond the runs the quadratic dominates: on an 82-run synthetic ladder (tests/test_orthogonal.py) the full mean
along the optimum rises again somewhere between 1e21 and 1e28 FLOPs for 82% of draws, so a target loss there can be
unreachable for draws whose law alone reaches it; ``compute_for_loss`` reports both shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import xarray as xr

from ..core.records import json_value, resolve_ci_prob
from ..errors import LawError
from ..inference.many import Fits
from ..inference.result import Fit
from ..inference.sampler import remember
from .predict import decades_beyond, posterior_params
from .summaries import summarise

_GOLDEN = (np.sqrt(5.0) - 1) / 2
_HALF_WIDTH = 25.0  # bracket: sqrt(C/k) * e^(+-25), i.e. +-11 decades around the balanced allocation
_ITERS = 64
_SCAN = 36  # compute for a loss with a discrepancy term: C from 1 to 1e45 FLOPs, three e-folds apart


@dataclass
class Decision:
    """A decision quantity as a posterior, at one or more budgets (or target losses).

    Attributes
    ----------
    table : DataFrame
        One row per budget or loss (index ``target``): the budget ``C`` (or ``loss`` and
        ``reachable``, the share of draws that reach it), then ``<name>_median``,
        ``<name>_lower``, ``<name>_upper`` of each quantity at ``ci_prob``, then ``beyond_<input>``:
        how many decades the medians (N*, D* and the budget; or the compute needed) lie beyond
        the fitted runs, as in a prediction (NaN where the median is infinite).
    samples : dict of str to array
        Draws of each quantity, (draws, targets), chains stacked (see :meth:`draws`).
    ci_prob : float
    chains : int
        How many chains the draws stack (for :attr:`idata`).
    """

    table: pd.DataFrame
    samples: dict[str, np.ndarray]
    ci_prob: float
    chains: int = 1

    def draws(self, name: str) -> np.ndarray:
        """Draws of one quantity, chains stacked: shape (draws, targets)."""
        return self.samples[name]

    def summary_at(self, ci_prob: float) -> pd.DataFrame:
        """The table with the intervals at another ``ci_prob`` (e.g. 0.5 for the inner band of a figure)."""
        keys = [c for c in self.table.columns if not any(c.startswith(n + "_") for n in self.samples)]
        return summarised(self.table[keys], self.samples, resolve_ci_prob(ci_prob))

    @property
    def idata(self) -> xr.DataTree:
        """The draws as a DataTree (group ``predictions``; dims chain, draw, target)."""
        data = {k: (("chain", "draw", "target"), v.reshape(self.chains, -1, v.shape[-1]))
                for k, v in self.samples.items()}
        return xr.DataTree.from_dict({"predictions": xr.Dataset(data, attrs={"ci_prob": self.ci_prob})})

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-safe list, one object per budget or loss; infinite values (never reached) are null, flagged
        ``"inf"`` in the object's ``non_finite`` member."""
        recs = []
        names = list(self.samples)
        keys = [c for c in self.table.columns if not any(c.startswith(n + "_") for n in names)
                and not c.startswith("beyond_")]
        beyond = [c for c in self.table.columns if c.startswith("beyond_")]
        for i, row in self.table.iterrows():
            rec: dict[str, Any] = {"target": int(i), **{k: row[k] for k in keys}}
            for n in names:
                rec[n] = {"median": row[f"{n}_median"], "lower": row[f"{n}_lower"], "upper": row[f"{n}_upper"]}
            rec["ci_prob"] = self.ci_prob
            if beyond:
                rec["extrapolation_decades"] = {c[len("beyond_"):]: row[c] for c in beyond}
            recs.append(json_value(rec))
        return recs


def _require_nd(fit: Fit, what: str) -> None:
    design = fit.spec.design
    if set(design) != {"N", "D"}:
        raise LawError(f"{what} needs a law of parameters N and tokens D (such as chinchilla or kaplan); "
                       f"{fit.law.name!r} is a law of {', '.join(design.values())}.")


def _k(fit: Fit, flops_per_param_token: float | None) -> float:
    k = flops_per_param_token if flops_per_param_token is not None else fit.spec.data.flops_per_param_token
    if not (np.isfinite(k) and k > 0):
        raise LawError(f"flops_per_param_token must be a positive number; got {k!r}.")
    return float(k)


_PROGRAMS: dict[tuple, Any] = {}


def _law_params(fit: Fit) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The draws ``log_mean`` takes, one column each: (the law alone, with a discrepancy term
    (``Law.discrepancy``) set to 0; the full mean, as predictions use it). Optima are the law's own: the
    discrepancy is a quadratic that holds near the runs, and solved with it the optimum runs off to the search's
    edge beyond them (on the 245 Chinchilla runs, for 98% of draws at 5.76e23 FLOPs). Losses at an allocation
    are the full mean's, so a decision's loss and a prediction at the same N and D agree."""
    draws = {n: v[:, None] for n, v in posterior_params(fit).items() if n in fit.law.mean_params}
    return fit.law.without_discrepancy(draws), draws


def _programs(law, inp: str | None = None):
    """Compiled solvers for one law (cached): the golden-section search for N* and the bisection for
    the compute that reaches a loss. Posterior draws, reference scales, k and targets are arguments,
    so repeated decisions on fits of the same law reuse one compiled program per shape."""
    def make():
        def log_nd(params, ref, logN, logD):
            return law.log_mean({"N": logN - ref[0], "D": logD - ref[1]}, **params)

        def argmin(params, ref, logc):  # params: the law alone (see _law_params)
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

        def allocation(params, full, ref, logc):
            logN = argmin(params, ref, logc)
            return logN, log_nd(full, ref, logN, logc - logN)

        def log_loss_at(params, full, ref, logk, logC):
            if inp is None:  # a law of N and D, along the law's optimum
                logc = logC - logk
                logN = argmin(params, ref, logc)
                return log_nd(full, ref, logN, logc - logN)
            return law.log_mean({inp: logC - ref[0]}, **full)

        def for_loss(params, full, ref, logk, target):
            n_draws = next(iter(params.values())).shape[0]
            lo = jnp.full(jnp.broadcast_shapes(target.shape, (n_draws, 1)), jnp.log(1.0))
            hi = jnp.full(lo.shape, jnp.log(1e45))
            if not law.discrepancy:  # the law alone: loss falls with compute, one bisection finds the crossing
                reach_hi = log_loss_at(params, full, ref, logk, hi) <= target
            else:  # with a discrepancy the loss need not fall monotonically: the first step of C that reaches it
                grid = jnp.linspace(0.0, jnp.log(1e45), _SCAN)
                hit = jax.lax.map(lambda g: log_loss_at(params, full, ref, logk, jnp.full(lo.shape, g)) <= target,
                                  grid)
                reach_hi = hit.any(axis=0)
                first = jnp.argmax(hit, axis=0)
                hi = jnp.where(reach_hi, grid[first], hi)
                lo = jnp.where(reach_hi & (first > 0), grid[jnp.maximum(first - 1, 0)], lo)

            def body(_, state):
                lo, hi = state
                mid = 0.5 * (lo + hi)
                below = log_loss_at(params, full, ref, logk, mid) <= target
                return jnp.where(below, lo, mid), jnp.where(below, mid, hi)

            lo, hi = jax.lax.fori_loop(0, 64, body, (lo, hi))
            if not law.discrepancy:
                return 0.5 * (lo + hi), reach_hi, reach_hi
            # the law alone falls with compute: it reaches the target by 1e45 FLOPs if it is below it there
            alone = log_loss_at(params, params, ref, logk, jnp.full(lo.shape, jnp.log(1e45))) <= target
            return 0.5 * (lo + hi), reach_hi, alone

        return {"allocation": jax.jit(allocation), "for_loss": jax.jit(for_loss)}

    return remember(_PROGRAMS, (law.name, law.hash, inp), make)


def _ref_nd(fit: Fit):
    return jnp.asarray([fit.log_ref["N"], fit.log_ref["D"]])


def optimal_allocation(fit: Fit, C: Any, *, flops_per_param_token: float | None = None,
                       ci_prob: float | None = None) -> Decision:
    """Posterior of the compute-optimal N*, D*, tokens per parameter and loss at budgets C.

    Parameters
    ----------
    fit : Fit
        A fit of a law of N and D.
    C : float or array
        Training compute budgets in FLOPs.
    flops_per_param_token : float, optional
        k in C = k N D (default: the fit's, 6).
    ci_prob : float, optional
        Mass of the equal-tailed intervals (default: ArviZ's ``rcParams["stats.ci_prob"]``).

    Returns
    -------
    Decision
        Quantities ``N_opt``, ``D_opt``, ``tokens_per_param`` and ``loss_opt`` per budget.
    """
    if isinstance(fit, Fits):  # fit_many's collection: every fit at the same budgets
        return fit.optimal_allocation(C, flops_per_param_token=flops_per_param_token, ci_prob=ci_prob)
    ci_prob = resolve_ci_prob(ci_prob)
    _require_nd(fit, "optimal_allocation")
    k = _k(fit, flops_per_param_token)
    C = np.atleast_1d(np.asarray(C, dtype=float))
    if not np.all(np.isfinite(C) & (C > 0)):
        raise LawError(f"Compute budgets must be positive FLOP counts; got {C.tolist()}.")
    params, full = _law_params(fit)
    with jax.enable_x64(True):
        logc = jnp.log(C / k)[None, :]
        logN, log_loss = _programs(fit.law)["allocation"](params, full, _ref_nd(fit), logc)
        logD = logc - logN
        draws = {"N_opt": np.exp(np.asarray(logN)), "D_opt": np.exp(np.asarray(logD)),
                 "tokens_per_param": np.exp(np.asarray(logD - logN)), "loss_opt": np.exp(np.asarray(log_loss))}
    at_edge = np.abs(np.asarray(logN) - 0.5 * np.asarray(logc)) > _HALF_WIDTH - 1e-3
    if at_edge.any():
        raise LawError("The compute-optimal model size lies outside N = sqrt(C/k) x e^(+-25) for "
                       f"{at_edge.mean():.0%} of draws: the law has no interior optimum at these budgets.")
    table = pd.DataFrame({"C": C})
    return _decision(table, draws, ci_prob, fit)


def compute_for_loss(fit: Fit, loss: Any, *, flops_per_param_token: float | None = None,
                     ci_prob: float | None = None) -> Decision:
    """Posterior of the training compute needed to reach a loss (at the compute-optimal allocation).

    Defined for laws of N and D (along the optimum) and laws of C alone. Draws that can never reach
    the target (floor at or above it) give ``inf``; ``reachable`` is the fraction that can.
    ``ci_prob`` as for :func:`optimal_allocation`.

    For a law with a discrepancy term (``<law>_orthogonal``) the table adds ``reachable_law_alone``: the
    fraction of draws that reach the target with the term set to 0. Far beyond the runs the term's quadratic
    can turn the loss along the optimum back up before the target (see the module docstring), or carry it below
    where the law alone levels off: where the two shares differ, the difference is that extrapolation, not the law.
    """
    if isinstance(fit, Fits):  # fit_many's collection: every fit at the same losses
        return fit.compute_for_loss(loss, flops_per_param_token=flops_per_param_token, ci_prob=ci_prob)
    ci_prob = resolve_ci_prob(ci_prob)
    design = fit.spec.design
    loss = np.atleast_1d(np.asarray(loss, dtype=float))
    if not np.all(np.isfinite(loss) & (loss > 0)):
        raise LawError(f"Target losses must be positive; got {loss.tolist()}.")
    params, full = _law_params(fit)
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
        logC, reach_hi, alone = program(params, full, ref, jnp.asarray(logk, dtype=float), jnp.asarray(target))
        logC, reach_hi, alone = np.asarray(logC), np.asarray(reach_hi), np.asarray(alone)
    C_draws = np.where(reach_hi, np.exp(logC), np.inf)  # not reached by 1e45 FLOPs: never
    table = pd.DataFrame({"loss": loss, "reachable": np.isfinite(C_draws).mean(axis=0)})
    if fit.law.discrepancy:  # the law alone, the term at 0, at 1e45 FLOPs along its optimum
        table["reachable_law_alone"] = alone.mean(axis=0)
    return _decision(table, {"C": C_draws}, ci_prob, fit)


def summarised(table: pd.DataFrame, draws: dict[str, np.ndarray], ci_prob: float) -> pd.DataFrame:
    """``table`` (one row per target) with the median and ``ci_prob`` interval of each quantity's draws."""
    table = table.copy()
    table.index = pd.RangeIndex(len(table), name="target")
    parts = [summarise(arr, name, ci_prob, index=table.index) for name, arr in draws.items()]
    return pd.concat([table, *parts], axis=1)


def with_extrapolation(table: pd.DataFrame, draws: dict[str, np.ndarray], fits: list) -> pd.DataFrame:
    """``table`` with ``beyond_<col>`` for N, D (the medians of N_opt, D_opt) and C (the budget in ``table``,
    or the median compute needed): decades beyond the union of the ``fits``' runs, NaN where infinite."""
    medians = {"N": draws.get("N_opt"), "D": draws.get("D_opt"), "C": draws.get("C")}
    medians = {c: np.median(v, axis=0) for c, v in medians.items() if v is not None}
    if "C" in table.columns:
        medians["C"] = table["C"].to_numpy(float)
    ranges: dict[str, tuple[float, float]] = {}
    for f in fits:
        const = f.idata["constant_data"] if "constant_data" in f.idata else {}
        for c in medians:
            if c in const:
                lo, hi = float(np.min(const[c].values)), float(np.max(const[c].values))
                ranges[c] = (min(lo, ranges[c][0]), max(hi, ranges[c][1])) if c in ranges else (lo, hi)
    at = pd.DataFrame({c: np.where(np.isfinite(v) & (v > 0), v, np.nan) for c, v in medians.items()},
                      index=table.index)
    with np.errstate(invalid="ignore", divide="ignore"):
        beyond = decades_beyond(at, ranges)
    return pd.concat([table, beyond], axis=1)


def _decision(table: pd.DataFrame, draws: dict[str, np.ndarray], ci_prob: float, fit: Fit) -> Decision:
    table = with_extrapolation(summarised(table, draws, ci_prob), draws, [fit])
    return Decision(table=table, samples=draws, ci_prob=ci_prob, chains=int(fit.idata["posterior"].sizes["chain"]))
