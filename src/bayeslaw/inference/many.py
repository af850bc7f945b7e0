"""Many fits at once: :func:`fit_many`, and :class:`Fits`, the collection it returns.

:func:`fit_many` plans every data set first (each refused at once with its own sentence), then fits
them in one of three ways (``method``). On CPUs, ``"threads"``: each data set is :func:`~bayeslaw.fit`
alone, a few at a time; compiled programs are reused and run in parallel while tracing takes turns
(:data:`~bayeslaw.inference.sampler.TRACE_LOCK`), so the draws are ``fit``'s exactly. On a GPU,
``"vectorized"``: the plans that share a compiled program (the same law, observation model, prior
families and supports, padded size and sampler settings) are sampled together through
:func:`~bayeslaw.inference.sampler.run_nuts_batch`, data sets on an outer vectorised axis in chunks;
each keeps its own reference scales, priors, Laplace start, adaptation, and the keys and initial
points ``fit`` would give it, so its draws agree with ``fit``'s in distribution (the first iterations
exactly; floating-point reassociation then lets the trajectories drift apart). On 2 CPU cores the
vectorised program took twice a loop's time (its step lasts as long as the longest trajectory).

Past one machine, ``client=`` sends the same tasks to a Dask cluster (retried on another worker if
theirs dies) and gathers them into the same collection, with the same draws.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import as_completed as as_completed_threads
from typing import Any, Mapping, Sequence

import jax
import numpy as np
import pandas as pd
import xarray as xr

from ..core.collection import Each
from ..core.records import table_records
from ..core.runs import Runs
from ..core.tables import read_table, source_name
from ..errors import BayeslawError, DataError, DiagnosticWarning
from .fit import Prepared, assemble, prepare, run_plan
from .plan import FitPlan, plan_fit
from .result import Fit
from .sampler import run_nuts_batch


def fit_many(data: Any, law: Any = "chinchilla", *, by: str | Sequence[str] | None = None, method: str = "auto",
             workers: int | None = None, chunk: int = 16, client: Any = None, progress_bar: bool | None = None,
             check: bool = True, **kwargs: Any) -> "Fits":
    """Fit many run tables (or plans): every data set on the local cores, a GPU or a Dask cluster.

    Parameters
    ----------
    data : table, list or dict of run tables or FitPlans
        With ``by``: one table (path, DataFrame or :class:`~bayeslaw.Runs`) whose rows are split by the
        ``by`` column(s), one data set per value. Without: a list or dict of what :func:`bayeslaw.fit`
        takes (a path, DataFrame, Runs or a plan from :func:`bayeslaw.plan_fit`); a dict keeps its keys.
    by : str or list of str, optional
        The column(s) that name each data set (a curve, a task, a model family).
    law, **kwargs
        :func:`bayeslaw.fit`'s arguments for every table that is not a plan (``x``, ``likelihood``, ``run``,
        ``priors``, ``num_samples``, ``seed``, ...).
    method : {"auto", "threads", "vectorized", "loop"}
        ``"threads"``: each data set is :func:`bayeslaw.fit` alone (the same draws), ``workers`` at a time
        (compiled programs run in parallel; tracing takes turns). ``"vectorized"``: the data sets that share a
        program are sampled together, ``chunk`` at a time, in one vectorised program (each with the keys and
        starts ``fit`` would give it; a vectorised step lasts as long as the longest trajectory, and the draws
        agree with ``fit``'s in distribution). ``"loop"``: one after another. ``"auto"``: vectorized when JAX
        runs on a GPU or TPU, else threads (on 2 CPU cores, 92 Revisiting curves: threads 0.6 times a loop's
        time, vectorized 2.0 times; benchmarks/RESULTS.md).
    workers : int, optional
        Threads for ``"threads"`` (default: the CPU count).
    chunk : int, default 16
        Data sets per vectorised program (``"vectorized"``); raise it on a GPU.
    client : dask.distributed.Client, optional
        Run the chunks as tasks on this Dask cluster (each worker needs bayeslaw installed; a chunk whose
        worker dies is run again elsewhere, up to twice); the draws are those of the local run.
    progress_bar : bool, optional
        One line per finished chunk on stderr (default: when stderr is a terminal).
    check : bool, default True
        Warn about each fit's failed diagnostic checks, with its key or position in front.

    Returns
    -------
    Fits
        A mapping of each data set's key (its ``by`` value, dict key or position) to its :class:`~bayeslaw.Fit`,
        with ``.table`` (every curve's parameters and checks), ``.to_records()`` and ``.idata`` (the
        posteriors along a ``curve`` dimension). ``spec.sampler.wall_seconds`` is each fit's share of its
        group's sampling time; ``spec.sampler.chain_method`` is ``"vectorized"`` for vectorised fits.

    Examples
    --------
    >>> fits = bayeslaw.fit_many("curves.csv", "power_law", by="curve_id", x="step")  # doctest: +SKIP
    >>> fits.table.loc["run_7"]  # doctest: +SKIP
    """
    if by is not None:
        data = split_by(data, by)
    elif not isinstance(data, (Mapping, Sequence)) or isinstance(data, str):
        raise ValueError("fit_many takes a list or dict of run tables, or one table with by='COLUMN' naming the "
                         "column that tells the data sets apart.")
    keys = list(data) if isinstance(data, Mapping) else list(range(len(data)))
    items = list(data.values()) if isinstance(data, Mapping) else list(data)
    if chunk < 1:
        raise ValueError(f"chunk must be a positive number of data sets; got {chunk!r}.")
    plans = [_plan(k, d, law, kwargs) for k, d in zip(keys, items)]
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    method = resolve_method(method)
    preps = None
    if method == "vectorized":   # the same chunks on this machine and on a cluster
        preps = [prepare(p, shared_sizes=True) for p in plans]
        tasks = _tasks(preps, chunk)
    else:
        tasks = [([i], 0) for i in range(len(plans))]
    workers = max(1, int(workers or os.cpu_count() or 1)) if method == "threads" else 1
    results: list[Fit | None] = [None] * len(plans)
    for members, fits in _run(tasks, plans, client, workers, preps):
        for i, f in zip(members, fits):
            results[i] = f
            for d in f.diagnostics if check else ():
                warnings.warn(f"{keys[i]}: {d['message']}", DiagnosticWarning, stacklevel=2)
        if progress_bar:
            done = sum(r is not None for r in results)
            print(f"fit_many: {done}/{len(plans)} data sets fitted", file=sys.stderr, flush=True)
    return Fits(dict(zip(keys, results)), by=by)


def split_by(data: Any, by: str | Sequence[str]) -> dict[Any, Any]:
    """One table's rows split by the ``by`` column(s): {value (a tuple for several columns): sub-table}."""
    cols = [by] if isinstance(by, str) else list(by)
    if isinstance(data, Runs):
        frame = data.frame
    else:
        frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        where = data.source if isinstance(data, Runs) else source_name(data) if not isinstance(data, pd.DataFrame) \
            else "the DataFrame"
        raise DataError(f"{where} has no column {missing[0]!r} to split by; its columns are: "
                        f"{', '.join(map(str, frame.columns))}.")
    groups = frame.groupby(cols[0] if len(cols) == 1 else cols, sort=True, dropna=False)
    if isinstance(data, Runs):
        return {key: data.subset(frame.index.isin(rows.index)) for key, rows in groups}
    return {key: rows.drop(columns=cols) for key, rows in groups}


class Fits(Each):
    """The fits of many data sets: a mapping of each data set's key to its :class:`~bayeslaw.Fit`, with the
    result contract over all of them (``.table``, ``.to_records()``, ``.idata`` along a ``curve`` dimension)
    and the posterior questions asked of every fit at once (``predict``, ``optimal_allocation``,
    ``compute_for_loss``: each returns an :class:`~bayeslaw.core.collection.Each` of results)."""

    def __init__(self, fits: dict[Any, Fit], by: str | Sequence[str] | None = None):
        super().__init__(fits, name="curve")
        self.by = by

    def __repr__(self) -> str:
        bad = sum(not f.converged for f in self.values())
        law = {f.law.name for f in self.values()}
        return f"<Fits {len(self)} data sets, law {', '.join(sorted(law))} ({bad} with diagnostic warnings)>"

    def summary(self, ci_prob: float | None = None) -> pd.DataFrame:
        """Every data set's parameter table (:meth:`Fit.summary`) stacked, indexed by (``curve``, ``param``), with
        its row count, whether every check passed and which failed."""
        return self.stack([f.summary(ci_prob).assign(
            n_runs=f.spec.data.n_runs, converged=f.converged,
            failed_checks=", ".join(d["check"] for d in f.diagnostics)) for f in self.values()])

    @property
    def table(self) -> pd.DataFrame:
        return self.summary()

    def to_records(self, ci_prob: float | None = None) -> list[dict[str, Any]]:
        """The stacked table as JSON-safe rows (``curve``, ``param``, then the columns)."""
        table = self.summary(ci_prob)
        return table_records(table.reset_index("curve"), ci_prob=table.attrs.get("ci_prob"))

    @property
    def idata(self) -> xr.DataTree:
        """The posteriors and sample statistics of all data sets along a ``curve`` dimension (ArviZ reads it
        like one fit's; each data set's own DataTree is ``fits[key].idata``)."""
        fits = list(self.values())
        names = {tuple(f.param_names) for f in fits}
        shapes = {(f.spec.sampler.num_chains, f.spec.sampler.num_samples) for f in fits}
        if len(names) > 1 or len(shapes) > 1:
            raise BayeslawError("The data sets were fitted with different laws or sampler settings, so their "
                                "posteriors do not line up along one curve dimension; use fits[key].idata.")
        return self.concat(("posterior", "sample_stats"))

    def predict(self, *args: Any, **kwargs: Any) -> Each:
        """:func:`bayeslaw.predict` of every fit at the same targets (``run=`` applies to each)."""
        return Each({k: f.predict(*args, **kwargs) for k, f in self.items()})

    def optimal_allocation(self, *args: Any, **kwargs: Any) -> Each:
        """:func:`bayeslaw.optimal_allocation` of every fit."""
        return Each({k: f.optimal_allocation(*args, **kwargs) for k, f in self.items()})

    def compute_for_loss(self, *args: Any, **kwargs: Any) -> Each:
        """:func:`bayeslaw.compute_for_loss` of every fit."""
        return Each({k: f.compute_for_loss(*args, **kwargs) for k, f in self.items()})


def _tasks(preps: list[Prepared], chunk: int) -> list[tuple[list[int], int]]:
    """(positions, width) of each compiled program's runs: a group of plans that share a program, cut into
    slices of ``width = min(chunk, group size)`` data sets (a short last slice is padded to it)."""
    out = []
    for members in _groups(preps).values():
        width = min(chunk, len(members))
        out += [(members[k:k + width], width) for k in range(0, len(members), width)]
    return out


def resolve_method(method: str) -> str:
    """``"auto"`` as the devices say: vectorized on a GPU or TPU, threads on CPUs."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}.")
    if method != "auto":
        return method
    return "vectorized" if jax.default_backend() != "cpu" else "threads"


def fit_chunk(plans: list[FitPlan], width: int) -> list[Fit]:
    """What each step or cluster task of :func:`fit_many` runs: with ``width`` 0, each plan's :func:`fit`; else
    plans that share one compiled program, sampled together (padded to ``width`` data sets). Diagnostics are
    recorded, not warned."""
    if width == 0:
        return [run_plan(p, progress_bar=False, check=False, shared_sizes=True) for p in plans]
    return _fit_prepared([prepare(p, shared_sizes=True) for p in plans], width)


def _fit_prepared(preps: list[Prepared], width: int) -> list[Fit]:
    """:func:`fit_chunk`'s vectorised case, for plans already prepared."""
    plans = [p.plan for p in preps]
    s, first = plans[0].sampler, preps[0]
    args = jax.tree.map(lambda *v: np.stack([np.asarray(a) for a in v]), *(p.args for p in preps))
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        samples, extra = run_nuts_batch(first.model, args, cache_key=first.cache_key, num_warmup=s.num_warmup,
                                        num_samples=s.num_samples, num_chains=s.num_chains, dense_mass=s.dense_mass,
                                        target_accept_prob=s.target_accept_prob, seed=[p.sampler.seed for p in plans],
                                        chunk=width)
        wall = (time.perf_counter() - t0) / len(plans)
    return [assemble(p, {k: v[j] for k, v in samples.items()}, {k: v[j] for k, v in extra.items()}, wall,
                     check=False, chain_method="vectorized") for j, p in enumerate(preps)]


def _run(tasks: list[tuple[list[int], int]], plans: list[FitPlan], client: Any, workers: int,
         preps: list[Prepared] | None = None):
    """(positions, fits) of each task as it finishes: one after another, in ``workers`` threads, or on a Dask
    cluster (each task retried on another worker if its worker dies)."""
    if client is not None:
        from dask.distributed import as_completed

        futures = {client.submit(fit_chunk, [plans[i] for i in members], width, pure=False, retries=2): members
                   for members, width in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()
        return
    if workers <= 1 or len(tasks) <= 1:
        for members, width in tasks:   # the vectorised plans were prepared to group them: not again
            yield members, (_fit_prepared([preps[i] for i in members], width) if width and preps
                            else fit_chunk([plans[i] for i in members], width))
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = {pool.submit(fit_chunk, [plans[i] for i in members], width): members for members, width in tasks}
        for future in as_completed_threads(futures):
            yield futures[future], future.result()


METHODS = ("auto", "threads", "vectorized", "loop")


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


__all__ = ["fit_many", "Fits", "split_by"]
