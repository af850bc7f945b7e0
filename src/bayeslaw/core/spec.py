"""What made a fit, as typed, frozen records: sampler settings, the data, the whole fit spec.

:class:`SamplerSettings` is what a user asks NUTS for (checked when it is made, before JAX
starts); :class:`FitSpec` is everything a fit records: the law (name, version, hash, priors),
the observation model, the priors used, the reference scales, the data (source, column
mapping, derived conventions, design, hash), the sampler's settings and what it did, the
diagnostics' verdicts and the package versions. ``FitSpec.to_dict()`` is the JSON saved as a
fit's ``spec.json`` (format 1, the layout of bayeslaw 0.1.0), and ``FitSpec.from_dict`` reads
it back, so fits saved by earlier versions load unchanged.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping

from ..errors import BayeslawError, FitFileError, shown

FORMAT = "bayeslaw-fit"
FORMAT_VERSION = 1
CHAIN_METHODS = ("parallel", "vectorized", "sequential")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise BayeslawError(f"{name} must be a positive integer; got {shown(value)}.")


def check_seed(value: Any, name: str = "seed") -> int:
    """A random seed: an integer from 0 to 2**32 - 1 (what JAX's and NumPy's generators take alike)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < 2**32:
        raise BayeslawError(f"{name} must be an integer from 0 to {2**32 - 1}; got {shown(value)}.")
    return int(value)


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings, with NumPyro's names; every value is checked when the object is made."""

    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    chain_method: str | None = None
    target_accept_prob: float = 0.8
    dense_mass: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("num_warmup", "num_samples", "num_chains"):
            _positive_int(name, getattr(self, name))
        t = self.target_accept_prob
        if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0 < t < 1:
            raise BayeslawError(f"target_accept_prob must be between 0 and 1 (e.g. 0.8, or 0.95 after divergences); "
                                f"got {shown(t)}.")
        if self.chain_method is not None and self.chain_method not in CHAIN_METHODS:
            raise BayeslawError(f"chain_method must be one of {', '.join(CHAIN_METHODS)} (or None: chosen from "
                                f"the devices); got {self.chain_method!r}.")
        check_seed(self.seed)
        for name in ("num_warmup", "num_samples", "num_chains", "seed"):
            object.__setattr__(self, name, int(getattr(self, name)))
        object.__setattr__(self, "target_accept_prob", float(t))
        object.__setattr__(self, "dense_mass", bool(self.dense_mass))


@dataclass(frozen=True)
class DataRecord:
    """The runs a fit was made from: where they came from, how columns map, and their hash."""

    source: str = "<DataFrame>"
    columns: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    flops_per_param_token: float = 6.0
    n_runs: int = 0
    design: dict[str, str] = field(default_factory=dict)   # law input -> run-table column
    hash: str = ""
    run: str | None = None    # the run-id column of learning curves (rows of one run are its checkpoints)
    axis: str | None = None   # the law input along which a run's checkpoints are ordered
    ignored: tuple[str, ...] = ()   # columns of the table the fit did not read (e.g. a 'budget' column)


@dataclass(frozen=True)
class SamplerRecord(SamplerSettings):
    """The sampler's settings, and what the run did (time, start, leapfrog steps in warmup)."""

    algorithm: str = "NUTS"
    wall_seconds: float = 0.0
    init: str = ""
    coordinates: str = ""
    laplace_ok: tuple[bool, ...] = ()
    warmup_leapfrog_steps: tuple[int, ...] = ()

    @property
    def settings(self) -> SamplerSettings:
        """The settings alone, without the record of the run."""
        return SamplerSettings(**{f.name: getattr(self, f.name) for f in fields(SamplerSettings)})


