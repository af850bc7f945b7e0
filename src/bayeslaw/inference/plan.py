"""A fit plan: every check on a fit's input, made once, before JAX compiles anything.

:func:`plan_fit` reads the runs, looks up the law and the observation model, resolves the
priors, maps each of the law's inputs to a run-table column (:func:`design`), counts the runs
and checks the sampler settings. Whatever is wrong is refused here with one sentence, so the
CLI (which plans first, then sets JAX up and fits) and every API function that fits share one
set of rules. :func:`bayeslaw.fit` accepts a plan as well as a table.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..core import curvature as curvature_term
from ..core.catalogue import get_law
from ..core.law import Law
from ..core.observation import ObservationModel, get_observation_model
from ..core.priors import Prior, as_prior
from ..core.runs import SIZE_COLUMNS, Runs, load_runs
from ..core.spec import SamplerSettings
from ..errors import DataError, LawError, PriorError, shown
from .defaults import (CURVED_WARMUP, ORTHOGONAL_SAMPLES, SEQUENTIAL_SAMPLES, SEQUENTIAL_TARGET_ACCEPT,
                       SEQUENTIAL_WARMUP, check_curvature,  # noqa: F401
                       choose_curvature, choose_likelihood)
from .pointwise import keeps_pointwise


@dataclass(frozen=True)
class FitPlan:
    """A checked fit: the law, observation model, priors, runs, design and sampler settings."""

    law: Law
    observation: ObservationModel
    priors: dict[str, Prior]
    runs: Runs
    design: dict[str, str]
    sampler: SamplerSettings
    run: str | None = None
    axis: str | None = None
    likelihood_reason: str = ""
    law_reason: str = ""

    def run_ids(self) -> np.ndarray | None:
        """The sequence id of each row of a fit scored through a process: its run for learning curves (one
        run when there is no run column), one sequence for a correlated ladder; None for independent rows."""
        if self.observation.process is None:
            return None
        if self.run is None or (self.observation.correlated and not self.observation.grouped):
            return np.zeros(len(self.runs), dtype=int)
        return self.runs.frame[self.run].to_numpy()

    @property
    def ignored_columns(self) -> tuple[str, ...]:
        """Columns of the run table the fit does not read (not a size, the loss, a group or the run column),
        e.g. ``("budget",)``; recorded in the fit as ``spec.data.ignored`` and named in one note by the CLI."""
        return tuple(c for c in self.runs.ignored if c != self.run)

    def axis_inputs(self) -> tuple[str, ...]:
        """The law inputs whose centred logs add up to the process's axis (see :func:`axis_inputs`)."""
        return axis_inputs(self.axis)


def axis_inputs(axis: str | None) -> tuple[str, ...]:
    """The law inputs of a recorded axis: ``"D"`` for a run's tokens, ``"N+D"`` for log compute up to a constant."""
    return tuple(axis.split("+")) if axis else ()


def compute_axis(law: Law) -> str:
    """The axis of a correlated ladder: log compute (the sum of the centred logs of N and D, which differs
    from the centred log of C = k N D by nothing), else C, else the law's first input."""
    both = [v for v in ("N", "D") if v in law.inputs]
    if both:
        return "+".join(both)
    return "C" if "C" in law.inputs else law.inputs[0]


def one_input(law: Law) -> bool:
    """True for a law of one generic size ``x`` (the column is chosen at fit time)."""
    return tuple(law.inputs) == ("x",)


def read_runs(data: Any, laws: Sequence[Law] = (), *, x: str | Mapping[str, str] | None = None, y: str | None = None,
              groups: Iterable[str] | None = None, flops_per_param_token: float = 6.0) -> tuple[Runs, str | None]:
    """The run table for some laws, and the column a one-input law takes as its ``x``.

    The rule for ``x``, in one place: a mapping names the columns of sizes (``{"N": "params"}``;
    with one entry it is also a one-input law's ``x``); a string that is a size (N, D, C, U, or
    another law's input) picks that size as a one-input law's ``x``; any other string makes that
    column the generic size ``x``.
    """
    if isinstance(x, str) and laws and not any(one_input(law) for law in laws):
        raise _one_column_for(laws[0], x)
    inputs = sorted({v for law in laws for v in law.inputs if v != "x"})
    if any(one_input(law) for law in laws) and x is None:
        inputs.append("x")  # a column named x is a one-input law's size when nothing else is said
    groups = list(groups) if groups is not None else None
    kw = dict(y=y, groups=groups, flops_per_param_token=flops_per_param_token, inputs=inputs)
    if isinstance(data, Runs):
        return data, (x if isinstance(x, str) else None)
    if isinstance(x, Mapping):
        fit_x = next(iter(x)) if len(x) == 1 and laws and all(one_input(law) for law in laws) else None
        return load_runs(data, x=dict(x), **kw), fit_x
    if isinstance(x, str) and x not in SIZE_COLUMNS and x not in inputs:
        return load_runs(data, x=x, **kw), "x"  # any other column becomes the generic size x
    if x is not None and not isinstance(x, str):
        raise DataError(f"x= must be a column name or a dict like {{'N': 'params'}}; got {type(x).__name__}.")
    return load_runs(data, **kw), x


