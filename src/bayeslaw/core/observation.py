"""The observation-model catalogue: how an observed log loss scatters around the law.

An observation model is declared like a law: its parameters with default priors (and why),
the distribution of one run's log loss given the law's log-mean (used to fit and to score
held-out runs), and how to draw the noise of a new run (used to predict). The inference layer
builds the NumPyro model from this declaration and never learns an observation model's name.
Choose one by name with ``bayeslaw.fit(..., likelihood="normal")`` or ``--likelihood normal``;
``bayeslaw laws`` lists them with their assumptions.

Two structures exist. An *independent* model scores each run on its own (``distribution``,
``noise``). A *sequential* model scores the checkpoints of each run along its axis with a
residual process (``process``: :mod:`bayeslaw.core.statespace`), so its pointwise log
likelihoods are one-step-ahead conditionals and its predictions condition on the run's data.
A *correlated* model scores a whole ladder as one Gaussian process along compute (the same
filter, one sequence): the law's smooth misfit is shared by runs of similar compute; its
pointwise log likelihoods are exact leave-one-out conditionals (:mod:`bayeslaw.core.misfit`),
so PSIS-LOO stays valid, and its predictions condition on every fitted run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import numpyro.distributions as dist

from ..errors import LawError
from . import statespace
from .law import Param
from .priors import Prior

INDEPENDENT, SEQUENTIAL, CORRELATED = "independent", "sequential", "correlated"


@dataclass(frozen=True)
class ObservationModel:
    """How the observed log loss of each run relates to the law's log-mean ``mu``.

    Parameters
    ----------
    name : str
        Lookup name (``likelihood=`` / ``--likelihood``).
    params : dict of str to Param
        Noise parameters with default priors and reasons, sampled in this order after the law's.
    description : str
        One line for people.
    assumptions : str
        When the model is right, and when it is not.
    distribution : callable
        ``distribution(mu, **params)``: the NumPyro distribution of log loss (batch shape of ``mu``).
    noise : callable
        ``noise(rng, shape, **params)``: draws of a new run's log loss minus ``mu`` (NumPy), with
        every parameter an array broadcastable to ``shape``.
    structure : {"independent", "sequential", "correlated"}
        Whether rows are scored on their own, run by run along an axis, or as one process along
        compute (for the last two ``process`` supplies the exact filter, and
        ``distribution``/``noise`` are unused).
    process : module, optional
        For sequential and correlated models: ``context``, ``log_density(r, ctx, **params)``,
        ``filter_residuals``, ``forecast`` and ``prior_state`` (see :mod:`bayeslaw.core.statespace`).
    process_names : dict of str to str, optional
        The process's name for a parameter whose name here differs (``{"misfit": "drift"}``).
    process_fixed : dict of str to float, optional
        Process parameters held fixed (not sampled).
    grouped : bool
        Correlated models only: rows sharing a value of the run (group) column share an offset, and
        the process runs over groups at a constant axis (a random intercept), not along compute.
    """

    name: str
    params: Mapping[str, Param]
    description: str
    assumptions: str
    distribution: Callable[..., dist.Distribution] | None = None
    noise: Callable[..., np.ndarray] | None = None
    structure: str = INDEPENDENT
    process: Any = None
    process_names: Mapping[str, str] = field(default_factory=dict)
    process_fixed: Mapping[str, float] = field(default_factory=dict)
    grouped: bool = False

    def __reduce_ex__(self, protocol: int):
        """A catalogued observation model is pickled by its name (its functions may be closures)."""
        if OBSERVATION_MODELS.get(self.name) is self:
            return get_observation_model, (self.name,)
        return super().__reduce_ex__(protocol)

    @property
    def sequential(self) -> bool:
        """True when checkpoints are scored along each run (one-step-ahead conditionals)."""
        return self.structure == SEQUENTIAL

    @property
    def correlated(self) -> bool:
        """True when a ladder is scored as one process along compute (leave-one-out conditionals)."""
        return self.structure == CORRELATED

    @property
    def for_ladders(self) -> bool:
        """True when the model is meant for a ladder of separate runs with no run or group column."""
        return self.structure == INDEPENDENT or (self.correlated and not self.grouped)

    def process_args(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The observation model's parameter values under the names its ``process`` takes."""
        return {**self.process_fixed, **{self.process_names.get(k, k): v for k, v in values.items()}}

    def describe(self) -> str:
        """Several lines for people: the name, what it is, what it assumes, and each prior with its reason."""
        lines = [f"{self.name}: {self.description}", f"  assumes: {self.assumptions}"]
        for k, p in self.params.items():
            lines.append(f"    {k} ~ {p.prior}  # {p.why}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The observation model as plain JSON (``bayeslaw laws --format json``)."""
        return {"name": self.name, "description": self.description, "assumptions": self.assumptions,
                "structure": self.structure, "for_ladders": self.for_ladders,
                "params": {k: {"prior": str(p.prior), "why": p.why, "description": p.description}
                           for k, p in self.params.items()}}


_SIGMA = Param(Prior("HalfNormal", scale=0.2),
               "residual scale of log loss: a few % is typical, 20% allowed; scale-free in log space",
               "scale of the log-loss residuals")
_NU = Param(Prior("Gamma", concentration=2.0, rate=0.1),
            "degrees of freedom: Juarez & Steel (2010) default, mean 20, allows heavy tails (nu < 3)",
            "degrees of freedom (small = heavy tails, robust to outlying runs)")
_INDEPENDENT = ("runs are independent draws around the law: right for a ladder of separate training runs; "
                "checkpoints of one run drift from the law together, and bands fitted to them are too narrow")

STUDENT_T = ObservationModel(
    name="student_t",
    params={"sigma": _SIGMA, "nu": _NU},
    description="Student-t on log(loss) with unknown scale and degrees of freedom (robust; Huber-like)",
    assumptions=_INDEPENDENT + "; a few outlying runs are allowed for by the heavy tails",
    distribution=lambda mu, sigma, nu: dist.StudentT(nu, mu, sigma),
    noise=lambda rng, shape, sigma, nu: sigma * rng.standard_t(np.broadcast_to(nu, shape)),
)
NORMAL = ObservationModel(
    name="normal",
    params={"sigma": _SIGMA},
    description="Normal on log(loss) with unknown scale (least squares on log loss)",
    assumptions=_INDEPENDENT + "; an outlying run pulls the law towards it",
    distribution=lambda mu, sigma: dist.Normal(mu, sigma),
    noise=lambda rng, shape, sigma: sigma * rng.standard_normal(shape),
)

_JITTER = Param(Prior("LogNormal", loc=-5.3, scale=2.0),
                "checkpoint-to-checkpoint jitter of log loss (evaluation noise): median 0.5%, 95% within "
                "0.01%-25%; kept off exactly zero, where NUTS met a funnel with the drift",
                "sd of independent jitter at each checkpoint")
_DRIFT = Param(Prior("LogNormal", loc=-3.9, scale=1.5),
               "a run's persistent departure from the law, in log loss: median 2%, 95% within 0.1%-38%; kept off "
               "exactly zero (a drift near 0 leaves its length unidentified, and NUTS diverged there)",
               "stationary sd of the run's Ornstein-Uhlenbeck departure from the law")
_DRIFT_LENGTH = Param(Prior("LogNormal", loc=0.0, scale=1.0),
                      "how far along the run (in e-folds of its size) a departure persists: median 1 (0.43 decades), "
                      "95% within 0.14-7",
                      "correlation length of the departure, in natural-log units of the run's axis")
_CHECKPOINTS = ("rows sharing a run id are checkpoints of one run, ordered by its size axis; a run drifts from the "
                "law smoothly and for a while, so its later checkpoints are predicted from its last ones; runs are "
                "independent of each other; Gaussian jitter")

LEARNING_CURVE = ObservationModel(
    name="learning_curve",
    params={"sigma": _JITTER, "drift": _DRIFT, "drift_length": _DRIFT_LENGTH},
    description=("checkpoints of a run as the law plus a departure that remembers (Ornstein-Uhlenbeck in log "
                 "size) plus jitter, computed exactly by a Kalman filter"),
    assumptions=_CHECKPOINTS + "; beyond the last checkpoint the departure relaxes to its stationary spread",
    structure=SEQUENTIAL,
    process=statespace,
)
LEARNING_CURVE_WIENER = ObservationModel(
    name="learning_curve_wiener",
    params={"sigma": _JITTER, "drift": _DRIFT, "drift_length": _DRIFT_LENGTH,
            "diffusion": Param(Prior("HalfNormal", scale=0.05),
                               "a departure that keeps growing: sd 0.05 per sqrt(e-fold) allowed; near 0 when the "
                               "law holds along the run",
                               "rate of the Wiener component (sd of log loss per sqrt of an e-fold of the axis)")},
    description=("learning_curve plus a Wiener departure from each run's first checkpoint, so bands keep "
                 "widening with the distance beyond the data"),
    assumptions=_CHECKPOINTS + ("; the departure may keep growing without bound (non-stationary); its two "
                                "components trade off on short runs, and NUTS then diverges more often"),
    structure=SEQUENTIAL,
    process=statespace,
)

_NOISE = Param(Prior("LogNormal", loc=-4.6, scale=1.5),
               "run-to-run noise of log loss (seed, data order): median 1%, 95% within 0.05%-19%; kept off exactly "
               "zero, where the misfit would have to explain every run",
               "sd of each run's independent noise on log loss")
_MISFIT = Param(Prior("LogNormal", loc=-3.9, scale=1.5),
                "how far the law may bend away from the runs, in log loss: median 2%, 95% within 0.1%-38%; kept "
                "off exactly zero (a misfit near 0 leaves its length unidentified)",
                "stationary sd of the law's smooth misfit along compute (Ornstein-Uhlenbeck)")
_MISFIT_LENGTH = Param(Prior("LogNormal", loc=0.7, scale=1.0),
                       "over how much compute runs share a misfit, in e-folds: median 2 (0.87 decades), 95% "
                       "within 0.3-14",
                       "correlation length of the misfit, in natural-log units of compute")
COMPUTE_MISFIT = ObservationModel(
    name="compute_misfit",
    params={"sigma": _NOISE, "misfit": _MISFIT, "misfit_length": _MISFIT_LENGTH},
    description=("a ladder as the law plus a smooth misfit along compute (a Gaussian process, Ornstein-Uhlenbeck "
                 "in log compute) plus independent noise, marginalised exactly"),
    assumptions=("rows are separate runs; where the law bends away from the data, runs of similar compute "
                 "(C = k N D, or the law's one size) share the misfit, so they count as less evidence and "
                 "bands beyond the largest run carry the misfit there and its spread; Gaussian noise, so an "
                 "outlying run pulls harder than under student_t"),
    structure=CORRELATED,
    process=statespace,
    process_names={"misfit": "drift", "misfit_length": "drift_length"},
)

GROUPED = ObservationModel(
    name="grouped",
    params={"sigma": _NOISE,
            "group_sd": Param(Prior("LogNormal", loc=-3.9, scale=1.5),
                              "how far a group (a family, seed, dataset) sits from the law, in log loss: median 2%, "
                              "95% within 0.1%-38%; kept off exactly zero",
                              "sd of each group's shared offset on log loss (partially pooled)")},
    description=("rows in groups (the run/group column: families, seeds, datasets) as the law plus a shared "
                 "offset per group plus independent noise; the offsets are partially pooled and marginalised "
                 "exactly"),
    assumptions=("rows of one group share an unknown offset from the law (normal, sd group_sd), so a group's "
                 "rows count as less evidence than as many separate groups; a new group's band includes the "
                 "offsets' spread; Gaussian noise"),
    structure=CORRELATED,
    process=statespace,
    process_names={"group_sd": "drift"},
    process_fixed={"drift_length": 1.0},  # the axis is constant within a group: the offset never decays
    grouped=True,
)

OBSERVATION_MODELS: dict[str, ObservationModel] = {m.name: m for m in (STUDENT_T, NORMAL, COMPUTE_MISFIT, GROUPED,
                                                                           LEARNING_CURVE, LEARNING_CURVE_WIENER)}
"""Observation models by name, the default first."""
DEFAULT = STUDENT_T.name
"""The observation model of a ladder (one row per run) unless told otherwise."""
SEQUENCE_DEFAULT = LEARNING_CURVE.name
"""The observation model of learning curves (a run column with several rows per run) unless told otherwise."""


def get_observation_model(name: str | ObservationModel) -> ObservationModel:
    """Look an observation model up by name (or pass one through)."""
    if isinstance(name, ObservationModel):
        return name
    if name not in OBSERVATION_MODELS:
        raise LawError(f"Unknown likelihood {name!r}; choose one of: {', '.join(OBSERVATION_MODELS)}.")
    return OBSERVATION_MODELS[name]
