"""The observation-model catalogue: how an observed log loss scatters around the law.

An observation model is declared like a law: its parameters with default priors (and why),
the distribution of one run's log loss given the law's log-mean (used to fit and to score
held-out runs), and how to draw the noise of a new run (used to predict). The inference layer
builds the NumPyro model from this declaration and never learns an observation model's name.
Choose one by name with ``bayeslaw.fit(..., likelihood="normal")`` or ``--likelihood normal``;
``bayeslaw laws`` lists them with their assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
import numpyro.distributions as dist

from ..errors import LawError
from .law import Param
from .priors import Prior


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
    """

    name: str
    params: Mapping[str, Param]
    description: str
    assumptions: str
    distribution: Callable[..., dist.Distribution]
    noise: Callable[..., np.ndarray]

    def describe(self) -> str:
        """Several lines for people: the name, what it is, what it assumes, and each prior with its reason."""
        lines = [f"{self.name}: {self.description}", f"  assumes: {self.assumptions}"]
        for k, p in self.params.items():
            lines.append(f"    {k} ~ {p.prior}  # {p.why}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The observation model as plain JSON (``bayeslaw laws --format json``)."""
        return {"name": self.name, "description": self.description, "assumptions": self.assumptions,
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

OBSERVATION_MODELS: dict[str, ObservationModel] = {m.name: m for m in (STUDENT_T, NORMAL)}
"""Observation models by name, the default first."""
DEFAULT = STUDENT_T.name
"""The observation model a fit uses unless told otherwise."""


def get_observation_model(name: str | ObservationModel) -> ObservationModel:
    """Look an observation model up by name (or pass one through)."""
    if isinstance(name, ObservationModel):
        return name
    if name not in OBSERVATION_MODELS:
        raise LawError(f"Unknown likelihood {name!r}; choose one of: {', '.join(OBSERVATION_MODELS)}.")
    return OBSERVATION_MODELS[name]