def design(runs: Runs, law: Law, x: str | None = None) -> dict[str, str]:
    """Map each of the law's inputs to a run-table column; a one-input law takes ``x=``."""
    if one_input(law):
        available = runs.variables
        if x is not None and x in available:
            return {"x": x}
        if x is not None:
            raise DataError(f"x={x!r} is not a size column of the runs; available: {', '.join(available)}.")
        if "x" in available:
            return {"x": "x"}
        # unique tokens U are a size column, but never picked as x unless asked for
        auto = [v for v in available if v != "U"]
        if len(auto) == 1:
            return {"x": auto[0]}
        raise DataError(f"Law {law.name!r} has one size variable and the runs have {', '.join(available)}; "
                        f"choose one with x='D' in Python or --x D on the command line.")
    if x is not None:
        raise _one_column_for(law, x)
    missing = [v for v in law.inputs if v not in runs.variables]
    if missing:
        have = ", ".join(runs.variables)
        if missing == ["U"]:
            hint = ("add a column of unique training tokens named U or unique_tokens, or map yours with "
                    "x={'U': 'COLUMN'} (--x U=COLUMN)")
        elif set(missing) <= {"N", "D", "C"}:
            hint = "map them with x={'N': 'params', ...} (--x N=params) or give two of N, D, C"
        else:
            hint = f"name a column {missing[0]}, or map yours with x={{{missing[0]!r}: 'COLUMN'}} (--x {missing[0]}=COLUMN)"
        raise DataError(f"Law {law.name!r} takes {', '.join(law.inputs)}; the runs lack {', '.join(missing)} "
                        f"(they have {have}): {hint}.")
    return {v: v for v in law.inputs}


def _one_column_for(law: Law, x: str) -> DataError:
    pairs = ", ".join(repr(v) + ": COLUMN" for v in law.inputs)
    return DataError(f"x={x!r} names one column, which is for laws of one size (such as power_law); law "
                     f"{law.name!r} takes {', '.join(law.inputs)}: map its columns with x={{{pairs}}} in Python "
                     f"or {' '.join(f'--x {v}=COLUMN' for v in law.inputs)} on the command line.")


def check_enough_runs(law: Law, n: int, where: str, fix: str = "add runs or choose a simpler law") -> None:
    """A law with k parameters needs at least k + 2 runs; ``where`` says which runs (one sentence)."""
    need = law.n_params + 2
    if n < need:
        raise DataError(f"{where} has {n} runs, but law {law.name!r} has {law.n_params} parameters and needs at "
                        f"least {need} (parameters + 2); {fix}.")


def check_identifiable(runs: Runs, law: Law, cols: Mapping[str, str]) -> None:
    """Refuse, before sampling, data that cannot identify the law: constant losses, or an input column
    with a single value (one sentence naming the column and the fix)."""
    loss = runs.loss
    if np.nanmax(loss) == np.nanmin(loss):
        raise DataError(f"{runs.source}: every loss is {shown(float(loss[0]))}, so no law can be fitted to how the loss "
                        "changes with scale; check the loss column (or y=/--y) names the right column.")
    for name, col in cols.items():
        values = runs.frame[col].to_numpy(float)
        if np.unique(values).size < 2:
            raise DataError(f"{runs.source}: column {col!r} has one value ({shown(float(values[0]))}) in every run, so "
                            f"law {law.name!r} cannot tell how the loss changes with {name}; add runs at other values "
                            f"of {col!r} or fit a law without {name} (see `bayeslaw laws`).")


