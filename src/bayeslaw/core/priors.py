"""Priors as small value objects that map to NumPyro distributions.

A :class:`Prior` is a distribution name plus keyword arguments, e.g.
``Prior("Gamma", concentration=2, rate=5)``. It prints as its constructor call,
round-trips through plain dicts (so fits can be saved as JSON), and checks its
arguments against the distribution it names.

An argument may also be the name of a *reference scale* taken from the data
(``"y0"``: geometric mean of the observed loss; ``"log_y0"``: its log). This is
how a default prior for an amplitude or a floor is stated in the loss's own
units without hiding data-dependence: the symbol is printed, and its value is
recorded in every fit.
"""

from __future__ import annotations

import ast
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import numpyro.distributions as dist

from ..errors import PriorError

#: Distributions accepted by name, with their NumPyro argument names in positional order.
DISTRIBUTIONS: dict[str, tuple[type, tuple[str, ...]]] = {
    "Normal": (dist.Normal, ("loc", "scale")),
    "HalfNormal": (dist.HalfNormal, ("scale",)),
    "LogNormal": (dist.LogNormal, ("loc", "scale")),
    "StudentT": (dist.StudentT, ("df", "loc", "scale")),
    "Cauchy": (dist.Cauchy, ("loc", "scale")),
    "HalfCauchy": (dist.HalfCauchy, ("scale",)),
    "Gamma": (dist.Gamma, ("concentration", "rate")),
    "InverseGamma": (dist.InverseGamma, ("concentration", "rate")),
    "Exponential": (dist.Exponential, ("rate",)),
    "Beta": (dist.Beta, ("concentration1", "concentration0")),
    "Uniform": (dist.Uniform, ("low", "high")),
    "TruncatedNormal": (dist.TruncatedNormal, ("loc", "scale", "low", "high")),
    "Delta": (dist.Delta, ("v",)),
}

#: Common alternative argument spellings (PyMC / SciPy style) accepted on input.
_ALIASES = {
    "mu": "loc",
    "sigma": "scale",
    "sd": "scale",
    "nu": "df",
    "alpha": "concentration1",
    "beta": "concentration0",
    "lower": "low",
    "upper": "high",
    "value": "v",
    "lam": "rate",
}

#: Reference-scale symbols a prior argument may name; resolved per fit from the data.
REFERENCE_SYMBOLS = ("y0", "log_y0")


