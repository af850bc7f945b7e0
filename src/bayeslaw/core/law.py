"""The :class:`Law` declaration: what a scaling law is, as data.

A law is data, not a class hierarchy: its input variables, its parameters with
default priors (each with a one-line justification), a mean function written in
log space, a citation, and optionally the coordinates NUTS should move in and the
synthetic data it can be checked on (:class:`Example`). The inference layer
(:mod:`bayeslaw.inference.model`) turns any law into a NumPyro model without
knowing its name; the catalogue (:mod:`bayeslaw.core.catalogue`) finds laws.

Inputs are passed to ``log_mean`` *centred at a reference scale*: for an input
``N`` the function receives ``x["N"] = log(N / N0)``, where ``N0`` is the
geometric mean of the fitted runs' ``N``. Amplitudes are therefore sampled as
the log of a term's value at the reference scale, which keeps NUTS
well-conditioned; ``to_conventional`` converts them to the paper's constants
(A, B, ...) for reporting.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from ..errors import LawError


class _Shown:
    """A constant shown by a given text (``repr`` of a tuple of these is that of the original tuple)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _stable_consts(code) -> tuple:
    """A function's constants as a hash can use them: the same in every process. A nested function's code
    (a lambda, a generator expression) is shown by a digest of its own code and constants, not by its ``repr``,
    which holds a memory address; a frozenset by its sorted items, not in its hash-seed-dependent order. Other
    constants are shown as ``repr`` shows them (so a law without nested code keeps the hash it always had)."""
    import types

    def shown(c):
        if isinstance(c, types.CodeType):
            digest = hashlib.sha256(c.co_code + repr(_stable_consts(c)).encode()).hexdigest()[:16]
            return _Shown(f"<code {c.co_name} {digest}>")
        if isinstance(c, frozenset):
            return _Shown(f"frozenset({sorted(repr(x) for x in c)})")
        if isinstance(c, tuple):
            return tuple(shown(x) for x in c)
        return c

    return tuple(shown(c) for c in code.co_consts)
from .priors import Prior, as_prior

Array = Any


@dataclass(frozen=True)
class Param:
    """A law parameter: its default prior and why that prior is reasonable."""

    prior: Prior
    why: str
    description: str = ""


@dataclass(frozen=True)
class Coordinates:
    """Where NUTS moves for a law: ``size`` unconstrained numbers ``z`` and the map to the parameters.

    The model stays the same: the parameters' priors are carried over to ``z`` with the
    log-Jacobian of ``to_params``, so only the sampler's geometry changes. Use it when the
    parameters lie on a curved ridge the data cannot cut (a floor and an exponent trading off)
    and coordinates the runs pin down exist (the loss at the largest run, the drop across the
    runs). ``to_params(z, x)`` gets the centred log inputs of the fit (to anchor at their ends)
    and must be a bijection onto the parameters' joint support for every ``x``. ``log_det(z, x)``,
    when given, is log |det| of its Jacobian in closed form (else it is found by automatic
    differentiation, which on the two-term laws doubled the cost of a gradient).
    """

    size: int
    to_params: Callable[[Array, Mapping[str, Array]], dict[str, Array]]
    why: str = ""
    log_det: Callable[[Array, Mapping[str, Array]], Array] | None = None


@dataclass(frozen=True)
class Derived:
    """Numbers ``log_mean`` takes that are fixed for a fit before sampling: functions of the fitted runs and of
    another law's fit to them, not sampled.

    The engine fits ``base`` to the same runs first (same observation model, priors and sampler), takes its
    posterior medians ``theta0`` and calls ``fn(theta0, x, weights)`` with the runs' centred log inputs and each
    run's weight in the likelihood at that fit (:func:`bayeslaw.inference.fit.derived_constants`); ``fn`` returns
    ``{name: number}`` for every name in ``names``. The model records them as deterministic sites, so every
    posterior draw carries them and predictions at new inputs need no runs (e.g. the projection that keeps a
    discrepancy term orthogonal to the law over the fitted runs, :func:`bayeslaw.core.curvature.orthogonal`).
    """

    names: tuple[str, ...]
    fn: Callable[[Mapping[str, float], Mapping[str, Array], Array], dict[str, Array]]
    base: "Law"
    why: str = ""


