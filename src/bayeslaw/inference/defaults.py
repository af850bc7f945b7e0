"""The defaults that follow the data's structure: which observation model and which form of the law a fit uses.

:func:`choose_likelihood` reads the table's shape (a run column with several rows per run: learning curves; one
row per run: a ladder); :func:`choose_curvature` decides whether a ladder's law carries the orthogonal curvature
term (:func:`bayeslaw.core.curvature.orthogonal`); both return the choice and one sentence saying why, which the
fit records (``Fit.spec.likelihood_reason`` / ``law_reason``) and ``summary()``, the CLI and the report repeat.
The sampler settings each choice implies live here too. The caller's explicit choice always wins.
"""

from __future__ import annotations

from ..core import curvature as curvature_term
from ..core.budgets import (CURVED_WARMUP, FIRST_STAGE_ITERATIONS, ORTHOGONAL_SAMPLES,  # noqa: F401
                            SEQUENTIAL_SAMPLES, SEQUENTIAL_TARGET_ACCEPT, SEQUENTIAL_WARMUP)
from ..core.catalogue import get_law
from ..core.law import Law
from ..core.observation import DEFAULT, SEQUENCE_DEFAULT, ObservationModel, get_observation_model
from ..core.runs import Runs
from ..errors import DataError, LawError


def choose_likelihood(runs: Runs, run: str | None, likelihood: str | ObservationModel | None
                      ) -> tuple[ObservationModel, str]:
    """The observation model for these runs, and why, in one sentence.

    A run column with several rows in some run makes the rows checkpoints of learning curves
    (the sequential default); otherwise the table is a ladder of separate runs (the independent
    default). A likelihood given by the caller is kept, and the reason says so.
    """
    if run is not None and run not in runs.frame.columns:
        others = [c for c in runs.frame.columns if c not in runs.sizes and c != "loss"]
        raise DataError(f"{runs.source} has no run column {run!r}; its other columns are: "
                        f"{', '.join(map(str, others)) or 'none'}.")
    per_run = runs.frame.groupby(run, sort=False).size() if run is not None else None
    if likelihood is not None:
        obs = get_observation_model(likelihood)
        if obs.sequential and run is None:
            return obs, f"{obs.name} (chosen by the caller; no run column, so all rows are checkpoints of one run)"
        return obs, f"{obs.name} (chosen by the caller)"
    if per_run is not None and int(per_run.max()) >= 3:
        return (get_observation_model(SEQUENCE_DEFAULT),
                f"{SEQUENCE_DEFAULT} (the default for learning curves: run column {run!r} holds "
                + (f"1 run of {int(per_run.max())} checkpoints)" if len(per_run) == 1 else
                   f"{len(per_run)} runs with up to {int(per_run.max())} checkpoints each)"))
    what = f"run column {run!r} has at most {int(per_run.max())} rows per run" if per_run is not None else \
        "no run column was given"
    return get_observation_model(DEFAULT), f"{DEFAULT} (the default for a ladder of separate runs: {what})"


#: A ladder gets the orthogonal curvature term by default when it holds at least this many runs per parameter of
#: the law with the term (the law's own parameters and one coefficient per quadratic term): the fewest per
#: parameter at which its calibration was measured where the law is exact (20-run power_law ladders, 5 per
#: parameter; 48-run chinchilla ladders, 6: coverage 0.92-0.96 at 1.11-1.18x the plain law's width,
#: case_studies/calibration/results/orthogonal). Below it the quadratic is barely identified and the plain law is
#: fitted; nothing was measured there to say the term helps.
RUNS_PER_PARAMETER = 5
#: The values ``curvature=`` takes.
CURVATURE_CHOICES = ("auto", False, True, "orthogonal")


def check_curvature(curvature: bool | str) -> None:
    """Refuse a ``curvature=`` value that is not one of :data:`CURVATURE_CHOICES`, in one sentence."""
    if not any(curvature is c if isinstance(c, bool) else curvature == c for c in CURVATURE_CHOICES):
        raise LawError(f"curvature must be 'auto', False, True or 'orthogonal'; got {curvature!r}.")


