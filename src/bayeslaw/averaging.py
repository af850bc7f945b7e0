"""Law averaging: a stacked predictive over several fits of the same runs.

:func:`stack` combines fits of different laws or likelihoods into one predictive
distribution, the mixture ``p(y | x) = sum_k w_k p_k(y | x)`` with weights

* ``"loo"``: stacking weights on the PSIS-LOO pointwise log predictive densities
  (:func:`bayeslaw.compare`, exact refits where PSIS fails; Yao et al. 2018);
* ``"backtest"``: stacking weights on the held-out log predictive densities of a
  backtest (each fit refitted on the smaller runs and scored on the larger ones,
  :mod:`bayeslaw.backtest`): the weights that predicted the *extrapolation* best;
* a :class:`~bayeslaw.Comparison` or :class:`~bayeslaw.Backtest` already computed, or
  explicit weights (a dict name -> weight, normalised to sum to 1).

The mixture is represented by draws: from each fit a number of posterior draws
proportional to its weight (largest-remainder rounding of ``w_k * S``, where ``S`` is the
largest total for which every fit has enough draws, ``min_k floor(S_k / w_k)``), chosen
without replacement with a seeded generator. A fit with weight 1 thus contributes all its
draws, in order; two fits of 600 draws with weights 0.5 give 1200.
The same draws are used for predictions, curves and decisions, so a stacked prediction and
a stacked optimum describe the same mixture. :class:`Stack` offers ``predict``,
``optimal_allocation`` and ``compute_for_loss`` like a :class:`~bayeslaw.Fit` (targets beyond the
union of the fitted ranges are flagged as extrapolation), and
:func:`bayeslaw.plots.plot_curve` / :func:`bayeslaw.plots.plot_overlay` draw it.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .data import SIZE_COLUMNS
from .decide import Decision, _summarise
from .errors import BayeslawError, DataError, DiagnosticWarning, LawError
from .predict import KINDS, Prediction, decades_beyond, fitted_range

#: Values of :attr:`Stack.method`: where the weights came from.
METHODS = ("loo", "backtest", "given")


# -- stacking weights -----------------------------------------------------------------------


def stacking_weights(elpd_i: np.ndarray) -> np.ndarray:
    """Stacking weights from pointwise log predictive densities (Yao et al. 2018, eq. 4).

    Maximises ``sum_i log sum_k w_k exp(elpd_i[i, k])`` over the simplex, the objective of
    ``arviz_stats.compare(method="stacking")``; each row is shifted by its maximum first
    (which leaves the maximiser unchanged) so that very negative densities do not underflow.

    Parameters
    ----------
    elpd_i : array (n, K)
        Log predictive density of each of n held-out (or leave-one-out) observations under
        each of K models.

    Returns
    -------
    array (K,)
        Non-negative weights summing to 1.
    """
    from scipy.optimize import Bounds, LinearConstraint, minimize

    e = np.asarray(elpd_i, float)
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 1:
        raise BayeslawError(f"stacking_weights takes an (observations, models) array; got shape {e.shape}.")
    k = e.shape[1]
    if k == 1:
        return np.ones(1)
    if np.isnan(e).any():
        raise BayeslawError("The pointwise log predictive densities contain NaN; cannot compute stacking weights.")
    top = e.max(axis=1, keepdims=True)
    if not np.all(np.isfinite(top)):
        bad = int(np.flatnonzero(~np.isfinite(top[:, 0]))[0])
        raise BayeslawError(f"Observation {bad} has zero predictive density under every model; "
                            "stacking weights are undefined.")
    p = np.exp(e - top)

    def score(w):
        return -np.sum(np.log(p @ w))

    def grad(w):
        return -np.sum(p / (p @ w)[:, None], axis=0)

    res = minimize(score, np.full(k, 1.0 / k), jac=grad, bounds=Bounds(np.zeros(k), np.ones(k)),
                   constraints=LinearConstraint(np.ones(k), 1.0, 1.0))
    w = np.clip(np.asarray(res.x, float), 0.0, None)
    return w / w.sum()


def backtest_weights(fits: Mapping[str, Any], bt) -> pd.Series:
    """Stacking weights of ``fits`` on a backtest's held-out pointwise log predictive densities.

    Each fit is matched to the backtest's model of the same name, else to the one of its law's
    name (when that is unambiguous); the matched backtest fit must have the same law and
    likelihood. Held-out runs are matched by ``run`` (and ``fold``/``split`` when present).
    """
    pw = bt.pointwise
    have = list(dict.fromkeys(pw["law"].astype(str)))
    law_counts = pd.Series([f.law.name for f in fits.values()]).value_counts()
    keys = {}
    for name, f in fits.items():
        if name in have:
            key = name
        elif f.law.name in have and law_counts[f.law.name] == 1:
            key = f.law.name
        else:
            raise BayeslawError(f"The backtest has no model for {name!r} (law {f.law.name}); it scored "
                                f"{', '.join(have)}. Backtest the same laws, or name the fits like its models.")
        other = bt.fits.get(key)
        if other is not None and (other.law.name != f.law.name
                                  or other.spec.get("likelihood") != f.spec.get("likelihood")):
            raise BayeslawError(f"The backtest's {key!r} is law {other.law.name} with the "
                                f"{other.spec.get('likelihood')} likelihood, but {name!r} is law {f.law.name} with "
                                f"the {f.spec.get('likelihood')} likelihood; backtest the same models.")
        keys[name] = key
    index = [c for c in ("fold", "split", "run") if c in pw.columns]
    try:
        table = pw.pivot(index=index, columns="law", values="elpd")
    except ValueError:
        raise BayeslawError("The backtest's pointwise table has several rows per model and run; "
                            "cannot match held-out runs across models.") from None
    matrix = table[[keys[n] for n in fits]].to_numpy(float)
    if np.isnan(matrix).any():
        raise BayeslawError("The backtest did not score every model on the same held-out runs.")
    return pd.Series(stacking_weights(matrix), index=list(fits), name="weight")


def run_backtest(fits: Mapping[str, Any], *, by: str = "C", holdout_top: float = 0.2, cutoff: float | None = None,
                 seed: int | None = None):
    """Backtest each fit: the same law, likelihood, priors and sampler settings refitted on the runs with
    the smaller ``by`` and scored on the larger ones (:func:`bayeslaw.backtest.score`).

    Unlike :func:`bayeslaw.backtest`, this keeps each fit's own likelihood and priors (reference-scale
    priors such as ``E ~ HalfNormal(y0)`` are re-derived from the training runs, as a fit on them would).
    Returns a :class:`~bayeslaw.Backtest` whose models are named like ``fits``.
    """
    from .backtest import COLUMNS, Backtest, score, split
    from .comparison import refit, runs_of
    from .priors import Prior

    first = next(iter(fits.values()))
    runs = runs_of(first)
    mask = split(runs, by=by, holdout_top=holdout_top, cutoff=cutoff)
    n_train, n_test = int(mask.sum()), int((~mask).sum())
    if n_test == 0:
        raise BayeslawError(f"The split leaves no test runs: every run has {by} <= {cutoff:.4g}; lower the cutoff.")
    train_labels = runs.frame.index[mask]
    cut = float(runs.frame[by].to_numpy(float)[mask].max())
    rows, points, trained = [], [], {}
    for name, f in fits.items():
        need = f.law.n_params + 2
        if n_train < need:
            raise BayeslawError(f"The backtest split leaves {n_train} training runs, but {name!r} (law {f.law.name}) "
                                f"has {f.law.n_params} parameters and needs at least {need}; raise the cutoff or "
                                "lower holdout_top.")
        own = runs_of(f)
        inside = np.asarray(own.frame.index.isin(train_labels))
        priors = {k: Prior.from_dict(d) for k, d in f.spec["priors"].items()}
        g = refit(f, own.subset(inside), seed=seed, priors=priors)
        if g.diagnostics:
            checks = ", ".join(d["check"] for d in g.diagnostics)
            warnings.warn(f"{name}: the backtest fit on {n_train} runs failed diagnostic checks ({checks}); "
                          "its held-out score, and the weights, are less certain.", DiagnosticWarning, stacklevel=3)
        trained[name] = g
        s = score(g, own.subset(~inside), seed=0 if seed is None else seed)
        pw = s.pop("pointwise")
        pw.insert(0, "law", name)
        pw.insert(2, by, own.frame[by].to_numpy(float)[~inside])
        points.append(pw)
        rows.append({"law": name, "n_train": n_train, "n_test": n_test, "cutoff": cut, **s})
    table = pd.DataFrame(rows)
    table["rank"] = table["elpd_test"].rank(ascending=False, method="min").astype(int)
    table = table.sort_values(["rank", "law"]).reset_index(drop=True)[list(COLUMNS)]
    return Backtest(table=table, pointwise=pd.concat(points, ignore_index=True), fits=trained, by=by, cutoff=cut,
                    train_runs=list(train_labels), test_runs=list(runs.frame.index[~mask]))


# -- the stack ------------------------------------------------------------------------------


@dataclass
class StackedPrediction(Prediction):
    """A :class:`~bayeslaw.predict.Prediction` of the stacked predictive (same ``table``, ``idata``,
    ``to_records``), plus each fit's own prediction (``members``) and the ``weights``.

    The ``predictions`` group's draws are the mixture's (one chain); its ``member`` coordinate
    names the fit each draw came from.
    """

    members: dict[str, Prediction] = field(default_factory=dict)
    weights: pd.Series | None = None


@dataclass
class StackedDecision(Decision):
    """A :class:`~bayeslaw.decide.Decision` of the stacked predictive: ``draws`` are the mixture of
    the member decisions' draws, ``member`` names the fit of each draw, ``members`` holds the
    decisions of the fits with positive weight."""

    members: dict[str, Decision] = field(default_factory=dict)
    member: np.ndarray | None = None


@dataclass
class Stack:
    """A weighted mixture of fits of the same runs (law averaging); build it with :func:`stack`.

    Attributes
    ----------
    fits : dict of str to Fit
    weights : Series
        Weight of each fit (index: the fits' names), non-negative, summing to 1.
    method : {"loo", "backtest", "given"}
        Where the weights came from.
    comparison : Comparison or None
        The LOO comparison behind ``"loo"`` weights.
    backtest : Backtest or None
        The backtest behind ``"backtest"`` weights.
    """

    fits: dict[str, Any]
    weights: pd.Series
    method: str = "given"
    comparison: Any = None
    backtest: Any = None

    # -- the mixture ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self.fits)

    @property
    def num_draws(self) -> int:
        """Draws of the mixture, S: the largest total for which every fit with positive weight w_k has the
        w_k * S draws it contributes, ``min_k floor(S_k / w_k)`` over its S_k posterior draws."""
        return min(int(np.floor(_n_draws(f) / self.weights[n] + 1e-9))
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
        n = np.minimum(n, [_n_draws(f) for f in self.fits.values()])  # never more than a fit has
        return pd.Series(n, index=self.names, name="draws")

    @property
    def table(self) -> pd.DataFrame:
        """One row per fit: law, likelihood, weight and the number of mixture draws it contributes."""
        counts = self.draw_counts
        out = pd.DataFrame({"law": [f.law.name for f in self.fits.values()],
                            "likelihood": [f.spec.get("likelihood") for f in self.fits.values()],
                            "weight": self.weights.to_numpy(float), "draws": counts.to_numpy()},
                           index=pd.Index(self.names, name="model"))
        return out

    def selection(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Positions (in each fit's chains-stacked draws) of the draws the mixture takes, per fit.

        A fit contributing all its draws gives them in order; otherwise a sorted random subset
        drawn without replacement by ``numpy.random.default_rng(seed)``.
        """
        rng = np.random.default_rng(seed)
        out = {}
        for name, n in self.draw_counts.items():
            size = _n_draws(self.fits[name])
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
        sel = self.selection(seed)
        parts = []
        for name, idx in sel.items():
            if len(idx) == 0:
                continue
            if name not in arrays:
                raise BayeslawError(f"No draws given for {name!r}, which has weight {self.weights[name]:.3g}.")
            arr = np.asarray(arrays[name])
            if arr.shape[0] != _n_draws(self.fits[name]):
                raise BayeslawError(f"Draws of {name!r} have {arr.shape[0]} rows; the fit has "
                                    f"{_n_draws(self.fits[name])}.")
            parts.append(arr[idx])
        return np.concatenate(parts, axis=0)

    def noise_draws(self, reps: int, seed: int = 0, *, mix_seed: int = 0) -> np.ndarray:
        """Draws of each fit's likelihood noise on log loss, ``reps`` per mixture draw: (mixture draws, reps).

        Row j is noise of the fit (and posterior draw) that mixture draw j came from.
        """
        from .predict import noise_draws

        arrays = {n: noise_draws(f, (_n_draws(f), reps), seed) for n, f in self.fits.items()
                  if self.draw_counts[n] > 0}
        return self.mix(arrays, mix_seed)

    # -- prediction and decisions --------------------------------------------------------------
    def predict(self, N=None, D=None, C=None, x=None, *, U=None, targets=None, interval: float = 0.9,
                seed: int = 0) -> StackedPrediction:
        """The stacked predictive of the mean law and of a new run at targets.

        Each fit predicts as :meth:`Fit.predict` (same ``seed`` for the new-run noise); the stack
        takes the mixture of their draws (:meth:`selection` with ``seed``). ``beyond_<var>`` is
        measured from the union of the fitted ranges. Returns a :class:`StackedPrediction`:
        the same table and DataTree as a fit's prediction, with ``members`` (each fit's own).
        """
        if not 0 < interval < 1:
            raise DataError(f"interval must be between 0 and 1; got {interval!r}.")
        members = {}
        for name, f in self.fits.items():
            try:
                members[name] = f.predict(N=N, D=D, C=C, x=x, U=U, targets=targets, interval=interval, seed=seed)
            except DataError as exc:
                raise DataError(f"Stack member {name!r} (law {f.law.name}): {exc}") from None
        mean = self.mix({n: p.draws("mean") for n, p in members.items()}, seed)
        new = self.mix({n: p.draws("new_run") for n, p in members.items()}, seed)
        frame = _union_inputs([p.table for p in members.values()])
        q = [(1 - interval) / 2, 0.5, (1 + interval) / 2]
        table = frame.copy()
        for kind, arr in (("mean", mean), ("new_run", new)):
            lo, med, hi = np.quantile(arr, q, axis=0)
            table[f"{kind}_median"], table[f"{kind}_lower"], table[f"{kind}_upper"] = med, lo, hi
        table = pd.concat([table, self.extrapolation(frame)], axis=1)
        table.index = pd.RangeIndex(len(table), name="target")

        n_mix, n_t = mean.shape
        stacked = np.stack([mean, new], axis=-1).reshape(1, n_mix, n_t, 2)
        labels = self.member_of_draws(seed).astype(str).reshape(1, n_mix)
        preds = xr.Dataset(
            {"loss": (("chain", "draw", "target", "kind"), stacked)},
            coords={"chain": [0], "draw": np.arange(n_mix), "target": np.arange(n_t), "kind": list(KINDS),
                    "member": (("chain", "draw"), labels)},
            attrs={"interval": interval, "seed": seed, "law": "stack", "weights_from": self.method,
                   "weights": json.dumps({n: float(w) for n, w in self.weights.items()})},
        )
        const = xr.Dataset({c: ("target", frame[c].to_numpy(float)) for c in frame.columns},
                           coords={"target": np.arange(n_t)})
        tree = xr.DataTree.from_dict({"predictions": preds, "predictions_constant_data": const})
        return StackedPrediction(table=table, idata=tree, interval=interval, members=members,
                                 weights=self.weights.copy())

    def optimal_allocation(self, C, *, flops_per_param_token: float | None = None, interval: float = 0.9,
                           seed: int = 0) -> StackedDecision:
        """Compute-optimal N*, D*, tokens per parameter and loss at budgets C under the stacked predictive:
        the mixture of each fit's per-draw solutions (:meth:`Fit.optimal_allocation`).

        Every fit with positive weight must be a law of N and D (else :class:`~bayeslaw.LawError`);
        fits with weight 0 are not used.
        """
        decs = self._member_decisions("optimal_allocation", C, flops_per_param_token, interval)
        table = pd.DataFrame({"C": np.atleast_1d(np.asarray(C, dtype=float))})
        return self._mixed_decision(decs, table, interval, seed)

    def compute_for_loss(self, loss, *, flops_per_param_token: float | None = None, interval: float = 0.9,
                         seed: int = 0) -> StackedDecision:
        """Training compute to reach a loss under the stacked predictive (mixture of each fit's per-draw
        solutions, :meth:`Fit.compute_for_loss`); ``reachable`` is the mixture's fraction of draws
        that reach it. Every fit with positive weight must define it (laws of N and D, or of C)."""
        decs = self._member_decisions("compute_for_loss", loss, flops_per_param_token, interval)
        draws_c = self.mix({n: d.draws["C"] for n, d in decs.items()}, seed)
        table = pd.DataFrame({"loss": np.atleast_1d(np.asarray(loss, dtype=float)),
                              "reachable": np.isfinite(draws_c).mean(axis=0)})
        return self._mixed_decision(decs, table, interval, seed)

    def _member_decisions(self, what: str, value, k, interval) -> dict[str, Decision]:
        out = {}
        for name, f in self.fits.items():
            if self.weights[name] <= 0:
                continue
            try:
                out[name] = getattr(f, what)(value, flops_per_param_token=k, interval=interval)
            except LawError as exc:
                raise LawError(f"The stack cannot average {what}: member {name!r} (law {f.law.name}, weight "
                               f"{self.weights[name]:.3g}) does not define it. {exc} Leave that fit out of the "
                               "stack or give it weight 0.") from None
        return out

    def _mixed_decision(self, decs, table, interval, seed) -> StackedDecision:
        keys = list(next(iter(decs.values())).draws)
        draws = {key: self.mix({n: d.draws[key] for n, d in decs.items()}, seed) for key in keys}
        _summarise(table, draws, interval)
        return StackedDecision(table=table, draws=draws, interval=interval, members=decs,
                               member=self.member_of_draws(seed))

    # -- ranges, description -------------------------------------------------------------------
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description (keys as in docs/cli.md): where the weights came from, the weights,
        and the number of mixture draws in all and from each fit."""
        out = {"weights_from": self.method, "weights": {n: float(w) for n, w in self.weights.items()},
               "draws": int(self.draw_counts.sum()),
               "draws_per_model": {n: int(c) for n, c in self.draw_counts.items()}}
        if self.backtest is not None:
            bt = self.backtest
            out["backtest"] = {"by": bt.by, "cutoff": float(bt.cutoff), "n_train": len(bt.train_runs),
                               "n_test": len(bt.test_runs)}
        return out

    def __repr__(self) -> str:
        return f"<Stack ({self.method} weights) of {len(self.fits)} fits: " + ", ".join(
            f"{n} {w:.3g}" for n, w in self.weights.items()) + ">"


def _n_draws(fit) -> int:
    post = fit.idata["posterior"]
    return int(post.sizes["chain"] * post.sizes["draw"])


def _union_inputs(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The targets' input columns over several members' prediction tables (same targets)."""
    cols: dict[str, np.ndarray] = {}
    for t in tables:
        for c in t.columns:
            if not str(c).startswith(("mean_", "new_run_", "beyond_")) and c not in cols:
                cols[c] = t[c].to_numpy(float)
    order = [c for c in ("x", *SIZE_COLUMNS) if c in cols] + [c for c in cols if c not in ("x", *SIZE_COLUMNS)]
    return pd.DataFrame({c: cols[c] for c in order})


def _check_same_runs(fits: Mapping[str, Any]) -> None:
    obs = {n: np.asarray(f.idata["observed_data"]["log_loss"].values) for n, f in fits.items()}
    first = next(iter(obs))
    for n, o in obs.items():
        if o.shape != obs[first].shape or not np.allclose(o, obs[first]):
            raise BayeslawError(f"{n!r} and {first!r} were fitted to different runs ({o.size} and {obs[first].size} "
                                "runs, or other losses); a stack averages fits of the same runs.")


def _given_weights(fits: Mapping[str, Any], weights) -> pd.Series:
    names = list(fits)
    if isinstance(weights, pd.Series):
        weights = weights.to_dict()
    if isinstance(weights, Mapping):
        unknown = [str(k) for k in weights if k not in fits]
        if unknown:
            raise BayeslawError(f"Weights for unknown fit(s) {', '.join(unknown)}; the fits are {', '.join(names)}.")
        missing = [n for n in names if n not in weights]
        if missing:
            raise BayeslawError(f"No weight for {', '.join(missing)}; give one per fit (0 leaves a fit out).")
        values = [weights[n] for n in names]
    elif isinstance(weights, Sequence) and not isinstance(weights, str):
        values = list(weights)
        if len(values) != len(names):
            raise BayeslawError(f"{len(values)} weights for {len(names)} fits; give one per fit, in order.")
    else:
        raise BayeslawError(f"weights must be 'loo', 'backtest', a Comparison, a Backtest, or a dict of fit name "
                            f"to weight; got {weights!r}.")
    try:
        w = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise BayeslawError(f"Weights must be numbers; got {values!r}.") from None
    if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise BayeslawError(f"Weights must be non-negative and finite with a positive sum; got {w.tolist()}.")
    return pd.Series(w / w.sum(), index=names, name="weight")


def stack(fits: Mapping[str, Any], weights: Any = "loo", *, by: str = "C", holdout_top: float = 0.2,
          cutoff: float | None = None, pareto_k_max: float = 0.7, refit: bool = True) -> Stack:
    """Average fits of the same runs into one stacked predictive.

    Parameters
    ----------
    fits : dict of str to Fit
        Fits of the same runs (different laws, likelihoods or priors), by name.
    weights : "loo", "backtest", Comparison, Backtest, dict or sequence, default "loo"
        ``"loo"``: stacking weights by PSIS-LOO (:func:`bayeslaw.compare` with ``pareto_k_max``
        and ``refit``). ``"backtest"``: stacking weights on held-out log predictive densities,
        each fit refitted (same law, likelihood, priors, sampler settings) on the runs with the
        smaller ``by`` and scored on the rest (``holdout_top`` / ``cutoff`` as in
        :func:`bayeslaw.backtest`; :func:`run_backtest`). A :class:`~bayeslaw.Comparison` or
        :class:`~bayeslaw.Backtest`: its weights (a backtest's by :func:`backtest_weights`).
        A dict name -> weight (or a sequence in the order of ``fits``): explicit weights,
        normalised to sum to 1; 0 leaves a fit out of the mixture.

    Returns
    -------
    Stack
    """
    from .backtest import Backtest
    from .comparison import Comparison, compare

    if not isinstance(fits, Mapping) or not fits:
        raise BayeslawError("stack() takes a dict of fits, e.g. {'chinchilla': f1, 'compute': f2}.")
    bad = [str(n) for n, f in fits.items() if not (hasattr(f, "idata") and hasattr(f, "law"))]
    if bad:
        raise BayeslawError(f"stack() takes fits (bayeslaw.fit results); {', '.join(bad)} is not one.")
    fits = {str(n): f for n, f in fits.items()}
    _check_same_runs(fits)
    comparison = bt = None
    if isinstance(weights, str) and weights == "loo":
        weights = compare(fits, pareto_k_max=pareto_k_max, refit=refit)
    elif isinstance(weights, str) and weights == "backtest":
        weights = run_backtest(fits, by=by, holdout_top=holdout_top, cutoff=cutoff)
    if isinstance(weights, Comparison):
        comparison, method = weights, "loo"
        missing = [n for n in fits if n not in weights.table.index]
        extra = [str(n) for n in weights.table.index if n not in fits]
        if missing or extra:
            raise BayeslawError(f"The comparison ranks {', '.join(map(str, weights.table.index))}, the fits are "
                                f"{', '.join(fits)}; stack the fits that were compared.")
        w = pd.Series(weights.table.loc[list(fits), "weight"].to_numpy(float), index=list(fits), name="weight")
        w = _given_weights(fits, w)
    elif isinstance(weights, Backtest):
        bt, method = weights, "backtest"
        w = backtest_weights(fits, weights)
    elif isinstance(weights, str):
        raise BayeslawError(f"weights must be 'loo', 'backtest', a Comparison, a Backtest, or a dict of fit name "
                            f"to weight; got {weights!r}.")
    else:
        method = "given"
        w = _given_weights(fits, weights)
    return Stack(fits=fits, weights=w, method=method, comparison=comparison, backtest=bt)
