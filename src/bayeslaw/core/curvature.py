"""A law plus its own curvature error: a quadratic misfit in the centred log inputs (``_curved``, opt-in), and that
misfit projected orthogonal to the law over the runs (``_orthogonal``, the ladder default: :func:`orthogonal`), with
the ways it may go on beyond the runs (``extrapolate=``: the quadratic, its tangent, its edge value, or a blend).

``get_law("chinchilla_curved")`` (any law's name with ``_curved``) is the law times
``exp(1/2 x' G x)``, i.e. in log space

    log L = law(x) + sum_v c_v x_v^2 + sum_{v<w} c_vw x_v x_w

with ``x`` the inputs' centred logs (natural log, centred at the fit's reference scales) and
``c ~ Normal(0, 0.0025)`` each: a degree-2 polynomial misfit, the Gaussian process with a
quadratic kernel written with explicit coefficients (the noise model stays the caller's, and
its pointwise log likelihoods stay conditionally independent, so PSIS-LOO is valid). Beyond the
data its variance grows with the fourth power of the distance, so bands carry what the runs say
about how far the law bends away from them.

The prior's scale is the widest of 0.01, 0.005, 0.0025 and 0.0012 that keeps extrapolated bands
within 1.25x of the plain law's on 20 ladders where the law is exact (1.22x, coverage 0.933; on 500 ladders per
cell, case_studies/calibration/results/curved, it is 1.20-1.50x, coverage 0.93-0.975); with it the
90% new-run band covers 0.918 of the 49 largest Chinchilla runs held out, where the plain law covers 0.65-0.69
(case_studies/real_data_calibration, curvature_scale.py): use it (``fit(..., curvature=True)``) when a backtest says
the law bends. The coefficients trade off against the floor and the exponents, which then describe the runs' range
rather than the law's asymptotes (see :func:`bayeslaw.inference.plan.choose_curvature`).
"""

from __future__ import annotations

import inspect
from dataclasses import replace
from itertools import combinations

import jax
import jax.numpy as jnp

from .law import Coordinates, Derived, Example, Law, Param
from .priors import Prior

SUFFIX = "_curved"
CURVATURE = Param(Prior("Normal", loc=0.0, scale=0.0025),
                  "the law's curvature error in log-log space: 0.0025 per squared e-fold moves log loss by 0.0025 "
                  "one e-fold from the centre and by 0.04 four e-folds out; 0 when the law holds; the widest scale "
                  "that keeps bands within ~1.25x of the plain law's where the law is exact",
                  "coefficient of a quadratic misfit in the centred log inputs")


def curvature_names(law: Law) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(parameter name, the inputs it multiplies) for each quadratic term of a law's inputs."""
    sq = tuple((f"curv_{v}", (v, v)) for v in law.inputs)
    cross = tuple((f"curv_{v}_{w}", (v, w)) for v, w in combinations(law.inputs, 2))
    return sq + cross


def curved(law: Law, coefficient: Param = CURVATURE) -> Law:
    """The law with a quadratic misfit in its centred log inputs (see the module's docstring); each
    coefficient gets ``coefficient``'s prior (default :data:`CURVATURE`)."""
    terms = curvature_names(law)
    base_names = tuple(law.params)
    base_mean = law.log_mean

    def log_mean(x, **p):
        out = base_mean(x, **{k: p[k] for k in base_names})
        for name, (v, w) in terms:
            out = out + p[name] * x[v] * x[w]
        return out

    kw = inspect.Parameter.KEYWORD_ONLY
    log_mean.__signature__ = inspect.Signature(  # the law's checks read the parameters from the signature
        [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, kw) for n in (*base_names, *(name for name, _ in terms))])
    coords = None
    if law.coordinates is not None:
        size, to_params = law.coordinates.size, law.coordinates.to_params

        def from_z(z, x):
            out = dict(to_params(z[:size], x))
            out.update({name: z[size + j] for j, (name, _) in enumerate(terms)})
            return out

        base_det = law.coordinates.log_det
        # the coefficients are their own coordinates: the Jacobian is block diagonal with an identity block
        log_det = (lambda z, x: base_det(z[:size], x)) if base_det is not None else None
        coords = Coordinates(size + len(terms), from_z, law.coordinates.why + "; the curvature coefficients as they are",
                             log_det=log_det)
    example = None
    if law.example is not None:
        example = Example(inputs=law.example.inputs, sigma=law.example.sigma,
                          params={**law.example.params, **{name: 0.0 for name, _ in terms}})
    quad = " + ".join(f"{n} log({v}) log({w})" if v != w else f"{n} log({v})^2" for n, (v, w) in terms)
    return replace(law, name=law.name + SUFFIX, log_mean=log_mean,
                   params={**law.params, **{name: coefficient for name, _ in terms}},
                   formula=f"{law.formula}, times exp({quad}) (logs centred)",
                   description=f"{law.description} With a quadratic misfit in the centred log inputs.".strip(),
                   report=tuple(law.report or law.params) + tuple(name for name, _ in terms),
                   coordinates=coords, example=example)


