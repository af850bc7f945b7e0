"""Many fits in one compiled program: :func:`fit_many`.

Fitting many curves or ladders one :func:`~bayeslaw.fit` at a time spends most of the time in
small, sequential NUTS runs. :func:`fit_many` plans every data set first (each refused at once
with its own sentence), groups the plans that share a compiled program (the same law,
observation model, prior families and supports, padded size and sampler settings), and runs
each group through :func:`~bayeslaw.inference.sampler.run_nuts_batch`: data sets on an outer
vectorised axis, in chunks, chains vectorised inside. Every data set keeps its own reference
scales, priors resolved at its own loss scale, Laplace start and step-size and mass-matrix
adaptation, so each result is a full :class:`~bayeslaw.Fit` (DataTree, spec, diagnostics),
with the keys and initial points ``fit`` would give it alone (its plan's seed), so its draws are
those of ``fit``, up to floating-point reassociation in the vectorised program.

One machine, one device: for more, run groups of data sets on a Dask cluster (``client.map`` over
lists of tables; each worker calls ``fit_many``).
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any, Mapping, Sequence

import jax
import numpy as np

from ..errors import BayeslawError
from .fit import Prepared, assemble, prepare
from .plan import FitPlan, plan_fit
from .result import Fit
from .sampler import run_nuts_batch


def fit_many(data: Sequence[Any] | Mapping[str, Any], law: Any = "chinchilla", *, chunk: int = 16,
             progress_bar: bool | None = None, check: bool = True, **kwargs: Any) -> list[Fit] | dict[str, Fit]:
    """Fit many run tables (or plans) with one compiled NUTS program per shape.

    Parameters
    ----------
    data : list or dict of run tables or FitPlans
        Each item is what :func:`bayeslaw.fit` takes (a path, DataFrame, :class:`~bayeslaw.Runs` or a plan
        from :func:`bayeslaw.plan_fit`); a dict keeps its keys in the result.
    law, **kwargs
        :func:`bayeslaw.fit`'s arguments for every table that is not a plan (``x``, ``likelihood``, ``run``,
        ``priors``, ``num_samples``, ``seed``, ...).
    chunk : int, default 16
        Data sets sampled at once: a vectorised NUTS step lasts as long as its longest trajectory, so very
        wide batches waste work on a CPU; on a GPU raise it.
    progress_bar : bool, optional
        One line per finished chunk on stderr (default: when stderr is a terminal).
    check : bool, default True
        Warn about each fit's failed diagnostic checks, with its key or position in front.

    Returns
    -------
    list or dict of Fit
        In the order (or with the keys) of ``data``. ``spec.sampler.wall_seconds`` is each fit's share of its
        group's sampling time; ``spec.sampler.chain_method`` is ``"vectorized"``.

    Examples
    --------
    >>> fits = bayeslaw.fit_many({name: table for name, table in curves}, "power_law", x="step",
    ...                          run="run_id", num_chains=2)  # doctest: +SKIP
    """
    keys = list(data) if isinstance(data, Mapping) else list(range(len(data)))
    items = list(data.values()) if isinstance(data, Mapping) else list(data)
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of data sets; got {chunk!r}.")
    plans = [_plan(k, d, law, kwargs) for k, d in zip(keys, items)]
    preps = [prepare(p) for p in plans]
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    fits: list[Fit | None] = [None] * len(preps)
    groups = _groups(preps)
    done = 0
    for members in groups.values():
        first = preps[members[0]].plan.sampler
        args = jax.tree.map(lambda *v: np.stack([np.asarray(a) for a in v]), *(preps[i].args for i in members))
        with jax.enable_x64(True):
            t0 = time.perf_counter()
            samples, extra = run_nuts_batch(preps[members[0]].model, args, cache_key=preps[members[0]].cache_key,
                                            num_warmup=first.num_warmup, num_samples=first.num_samples,
                                            num_chains=first.num_chains, dense_mass=first.dense_mass,
                                            target_accept_prob=first.target_accept_prob,
                                            seed=[preps[i].plan.sampler.seed for i in members], chunk=chunk,
                                            on_chunk=_progress(done, len(preps)) if progress_bar else None)
            wall = (time.perf_counter() - t0) / len(members)
        for j, i in enumerate(members):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fits[i] = assemble(preps[i], {k: v[j] for k, v in samples.items()},
                                   {k: v[j] for k, v in extra.items()}, wall, check=check, chain_method="vectorized")
            for w in caught:
                warnings.warn(f"{keys[i]}: {w.message}", w.category, stacklevel=2)
        done += len(members)
    return dict(zip(keys, fits)) if isinstance(data, Mapping) else list(fits)


def _progress(before: int, total: int):
    """One line on stderr per finished chunk: data sets sampled so far, of all."""
    def tick(done: int, _group: int) -> None:
        print(f"fit_many: {before + done}/{total} data sets sampled", file=sys.stderr, flush=True)
    return tick


def _plan(key: Any, item: Any, law: Any, kwargs: dict) -> FitPlan:
    """A data set's plan; a refusal names the data set (its key or position) in front of the sentence."""
    if isinstance(item, FitPlan):
        return item
    try:
        return plan_fit(item, law, **kwargs)
    except BayeslawError as exc:
        raise type(exc)(f"data set {key!r}: {exc}") from None


def _groups(preps: list[Prepared]) -> dict[tuple, list[int]]:
    """Positions of the prepared plans that can share one compiled program, by the program's key."""
    out: dict[tuple, list[int]] = {}
    for i, p in enumerate(preps):
        s = p.plan.sampler
        leaves = jax.tree.leaves(p.args)
        key = (p.cache_key, str(jax.tree.structure(p.args)),
               tuple((np.shape(v), str(np.asarray(v).dtype)) for v in leaves),
               s.num_warmup, s.num_samples, s.num_chains, s.dense_mass, s.target_accept_prob)
        out.setdefault(key, []).append(i)
    return out


__all__ = ["fit_many"]