@dataclass(frozen=True)
class Example:
    """Synthetic runs a law declares for its own checks (recovery, save/load, predict, plot).

    ``inputs`` maps each of the law's inputs (``"x"`` for a one-input law's generic size) to the
    run table's values; ``params`` holds the true value of every sampled parameter, as
    ``log_mean`` takes it with the inputs centred at their geometric means (the fit's reference
    scales); ``sigma`` is the sd of the noise on log loss the runs are drawn with.
    """

    inputs: Mapping[str, Any]
    params: Mapping[str, float]
    sigma: float = 0.015


@dataclass(frozen=True)
class Law:
    """A scaling law, declared as data.

    Parameters
    ----------
    name : str
        Lookup name (snake_case), e.g. ``"chinchilla"``.
    inputs : tuple of str
        Input variables, each a column of the run table: ``"N"`` (parameters), ``"D"`` (tokens),
        ``"C"`` (FLOPs), ``"U"`` (unique tokens), any other name (``"T"`` for steps, ``"V"`` for a
        vocabulary, ...), or ``"x"`` for one size the user picks at fit time (``x="D"``).
    log_mean : callable
        ``log_mean(x, **params) -> log L`` where ``x[v] = log(v / v_ref)``. Must be
        written with ``jax.numpy`` in log space (log-sum-exp, not exp of big numbers).
    params : dict of str to Param
        Sampled parameters with default priors; keys must match ``log_mean``'s
        keyword arguments.
    formula : str
        The law in the paper's notation, for people.
    reference : str
        Citation (paper and equation).
    to_conventional : callable, optional
        ``f(params, log_ref) -> dict`` of conventional constants (e.g. A, B) computed
        from sampled parameters and the log reference scales; ``None`` if the
        sampled parameters are already conventional.
    report : tuple of str, optional
        Parameters shown in summaries, conventional names first. Defaults to all params.
    version : str
        Bump when the law's maths or default priors change; saved fits record it.
    centre : dict, optional
        Inputs not centred at their own reference scale: ``{"U": "D"}`` centres ``U`` at the
        reference scale of ``D`` (so that ``log_mean`` can compare the two: ``x["D"] - x["U"] =
        log(D / U)``); a number fixes the log reference scale (``{"D": 0.0}``: raw ``log D``),
        for a law whose form is not invariant to the unit of that input.
    coordinates : Coordinates, optional
        Sample in other coordinates than the parameters (same model, better geometry).
    example : Example, optional
        Synthetic runs the law can be checked on: the test suite fits them and expects the
        true parameters back (recovery), and draws, saves and predicts from the fit.
    derived : Derived, optional
        Numbers ``log_mean`` takes besides the parameters, fixed per fit before sampling.
    discrepancy : tuple of str, optional
        Parameters of a discrepancy term: set to 0, ``log_mean`` is the law alone, whose optimum
        decisions report (:meth:`without_discrepancy`; the loss there keeps the term).
    beyond : str, optional
        What a prediction beyond the fitted runs assumes, as the end of a sentence (default: "the law
        holds that far out"); the CLI's note on extrapolated targets ends with it.
    """

    name: str
    inputs: tuple[str, ...]
    log_mean: Callable[..., Array]
    params: Mapping[str, Param]
    formula: str
    reference: str
    to_conventional: Callable[[Mapping[str, Array], Mapping[str, float]], dict[str, Array]] | None = None
    report: tuple[str, ...] = ()
    description: str = ""
    version: str = "1"
    centre: Mapping[str, str | float] = field(default_factory=dict)
    coordinates: Coordinates | None = None
    example: Example | None = None
    derived: Derived | None = None
    discrepancy: tuple[str, ...] = ()
    beyond: str = "the law holds that far out"
    _hash: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name.lower() != self.name:
            raise LawError(f"Law name {self.name!r} must be a snake_case identifier.")
        if not self.inputs or len(set(self.inputs)) != len(self.inputs):
            raise LawError(f"Law {self.name!r} needs distinct input names; got {self.inputs}.")
        bad = [v for v in self.inputs if not isinstance(v, str) or not v.isidentifier() or v == "loss"]
        if bad:
            raise LawError(f"Law {self.name!r}: input names must be identifiers other than 'loss' (they name "
                           f"run-table columns); got {', '.join(map(repr, bad))}.")
        if "x" in self.inputs and len(self.inputs) > 1:
            raise LawError(f"Law {self.name!r}: the generic size 'x' is for laws of one input; name the inputs "
                           f"of a law of several ({', '.join(self.inputs)}) after their columns.")
        sig = inspect.signature(self.log_mean)
        names = list(sig.parameters)
        if not names:
            raise LawError(f"Law {self.name!r}: log_mean must take the inputs dict as its first argument.")
        derived = self.derived.names if self.derived is not None else ()
        declared = [n for n in names[1:] if n not in derived]
        missing = [p for p in self.params if p not in declared]
        extra = [p for p in declared if p not in self.params]
        if missing or extra:
            parts = []
            if extra:
                parts.append(f"log_mean takes {', '.join(extra)} but no prior is declared for them")
            if missing:
                parts.append(f"priors are declared for {', '.join(missing)} but log_mean does not take them")
            raise LawError(f"Law {self.name!r}: " + "; ".join(parts) + ".")
        centre = dict(self.centre)
        for v, how in centre.items():
            if v not in self.inputs:
                raise LawError(f"Law {self.name!r}: centre names {v!r}, which is not one of its inputs "
                               f"({', '.join(self.inputs)}).")
            if isinstance(how, str):
                if how not in self.inputs or how == v or isinstance(centre.get(how), str):
                    raise LawError(f"Law {self.name!r}: centre[{v!r}] = {how!r} must name another input that is "
                                   "centred at its own reference scale.")
            elif isinstance(how, bool) or not isinstance(how, (int, float)) or not math.isfinite(how):
                raise LawError(f"Law {self.name!r}: centre[{v!r}] must be another input's name or a finite log "
                               f"reference scale; got {how!r}.")
            else:
                centre[v] = float(how)
        object.__setattr__(self, "centre", centre)
        params = {}
        for pname, p in self.params.items():
            if not isinstance(p, Param):
                p = Param(as_prior(p, name=pname), why="")
            params[pname] = p
        object.__setattr__(self, "params", params)
        if self.example is not None:
            wrong = sorted(set(self.example.params) ^ set(params)) + sorted(set(self.example.inputs) ^ set(self.inputs))
            if wrong:
                raise LawError(f"Law {self.name!r}: its example must give every parameter ({', '.join(params)}) "
                               f"and every input ({', '.join(self.inputs)}), and nothing else; check "
                               f"{', '.join(wrong)}.")
        if not self.report:
            object.__setattr__(self, "report", tuple(self.params))
        wrong = [n for n in self.discrepancy if n not in params]
        if wrong:
            raise LawError(f"Law {self.name!r}: discrepancy names {', '.join(wrong)}, which are not its parameters.")
        object.__setattr__(self, "_hash", self._compute_hash())

    # -- evaluation -------------------------------------------------------------------------
    def evaluate_log(self, inputs: Mapping[str, Array], params: Mapping[str, Array],
                     log_ref: Mapping[str, float]) -> Array:
        """log L at raw inputs (e.g. ``{"N": 7e10, "D": 1.4e12}``) for sampled params."""
        x = {v: jnp.log(jnp.asarray(inputs[v], dtype=float)) - log_ref[v] for v in self.inputs}
        return self.log_mean(x, **{k: params[k] for k in self.mean_params})

    def centred(self, log_ref: Mapping[str, float]) -> dict[str, float]:
        """The log reference scales with this law's ``centre`` rules applied (shared or fixed scales)."""
        out = dict(log_ref)
        fixed = {v: how for v, how in self.centre.items() if not isinstance(how, str)}
        out.update(fixed)
        out.update({v: out[how] for v, how in self.centre.items() if isinstance(how, str)})
        return out

    def conventional(self, params: Mapping[str, Array], log_ref: Mapping[str, float]) -> dict[str, Array]:
        """Sampled params plus conventional constants (A, B, N_c, ...)."""
        out = dict(params)
        if self.to_conventional is not None:
            out.update(self.to_conventional(params, log_ref))
        return out

    @property
    def mean_params(self) -> tuple[str, ...]:
        """What ``log_mean`` takes besides the inputs: the parameters, then the :class:`Derived` numbers."""
        return tuple(self.params) + (self.derived.names if self.derived is not None else ())

    def without_discrepancy(self, params: Mapping[str, Array]) -> dict[str, Array]:
        """``params`` (every name of :attr:`mean_params`) with the discrepancy terms' coefficients set to 0: the law
        alone, whose optimum the decisions report (compute-optimal sizes; the loss there keeps the term)."""
        if not self.discrepancy:
            return dict(params)
        like = next(iter(params.values()))
        return {**params, **{k: like * 0.0 for k in self.discrepancy}}

    @property
    def n_params(self) -> int:
        """How many parameters the law samples (not counting the observation model's)."""
        return len(self.params)

    @property
    def hash(self) -> str:
        """A short hash of the law's maths, default priors and coordinates, recorded in saved fits."""
        return self._hash

    @property
    def maths_hash(self) -> str:
        """The hash without the law's coordinates: the same for a law sampled in other coordinates (the same model,
        whose saved draws predict the same), and its ``hash`` when it declares none."""
        return self._compute_hash(with_coordinates=False)

    def _compute_hash(self, with_coordinates: bool = True) -> str:
        h = hashlib.sha256()
        h.update(repr((self.name, self.version, self.inputs, self.formula)).encode())
        if self.centre:  # only laws that use it, so that older laws keep their hash
            h.update(repr(sorted(self.centre.items())).encode())
        h.update(repr(sorted((k, repr(p.prior)) for k, p in self.params.items())).encode())
        fns = (self.log_mean, self.to_conventional)
        if self.derived is not None:  # only laws that use it: older laws keep their hash
            fns += (self.derived.fn,)
            h.update(repr((self.derived.names, self.discrepancy)).encode())
        if with_coordinates and self.coordinates is not None:  # only laws that use it: older laws keep their hash
            fns += (self.coordinates.to_params,) + ((self.coordinates.log_det,) if self.coordinates.log_det else ())
        for fn in fns:
            code = getattr(fn, "__code__", None)
            if code is not None:
                h.update(code.co_code)
                h.update(repr(_stable_consts(code)).encode())
        return h.hexdigest()[:16]

    def describe(self) -> str:
        """Multi-line description: formula, reference and every default prior with its reason."""
        lines = [f"{self.name}: {self.formula}", f"  inputs: {', '.join(self.inputs)}",
                 f"  reference: {self.reference}"]
        if self.description:
            lines.append(f"  {self.description}")
        for v, how in self.centre.items():
            where = (f"at the reference scale of {how}" if isinstance(how, str)
                     else f"at the fixed scale {v} = {math.exp(how):.3g}")
            lines.append(f"  centring: {v} is centred {where}")
        if self.coordinates is not None:
            lines.append(f"  sampled in other coordinates (same priors, carried over): {self.coordinates.why}")
        lines.append("  priors:")
        width = max(len(k) for k in self.params)
        for k, p in self.params.items():
            why = f"  # {p.why}" if p.why else ""
            lines.append(f"    {k:<{width}} ~ {p.prior}{why}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()

    def to_dict(self) -> dict[str, Any]:
        """The law as plain JSON: name, version, hash (and the maths hash, without the coordinates), inputs, formula,
        reference, priors and their reasons."""
        return {"name": self.name, "version": self.version, "hash": self.hash, "maths_hash": self.maths_hash,
                "inputs": list(self.inputs),
                "formula": self.formula, "reference": self.reference,
                "priors": {k: p.prior.to_dict() for k, p in self.params.items()},
                "why": {k: p.why for k, p in self.params.items()},
                **({"centre": dict(self.centre)} if self.centre else {})}


def logsumexp(*terms: Array) -> Array:
    """Stable log(sum(exp(t))) of broadcastable terms (the building block of log-space laws).

    One shift by the terms' maximum (held constant for the gradient, which is exact for any shift)
    and one sum: a gradient of a three-term law costs about a third of chained ``jnp.logaddexp``
    (benchmarks/RESULTS.md). All terms -inf gives -inf.
    """
    if len(terms) == 1:
        return terms[0]
    m = functools.reduce(jnp.maximum, terms)
    m = jax.lax.stop_gradient(jnp.where(jnp.isfinite(m), m, 0.0))
    return m + jnp.log(functools.reduce(jnp.add, [jnp.exp(t - m) for t in terms]))