ORTHOGONAL_SUFFIX = "_orthogonal"
ORTHOGONAL = Param(Prior("Cauchy", loc=0.0, scale=0.0003),
                   "peaked at 0 so that bands stay sharp where the law holds (1.11-1.18x the plain law's width on "
                   "500 exact-law ladders per cell), heavy-tailed so that a real bend gets through (Chinchilla's "
                   "0.005-0.008)",
                   "coefficient of a quadratic discrepancy, orthogonal to the law over the runs")


EXTRAPOLATIONS = ("quadratic", "linear", "hold", "blend")
CONTINUATION = Param(Prior("Uniform", low=0.0, high=1.0),
                     "nothing inside the runs depends on it (its posterior is this prior): held-out runs up to 2 "
                     "decades of compute beyond the runs could not tell the quadratic (1) from its tangent (0)",
                     "share of the discrepancy's curvature that goes on beyond the runs")


def orthogonal(law: Law, coefficient: Param = ORTHOGONAL, extrapolate: str = "quadratic") -> Law:
    """The law plus a quadratic discrepancy orthogonal to the law over the fitted runs (the ladder default).

    ``log L = law(theta)(x) + sum_k c_k (phi_k(x) - J(x) B_k)``: ``phi`` the quadratic terms of :func:`curved`,
    ``J(x)`` the gradient of the law's log mean in its parameters at ``theta0`` (the plain law's posterior
    medians on the same runs: the engine fits it first, :class:`~bayeslaw.core.law.Derived`) and ``B`` the
    least-squares coefficients of ``phi`` on ``J`` over the runs, each run weighted as the likelihood weighs it
    there (Student-t noise weighs outlying runs down). Over the runs the discrepancy then holds
    nothing the law's own parameters could fit (after Plumlee 2017, "Bayesian calibration with the orthogonal
    Gaussian process"): the law keeps the parameters it has without the term, its coefficients do not trade
    off against them along a ridge, and beyond the runs the bands carry the bend. ``theta0`` and ``B`` are
    kept with each draw (``at_<param>``, ``proj_<term>_<param>``); optima are the law's alone (``Law.discrepancy``),
    the loss at them the full mean's (:mod:`bayeslaw.posterior.decide`). Linearised at each draw's own parameters instead, the posterior on the 245
    Chinchilla runs was multimodal (chains with E near 0 and coefficients near 0.05). The coefficients are
    sampled as they are: as ``u`` with ``c = 0.0003 sinh(u)`` (exponential tails in ``u``) NUTS diverged on 6
    of 10 exact-law ladders, because where the runs pin ``c`` to +-0.002 the likelihood in ``u`` is flat near
    0 and falls off steeply beyond (the plan draws 2000 per chain instead: the Cauchy's tails cost tail ESS).

    ``extrapolate`` says how the discrepancy goes on beyond the box of the runs' centred log inputs (per input, its
    smallest and largest value over the runs, kept per draw as ``lo_<input>`` / ``hi_<input>``): ``"quadratic"``
    (the quadratic itself, unbounded: far out it can carry the loss below the law's floor), ``"linear"`` (its
    tangent at the box's edge), ``"hold"`` (its value at the edge) or ``"blend"`` (the tangent plus a share
    ``continuation ~ Uniform(0, 1)`` of the quadratic's departure from it: the runs cannot tell the two apart, so
    the bands far out span both). Inside the box they are all the same law.
    """
    if extrapolate not in EXTRAPOLATIONS:
        raise ValueError(f"extrapolate must be one of {EXTRAPOLATIONS}; got {extrapolate!r}")
    bent = curved(law, coefficient)
    terms = curvature_names(law)
    base_names = tuple(law.params)
    at = tuple(f"at_{k}" for k in base_names)
    proj = tuple(tuple(f"proj_{name}_{k}" for k in base_names) for name, _ in terms)
    base_mean = law.log_mean

    def log_mean(x, **p):
        out = base_mean(x, **{k: p[k] for k in base_names})
        # sum_k c_k J B_k = J (B c): one directional derivative of the law at theta0
        direction = {k: sum(p[name] * p[proj[j][i]] for j, (name, _) in enumerate(terms))
                     for i, k in enumerate(base_names)}
        _, along = jax.jvp(lambda th: base_mean(x, **th), ({k: p[a] for k, a in zip(base_names, at)},), (direction,))
        for name, (v, w) in terms:
            out = out + p[name] * x[v] * x[w]
        return out - along

    box = tuple((v, f"lo_{v}", f"hi_{v}") for v in law.inputs)

    def bounded_log_mean(x, **p):
        # the law plus the discrepancy (log_mean less the law) at the nearest point of the runs' box, held there or
        # continued along its tangent
        law_only = {k: p[k] for k in base_names}
        x = {v: jnp.asarray(a, dtype=float) for v, a in x.items()}
        edge = {v: jnp.clip(x[v], p[lo], p[hi]) for v, lo, hi in box}

        def disc(e):
            return log_mean(e, **p) - base_mean(e, **law_only)

        if extrapolate == "hold":
            return base_mean(x, **law_only) + disc(edge)
        at_edge, slope = jax.jvp(disc, (edge,), ({v: x[v] - edge[v] for v in edge},))
        tangent = base_mean(x, **law_only) + at_edge + slope
        if extrapolate == "blend":
            return tangent + p["continuation"] * (log_mean(x, **p) - tangent)
        return tangent

    def constants(theta0, x, weights):
        vec = jnp.asarray([theta0[k] for k in base_names], dtype=float)
        jac = jax.jacfwd(lambda v: base_mean(x, **dict(zip(base_names, v))))(vec)           # (rows, parameters)
        phi = jnp.stack([x[v] * x[w] for _, (v, w) in terms], -1)                           # (rows, terms)
        root = jnp.sqrt(weights)[:, None]     # weighted least squares: orthogonal in the likelihood's metric
        coef = jnp.linalg.lstsq(root * jnp.broadcast_to(jac, (phi.shape[0], len(base_names))), root * phi)[0]
        out = {a: vec[i] for i, a in enumerate(at)}
        out.update({proj[j][i]: coef[i, j] for j in range(len(terms)) for i in range(len(base_names))})
        return out

    def bounded_constants(theta0, x, weights):
        out = constants(theta0, x, weights)
        out.update({n: f(x[v]) for v, lo, hi in box for n, f in ((lo, jnp.min), (hi, jnp.max))})
        return out

    names = at + tuple(n for row in proj for n in row)
    formula = f"{law.formula}, times exp(a quadratic in the centred logs, orthogonal to the law over the runs)"
    mean, fn, params, coords = log_mean, constants, dict(bent.params), bent.coordinates
    if extrapolate != "quadratic":
        names += tuple(n for _, lo, hi in box for n in (lo, hi))
        mean, fn = bounded_log_mean, bounded_constants
        formula = formula[:-1] + {
            "hold": ", held at its value at the edge of the runs beyond them)",
            "linear": ", continued along its tangent at the edge of the runs beyond them)",
            "blend": ", continued beyond the runs along its tangent plus a share `continuation` of its curvature)"}[
            extrapolate]
    if extrapolate == "blend":
        params["continuation"] = CONTINUATION
        coords = _with_continuation(bent.coordinates)
    kw = inspect.Parameter.KEYWORD_ONLY
    mean.__signature__ = inspect.Signature(
        [inspect.Parameter("x", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(n, kw) for n in (*params, *names)])
    return replace(bent, name=law.name + ORTHOGONAL_SUFFIX, log_mean=mean, example=None, params=params,
                   coordinates=coords, formula=formula,
                   description=f"{law.description} With a quadratic discrepancy orthogonal to the law over the "
                               "runs.".strip(),
                   derived=Derived(names, fn, law, "the plain law's fit to the runs and the quadratic's "
                                   "least-squares projection on its gradient there"),
                   discrepancy=tuple(name for name, _ in terms), beyond=BEYOND[extrapolate])


def _with_continuation(coords: Coordinates | None) -> Coordinates | None:
    """The coordinates with one more number, the logit of ``continuation`` (its Uniform(0, 1) prior is carried over
    by the log-Jacobian of the sigmoid)."""
    if coords is None:
        return None
    size, to_params, base_det = coords.size, coords.to_params, coords.log_det

    def from_z(z, x):
        out = dict(to_params(z[:size], x))
        out["continuation"] = jax.nn.sigmoid(z[size])
        return out

    def log_det(z, x):
        return base_det(z[:size], x) + jax.nn.log_sigmoid(z[size]) + jax.nn.log_sigmoid(-z[size])

    return Coordinates(size + 1, from_z, coords.why + "; the continuation's logit",
                       log_det=log_det if base_det is not None else None)


#: What an orthogonal law's predictions beyond the runs assume, per continuation
#: (case_studies/real_data_calibration/orthogonal_extrapolation.py, 2026-12-06).
BEYOND = {
    "quadratic": "the law holds that far out and its bend goes on as a quadratic (held-out runs up to 2 decades of "
                 "compute beyond could not tell that from its tangent, which predicts less improvement far out; "
                 "compare --curvature off)",
    "linear": "the law holds that far out and its bend goes on along its tangent at the edge of the runs",
    "hold": "the law holds that far out and its bend stops at the edge of the runs",
    "blend": "the law holds that far out and its bend goes on between its tangent at the edge of the runs and the "
             "quadratic (a share of the quadratic's curvature, uniform on 0 to 1)",
}


def orthogonal_name(law: Law | str) -> str:
    """The name of a law's orthogonal twin: ``chinchilla`` -> ``chinchilla_orthogonal``."""
    return (law if isinstance(law, str) else law.name) + ORTHOGONAL_SUFFIX


def is_orthogonal(law: Law | str) -> bool:
    """Whether a law (or a law's name) is a ``<law>_orthogonal``."""
    return (law if isinstance(law, str) else law.name).endswith(ORTHOGONAL_SUFFIX)


def is_curved(law: Law | str) -> bool:
    """Whether a law (or a law's name) is a ``<law>_curved`` (the one place that reads the suffix)."""
    return (law if isinstance(law, str) else law.name).endswith(SUFFIX)


def base_name(name: str) -> tuple[str, str] | None:
    """(the base law's name, which term) for ``<law>_curved`` / ``<law>_orthogonal``; None for other names."""
    for suffix, term in ((SUFFIX, "a curvature term"), (ORTHOGONAL_SUFFIX, "an orthogonal curvature term")):
        if name.endswith(suffix):
            return name[: -len(suffix)], term
    return None


def resolve(name: str, laws: dict[str, Law]) -> Law | None:
    """The law for a name ``<law>_curved`` or ``<law>_orthogonal`` whose base is in ``laws`` (else None)."""
    if isinstance(name, str) and is_curved(name) and name[: -len(SUFFIX)] in laws:
        return curved(laws[name[: -len(SUFFIX)]])
    if isinstance(name, str) and is_orthogonal(name) and name[: -len(ORTHOGONAL_SUFFIX)] in laws:
        return orthogonal(laws[name[: -len(ORTHOGONAL_SUFFIX)]])
    return None