def choose_curvature(law: Law, curvature: bool | str = "auto", observation: ObservationModel | None = None,
                     n_runs: int | None = None, rows_per_run: int = 1) -> tuple[Law, str]:
    """The law to fit, with or without a curvature term (:mod:`bayeslaw.core.curvature`), and why in one
    sentence (empty for the plain law chosen by the caller).

    ``"auto"`` (the default): ``<law>_orthogonal`` for a ladder of separate runs (one row per run: ``rows_per_run``
    is the most rows any run has) with independent noise and at least :data:`RUNS_PER_PARAMETER` runs per parameter
    of that law; otherwise (checkpoints of runs, a process likelihood, a smaller ladder) the plain law. On held-out larger
    runs the plain law's 90% new-run bands covered 0.69 of Chinchilla's 49 largest runs and 0.29-0.50 of three
    Marin ladders' largest; with the orthogonal term 0.92 and 0.67-0.94, with better held-out elpd on all of
    them (case_studies/real_data_calibration, orthogonal_probe.py). ``"orthogonal"``: that law whatever the
    data. ``True``: ``<law>_curved``, whose coefficients trade off against the floor and the exponents (on ladders
    where the law is exact, power_law's alpha comes out 0.16-0.28 for a true 0.30) and whose quadratic in log N
    leaves some draws without a compute-optimal size far beyond the runs. ``False``: the plain law.
    """
    check_curvature(curvature)
    if curvature_term.is_curved(law) or curvature_term.is_orthogonal(law):
        return law, f"{law.name} (the law with its curvature term, named by the caller)"
    if curvature is False:
        return law, ""
    if curvature is True:
        law = _curved(law)
        return law, (f"{law.name} (the law with its curvature term, curvature=True: a quadratic misfit in the "
                     "centred log sizes that widens bands beyond the runs where they bend away from the law; its "
                     "floor and exponents describe the runs' range, not the law's asymptotes)")
    term = ("a quadratic misfit in the centred log sizes, orthogonal to the law over the runs, widens bands beyond "
            "the runs where they bend away from the law; decisions are the law's")
    if curvature == "orthogonal":
        law = _curved(law, orthogonal=True)
        return law, (f"{law.name} (the law with an orthogonal curvature term, curvature='orthogonal': the plain law "
                     f"is fitted first, then {term})")
    if observation is None or n_runs is None:
        return law, ""
    if rows_per_run > 1:
        return law, (f"{law.name} (the plain law: the default orthogonal curvature term is for ladders of separate "
                     f"runs, and these runs hold up to {rows_per_run} rows each; curvature='orthogonal' to fit it anyway)")
    if observation.process is not None:
        return law, (f"{law.name} (the plain law: the default orthogonal curvature term needs independent noise, "
                     f"and {observation.name} is not; curvature='orthogonal' refuses it)")
    twin = _curved(law, orthogonal=True)   # built only where the table could take it
    need = RUNS_PER_PARAMETER * len(twin.params)
    if n_runs < need:
        return law, (f"{law.name} (the plain law: the default orthogonal curvature term needs {need} runs, "
                     f"{RUNS_PER_PARAMETER} per parameter of {twin.name}, and there are {n_runs}; "
                     "curvature='orthogonal' to fit it anyway)")
    return twin, (f"{twin.name} (the default for a ladder of {n_runs} runs, at least {RUNS_PER_PARAMETER} per "
                  f"parameter: the plain law is fitted first, then {term}; curvature=False for the plain law)")


def _curved(law: Law, orthogonal: bool = False) -> Law:
    """The catalogue's ``<law>_curved`` / ``<law>_orthogonal`` (one object, so its compiled programs are reused)
    for a catalogue law, else a curved copy of the caller's law."""
    try:
        if get_law(law.name) is law:
            return get_law(law.name + (curvature_term.ORTHOGONAL_SUFFIX if orthogonal else curvature_term.SUFFIX))
    except LawError:
        pass
    return curvature_term.orthogonal(law) if orthogonal else curvature_term.curved(law)
