"""The defaults that follow the data's structure: which observation model and which form of the law a fit uses.

:func:`choose_likelihood` reads the table's shape (a run column with several rows per run: learning curves; one
row per run: a ladder); :func:`choose_curvature` decides whether a ladder's law carries the orthogonal curvature
term (:func:`bayeslaw.core.curvature.orthogonal`); both return the choice and one sentence saying why, which the
fit records (``Fit.spec.likelihood_reason`` / ``law_reason``) and ``summary()``, the CLI and the report repeat.
The sampler settings each choice implies live here too. The caller's explicit choice always wins.
"""

from __future__ import annotations

from ..core import curvature as curvature_term
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


#: Warmup of a law with its curvature term unless the caller says: its floor, exponent and curvature in N trade
#: off along a ridge the dense mass matrix needs longer to learn (60 synthetic 48-run chinchilla ladders: a
#: sampler warning on 15% at 1000 warmup iterations, 6.7% at 2000; the bundled Chinchilla runs: ESS below 400 at
#: 1000, none at 2000); a 48-run ladder's fit takes 1.6 s instead of 1.5 s.
CURVED_WARMUP = 2000
#: Draws per chain of a law with an orthogonal curvature term unless the caller says: its coefficients' Cauchy prior
#: gives their posterior heavy tails, whose tail ESS fell just below 400 (of 4000 draws) on 42% of 40 synthetic
#: 48-run chinchilla ladders; 0 of 12 warned at 2000 (case_studies/real_data_calibration/orthogonal_probe.py).
ORTHOGONAL_SAMPLES = 2000
#: Warmup iterations and draws per chain, at most, of the first stage of a two-stage fit (a law with derived numbers,
#: e.g. the orthogonal curvature term): only the base law's posterior medians are used, whose Monte Carlo error at
#: 4 x 1000 draws is a few hundredths of a posterior sd; they are the plain law's own defaults, so the first stage is
#: the plain fit's compiled program (a plain fit of the same runs shares it) at half the orthogonal fit's 4 x (2000 +
#: 2000). A caller's smaller budget is kept.
FIRST_STAGE_ITERATIONS = 1000
#: NUTS target acceptance of a learning-curve (sequential) fit unless the caller says: a run's drift and jitter trade
#: off on short curves, and a few transitions diverge there. Of 14 Revisiting curves that had warned at 0.8 (1-26
#: divergences of 4000 on 13), 6 warned at 0.95; of the 15 of 92 that warned at 0.95 (divergences on 12), 6 warned at
#: 0.99 (divergences on 1; the rest R-hat or ESS), for 1.2x the time per fit.
SEQUENTIAL_TARGET_ACCEPT = 0.99
#: Warmup iterations and draws per chain of a learning-curve (sequential) fit unless the caller says. Measured at
#: target 0.99, seed 0 (case_studies/real_data_calibration, section "A sampler budget for learning curves",
#: 2026-12-06), 92 Revisiting curves, with the one-state filter: power_law at 500 + 1500 warned on 3.3% of them
#: (R-hat and ESS of the drift and jitter) at 2.7 s per fit, at 1000 + 2000 on 2.2% at 3.3 s; m3 at 500 + 1500 on
#: 9.8% at 2.0 s, at 1000 + 2000 on none at 2.0 s (and with it every Revisiting bar of issue 14 is met). Earlier,
#: 1000 + 1000 warned on 7.6% (power_law). Coverage and errors did not move with the budget (90%: 0.860 power_law,
#: 0.914-0.915 m3).
SEQUENTIAL_WARMUP = 1000
SEQUENTIAL_SAMPLES = 2000
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