@dataclass(frozen=True)
class FitSpec:
    """Everything a fit records about how it was made (saved as ``spec.json``).

    ``law`` is the law's :meth:`~bayeslaw.Law.to_dict`; ``priors`` maps each parameter (law and
    noise) to the :meth:`~bayeslaw.Prior.to_dict` of the prior used; ``log_ref`` holds the log
    reference scale of each input and of the loss; ``prior_symbols`` the values of ``y0`` and
    ``log_y0``; ``diagnostics`` one ``{"check", "message"}`` per failed check.
    """

    law: dict[str, Any]
    likelihood: str
    priors: dict[str, dict[str, Any]]
    log_ref: dict[str, float]
    prior_symbols: dict[str, float]
    data: DataRecord
    sampler: SamplerRecord
    diagnostics: tuple[dict[str, str], ...] = ()
    versions: dict[str, str] = field(default_factory=dict)
    likelihood_reason: str = ""   # why this observation model: the user's choice, or the default for the data
    law_reason: str = ""          # why the law has (or lacks) its curvature term: the user's choice, or the default

    @property
    def design(self) -> dict[str, str]:
        """Law input -> run-table column (e.g. ``{"x": "D"}``)."""
        return dict(self.data.design)

    @property
    def loss_unit(self) -> str:
        """The loss's unit, as figures and the CLI's tables and JSON state it: nats per token for language-model
        runs (sizes in tokens or FLOPs, or both N and D), else the run table's own (named by its loss column)."""
        design = set(self.data.design.values())
        if {"D", "C"} & design or {"N", "D"} <= design:
            return "nats per token"
        source = str(self.data.columns.get("loss", "loss"))
        return f"column {source!r}, in its own unit" if source != "loss" else "the run table's unit"

    @property
    def law_name(self) -> str:
        """The fitted law's name."""
        return str(self.law.get("name", "?"))

    def replace(self, **changes: Any) -> "FitSpec":
        """A copy with some fields changed (the spec itself is frozen)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout of ``spec.json`` (format 1)."""
        data = asdict(self.data)
        data["groups"] = list(self.data.groups)
        for key in ("run", "axis"):  # only learning-curve fits have them (spec.json of ladders is unchanged)
            if data[key] is None:
                del data[key]
        data["ignored"] = list(self.data.ignored)
        if not data["ignored"]:   # only tables with unread columns have it
            del data["ignored"]
        sampler = asdict(self.sampler)
        sampler["laplace_ok"] = list(self.sampler.laplace_ok)
        sampler["warmup_leapfrog_steps"] = list(self.sampler.warmup_leapfrog_steps)
        out = {"law": copy.deepcopy(self.law), "likelihood": self.likelihood, "priors": copy.deepcopy(self.priors),
               "reference_scales": {"log": dict(self.log_ref), "prior_symbols": dict(self.prior_symbols)},
               "data": data, "sampler": sampler, "diagnostics": [dict(d) for d in self.diagnostics],
               "format": FORMAT, "format_version": FORMAT_VERSION}
        if self.likelihood_reason:
            out["likelihood_reason"] = self.likelihood_reason
        if self.law_reason:
            out["law_reason"] = self.law_reason
        if self.versions:
            out["versions"] = dict(self.versions)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "the fit spec") -> "FitSpec":
        """Read a spec written by :meth:`to_dict` (or by bayeslaw 0.1.0); unknown keys are ignored."""
        try:
            refs = d["reference_scales"]
            data = {k: v for k, v in dict(d["data"]).items() if k in _names(DataRecord)}
            data["groups"] = tuple(data.get("groups", ()))
            data["ignored"] = tuple(str(c) for c in data.get("ignored", ()))
            sampler = {k: v for k, v in dict(d["sampler"]).items() if k in _names(SamplerRecord)}
            sampler["laplace_ok"] = tuple(sampler.get("laplace_ok", ()))
            sampler["warmup_leapfrog_steps"] = tuple(sampler.get("warmup_leapfrog_steps", ()))
            return cls(law=dict(d["law"]), likelihood=str(d["likelihood"]), priors=dict(d["priors"]),
                       log_ref=dict(refs["log"]), prior_symbols=dict(refs["prior_symbols"]),
                       data=DataRecord(**data), sampler=SamplerRecord(**sampler),
                       diagnostics=tuple(dict(x) for x in d.get("diagnostics", [])),
                       versions=dict(d.get("versions", {})),
                       likelihood_reason=str(d.get("likelihood_reason", "")),
                       law_reason=str(d.get("law_reason", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FitFileError(f"{where} is incomplete or garbled ({type(exc).__name__}: {exc}); it is not a "
                               "complete bayeslaw fit spec: refit and save again.") from None


def _names(cls) -> set[str]:
    return {f.name for f in fields(cls)}