@dataclass(frozen=True)
class Prior:
    """A named distribution with fixed arguments, e.g. ``Prior("Beta", 2, 4)``."""

    dist: str
    params: Mapping[str, float | str] = field(default_factory=dict)

    def __init__(self, dist: str, *args: float | str, **kwargs: float | str):
        if dist not in DISTRIBUTIONS:
            raise PriorError(
                f"Unknown distribution {dist!r}; choose one of: {', '.join(DISTRIBUTIONS)}."
            )
        cls, names = DISTRIBUTIONS[dist]
        if len(args) > len(names):
            raise PriorError(
                f"{dist} takes at most {len(names)} arguments ({', '.join(names)}); got {len(args)}."
            )
        params: dict[str, float | str] = dict(zip(names, args))
        for key, value in kwargs.items():
            key = key if key in names else _ALIASES.get(key, key)
            if dist in ("Gamma", "InverseGamma") and key == "concentration1":  # PyMC: Gamma(alpha=, beta=)
                key = "concentration"
            if dist in ("Gamma", "InverseGamma") and key == "concentration0":
                key = "rate"
            if key not in names:
                raise PriorError(
                    f"{dist} has no argument {key!r}; its arguments are: {', '.join(names)}."
                )
            if key in params:
                raise PriorError(f"{dist} got argument {key!r} twice.")
            params[key] = value
        missing = [n for n in names if n not in params]
        if missing:
            raise PriorError(f"{dist} needs argument(s) {', '.join(missing)}; write e.g. {_example(dist)}.")
        for key, value in params.items():
            if isinstance(value, str):
                if value not in REFERENCE_SYMBOLS:
                    raise PriorError(
                        f"{dist} argument {key}={value!r} is neither a number nor a reference "
                        f"scale ({', '.join(REFERENCE_SYMBOLS)})."
                    )
            elif (isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value)
                  or (math.isinf(value) and key not in ("low", "high"))):
                raise PriorError(f"{dist} argument {key}={value!r} must be a finite number.")
            else:
                params[key] = float(value)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", params)
        _check_support(dist, params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{self.dist}({args})"

    __str__ = __repr__

    def __hash__(self) -> int:
        return hash((self.dist, tuple(self.params.items())))

    def resolved_params(self, refs: Mapping[str, float]) -> dict[str, float]:
        """The distribution's arguments as numbers, reference-scale symbols replaced by ``refs``."""
        kwargs = {}
        for key, value in self.params.items():
            if isinstance(value, str):
                if value not in refs:
                    raise PriorError(f"Prior {self} needs the reference scale {value!r}, which is not known here.")
                value = float(refs[value])
            kwargs[key] = value
        return kwargs

    def resolve(self, refs: Mapping[str, float]) -> dist.Distribution:
        """The NumPyro distribution, with reference-scale symbols replaced by ``refs``."""
        cls, _ = DISTRIBUTIONS[self.dist]
        kwargs = self.resolved_params(refs)
        try:
            return cls(**kwargs, validate_args=True)
        except ValueError as exc:
            raise PriorError(f"Invalid arguments for {self}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """``{"dist": name, argument: value, ...}``: what a fit's spec records."""
        return {"dist": self.dist, **self.params}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Prior":
        """The prior :meth:`to_dict` describes."""
        d = dict(d)
        try:
            name = d.pop("dist")
        except KeyError:
            raise PriorError(f"A prior dict needs a 'dist' key; got {sorted(d)}.") from None
        return cls(name, **d)

    @classmethod
    def parse(cls, text: str) -> "Prior":
        """Parse ``"Uniform(0, 1)"`` or ``"Normal(loc=0, scale=2)"`` (CLI syntax)."""
        try:
            node = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            raise PriorError(f"Cannot read prior {text!r}; write it like Uniform(0, 1) or Normal(loc=0, scale=2).") from None
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise PriorError(f"Cannot read prior {text!r}; write it like Uniform(0, 1) or Normal(loc=0, scale=2).")
        names = [k.arg for k in node.keywords]
        if None in names:
            raise PriorError(f"Cannot read prior {text!r}: write the arguments out, like Normal(loc=0, scale=2).")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise PriorError(f"Prior {text!r} gives the argument(s) {', '.join(repeated)} more than once.")
        try:
            args = [_literal(a) for a in node.args]
            kwargs = {k.arg: _literal(k.value) for k in node.keywords}
        except ValueError:
            raise PriorError(f"Prior {text!r} must have numbers (or y0, log_y0) as arguments.") from None
        return cls(node.func.id, *args, **kwargs)

    @classmethod
    def from_distribution(cls, d: dist.Distribution) -> "Prior":
        """Describe a NumPyro distribution of a supported family as a :class:`Prior`."""
        # ``dist.TruncatedNormal`` is a factory function, not a class: it returns a Normal
        # wrapped in one of the truncated-distribution classes, recognised here by structure.
        truncated = (dist.LeftTruncatedDistribution, dist.RightTruncatedDistribution,
                     dist.TwoSidedTruncatedDistribution)
        if isinstance(d, truncated) and type(getattr(d, "base_dist", None)) is dist.Normal:
            base = d.base_dist
            return cls("TruncatedNormal", loc=_scalar(base.loc), scale=_scalar(base.scale),
                       low=_scalar(getattr(d, "low", -math.inf)), high=_scalar(getattr(d, "high", math.inf)))
        for name, (family, names) in DISTRIBUTIONS.items():
            if isinstance(family, type) and type(d) is family:
                return cls(name, **{n: _scalar(getattr(d, n)) for n in names})
        raise PriorError(
            f"Cannot record a {type(d).__name__} prior; use one of {', '.join(DISTRIBUTIONS)} "
            "(fits must be saved as plain JSON)."
        )


def as_prior(value: Any, *, name: str = "?") -> Prior:
    """Accept a Prior, a NumPyro distribution, a dict or a string like ``"Beta(2, 4)"``."""
    if isinstance(value, Prior):
        return value
    if isinstance(value, dist.Distribution):
        return Prior.from_distribution(value)
    if isinstance(value, Mapping):
        return Prior.from_dict(value)
    if isinstance(value, str):
        return Prior.parse(value)
    raise PriorError(
        f"Prior for {name!r} must be a numpyro distribution, a Prior or a string like 'Uniform(0, 1)'; "
        f"got {type(value).__name__}."
    )


_POSITIVE = ("scale", "concentration", "rate", "df", "concentration1", "concentration0")


def _check_support(name: str, params: Mapping[str, float | str]) -> None:
    # Checked by hand (not by building the distribution) so that declaring priors at import
    # time never initialises a JAX backend.
    for key in _POSITIVE:
        v = params.get(key)
        if isinstance(v, float) and not v > 0:
            raise PriorError(f"{name} argument {key} must be positive; got {v:g}.")
    lo, hi = params.get("low"), params.get("high")
    if isinstance(lo, float) and isinstance(hi, float) and not lo < hi:
        raise PriorError(f"{name} needs low < high; got low={lo:g}, high={hi:g}.")


def _literal(node: ast.AST) -> float | str:
    if isinstance(node, ast.Name) and node.id in REFERENCE_SYMBOLS:
        return node.id
    if isinstance(node, ast.Name) and node.id in ("inf", "Inf"):
        return math.inf
    value = ast.literal_eval(node)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(value)
    return float(value)


def _scalar(x: Any) -> float:
    try:
        arr = np.asarray(x)
        if arr.size != 1 or arr.dtype.kind not in "iuf":
            raise TypeError
        value = arr.reshape(())[()]
        if arr.dtype == np.float32:
            # Without jax x64 a distribution holds float32: record the decimal the user wrote
            # (0.1), not its float64 widening (0.10000000149011612).
            return float(str(value))
        return float(value)
    except (TypeError, ValueError):
        raise PriorError(f"Only scalar prior arguments can be recorded; got {x!r}.") from None


def _fmt(v: float | str) -> str:
    if isinstance(v, str):
        return v
    short = f"{v:g}"
    # ``:g`` keeps 6 significant digits; fall back to the exact shortest repr so that
    # parsing the printed prior gives back the same prior (and the law hash sees every digit).
    return short if float(short) == v else repr(v)


def _example(dist_name: str) -> str:
    _, names = DISTRIBUTIONS[dist_name]
    return f"{dist_name}({', '.join(f'{n}=1' for n in names)})"