#: Peak memory of a fit that keeps its per-row draws, in (draws x rows) float64 arrays: measured 10.3 GB RSS at
#: 30,000 rows x 4,000 draws (0.96 GB per array; the pointwise log likelihood, its copies into the DataTree and
#: the in-sample predictive draws), so 12 arrays. Fits above inference.pointwise.POINTWISE_MAX keep none.
_DRAW_ARRAYS = 12


def available_memory() -> int:
    """Bytes of memory this machine can give now (MemAvailable on Linux, else the physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(runs: Runs, sampler: SamplerSettings, available: int | None = None) -> None:
    """Refuse, before sampling, a fit whose per-run draws would not fit in memory (one sentence with the way
    out: fewer draws, or fewer rows by thinning checkpoints or keeping each run's final loss)."""
    draws = sampler.num_chains * sampler.num_samples
    if not keeps_pointwise(draws, len(runs)):
        return   # no per-row draws are kept (inference.pointwise): memory grows with rows, not rows x draws
    need = _DRAW_ARRAYS * 8 * draws * len(runs)
    have = available_memory() if available is None else available
    if need > 0.8 * have:
        fits = max(1, int(0.8 * have / (_DRAW_ARRAYS * 8 * len(runs))))
        raise DataError(f"{runs.source}: {len(runs):,} rows x {draws:,} draws need about {need / 2**30:.1f} GiB "
                        f"for the per-row draws, more than this machine has free ({have / 2**30:.1f} GiB); use "
                        f"fewer draws (about {fits:,} in all: num_samples x num_chains) or fewer rows (thin each "
                        "run's checkpoints, e.g. every 10th step, or keep each run's final loss).")


def resolve_priors(law: Law, observation: ObservationModel, overrides: Mapping[str, Any] | None) -> dict[str, Prior]:
    """Default priors of the law and observation model with user overrides applied."""
    priors = {k: p.prior for k, p in law.params.items()}
    priors.update({k: p.prior for k, p in observation.params.items()})
    for key, value in (overrides or {}).items():
        if key not in priors:
            close = difflib.get_close_matches(str(key), list(priors), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise LawError(f"Unknown prior name {key!r}{hint} for law {law.name!r} with the {observation.name} "
                           f"likelihood; its parameters are {', '.join(priors)} (see `bayeslaw laws {law.name}`).")
        try:
            priors[key] = as_prior(value, name=key)
        except PriorError as exc:
            shown = value if isinstance(value, str) else repr(value)
            raise PriorError(f"Prior {key}={shown}: {str(exc).rstrip('.')}. Give a valid distribution, e.g. "
                             f"{key}='{priors[key]}' (the default; see `bayeslaw laws {law.name}`).") from None
    return priors


def run_axis(runs: Runs, law: Law, cols: Mapping[str, str], run_ids: np.ndarray) -> str:
    """The law input along which each run's checkpoints are ordered: the one that varies within runs."""
    if len(cols) == 1:
        return next(iter(cols))
    frame = runs.frame.assign(_run=run_ids)
    varying = [v for v, c in cols.items() if (frame.groupby("_run")[c].nunique() > 1).any()]
    if len(varying) == 1:
        return varying[0]
    if "D" in varying or (not varying and "D" in cols):
        return "D"
    if not varying:
        return next(iter(cols))
    raise DataError(f"{runs.source}: {', '.join(varying)} all vary within runs, so the order of a run's "
                    f"checkpoints is ambiguous for law {law.name!r}; give one row per checkpoint with one growing "
                    "size, or fit the runs as a ladder (likelihood='student_t').")


def plan_fit(data: Any, law: str | Law = "chinchilla", *, x: str | Mapping[str, str] | None = None,
             y: str | None = None, priors: Mapping[str, Any] | None = None, likelihood: str | None = None,
             run: str | None = None, curvature: bool | str = "auto", groups: Iterable[str] | None = None,
             flops_per_param_token: float = 6.0,
             num_warmup: int | None = None, num_samples: int | None = None, num_chains: int = 4, chain_method: str | None = None,
             target_accept_prob: float | None = None, dense_mass: bool = True, seed: int = 0) -> FitPlan:
    """Check everything about a fit before any compilation: the arguments are those of :func:`bayeslaw.fit`.

    Returns
    -------
    FitPlan
        Give it to :func:`bayeslaw.fit` to run it.

    Raises
    ------
    BayeslawError
        One sentence that names what is wrong (the file, row, column, law or setting) and the fix.
    """
    sampler = SamplerSettings(num_warmup=1000 if num_warmup is None else num_warmup,
                              num_samples=1000 if num_samples is None else num_samples, num_chains=num_chains,
                              chain_method=chain_method,
                              target_accept_prob=0.8 if target_accept_prob is None else target_accept_prob,
                              dense_mass=dense_mass, seed=seed)
    law = get_law(law)
    check_curvature(curvature)
    if curvature != "auto":
        law, law_reason = choose_curvature(law, curvature)
    if likelihood is not None and curvature != "auto":  # a wrong likelihood or prior is refused before reading
        resolve_priors(law, get_observation_model(likelihood), priors)
    runs, fit_x = read_runs(data, [law], x=x, y=y, groups=groups, flops_per_param_token=flops_per_param_token)
    observation, reason = choose_likelihood(runs, run, likelihood)
    if curvature == "auto":  # the form of the law follows the data's structure too
        per_run = int(runs.frame.groupby(run, sort=False).size().max()) if run is not None else 1
        law, law_reason = choose_curvature(law, curvature, observation, len(runs), per_run)
    if law.derived is not None and observation.process is not None:
        raise LawError(f"Law {law.name!r} is fitted in two stages, which only independent noise supports; use "
                       f"likelihood='student_t' or 'normal', or the law without its orthogonal term.")
    if num_warmup is None and curvature_term.is_curved(law):
        sampler = replace(sampler, num_warmup=CURVED_WARMUP)
    if num_samples is None and curvature_term.is_orthogonal(law):
        sampler = replace(sampler, num_samples=ORTHOGONAL_SAMPLES)
    if target_accept_prob is None and observation.sequential:
        sampler = replace(sampler, target_accept_prob=SEQUENTIAL_TARGET_ACCEPT)
    if observation.sequential and not curvature_term.is_curved(law):
        if num_warmup is None:
            sampler = replace(sampler, num_warmup=SEQUENTIAL_WARMUP)
        if num_samples is None:
            sampler = replace(sampler, num_samples=SEQUENTIAL_SAMPLES)
    resolved = resolve_priors(law, observation, priors)
    try:
        cols = design(runs, law, fit_x)
    except DataError as exc:
        raise DataError(f"{runs.source}: {exc}") from None
    check_enough_runs(law, len(runs), runs.source)
    check_identifiable(runs, law, cols)
    check_memory(runs, sampler)
    plan = FitPlan(law=law, observation=observation, priors=resolved, runs=runs, design=cols, sampler=sampler,
                   run=run, likelihood_reason=reason, law_reason=law_reason)
    if observation.sequential:
        plan = replace(plan, axis=run_axis(runs, law, cols, plan.run_ids()))
    elif observation.grouped:
        if run is None:
            raise DataError(f"likelihood {observation.name!r} needs a group column: name it with run='COLUMN' "
                            "(--run COLUMN), e.g. the model family, seed or dataset of each row.")
    elif observation.correlated:
        plan = replace(plan, axis=compute_axis(law))
    return plan


def plan_models(runs: Runs, laws: Sequence[Law], *, fit_x: str | None = None,
                likelihoods: Sequence[str | None] = (None,), **kwargs: Any) -> dict[str, FitPlan]:
    """One plan per law (and likelihood) of a comparison, named by the law fitted (``law`` or
    ``law/likelihood`` when there are several likelihoods); ``kwargs`` are :func:`plan_fit`'s.

    With the default ``curvature="auto"``, a law compared with its own curvature twin (``chinchilla`` beside
    ``chinchilla_orthogonal`` or ``chinchilla_curved``) is fitted plain: the comparison asked for both forms.
    """
    plans: dict[str, FitPlan] = {}
    named = {law.name for law in laws}
    for law in laws:
        kw = dict(kwargs)
        if kw.get("curvature", "auto") == "auto" and {curvature_term.orthogonal_name(law),
                                                      law.name + curvature_term.SUFFIX} & named:
            kw["curvature"] = False
        for lik in likelihoods:
            plan = plan_fit(runs, law, x=fit_x if one_input(law) else None, likelihood=lik, **kw)
            name = plan.law.name if len(likelihoods) == 1 else f"{plan.law.name}/{lik}"
            if name in plans:
                raise LawError(f"Two of the laws compared are the same model, {plan.law.name}, once the curvature "
                               f"option adds its curvature term; drop {law.name} or the curvature option.")
            plans[name] = plan
    return plans
