"""A weighted mixture of fits of the same runs, represented by draws; its predictions and decisions.

The mixture ``p(y | x) = sum_k w_k p_k(y | x)`` takes from each fit a number of posterior draws
proportional to its weight (largest-remainder rounding of ``w_k * S``, where ``S`` is the largest
total for which every fit has enough draws, ``min_k floor(S_k / w_k)``), chosen without
replacement with a seeded generator. A fit with weight 1 thus contributes all its draws, in
order; two fits of 600 draws with weights 0.5 give 1200. The same draws are used for
predictions, curves and decisions, so a mixed prediction and a mixed optimum describe the same
mixture. Where the weights come from (LOO, a backtest, the user) is the averaging layer's
business (:func:`bayeslaw.stack`, whose :class:`~bayeslaw.Stack` is a :class:`Mixture`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..core.records import resolve_ci_prob
from ..core.runs import SIZE_COLUMNS
from ..core.spec import check_seed
from ..errors import BayeslawError, DataError, LawError
from ..inference.result import Fit
from .decide import Decision, compute_for_loss, optimal_allocation, summarised, with_extrapolation
from .predict import Prediction, decades_beyond, fitted_range, noise_draws, predict, prediction
from .targets import ignored_names


@dataclass
class MixedPrediction(Prediction):
    """A :class:`~bayeslaw.posterior.predict.Prediction` of a mixture (same ``table``, ``idata``,
    ``to_records``), plus each fit's own prediction (``members``) and the ``weights``.

    The ``predictions`` group's draws are the mixture's (one chain); its ``member`` coordinate
    names the fit each draw came from.
    """

    members: dict[str, Prediction] = field(default_factory=dict)
    weights: pd.Series | None = None


@dataclass
class MixedDecision(Decision):
    """A :class:`~bayeslaw.posterior.decide.Decision` of a mixture: draws are the mixture of the
    member decisions' draws, ``member`` names the fit of each draw, ``members`` holds the
    decisions of the fits with positive weight."""

    members: dict[str, Decision] = field(default_factory=dict)
    member: np.ndarray | None = None


@dataclass
class Mixture:
    """A weighted mixture of fits of the same runs (``weights``: non-negative, summing to 1)."""

    fits: dict[str, Fit]
    weights: pd.Series

    # -- the mixture's draws ------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """The fits' names, in order."""
        return list(self.fits)

    @property
    def num_draws(self) -> int:
        """Draws of the mixture, S: the largest total for which every fit with positive weight w_k has the
        w_k * S draws it contributes, ``min_k floor(S_k / w_k)`` over its S_k posterior draws."""
        return min(int(np.floor(f.num_draws / self.weights[n] + 1e-9))
                   for n, f in self.fits.items() if self.weights[n] > 0)

    @property
    def draw_counts(self) -> pd.Series:
        """How many of the mixture's draws come from each fit (largest-remainder rounding of w * S)."""
        w = self.weights.to_numpy(float)
        total = self.num_draws
        raw = w * total
        n = np.floor(raw).astype(int)
        rest = int(total - n.sum())
        positive = np.flatnonzero(w > 0)
        order = positive[np.argsort(-(raw - n)[positive], kind="stable")]
        n[order[:rest]] += 1
        n = np.minimum(n, [f.num_draws for f in self.fits.values()])  # never more than a fit has
        return pd.Series(n, index=self.names, name="draws")

    def selection(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Positions (in each fit's chains-stacked draws) of the draws the mixture takes, per fit.

        A fit contributing all its draws gives them in order; otherwise a sorted random subset
        drawn without replacement by ``numpy.random.default_rng(seed)``.
        """
        rng = np.random.default_rng(seed)
        out = {}
        for name, n in self.draw_counts.items():
            size = self.fits[name].num_draws
            if n == 0:
                out[name] = np.zeros(0, int)
            elif n == size:
                out[name] = np.arange(size)
            else:
                out[name] = np.sort(rng.choice(size, int(n), replace=False))
        return out

    def member_of_draws(self, seed: int = 0) -> np.ndarray:
        """The fit each mixture draw comes from (an array of names, mixture order)."""
        sel = self.selection(seed)
        return np.concatenate([np.full(len(idx), name, dtype=object) for name, idx in sel.items()])

    def mix(self, arrays: Mapping[str, np.ndarray], seed: int = 0) -> np.ndarray:
        """The mixture of per-fit draws: ``arrays[name]`` has the fit's draws on its first axis."""
        parts = []
        for name, idx in self.selection(seed).items():
            if len(idx) == 0:
                continue
            if name not in arrays:
                raise BayeslawError(f"No draws given for {name!r}, which has weight {self.weights[name]:.3g}.")
            arr = np.asarray(arrays[name])
            if arr.shape[0] != self.fits[name].num_draws:
                raise BayeslawError(f"Draws of {name!r} have {arr.shape[0]} rows; the fit has "
                                    f"{self.fits[name].num_draws}.")
            parts.append(arr[idx])
        return np.concatenate(parts, axis=0)

    def noise_draws(self, reps: int, seed: int = 0, *, mix_seed: int = 0) -> np.ndarray:
        """Draws of each fit's noise on log loss, ``reps`` per mixture draw: (mixture draws, reps).

        Row j is noise of the fit (and posterior draw) that mixture draw j came from.
        """
        arrays = {n: noise_draws(f, (f.num_draws, reps), seed) for n, f in self.fits.items()
                  if self.draw_counts[n] > 0}
        return self.mix(arrays, mix_seed)

    # -- prediction and decisions --------------------------------------------------------------------
    def predict(self, targets: Any = None, *, ci_prob: float | None = None, seed: int = 0,
                **inputs: Any) -> MixedPrediction:
        """The mixture's predictive of the mean law and of a new run at targets.

        Each fit predicts as :func:`bayeslaw.predict` (same ``seed`` for the new-run noise) from the target
        names it uses (a law of N alone in a stack with a law of N and D is not given D); the mixture
        takes its draws (:meth:`selection` with ``seed``). ``beyond_<input>`` is measured from the union
        of the fitted ranges.
        """
        ci_prob = resolve_ci_prob(ci_prob)
        seed = check_seed(seed)
        given = {**({str(c): v for c, v in pd.DataFrame(targets).items()} if targets is not None else {}),
                 **{k: v for k, v in inputs.items() if v is not None}}
        ignored = {name: ignored_names(f, set(given)) for name, f in self.fits.items()}
        by_all = set.intersection(*ignored.values()) if ignored else set()
        members = {}
        for name, f in self.fits.items():
            own = {k: v for k, v in given.items() if k not in ignored[name] - by_all}  # another member's input
            try:
                members[name] = predict(f, ci_prob=ci_prob, seed=seed, **own)
            except DataError as exc:
                raise DataError(f"Stack member {name!r} (law {f.law.name}): {exc}") from None
        mean = self.mix({n: p.draws("mean") for n, p in members.items()}, seed)
        new = self.mix({n: p.draws("new_run") for n, p in members.items()}, seed)
        frame = _union_inputs([p.table[list(p.inputs)] for p in members.values()])
        labels = self.member_of_draws(seed).astype(str).reshape(1, -1)
        parts = prediction(frame, mean, new, self.extrapolation(frame), ci_prob, np.array([0]),
                           np.arange(mean.shape[0]), {"seed": seed, "law": "mixture"},
                           coords={"member": (("chain", "draw"), labels)})
        return MixedPrediction(**parts, members=members, weights=self.weights.copy())

    def optimal_allocation(self, C: Any, *, flops_per_param_token: float | None = None,
                           ci_prob: float | None = None, seed: int = 0) -> MixedDecision:
        """Compute-optimal N*, D*, tokens per parameter and loss at budgets C: the mixture of each fit's
        per-draw solutions. Every fit with positive weight must be a law of N and D (else
        :class:`~bayeslaw.LawError`); fits with weight 0 are not used."""
        decs = self._member_decisions(optimal_allocation, C, flops_per_param_token, ci_prob)
        table = pd.DataFrame({"C": np.atleast_1d(np.asarray(C, dtype=float))})
        return self._mixed_decision(decs, table, ci_prob, seed)

    def compute_for_loss(self, loss: Any, *, flops_per_param_token: float | None = None,
                         ci_prob: float | None = None, seed: int = 0) -> MixedDecision:
        """Training compute to reach a loss: the mixture of each fit's per-draw solutions; ``reachable`` is
        the mixture's fraction of draws that reach it. Every fit with positive weight must define it."""
        decs = self._member_decisions(compute_for_loss, loss, flops_per_param_token, ci_prob)
        draws_c = self.mix({n: d.draws("C") for n, d in decs.items()}, seed)
        table = pd.DataFrame({"loss": np.atleast_1d(np.asarray(loss, dtype=float)),
                              "reachable": np.isfinite(draws_c).mean(axis=0)})
        return self._mixed_decision(decs, table, ci_prob, seed)

    def _member_decisions(self, what, value, k, ci_prob) -> dict[str, Decision]:
        out = {}
        for name, f in self.fits.items():
            if self.weights[name] <= 0:
                continue
            try:
                out[name] = what(f, value, flops_per_param_token=k, ci_prob=ci_prob)
            except LawError as exc:
                raise LawError(f"The stack cannot average {what.__name__}: member {name!r} (law {f.law.name}, "
                               f"weight {self.weights[name]:.3g}) does not define it. {exc} Leave that fit out or "
                               "give it weight 0.") from None
        return out

    def _mixed_decision(self, decs, table, ci_prob, seed) -> MixedDecision:
        ci_prob = resolve_ci_prob(ci_prob)
        keys = list(next(iter(decs.values())).samples)
        draws = {key: self.mix({n: d.draws(key) for n, d in decs.items()}, seed) for key in keys}
        used = [self.fits[n] for n in decs]
        return MixedDecision(table=with_extrapolation(summarised(table, draws, ci_prob), draws, used), samples=draws, ci_prob=ci_prob, chains=1,
                             members=decs, member=self.member_of_draws(seed))

    # -- ranges, description -------------------------------------------------------------------------
    def fitted_ranges(self) -> dict[str, tuple[float, float]]:
        """Per input column, the union of the fitted ranges (min, max) of the fits with positive weight."""
        out: dict[str, tuple[float, float]] = {}
        for name, f in self.fits.items():
            if self.weights[name] <= 0:
                continue
            for col, (lo, hi) in fitted_range(f).items():
                out[col] = (min(lo, out[col][0]), max(hi, out[col][1])) if col in out else (lo, hi)
        order = [c for c in ("x", *SIZE_COLUMNS) if c in out] + [c for c in out if c not in ("x", *SIZE_COLUMNS)]
        return {c: out[c] for c in order}

    def extrapolation(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Decades beyond the union of the fitted ranges per input (> 0 above, < 0 below, 0 inside)."""
        return decades_beyond(frame, self.fitted_ranges())

    @property
    def label(self) -> str:
        """A short description: ``stack of chinchilla (0.95), compute (0.05)``."""
        return "stack of " + ", ".join(f"{n} ({w:.2g})" for n, w in self.weights.items())


def _union_inputs(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The targets' input columns over several members' prediction tables (same targets)."""
    cols: dict[str, np.ndarray] = {}
    for t in tables:
        for c in t.columns:
            if c not in cols:
                cols[c] = t[c].to_numpy(float)
    order = [c for c in ("x", *SIZE_COLUMNS) if c in cols] + [c for c in cols if c not in ("x", *SIZE_COLUMNS)]
    return pd.DataFrame({c: cols[c] for c in order})


def check_same_runs(fits: Mapping[str, Fit]) -> None:
    """Refuse fits made on different runs (a mixture, a comparison or a stack averages fits of the same runs)."""
    obs = {n: np.asarray(f.idata["observed_data"]["log_loss"].values) for n, f in fits.items()}
    first = next(iter(obs))
    for n, o in obs.items():
        if o.shape != obs[first].shape or not np.allclose(o, obs[first]):
            raise BayeslawError(f"{n!r} and {first!r} were fitted to different runs ({o.size} and {obs[first].size} "
                                "runs, or other losses); a stack averages fits of the same runs.")
